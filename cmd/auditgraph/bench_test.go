package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/auth"
)

// BenchmarkExport measures `auditgraph export` of one full hour (60 minute
// files) in MB/s, next to reading the same bytes straight from PostgreSQL in
// the same run: the ratio is what the HTTP path, signatures and checks cost.
func BenchmarkExport(b *testing.B) {
	env := newEnv(b)
	addUser(b, env, "root", "admin", "admin-password")
	srv := startServer(b, env)
	tok := token(b, srv.URL, "root", "admin-password")
	const perMinute = 2000
	for m := 0; m < 60; m++ {
		var lines []string
		for i := 0; i < perMinute; i++ {
			ts := time.Date(2022, 3, 1, 10, m, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond * 29)
			lines = append(lines, rec(ts.Format(time.RFC3339Nano), fmt.Sprintf("action-%d", i%50), fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, strings.Repeat("x", i%97))))
		}
		if status, body := post(b, srv.URL+"/api/1.0/audit-events", tok, "application/x-ndjson", strings.Join(lines, "\n")); status != http.StatusOK {
			b.Fatalf("ingest: %d %s", status, body)
		}
	}
	st := testStore(b, env)
	from := time.Date(2022, 3, 1, 10, 0, 0, 0, time.UTC)
	exportEnv := map[string]string{"AUDITGRAPH_PASSWORD": "admin-password"}
	var exportTime, pgTime time.Duration
	var exportBytes, pgBytes int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		start := time.Now()
		out, err := cli(b, exportEnv, "", "export", "--url", srv.URL, "--username", "root",
			"--from", "2022-03-01T10:00:00Z", "--to", "2022-03-01T11:00:00Z", "--out", dir)
		if err != nil {
			b.Fatalf("export: %v\n%s", err, out)
		}
		exportTime += time.Since(start)
		exportBytes += dirBytes(b, dir)

		start = time.Now()
		files, err := st.LogFiles(context.Background(), from, from.Add(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range files {
			_, content, err := st.LogFileContent(context.Background(), f.Minute, f.Part)
			if err != nil {
				b.Fatal(err)
			}
			pgBytes += int64(len(content))
		}
		pgTime += time.Since(start)
	}
	b.StopTimer()
	exportMBs := float64(exportBytes) / 1e6 / exportTime.Seconds()
	pgMBs := float64(pgBytes) / 1e6 / pgTime.Seconds()
	b.ReportMetric(exportMBs, "export-MB/s")
	b.ReportMetric(pgMBs, "postgres-MB/s")
	b.ReportMetric(exportMBs/pgMBs, "ratio")
	b.ReportMetric(float64(exportBytes)/float64(b.N)/1e6, "MB/export")
}

// dirBytes adds up the sizes of the log files under dir.
func dirBytes(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".jsonl.gz") {
			info, err := e.Info()
			if err == nil {
				n += info.Size()
			}
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkTokenEndpoint measures tokens per second through the real token
// endpoint (HTTP, go-oauth2, Argon2id, JWT signing, self-audit record) next
// to the bare Argon2id verify rate at the same concurrency, in the same
// run: the ratio is what everything around the hash costs.
func BenchmarkTokenEndpoint(b *testing.B) {
	env := newEnv(b)
	env["AUDITGRAPH_LOGIN_ACCOUNT_THRESHOLD"] = "1000000"
	env["AUDITGRAPH_LOGIN_ADDRESS_THRESHOLD"] = "1000000"
	addUser(b, env, "bench", "auditor", "bench-password")
	srv := startServer(b, env)
	form := url.Values{"grant_type": {"password"}, "username": {"bench"}, "password": {"bench-password"}}.Encode()
	hasher := auth.NewHasher(auth.DefaultArgon2, 0)
	hash, err := hasher.Hash(context.Background(), "bench-password")
	if err != nil {
		b.Fatal(err)
	}
	concurrency := runtime.NumCPU()
	rate := func(op func() error) float64 {
		var n atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for w := 0; w < concurrency; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Since(start) < 3*time.Second {
					if err := op(); err != nil {
						b.Error(err)
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		return float64(n.Load()) / time.Since(start).Seconds()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tokens := rate(func() error {
			resp, err := http.Post(srv.URL+"/api/1.0/oauth2/access_token", "application/x-www-form-urlencoded", strings.NewReader(form))
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("token: %s", resp.Status)
			}
			return nil
		})
		verifies := rate(func() error {
			ok, err := hasher.Verify(context.Background(), hash, "bench-password")
			if !ok || err != nil {
				return fmt.Errorf("verify: %v %v", ok, err)
			}
			return nil
		})
		b.ReportMetric(tokens, "tokens/s")
		b.ReportMetric(verifies, "argon2-verifies/s")
		b.ReportMetric(tokens/verifies, "ratio")
	}
}

// BenchmarkIngestSubscribers measures records per second through
// POST /api/1.0/audit-events (batches of 1,000, two clients) with no
// subscriber and with ten subscribers receiving deliveries meanwhile, in
// the same run: delivery must not slow ingestion.
func BenchmarkIngestSubscribers(b *testing.B) {
	const batches, perBatch, clients = 20, 1000, 2
	actions := []string{"Login", "Logout", "AuthorizeFundsTransfer", "SetAccountNickname", "AddFundsTransfer"}
	lines, _ := mixed(batches*perBatch, actions...)
	measure := func(subscribers int) float64 {
		env := newEnv(b)
		addUser(b, env, "root", "admin", "root-password")
		srv := startServer(b, env)
		tok := token(b, srv.URL, "root", "root-password")
		rcv := newReceiver(b)
		for i := 0; i < subscribers; i++ {
			acts := actions[i%len(actions)] + "," + actions[(i+1)%len(actions)]
			if out, err := cli(b, env, hookSecret, "subscriber", "add", fmt.Sprintf("s%d", i), "--url", rcv.srv.URL, "--actions", acts, "--secret-stdin"); err != nil {
				b.Fatalf("subscriber add: %v %s", err, out)
			}
		}
		start := time.Now()
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := c; i < batches; i += clients {
					body := strings.Join(lines[i*perBatch:(i+1)*perBatch], "\n")
					if status, out := post(b, srv.URL+"/api/1.0/audit-events", tok, "application/x-ndjson", body); status != http.StatusOK {
						b.Errorf("ingest: %d %s", status, out)
						return
					}
				}
			}()
		}
		wg.Wait()
		return float64(batches*perBatch) / time.Since(start).Seconds()
	}
	for i := 0; i < b.N; i++ {
		none := measure(0)
		ten := measure(10)
		b.ReportMetric(none, "records/s-no-subscribers")
		b.ReportMetric(ten, "records/s-10-subscribers")
		b.ReportMetric(ten/none, "ratio")
	}
}
