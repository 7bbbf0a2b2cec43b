// Package graph is the GraphQL API: the schema (schema.graphqls), the code
// gqlgen generates from it, thin resolvers, and the HTTP handler that runs
// them with errors fit for clients.
package graph

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/auditgraph/auditgraph/auth"
	"github.com/auditgraph/auditgraph/logfile"
	"github.com/auditgraph/auditgraph/selfaudit"
)

//go:generate go tool gqlgen generate

// Logs lists log files; *logfile.Service is one.
type Logs interface {
	List(ctx context.Context, from, to time.Time) (logfile.Listing, error)
}

// Auditor records what callers read; *selfaudit.Recorder is one.
type Auditor interface {
	Record(ctx context.Context, e selfaudit.Event) error
}

// Resolver is the dependency root of the GraphQL resolvers.
type Resolver struct {
	Logs  Logs
	Audit Auditor
	Log   *slog.Logger
}

// audit records that the caller did action on object; failure is "" for
// success. A failure to record is logged, not shown to the caller.
func (r *Resolver) audit(ctx context.Context, action, objectType, object string, attrs map[string]any, err error) {
	if r.Audit == nil {
		return
	}
	e := selfaudit.Base(ctx)
	e.Category, e.Action, e.ObjectType, e.ObjectID, e.Attributes = "audit-access", action, objectType, object, attrs
	var scopeErr *ScopeError
	switch {
	case errors.As(err, &scopeErr):
		e.Failure, e.Error = "authorization", err.Error()
	case err != nil:
		e.Failure = "unknown"
	}
	if err := r.Audit.Record(context.WithoutCancel(ctx), e); err != nil && r.Log != nil {
		r.Log.ErrorContext(ctx, "self-audit", "action", action, "err", err)
	}
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
