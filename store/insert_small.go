package store

import (
	"context"
	"time"
)

// smallBatch is the largest batch stored with one INSERT statement instead
// of COPY. Self-audit records and small ingests come in such batches, and
// one statement is one round trip where COPY in a transaction takes four.
const smallBatch = 64

// insertSmall stores recs and marks their minutes pending in one
// statement, which commits on its own: all of it or none.
func (s *Store) insertSmall(ctx context.Context, recs []NewRecord, ms []time.Time) error {
	n := len(recs)
	ts, minute := make([]time.Time, n), make([]time.Time, n)
	action, category, eventType, body := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	session := make([]*string, n)
	for i, r := range recs {
		ts[i], minute[i], action[i], category[i], eventType[i], body[i] = r.Timestamp, r.Minute, r.Action, r.Category, r.EventType, string(r.Body)
		if r.SessionID != "" {
			session[i] = &recs[i].SessionID
		}
	}
	// The records first, in the order given (ids follow it); then the
	// minutes, sorted and last, as InsertRecords does.
	_, err := s.pool.Exec(ctx, `WITH stored AS (
			INSERT INTO audit_records (ts, minute, action, category, event_type, session_id, body)
			SELECT ts, minute, action, category, event_type, session_id, body FROM unnest($1::timestamptz[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
				WITH ORDINALITY AS r(ts, minute, action, category, event_type, session_id, body, n) ORDER BY n)
		INSERT INTO pending_minutes (minute)
			SELECT DISTINCT m FROM unnest($8::timestamptz[]) AS m ORDER BY m
			ON CONFLICT (minute) DO UPDATE SET minute = EXCLUDED.minute`,
		ts, minute, action, category, eventType, session, body, ms)
	return err
}
