package main

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
