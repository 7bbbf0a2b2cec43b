// Package graph is the GraphQL API: the schema (schema.graphqls), the code
// gqlgen generates from it, thin resolvers, and the HTTP handler that runs
// them with errors fit for clients.
package graph

import (
	"context"
	"errors"
	"time"

	"github.com/auditgraph/auditgraph/auth"
	"github.com/auditgraph/auditgraph/logfile"
)

//go:generate go tool gqlgen generate

// Logs lists log files; *logfile.Service is one.
type Logs interface {
	List(ctx context.Context, from, to time.Time) (logfile.Listing, error)
}

// Resolver is the dependency root of the GraphQL resolvers.
type Resolver struct {
	Logs Logs
}

// ErrForbidden is answered as a GraphQL error with code FORBIDDEN.
var ErrForbidden = errors.New("forbidden")

// ScopeError says which scope a field needs.
type ScopeError struct{ Scope string }

func (e *ScopeError) Error() string {
	return "this field needs the " + e.Scope + " scope, which the access token does not carry"
}

func (e *ScopeError) Unwrap() error { return ErrForbidden }

// requireScope lets a field run only for a caller whose token has scope.
func requireScope(ctx context.Context, scope string) error {
	p, ok := auth.FromContext(ctx)
	if !ok || !p.Has(scope) {
		return &ScopeError{Scope: scope}
	}
	return nil
}
