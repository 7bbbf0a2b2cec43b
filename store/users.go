package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// User is an account that may obtain tokens.
type User struct {
	ID           int64     `db:"id"`
	Name         string    `db:"name"`
	Role         string    `db:"role"`
	PasswordHash string    `db:"password_hash"`
	Disabled     bool      `db:"disabled"`
	CreatedAt    time.Time `db:"created_at"`
	// TokenGeneration moves on when the user's tokens must end.
	TokenGeneration int `db:"token_generation"`
}

const userColumns = "id, name, role, password_hash, disabled, created_at, token_generation"

// CreateUser adds a user; ErrExists when the name is taken.
func (s *Store) CreateUser(ctx context.Context, name, role, passwordHash string) (User, error) {
	rows, _ := s.pool.Query(ctx, `INSERT INTO users (name, role, password_hash) VALUES ($1, $2, $3)
		RETURNING `+userColumns, name, role, passwordHash)
	u, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[User])
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return User{}, fmt.Errorf("store: create user %q: %w", name, ErrExists)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: create user: %w", err)
	}
	return u, nil
}

// UserByName returns the user called name; ErrNotFound when there is none.
func (s *Store) UserByName(ctx context.Context, name string) (User, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+userColumns+" FROM users WHERE name = $1", name)
	u, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[User])
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user by name: %w", err)
	}
	return u, nil
}
