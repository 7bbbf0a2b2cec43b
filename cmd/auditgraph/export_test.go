package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/logfile"
)

// TestThreeServersWriteEachRecordOnce: three servers on one database write
// files in the background (and on demand, for listings) while records keep
// arriving; every record ends up in exactly one file.
func TestThreeServersWriteEachRecordOnce(t *testing.T) {
	env := newEnv(t)
	env["AUDITGRAPH_PUBLIC_URL"] = "http://audit.test"
	env["AUDITGRAPH_FILE_GRACE"] = "0s"
	env["AUDITGRAPH_WRITER_INTERVAL"] = "20ms"
	addUser(t, env, "root", "admin", "admin-password")
	servers := []*testServer{startServer(t, env), startServer(t, env), startServer(t, env)}
	tok := token(t, servers[0].URL, "root", "admin-password")

	// Records for the three minutes before now: each has ended, so every
	// batch after the first arrives late and goes into a further part.
	base := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Minute)
	var wg sync.WaitGroup
	const writers, batches, perBatch = 3, 12, 25
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				var lines []string
				for i := 0; i < perBatch; i++ {
					ts := base.Add(time.Duration((b*perBatch+i)%180) * time.Second).Add(time.Duration(w) * time.Millisecond)
					lines = append(lines, rec(ts.Format(time.RFC3339Nano), fmt.Sprintf("w%d-b%d-i%d", w, b, i), "0"))
				}
				s := servers[(w+b)%len(servers)]
				if status, body := post(t, s.URL+"/api/1.0/audit-events", tok, "application/x-ndjson", strings.Join(lines, "\n")); status != http.StatusOK {
					t.Errorf("ingest: %d %s", status, body)
					return
				}
				// Listings seal on demand too, racing the writers.
				post(t, s.URL+"/api/graphql", tok, "application/json", seedQuery(base.Format(time.RFC3339), base.Add(3*time.Minute).Format(time.RFC3339)))
			}
		}()
	}
	wg.Wait()
	// Let the background writers take the last records.
	total := writers * batches * perBatch
	store := testStore(t, env)
	waitFor(t, 20*time.Second, "every record to be in a file", func() bool {
		pending, err := store.PendingMinutes(context.Background(), base, base.Add(3*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return len(pending) == 0
	})
	files, err := store.LogFiles(context.Background(), base, base.Add(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, f := range files {
		_, content, err := store.LogFileContent(context.Background(), f.Minute, f.Part)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range gunzipLines(t, content) {
			seen[l]++
		}
	}
	if len(seen) != total {
		t.Errorf("%d distinct records in %d files, want %d", len(seen), len(files), total)
	}
	for l, n := range seen {
		if n != 1 {
			t.Errorf("record in %d files, want 1: %s", n, l)
		}
	}
	t.Logf("%d records in %d files written by 3 servers", len(seen), len(files))
}

// TestExportResumeAndVerify: an export of three hours verifies; after a late
// record a second export fetches only the new file and its digest; verify
// then names the path of each kind of tampering.
func TestExportResumeAndVerify(t *testing.T) {
	env := newEnv(t)
	addUser(t, env, "root", "admin", "admin-password")
	addUser(t, env, "auditor", "auditor", "auditor-password")
	srv := startServer(t, env)
	tok := token(t, srv.URL, "root", "admin-password")
	var batch []string
	for h := 14; h < 17; h++ {
		for m := 0; m < 60; m += 20 {
			batch = append(batch, rec(fmt.Sprintf("2023-06-12T%02d:%02d:05Z", h, m), fmt.Sprintf("a%d-%d", h, m), "0"))
		}
	}
	if status, body := post(t, srv.URL+"/api/1.0/audit-events", tok, "application/x-ndjson", strings.Join(batch, "\n")); status != http.StatusOK {
		t.Fatalf("ingest: %d %s", status, body)
	}
	dir := t.TempDir()
	exportEnv := map[string]string{"AUDITGRAPH_PASSWORD": "auditor-password"}
	exp := func() string {
		t.Helper()
		out, err := cli(t, exportEnv, "", "export", "--url", srv.URL, "--username", "auditor",
			"--from", "2023-06-12T14:00:00Z", "--to", "2023-06-12T17:00:00Z", "--out", dir)
		if err != nil {
			t.Fatalf("export: %v\n%s", err, out)
		}
		return out
	}
	if out := exp(); !strings.Contains(out, "3 hours, 12 files downloaded") { // 9 files, 3 digests
		t.Errorf("first export: %s", out)
	}
	if out, err := cli(t, nil, "", "verify", dir); err != nil || !strings.Contains(out, "intact") {
		t.Fatalf("verify of an untouched export: %v\n%s", err, out)
	}

	late := rec("2023-06-12T15:20:30Z", "late", "1")
	if status, body := post(t, srv.URL+"/api/1.0/audit-events", tok, "application/json", late); status != http.StatusOK {
		t.Fatalf("ingest: %d %s", status, body)
	}
	if out := exp(); !strings.Contains(out, "2 files downloaded") || !strings.Contains(out, "12 already there") {
		t.Errorf("second export: want only the late file and its digest fetched, got %s", out)
	}
	latePath := filepath.Join(dir, "1.0/2023/06/12/15/20230612T1520Z-2.jsonl.gz")
	if b, err := os.ReadFile(latePath); err != nil || !strings.Contains(strings.Join(gunzipLines(t, b), ""), `"action":"late"`) {
		t.Errorf("the late file %s: %v", latePath, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "1.0/2023/06/12/15/20230612T15Z-digest-2.json")); err != nil {
		t.Errorf("the second digest of hour 15: %v", err)
	}
	if out, err := cli(t, nil, "", "verify", dir); err != nil {
		t.Fatalf("verify after the second export: %v\n%s", err, out)
	}

	hour := func(h int) string { return fmt.Sprintf("1.0/2023/06/12/%02d/", h) }
	tampering := []struct {
		name  string
		do    func(t *testing.T, d string)
		paths []string
	}{
		{"one byte of one file changed", func(t *testing.T, d string) {
			p := filepath.Join(d, hour(15)+"20230612T1540Z-1.jsonl.gz")
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0x01
			os.WriteFile(p, b, 0o644)
		}, []string{hour(15) + "20230612T1540Z-1.jsonl.gz"}},
		{"one file deleted", func(t *testing.T, d string) {
			os.Remove(filepath.Join(d, hour(14)+"20230612T1400Z-1.jsonl.gz"))
		}, []string{hour(14) + "20230612T1400Z-1.jsonl.gz"}},
		{"two consecutive digests deleted", func(t *testing.T, d string) {
			os.Remove(filepath.Join(d, hour(15)+"20230612T15Z-digest-1.json"))
			os.Remove(filepath.Join(d, hour(16)+"20230612T16Z-digest-1.json"))
		}, []string{hour(15) + "20230612T15Z-digest-1.json", hour(16) + "20230612T16Z-digest-1.json"}},
		{"a digest re-signed with another key", func(t *testing.T, d string) {
			p := filepath.Join(d, hour(16)+"20230612T16Z-digest-1.json")
			b, _ := os.ReadFile(p)
			var sd logfile.SignedDigest
			json.Unmarshal(b, &sd)
			_, key, _ := ed25519.GenerateKey(rand.Reader)
			sd.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, sd.Digest))
			b, _ = json.Marshal(sd)
			os.WriteFile(p, b, 0o644)
		}, []string{hour(16) + "20230612T16Z-digest-1.json"}},
		{"a file added", func(t *testing.T, d string) {
			os.WriteFile(filepath.Join(d, hour(16)+"20230612T1630Z-1.jsonl.gz"), []byte("forged"), 0o644)
		}, []string{hour(16) + "20230612T1630Z-1.jsonl.gz"}},
	}
	for _, c := range tampering {
		t.Run(c.name, func(t *testing.T) {
			d := copyDir(t, dir)
			c.do(t, d)
			out, err := cli(t, nil, "", "verify", d)
			if err == nil {
				t.Fatalf("verify passed:\n%s", out)
			}
			for _, p := range c.paths {
				if !strings.Contains(out, p+": ") {
					t.Errorf("verify does not name %s:\n%s", p, out)
				}
			}
		})
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
