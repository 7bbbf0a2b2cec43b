// Package graph is the GraphQL API: the schema (schema.graphqls), the code
// gqlgen generates from it, thin resolvers, and the HTTP handler that runs
// them with errors fit for clients.
package graph

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/auditgraph/auditgraph/auth"
	"github.com/auditgraph/auditgraph/graph/model"
	"github.com/auditgraph/auditgraph/logfile"
	"github.com/auditgraph/auditgraph/selfaudit"
	"github.com/auditgraph/auditgraph/store"
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

// Actions is what the action catalog, session look-up and subscriber
// administration read and change; *store.Store is one.
type Actions interface {
	Actions(ctx context.Context, prefix, category string) ([]store.Action, error)
	SessionRecords(ctx context.Context, session string, afterTS time.Time, afterID int64, limit int) ([]store.StoredRecord, error)
	Subscribers(ctx context.Context) ([]store.Subscriber, error)
	AddSubscriber(ctx context.Context, name, url, secret string, actions []string) (store.Subscriber, error)
	UpdateSubscriber(ctx context.Context, name string, url, secret *string, actions []string) (before, after store.Subscriber, err error)
	RemoveSubscriber(ctx context.Context, name string) error
	ResumeSubscriber(ctx context.Context, name string) error
}

// Tail hands out records as they are committed; *subscription.Tail is one.
type Tail interface {
	Subscribe(ctx context.Context, actions []string, buffer int) <-chan store.StoredRecord
}

// Resolver is the dependency root of the GraphQL resolvers.
type Resolver struct {
	Logs                 Logs
	Audit                Auditor
	Log                  *slog.Logger
	Store                Actions
	Tail                 Tail
	MaxSubscriberActions int
}

// maxPage bounds a page of auditSession.
const maxPage = 500

// sessionCursor is the opaque position after a record of a session.
func sessionCursor(r store.StoredRecord) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d:%d", r.Timestamp.UnixNano(), r.ID))
}

// parseSessionCursor reads an after argument; the zero position for none.
func parseSessionCursor(after *string) (time.Time, int64, error) {
	if after == nil || *after == "" {
		return time.Time{}, 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*after)
	var ns, id int64
	if err == nil {
		_, err = fmt.Sscanf(string(b), "%d:%d", &ns, &id)
	}
	if err != nil {
		return time.Time{}, 0, &ArgError{"after", "after is not a cursor this API handed out; pass pageInfo.endCursor of the page before"}
	}
	return time.Unix(0, ns).UTC(), id, nil
}

// sessionPage turns records into a connection page; rows holds one more
// than the page when there is a next page.
func sessionPage(rows []store.StoredRecord, first int) (*model.AuditRecordConnection, error) {
	page := &model.AuditRecordConnection{Edges: []model.AuditRecordEdge{}, PageInfo: &model.PageInfo{}}
	if len(rows) > first {
		rows, page.PageInfo.HasNextPage = rows[:first], true
	}
	for _, row := range rows {
		rec, err := model.ParseRecord(row.Body)
		if err != nil {
			return nil, err
		}
		c := sessionCursor(row)
		page.Edges = append(page.Edges, model.AuditRecordEdge{Cursor: c, Node: rec})
		page.PageInfo.EndCursor = &c
	}
	return page, nil
}

// subscriberError turns store and check errors into errors for clients.
func subscriberError(name string, err error) error {
	switch {
	case errors.Is(err, store.ErrExists):
		return &ArgError{"input", fmt.Sprintf("a subscriber called %q exists already; use updateSubscriber", name)}
	case errors.Is(err, store.ErrNotFound):
		return &ArgError{"name", fmt.Sprintf("there is no subscriber called %q", name)}
	}
	return err
}

// rfc3339 formats an optional time for GraphQL.
func rfc3339(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
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

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// auditAdmin records a change to the subscribers.
func (r *Resolver) auditAdmin(ctx context.Context, action, name string, attrs map[string]any) {
	if r.Audit == nil {
		return
	}
	e := selfaudit.Base(ctx)
	e.Category, e.Action, e.ObjectType, e.ObjectID, e.Attributes = "subscriptions", action, "subscriber", name, attrs
	if err := r.Audit.Record(context.WithoutCancel(ctx), e); err != nil && r.Log != nil {
		r.Log.ErrorContext(ctx, "self-audit", "action", action, "err", err)
	}
}
