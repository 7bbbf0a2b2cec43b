package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Verifier checks access tokens; *Tokens is one.
type Verifier interface {
	Verify(ctx context.Context, raw string) (*Principal, error)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller that Bearer let in.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// Realm names the protection space in WWW-Authenticate challenges.
const Realm = "auditgraph"

// BearerToken returns the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// Bearer lets a request through only with a valid access token, answering
// as RFC 6750 says otherwise, and puts the caller in the context.
func Bearer(v Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := Authenticate(w, r, v)
			if !ok {
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

// Authenticate checks the request's bearer token; when it is missing or
// bad it answers the request and returns false.
func Authenticate(w http.ResponseWriter, r *http.Request, v Verifier) (*Principal, bool) {
	raw, ok := BearerToken(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+Realm+`"`)
		writeJSONError(w, http.StatusUnauthorized, "", "an access token is required: send Authorization: Bearer <access_token>, from POST /api/1.0/oauth2/access_token")
		return nil, false
	}
	p, err := v.Verify(r.Context(), raw)
	if err != nil && !errors.Is(err, ErrInvalidToken) {
		// The token may be fine: the service could not check it.
		w.Header().Set("Retry-After", "1")
		writeJSONError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the access token could not be checked just now; try again")
		return nil, false
	}
	if err != nil {
		desc := strings.TrimPrefix(err.Error(), ErrInvalidToken.Error()+": ")
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+desc+`", realm="`+Realm+`"`)
		writeJSONError(w, http.StatusUnauthorized, "invalid_token", desc)
		return nil, false
	}
	return p, true
}

// RequireScope answers 403 insufficient_scope (RFC 6750) unless the caller
// has scope, and reports whether it may go on.
func RequireScope(w http.ResponseWriter, p *Principal, scope string) bool {
	if p.Has(scope) {
		return true
	}
	desc := "this request needs the " + scope + " scope, which the access token does not carry"
	w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+scope+`", realm="`+Realm+`"`)
	writeJSONError(w, http.StatusForbidden, "insufficient_scope", desc)
	return false
}

// writeJSONError writes an RFC 6750-shaped body, with a GraphQL-shaped
// errors list beside it so that GraphQL clients read it too.
func writeJSONError(w http.ResponseWriter, status int, code, description string) {
	gqlCode := "UNAUTHENTICATED"
	switch status {
	case http.StatusForbidden:
		gqlCode = "FORBIDDEN"
	case http.StatusServiceUnavailable:
		gqlCode = "INTERNAL_SERVER_ERROR"
	}
	body := map[string]any{
		"error_description": description,
		"errors":            []any{map[string]any{"message": description, "extensions": map[string]string{"code": gqlCode}}},
	}
	if code != "" {
		body["error"] = code
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
