package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/store"
	"github.com/jackc/pgx/v5"
)

// TestDownloadLargeFileAndRanges: a file of several chunks downloads byte
// for byte as stored, and range and conditional requests work on it.
func TestDownloadLargeFileAndRanges(t *testing.T) {
	env := newEnv(t)
	addUser(t, env, "root", "admin", "admin-password")
	srv := startServer(t, env)
	tok := token(t, srv.URL, "root", "admin-password")
	minute := time.Date(2023, 6, 12, 16, 31, 0, 0, time.UTC)
	var body strings.Builder
	noise := make([]byte, 1024)
	for i := 0; i < 3000; i++ {
		rand.Read(noise)
		ts := minute.Add(time.Duration(i) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
		body.WriteString(rec(ts, "x", `"`+base64.StdEncoding.EncodeToString(noise)+`"`) + "\n")
	}
	if code, out := post(t, srv.URL+"/api/1.0/audit-events", tok, "application/x-ndjson", body.String()); code != 200 {
		t.Fatalf("ingest: %d %s", code, out)
	}
	locs := listLocations(t, srv.URL, tok, "2023-06-12T16:31:00Z", "2023-06-12T16:32:00Z")
	if len(locs) != 1 {
		t.Fatalf("got %d locations, want 1", len(locs))
	}
	f, want, err := testStore(t, env).LogFileContent(context.Background(), minute, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 2*store.ChunkSize {
		t.Fatalf("file of %d bytes, want more than two chunks", len(want))
	}
	etag := `"` + hex.EncodeToString(f.SHA256) + `"`

	get := func(t *testing.T, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, locs[0], nil)
		for i := 0; i < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	across := int64(store.ChunkSize - 6) // the last bytes of chunk 0 and the first of chunk 1
	tests := []struct {
		name       string
		header     []string
		wantStatus int
		wantBody   []byte
		wantRange  string
	}{
		{"whole", nil, 200, want, ""},
		{"range across chunks", []string{"Range", fmt.Sprintf("bytes=%d-%d", across, across+11)}, 206, want[across : across+12],
			fmt.Sprintf("bytes %d-%d/%d", across, across+11, len(want))},
		{"range in the last chunk", []string{"Range", fmt.Sprintf("bytes=%d-", len(want)-100)}, 206, want[len(want)-100:],
			fmt.Sprintf("bytes %d-%d/%d", len(want)-100, len(want)-1, len(want))},
		{"suffix range", []string{"Range", "bytes=-10"}, 206, want[len(want)-10:],
			fmt.Sprintf("bytes %d-%d/%d", len(want)-10, len(want)-1, len(want))},
		{"range past the end", []string{"Range", fmt.Sprintf("bytes=%d-", len(want))}, 416, nil, ""},
		{"etag matches", []string{"If-None-Match", etag}, 304, nil, ""},
		{"range with a matching If-Range", []string{"Range", "bytes=0-9", "If-Range", etag}, 206, want[:10], fmt.Sprintf("bytes 0-9/%d", len(want))},
		{"range with a stale If-Range", []string{"Range", "bytes=0-9", "If-Range", `"other"`}, 200, want, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := get(t, tt.header...)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantBody != nil && !bytes.Equal(got, tt.wantBody) {
				t.Errorf("body of %d bytes differs from the stored bytes (%d)", len(got), len(tt.wantBody))
			}
			if cr := resp.Header.Get("Content-Range"); cr != tt.wantRange && tt.wantStatus != 416 {
				t.Errorf("Content-Range %q, want %q", cr, tt.wantRange)
			}
			if tt.wantStatus == 200 && resp.Header.Get("ETag") != etag {
				t.Errorf("ETag %q, want %q", resp.Header.Get("ETag"), etag)
			}
		})
	}
}

// TestDownloadIsAudited: a download's record does not hold up the answer,
// but it is stored by the time the server has shut down.
func TestDownloadIsAudited(t *testing.T) {
	env := newEnv(t)
	addUser(t, env, "root", "admin", "admin-password")
	srv := startServer(t, env)
	tok := token(t, srv.URL, "root", "admin-password")
	post(t, srv.URL+"/api/1.0/audit-events", tok, "application/json", rec("2023-06-12T16:31:00Z", "x", "1"))
	locs := listLocations(t, srv.URL, tok, "2023-06-12T16:31:00Z", "2023-06-12T16:32:00Z")
	download(t, locs)
	download(t, locs)
	srv.stop(t)
	conn, err := pgx.Connect(context.Background(), env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(context.Background(),
		"SELECT count(*) FROM audit_records WHERE action = 'download-log-file' AND body::jsonb #>> '{object,identifier,value}' LIKE '%20230612T1631Z-1.jsonl.gz'").Scan(&n)
	if err != nil || n != 2 {
		t.Errorf("download records after shutdown: %d %v, want 2", n, err)
	}
}
