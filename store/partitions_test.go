package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/internal/pgtest"
	"github.com/auditgraph/auditgraph/logfile"
	"github.com/auditgraph/auditgraph/migrations"
	"github.com/auditgraph/auditgraph/store"
)

func rec(m time.Time, action string) store.NewRecord {
	return store.NewRecord{Timestamp: m, Minute: m.Truncate(time.Minute), Action: action, Category: "c", EventType: "e", Body: []byte(`{"a":"` + action + `"}`)}
}

// TestRecordsLandInTheirDaysPartition: ingestion makes the partition of any
// day it meets, each record lands in its own day's table, and a listing by
// minute reads only that table.
func TestRecordsLandInTheirDaysPartition(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	s := store.New(pool)
	days := []time.Time{
		time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2023, 6, 12, 16, 30, 5, 0, time.UTC),
		time.Date(2091, 2, 3, 4, 5, 6, 0, time.UTC),
	}
	var recs []store.NewRecord
	for i, d := range days {
		recs = append(recs, rec(d, "a"+string(rune('0'+i))))
	}
	if err := s.InsertRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for i, d := range days {
		var table string
		if err := pool.QueryRow(ctx, "SELECT tableoid::regclass::text FROM audit_records WHERE action = $1", "a"+string(rune('0'+i))).Scan(&table); err != nil {
			t.Fatal(err)
		}
		if want := "audit_records_" + d.Format("20060102"); table != want {
			t.Errorf("record of %s is in %s, want %s", d, table, want)
		}
	}
	rows, _ := pool.Query(ctx, "EXPLAIN (COSTS OFF) SELECT id FROM audit_records WHERE minute = '2023-06-12T16:30:00Z' AND file_id IS NULL")
	var lines []string
	for rows.Next() {
		var l string
		rows.Scan(&l)
		lines = append(lines, l)
	}
	if p := strings.Join(lines, "\n"); !strings.Contains(p, "audit_records_20230612") || strings.Contains(p, "audit_records_20000101") {
		t.Errorf("a minute's records are not read from its day's partition alone:\n%s", p)
	}
	// The service keeps today and the week after ready.
	if err := s.EnsurePartitions(ctx, time.Now(), time.Now().AddDate(0, 0, store.PartitionsAhead)); err != nil {
		t.Fatal(err)
	}
	have, err := s.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= store.PartitionsAhead; i++ {
		d := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, i)
		found := false
		for _, h := range have {
			found = found || h.Equal(d)
		}
		if !found {
			t.Errorf("no partition for %s, %d days ahead", d.Format(time.DateOnly), i)
		}
	}
}

// TestRetentionDropsWholeDays: retention detaches and drops the partitions
// of whole days before the cutoff and deletes the rows of the hours before
// it in the cutoff's own day; records after it stay, and another server
// that still believes in a dropped partition stores into it again.
func TestRetentionDropsWholeDays(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	s := store.New(pool)
	other := store.New(pool) // a second server on the same database
	old := time.Date(2023, 6, 10, 12, 0, 0, 0, time.UTC)
	early := time.Date(2023, 6, 12, 1, 0, 0, 0, time.UTC)
	kept := time.Date(2023, 6, 12, 9, 0, 0, 0, time.UTC)
	for _, m := range []time.Time{old, early, kept} {
		if err := other.InsertRecords(ctx, []store.NewRecord{rec(m, "x"), rec(m.Add(time.Second), "y")}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SealMinute(ctx, m, logfile.Encode); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := s.DeleteHoursBefore(ctx, kept)
	if err != nil || removed != 4 {
		t.Fatalf("retention removed %d %v, want 4", removed, err)
	}
	days, _ := s.Partitions(ctx)
	for _, d := range days {
		if d.Before(kept.Truncate(24 * time.Hour)) {
			t.Errorf("partition of %s survived retention", d.Format(time.DateOnly))
		}
	}
	if n, _ := s.CountRecords(ctx, time.Time{}, kept.Add(time.Hour)); n != 2 {
		t.Errorf("%d records left, want the 2 after the cutoff", n)
	}
	if fs, _ := s.LogFiles(ctx, time.Time{}, kept.Add(time.Hour)); len(fs) != 1 {
		t.Errorf("%d files left, want 1", len(fs))
	}
	// other created the 2023-06-10 partition and still believes in it.
	if err := other.InsertRecords(ctx, []store.NewRecord{rec(old, "late")}); err != nil {
		t.Fatalf("insert into a day whose partition another server dropped: %v", err)
	}
	if n, _ := s.CountRecords(ctx, old, old.Add(time.Minute)); n != 1 {
		t.Errorf("the late record of a dropped day: %d stored, want 1", n)
	}
}

// TestMigrationPartitionsExistingRecords: migration 006 moves the records
// of an existing store into day partitions with their ids, files and
// transaction ids, and new records continue the ids.
func TestMigrationPartitionsExistingRecords(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.PoolAt(t, 5)
	s := store.New(pool)
	_, err := pool.Exec(ctx, `
		INSERT INTO log_files (minute, part, record_count, byte_size, sha256, content)
			VALUES ('2023-06-12T16:30:00Z', 1, 1, 1, decode(repeat('00', 32), 'hex'), 'x');
		INSERT INTO audit_records (ts, minute, action, category, event_type, session_id, body, file_id) VALUES
			('2023-06-12T16:30:01Z', '2023-06-12T16:30:00Z', 'filed', 'c', 'e', 's1', '{"n":1}', (SELECT id FROM log_files)),
			('2023-06-13T00:00:00Z', '2023-06-13T00:00:00Z', 'pending', 'c', 'e', NULL, '{"n":2}', NULL);
		INSERT INTO subscribers (name, url, actions, secret) VALUES ('s', 'http://x', '{pending}', 'k');
		INSERT INTO deliveries (subscriber_id, record_id) SELECT (SELECT id FROM subscribers), id FROM audit_records WHERE action = 'pending';`)
	if err != nil {
		t.Fatal(err)
	}
	var before string
	pool.QueryRow(ctx, "SELECT string_agg(format('%s %s %s %s %s', id, minute, file_id, tx_id, body), '; ' ORDER BY id) FROM audit_records").Scan(&before)
	if _, err := s.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	var after string
	pool.QueryRow(ctx, "SELECT string_agg(format('%s %s %s %s %s', id, minute, file_id, tx_id, body), '; ' ORDER BY id) FROM audit_records").Scan(&after)
	if before != after || before == "" {
		t.Errorf("records before the migration:\n%s\nafter:\n%s", before, after)
	}
	var kind string
	pool.QueryRow(ctx, "SELECT relkind::text FROM pg_class WHERE relname = 'audit_records'").Scan(&kind)
	if kind != "p" {
		t.Errorf("audit_records has relkind %q, want p (partitioned)", kind)
	}
	days, _ := s.Partitions(ctx)
	if len(days) < 2 || !days[0].Equal(time.Date(2023, 6, 12, 0, 0, 0, 0, time.UTC)) || !days[1].Equal(time.Date(2023, 6, 13, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("partitions after the migration: %v", days)
	}
	if err := s.InsertRecords(ctx, []store.NewRecord{rec(time.Date(2023, 6, 13, 0, 0, 1, 0, time.UTC), "new")}); err != nil {
		t.Fatal(err)
	}
	var newID, maxOld int64
	pool.QueryRow(ctx, "SELECT id FROM audit_records WHERE action = 'new'").Scan(&newID)
	pool.QueryRow(ctx, "SELECT max(id) FROM audit_records WHERE action <> 'new'").Scan(&maxOld)
	if newID <= maxOld {
		t.Errorf("new record got id %d, not after the migrated ones (up to %d)", newID, maxOld)
	}
	ds, err := s.NextDeliveries(ctx, 1, 10)
	if err != nil || len(ds) != 1 || string(ds[0].Body) != `{"n":2}` {
		t.Errorf("queued delivery after the migration: %v %v", ds, err)
	}
	// Still append-only.
	if _, err := pool.Exec(ctx, "UPDATE audit_records SET body = 'x'"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("update after the migration: %v, want refused", err)
	}
}
