// Package selfaudit makes the service audit itself: token requests, reads
// of the audit log, downloads, and changes to users, keys and settings
// become schema 1.0 records in the same store, so they come back through
// listAuditLogs like any other record. A password never enters a record.
package selfaudit

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/auditgraph/auditgraph/record"
	"github.com/auditgraph/auditgraph/store"
)

// Store is where the records go; *store.Store is one.
type Store interface {
	InsertRecords(ctx context.Context, recs []store.NewRecord) error
}

// Source is the records' source field.
const Source = "auditgraph"

// Event is one thing the service did or refused.
type Event struct {
	Category   string // user-access, audit-access, user-management, key-management, settings
	Action     string // e.g. token-issued, list-audit-logs
	ObjectType string
	ObjectID   string // what was acted on, e.g. a user name or a range
	Attributes map[string]any
	Failure    string // "" for success, else authentication, authorization or unknown
	Error      string // for a failure: what went wrong, fit for the record

	ActorType string // user, operator, anonymous
	Actor     string
	SessionID string // the token's jti
	ClientIP  string
	Protocol  string
	Host      string
	UserAgent string
}

// FromRequest fills the event's context from r.
func (e Event) FromRequest(r *http.Request) Event {
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		e.ClientIP = ip
	} else {
		e.ClientIP = r.RemoteAddr
	}
	e.Protocol = "http"
	if r.TLS != nil {
		e.Protocol = "https"
	}
	e.Host = r.Host
	e.UserAgent = r.UserAgent()
	return e
}

// Recorder writes events as records. Concurrent events share
// transactions (group commit): while one insert runs, the events that
// arrive queue up, and the first of them then writes them all. Each caller
// still returns only once its record is committed.
type Recorder struct {
	store Store
	now   func() time.Time

	mu    sync.Mutex
	queue []*pending
	busy  bool // an insert is running

	background sync.WaitGroup // records of Go not stored yet
}

type pending struct {
	row  store.NewRecord
	done chan error
	lead chan struct{} // this caller writes the next batch
}

// New returns a Recorder over st.
func New(st Store) *Recorder {
	return &Recorder{store: st, now: time.Now}
}

// Record stores the event, committed before it returns.
func (r *Recorder) Record(ctx context.Context, e Event) error {
	row, err := r.row(e)
	if err != nil {
		return err
	}
	return r.write(row)
}

// Go stores the event like Record, but returns at once: the record joins
// the next group commit while the caller goes on, and failed, when not
// nil, gets the error of a record that could not be stored. For events
// whose answer should not wait for a commit, such as downloads; a record
// is lost only if the process dies in the millisecond before its commit.
// Wait at shutdown.
func (r *Recorder) Go(e Event, failed func(error)) {
	row, err := r.row(e)
	r.background.Add(1)
	go func() {
		defer r.background.Done()
		if err == nil {
			err = r.write(row)
		}
		if err != nil && failed != nil {
			failed(err)
		}
	}()
}

// Wait returns once every record of Go so far is stored or has failed.
// Call it after the server has stopped taking requests and before the
// database closes.
func (r *Recorder) Wait() {
	r.background.Wait()
}

// row makes the record of e.
func (r *Recorder) row(e Event) (store.NewRecord, error) {
	now := r.now().UTC()
	outcome := record.Outcome{Type: "success"}
	if e.Failure != "" {
		outcome = record.Outcome{Type: "failure", Reason: e.Failure, Error: e.Error}
	}
	attrs := e.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	actorType := e.ActorType
	if actorType == "" {
		actorType = "user"
	}
	body := record.Doc{
		Date: now.Format("2006-01-02T15:04:05.000000Z"), MessageType: "system-event", SchemaVersion: record.SchemaVersion,
		Timestamp: now.Format(time.RFC3339Nano), EventType: "auditgraph-action", Category: e.Category,
		Action: e.Action, Source: Source, Tags: map[string]any{},
		Object: record.Object{
			Type: e.ObjectType, Identifier: record.Identifier{Type: "name", Value: e.ObjectID}, Attributes: attrs, Outcome: outcome,
			Actor: record.Actor{Type: actorType, Identifier: record.Identifier{Type: "user-id", Value: e.Actor}, Attributes: map[string]any{}},
			Context: &record.Context{Environment: Source, SessionID: e.SessionID, ClientIP: e.ClientIP,
				Protocol: e.Protocol, Host: e.Host, UserAgent: e.UserAgent},
		},
	}
	b, err := json.Marshal(body)
	if err != nil {
		return store.NewRecord{}, err
	}
	rec, problems := record.Parse(b)
	if len(problems) > 0 {
		return store.NewRecord{}, &problemError{problems[0]}
	}
	return rec.Row(), nil
}

// write commits row with whatever else is queued.
func (r *Recorder) write(row store.NewRecord) error {
	p := &pending{row: row, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	r.mu.Lock()
	r.queue = append(r.queue, p)
	if !r.busy {
		r.busy = true
		r.mu.Unlock()
		r.flush()
		return <-p.done
	}
	r.mu.Unlock()
	select {
	case err := <-p.done:
		return err
	case <-p.lead:
		r.flush()
		return <-p.done
	}
}

// flush writes the queue in one transaction, then hands the next batch to
// the first caller still waiting.
func (r *Recorder) flush() {
	r.mu.Lock()
	batch := r.queue
	r.queue = nil
	r.mu.Unlock()
	rows := make([]store.NewRecord, len(batch))
	for i, p := range batch {
		rows[i] = p.row
	}
	err := r.store.InsertRecords(context.Background(), rows)
	for _, p := range batch {
		p.done <- err
	}
	r.mu.Lock()
	if len(r.queue) > 0 {
		r.queue[0].lead <- struct{}{}
	} else {
		r.busy = false
	}
	r.mu.Unlock()
}

type problemError struct{ p record.Problem }

func (e *problemError) Error() string { return "selfaudit: " + e.p.String() }

type baseKey struct{}

// WithBase returns ctx carrying the event's actor and request context, for
// the handlers below to complete and record.
func WithBase(ctx context.Context, e Event) context.Context {
	return context.WithValue(ctx, baseKey{}, e)
}

// Base returns the event WithBase put in ctx (an empty one when none).
func Base(ctx context.Context) Event {
	e, _ := ctx.Value(baseKey{}).(Event)
	return e
}
