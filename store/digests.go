package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Digest describes one stored digest.
type Digest struct {
	ID             int64     `db:"id"`
	Hour           time.Time `db:"hour"`
	Part           int       `db:"part"`
	PreviousSHA256 []byte    `db:"previous_sha256"`
	SHA256         []byte    `db:"sha256"`
	CreatedAt      time.Time `db:"created_at"`
}

// DigestInput is what a digest is made of: the files of the hour that no
// earlier digest lists, and the digest it links to (nil for none).
type DigestInput struct {
	Hour      time.Time
	Part      int
	Previous  *Digest
	Files     []LogFile
	CreatedAt time.Time
}

// DigestBuilder turns a DigestInput into the signed content of the digest.
type DigestBuilder func(DigestInput) ([]byte, error)

// digestLock serialises the making of digests across servers, so that
// each links to the digest before it.
const digestLock = 0x64696773 // "digs"

const digestColumns = "id, hour, part, previous_sha256, sha256, created_at"

// MakeDigest makes the next digest of hour: part 1 lists every file of the
// hour and links to the newest digest of the hour before, when there is
// one; a later part lists the files no earlier part lists and links to the
// part before it. It makes nothing (false) when the hour has a digest and
// no file since.
func (s *Store) MakeDigest(ctx context.Context, hour time.Time, now time.Time, build DigestBuilder) (Digest, bool, error) {
	var d Digest
	var made bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", digestLock); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT id, minute, part, record_count, byte_size, sha256, created_at FROM log_files
			WHERE minute >= $1 AND minute < $2 AND digest_id IS NULL ORDER BY minute, part`, hour, hour.Add(time.Hour))
		files, err := pgx.CollectRows(rows, pgx.RowToStructByName[LogFile])
		if err != nil {
			return err
		}
		var last int
		if err := tx.QueryRow(ctx, "SELECT COALESCE(max(part), 0) FROM digests WHERE hour = $1", hour).Scan(&last); err != nil {
			return err
		}
		if last > 0 && len(files) == 0 {
			return nil
		}
		in := DigestInput{Hour: hour, Part: last + 1, Files: files, CreatedAt: now}
		prevHour, prevPart := hour, last
		if last == 0 {
			prevHour = hour.Add(-time.Hour)
			if err := tx.QueryRow(ctx, "SELECT COALESCE(max(part), 0) FROM digests WHERE hour = $1", prevHour).Scan(&prevPart); err != nil {
				return err
			}
		}
		if prevPart > 0 {
			rows, _ := tx.Query(ctx, "SELECT "+digestColumns+" FROM digests WHERE hour = $1 AND part = $2", prevHour, prevPart)
			prev, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Digest])
			if err != nil {
				return err
			}
			in.Previous = &prev
		}
		content, err := build(in)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(content)
		var prevSum []byte
		if in.Previous != nil {
			prevSum = in.Previous.SHA256
		}
		rows, _ = tx.Query(ctx, `INSERT INTO digests (hour, part, previous_sha256, sha256, content, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+digestColumns, hour, in.Part, prevSum, sum[:], content, now)
		d, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Digest])
		if err != nil {
			return err
		}
		ids := make([]int64, len(files))
		for i, f := range files {
			ids[i] = f.ID
		}
		if _, err := tx.Exec(ctx, "UPDATE log_files SET digest_id = $1 WHERE id = ANY($2)", d.ID, ids); err != nil {
			return err
		}
		made = true
		return nil
	})
	if err != nil {
		return Digest{}, false, fmt.Errorf("store: make digest of %s: %w", hour.Format(time.RFC3339), err)
	}
	return d, made, nil
}

// HoursNeedingDigest returns, oldest first, the ended hours before
// `before` that need a digest: every hour from the chain's first hour on
// that has none, and every hour with files no digest lists.
func (s *Store) HoursNeedingDigest(ctx context.Context, before time.Time) ([]time.Time, error) {
	rows, _ := s.pool.Query(ctx, hoursNeedingDigestSQL+" ORDER BY 1", before)
	hours, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return nil, fmt.Errorf("store: hours needing digest: %w", err)
	}
	return hours, nil
}

// NeedsDigest tells whether hour has no digest yet or has files that no
// digest lists.
func (s *Store) NeedsDigest(ctx context.Context, hour time.Time) (bool, error) {
	var need bool
	err := s.pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM digests WHERE hour = $1)
		OR EXISTS (SELECT 1 FROM log_files WHERE minute >= $1 AND minute < $2 AND digest_id IS NULL)`,
		hour, hour.Add(time.Hour)).Scan(&need)
	if err != nil {
		return false, fmt.Errorf("store: needs digest: %w", err)
	}
	return need, nil
}

// Digests lists the digests of the hours in [from, to) by hour and part.
func (s *Store) Digests(ctx context.Context, from, to time.Time) ([]Digest, error) {
	rows, _ := s.pool.Query(ctx, digestsSQL, from, to)
	ds, err := pgx.CollectRows(rows, pgx.RowToStructByName[Digest])
	if err != nil {
		return nil, fmt.Errorf("store: digests: %w", err)
	}
	return ds, nil
}

// DigestContent returns a digest with its content; ErrNotFound when there
// is none.
func (s *Store) DigestContent(ctx context.Context, hour time.Time, part int) (Digest, []byte, error) {
	var d Digest
	var content []byte
	err := s.pool.QueryRow(ctx, "SELECT "+digestColumns+", content FROM digests WHERE hour = $1 AND part = $2", hour, part).
		Scan(&d.ID, &d.Hour, &d.Part, &d.PreviousSHA256, &d.SHA256, &d.CreatedAt, &content)
	if errors.Is(err, pgx.ErrNoRows) {
		return Digest{}, nil, ErrNotFound
	}
	if err != nil {
		return Digest{}, nil, fmt.Errorf("store: digest content: %w", err)
	}
	return d, content, nil
}

// DeleteHoursBefore removes every record, log file and digest of the hours
// before cutoff (truncated to the hour): retention, the one way data leaves
// the append-only tables. It returns how many records it removed.
func (s *Store) DeleteHoursBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	cutoff = cutoff.Truncate(time.Hour)
	// Whole days go first, a partition at a time: detaching takes a brief
	// exclusive lock on audit_records, so each day is its own short
	// transaction. The rows of the day the cutoff falls in are deleted.
	n, err := s.dropDaysBefore(ctx, day(cutoff))
	if err != nil {
		return n, fmt.Errorf("store: retention: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL auditgraph.retention = 'on'"); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, "DELETE FROM audit_records WHERE minute < $1", cutoff)
		if err != nil {
			return err
		}
		n += tag.RowsAffected()
		if _, err := tx.Exec(ctx, "DELETE FROM pending_minutes WHERE minute < $1", cutoff); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM log_files WHERE minute < $1", cutoff); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "DELETE FROM digests WHERE hour < $1", cutoff)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: retention: %w", err)
	}
	return n, nil
}

// dropDaysBefore detaches and drops the partitions of the days before
// first, returning how many records they held.
func (s *Store) dropDaysBefore(ctx context.Context, first time.Time) (int64, error) {
	days, err := s.Partitions(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, d := range days {
		if !d.Before(first) {
			break
		}
		name := pgx.Identifier{partitionPrefix + d.Format("20060102")}.Sanitize()
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var rows int64
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+name).Scan(&rows); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "ALTER TABLE audit_records DETACH PARTITION "+name); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "DROP TABLE "+name); err != nil {
				return err
			}
			n += rows
			return nil
		})
		if err != nil {
			return n, err
		}
		s.partitions.Delete(d)
	}
	return n, nil
}
