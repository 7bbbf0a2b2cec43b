package selfaudit

import (
	"context"
	"sync"
	"testing"

	"github.com/auditgraph/auditgraph/internal/pgtest"
	"github.com/auditgraph/auditgraph/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestGroupCommit: concurrent events share transactions (records written
// together carry the same tx_id), every event is stored exactly once, and
// a caller learns when its record could not be stored.
func TestGroupCommit(t *testing.T) {
	pool := pgtest.Pool(t)
	r := New(store.New(pool))
	var wg sync.WaitGroup
	const n = 60
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- r.Record(context.Background(), Event{Category: "audit-access", Action: "list-audit-logs", ObjectType: "range", Actor: "alice"})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var rows, txs int
	if err := pool.QueryRow(context.Background(), "SELECT count(*), count(DISTINCT tx_id) FROM audit_records").Scan(&rows, &txs); err != nil {
		t.Fatal(err)
	}
	if rows != n {
		t.Errorf("%d records stored, want %d", rows, n)
	}
	if txs >= n {
		t.Errorf("%d transactions for %d concurrent events: none was shared", txs, n)
	}
	t.Logf("%d events in %d transactions", rows, txs)

	pool.Close()
	if err := r.Record(context.Background(), Event{Category: "c", Action: "a", ObjectType: "o", Actor: "x"}); err == nil {
		t.Error("an event that could not be stored was reported as stored")
	}
}
