package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// SigningKey is a private key that signs access tokens.
type SigningKey struct {
	KID        string     `db:"kid"`
	Algorithm  string     `db:"algorithm"`
	PrivateKey []byte     `db:"private_key"`
	CreatedAt  time.Time  `db:"created_at"`
	RetiredAt  *time.Time `db:"retired_at"`
}

// signingKeyLock serialises the creation of the first signing key.
const signingKeyLock = 0x6b657973 // "keys"

// SigningKeys returns every signing key, newest first.
func (s *Store) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	rows, _ := s.pool.Query(ctx, `SELECT kid, algorithm, private_key, created_at, retired_at
		FROM signing_keys ORDER BY created_at DESC, kid`)
	keys, err := pgx.CollectRows(rows, pgx.RowToStructByName[SigningKey])
	if err != nil {
		return nil, fmt.Errorf("store: signing keys: %w", err)
	}
	return keys, nil
}

// EnsureSigningKey stores the key that newKey makes unless an active key
// exists already. Several servers starting at once end up with one key.
func (s *Store) EnsureSigningKey(ctx context.Context, newKey func() (SigningKey, error)) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", signingKeyLock); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM signing_keys WHERE retired_at IS NULL").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		k, err := newKey()
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO signing_keys (kid, algorithm, private_key) VALUES ($1, $2, $3)",
			k.KID, k.Algorithm, k.PrivateKey)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: ensure signing key: %w", err)
	}
	return nil
}

// URLSecrets returns the secrets that sign download locations, newest first,
// creating one from newSecret when there is none.
func (s *Store) URLSecrets(ctx context.Context, newSecret func() ([]byte, error)) ([][]byte, error) {
	var secrets [][]byte
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", signingKeyLock); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, "SELECT secret FROM url_signing_secrets ORDER BY id DESC")
		var err error
		secrets, err = pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil || len(secrets) > 0 {
			return err
		}
		secret, err := newSecret()
		if err != nil {
			return err
		}
		secrets = [][]byte{secret}
		_, err = tx.Exec(ctx, "INSERT INTO url_signing_secrets (secret) VALUES ($1)", secret)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: url secrets: %w", err)
	}
	return secrets, nil
}
