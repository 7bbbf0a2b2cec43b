// Package server wires the service's HTTP endpoints: the route table,
// handlers for records in, log-file downloads and health, and middleware.
package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/auditgraph/auditgraph/auth"
	"github.com/auditgraph/auditgraph/graph"
	"github.com/auditgraph/auditgraph/logfile"
	"github.com/auditgraph/auditgraph/store"
)

// DefaultMaxIngestBytes caps the body of one batch of records.
const DefaultMaxIngestBytes = 32 << 20

// Config holds the settings of the HTTP layer.
type Config struct {
	MaxIngestBytes int64
}

// Server holds what the handlers need.
type Server struct {
	cfg    Config
	store  *store.Store
	tokens *auth.Tokens
	logs   *logfile.Service
	log    *slog.Logger
	mux    *http.ServeMux
}

// New returns the service's HTTP handler.
func New(cfg Config, st *store.Store, tokens *auth.Tokens, hasher *auth.Hasher, logs *logfile.Service, log *slog.Logger) http.Handler {
	if cfg.MaxIngestBytes <= 0 {
		cfg.MaxIngestBytes = DefaultMaxIngestBytes
	}
	s := &Server{cfg: cfg, store: st, tokens: tokens, logs: logs, log: log, mux: http.NewServeMux()}
	s.routes(
		auth.NewTokenEndpoint(st, hasher, tokens, log),
		graph.NewHandler(&graph.Resolver{Logs: logs}, log),
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
