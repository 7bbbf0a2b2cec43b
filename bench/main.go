// Command bench measures auditgraph against the limits of the machine it
// runs on: each figure next to a baseline taken in the same run (ratios,
// not absolute times, hold on a noisy shared machine). It starts its own
// PostgreSQL and a server process, drives load from this separate process,
// and writes bench/RESULTS.md. Run it with `make bench` (SCALE=N for the
// scale figures).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditgraph/auditgraph/auth"
	"github.com/auditgraph/auditgraph/internal/pgcluster"
	"github.com/jackc/pgx/v5"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type figure struct {
	name, value, baseline, ratio, target string
}

type bench struct {
	bin      string
	dbURL    string
	base     string
	server   *exec.Cmd
	token    string
	figures  []figure
	notes    []string
	duration time.Duration
	client   *http.Client
	lastP99  time.Duration
	scaleRow []string
	plans    []string
}

func run() error {
	scale := flag.Int("scale", 200000, "records stored for the scale figures")
	records := flag.Int("records", 100000, "records ingested for the ingest figure")
	dur := flag.Duration("duration", 5*time.Second, "how long each rate is measured")
	out := flag.String("out", "bench/RESULTS.md", "where the results go")
	bin := flag.String("bin", "bin/auditgraph", "the auditgraph binary")
	only := flag.String("only", "", "run only these steps, comma-separated ("+stepNames+"), print the figures and write no file")
	flag.Parse()
	b := &bench{bin: *bin, duration: *dur, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}

	dir, err := os.MkdirTemp(pgcluster.DefaultBase(), "auditgraph-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cluster, err := pgcluster.Start(pgcluster.Options{Dir: dir, Durable: true})
	if err != nil {
		return err
	}
	defer cluster.Stop()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cluster.URL("postgres"))
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE bench"); err != nil {
		return err
	}
	conn.Close(ctx)
	b.dbURL = cluster.URL("bench")
	if err := b.start(); err != nil {
		return err
	}
	defer b.stop()
	if err := b.cli("", "user", "add", "bench", "--role", "admin", "--password-stdin"); err != nil {
		return err
	}
	if b.token, err = b.getToken(); err != nil {
		return err
	}
	steps := []func(context.Context) error{
		func(ctx context.Context) error { return b.ingest(ctx, *records) },
		b.tokens,
		b.sealAndList,
		b.download,
		func(ctx context.Context) error { return b.scale(ctx, *scale) },
		b.memory,
	}
	if *only != "" {
		if steps, err = b.only(*only); err != nil {
			return err
		}
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	if *only != "" {
		return nil
	}
	return b.write(*out, *scale)
}

// start runs the server as a child process and waits for it to listen.
func (b *bench) start() error {
	cmd := exec.Command(b.bin, "serve")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+b.dbURL, "AUDITGRAPH_LISTEN=127.0.0.1:0",
		"AUDITGRAPH_LOGIN_ACCOUNT_THRESHOLD=100000000", "AUDITGRAPH_LOGIN_ADDRESS_THRESHOLD=100000000",
		"AUDITGRAPH_FILE_GRACE=0s", "AUDITGRAPH_PPROF="+os.Getenv("BENCH_PPROF"), "AUDITGRAPH_WRITER_INTERVAL=1s", "AUDITGRAPH_MAX_INGEST_BYTES=67108864")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w (run make build first)", b.bin, err)
	}
	b.server = cmd
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "auditgraph: serving on "); ok {
			b.base = u
			go io.Copy(io.Discard, out)
			return nil
		}
	}
	return errors.New("the server did not start")
}

func (b *bench) stop() {
	b.server.Process.Signal(os.Interrupt)
	b.server.Wait()
}

// peakRSS is the server's peak resident memory so far, in MB.
func (b *bench) peakRSS() float64 {
	return procStatus(b.server.Process.Pid, "VmHWM:")
}

func (b *bench) cli(stdin string, args ...string) error {
	cmd := exec.Command(b.bin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+b.dbURL)
	cmd.Stdin = strings.NewReader(stdin + "bench-password\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %v\n%s", args, err, out)
	}
	return nil
}

func (b *bench) getToken() (string, error) {
	resp, err := b.client.PostForm(b.base+"/api/1.0/oauth2/access_token", url.Values{"grant_type": {"password"}, "username": {"bench"}, "password": {"bench-password"}})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&t)
	if t.AccessToken == "" {
		return "", fmt.Errorf("token: %s", resp.Status)
	}
	return t.AccessToken, nil
}

func (b *bench) add(name, value, baseline string, ratio float64, target string) {
	b.figures = append(b.figures, figure{name, value, baseline, fmt.Sprintf("%.2f", ratio), target})
	fmt.Printf("%-40s %-28s %-28s ratio %.2f (%s)\n", name, value, baseline, ratio, target)
}

// record makes one schema 1.0 record stamped ts.
func record(ts time.Time, i int) string {
	return fmt.Sprintf(`{"date":"%s","messageType":"system-event","schemaVersion":"1.0","timestamp":"%s","eventType":"designer-action","category":"access-management","action":"action-%d","source":"designer-api","tags":{},"object":{"type":"designer-role","identifier":{"type":"name","value":"role-%d"},"attributes":{"n":%d},"outcome":{"type":"success"},"actor":{"type":"user","identifier":{"type":"user-id","value":"user-%d@example.com"},"attributes":{}},"context":{"environment":"bench","sessionId":"session-%d","clientIp":"192.0.2.%d","protocol":"https","host":"bench.example.com","userAgent":"bench/1"}}}`,
		ts.Format("2006-01-02T15:04:05.000000Z"), ts.Format(time.RFC3339Nano), i%40, i, i, i%500, i/20, i%250)
}

// hourOfRecords returns n records spread over the hour from start.
func hourOfRecords(start time.Time, n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = record(start.Add(time.Duration(i)*time.Hour/time.Duration(n)), i)
	}
	return lines
}

// post sends body with the bench token.
func (b *bench) post(path, contentType, body string) ([]byte, error) {
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s %s", path, resp.Status, out)
	}
	return out, nil
}

// ingest: records per second through the API (batches of 1,000, two
// clients) against COPY of the same JSON Lines into a bare table by psql.
func (b *bench) ingest(ctx context.Context, n int) error {
	lines := hourOfRecords(time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC), n)
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Value
	for c := 0; c < 2; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c * 1000; i < n; i += 2000 {
				if _, err := b.post("/api/1.0/audit-events", "application/x-ndjson", strings.Join(lines[i:min(i+1000, n)], "\n")); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return err
	}
	api := float64(n) / time.Since(start).Seconds()

	file := filepath.Join(os.TempDir(), "auditgraph-bench.jsonl")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	defer os.Remove(file)
	psql := filepath.Join(mustBin(), "psql")
	if out, err := exec.Command(psql, b.dbURL, "-c", "CREATE TABLE bare (body text)").CombinedOutput(); err != nil {
		return fmt.Errorf("psql: %v %s", err, out)
	}
	start = time.Now()
	// CSV with quote and delimiter bytes JSON never holds: each line lands as it is.
	cp := `\copy bare (body) FROM '` + file + `' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')`
	if out, err := exec.Command(psql, b.dbURL, "-c", cp).CombinedOutput(); err != nil {
		return fmt.Errorf("psql copy: %v %s", err, out)
	}
	copyRate := float64(n) / time.Since(start).Seconds()
	b.add("ingest (records/s)", fmt.Sprintf("%.0f through the API", api), fmt.Sprintf("%.0f psql COPY", copyRate), api/copyRate, "at least 0.5")
	b.notes = append(b.notes, fmt.Sprintf("server peak RSS after ingest: %.0f MB", b.peakRSS()))
	return nil
}

func mustBin() string {
	d, err := pgcluster.BinDir()
	if err != nil {
		panic(err)
	}
	return d
}

// rate runs op from `concurrency` goroutines for the bench duration and
// returns operations per second and the latencies.
func (b *bench) rate(concurrency int, op func() error) (float64, []time.Duration, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Since(start) < b.duration {
				t := time.Now()
				if err := op(); err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	return float64(len(lat)) / time.Since(start).Seconds(), lat, firstErr
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	return lat[min(len(lat)-1, int(float64(len(lat))*p))]
}

// tokens: tokens per second against bare Argon2id verifies at the same
// concurrency.
func (b *bench) tokens(ctx context.Context) error {
	form := url.Values{"grant_type": {"password"}, "username": {"bench"}, "password": {"bench-password"}}.Encode()
	conc := runtime.NumCPU()
	tokens, _, err := b.rate(conc, func() error {
		resp, err := b.client.Post(b.base+"/api/1.0/oauth2/access_token", "application/x-www-form-urlencoded", strings.NewReader(form))
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
	if err != nil {
		return err
	}
	h := auth.NewHasher(auth.DefaultArgon2, conc)
	hash, _ := h.Hash(ctx, "bench-password")
	verifies, _, err := b.rate(conc, func() error {
		_, err := h.Verify(ctx, hash, "bench-password")
		return err
	})
	if err != nil {
		return err
	}
	b.add(fmt.Sprintf("token endpoint (per s, %d at once)", conc), fmt.Sprintf("%.1f tokens", tokens), fmt.Sprintf("%.1f Argon2id verifies", verifies), tokens/verifies, "at least 0.9")
	return nil
}

const listQuery = `query L($s: String!, $e: String!) { instrumentation { auditLogs { listAuditLogs(startDatetime: $s, endDatetime: $e, schemaVersion: "1.0") { logLocations files { byteSize } } } } }`

func (b *bench) list(from time.Time) ([]string, int64, error) {
	body, _ := json.Marshal(map[string]any{"query": listQuery, "variables": map[string]string{"s": from.Format(time.RFC3339), "e": from.Add(time.Hour).Format(time.RFC3339)}})
	out, err := b.post("/api/graphql", "application/json", string(body))
	if err != nil {
		return nil, 0, err
	}
	var r struct {
		Data struct {
			Instrumentation struct {
				AuditLogs struct {
					ListAuditLogs struct {
						LogLocations []string
						Files        []struct{ ByteSize int64 }
					}
				}
			}
		}
		Errors []any
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Errors) > 0 {
		return nil, 0, fmt.Errorf("listAuditLogs: %s", out)
	}
	l := r.Data.Instrumentation.AuditLogs.ListAuditLogs
	var size int64
	for _, f := range l.Files {
		size += f.ByteSize
	}
	return l.LogLocations, size, nil
}

// sealAndList: minute-file writing (the first listing of an hour writes
// its 60 files), then listing requests per second on that hour against
// GET /healthz, with p50 and p99.
func (b *bench) sealAndList(ctx context.Context) error {
	hour := time.Date(2024, 2, 1, 10, 0, 0, 0, time.UTC)
	const n = 60000
	lines := hourOfRecords(hour, n)
	for i := 0; i < n; i += 1000 {
		if _, err := b.post("/api/1.0/audit-events", "application/x-ndjson", strings.Join(lines[i:i+1000], "\n")); err != nil {
			return err
		}
	}
	start := time.Now()
	locs, _, err := b.list(hour)
	if err != nil {
		return err
	}
	sealRate := float64(n) / time.Since(start).Seconds()
	if len(locs) < 60 {
		return fmt.Errorf("want 60 files for the hour, got %d", len(locs))
	}
	b.add("minute files written (records/s)", fmt.Sprintf("%.0f", sealRate), "-", 0, "report")
	b.figures[len(b.figures)-1].ratio = "-"
	return b.listing(ctx, hour, "listing, 60 files")
}

func (b *bench) listing(ctx context.Context, hour time.Time, name string) error {
	if addr := os.Getenv("BENCH_PPROF"); addr != "" {
		// For diagnosis: a CPU profile of the server while it lists.
		go func() {
			resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=3")
			if err == nil {
				f, _ := os.Create(fmt.Sprintf("%s/auditgraph-listing-%d.prof", os.TempDir(), len(b.figures)))
				io.Copy(f, resp.Body)
				f.Close()
				resp.Body.Close()
			}
		}()
	}
	lists, lat, err := b.rate(4, func() error { _, _, err := b.list(hour); return err })
	if err != nil {
		return err
	}
	health, hlat, err := b.rate(4, func() error {
		resp, err := b.client.Get(b.base + "/healthz")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil
	})
	if err != nil {
		return err
	}
	b.add(name+" (requests/s)", fmt.Sprintf("%.0f (p50 %s, p99 %s)", lists, pct(lat, .5).Round(10*time.Microsecond), pct(lat, .99).Round(10*time.Microsecond)),
		fmt.Sprintf("%.0f /healthz (p99 %s)", health, pct(hlat, .99).Round(10*time.Microsecond)), lists/health, "at least 0.25")
	b.lastP99 = pct(lat, .99)
	return nil
}

// download: MB/s downloading one hour of files with their signed
// locations, against reading the same bytes from PostgreSQL.
func (b *bench) download(ctx context.Context) error {
	hour := time.Date(2024, 2, 1, 10, 0, 0, 0, time.UTC)
	locs, size, err := b.list(hour)
	if err != nil {
		return err
	}
	var total atomic.Int64
	start := time.Now()
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		jobs := make(chan string)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for u := range jobs {
					resp, err := b.client.Get(u)
					if err != nil {
						continue
					}
					n, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					total.Add(n)
				}
			}()
		}
		for _, u := range locs {
			jobs <- u
		}
		close(jobs)
		wg.Wait()
	}
	httpMBs := float64(total.Load()) / 1e6 / time.Since(start).Seconds()
	if total.Load() != 5*size {
		return fmt.Errorf("downloaded %d bytes, want %d", total.Load(), 5*size)
	}
	pgMBs, err := b.readPG(ctx, 5, "SELECT data FROM log_file_chunks WHERE minute >= $1 AND minute < $2", hour, hour.Add(time.Hour))
	if err != nil {
		return err
	}
	b.add("download of one hour (MB/s)", fmt.Sprintf("%.1f over HTTP", httpMBs), fmt.Sprintf("%.1f from PostgreSQL", pgMBs), httpMBs/pgMBs, "at least 0.8")
	b.notes = append(b.notes, fmt.Sprintf("one hour of files: %d files, %.1f MB; server peak RSS after downloads: %.0f MB", len(locs), float64(size)/1e6, b.peakRSS()))
	return nil
}

// scale: listing p99 and minute-file writing with `total` records stored,
// against the same with what the earlier steps stored (some 160 thousand).
func (b *bench) scale(ctx context.Context, total int) error {
	conn, err := pgx.Connect(ctx, b.dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	measure := func(hour time.Time) (time.Duration, float64, error) {
		const n = 60000
		lines := hourOfRecords(hour, n)
		for i := 0; i < n; i += 1000 {
			if _, err := b.post("/api/1.0/audit-events", "application/x-ndjson", strings.Join(lines[i:i+1000], "\n")); err != nil {
				return 0, 0, err
			}
		}
		start := time.Now()
		if _, _, err := b.list(hour); err != nil {
			return 0, 0, err
		}
		seal := float64(n) / time.Since(start).Seconds()
		if err := b.listing(ctx, hour, "listing at scale"); err != nil {
			return 0, 0, err
		}
		b.figures = b.figures[:len(b.figures)-1] // reported in the scale table
		return b.lastP99, seal, nil
	}
	var before int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM audit_records").Scan(&before); err != nil {
		return err
	}
	p99Small, sealSmall, err := measure(time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC))
	if err != nil {
		return err
	}
	extra := total - int(before) - 60000
	if extra > 0 {
		fmt.Printf("loading %d records to reach %d...\n", extra, total)
		start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		// As ingestion does: the days' partitions first.
		if _, err := conn.Exec(ctx, `SELECT auditgraph_ensure_partitions(ARRAY(
			SELECT d::date FROM generate_series($1::timestamptz, $2::timestamptz, '1 day') AS d))`,
			start, start.Add(time.Duration(extra)*180*time.Millisecond)); err != nil {
			return fmt.Errorf("partitions for the bulk load: %w", err)
		}
		i := 0
		_, err := conn.CopyFrom(ctx, pgx.Identifier{"audit_records"},
			[]string{"ts", "minute", "action", "category", "event_type", "session_id", "body"},
			pgx.CopyFromFunc(func() ([]any, error) {
				if i == extra {
					return nil, nil
				}
				ts := start.Add(time.Duration(i) * 180 * time.Millisecond) // 20,000 records an hour
				i++
				return []any{ts, ts.Truncate(time.Minute), fmt.Sprintf("action-%d", i%40), "access-management", "designer-action",
					fmt.Sprintf("session-%d", i/20), record(ts, i)}, nil
			}))
		if err != nil {
			return fmt.Errorf("bulk load: %w", err)
		}
		// As ingestion does: the loaded minutes are pending.
		if _, err := conn.Exec(ctx, `INSERT INTO pending_minutes SELECT DISTINCT minute FROM audit_records
			WHERE file_id IS NULL ON CONFLICT DO NOTHING`); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, "ANALYZE audit_records"); err != nil {
			return err
		}
		// File them the way an export would: a listing of each loaded hour.
		hours := (extra + 19999) / 20000
		for h := 0; h < hours; h++ {
			if _, _, err := b.list(start.Add(time.Duration(h) * time.Hour)); err != nil {
				return err
			}
			if h%50 == 49 {
				fmt.Printf("  %d of %d loaded hours written into files\n", h+1, hours)
			}
		}
		// Measure the steady state, not PostgreSQL catching up: filing
		// the loaded records left a dead row version each, which
		// autovacuum would otherwise be clearing during the measurement
		// (the 10M run's /healthz baseline dropped with it).
		fmt.Println("vacuuming and checkpointing after the load...")
		if _, err := conn.Exec(ctx, "VACUUM ANALYZE"); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
			return err
		}
	}
	p99Big, sealBig, err := measure(time.Date(2024, 3, 2, 10, 0, 0, 0, time.UTC))
	if err != nil {
		return err
	}
	var after int64
	conn.QueryRow(ctx, "SELECT count(*) FROM audit_records").Scan(&after)
	b.scaleRow = []string{
		fmt.Sprintf("| listAuditLogs p99 | %s with %d records | %s with %d records | %.2f | at most 1.2 |", p99Big.Round(10*time.Microsecond), after, p99Small.Round(10*time.Microsecond), before+60000, float64(p99Big)/float64(p99Small)),
		fmt.Sprintf("| minute files written (records/s) | %.0f with %d records | %.0f with %d records | %.2f | time at most 1.2 (rate at least 0.83) |", sealBig, after, sealSmall, before+60000, sealBig/sealSmall),
	}
	fmt.Println(strings.Join(b.scaleRow, "\n"))
	b.notes = append(b.notes, fmt.Sprintf("server peak RSS at the end: %.0f MB", b.peakRSS()))
	return b.explain(ctx, conn)
}

// explain keeps the plans of the queries the service runs most.
func (b *bench) explain(ctx context.Context, conn *pgx.Conn) error {
	hour := time.Date(2024, 3, 2, 10, 0, 0, 0, time.UTC)
	queries := []struct{ name, sql string }{
		{"listing: the files of an hour", fmt.Sprintf("SELECT id, minute, part, record_count, byte_size, sha256, created_at FROM log_files WHERE minute >= '%s' AND minute < '%s' ORDER BY minute, part", hour.Format(time.RFC3339), hour.Add(time.Hour).Format(time.RFC3339))},
		{"listing: minutes with records in no file", fmt.Sprintf("SELECT minute FROM pending_minutes WHERE minute >= '%s' AND minute < '%s' ORDER BY minute", hour.Format(time.RFC3339), hour.Add(time.Hour).Format(time.RFC3339))},
		{"background writer's hourly sweep: every pending minute", "SELECT minute FROM pending_minutes WHERE minute >= '0001-01-01' AND minute < now() ORDER BY minute"},
		{"writing a minute's file: its records", fmt.Sprintf("SELECT id, body FROM audit_records WHERE minute = '%s' AND file_id IS NULL ORDER BY ts, id", hour.Add(30*time.Minute).Format(time.RFC3339))},
		{"session look-up (every day's partition, merged in order)", "SELECT id, ts, action FROM audit_records WHERE session_id = 'session-77' AND (ts, id) > ('0001-01-01', 0) ORDER BY ts, id LIMIT 51"},
		{"subscriptions: the next records in commit order", "SELECT id, minute, tx_id, action FROM audit_records WHERE (tx_id, id) > ('0'::xid8, 0) AND tx_id < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY tx_id, id LIMIT 500"},
		{"counting an hour's records (one day's partition)", fmt.Sprintf("SELECT count(*) FROM audit_records WHERE minute >= '%s' AND minute < '%s'", hour.Format(time.RFC3339), hour.Add(time.Hour).Format(time.RFC3339))},
	}
	for _, q := range queries {
		rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+q.sql)
		if err != nil {
			return fmt.Errorf("explain %s: %w", q.name, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		b.plans = append(b.plans, "### "+q.name+"\n\n```\n"+q.sql+"\n\n"+strings.Join(lines, "\n")+"\n```\n")
	}
	return nil
}

func (b *bench) write(path string, scale int) error {
	var buf bytes.Buffer
	cpu := "unknown"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "unknown"
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(strings.SplitN(string(data), "\n", 2)[0]); len(f) >= 2 {
			kb, _ := strconv.ParseFloat(f[1], 64)
			mem = fmt.Sprintf("%.0f GiB", kb/1024/1024)
		}
	}
	pg, _ := exec.Command(filepath.Join(mustBin(), "postgres"), "--version").Output()
	fmt.Fprintf(&buf, "# auditgraph benchmark results\n\nWritten by `make bench` (bench/main.go) on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&buf, "Machine: %d CPUs (%s), %s memory, %s, %s; each rate measured for %s.\n",
		runtime.NumCPU(), cpu, mem, runtime.Version(), strings.TrimSpace(string(pg)), b.duration)
	fmt.Fprintf(&buf, "The server runs as its own process; the load comes from this one. Each figure stands next to a baseline measured in the same run.\n\n")
	fmt.Fprintf(&buf, "| figure | auditgraph | baseline | ratio | target |\n|---|---|---|---|---|\n")
	for _, f := range b.figures {
		fmt.Fprintf(&buf, "| %s | %s | %s | %s | %s |\n", f.name, f.value, f.baseline, f.ratio, f.target)
	}
	fmt.Fprintf(&buf, "\n## Scale (SCALE=%d)\n\n| figure | large | small | ratio | target |\n|---|---|---|---|---|\n%s\n", scale, strings.Join(b.scaleRow, "\n"))
	fmt.Fprintf(&buf, "\n## Memory\n\n")
	for _, n := range b.notes {
		fmt.Fprintf(&buf, "- %s\n", n)
	}
	fmt.Fprintf(&buf, "\n## Query plans at the end of the run\n\n%s", strings.Join(b.plans, "\n"))
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
