package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// audit_records is partitioned by the UTC day of the record's minute, one
// table per day named audit_records_YYYYMMDD (migrations/006_partitions.sql).

// PartitionsAhead is how many days after today the service keeps
// partitions ready, so that ingestion of current records never waits for
// one to be created.
const PartitionsAhead = 7

const partitionPrefix = "audit_records_"

func day(t time.Time) time.Time {
	return t.UTC().Truncate(24 * time.Hour)
}

// EnsurePartitions creates the partitions of the days from the day of
// `from` to the day of `to`, both included, that do not exist yet.
func (s *Store) EnsurePartitions(ctx context.Context, from, to time.Time) error {
	var days []time.Time
	for d := day(from); !d.After(day(to)); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	return s.ensureDays(ctx, days)
}

// ensureDays creates the partitions of days that this process has not
// seen exist; it remembers the ones it has.
func (s *Store) ensureDays(ctx context.Context, days []time.Time) error {
	var missing []time.Time
	for _, d := range days {
		if _, ok := s.partitions.Load(d); !ok && !slices.ContainsFunc(missing, d.Equal) {
			missing = append(missing, d)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	dates := make([]string, len(missing))
	for i, d := range missing {
		dates[i] = d.Format(time.DateOnly)
	}
	if _, err := s.pool.Exec(ctx, "SELECT auditgraph_ensure_partitions($1::date[])", dates); err != nil {
		return fmt.Errorf("store: create partitions: %w", err)
	}
	for _, d := range missing {
		s.partitions.Store(d, struct{}{})
	}
	return nil
}

// forgetPartitions drops what this process knows of existing partitions,
// after one it counted on turned out gone (retention by another server).
func (s *Store) forgetPartitions() {
	s.partitions.Clear()
}

// isNoPartition tells whether err is PostgreSQL refusing a row that no
// partition takes.
func isNoPartition(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23514" && strings.Contains(pgErr.Message, "no partition")
}

// Partitions returns the days that have a partition, oldest first.
func (s *Store) Partitions(ctx context.Context) ([]time.Time, error) {
	rows, _ := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'audit_records'::regclass`)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: partitions: %w", err)
	}
	var days []time.Time
	for _, n := range names {
		if d, err := time.Parse("20060102", strings.TrimPrefix(n, partitionPrefix)); err == nil {
			days = append(days, d)
		}
	}
	slices.SortFunc(days, time.Time.Compare)
	return days, nil
}
