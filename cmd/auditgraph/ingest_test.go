package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/auth"
	"github.com/auditgraph/auditgraph/store"
)

// testStore opens the test's database directly, closed when the test ends.
func testStore(t testing.TB, env map[string]string) *store.Store {
	t.Helper()
	pool, err := store.Open(context.Background(), env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return store.New(pool)
}

// expiredToken signs, with the server's own key, a token that expired an
// hour ago.
func expiredToken(t testing.TB, env map[string]string, issuer string) string {
	t.Helper()
	tokens, err := auth.NewTokens(context.Background(), testStore(t, env), issuer, issuer+"/api")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokens.Issue("alice", auth.PublicClientID, auth.ScopeRead, time.Now().Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// countRecords counts the records of 2023-06-12 16:00 to 17:00, where the
// tests put theirs (the service's own audit records are stamped now).
func countRecords(t testing.TB, env map[string]string) int64 {
	t.Helper()
	from := time.Date(2023, 6, 12, 16, 0, 0, 0, time.UTC)
	n, err := testStore(t, env).CountRecords(context.Background(), from, from.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIngest: the three body forms are accepted and committed before the
// answer; a batch with a bad record is refused whole, naming each bad
// record's position and field; roles are enforced.
func TestIngest(t *testing.T) {
	env := newEnv(t)
	addUser(t, env, "w", "writer", "writer-password")
	addUser(t, env, "a", "auditor", "auditor-password")
	srv := startServer(t, env)
	url := srv.URL + "/api/1.0/audit-events"
	tok := token(t, srv.URL, "w", "writer-password")
	r1, r2 := rec("2023-06-12T16:31:00Z", "one", "1"), rec("2023-06-12T16:32:00Z", "two", "2")

	accepted := []struct{ name, contentType, body string }{
		{"JSON Lines", "application/x-ndjson", r1 + "\n\n" + r2 + "\n"},
		{"JSON array", "application/json", "[" + r1 + ",\n" + r2 + "]"},
		{"one object", "application/json", r1},
	}
	var total int64
	for _, c := range accepted {
		status, body := post(t, url, tok, c.contentType, c.body)
		n := strings.Count(c.body, `"schemaVersion"`)
		total += int64(n)
		var got struct{ Accepted int }
		json.Unmarshal(body, &got)
		if status != http.StatusOK || got.Accepted != n {
			t.Errorf("%s: got %d %s, want 200 accepted %d", c.name, status, body, n)
		}
		if have := countRecords(t, env); have != total {
			t.Errorf("%s: %d records stored after the answer, want %d", c.name, have, total)
		}
	}

	bad := strings.Replace(r2, `"action":"two",`, "", 1)
	bad2 := strings.Replace(r1, `"outcome":{"type":"success"}`, `"outcome":{"type":"maybe"}`, 1)
	status, body := post(t, url, tok, "application/x-ndjson", r1+"\n"+bad+"\n"+r1+"\n"+bad2+"\n")
	var refusal struct {
		Error    string
		Problems []struct {
			Position int
			Line     int
			Field    string
			Message  string
		}
	}
	json.Unmarshal(body, &refusal)
	if status != http.StatusBadRequest || refusal.Error != "invalid_batch" || len(refusal.Problems) != 2 {
		t.Fatalf("bad batch: got %d %s, want 400 invalid_batch with 2 problems", status, body)
	}
	if p := refusal.Problems[0]; p.Position != 2 || p.Field != "action" {
		t.Errorf("first problem %+v, want position 2 field action", p)
	}
	if p := refusal.Problems[1]; p.Position != 4 || p.Field != "object.outcome.type" {
		t.Errorf("second problem %+v, want position 4 field object.outcome.type", p)
	}
	if have := countRecords(t, env); have != total {
		t.Errorf("after the refused batch %d records stored, want %d: nothing of it may be stored", have, total)
	}

	if status, _ := post(t, url, token(t, srv.URL, "a", "auditor-password"), "application/json", r1); status != http.StatusForbidden {
		t.Errorf("auditor: got %d, want 403", status)
	}
	if status, _ := post(t, url, "", "application/json", r1); status != http.StatusUnauthorized {
		t.Errorf("no token: got %d, want 401", status)
	}
	if status, body := post(t, url, tok, "application/json", `{"schemaVersion":`); status != http.StatusBadRequest || !strings.Contains(string(body), "not valid JSON") {
		t.Errorf("malformed JSON: got %d %s, want 400 saying it is not valid JSON", status, body)
	}
}

// TestTokenEndpointOverHTTP: the seed's token request works with no client
// id; a wrong password and an unknown user get the same bytes.
func TestTokenEndpointOverHTTP(t *testing.T) {
	env := newEnv(t)
	addUser(t, env, "alice", "auditor", "alice-password")
	srv := startServer(t, env)
	endpoint := srv.URL + "/api/1.0/oauth2/access_token"
	out := curl(t, "-i", "-X", "POST", endpoint, "-d", "grant_type=password&username=alice&password=alice-password")
	head, body, _ := strings.Cut(string(out), "\r\n\r\n")
	for _, h := range []string{"HTTP/1.1 200", "Cache-Control: no-store", "Pragma: no-cache", "Content-Type: application/json"} {
		if !strings.Contains(head, h) {
			t.Errorf("response head lacks %q:\n%s", h, head)
		}
	}
	var ok map[string]any
	if err := json.Unmarshal([]byte(body), &ok); err != nil {
		t.Fatal(err)
	}
	if ok["token_type"] != "Bearer" || ok["expires_in"] != float64(3600) || ok["scope"] != "audit:read" || ok["access_token"] == "" {
		t.Errorf("token response %v", ok)
	}
	wrong := curl(t, "-X", "POST", endpoint, "-d", "grant_type=password&username=alice&password=nope")
	unknown := curl(t, "-X", "POST", endpoint, "-d", "grant_type=password&username=mallory&password=nope")
	if string(wrong) != string(unknown) || !strings.Contains(string(wrong), `"error":"invalid_grant"`) {
		t.Errorf("wrong password %s and unknown user %s: want the same invalid_grant bytes", wrong, unknown)
	}
	code := curl(t, "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", endpoint+"?grant_type=password&username=alice&password=alice-password", "-d", "")
	if string(code) != "400" {
		t.Errorf("parameters in the query: got %s, want 400", code)
	}
}

// TestCommands: --help of every command, and the checks of user add and
// migrate.
func TestCommands(t *testing.T) {
	env := newEnv(t)
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"dev", "--help"}, {"migrate", "--help"}, {"user", "add", "--help"}} {
		out, err := cli(t, env, "", args...)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: got %v %q, want usage and success", args, err, out)
		}
	}
	out, _ := cli(t, env, "", "serve", "--help")
	for _, v := range []string{"DATABASE_URL", "AUDITGRAPH_LISTEN", "AUDITGRAPH_PUBLIC_URL"} {
		if !strings.Contains(out, v) {
			t.Errorf("serve --help does not name %s:\n%s", v, out)
		}
	}
	if strings.Contains(out, env["DATABASE_URL"]) {
		t.Errorf("serve --help prints the value of DATABASE_URL")
	}

	out, err := cli(t, env, "", "migrate")
	if err != nil || !strings.Contains(out, "up to date") {
		t.Errorf("migrate on a migrated database: got %v %q, want up to date", err, out)
	}
	out, err = cli(t, env, "", "migrate")
	if err != nil {
		t.Errorf("migrate twice: %v %q", err, out)
	}

	addUser(t, env, "bob", "writer", "bob-password")
	failures := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"bob-password", []string{"user", "add", "bob", "--role", "writer", "--password-stdin"}, "exists already"},
		{"pw-long-enough", []string{"user", "add", "carol", "--role", "root", "--password-stdin"}, "auditor, writer, admin"},
		{"pw-long-enough", []string{"user", "add", "carol", "--role", "auditor"}, "--password-stdin"},
		{"short", []string{"user", "add", "carol", "--role", "auditor", "--password-stdin"}, "8 to 1024"},
		{"pw-long-enough", []string{"user", "add", "car ol", "--role", "auditor", "--password-stdin"}, "may hold only"},
		{"pw-long-enough", []string{"user", "add", "--role", "auditor", "--password-stdin"}, "exactly one user NAME"},
	}
	for _, f := range failures {
		out, err := cli(t, env, f.stdin, f.args...)
		if err == nil || !strings.Contains(out+err.Error(), f.want) {
			t.Errorf("%v: got %v %q, want an error saying %q", f.args, err, out, f.want)
		}
	}
	if _, err := cli(t, map[string]string{}, "", "serve"); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("serve without DATABASE_URL: got %v, want an error naming DATABASE_URL", err)
	}
}
