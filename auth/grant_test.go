package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/auditgraph/auditgraph/store"
)

// tokenEnv is a token endpoint over a real database with four users.
type tokenEnv struct {
	store  *store.Store
	tokens *Tokens
	srv    *httptest.Server
}

const (
	auditorName, auditorPassword = "alice", "alice-password"
	adminName, adminPassword     = "root", "root password with spaces & symbols=+%"
	writerName, writerPassword   = "wendy", "wendy-pw"
	disabledName, disabledPass   = "dora", "dora-pw"
)

func newTokenEnv(t *testing.T) *tokenEnv {
	t.Helper()
	st, pool := newStore(t)
	h := fastHasher()
	createUser(t, st, h, auditorName, "auditor", auditorPassword)
	createUser(t, st, h, adminName, "admin", adminPassword)
	createUser(t, st, h, writerName, "writer", writerPassword)
	createUser(t, st, h, disabledName, "auditor", disabledPass)
	if _, err := pool.Exec(context.Background(), "UPDATE users SET disabled = true WHERE name = $1", disabledName); err != nil {
		t.Fatal(err)
	}
	tokens := newTokens(t, st)
	srv := httptest.NewServer(NewTokenEndpoint(st, h, tokens, quietLog))
	t.Cleanup(srv.Close)
	return &tokenEnv{store: st, tokens: tokens, srv: srv}
}

// tokenRequest is one request to the endpoint; the zero value of each
// field means the usual: POST, form content type, no query, no Basic.
type tokenRequest struct {
	method      string
	query       string
	contentType string
	body        string
	basic       *[2]string
}

func form(kv ...string) string {
	var b strings.Builder
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
	}
	return b.String()
}

func password(user, pw string, more ...string) string {
	return form(append([]string{"grant_type", "password", "username", user, "password", pw}, more...)...)
}

func (e *tokenEnv) do(t *testing.T, tr tokenRequest) (*http.Response, []byte) {
	t.Helper()
	method := tr.method
	if method == "" {
		method = http.MethodPost
	}
	target := e.srv.URL + "/api/1.0/oauth2/access_token"
	if tr.query != "" {
		target += "?" + tr.query
	}
	req, err := http.NewRequest(method, target, strings.NewReader(tr.body))
	if err != nil {
		t.Fatal(err)
	}
	ct := tr.contentType
	if ct == "" {
		ct = "application/x-www-form-urlencoded"
	}
	req.Header.Set("Content-Type", ct)
	if tr.basic != nil {
		req.SetBasicAuth(tr.basic[0], tr.basic[1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// rfc6749Errors are the error codes of RFC 6749 section 5.2.
var rfc6749Errors = []string{"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope"}

func TestTokenEndpoint(t *testing.T) {
	env := newTokenEnv(t)
	for _, tc := range []struct {
		name       string
		req        tokenRequest
		status     int
		error      string // "" for success
		subject    string // success: the token's subject
		scope      string // success: the granted scope
		wwwAuthOK  bool   // a WWW-Authenticate header is required
		noJSONBody bool
	}{
		{name: "auditor", req: tokenRequest{body: password(auditorName, auditorPassword)},
			status: 200, subject: auditorName, scope: "audit:read"},
		{name: "admin", req: tokenRequest{body: password(adminName, adminPassword)},
			status: 200, subject: adminName, scope: "admin audit:read audit:write"},
		{name: "writer", req: tokenRequest{body: password(writerName, writerPassword)},
			status: 200, subject: writerName, scope: "audit:write"},
		{name: "client_id in the form", req: tokenRequest{body: password(auditorName, auditorPassword, "client_id", "auditgraph")},
			status: 200, subject: auditorName, scope: "audit:read"},
		{name: "client_id and empty client_secret in the form", req: tokenRequest{body: password(auditorName, auditorPassword, "client_id", "auditgraph", "client_secret", "")},
			status: 200, subject: auditorName, scope: "audit:read"},
		{name: "HTTP Basic public client", req: tokenRequest{body: password(auditorName, auditorPassword), basic: &[2]string{"auditgraph", ""}},
			status: 200, subject: auditorName, scope: "audit:read"},
		{name: "content type with charset", req: tokenRequest{body: password(auditorName, auditorPassword), contentType: "application/x-www-form-urlencoded; charset=UTF-8"},
			status: 200, subject: auditorName, scope: "audit:read"},
		{name: "grant type first or last alike", req: tokenRequest{body: form("password", auditorPassword, "username", auditorName, "grant_type", "password")},
			status: 200, subject: auditorName, scope: "audit:read"},
		{name: "admin asks for audit:read", req: tokenRequest{body: password(adminName, adminPassword, "scope", "audit:read")},
			status: 200, subject: adminName, scope: "audit:read"},
		{name: "admin asks for two scopes", req: tokenRequest{body: password(adminName, adminPassword, "scope", "audit:write audit:read")},
			status: 200, subject: adminName, scope: "audit:read audit:write"},
		{name: "empty scope is all of the role's", req: tokenRequest{body: password(adminName, adminPassword, "scope", "")},
			status: 200, subject: adminName, scope: "admin audit:read audit:write"},
		{name: "auditor asks for audit:write", req: tokenRequest{body: password(auditorName, auditorPassword, "scope", "audit:write")},
			status: 400, error: "invalid_scope"},
		{name: "auditor asks for an unknown scope", req: tokenRequest{body: password(auditorName, auditorPassword, "scope", "audit:read openid")},
			status: 400, error: "invalid_scope"},

		{name: "empty body", req: tokenRequest{},
			status: 400, error: "invalid_request"},
		{name: "missing grant_type", req: tokenRequest{body: form("username", auditorName, "password", auditorPassword)},
			status: 400, error: "invalid_request"},
		{name: "empty grant_type", req: tokenRequest{body: form("grant_type", "", "username", auditorName, "password", auditorPassword)},
			status: 400, error: "invalid_request"},
		{name: "missing username", req: tokenRequest{body: form("grant_type", "password", "password", auditorPassword)},
			status: 400, error: "invalid_request"},
		{name: "empty username", req: tokenRequest{body: form("grant_type", "password", "username", "", "password", auditorPassword)},
			status: 400, error: "invalid_request"},
		{name: "missing password", req: tokenRequest{body: form("grant_type", "password", "username", auditorName)},
			status: 400, error: "invalid_request"},
		{name: "empty password", req: tokenRequest{body: form("grant_type", "password", "username", auditorName, "password", "")},
			status: 400, error: "invalid_request"},
		{name: "repeated username", req: tokenRequest{body: "grant_type=password&username=a&username=b&password=x"},
			status: 400, error: "invalid_request"},
		{name: "repeated username, same value", req: tokenRequest{body: password(auditorName, auditorPassword, "username", auditorName)},
			status: 400, error: "invalid_request"},
		{name: "repeated grant_type", req: tokenRequest{body: password(auditorName, auditorPassword, "grant_type", "password")},
			status: 400, error: "invalid_request"},
		{name: "repeated scope", req: tokenRequest{body: password(adminName, adminPassword, "scope", "audit:read", "scope", "admin")},
			status: 400, error: "invalid_request"},
		{name: "parameters in the query only", req: tokenRequest{query: password(auditorName, auditorPassword)},
			status: 400, error: "invalid_request"},
		{name: "password in the query only", req: tokenRequest{query: form("password", auditorPassword), body: form("grant_type", "password", "username", auditorName)},
			status: 400, error: "invalid_request"},
		{name: "JSON body", req: tokenRequest{contentType: "application/json",
			body: `{"grant_type":"password","username":"alice","password":"alice-password"}`},
			status: 400, error: "invalid_request"},
		{name: "multipart body", req: tokenRequest{contentType: "multipart/form-data; boundary=x",
			body: "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\npassword\r\n--x--\r\n"},
			status: 400, error: "invalid_request"},
		{name: "malformed percent-encoding", req: tokenRequest{body: "username=%zz"},
			status: 400, error: "invalid_request"},
		{name: "malformed percent-encoding after valid parameters", req: tokenRequest{body: password(auditorName, auditorPassword) + "&x=%"},
			status: 400, error: "invalid_request"},
		{name: "semicolon separator", req: tokenRequest{body: "grant_type=password;username=alice&password=alice-password"},
			status: 400, error: "invalid_request"},
		{name: "PUT", req: tokenRequest{method: http.MethodPut, body: password(auditorName, auditorPassword)},
			status: 400, error: "invalid_request"},
		{name: "client credentials in Basic and the form", req: tokenRequest{body: password(auditorName, auditorPassword, "client_id", "auditgraph"), basic: &[2]string{"auditgraph", ""}},
			status: 400, error: "invalid_request"},

		{name: "client_credentials", req: tokenRequest{body: form("grant_type", "client_credentials")},
			status: 400, error: "unsupported_grant_type"},
		{name: "client_credentials with user", req: tokenRequest{body: form("grant_type", "client_credentials", "username", auditorName, "password", auditorPassword)},
			status: 400, error: "unsupported_grant_type"},
		{name: "authorization_code", req: tokenRequest{body: form("grant_type", "authorization_code", "code", "abc", "redirect_uri", "https://x.test/cb")},
			status: 400, error: "unsupported_grant_type"},
		{name: "refresh_token", req: tokenRequest{body: form("grant_type", "refresh_token", "refresh_token", "abc")},
			status: 400, error: "unsupported_grant_type"},
		{name: "PASSWORD", req: tokenRequest{body: form("grant_type", "PASSWORD", "username", auditorName, "password", auditorPassword)},
			status: 400, error: "unsupported_grant_type"},

		{name: "wrong password", req: tokenRequest{body: password(auditorName, "wrong")},
			status: 400, error: "invalid_grant"},
		{name: "unknown user", req: tokenRequest{body: password("nobody", auditorPassword)},
			status: 400, error: "invalid_grant"},
		{name: "user name in other case", req: tokenRequest{body: password("ALICE", auditorPassword)},
			status: 400, error: "invalid_grant"},
		{name: "another user's password", req: tokenRequest{body: password(auditorName, adminPassword)},
			status: 400, error: "invalid_grant"},
		{name: "disabled user", req: tokenRequest{body: password(disabledName, disabledPass)},
			status: 400, error: "invalid_grant"},

		{name: "unknown client_id", req: tokenRequest{body: password(auditorName, auditorPassword, "client_id", "someone-else")},
			status: 401, error: "invalid_client"},
		{name: "public client with a secret", req: tokenRequest{body: password(auditorName, auditorPassword, "client_id", "auditgraph", "client_secret", "s3cret")},
			status: 401, error: "invalid_client"},
		{name: "client_secret without client_id", req: tokenRequest{body: password(auditorName, auditorPassword, "client_secret", "s3cret")},
			status: 401, error: "invalid_client"},
		{name: "HTTP Basic unknown client", req: tokenRequest{body: password(auditorName, auditorPassword), basic: &[2]string{"someone-else", "pw"}},
			status: 401, error: "invalid_client", wwwAuthOK: true},
		{name: "HTTP Basic public client with a secret", req: tokenRequest{body: password(auditorName, auditorPassword), basic: &[2]string{"auditgraph", "s3cret"}},
			status: 401, error: "invalid_client", wwwAuthOK: true},

		{name: "body over 16 KiB", req: tokenRequest{body: password(auditorName, auditorPassword, "pad", strings.Repeat("a", MaxTokenRequest))},
			status: 413, error: "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := env.do(t, tc.req)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			if p := resp.Header.Get("Pragma"); p != "no-cache" {
				t.Errorf("Pragma %q, want no-cache", p)
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body %q is not a JSON object: %v", body, err)
			}
			if tc.error != "" {
				if got["error"] != tc.error {
					t.Errorf("error %v, want %s; body %s", got["error"], tc.error, body)
				}
				if d, _ := got["error_description"].(string); d == "" {
					t.Errorf("no error_description in %s", body)
				}
				if _, ok := got["access_token"]; ok {
					t.Errorf("an error response carries an access token: %s", body)
				}
				if tc.wwwAuthOK && resp.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("no WWW-Authenticate header on %d %s", resp.StatusCode, tc.error)
				}
				return
			}
			if _, ok := got["error"]; ok {
				t.Errorf("success carries an error: %s", body)
			}
			if got["token_type"] != "Bearer" {
				t.Errorf("token_type %v, want Bearer", got["token_type"])
			}
			if got["expires_in"] != float64(3600) {
				t.Errorf("expires_in %v, want 3600", got["expires_in"])
			}
			if got["scope"] != tc.scope {
				t.Errorf("scope %v, want %q", got["scope"], tc.scope)
			}
			if _, ok := got["refresh_token"]; ok {
				t.Errorf("a refresh_token was issued: %s", body)
			}
			raw, _ := got["access_token"].(string)
			p, err := env.tokens.Verify(context.Background(), raw)
			if err != nil {
				t.Fatalf("the access token does not verify: %v", err)
			}
			if p.Subject != tc.subject || p.ClientID != PublicClientID || !slices.Equal(p.Scopes, strings.Fields(tc.scope)) {
				t.Errorf("principal %+v; want subject %s, client %s, scopes %q", p, tc.subject, PublicClientID, tc.scope)
			}
		})
	}
}

// A wrong password, an unknown user and a disabled user are answered
// alike, so that the answer does not tell which names exist.
func TestTokenEndpointDoesNotRevealUsers(t *testing.T) {
	env := newTokenEnv(t)
	wrong, wrongBody := env.do(t, tokenRequest{body: password(auditorName, "not-the-password")})
	for _, tc := range []struct{ name, body string }{
		{"unknown user", password("nobody", "not-the-password")},
		{"disabled user, right password", password(disabledName, disabledPass)},
		{"disabled user, wrong password", password(disabledName, "not-the-password")},
	} {
		resp, body := env.do(t, tokenRequest{body: tc.body})
		if resp.StatusCode != wrong.StatusCode || resp.StatusCode != 400 {
			t.Errorf("%s: status %d; wrong password: %d; want 400 both", tc.name, resp.StatusCode, wrong.StatusCode)
		}
		if !bytes.Equal(body, wrongBody) {
			t.Errorf("%s: body %q differs from a wrong password's %q", tc.name, body, wrongBody)
		}
		h1, h2 := wrong.Header.Clone(), resp.Header.Clone()
		h1.Del("Date")
		h2.Del("Date")
		if a, b := headerString(h1), headerString(h2); a != b {
			t.Errorf("%s: headers\n%s\ndiffer from a wrong password's\n%s", tc.name, b, a)
		}
	}
	var got map[string]any
	if err := json.Unmarshal(wrongBody, &got); err != nil || got["error"] != "invalid_grant" {
		t.Errorf("wrong password answered %s, want invalid_grant", wrongBody)
	}
}

func headerString(h http.Header) string {
	var b bytes.Buffer
	_ = h.Write(&b)
	return b.String()
}

// The endpoint never echoes the password, whatever the error.
func TestTokenEndpointDoesNotEchoPassword(t *testing.T) {
	env := newTokenEnv(t)
	const secret = "pw-that-must-not-echo"
	for _, body := range []string{
		password(auditorName, secret),
		password("nobody", secret),
		password(auditorName, secret, "scope", "admin"),
		password(auditorName, secret, "client_id", "other"),
		form("grant_type", "password", "username", auditorName, "password", secret, "password", secret),
	} {
		resp, got := env.do(t, tokenRequest{body: body})
		if resp.StatusCode == 200 {
			t.Errorf("%q: 200", body)
		}
		if bytes.Contains(got, []byte("pw-that-must")) {
			t.Errorf("%q: the answer %s shows the password", body, got)
		}
	}
}

const fuzzUser, fuzzPassword = "fuzz", "fuzz-pw"

// FuzzTokenForm posts arbitrary bodies to the endpoint.
func FuzzTokenForm(f *testing.F) {
	st, _ := newStore(f)
	h := fastHasher()
	createUser(f, st, h, fuzzUser, "admin", fuzzPassword)
	tokens := newTokens(f, st)
	endpoint := NewTokenEndpoint(st, h, tokens, quietLog)

	for _, seed := range []string{
		"",
		"grant_type=password&username=fuzz&password=fuzz-pw",
		"grant_type=password&username=fuzz&password=fuzz-pw&scope=audit%3Aread",
		"grant_type=password&username=fuzz&password=fuzz-pw&scope=admin+audit:write",
		"grant_type=password&username=fuzz&password=fuzz-pw&client_id=auditgraph",
		"grant_type=password&username=fuzz&password=fuzz-pw&client_id=auditgraph&client_secret=x",
		"grant_type=password&username=fuzz&password=fuzz-p",
		"grant_type=password&username=fuz&password=fuzz-pw",
		"grant_type=password&username=fuzz&username=fuzz&password=fuzz-pw",
		"grant_type=password&username=fuzz&password=fuzz-pw&scope=bogus",
		"password=fuzz-pw&username=fuzz&grant_type=password",
		"grant_type=client_credentials",
		"grant_type=authorization_code&code=x&redirect_uri=y",
		"username=%zz",
		"grant_type=password;username=fuzz&password=fuzz-pw",
		"grant_type=password&username=f%75zz&password=fuzz%2Dpw",
		"grant_type=password&username=\x8e&password=0", // once a 500 (PostgreSQL refused the name)
		"grant_type=password&username=%00&password=0",
		"grant_type=password&username=fuzz&password=fuzz-pw&" + strings.Repeat("x", MaxTokenRequest),
	} {
		f.Add([]byte(seed))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/1.0/oauth2/access_token", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		endpoint.ServeHTTP(w, r)

		if w.Code >= 500 {
			t.Fatalf("body %q: status %d: %s", body, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("body %q: the answer is not JSON: %q", body, w.Body)
		}
		var got map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("body %q: the answer is not a JSON object: %q", body, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("body %q: Content-Type %q", body, ct)
		}
		if w.Code != http.StatusOK {
			code, _ := got["error"].(string)
			if !slices.Contains(rfc6749Errors, code) {
				t.Fatalf("body %q: status %d with error %q, not an RFC 6749 section 5.2 code: %s", body, w.Code, code, w.Body)
			}
			return
		}
		q, err := url.ParseQuery(string(body))
		if err != nil || len(body) > MaxTokenRequest || !slices.Equal(q["grant_type"], []string{"password"}) ||
			!slices.Equal(q["username"], []string{fuzzUser}) || !slices.Equal(q["password"], []string{fuzzPassword}) {
			t.Fatalf("body %q got a token: %s", body, w.Body)
		}
		raw, _ := got["access_token"].(string)
		p, err := tokens.Verify(context.Background(), raw)
		if err != nil || p.Subject != fuzzUser {
			t.Fatalf("body %q: the access token is not the user's: %v, %v", body, p, err)
		}
	})
}

// A user name PostgreSQL cannot hold as text (a NUL byte, bytes that are
// not UTF-8) names no user: it is a client's mistake, never a server error.
func TestTokenEndpointUnstorableUsername(t *testing.T) {
	env := newTokenEnv(t)
	for _, body := range []string{
		"grant_type=password&username=%00&password=x",
		"grant_type=password&username=alice%00&password=alice-password",
		"grant_type=password&username=%ff&password=x",
		"grant_type=password&username=%c3%28&password=x",
		"grant_type=password&username=\xff&password=x",
	} {
		resp, got := env.do(t, tokenRequest{body: body})
		var m map[string]any
		_ = json.Unmarshal(got, &m)
		if resp.StatusCode != 400 || (m["error"] != "invalid_grant" && m["error"] != "invalid_request") {
			t.Errorf("%q: %d %s; want 400 invalid_grant (as for an unknown user) or invalid_request", body, resp.StatusCode, got)
		}
	}
}
