package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/internal/pgtest"
	"github.com/auditgraph/auditgraph/store"
)

// TestSmallAndLargeBatchesStoreAlike: a batch small enough for the one-
// statement INSERT and one stored with COPY keep the same columns, the
// order given (ids follow it), sessions (none stays NULL) and pending
// minutes.
func TestSmallAndLargeBatchesStoreAlike(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	s := store.New(pool)
	batch := func(prefix string, n int, minute time.Time) []store.NewRecord {
		recs := make([]store.NewRecord, n)
		for i := range recs {
			ts := minute.Add(time.Duration(n-i) * time.Millisecond) // ids and times in opposite orders
			recs[i] = store.NewRecord{Timestamp: ts, Minute: minute, Action: fmt.Sprintf("%s-%d", prefix, i), Category: "c", EventType: "e", Body: []byte(fmt.Sprintf(`{"i":%d}`, i))}
			if i%2 == 0 {
				recs[i].SessionID = "s"
			}
		}
		return recs
	}
	small := time.Date(2023, 6, 12, 16, 30, 0, 0, time.UTC)
	large := small.Add(time.Minute)
	if err := s.InsertRecords(ctx, batch("small", 3, small)); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertRecords(ctx, batch("large", 200, large)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		prefix string
		minute time.Time
	}{{"small", small}, {"large", large}} {
		rows, _ := pool.Query(ctx, `SELECT action, body, session_id IS NULL, minute = $2 FROM audit_records
			WHERE action LIKE $1 || '-%' ORDER BY id`, c.prefix, c.minute)
		i := 0
		for rows.Next() {
			var action, body string
			var noSession, minuteOK bool
			if err := rows.Scan(&action, &body, &noSession, &minuteOK); err != nil {
				t.Fatal(err)
			}
			if action != fmt.Sprintf("%s-%d", c.prefix, i) || body != fmt.Sprintf(`{"i":%d}`, i) || noSession != (i%2 == 1) || !minuteOK {
				t.Errorf("%s record %d stored as %s %s no-session=%v minute-ok=%v", c.prefix, i, action, body, noSession, minuteOK)
			}
			i++
		}
		if rows.Err() != nil || (c.prefix == "small" && i != 3) || (c.prefix == "large" && i != 200) {
			t.Errorf("%s: %d records read, %v", c.prefix, i, rows.Err())
		}
	}
	pending, err := s.PendingMinutes(ctx, small, large.Add(time.Minute))
	if err != nil || len(pending) != 2 {
		t.Errorf("pending minutes %v %v, want both", pending, err)
	}
}
