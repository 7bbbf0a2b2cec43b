package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clientFrom makes requests from the loopback address ip, so that a test
// can play several client addresses.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

type tokenAnswer struct {
	status     int
	retryAfter string
	body       map[string]any
}

func requestToken(t testing.TB, c *http.Client, base, user, password string) tokenAnswer {
	t.Helper()
	resp, err := c.PostForm(base+"/api/1.0/oauth2/access_token", url.Values{"grant_type": {"password"}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := tokenAnswer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	json.NewDecoder(resp.Body).Decode(&a.body)
	return a
}

// TestBruteForce: a guessing run against one account, and one address
// spraying many accounts, are slowed down with 429 and Retry-After, while
// another user, elsewhere, logs in normally; a throttled account's right
// password still fails until its delay has passed.
func TestBruteForce(t *testing.T) {
	env := newEnv(t)
	env["AUDITGRAPH_LOGIN_ACCOUNT_THRESHOLD"] = "3"
	env["AUDITGRAPH_LOGIN_ADDRESS_THRESHOLD"] = "6"
	env["AUDITGRAPH_LOGIN_DELAY"] = "1s"
	env["AUDITGRAPH_ADDRESS_DELAY"] = "30s"
	addUser(t, env, "victim", "auditor", "victim-password")
	addUser(t, env, "alice", "auditor", "alice-password")
	srv := startServer(t, env)
	guesser, sprayer, alice := clientFrom("127.0.0.2"), clientFrom("127.0.0.3"), clientFrom("127.0.0.4")

	for i := 1; i <= 3; i++ {
		if a := requestToken(t, guesser, srv.URL, "victim", fmt.Sprintf("guess-%d", i)); a.status != 400 || a.body["error"] != "invalid_grant" {
			t.Fatalf("guess %d: got %d %v, want 400 invalid_grant", i, a.status, a.body)
		}
	}
	a := requestToken(t, guesser, srv.URL, "victim", "victim-password")
	if a.status != http.StatusTooManyRequests || a.retryAfter == "" || a.body["error"] != "temporarily_unavailable" {
		t.Fatalf("right password while throttled: got %d Retry-After %q %v, want 429 with Retry-After", a.status, a.retryAfter, a.body)
	}
	if a := requestToken(t, alice, srv.URL, "alice", "alice-password"); a.status != 200 {
		t.Errorf("another user during the guessing run: got %d %v, want 200", a.status, a.body)
	}

	for i := 0; i < 6; i++ {
		a := requestToken(t, sprayer, srv.URL, fmt.Sprintf("user%d", i), "Summer2026!")
		if a.status != 400 {
			t.Fatalf("spray %d: got %d %v, want 400", i, a.status, a.body)
		}
	}
	a = requestToken(t, sprayer, srv.URL, "someone-else", "Summer2026!")
	if secs, _ := strconv.Atoi(a.retryAfter); a.status != http.StatusTooManyRequests || secs < 20 {
		t.Fatalf("spraying address: got %d Retry-After %q, want 429 with about 30s", a.status, a.retryAfter)
	}
	if a := requestToken(t, sprayer, srv.URL, "alice", "alice-password"); a.status != http.StatusTooManyRequests {
		t.Errorf("the spraying address, even with a right password: got %d, want 429", a.status)
	}
	if a := requestToken(t, alice, srv.URL, "alice", "alice-password"); a.status != 200 {
		t.Errorf("another user during the spraying: got %d %v, want 200", a.status, a.body)
	}

	// The account's delay (1s) passes; the right password works again.
	waitFor(t, 5*time.Second, "the account's delay to pass", func() bool {
		a := requestToken(t, guesser, srv.URL, "victim", "victim-password")
		if a.status != http.StatusOK && a.status != http.StatusTooManyRequests {
			t.Fatalf("after the delay: got %d %v, want 200", a.status, a.body)
		}
		return a.status == http.StatusOK
	})
}

// graphqlStatus posts the seed's query with tok and returns the status and
// the WWW-Authenticate header.
func graphqlStatus(t testing.TB, base, tok string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/graphql", strings.NewReader(seedQuery("2023-06-12T16:30:00Z", "2023-06-12T16:45:00Z")))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

// TestUserAdministration: disabling, a new password and deleting end a
// user's tokens at once; the password-grant switch turns the endpoint off.
func TestUserAdministration(t *testing.T) {
	env := newEnv(t)
	addUser(t, env, "alice", "auditor", "alice-password")
	srv := startServer(t, env)
	tok := token(t, srv.URL, "alice", "alice-password")
	if status, _ := graphqlStatus(t, srv.URL, tok); status != 200 {
		t.Fatalf("before: %d", status)
	}
	steps := []struct {
		args  []string
		stdin string
		want  int
		grant bool // whether a new token can be had afterwards
	}{
		{[]string{"user", "disable", "alice"}, "", 401, false},
		{[]string{"user", "enable", "alice"}, "", 401, true}, // the old token stays ended
		{[]string{"user", "passwd", "alice", "--password-stdin"}, "new-alice-password", 401, false},
		{[]string{"user", "delete", "alice"}, "", 401, false},
	}
	for _, s := range steps {
		if out, err := cli(t, env, s.stdin, s.args...); err != nil {
			t.Fatalf("%v: %v %s", s.args, err, out)
		}
		status, challenge := graphqlStatus(t, srv.URL, tok)
		if status != s.want || !strings.HasPrefix(challenge, `Bearer error="invalid_token"`) {
			t.Errorf("after %v: got %d %q, want %d invalid_token", s.args, status, challenge, s.want)
		}
		if a := requestToken(t, http.DefaultClient, srv.URL, "alice", "alice-password"); (a.status == 200) != s.grant {
			t.Errorf("after %v: a new token with the old password: %d", s.args, a.status)
		}
		if s.args[1] == "passwd" {
			tok = token(t, srv.URL, "alice", "new-alice-password")
			if status, _ := graphqlStatus(t, srv.URL, tok); status != 200 {
				t.Errorf("a token with the new password: %d", status)
			}
		}
	}
	out, _ := cli(t, env, "", "user", "list")
	if strings.Contains(out, "alice") {
		t.Errorf("user list after delete: %s", out)
	}

	addUser(t, env, "bob", "auditor", "bob-password")
	if out, err := cli(t, env, "", "settings", "set", "password-grant", "off"); err != nil || !strings.Contains(out, "was on, is off") {
		t.Fatalf("settings set: %v %s", err, out)
	}
	if a := requestToken(t, http.DefaultClient, srv.URL, "bob", "bob-password"); a.status != 400 || a.body["error"] != "unauthorized_client" {
		t.Errorf("grant off: got %d %v, want 400 unauthorized_client", a.status, a.body)
	}
	cli(t, env, "", "settings", "set", "password-grant", "on")
	if a := requestToken(t, http.DefaultClient, srv.URL, "bob", "bob-password"); a.status != 200 {
		t.Errorf("grant on again: got %d %v", a.status, a.body)
	}
}

// TestRevocationIntrospectionKeys: a revoked token is refused at once;
// introspection answers admins only; after a key rotation old and new
// tokens both work, and the metadata lists what the server offers.
func TestRevocationIntrospectionKeys(t *testing.T) {
	t.Parallel() // waits for servers to pick up a rotated key
	env := newEnv(t)
	addUser(t, env, "root", "admin", "root-password")
	addUser(t, env, "alice", "auditor", "alice-password")
	srv := startServer(t, env)
	admin := token(t, srv.URL, "root", "root-password")
	tok := token(t, srv.URL, "alice", "alice-password")

	introspect := func(bearer, target string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/1.0/oauth2/introspect", strings.NewReader(url.Values{"token": {target}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if status, body := introspect(admin, tok); status != 200 || body["active"] != true || body["sub"] != "alice" || body["scope"] != "audit:read" {
		t.Errorf("introspection by an admin: %d %v", status, body)
	}
	if status, _ := introspect(tok, admin); status != http.StatusForbidden {
		t.Errorf("introspection by an auditor: got %d, want 403", status)
	}

	resp, err := http.PostForm(srv.URL+"/api/1.0/oauth2/revoke", url.Values{"token": {tok}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("revoke: %v %v", err, resp)
	}
	if status, _ := graphqlStatus(t, srv.URL, tok); status != 401 {
		t.Errorf("a revoked token: got %d, want 401", status)
	}
	if _, body := introspect(admin, tok); body["active"] != false {
		t.Errorf("introspection of a revoked token: %v, want active false", body)
	}
	if resp, _ := http.PostForm(srv.URL+"/api/1.0/oauth2/revoke", url.Values{"token": {"garbage"}}); resp.StatusCode != 200 {
		t.Errorf("revoking garbage: got %d, want 200 (RFC 7009)", resp.StatusCode)
	}

	before := token(t, srv.URL, "alice", "alice-password")
	out, err := cli(t, env, "", "keys", "rotate")
	if err != nil {
		t.Fatalf("keys rotate: %v %s", err, out)
	}
	newKID := strings.TrimSpace(strings.TrimPrefix(out, "keys rotate: the new key is "))
	// Servers sign with the new key once they reload their keys, within
	// seconds; the old token keeps working meanwhile.
	var after string
	waitFor(t, 15*time.Second, "tokens signed with the new key", func() bool {
		after = token(t, srv.URL, "alice", "alice-password")
		return headerKID(t, after) == newKID
	})
	for name, tk := range map[string]string{"before rotation": before, "after rotation": after} {
		if status, _ := graphqlStatus(t, srv.URL, tk); status != 200 {
			t.Errorf("token %s: %d", name, status)
		}
	}
	var jwks struct{ Keys []struct{ KID string } }
	getJSON(t, srv.URL+"/.well-known/jwks.json", &jwks)
	if len(jwks.Keys) != 2 {
		t.Errorf("jwks after rotation: %v, want the old and the new key", jwks)
	}
	var meta map[string]any
	getJSON(t, srv.URL+"/.well-known/oauth-authorization-server", &meta)
	if meta["issuer"] != srv.URL || !strings.Contains(fmt.Sprint(meta["grant_types_supported"]), "password") ||
		!strings.Contains(fmt.Sprint(meta["token_endpoint_auth_methods_supported"]), "none") {
		t.Errorf("metadata: %v", meta)
	}
}

func headerKID(t testing.TB, tok string) string {
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ KID string }
	json.Unmarshal(b, &h)
	return h.KID
}

func getJSON(t testing.TB, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
}

// TestSelfAudit: a failed login and a listAuditLogs call come back as
// schema 1.0 records through listAuditLogs itself, with actor, address,
// user agent and session; no password is in any record.
func TestSelfAudit(t *testing.T) {
	t.Parallel() // waits for the current minute to end
	env := newEnv(t)
	addUser(t, env, "alice", "auditor", "alice-password")
	srv := startServer(t, env)
	start := time.Now().UTC().Truncate(time.Minute)
	requestToken(t, http.DefaultClient, srv.URL, "alice", "wrong-secret-guess")
	tok := token(t, srv.URL, "alice", "alice-password")
	listLocations(t, srv.URL, tok, "2023-06-12T16:30:00Z", "2023-06-12T16:45:00Z")

	// The records are stamped now: list this minute and the next.
	var lines []string
	end := start.Add(2 * time.Minute)
	// Files are written once a minute has ended: wait for this one.
	waitFor(t, 3*time.Minute, "the self-audit records to come back", func() bool {
		if !time.Now().After(start.Add(time.Minute)) {
			return false
		}
		lines = nil
		for _, f := range download(t, listLocations(t, srv.URL, tok, start.Format(time.RFC3339), end.Format(time.RFC3339))) {
			lines = append(lines, f...)
		}
		return strings.Contains(strings.Join(lines, "\n"), `"list-audit-logs"`)
	})
	all := strings.Join(lines, "\n")
	if strings.Contains(all, "wrong-secret-guess") || strings.Contains(all, "alice-password") {
		t.Fatal("a password is in the audit records")
	}
	var failed, listed map[string]any
	for _, l := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		o := r["object"].(map[string]any)
		outcome := o["outcome"].(map[string]any)
		switch {
		case r["action"] == "access-token-request" && outcome["type"] == "failure":
			failed = r
		case r["action"] == "list-audit-logs" && listed == nil:
			listed = r
		}
	}
	if failed == nil || listed == nil {
		t.Fatalf("want a failed token request and a list-audit-logs record, got %q", lines)
	}
	fo := failed["object"].(map[string]any)
	if fo["outcome"].(map[string]any)["reason"] != "authentication" || fo["actor"].(map[string]any)["identifier"].(map[string]any)["value"] != "alice" {
		t.Errorf("failed login record: %v", failed)
	}
	lo := listed["object"].(map[string]any)
	ctx := lo["context"].(map[string]any)
	if ctx["clientIp"] != "127.0.0.1" || ctx["userAgent"] == "" || ctx["sessionId"] == "" || ctx["protocol"] != "http" || ctx["host"] == "" {
		t.Errorf("list-audit-logs record context: %v", ctx)
	}
	if lo["actor"].(map[string]any)["identifier"].(map[string]any)["value"] != "alice" {
		t.Errorf("list-audit-logs actor: %v", lo["actor"])
	}
}

// TestLimits: bodies, query depth and aliases are capped with clear
// errors, field suggestions are off, and HTTPS is served when configured.
func TestLimits(t *testing.T) {
	env := newEnv(t)
	addUser(t, env, "alice", "auditor", "alice-password")
	cert, key := selfSigned(t)
	env["AUDITGRAPH_TLS_CERT"], env["AUDITGRAPH_TLS_KEY"] = cert, key
	srv := startServerTLS(t, env)
	c := srv.client

	resp, err := c.PostForm(srv.URL+"/api/1.0/oauth2/access_token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alice-password"}})
	if err != nil {
		t.Fatal(err)
	}
	var tk struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tk)
	resp.Body.Close()
	if tk.AccessToken == "" {
		t.Fatalf("no token over HTTPS: %d", resp.StatusCode)
	}
	gql := func(body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tk.AccessToken)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, _ := gql(`{"query":"` + strings.Repeat(" ", 2<<20) + `{ __typename }"}`); status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 2 MiB query: got %d, want 413", status)
	}
	deep := `{"query":"{ __schema { types { fields { type ` + strings.Repeat("{ ofType ", 14) + "{ name }" + strings.Repeat(" }", 14) + ` } } } }"}`
	if _, body := gql(deep); !strings.Contains(body, "QUERY_TOO_COMPLEX") || !strings.Contains(body, "deep") {
		t.Errorf("a deep query: %s", body)
	}
	var aliases []string
	for i := 0; i < 40; i++ {
		aliases = append(aliases, fmt.Sprintf("a%d: __typename", i))
	}
	if _, body := gql(`{"query":"{ ` + strings.Join(aliases, " ") + ` }"}`); !strings.Contains(body, "aliases") {
		t.Errorf("40 aliases: %s", body)
	}
	if _, body := gql(`{"query":"{ instrumentaton { auditLogs { __typename } } }"}`); strings.Contains(body, "Did you mean") {
		t.Errorf("field suggestions are on: %s", body)
	}
	if status, body := gql(`{"query":"{ __schema { queryType { name } } }"}`); status != 200 || !strings.Contains(body, `"Query"`) {
		t.Errorf("introspection for an authenticated caller: %d %s", status, body)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t testing.TB) (certFile, keyFile string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

type tlsServer struct {
	*testServer
	client *http.Client
}

// startServerTLS starts a server with HTTPS and a client that trusts it.
func startServerTLS(t *testing.T, env map[string]string) tlsServer {
	pool := x509.NewCertPool()
	b, _ := os.ReadFile(env["AUDITGRAPH_TLS_CERT"])
	pool.AppendCertsFromPEM(b)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return tlsServer{startServerWith(t, env, c), c}
}
