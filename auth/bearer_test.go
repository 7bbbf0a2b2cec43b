package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// bearerEnv is the Bearer middleware over real Tokens, in front of a
// handler that records the principal it was given.
type bearerEnv struct {
	tokens  *Tokens
	handler http.Handler
	reached *Principal
	calls   int
}

func newBearerEnv(t *testing.T) *bearerEnv {
	t.Helper()
	st, _ := newStore(t)
	e := &bearerEnv{tokens: newTokens(t, st)}
	e.handler = Bearer(e.tokens)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.calls++
		e.reached, _ = FromContext(r.Context())
		w.WriteHeader(http.StatusNoContent)
	}))
	return e
}

func (e *bearerEnv) serve(authorization string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader("{}"))
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

func decodeBody(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", w.Body, err)
	}
	return m
}

func TestBearerRefuses(t *testing.T) {
	env := newBearerEnv(t)
	expired, err := env.tokens.Issue("alice", PublicClientID, "audit:read", time.Now().Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	valid, err := env.tokens.Issue("alice", PublicClientID, "audit:read", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, authorization string
		challenge           string // the WWW-Authenticate header, exactly or as a prefix
		exact               bool
		error               string // the body's error member; "" for none
		mention             string
	}{
		{name: "no header", authorization: "", challenge: `Bearer realm="auditgraph"`, exact: true},
		{name: "Basic", authorization: "Basic YWxpY2U6cHc=", challenge: `Bearer realm="auditgraph"`, exact: true},
		{name: "Basic xxx", authorization: "Basic xxx", challenge: `Bearer realm="auditgraph"`, exact: true},
		{name: "Bearer without token", authorization: "Bearer", challenge: `Bearer realm="auditgraph"`, exact: true},
		{name: "Bearer with blank token", authorization: "Bearer    ", challenge: `Bearer realm="auditgraph"`, exact: true},
		{name: "token without scheme", authorization: valid, challenge: `Bearer realm="auditgraph"`, exact: true},
		{name: "garbage token", authorization: "Bearer garbage", challenge: `Bearer error="invalid_token"`, error: "invalid_token"},
		{name: "expired token", authorization: "Bearer " + expired, challenge: `Bearer error="invalid_token"`, error: "invalid_token", mention: "expired"},
		{name: "tampered token", authorization: "Bearer " + valid + "x", challenge: `Bearer error="invalid_token"`, error: "invalid_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env.calls = 0
			w := env.serve(tc.authorization)
			if w.Code != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", w.Code)
			}
			if env.calls != 0 {
				t.Errorf("the next handler was called")
			}
			got := w.Header().Get("WWW-Authenticate")
			if tc.exact && got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if !tc.exact && !strings.HasPrefix(got, tc.challenge) {
				t.Errorf("WWW-Authenticate %q, want it to start with %q", got, tc.challenge)
			}
			if !strings.Contains(got, `realm="auditgraph"`) {
				t.Errorf("WWW-Authenticate %q names no realm", got)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			body := decodeBody(t, w)
			code, hasCode := body["error"]
			switch {
			case tc.error == "" && hasCode:
				t.Errorf("error %v in the body; a request without credentials gets no error code (RFC 6750 3.1)", code)
			case tc.error != "" && code != tc.error:
				t.Errorf("error %v, want %s", code, tc.error)
			}
			desc, _ := body["error_description"].(string)
			if desc == "" {
				t.Errorf("no error_description in %s", w.Body)
			}
			if tc.mention != "" && (!strings.Contains(desc, tc.mention) || !strings.Contains(got, tc.mention)) {
				t.Errorf("description %q / challenge %q do not mention %q", desc, got, tc.mention)
			}
			errs, _ := body["errors"].([]any)
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want one GraphQL error", body["errors"])
			}
			ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
			if ext["code"] != "UNAUTHENTICATED" {
				t.Errorf("GraphQL error code %v, want UNAUTHENTICATED", ext["code"])
			}
		})
	}
}

func TestBearerLetsValidTokenThrough(t *testing.T) {
	env := newBearerEnv(t)
	issuedAt := time.Now().Truncate(time.Second)
	raw, err := env.tokens.Issue("alice", PublicClientID, "audit:read audit:write", issuedAt, TokenLifetime)
	if err != nil {
		t.Fatal(err)
	}
	for _, authorization := range []string{"Bearer " + raw, "bearer " + raw, "BEARER " + raw, "Bearer  " + raw + " "} {
		env.calls, env.reached = 0, nil
		w := env.serve(authorization)
		if w.Code != http.StatusNoContent || env.calls != 1 {
			t.Fatalf("%q: status %d, %d calls of the next handler; want 204, 1: %s", authorization[:10], w.Code, env.calls, w.Body)
		}
		p := env.reached
		if p == nil {
			t.Fatalf("FromContext found no principal")
		}
		if p.Subject != "alice" || p.ClientID != PublicClientID || !slices.Equal(p.Scopes, []string{"audit:read", "audit:write"}) ||
			p.TokenID == "" || !p.ExpiresAt.Equal(issuedAt.Add(TokenLifetime)) {
			t.Errorf("principal %+v", p)
		}
		if h := w.Header().Get("WWW-Authenticate"); h != "" {
			t.Errorf("WWW-Authenticate %q on success", h)
		}
	}
}

func TestFromContext(t *testing.T) {
	if p, ok := FromContext(context.Background()); ok || p != nil {
		t.Errorf("FromContext(empty) = %v, %v", p, ok)
	}
	if p, ok := FromContext(WithPrincipal(context.Background(), nil)); ok || p != nil {
		t.Errorf("FromContext(nil principal) = %v, %v", p, ok)
	}
	want := &Principal{Subject: "x"}
	if p, ok := FromContext(WithPrincipal(context.Background(), want)); !ok || p != want {
		t.Errorf("FromContext = %v, %v; want %v, true", p, ok, want)
	}
}

func TestRequireScope(t *testing.T) {
	p := &Principal{Subject: "alice", Scopes: []string{"audit:read"}}

	w := httptest.NewRecorder()
	if !RequireScope(w, p, ScopeRead) {
		t.Errorf("RequireScope(audit:read) refused a token with audit:read")
	}
	if w.Code != http.StatusOK || w.Body.Len() != 0 || len(w.Header()) != 0 {
		t.Errorf("RequireScope wrote %d %v %q when letting the request through", w.Code, w.Header(), w.Body)
	}

	for _, scope := range []string{ScopeWrite, ScopeAdmin} {
		w := httptest.NewRecorder()
		if RequireScope(w, p, scope) {
			t.Fatalf("RequireScope(%s) let a token with audit:read through", scope)
		}
		if w.Code != http.StatusForbidden {
			t.Errorf("status %d, want 403", w.Code)
		}
		body := decodeBody(t, w)
		if body["error"] != "insufficient_scope" {
			t.Errorf("error %v, want insufficient_scope", body["error"])
		}
		if d, _ := body["error_description"].(string); !strings.Contains(d, scope) {
			t.Errorf("error_description %q does not name %s", d, scope)
		}
		h := w.Header().Get("WWW-Authenticate")
		if !strings.HasPrefix(h, `Bearer error="insufficient_scope"`) || !strings.Contains(h, `scope="`+scope+`"`) {
			t.Errorf("WWW-Authenticate %q", h)
		}
		errs, _ := body["errors"].([]any)
		if len(errs) != 1 || errs[0].(map[string]any)["extensions"].(map[string]any)["code"] != "FORBIDDEN" {
			t.Errorf("errors = %v, want one FORBIDDEN GraphQL error", body["errors"])
		}
	}
}

// Bearer and RequireScope together, as a handler of the service uses them,
// with a token from the real endpoint.
func TestBearerWithScopeFromTokenEndpoint(t *testing.T) {
	env := newTokenEnv(t)
	resp, body := env.do(t, tokenRequest{body: password(auditorName, auditorPassword)})
	if resp.StatusCode != 200 {
		t.Fatalf("token request: %d %s", resp.StatusCode, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		t.Fatal(err)
	}
	write := Bearer(env.tokens)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := FromContext(r.Context())
		if !RequireScope(w, p, ScopeWrite) {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	r := httptest.NewRequest(http.MethodPost, "/ingest", nil)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	w := httptest.NewRecorder()
	write.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || decodeBody(t, w)["error"] != "insufficient_scope" {
		t.Errorf("an auditor's token on a write handler: %d %s; want 403 insufficient_scope", w.Code, w.Body)
	}
}

// verifierFunc adapts a function to Verifier.
type verifierFunc func(ctx context.Context, raw string) (*Principal, error)

func (f verifierFunc) Verify(ctx context.Context, raw string) (*Principal, error) { return f(ctx, raw) }

// When the token could not be checked (not: was checked and is bad), the
// answer is 503 and tells the client to retry, not to get a new token.
func TestBearerCheckFailed(t *testing.T) {
	calls := 0
	h := Bearer(verifierFunc(func(context.Context, string) (*Principal, error) {
		return nil, errors.New("store: token status: connection refused")
	}))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls++ }))
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	r.Header.Set("Authorization", "Bearer x.y.z")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable || calls != 0 {
		t.Fatalf("status %d, %d calls; want 503, 0", w.Code, calls)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if h := w.Header().Get("WWW-Authenticate"); strings.Contains(h, "invalid_token") {
		t.Errorf("WWW-Authenticate %q calls the token invalid", h)
	}
	if body := decodeBody(t, w); body["error"] != "temporarily_unavailable" || strings.Contains(w.Body.String(), "connection refused") {
		t.Errorf("body %s; want temporarily_unavailable, without the internal error", w.Body)
	}
}
