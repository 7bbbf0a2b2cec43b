package pgtest

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/auditgraph/auditgraph/migrations"
	"github.com/auditgraph/auditgraph/store"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolAt makes a fresh database with the migrations up to version applied
// and a pool on it, both closed when t ends: for tests of a later migration
// against the data the ones before it left. Migrate the pool with
// migrations.FS to apply the rest.
func PoolAt(t testing.TB, version int) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ms, err := store.LoadMigrations(migrations.FS)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	upTo := fstest.MapFS{}
	for _, m := range ms {
		if m.Version <= version {
			upTo[m.Name] = &fstest.MapFile{Data: []byte(m.SQL)}
		}
	}
	pool, err := store.Open(ctx, EmptyURL(t))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close)
	if _, err := store.New(pool).Migrate(ctx, upTo); err != nil {
		t.Fatalf("pgtest: migrate to %d: %v", version, err)
	}
	return pool
}
