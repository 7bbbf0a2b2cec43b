package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/internal/pgtest"
	"github.com/auditgraph/auditgraph/logfile"
)

// newEnv gives a test its own database and the variables to reach it.
func newEnv(t testing.TB) map[string]string {
	return map[string]string{"DATABASE_URL": pgtest.URL(t)}
}

// TestSeedCurlFlow drives the seed's two curl commands over real HTTP and
// checks that the files downloaded with plain curl -o hold exactly the
// records of [start, end): the one stamped exactly endDatetime belongs to
// the next range.
func TestSeedCurlFlow(t *testing.T) {
	env := newEnv(t)
	addUser(t, env, "alice@example.com", "auditor", "correct horse battery")
	addUser(t, env, "ingest", "writer", "writer-password")
	srv := startServer(t, env)

	sent := []string{
		rec("2023-06-12T16:29:59.999Z", "before-start", `1`),
		rec("2023-06-12T16:30:00Z", "at-start", `{"b":2,"a":1}`),
		rec("2023-06-12T16:31:10.5Z", "inside", `"\u00e9 kept as sent"`),
		rec("2023-06-12T16:31:02Z", "inside-earlier", `1.50`),
		rec("2023-06-12T16:44:59.999999999Z", "last-instant", `null`),
		rec("2023-06-12T16:45:00Z", "at-end", `true`),
	}
	status, body := post(t, srv.URL+"/api/1.0/audit-events", token(t, srv.URL, "ingest", "writer-password"),
		"application/x-ndjson", strings.Join(sent, "\n")+"\n")
	if status != http.StatusOK || string(body) != `{"accepted":6}`+"\n" {
		t.Fatalf("ingest: got %d %s, want 200 {\"accepted\":6}", status, body)
	}

	tok := token(t, srv.URL, "alice@example.com", "correct horse battery")
	locs := listLocations(t, srv.URL, tok, "2023-06-12T16:30:00Z", "2023-06-12T16:45:00Z")
	for _, l := range locs {
		if !strings.HasPrefix(l, srv.URL+"/api/1.0/logs/") {
			t.Errorf("location %s is not an absolute URL under %s", l, srv.URL)
		}
	}
	files := download(t, locs)
	var got []string
	for _, f := range files {
		got = append(got, f...)
	}
	// Ordered by timestamp, exactly as sent, compact.
	want := []string{sent[1], sent[3], sent[2], sent[4]}
	if !slices.Equal(got, want) {
		t.Errorf("records of [16:30, 16:45):\ngot  %q\nwant %q", got, want)
	}
	if len(files) != 3 {
		t.Errorf("got %d files, want 3 (16:30, 16:31, 16:44)", len(files))
	}

	// The next range starts with the record stamped 16:45:00.
	next := download(t, listLocations(t, srv.URL, tok, "2023-06-12T16:45:00Z", "2023-06-12T17:45:00Z"))
	if len(next) != 1 || !slices.Equal(next[0], []string{sent[5]}) {
		t.Errorf("records of [16:45, 17:45): got %q, want %q", next, sent[5:])
	}
	// An empty range gives [].
	if got := listLocations(t, srv.URL, tok, "2023-06-12T18:00:00Z", "2023-06-12T18:30:00Z"); len(got) != 0 {
		t.Errorf("empty range: got %v, want []", got)
	}
}

// TestLateRecordGoesIntoFurtherFile: a record that arrives after its
// minute's file was written lands in a second file of that minute, and no
// record is in two files.
func TestLateRecordGoesIntoFurtherFile(t *testing.T) {
	env := newEnv(t)
	addUser(t, env, "root", "admin", "admin-password")
	srv := startServer(t, env)
	tok := token(t, srv.URL, "root", "admin-password")
	ingest := func(records ...string) {
		t.Helper()
		if status, body := post(t, srv.URL+"/api/1.0/audit-events", tok, "application/json", "["+strings.Join(records, ",")+"]"); status != http.StatusOK {
			t.Fatalf("ingest: %d %s", status, body)
		}
	}
	first := []string{rec("2024-01-01T10:05:01Z", "a", "1"), rec("2024-01-01T10:05:02Z", "b", "2")}
	ingest(first...)
	locs := listLocations(t, srv.URL, tok, "2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z")
	if len(locs) != 1 || !strings.HasSuffix(locs[0], "20240101T1005Z-1.jsonl.gz") {
		t.Fatalf("first listing: got %v, want one file 20240101T1005Z-1", locs)
	}
	late := rec("2024-01-01T10:05:00.5Z", "late", "3")
	ingest(late)
	locs = listLocations(t, srv.URL, tok, "2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z")
	if len(locs) != 2 || !strings.HasSuffix(locs[1], "20240101T1005Z-2.jsonl.gz") {
		t.Fatalf("second listing: got %v, want parts 1 and 2 of 10:05", locs)
	}
	files := download(t, locs)
	if !slices.Equal(files[0], first) {
		t.Errorf("part 1: got %q, want %q (unchanged)", files[0], first)
	}
	if !slices.Equal(files[1], []string{late}) {
		t.Errorf("part 2: got %q, want only the late record", files[1])
	}
}

// TestTokensSurviveRestartAndServers: a token from one server process works
// after a restart and on another process sharing the database.
func TestTokensSurviveRestartAndServers(t *testing.T) {
	env := newEnv(t)
	env["AUDITGRAPH_PUBLIC_URL"] = "https://audit.example.com"
	addUser(t, env, "alice", "auditor", "alice-password")
	a := startServer(t, env)
	tok := token(t, a.URL, "alice", "alice-password")
	a.stop(t)

	b := startServer(t, env)
	c := startServer(t, env)
	for _, s := range []*testServer{b, c} {
		status, body := post(t, s.URL+"/api/graphql", tok, "application/json", seedQuery("2023-06-12T16:30:00Z", "2023-06-12T16:45:00Z"))
		if status != http.StatusOK || strings.Contains(string(body), "errors") {
			t.Errorf("token of the first server on %s: got %d %s, want 200 without errors", s.URL, status, body)
		}
		if !strings.Contains(string(body), `"logLocations":[]`) {
			t.Errorf("got %s, want empty logLocations", body)
		}
	}
	// Locations are under the public URL.
	addUser(t, env, "w", "writer", "writer-password")
	wtok := token(t, b.URL, "w", "writer-password")
	post(t, b.URL+"/api/1.0/audit-events", wtok, "application/json", rec("2023-06-12T16:31:00Z", "x", "1"))
	_, body := post(t, c.URL+"/api/graphql", tok, "application/json", seedQuery("2023-06-12T16:30:00Z", "2023-06-12T16:45:00Z"))
	if !strings.Contains(string(body), `"https://audit.example.com/api/1.0/logs/sig.`) {
		t.Errorf("got %s, want locations under AUDITGRAPH_PUBLIC_URL", body)
	}
}

// TestDownloadAccess: a location downloads with no header while its
// signature is good; a bad or expired signature is 403; the bearer header
// works too.
func TestDownloadAccess(t *testing.T) {
	env := newEnv(t)
	addUser(t, env, "root", "admin", "admin-password")
	addUser(t, env, "w", "writer", "writer-password")
	srv := startServer(t, env)
	tok := token(t, srv.URL, "root", "admin-password")
	post(t, srv.URL+"/api/1.0/audit-events", tok, "application/json", rec("2023-06-12T16:31:00Z", "x", "1"))
	loc := listLocations(t, srv.URL, tok, "2023-06-12T16:30:00Z", "2023-06-12T16:45:00Z")[0]
	signed := strings.TrimPrefix(loc, srv.URL)
	path, sig := logfile.Split(signed)

	// An expired signature made with the service's own secret.
	secrets, err := testStore(t, env).URLSecrets(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	expired := logfile.NewSigner(secrets).Sign(path, time.Now().Add(-time.Second))
	tampered := strings.Replace(signed, sig, sig[:len(sig)-1]+flip(sig[len(sig)-1]), 1)
	otherFile := strings.Replace(signed, "-1.jsonl.gz", "-2.jsonl.gz", 1)

	cases := []struct {
		name   string
		path   string
		bearer string
		want   int
	}{
		{"signed, no header", signed, "", 200},
		{"expired signature", expired, "", 403},
		{"tampered signature", tampered, "", 403},
		{"signature of another file", otherFile, "", 403},
		{"unsigned, no header", path, "", 401},
		{"unsigned, bearer", path, tok, 200},
		{"expired signature, bearer", expired, tok, 200},
		{"unsigned, bearer without audit:read", path, token(t, srv.URL, "w", "writer-password"), 403},
		{"unsigned, no such file", strings.Replace(path, "1631Z", "1632Z", 1), tok, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+c.path, nil)
			if c.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+c.bearer)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("got %d, want %d", resp.StatusCode, c.want)
			}
			if c.want == 200 && resp.Header.Get("Content-Type") != "application/gzip" {
				t.Errorf("Content-Type %q, want application/gzip", resp.Header.Get("Content-Type"))
			}
			if c.want == 401 && resp.Header.Get("WWW-Authenticate") != `Bearer realm="auditgraph"` {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// TestGraphQLErrors: argument rules come back as BAD_USER_INPUT with no
// data for the field, through real HTTP, with inline literals and with
// variables; a caller without audit:read gets FORBIDDEN.
func TestGraphQLErrors(t *testing.T) {
	env := newEnv(t)
	addUser(t, env, "alice", "auditor", "alice-password")
	addUser(t, env, "w", "writer", "writer-password")
	srv := startServer(t, env)
	tok := token(t, srv.URL, "alice", "alice-password")

	type gqlResp struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	do := func(tok, body string) gqlResp {
		t.Helper()
		status, b := post(t, srv.URL+"/api/graphql", tok, "application/json", body)
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, b)
		}
		var r gqlResp
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		return r
	}

	r := do(tok, seedQuery("2023-06-12T16:30:30Z", "2023-06-12T17:45:00.000Z"))
	if string(r.Data) != "null" || len(r.Errors) != 2 {
		t.Fatalf("got data %s and %d errors, want null and 2 (seconds of start, fraction of end)", r.Data, len(r.Errors))
	}
	for _, e := range r.Errors {
		if e.Extensions["code"] != "BAD_USER_INPUT" {
			t.Errorf("code %v, want BAD_USER_INPUT", e.Extensions["code"])
		}
	}
	if !strings.Contains(r.Errors[0].Message, "startDatetime") {
		t.Errorf("message %q does not name startDatetime", r.Errors[0].Message)
	}

	vars := `{"query":"query L($s: String!, $e: String!, $v: String!) { instrumentation { auditLogs { listAuditLogs(startDatetime: $s, endDatetime: $e, schemaVersion: $v) { logLocations } } } }",` +
		`"variables":{"s":"2023-06-12T16:30:00+00:00","e":"2023-06-12T17:30:00+01:00","v":"2.0"},"operationName":"L"}`
	r = do(tok, vars)
	if len(r.Errors) != 2 || !strings.Contains(r.Errors[1].Message, "schemaVersion") || !strings.Contains(r.Errors[1].Message, "1.0") {
		t.Errorf("variables: got %+v, want an empty-range error and a schemaVersion error listing 1.0", r.Errors)
	}
	vars = strings.Replace(vars, `"2.0"`, `"1.0"`, 1)
	vars = strings.Replace(vars, "17:30:00+01:00", "17:31:00+01:00", 1)
	if r = do(tok, vars); len(r.Errors) != 0 || !strings.Contains(string(r.Data), `"logLocations":[]`) {
		t.Errorf("variables with offsets: got %s %+v, want an empty list", r.Data, r.Errors)
	}

	r = do(token(t, srv.URL, "w", "writer-password"), seedQuery("2023-06-12T16:30:00Z", "2023-06-12T16:45:00Z"))
	if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "FORBIDDEN" {
		t.Errorf("writer listing: got %+v, want one FORBIDDEN error", r.Errors)
	}
}

// TestBearerChallenges: RFC 6750 answers, decided before any GraphQL runs.
func TestBearerChallenges(t *testing.T) {
	env := newEnv(t)
	addUser(t, env, "alice", "auditor", "alice-password")
	srv := startServer(t, env)
	tok := token(t, srv.URL, "alice", "alice-password")
	parts := strings.Split(tok, ".")
	tamperedPayload := parts[0] + "." + parts[1][:len(parts[1])-2] + flip(parts[1][len(parts[1])-2]) + parts[1][len(parts[1])-1:] + "." + parts[2]

	cases := []struct {
		name, auth, challenge string
	}{
		{"no token", "", `Bearer realm="auditgraph"`},
		{"another scheme", "Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ=", `Bearer realm="auditgraph"`},
		{"garbage", "Bearer not-a-token", `Bearer error="invalid_token"`},
		{"tampered payload", "Bearer " + tamperedPayload, `Bearer error="invalid_token"`},
		{"expired", "Bearer " + expiredToken(t, env, srv.URL), `Bearer error="invalid_token", error_description="the access token has expired`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/graphql", strings.NewReader(seedQuery("2023-06-12T16:30:00Z", "2023-06-12T16:45:00Z")))
			req.Header.Set("Content-Type", "application/json")
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", resp.StatusCode)
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, c.challenge) {
				t.Errorf("WWW-Authenticate %q, want it to start with %q", got, c.challenge)
			}
			if _, ran := body["data"]; ran {
				t.Errorf("GraphQL ran: %v", body)
			}
		})
	}
}
