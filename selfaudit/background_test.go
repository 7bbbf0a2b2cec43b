package selfaudit

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/auditgraph/auditgraph/internal/pgtest"
	"github.com/auditgraph/auditgraph/store"
)

// TestGoThenWait: events recorded with Go are all stored once Wait
// returns, and a record that cannot be stored reaches failed.
func TestGoThenWait(t *testing.T) {
	pool := pgtest.Pool(t)
	r := New(store.New(pool))
	const n = 40
	var failures atomic.Int64
	for i := 0; i < n; i++ {
		r.Go(Event{Category: "audit-access", Action: "download-log-file", ObjectType: "log-file", Actor: "signed-location"},
			func(error) { failures.Add(1) })
	}
	r.Wait()
	var rows int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_records WHERE action = 'download-log-file'").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != n || failures.Load() != 0 {
		t.Errorf("after Wait: %d records stored and %d failures, want %d and 0", rows, failures.Load(), n)
	}

	pool.Close()
	r.Go(Event{Category: "c", Action: "a", ObjectType: "o", Actor: "x"}, func(error) { failures.Add(1) })
	r.Wait()
	if failures.Load() != 1 {
		t.Errorf("a record that could not be stored: %d failures reported, want 1", failures.Load())
	}
}
