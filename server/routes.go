package server

import (
	"net/http"

	"github.com/auditgraph/auditgraph/auth"
	"github.com/auditgraph/auditgraph/logfile"
)

// routes lists every endpoint of the service.
func (s *Server) routes(tokenEndpoint, graphql http.Handler) {
	s.mux.Handle("POST /api/1.0/oauth2/access_token", tokenEndpoint)
	s.mux.Handle("POST /api/1.0/oauth2/revoke", auth.NewRevokeEndpoint(s.tokens, s.store, s.audit, s.log))
	s.mux.Handle("POST /api/1.0/oauth2/introspect", auth.NewIntrospectEndpoint(s.gate))
	s.mux.Handle("POST /api/graphql", s.authenticated(limitBody(s.cfg.MaxGraphQLBytes, graphql)))
	s.mux.Handle("GET /api/graphql", graphql) // WebSocket subscriptions: the token comes in connection_init
	s.mux.Handle("POST /api/1.0/audit-events", s.authenticated(http.HandlerFunc(s.ingest)))
	s.mux.HandleFunc("GET "+logfile.PathPrefix+"{path...}", s.download)
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /.well-known/jwks.json", s.jwks)
	s.mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.metadata)
}
