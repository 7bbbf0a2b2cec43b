package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/internal/pgtest"
)

func TestMain(m *testing.M) {
	// The crash test runs the server as a child process it can kill: the
	// test binary itself, told so by this variable.
	if os.Getenv("AUDITGRAPH_TEST_RUN_SERVE") == "1" {
		err := run(context.Background(), []string{"auditgraph", "serve"}, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	pgtest.Main(m)
}

// syncBuffer collects a server's log for a failing test to show.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is `auditgraph serve` run in-process on a free port.
type testServer struct {
	URL    string
	cancel context.CancelFunc
	done   chan error
	log    *syncBuffer
}

// startServer runs `auditgraph serve` on 127.0.0.1:0 against dbURL, waits
// until /healthz answers 200, and stops it when the test ends.
func startServer(t testing.TB, env map[string]string) *testServer {
	t.Helper()
	return startServerWith(t, env, http.DefaultClient)
}

// startServerWith is startServer polling /healthz with client c.
func startServerWith(t testing.TB, env map[string]string, c *http.Client) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &testServer{cancel: cancel, done: make(chan error, 1), log: &syncBuffer{}}
	getenv := func(k string) string { return env[k] }
	go func() {
		err := run(ctx, []string{"auditgraph", "serve", "--listen", "127.0.0.1:0"}, getenv, strings.NewReader(""), pw, s.log)
		pw.Close()
		s.done <- err
	}()
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "auditgraph: serving on "); ok {
			s.URL = u
			break
		}
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck // drain
	if s.URL == "" {
		cancel()
		t.Fatalf("server did not start: %v\n%s", <-s.done, s.log)
	}
	t.Cleanup(func() { s.stop(t) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := c.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz did not answer 200 within 10s: %v\n%s", err, s.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *testServer) stop(t testing.TB) {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	if err := <-s.done; err != nil {
		t.Errorf("server: %v", err)
	}
	if t.Failed() {
		t.Logf("server log:\n%s", s.log)
	}
}

// cli runs one auditgraph command and returns its output.
func cli(t testing.TB, env map[string]string, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"auditgraph"}, args...), func(k string) string { return env[k] },
		strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

func addUser(t testing.TB, env map[string]string, name, role, password string) {
	t.Helper()
	if out, err := cli(t, env, password+"\n", "user", "add", name, "--role", role, "--password-stdin"); err != nil {
		t.Fatalf("user add %s: %v\n%s", name, err, out)
	}
}

// curl runs the real curl, as the seed's users do.
func curl(t testing.TB, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("curl", append([]string{"-sS", "--max-time", "30"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %v: %v", args, err)
	}
	return out
}

// token gets an access token with the seed's first curl command.
func token(t testing.TB, base, user, password string) string {
	t.Helper()
	out := curl(t, "-X", "POST", base+"/api/1.0/oauth2/access_token", "-d", "grant_type=password&username="+user+"&password="+password)
	var resp struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.AccessToken == "" {
		t.Fatalf("token for %s: %s", user, out)
	}
	return resp.AccessToken
}

// seedQuery is the seed's second curl command's body, with the range
// changed.
func seedQuery(start, end string) string {
	return `{"query":" { instrumentation { auditLogs { listAuditLogs( startDatetime: \"` + start +
		`\", endDatetime: \"` + end + `\", schemaVersion: \"1.0\") { logLocations  } } } }","variables":{}}`
}

// listLocations runs the seed's second curl command and returns the
// locations.
func listLocations(t testing.TB, base, tok, start, end string) []string {
	t.Helper()
	out := curl(t, "-H", "Authorization: Bearer "+tok, base+"/api/graphql",
		"-H", "Content-Type: application/json", "--data", seedQuery(start, end))
	var resp struct {
		Data struct {
			Instrumentation struct {
				AuditLogs struct {
					ListAuditLogs struct {
						LogLocations []string `json:"logLocations"`
					} `json:"listAuditLogs"`
				} `json:"auditLogs"`
			} `json:"instrumentation"`
		} `json:"data"`
		Errors []any `json:"errors"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.Errors) > 0 {
		t.Fatalf("listAuditLogs: %s", out)
	}
	locs := resp.Data.Instrumentation.AuditLogs.ListAuditLogs.LogLocations
	if locs == nil {
		t.Fatalf("listAuditLogs: no logLocations in %s", out)
	}
	return locs
}

// download fetches each location with `curl -o` and no header, and returns
// the lines of each file.
func download(t testing.TB, locations []string) [][]string {
	t.Helper()
	dir := t.TempDir()
	var files [][]string
	for i, loc := range locations {
		path := filepath.Join(dir, fmt.Sprintf("f%d.jsonl.gz", i))
		code := curl(t, "-o", path, "-w", "%{http_code}", loc)
		if string(code) != "200" {
			t.Fatalf("curl -o %s: status %s", loc, code)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, gunzipLines(t, b))
	}
	return files
}

// gunzipLines reads a log file: gzip-compressed JSON Lines, each line
// ended by a newline.
func gunzipLines(t testing.TB, gz []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatalf("want JSON Lines ending in a newline, got %q", b)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// post sends body to path with a bearer token and returns status and body.
func post(t testing.TB, url, tok, contentType, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// rec makes a compact schema 1.0 record stamped ts, with an unknown field
// that must come back as sent.
func rec(ts, action string, extra string) string {
	return `{"date":"` + ts + `","messageType":"system-event","schemaVersion":"1.0","timestamp":"` + ts +
		`","eventType":"designer-action","category":"access-management","action":"` + action +
		`","source":"designer-api","tags":{"k":[1,2.50,"x"]},"object":{"type":"designer-role","identifier":{"type":"name","value":"n"},` +
		`"attributes":{},"outcome":{"type":"success"},"actor":{"type":"user","identifier":{"type":"user-id","value":"u@example.com"},"attributes":{}},` +
		`"context":{"sessionId":"s-1","clientIp":"192.0.2.1"}},"custom":` + extra + `}`
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
