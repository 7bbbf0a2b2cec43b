// Package subscription delivers audit records to the integrations that
// subscribe to their actions: webhooks, queued durably in PostgreSQL and
// delivered at least once, in order, by one server at a time; and a live
// tail for GraphQL subscriptions. Ingestion never waits for either.
package subscription

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/auditgraph/auditgraph/store"
)

// Headers of a delivery.
const (
	HeaderDelivery  = "X-Auditgraph-Delivery"
	HeaderTimestamp = "X-Auditgraph-Timestamp"
	HeaderSignature = "X-Auditgraph-Signature"
)

// Sign is the signature header of a delivery: "v1=" and the hex
// HMAC-SHA256, keyed with the subscriber's secret, of the timestamp (Unix
// seconds), a dot, and the body.
func Sign(secret string, timestamp int64, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(h, "%d.", timestamp)
	h.Write(body)
	return "v1=" + hex.EncodeToString(h.Sum(nil))
}

// Verify is what a receiver does: it checks the signature of body and that
// the timestamp is within tolerance of now, against replays.
func Verify(secret, signature, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("the timestamp header is not a number")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return errors.New("the timestamp is too far from now")
	}
	if !hmac.Equal([]byte(signature), []byte(Sign(secret, ts, body))) {
		return errors.New("the signature does not match")
	}
	return nil
}

// Payload is the body of a delivery.
type Payload struct {
	DeliveryID string          `json:"deliveryId"`
	Subscriber string          `json:"subscriber"`
	Action     string          `json:"action"`
	Record     json.RawMessage `json:"record"`
}

// Limits on subscribers.
const (
	WarnActions      = 50
	MinSecret        = 16
	DefaultMaxAction = 500
)

// Check checks a subscriber's settings and returns warnings that do not
// stop it. actions is nil when unchanged.
func Check(name, rawURL string, actions []string, secret *string, maxActions int) (warnings []string, err error) {
	if name != "" && (len(name) > 100 || strings.ContainsAny(name, " \t\r\n/")) {
		return nil, errors.New("name must have 1 to 100 characters, without spaces or slashes")
	}
	if rawURL != "" {
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("url %q must be an absolute http:// or https:// URL", rawURL)
		}
		if u.Scheme == "http" {
			warnings = append(warnings, "url is plain http: deliveries, though signed, travel unencrypted")
		}
	}
	if actions != nil {
		if len(actions) == 0 {
			return nil, errors.New("actions must name at least one action")
		}
		seen := map[string]bool{}
		for _, a := range actions {
			if strings.TrimSpace(a) == "" || seen[a] {
				return nil, fmt.Errorf("actions must be distinct, non-empty names; %q is not", a)
			}
			seen[a] = true
		}
		if len(actions) > maxActions {
			return nil, fmt.Errorf("actions names %d actions; at most %d are allowed (AUDITGRAPH_MAX_SUBSCRIBER_ACTIONS)", len(actions), maxActions)
		}
		if len(actions) > WarnActions {
			warnings = append(warnings, fmt.Sprintf("%d actions: subscribing to more than %d slows delivery; subscribe only to what the integration needs", len(actions), WarnActions))
		}
	}
	if secret != nil && len(*secret) < MinSecret {
		return nil, fmt.Errorf("secret must have at least %d characters", MinSecret)
	}
	return warnings, nil
}

// Store is what delivery needs of the database; *store.Store is one.
type Store interface {
	Dispatch(ctx context.Context, limit int) (int, error)
	ClaimSubscriber(ctx context.Context, owner string, lease time.Duration, exclude []int64) (store.Subscriber, bool, error)
	NextDeliveries(ctx context.Context, subscriberID int64, limit int) ([]store.Delivery, error)
	Delivered(ctx context.Context, subscriberID, deliveryID int64, n int, owner string, lease time.Duration) (bool, error)
	DeliveryFailed(ctx context.Context, subscriberID int64, owner, msg string, retry, pauseAfter time.Duration) error
	ReleaseSubscriber(ctx context.Context, subscriberID int64, owner string) error
}

// Options tune delivery.
type Options struct {
	Timeout    time.Duration // of one POST (default 10s)
	RetryBase  time.Duration // first wait after a failure, doubled each time (default 1s)
	RetryMax   time.Duration // longest wait (default 5m)
	PauseAfter time.Duration // a subscriber failing this long is paused (default 24h)
	Parallel   int           // subscribers delivered to at once by this server (default 8)
}

// Deliverer fans new records out to the queue and delivers the queue.
type Deliverer struct {
	store  Store
	opts   Options
	lease  time.Duration
	owner  string
	client *http.Client
	log    *slog.Logger
}

const (
	dispatchSize = 5000
	deliverBatch = 100
	ackEvery     = 50 // acknowledgements written together; a crash repeats at most these
)

// NewDeliverer returns a Deliverer; owner names this server in leases.
func NewDeliverer(st Store, opts Options, owner string, log *slog.Logger) *Deliverer {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 5 * time.Minute
	}
	if opts.PauseAfter <= 0 {
		opts.PauseAfter = 24 * time.Hour
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 8
	}
	// A lease outlasts one delivery attempt, renewed after each: a server
	// that dies gives its subscribers up within Timeout plus a few seconds.
	return &Deliverer{store: st, opts: opts, owner: owner, log: log, lease: opts.Timeout + 5*time.Second,
		client: &http.Client{Timeout: opts.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Run dispatches and delivers every `every` until ctx ends.
func (d *Deliverer) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var mu sync.Mutex
	busy := map[int64]bool{}
	slots := make(chan struct{}, d.opts.Parallel)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		for {
			n, err := d.store.Dispatch(ctx, dispatchSize)
			if err != nil && ctx.Err() == nil {
				d.log.Error("subscriptions: dispatch", "err", err)
			}
			if err != nil || n < dispatchSize {
				break
			}
		}
	claim:
		for {
			select {
			case slots <- struct{}{}:
			default:
				break claim
			}
			mu.Lock()
			exclude := make([]int64, 0, len(busy))
			for id := range busy {
				exclude = append(exclude, id)
			}
			mu.Unlock()
			sub, ok, err := d.store.ClaimSubscriber(ctx, d.owner, d.lease, exclude)
			if err != nil || !ok {
				<-slots
				if err != nil && ctx.Err() == nil {
					d.log.Error("subscriptions: claim", "err", err)
				}
				break
			}
			mu.Lock()
			busy[sub.ID] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.deliver(ctx, sub)
				mu.Lock()
				delete(busy, sub.ID)
				mu.Unlock()
				<-slots
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// deliver sends a claimed subscriber's queue in order until it is empty,
// a delivery fails, or the lease is lost.
func (d *Deliverer) deliver(ctx context.Context, sub store.Subscriber) {
	bg := context.WithoutCancel(ctx)
	for ctx.Err() == nil {
		ds, err := d.store.NextDeliveries(ctx, sub.ID, deliverBatch)
		if err != nil || len(ds) == 0 {
			break
		}
		var pending int
		var last int64
		ack := func() bool {
			if pending == 0 {
				return true
			}
			ok, err := d.store.Delivered(bg, sub.ID, last, pending, d.owner, d.lease)
			pending = 0
			return err == nil && ok // else the lease is gone: whoever has it delivers from here
		}
		for _, del := range ds {
			if err := d.post(ctx, sub, del); err != nil {
				if !ack() {
					return
				}
				retry := min(d.opts.RetryBase<<min(sub.Attempts, 20), d.opts.RetryMax)
				retry = time.Duration(float64(retry) * (0.5 + rand.Float64())) // jitter: 0.5x to 1.5x
				if err := d.store.DeliveryFailed(bg, sub.ID, d.owner, err.Error(), retry, d.opts.PauseAfter); err != nil {
					d.log.Error("subscriptions: record failure", "err", err)
				}
				return
			}
			last, pending = del.ID, pending+1
			if pending == ackEvery && !ack() {
				return
			}
		}
		if !ack() {
			return
		}
	}
	if err := d.store.ReleaseSubscriber(bg, sub.ID, d.owner); err != nil {
		d.log.Error("subscriptions: release", "err", err)
	}
}

func (d *Deliverer) post(ctx context.Context, sub store.Subscriber, del store.Delivery) error {
	body, err := json.Marshal(Payload{DeliveryID: strconv.FormatInt(del.ID, 10), Subscriber: sub.Name, Action: del.Action, Record: del.Body})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, strings.NewReader(string(body)))
	if err != nil {
		return fmt.Errorf("bad url: %w", err)
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "auditgraph-webhook/1")
	req.Header.Set(HeaderDelivery, strconv.FormatInt(del.ID, 10))
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(sub.Secret, ts, body))
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST failed: %s", strings.TrimPrefix(err.Error(), "Post \""+sub.URL+"\": "))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the subscriber answered %s", resp.Status)
	}
	return nil
}
