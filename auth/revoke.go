package auth

import (
	"context"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/auditgraph/auditgraph/selfaudit"
)

// Revoker records revoked tokens; *store.Store is one.
type Revoker interface {
	RevokeToken(ctx context.Context, jti string, expires time.Time) error
}

// RevokeEndpoint serves token revocation (RFC 7009): the public client
// needs no authentication; the answer is 200 whether or not the token was
// valid, so that it tells nothing about tokens.
type RevokeEndpoint struct {
	tokens  *Tokens
	revoker Revoker
	audit   Auditor
	log     *slog.Logger
}

// NewRevokeEndpoint returns the revocation endpoint.
func NewRevokeEndpoint(tokens *Tokens, revoker Revoker, audit Auditor, log *slog.Logger) *RevokeEndpoint {
	return &RevokeEndpoint{tokens: tokens, revoker: revoker, audit: audit, log: log}
}

func (e *RevokeEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, ok := readTokenForm(w, r)
	if !ok {
		return
	}
	p, err := e.tokens.Verify(r.Context(), token)
	if err != nil {
		w.WriteHeader(http.StatusOK) // invalid or expired: nothing to revoke (RFC 7009 section 2.2)
		return
	}
	if err := e.revoker.RevokeToken(r.Context(), p.TokenID, p.ExpiresAt); err != nil {
		e.log.Error("revoke", "err", err)
		writeOAuthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the token could not be revoked; try again", nil)
		return
	}
	if e.audit != nil {
		ev := recordFor(r, p, "user-access", "revoke-access-token", "access-token", p.TokenID)
		if err := e.audit.Record(context.WithoutCancel(r.Context()), ev); err != nil {
			e.log.Error("self-audit of a revocation", "err", err)
		}
	}
	w.WriteHeader(http.StatusOK)
}

// IntrospectEndpoint serves token introspection (RFC 7662) to callers whose
// own bearer token has the admin scope.
type IntrospectEndpoint struct {
	gate *Gate
}

// NewIntrospectEndpoint returns the introspection endpoint.
func NewIntrospectEndpoint(gate *Gate) *IntrospectEndpoint {
	return &IntrospectEndpoint{gate: gate}
}

func (e *IntrospectEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	caller, ok := Authenticate(w, r, e.gate)
	if !ok || !RequireScope(w, caller, ScopeAdmin) {
		return
	}
	token, ok := readTokenForm(w, r)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	p, err := e.gate.Verify(r.Context(), token)
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"active": true, "scope": strings.Join(p.Scopes, " "), "client_id": p.ClientID, "username": p.Subject,
		"token_type": "Bearer", "exp": p.ExpiresAt.Unix(), "iat": p.IssuedAt.Unix(), "sub": p.Subject,
		"aud": e.gate.tokens.audience, "iss": e.gate.tokens.issuer, "jti": p.TokenID,
	})
}

// readTokenForm reads the token parameter of a form body, answering the
// request itself when it is missing or malformed.
func readTokenForm(w http.ResponseWriter, r *http.Request) (string, bool) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	r.Body = http.MaxBytesReader(w, r.Body, MaxTokenRequest)
	if ct != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "send token=... in a body of type application/x-www-form-urlencoded", nil)
		return "", false
	}
	if v := r.PostForm["token"]; len(v) != 1 || v[0] == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "send the parameter token exactly once", nil)
		return "", false
	}
	return r.PostForm.Get("token"), true
}

// recordFor is the audit event of something the principal of p did.
func recordFor(r *http.Request, p *Principal, category, action, objectType, objectID string) selfaudit.Event {
	return selfaudit.Event{Category: category, Action: action, ObjectType: objectType, ObjectID: objectID,
		Actor: p.Subject, SessionID: p.TokenID}.FromRequest(r)
}
