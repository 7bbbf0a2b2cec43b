package server

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/auditgraph/auditgraph/auth"
	"github.com/auditgraph/auditgraph/logfile"
	"github.com/auditgraph/auditgraph/record"
	"github.com/auditgraph/auditgraph/selfaudit"
)

// ingest stores a batch of records: all of it, committed before the
// answer, or nothing with every bad record named.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	if !auth.RequireScope(w, p, auth.ScopeWrite) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxIngestBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: "too_large", Description: fmt.Sprintf(
			"the batch is larger than %d bytes; send it in smaller batches", s.cfg.MaxIngestBytes)})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "invalid_request", Description: "the request body could not be read"})
		return
	}
	recs, problems := record.ParseBatch(body)
	if len(problems) > 0 {
		desc := "the batch was refused and nothing of it was stored: fix the records listed in problems and send it again"
		writeJSON(w, http.StatusBadRequest, apiError{Error: "invalid_batch", Description: desc, Problems: problems})
		return
	}
	rows := record.Rows(recs)
	if err := s.store.InsertRecords(r.Context(), rows); err != nil {
		s.log.Error("ingest", "err", err, "records", len(rows))
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "unavailable",
			Description: "the records could not be stored and none of them was; send the batch again"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"accepted": len(rows)})
}

// download serves a log file to a holder of a valid signed location, or
// of a bearer token with the audit:read scope.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	path, err := s.logs.VerifyLocation(r.URL.Path)
	ev := selfaudit.Event{Category: "audit-access", Action: "download-log-file", ObjectType: "log-file", ObjectID: path,
		ActorType: "anonymous", Actor: "signed-location"}.FromRequest(r)
	if err != nil {
		_, hasBearer := auth.BearerToken(r)
		if !errors.Is(err, logfile.ErrUnsigned) && !hasBearer {
			writeJSON(w, http.StatusForbidden, apiError{Error: "invalid_signature", Description: err.Error()})
			return
		}
		p, ok := auth.Authenticate(w, r, s.gate)
		if !ok || !auth.RequireScope(w, p, auth.ScopeRead) {
			return
		}
		ev.ActorType, ev.Actor, ev.SessionID = "user", p.Subject, p.TokenID
	}
	obj, err := s.logs.Open(r.Context(), path)
	if errors.Is(err, logfile.ErrNoFile) {
		writeJSON(w, http.StatusNotFound, apiError{Error: "not_found", Description: "there is no log file or digest at this location"})
		return
	}
	if err != nil {
		s.log.Error("download", "err", err, "path", path)
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "unavailable", Description: "the file could not be read; try again"})
		return
	}
	// The answer does not wait for the record's commit, a third of the
	// time of a small file's download; the record is stored all the same,
	// and shutdown waits for it.
	s.audit.Go(ev, func(err error) { s.log.Error("self-audit of a download", "err", err, "path", path) })
	h := w.Header()
	h.Set("Content-Type", obj.ContentType)
	h.Set("Content-Disposition", `attachment; filename="`+obj.Name+`"`)
	h.Set("ETag", `"`+hex.EncodeToString(obj.SHA256)+`"`)
	h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(obj.SHA256)+":")
	h.Set("Cache-Control", "private, max-age=3600, immutable")
	http.ServeContent(w, r, "", obj.Created, obj.Content)
}

// healthz answers 200 while the database answers.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("healthz: database unreachable", "err", err)
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

// jwks publishes the public keys that verify access tokens and digests
// (RFC 7517, RFC 8037), retired ones included: digests signed with them
// stay verifiable.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	keys, err := s.tokens.PublicKeys(r.Context())
	if err != nil {
		s.log.Error("jwks", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "unavailable", Description: "the keys could not be read; try again"})
		return
	}
	type jwk struct {
		KTY string `json:"kty"`
		CRV string `json:"crv"`
		X   string `json:"x"`
		KID string `json:"kid"`
		ALG string `json:"alg"`
		Use string `json:"use"`
	}
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for kid, k := range keys {
		set.Keys = append(set.Keys, jwk{KTY: "OKP", CRV: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k), KID: kid, ALG: "EdDSA", Use: "sig"})
	}
	slices.SortFunc(set.Keys, func(a, b jwk) int { return strings.Compare(a.KID, b.KID) })
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, set)
}

// metadata is the authorization server's metadata (RFC 8414).
func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	base := s.cfg.PublicURL
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                        base,
		"token_endpoint":                                base + "/api/1.0/oauth2/access_token",
		"revocation_endpoint":                           base + "/api/1.0/oauth2/revoke",
		"introspection_endpoint":                        base + "/api/1.0/oauth2/introspect",
		"jwks_uri":                                      base + "/.well-known/jwks.json",
		"grant_types_supported":                         []string{"password"},
		"response_types_supported":                      []string{},
		"token_endpoint_auth_methods_supported":         []string{"none", "client_secret_basic", "client_secret_post"},
		"revocation_endpoint_auth_methods_supported":    []string{"none"},
		"introspection_endpoint_auth_methods_supported": []string{"bearer"},
		"scopes_supported":                              []string{auth.ScopeRead, auth.ScopeWrite, auth.ScopeAdmin},
	})
}
