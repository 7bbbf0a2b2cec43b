package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/internal/pgtest"
	"github.com/auditgraph/auditgraph/logfile"
	"github.com/auditgraph/auditgraph/store"
)

type fakeSigner struct{}

func (fakeSigner) Sign([]byte) (string, []byte) { return "k", make([]byte, 64) }

// TestAppendOnly: records, files and digests cannot be changed or removed
// through the application's connection; only filing a record and digesting
// a file (each once) and retention of whole hours get through.
func TestAppendOnly(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	s := store.New(pool)
	old := time.Date(2023, 6, 12, 16, 5, 0, 0, time.UTC)
	recent := time.Date(2023, 6, 12, 18, 5, 0, 0, time.UTC)
	for _, m := range []time.Time{old, recent} {
		if err := s.InsertRecords(ctx, []store.NewRecord{{Timestamp: m, Minute: m, Action: "a", Category: "c", EventType: "e", Body: []byte(`{}`)}}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SealMinute(ctx, m, logfile.Encode); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.MakeDigest(ctx, m.Truncate(time.Hour), time.Now(), logfile.BuildDigest("1.0", fakeSigner{})); err != nil {
			t.Fatal(err)
		}
	}
	refused := []string{
		"UPDATE audit_records SET body = '{\"forged\":1}'",
		"UPDATE audit_records SET file_id = NULL",
		"UPDATE audit_records SET file_id = file_id + 0",
		"DELETE FROM audit_records",
		"TRUNCATE audit_records CASCADE",
		"UPDATE log_files SET byte_size = byte_size + 1",
		"UPDATE log_files SET digest_id = NULL",
		"DELETE FROM log_files",
		"TRUNCATE log_files CASCADE",
		"UPDATE log_file_chunks SET data = 'x'",
		"UPDATE log_file_chunks SET seq = seq + 1",
		"DELETE FROM log_file_chunks",
		"TRUNCATE log_file_chunks",
		"UPDATE digests SET content = 'x'",
		"DELETE FROM digests",
		"TRUNCATE digests CASCADE",
	}
	for _, sql := range refused {
		_, err := pool.Exec(ctx, sql)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: got %v, want it refused as append-only", sql, err)
		}
	}
	n, err := s.CountRecords(ctx, time.Time{}, recent.Add(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("records after the refusals: %d %v, want 2", n, err)
	}

	removed, err := s.DeleteHoursBefore(ctx, recent)
	if err != nil || removed != 1 {
		t.Fatalf("retention: removed %d %v, want 1", removed, err)
	}
	if files, _ := s.LogFiles(ctx, time.Time{}, recent.Add(time.Hour)); len(files) != 1 || !files[0].Minute.Equal(recent) {
		t.Errorf("files after retention: %v, want only the recent one", files)
	}
	if ds, _ := s.Digests(ctx, time.Time{}, recent.Add(time.Hour)); len(ds) != 1 || !ds[0].Hour.Equal(recent.Truncate(time.Hour)) {
		t.Errorf("digests after retention: %v, want only the recent hour's", ds)
	}
	var oldChunks, recentChunks int
	if err := pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE minute = $1), count(*) FILTER (WHERE minute = $2) FROM log_file_chunks",
		old, recent).Scan(&oldChunks, &recentChunks); err != nil || oldChunks != 0 || recentChunks != 1 {
		t.Errorf("chunks after retention: %d of the old file, %d of the recent one (%v), want 0 and 1", oldChunks, recentChunks, err)
	}
	// The setting lasted only for retention's own transaction.
	if _, err := pool.Exec(ctx, "DELETE FROM audit_records"); err == nil {
		t.Error("DELETE after retention went through")
	}
}
