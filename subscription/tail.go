package subscription

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/auditgraph/auditgraph/store"
)

// TailStore is what the live tail needs; *store.Store is one.
type TailStore interface {
	Horizon(ctx context.Context) (uint64, error)
	RecordsAfter(ctx context.Context, c store.Cursor, horizon uint64, limit int) ([]store.StoredRecord, error)
}

// Tail follows new records in commit order and hands them to the live
// subscriptions of this server. It reads the database only while someone
// listens.
type Tail struct {
	store TailStore
	log   *slog.Logger

	mu     sync.Mutex
	subs   map[*listener]struct{}
	cursor *store.Cursor
}

type listener struct {
	actions []string
	ch      chan store.StoredRecord
}

// NewTail returns a Tail over st.
func NewTail(st TailStore, log *slog.Logger) *Tail {
	return &Tail{store: st, log: log, subs: map[*listener]struct{}{}}
}

// Subscribe returns the records of actions (all, when empty) that commit
// from now on, until ctx ends. A listener that falls more than buffer
// records behind is dropped: its channel closes.
func (t *Tail) Subscribe(ctx context.Context, actions []string, buffer int) <-chan store.StoredRecord {
	l := &listener{actions: actions, ch: make(chan store.StoredRecord, buffer)}
	t.mu.Lock()
	t.subs[l] = struct{}{}
	t.mu.Unlock()
	go func() {
		<-ctx.Done()
		t.drop(l)
	}()
	return l.ch
}

func (t *Tail) drop(l *listener) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.subs[l]; ok {
		delete(t.subs, l)
		close(l.ch)
	}
}

// Run polls every `every` until ctx ends.
func (t *Tail) Run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := t.poll(ctx); err != nil && ctx.Err() == nil {
			t.log.Error("live tail", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (t *Tail) poll(ctx context.Context) error {
	t.mu.Lock()
	listening := len(t.subs) > 0
	if !listening {
		t.cursor = nil // start afresh when someone listens again
	}
	cursor := t.cursor
	t.mu.Unlock()
	if !listening {
		return nil
	}
	h, err := t.store.Horizon(ctx)
	if err != nil {
		return err
	}
	if cursor == nil {
		// From now on: every transaction still running, or yet to come.
		cursor = &store.Cursor{TxID: h - 1, ID: math.MaxInt64}
	}
	for {
		recs, err := t.store.RecordsAfter(ctx, *cursor, h, 1000)
		if err != nil {
			return err
		}
		t.mu.Lock()
		for _, r := range recs {
			for l := range t.subs {
				if len(l.actions) > 0 && !slices.Contains(l.actions, r.Action) {
					continue
				}
				select {
				case l.ch <- r:
				default:
					delete(t.subs, l)
					close(l.ch)
				}
			}
		}
		if len(recs) > 0 {
			last := recs[len(recs)-1]
			cursor = &store.Cursor{TxID: last.TxID, ID: last.ID}
		}
		t.cursor = cursor
		t.mu.Unlock()
		if len(recs) < 1000 {
			return nil
		}
	}
}
