package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Setting returns the value of a named setting; ErrNotFound when unset.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, "SELECT value FROM settings WHERE name = $1", name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: setting %s: %w", name, err)
	}
	return v, nil
}

// SetSetting sets a named setting and returns its previous value ("" when
// it had none).
func (s *Store) SetSetting(ctx context.Context, name, value string) (string, error) {
	var old *string
	err := s.pool.QueryRow(ctx, `WITH prev AS (SELECT value FROM settings WHERE name = $1)
		INSERT INTO settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
		RETURNING (SELECT value FROM prev)`, name, value).Scan(&old)
	if err != nil {
		return "", fmt.Errorf("store: set setting %s: %w", name, err)
	}
	if old == nil {
		return "", nil
	}
	return *old, nil
}

// RevokeToken records that the token jti, valid until expires, is revoked.
func (s *Store) RevokeToken(ctx context.Context, jti string, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, jti, expires)
	if err != nil {
		return fmt.Errorf("store: revoke token: %w", err)
	}
	return nil
}

// TokenStatus is what decides whether a verified token still works.
type TokenStatus struct {
	UserExists      bool
	Disabled        bool
	TokenGeneration int
	Revoked         bool
}

// TokenStatus looks up the user a token speaks for and whether the token
// was revoked, in one round trip.
func (s *Store) TokenStatus(ctx context.Context, user, jti string) (TokenStatus, error) {
	var st TokenStatus
	err := s.pool.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM users WHERE name = $1),
			COALESCE((SELECT disabled FROM users WHERE name = $1), false),
			COALESCE((SELECT token_generation FROM users WHERE name = $1), 0),
			EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $2)`, user, jti).
		Scan(&st.UserExists, &st.Disabled, &st.TokenGeneration, &st.Revoked)
	if err != nil {
		return TokenStatus{}, fmt.Errorf("store: token status: %w", err)
	}
	return st, nil
}

// Throttle says how login failures are counted and how long a key is
// slowed down.
type Throttle struct {
	Threshold int           // failures in Window before the key is slowed
	Window    time.Duration // failures older than this are forgotten
	Delay     time.Duration // the first delay, doubled with each further failure
	MaxDelay  time.Duration
}

// BlockedUntil returns until when key is throttled (zero when it is not).
func (s *Store) BlockedUntil(ctx context.Context, key string) (time.Time, error) {
	var until *time.Time
	err := s.pool.QueryRow(ctx, "SELECT blocked_until FROM login_failures WHERE key = $1", key).Scan(&until)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && until == nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("store: login throttle: %w", err)
	}
	return *until, nil
}

// RecordLoginFailure counts a failed login for key at now and returns until
// when the key is throttled (zero when below the threshold).
func (s *Store) RecordLoginFailure(ctx context.Context, key string, now time.Time, t Throttle) (time.Time, error) {
	var failures int
	err := s.pool.QueryRow(ctx, `INSERT INTO login_failures (key, failures, window_start) VALUES ($1, 1, $2)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN login_failures.window_start < $2 - $3::interval
				AND (login_failures.blocked_until IS NULL OR login_failures.blocked_until < $2 - $3::interval)
				THEN 1 ELSE login_failures.failures + 1 END,
			window_start = CASE WHEN login_failures.window_start < $2 - $3::interval
				AND (login_failures.blocked_until IS NULL OR login_failures.blocked_until < $2 - $3::interval)
				THEN $2 ELSE login_failures.window_start END
		RETURNING failures`, key, now, t.Window).Scan(&failures)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: login failure: %w", err)
	}
	if failures < t.Threshold {
		return time.Time{}, nil
	}
	delay := t.Delay
	for i := t.Threshold; i < failures && delay < t.MaxDelay; i++ {
		delay *= 2
	}
	delay = min(delay, t.MaxDelay)
	until := now.Add(delay)
	if _, err := s.pool.Exec(ctx, "UPDATE login_failures SET blocked_until = $2 WHERE key = $1", key, until); err != nil {
		return time.Time{}, fmt.Errorf("store: login failure: %w", err)
	}
	return until, nil
}

// ClearLoginFailures forgets the failures of key, after a good login.
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, "DELETE FROM login_failures WHERE key = $1", key); err != nil {
		return fmt.Errorf("store: clear login failures: %w", err)
	}
	return nil
}

// Users lists every user by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+userColumns+" FROM users ORDER BY name")
	us, err := pgx.CollectRows(rows, pgx.RowToStructByName[User])
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	return us, nil
}

// SetUserDisabled disables or enables a user. Disabling ends the user's
// tokens; ErrNotFound when there is no such user.
func (s *Store) SetUserDisabled(ctx context.Context, name string, disabled bool) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET disabled = $2,
		token_generation = token_generation + CASE WHEN $2 THEN 1 ELSE 0 END WHERE name = $1`, name, disabled)
	return affected(tag.RowsAffected(), err, "set user disabled")
}

// SetPassword changes a user's password hash and ends their tokens.
func (s *Store) SetPassword(ctx context.Context, name, hash string) error {
	tag, err := s.pool.Exec(ctx, "UPDATE users SET password_hash = $2, token_generation = token_generation + 1 WHERE name = $1", name, hash)
	return affected(tag.RowsAffected(), err, "set password")
}

// DeleteUser removes a user; their tokens stop working with them.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM users WHERE name = $1", name)
	return affected(tag.RowsAffected(), err, "delete user")
}

func affected(n int64, err error, op string) error {
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// RotateSigningKey stores a new signing key and retires the ones before
// it: they still verify what they signed, and sign nothing more.
func (s *Store) RotateSigningKey(ctx context.Context, k SigningKey) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", signingKeyLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO signing_keys (kid, algorithm, private_key) VALUES ($1, $2, $3)", k.KID, k.Algorithm, k.PrivateKey)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: rotate signing key: %w", err)
	}
	return nil
}
