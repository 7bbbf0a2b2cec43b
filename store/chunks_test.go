package store_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/internal/pgtest"
	"github.com/auditgraph/auditgraph/logfile"
	"github.com/auditgraph/auditgraph/migrations"
	"github.com/auditgraph/auditgraph/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// chunkQueries counts the queries that name log_file_chunks.
type chunkQueries struct{ n atomic.Int64 }

func (c *chunkQueries) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if strings.Contains(data.SQL, "log_file_chunks") {
		c.n.Add(1)
	}
	return ctx
}

func (c *chunkQueries) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// tracedStore is a store on a fresh database whose chunk queries are
// counted.
func tracedStore(t *testing.T) (*store.Store, *pgxpool.Pool, *chunkQueries) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	trace := &chunkQueries{}
	cfg.ConnConfig.Tracer = trace
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return store.New(pool), pool, trace
}

// sealIncompressible stores n records of about 1 KB of random base64 in
// minute, writes the minute's file, and returns the file and the content
// it must have: logfile.Encode of the same bodies in order.
func sealIncompressible(t *testing.T, s *store.Store, minute time.Time, n int) (store.LogFile, []byte) {
	t.Helper()
	ctx := context.Background()
	recs := make([]store.NewRecord, n)
	bodies := make([][]byte, n)
	noise := make([]byte, 1024)
	for i := range recs {
		rand.Read(noise)
		bodies[i] = []byte(fmt.Sprintf(`{"i":%d,"noise":"%s"}`, i, base64.StdEncoding.EncodeToString(noise)))
		ts := minute.Add(time.Duration(i) * time.Millisecond)
		recs[i] = store.NewRecord{Timestamp: ts, Minute: minute, Action: "a", Category: "c", EventType: "e", Body: bodies[i]}
	}
	for i := 0; i < n; i += 2000 {
		if err := s.InsertRecords(ctx, recs[i:min(i+2000, n)]); err != nil {
			t.Fatal(err)
		}
	}
	f, ok, err := s.SealMinute(ctx, minute, logfile.Encode)
	if err != nil || !ok {
		t.Fatalf("seal: %v %v, want a file", ok, err)
	}
	var want bytes.Buffer
	if err := logfile.Encode(&want, slices.Values(bodies)); err != nil {
		t.Fatal(err)
	}
	return f, want.Bytes()
}

// TestLogFileChunksRoundTrip: a file of several chunks is stored in chunks
// of ChunkSize and reads back byte for byte, with its size and SHA-256.
func TestLogFileChunksRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, pool, _ := tracedStore(t)
	minute := time.Date(2023, 6, 12, 16, 30, 0, 0, time.UTC)
	f, want := sealIncompressible(t, s, minute, 3500)
	if len(want) < 3*store.ChunkSize {
		t.Fatalf("test file of %d bytes, want at least 3 chunks", len(want))
	}
	if f.ByteSize != int64(len(want)) || f.RecordCount != 3500 || f.Part != 1 {
		t.Errorf("file: %d bytes, %d records, part %d; want %d, 3500, 1", f.ByteSize, f.RecordCount, f.Part, len(want))
	}
	if sum := sha256.Sum256(want); !bytes.Equal(f.SHA256, sum[:]) {
		t.Errorf("sha256 %x, want %x", f.SHA256, sum)
	}
	rows, _ := pool.Query(ctx, "SELECT seq, length(data) FROM log_file_chunks WHERE minute = $1 AND part = 1 ORDER BY seq", minute)
	lengths, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (int, error) {
		var seq, n int
		err := r.Scan(&seq, &n)
		return n, err
	})
	if err != nil {
		t.Fatal(err)
	}
	var wantLengths []int
	for rest := len(want); rest > 0; rest -= store.ChunkSize {
		wantLengths = append(wantLengths, min(rest, store.ChunkSize))
	}
	if !slices.Equal(lengths, wantLengths) {
		t.Errorf("chunk lengths %v, want %v", lengths, wantLengths)
	}
	_, got, err := s.LogFileContent(ctx, minute, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("content differs from the encoded records (%d bytes, want %d)", len(got), len(want))
	}
	if lines := strings.Count(gunzipString(t, got), "\n"); lines != 3500 {
		t.Errorf("%d lines, want 3500", lines)
	}

	// A later record goes into part 2, alone.
	late := []store.NewRecord{{Timestamp: minute, Minute: minute, Action: "a", Category: "c", EventType: "e", Body: []byte(`{"late":1}`)}}
	if err := s.InsertRecords(ctx, late); err != nil {
		t.Fatal(err)
	}
	f2, ok, err := s.SealMinute(ctx, minute, logfile.Encode)
	if err != nil || !ok || f2.Part != 2 || f2.RecordCount != 1 {
		t.Fatalf("late file: %+v %v %v, want part 2 with one record", f2, ok, err)
	}
	if _, c, err := s.LogFileContent(ctx, minute, 2); err != nil || !strings.Contains(gunzipString(t, c), `{"late":1}`) {
		t.Errorf("late file content: %v", err)
	}
	if _, _, err := s.LogFileContent(ctx, minute, 3); err != store.ErrNotFound {
		t.Errorf("part 3: got %v, want ErrNotFound", err)
	}
}

func gunzipString(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestFileReaderFetchesChunksLazily: the reader fetches a chunk only when
// a read reaches it, one query per chunk, so a download holds one chunk;
// seeking fetches nothing.
func TestFileReaderFetchesChunksLazily(t *testing.T) {
	ctx := context.Background()
	s, _, queries := tracedStore(t)
	minute := time.Date(2023, 6, 12, 16, 31, 0, 0, time.UTC)
	_, want := sealIncompressible(t, s, minute, 5200)
	chunks := (len(want) + store.ChunkSize - 1) / store.ChunkSize
	if chunks < 5 {
		t.Fatalf("test file of %d chunks, want at least 5", chunks)
	}

	queries.n.Store(0)
	f, r, err := s.OpenLogFile(ctx, minute, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != f.ByteSize || f.ByteSize != int64(len(want)) {
		t.Fatalf("size %d, file says %d, want %d", r.Size(), f.ByteSize, len(want))
	}
	head := make([]byte, 10)
	if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head, want[:10]) {
		t.Fatalf("first 10 bytes: %x %v, want %x", head, err, want[:10])
	}
	if got := queries.n.Load(); got != 1 {
		t.Errorf("opening and reading 10 bytes took %d chunk queries, want 1 (the file with its first chunk)", got)
	}

	// Across the boundary of chunks 2 and 3: two fetches.
	at := int64(3*store.ChunkSize - 5)
	if pos, err := r.Seek(at, io.SeekStart); err != nil || pos != at {
		t.Fatalf("seek: %d %v", pos, err)
	}
	if end, err := r.Seek(0, io.SeekEnd); err != nil || end != int64(len(want)) {
		t.Fatalf("seek to end: %d %v, want %d", end, err, len(want))
	}
	r.Seek(at, io.SeekStart)
	if got := queries.n.Load(); got != 1 {
		t.Errorf("seeking took %d more chunk queries, want none", got-1)
	}
	mid := make([]byte, 10)
	if _, err := io.ReadFull(r, mid); err != nil || !bytes.Equal(mid, want[at:at+10]) {
		t.Fatalf("10 bytes at %d: %x %v, want %x", at, mid, err, want[at:at+10])
	}
	if got := queries.n.Load(); got != 3 {
		t.Errorf("reading across a chunk boundary: %d chunk queries in all, want 3", got)
	}

	// The last bytes, then the end.
	r.Seek(-3, io.SeekEnd)
	tail, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(tail, want[len(want)-3:]) {
		t.Errorf("last 3 bytes: %x %v, want %x", tail, err, want[len(want)-3:])
	}
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("read at the end: %d %v, want 0 EOF", n, err)
	}
	if _, err := r.Seek(-1, io.SeekStart); err == nil {
		t.Error("seek before the start: got nil error")
	}

	// The whole file from the start: one query per chunk.
	queries.n.Store(0)
	r.Seek(0, io.SeekStart)
	var got bytes.Buffer
	if _, err := io.Copy(&got, r); err != nil || !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("whole file: %d bytes %v, want the %d encoded", got.Len(), err, len(want))
	}
	if n := queries.n.Load(); n != int64(chunks) {
		t.Errorf("reading the whole file took %d chunk queries, want %d", n, chunks)
	}
}

// TestMigrationMovesContentIntoChunks: files written before migration 007,
// with their content in log_files, read back the same from chunks after
// it, and can still be digested.
func TestMigrationMovesContentIntoChunks(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.PoolAt(t, 6)
	s := store.New(pool)

	minute := time.Date(2023, 6, 12, 16, 0, 0, 0, time.UTC)
	sizes := []int{1, 1000, store.ChunkSize - 1, store.ChunkSize, store.ChunkSize + 1, 2 * store.ChunkSize, 2*store.ChunkSize + 12345}
	contents := make([][]byte, len(sizes))
	for i, n := range sizes {
		contents[i] = make([]byte, n)
		rand.Read(contents[i])
		sum := sha256.Sum256(contents[i])
		if _, err := pool.Exec(ctx, `INSERT INTO log_files (minute, part, record_count, byte_size, sha256, content)
			VALUES ($1, $2, 1, $3, $4, $5)`, minute.Add(time.Duration(i)*time.Minute), 1, n, sum[:], contents[i]); err != nil {
			t.Fatal(err)
		}
	}
	applied, err := s.Migrate(ctx, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(applied, "007_file_chunks.sql") {
		t.Fatalf("applied %v, want 007_file_chunks.sql among them", applied)
	}
	for i, n := range sizes {
		m := minute.Add(time.Duration(i) * time.Minute)
		f, got, err := s.LogFileContent(ctx, m, 1)
		if err != nil {
			t.Fatalf("file of %d bytes: %v", n, err)
		}
		if !bytes.Equal(got, contents[i]) || f.ByteSize != int64(n) {
			t.Errorf("file of %d bytes: read back %d bytes, not the same", n, len(got))
		}
		var count int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM log_file_chunks WHERE minute = $1", m).Scan(&count); err != nil {
			t.Fatal(err)
		}
		if want := (n + store.ChunkSize - 1) / store.ChunkSize; count != want {
			t.Errorf("file of %d bytes: %d chunks, want %d", n, count, want)
		}
	}
	var hasContent bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_name = 'log_files' AND column_name = 'content')`).Scan(&hasContent); err != nil || hasContent {
		t.Errorf("log_files.content after the migration: %v %v, want it gone", hasContent, err)
	}
	// Digesting a file is the one update log_files allows; it still works.
	if _, made, err := s.MakeDigest(ctx, minute, time.Now(), logfile.BuildDigest("1.0", fakeSigner{})); err != nil || !made {
		t.Fatalf("digest after the migration: %v %v", made, err)
	}
	if _, err := pool.Exec(ctx, "UPDATE log_files SET byte_size = 1"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("UPDATE log_files after the migration: got %v, want it refused as append-only", err)
	}
}
