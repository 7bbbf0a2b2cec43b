package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The statements a listing reads with, shared by the methods that run them
// one at a time.
const (
	pendingMinutesSQL = `SELECT minute FROM pending_minutes
		WHERE minute >= $1 AND minute < $2 ORDER BY minute`
	logFilesSQL = `SELECT id, minute, part, record_count, byte_size, sha256, created_at
		FROM log_files WHERE minute >= $1 AND minute < $2 ORDER BY minute, part`
	digestsSQL = "SELECT " + digestColumns + " FROM digests WHERE hour >= $1 AND hour < $2 ORDER BY hour, part"
	// $1 is `before`: every hour from the chain's first hour on that has
	// no digest, and every hour with files no digest lists.
	hoursNeedingDigestSQL = `
		SELECT h FROM generate_series(
			(SELECT GREATEST(c.first_hour, COALESCE((SELECT max(hour) + interval '1 hour' FROM digests WHERE hour >= c.first_hour), c.first_hour))
			 FROM digest_chain c),
			$1::timestamptz - interval '1 hour', interval '1 hour') AS h
		UNION
		SELECT DISTINCT date_trunc('hour', minute) FROM log_files WHERE digest_id IS NULL AND minute < $1`
	// and those in [$2, $1) without a digest or with files no digest lists,
	// even before the chain's first hour.
	hoursToDigestSQL = hoursNeedingDigestSQL + `
		UNION
		SELECT h FROM generate_series($2::timestamptz, $1::timestamptz - interval '1 hour', interval '1 hour') AS h
		WHERE NOT EXISTS (SELECT 1 FROM digests WHERE hour = h)
			OR EXISTS (SELECT 1 FROM log_files WHERE minute >= h AND minute < h + interval '1 hour' AND digest_id IS NULL)
		ORDER BY 1`
)

// ListingState is what a listing finds in one round trip: the work left to
// do before it can answer (minutes to file, hours to digest) and, when
// there is none, its answer (files and digests).
type ListingState struct {
	Pending     []time.Time
	DigestHours []time.Time
	Files       []LogFile
	Digests     []Digest
}

// ListingRanges are the ranges a listing reads: the pending minutes in
// [SealFrom, SealBefore), the hours before DigestBefore needing a digest
// (from DigestFirst on even before the chain starts), the files of
// [From, To) and the digests of [DigestFrom, DigestTo).
type ListingRanges struct {
	SealFrom, SealBefore      time.Time
	DigestBefore, DigestFirst time.Time
	From, To                  time.Time
	DigestFrom, DigestTo      time.Time
}

// ListingState reads what a listing needs with the four statements sent at
// once (one round trip).
func (s *Store) ListingState(ctx context.Context, r ListingRanges) (ListingState, error) {
	var st ListingState
	b := &pgx.Batch{}
	b.Queue(pendingMinutesSQL, r.SealFrom, r.SealBefore)
	b.Queue(hoursToDigestSQL, r.DigestBefore, r.DigestFirst)
	b.Queue(logFilesSQL, r.From, r.To)
	b.Queue(digestsSQL, r.DigestFrom, r.DigestTo)
	res := s.pool.SendBatch(ctx, b)
	defer res.Close()
	var err error
	collectTimes := func() ([]time.Time, error) {
		rows, err := res.Query()
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[time.Time])
	}
	if st.Pending, err = collectTimes(); err != nil {
		return st, fmt.Errorf("store: listing: pending minutes: %w", err)
	}
	if st.DigestHours, err = collectTimes(); err != nil {
		return st, fmt.Errorf("store: listing: hours to digest: %w", err)
	}
	rows, err := res.Query()
	if err == nil {
		st.Files, err = pgx.CollectRows(rows, pgx.RowToStructByName[LogFile])
	}
	if err != nil {
		return st, fmt.Errorf("store: listing: files: %w", err)
	}
	rows, err = res.Query()
	if err == nil {
		st.Digests, err = pgx.CollectRows(rows, pgx.RowToStructByName[Digest])
	}
	if err != nil {
		return st, fmt.Errorf("store: listing: digests: %w", err)
	}
	return st, nil
}
