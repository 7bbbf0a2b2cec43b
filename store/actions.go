package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Action is one entry of the action catalog.
type Action struct {
	Action    string    `db:"action"`
	Category  string    `db:"category"`
	EventType string    `db:"event_type"`
	Count     int64     `db:"count"`
	FirstSeen time.Time `db:"first_seen"`
	LastSeen  time.Time `db:"last_seen"`
}

// Actions lists the catalog, filtered by action name prefix and category
// (either may be empty), by action name.
func (s *Store) Actions(ctx context.Context, prefix, category string) ([]Action, error) {
	rows, _ := s.pool.Query(ctx, `SELECT action, category, event_type, count, first_seen, last_seen FROM audit_actions
		WHERE ($1 = '' OR starts_with(action, $1)) AND ($2 = '' OR category = $2)
		ORDER BY action, category, event_type LIMIT 10000`, prefix, category)
	as, err := pgx.CollectRows(rows, pgx.RowToStructByName[Action])
	if err != nil {
		return nil, fmt.Errorf("store: actions: %w", err)
	}
	return as, nil
}

// StoredRecord is a record as stored, with its place in the order it is
// read in.
type StoredRecord struct {
	ID        int64     `db:"id"`
	Timestamp time.Time `db:"ts"`
	Action    string    `db:"action"`
	Body      []byte    `db:"body"`
	TxID      uint64    `db:"tx_id"`
}

// SessionRecords returns up to limit records of a session after the
// position (afterTS, afterID), in time order.
func (s *Store) SessionRecords(ctx context.Context, session string, afterTS time.Time, afterID int64, limit int) ([]StoredRecord, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, ts, action, body::bytea AS body, tx_id::text::bigint AS tx_id FROM audit_records
		WHERE session_id = $1 AND (ts, id) > ($2, $3) ORDER BY ts, id LIMIT $4`, session, afterTS, afterID, limit)
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[StoredRecord])
	if err != nil {
		return nil, fmt.Errorf("store: session records: %w", err)
	}
	return rs, nil
}

// Cursor is a place in commit order: the records of transaction TxID after
// record ID.
type Cursor struct {
	TxID uint64
	ID   int64
}

// Horizon returns the newest cursor before which no record can appear any
// more: every transaction older than the oldest one still running is
// finished, so the records before it are all there is.
func (s *Store) Horizon(ctx context.Context) (uint64, error) {
	var h uint64
	err := s.pool.QueryRow(ctx, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint").Scan(&h)
	if err != nil {
		return 0, fmt.Errorf("store: horizon: %w", err)
	}
	return h, nil
}

// RecordsAfter returns up to limit records after c whose transactions are
// older than horizon, in commit order.
func (s *Store) RecordsAfter(ctx context.Context, c Cursor, horizon uint64, limit int) ([]StoredRecord, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, ts, action, body::bytea AS body, tx_id::text::bigint AS tx_id FROM audit_records
		WHERE (tx_id, id) > ($1::text::xid8, $2) AND tx_id < $3::text::xid8 ORDER BY tx_id, id LIMIT $4`,
		fmt.Sprint(c.TxID), c.ID, fmt.Sprint(horizon), limit)
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[StoredRecord])
	if err != nil {
		return nil, fmt.Errorf("store: records after: %w", err)
	}
	return rs, nil
}

// Subscriber is an HTTP endpoint that receives the records of its actions,
// with its delivery state.
type Subscriber struct {
	ID              int64      `db:"id"`
	Name            string     `db:"name"`
	URL             string     `db:"url"`
	Actions         []string   `db:"actions"`
	Secret          string     `db:"secret"`
	CreatedAt       time.Time  `db:"created_at"`
	UpdatedAt       time.Time  `db:"updated_at"`
	Paused          bool       `db:"paused"`
	FailingSince    *time.Time `db:"failing_since"`
	Attempts        int        `db:"attempts"`
	NextAttemptAt   *time.Time `db:"next_attempt_at"`
	LastError       *string    `db:"last_error"`
	LastErrorAt     *time.Time `db:"last_error_at"`
	LastDeliveredAt *time.Time `db:"last_delivered_at"`
	DeliveredCount  int64      `db:"delivered_count"`
	Backlog         int64      `db:"backlog"`
}

const subscriberColumns = `id, name, url, actions, secret, created_at, updated_at, paused, failing_since, attempts,
	next_attempt_at, last_error, last_error_at, last_delivered_at, delivered_count,
	(SELECT count(*) FROM deliveries d WHERE d.subscriber_id = subscribers.id) AS backlog`

// AddSubscriber registers a subscriber; ErrExists when the name is taken.
func (s *Store) AddSubscriber(ctx context.Context, name, url, secret string, actions []string) (Subscriber, error) {
	rows, _ := s.pool.Query(ctx, `INSERT INTO subscribers (name, url, secret, actions) VALUES ($1, $2, $3, $4)
		RETURNING `+subscriberColumns, name, url, secret, actions)
	sub, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Subscriber])
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return Subscriber{}, ErrExists
	}
	if err != nil {
		return Subscriber{}, fmt.Errorf("store: add subscriber: %w", err)
	}
	return sub, nil
}

// UpdateSubscriber changes what is given (nil leaves it) and returns the
// subscriber before and after.
func (s *Store) UpdateSubscriber(ctx context.Context, name string, url, secret *string, actions []string) (before, after Subscriber, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, "SELECT "+subscriberColumns+" FROM subscribers WHERE name = $1 FOR UPDATE", name)
		if before, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Subscriber]); err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, `UPDATE subscribers SET url = COALESCE($2, url), secret = COALESCE($3, secret),
			actions = COALESCE($4, actions), updated_at = now() WHERE name = $1 RETURNING `+subscriberColumns, name, url, secret, actions)
		after, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Subscriber])
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return before, after, ErrNotFound
	}
	if err != nil {
		return before, after, fmt.Errorf("store: update subscriber: %w", err)
	}
	return before, after, nil
}

// RemoveSubscriber removes a subscriber and its queue.
func (s *Store) RemoveSubscriber(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM subscribers WHERE name = $1", name)
	return affected(tag.RowsAffected(), err, "remove subscriber")
}

// ResumeSubscriber lifts a pause: delivery goes on from the first record
// not yet acknowledged.
func (s *Store) ResumeSubscriber(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE subscribers SET paused = false, failing_since = NULL, attempts = 0,
		next_attempt_at = NULL, updated_at = now() WHERE name = $1`, name)
	return affected(tag.RowsAffected(), err, "resume subscriber")
}

// Subscribers lists every subscriber by name.
func (s *Store) Subscribers(ctx context.Context) ([]Subscriber, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+subscriberColumns+" FROM subscribers ORDER BY name")
	subs, err := pgx.CollectRows(rows, pgx.RowToStructByName[Subscriber])
	if err != nil {
		return nil, fmt.Errorf("store: subscribers: %w", err)
	}
	return subs, nil
}

// dispatchLock lets one server at a time fan records out to the queue.
const dispatchLock = 0x64697370 // "disp"

// Dispatch takes the records committed since the last dispatch, up to
// limit, in commit order: it counts them into the action catalog and
// queues, for every subscriber, those of its actions.
// It returns how many records it went through; 0 also when another server
// is dispatching.
func (s *Store) Dispatch(ctx context.Context, limit int) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var got bool
		if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1)", dispatchLock).Scan(&got); err != nil || !got {
			return err
		}
		// The cursor goes in as parameters, so that the row comparison
		// walks the (tx_id, id) index instead of scanning the table.
		var curTx string
		var curID int64
		if err := tx.QueryRow(ctx, "SELECT tx_id::text, record_id FROM dispatch_cursor").Scan(&curTx, &curID); err != nil {
			return err
		}
		var last *string
		var lastID *int64
		// The same pass keeps the action catalog: one writer, each record
		// counted once, and no catalog row locked by ingestion.
		err := tx.QueryRow(ctx, `WITH batch AS (
				SELECT r.id, r.minute, r.tx_id, r.action, r.category, r.event_type, r.ts FROM audit_records r
				WHERE (r.tx_id, r.id) > ($2::xid8, $3) AND r.tx_id < pg_snapshot_xmin(pg_current_snapshot())
				ORDER BY r.tx_id, r.id LIMIT $1),
			catalog AS (
				INSERT INTO audit_actions (action, category, event_type, count, first_seen, last_seen)
				SELECT action, category, event_type, count(*), min(ts), max(ts) FROM batch GROUP BY 1, 2, 3
				ON CONFLICT (action, category, event_type) DO UPDATE SET
					count = audit_actions.count + EXCLUDED.count,
					first_seen = LEAST(audit_actions.first_seen, EXCLUDED.first_seen),
					last_seen = GREATEST(audit_actions.last_seen, EXCLUDED.last_seen)),
			queued AS (
				INSERT INTO deliveries (subscriber_id, record_id, record_minute)
				SELECT s.id, b.id, b.minute FROM batch b JOIN subscribers s ON b.action = ANY (s.actions) ORDER BY b.tx_id, b.id, s.id),
			newest AS (SELECT tx_id, id FROM batch ORDER BY tx_id DESC, id DESC LIMIT 1)
			SELECT (SELECT count(*) FROM batch), (SELECT tx_id::text FROM newest), (SELECT id FROM newest)`, limit, curTx, curID).Scan(&n, &last, &lastID)
		if err != nil || last == nil {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE dispatch_cursor SET tx_id = $1::xid8, record_id = $2", *last, *lastID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: dispatch: %w", err)
	}
	return n, nil
}

// ClaimSubscriber takes the lease of a subscriber that has deliveries due
// and no other server delivering to it, for the given time. It returns
// false when there is none to take.
func (s *Store) ClaimSubscriber(ctx context.Context, owner string, lease time.Duration, exclude []int64) (Subscriber, bool, error) {
	rows, _ := s.pool.Query(ctx, `UPDATE subscribers SET lease_owner = $1, lease_until = now() + $2::interval
		WHERE id = (SELECT s.id FROM subscribers s
			WHERE NOT s.paused AND (s.lease_until IS NULL OR s.lease_until < now())
			AND (s.next_attempt_at IS NULL OR s.next_attempt_at <= now())
			AND NOT s.id = ANY ($3)
			AND EXISTS (SELECT 1 FROM deliveries d WHERE d.subscriber_id = s.id)
			ORDER BY s.next_attempt_at NULLS FIRST, s.id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+subscriberColumns, owner, lease, exclude)
	sub, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Subscriber])
	if errors.Is(err, pgx.ErrNoRows) {
		return Subscriber{}, false, nil
	}
	if err != nil {
		return Subscriber{}, false, fmt.Errorf("store: claim subscriber: %w", err)
	}
	return sub, true, nil
}

// Delivery is a queued record for a subscriber.
type Delivery struct {
	ID       int64  `db:"id"`
	RecordID int64  `db:"record_id"`
	Action   string `db:"action"`
	Body     []byte `db:"body"`
}

// NextDeliveries returns the oldest queued deliveries of a subscriber.
func (s *Store) NextDeliveries(ctx context.Context, subscriberID int64, limit int) ([]Delivery, error) {
	rows, _ := s.pool.Query(ctx, `SELECT d.id, d.record_id, r.action, r.body::bytea AS body FROM deliveries d
		JOIN audit_records r ON r.id = d.record_id AND r.minute = d.record_minute WHERE d.subscriber_id = $1 ORDER BY d.id LIMIT $2`, subscriberID, limit)
	ds, err := pgx.CollectRows(rows, pgx.RowToStructByName[Delivery])
	if err != nil {
		return nil, fmt.Errorf("store: next deliveries: %w", err)
	}
	return ds, nil
}

// Delivered removes the acknowledged deliveries of a subscriber up to
// deliveryID (n of them) and renews the lease, if the lease is still this
// owner's; false when it is not (another server took over, and delivers
// those again: at least once).
func (s *Store) Delivered(ctx context.Context, subscriberID, deliveryID int64, n int, owner string, lease time.Duration) (bool, error) {
	var ok bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE subscribers SET lease_until = now() + $3::interval, last_delivered_at = now(),
			delivered_count = delivered_count + $4, failing_since = NULL, attempts = 0, next_attempt_at = NULL
			WHERE id = $1 AND lease_owner = $2`, subscriberID, owner, lease, n)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		ok = true
		_, err = tx.Exec(ctx, "DELETE FROM deliveries WHERE subscriber_id = $1 AND id <= $2", subscriberID, deliveryID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: delivered: %w", err)
	}
	return ok, nil
}

// DeliveryFailed records a failed attempt: the next one waits for retry,
// and a subscriber failing for longer than pauseAfter is paused.
func (s *Store) DeliveryFailed(ctx context.Context, subscriberID int64, owner, msg string, retry, pauseAfter time.Duration) error {
	_, err := s.pool.Exec(ctx, `UPDATE subscribers SET attempts = attempts + 1, last_error = $3, last_error_at = now(),
		failing_since = COALESCE(failing_since, now()), next_attempt_at = now() + $4::interval,
		paused = (now() - COALESCE(failing_since, now())) > $5::interval,
		lease_owner = NULL, lease_until = NULL
		WHERE id = $1 AND lease_owner = $2`, subscriberID, owner, msg, retry, pauseAfter)
	if err != nil {
		return fmt.Errorf("store: delivery failed: %w", err)
	}
	return nil
}

// ReleaseSubscriber gives up the lease.
func (s *Store) ReleaseSubscriber(ctx context.Context, subscriberID int64, owner string) error {
	_, err := s.pool.Exec(ctx, "UPDATE subscribers SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2", subscriberID, owner)
	if err != nil {
		return fmt.Errorf("store: release subscriber: %w", err)
	}
	return nil
}
