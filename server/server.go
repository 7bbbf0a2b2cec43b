// Package server wires the service's HTTP endpoints: the route table,
// handlers for records in, log-file downloads and health, and middleware.
package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/auditgraph/auditgraph/auth"
	"github.com/auditgraph/auditgraph/graph"
	"github.com/auditgraph/auditgraph/logfile"
	"github.com/auditgraph/auditgraph/selfaudit"
	"github.com/auditgraph/auditgraph/store"
	"github.com/auditgraph/auditgraph/subscription"
)

// DefaultMaxIngestBytes caps the body of one batch of records.
const DefaultMaxIngestBytes = 32 << 20

// DefaultMaxGraphQLBytes caps the body of a GraphQL request.
const DefaultMaxGraphQLBytes = 1 << 20

// Config holds the settings of the HTTP layer.
type Config struct {
	PublicURL       string
	MaxIngestBytes  int64
	MaxGraphQLBytes int64
	// Login throttles, per account and per client address.
	AccountThrottle store.Throttle
	AddressThrottle store.Throttle
	// MaxSubscriberActions refuses subscribers to more actions.
	MaxSubscriberActions int
	// Tail feeds GraphQL subscriptions; the caller runs it.
	Tail graph.Tail
	// Audit records what the service does; the caller waits for it at
	// shutdown (Wait), since downloads do not wait for their record. New
	// makes one when nil.
	Audit *selfaudit.Recorder
}

// DefaultAccountThrottle slows an account after 5 failures in 15 minutes:
// 1s, then twice as long with each failure, up to 15 minutes.
var DefaultAccountThrottle = store.Throttle{Threshold: 5, Window: 15 * time.Minute, Delay: time.Second, MaxDelay: 15 * time.Minute}

// DefaultAddressThrottle slows an address after 20 failures in 15 minutes,
// whatever accounts they were for: 10s, doubling up to an hour.
var DefaultAddressThrottle = store.Throttle{Threshold: 20, Window: 15 * time.Minute, Delay: 10 * time.Second, MaxDelay: time.Hour}

// Server holds what the handlers need.
type Server struct {
	cfg    Config
	store  *store.Store
	tokens *auth.Tokens
	gate   *auth.Gate
	audit  *selfaudit.Recorder
	logs   *logfile.Service
	log    *slog.Logger
	mux    *http.ServeMux
}

// New returns the service's HTTP handler.
func New(cfg Config, st *store.Store, tokens *auth.Tokens, hasher *auth.Hasher, logs *logfile.Service, log *slog.Logger) http.Handler {
	if cfg.MaxIngestBytes <= 0 {
		cfg.MaxIngestBytes = DefaultMaxIngestBytes
	}
	if cfg.MaxGraphQLBytes <= 0 {
		cfg.MaxGraphQLBytes = DefaultMaxGraphQLBytes
	}
	if cfg.MaxSubscriberActions <= 0 {
		cfg.MaxSubscriberActions = subscription.DefaultMaxAction
	}
	if cfg.AccountThrottle.Threshold == 0 {
		cfg.AccountThrottle = DefaultAccountThrottle
	}
	if cfg.AddressThrottle.Threshold == 0 {
		cfg.AddressThrottle = DefaultAddressThrottle
	}
	audit := cfg.Audit
	if audit == nil {
		audit = selfaudit.New(st)
	}
	s := &Server{cfg: cfg, store: st, tokens: tokens, gate: auth.NewGate(tokens, st), audit: audit,
		logs: logs, log: log, mux: http.NewServeMux()}
	s.routes(
		auth.NewTokenEndpoint(st, hasher, tokens, log,
			auth.WithThrottle(st, cfg.AccountThrottle, cfg.AddressThrottle), auth.WithSettings(st), auth.WithAudit(audit)),
		graph.NewHandler(&graph.Resolver{Logs: logs, Audit: audit, Log: log, Store: st, Tail: cfg.Tail,
			MaxSubscriberActions: cfg.MaxSubscriberActions}, log, s.websocketAuth),
	)
	return logRequests(log, s.mux)
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError is the body of the service's own error answers.
type apiError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Problems    any    `json:"problems,omitempty"`
}

// statusWriter remembers the status of an answer, for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests logs each request's method, path (never its query, which
// may carry a signature) and status.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr)
	})
}

// authenticated lets a request through only with a valid access token that
// still stands, and puts the caller and the base of its audit records in
// the context.
func (s *Server) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.Authenticate(w, r, s.gate)
		if !ok {
			return
		}
		ctx := auth.WithPrincipal(r.Context(), p)
		ctx = selfaudit.WithBase(ctx, selfaudit.Event{Actor: p.Subject, SessionID: p.TokenID}.FromRequest(r))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// websocketAuth checks the token of a WebSocket client, as authenticated
// does for HTTP.
func (s *Server) websocketAuth(ctx context.Context, token string) (context.Context, error) {
	p, err := s.gate.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	ctx = auth.WithPrincipal(ctx, p)
	return selfaudit.WithBase(ctx, selfaudit.Event{Actor: p.Subject, SessionID: p.TokenID, Protocol: "websocket"}), nil
}

// limitBody answers 413 for bodies larger than n.
func limitBody(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: "too_large", Description: fmt.Sprintf("the request body is larger than %d bytes", n)})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}
