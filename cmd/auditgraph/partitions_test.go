package main

import (
	"context"
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/internal/pgtest"
	"github.com/auditgraph/auditgraph/store"
	"github.com/jackc/pgx/v5"
)

// TestServerKeepsPartitionsAhead: a running server makes the record
// partitions of today and the week after without being asked, so that
// ingestion of current records never waits for one.
func TestServerKeepsPartitionsAhead(t *testing.T) {
	db := pgtest.URL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// The template was migrated some time ago: start from no day ahead.
	if _, err := conn.Exec(ctx, `DO $$ DECLARE r record; BEGIN
		FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			WHERE i.inhparent = 'audit_records'::regclass LOOP
			EXECUTE format('DROP TABLE %I', r.relname);
		END LOOP; END $$`); err != nil {
		t.Fatal(err)
	}
	startServer(t, map[string]string{"DATABASE_URL": db})
	last := time.Now().UTC().AddDate(0, 0, store.PartitionsAhead).Format("20060102")
	waitFor(t, 10*time.Second, "the partitions of today and the days ahead", func() bool {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			WHERE i.inhparent = 'audit_records'::regclass AND c.relname BETWEEN $1 AND $2`,
			"audit_records_"+time.Now().UTC().Format("20060102"), "audit_records_"+last).Scan(&n)
		return err == nil && n == store.PartitionsAhead+1
	})
}
