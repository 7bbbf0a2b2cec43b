package auth

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/auditgraph/auditgraph/internal/pgtest"
	"github.com/auditgraph/auditgraph/store"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	testIssuer   = "https://auditgraph.test"
	testAudience = "auditgraph-api"
)

// quietLog discards what the endpoint logs.
var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// fastArgon2 keeps the endpoint tests quick; the parameters are read back
// from each hash, so nothing else changes.
var fastArgon2 = Argon2Params{MemoryKiB: 64, Iterations: 1, Threads: 1}

func fastHasher() *Hasher { return NewHasher(fastArgon2, 2) }

// newStore gives t a fresh migrated database.
func newStore(t testing.TB) (*store.Store, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.Pool(t)
	return store.New(pool), pool
}

// newTokens makes Tokens over keys, failing t on error.
func newTokens(t testing.TB, keys Keys) *Tokens {
	t.Helper()
	tokens, err := NewTokens(context.Background(), keys, testIssuer, testAudience)
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	return tokens
}

// createUser adds a user whose password is hashed with h.
func createUser(t testing.TB, st *store.Store, h *Hasher, name, role, password string) store.User {
	t.Helper()
	ctx := context.Background()
	hash, err := h.Hash(ctx, password)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	u, err := st.CreateUser(ctx, name, role, hash)
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}
