package auth

import (
	"context"
	"fmt"

	"github.com/auditgraph/auditgraph/store"
)

// Statuses tells what became of a token's user and the token since it was
// issued; *store.Store is one.
type Statuses interface {
	TokenStatus(ctx context.Context, user, jti string) (store.TokenStatus, error)
}

// Gate verifies access tokens and then checks that they still stand: the
// user exists and is enabled, the password has not changed since, and the
// token was not revoked. It looks each time, so a disabled user's or a
// revoked token is refused on the next request.
type Gate struct {
	tokens   *Tokens
	statuses Statuses
}

// NewGate returns a Gate over tokens and statuses.
func NewGate(tokens *Tokens, statuses Statuses) *Gate {
	return &Gate{tokens: tokens, statuses: statuses}
}

// Verify checks raw as Tokens.Verify does, then whether it still stands.
func (g *Gate) Verify(ctx context.Context, raw string) (*Principal, error) {
	p, err := g.tokens.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	st, err := g.statuses.TokenStatus(ctx, p.Subject, p.TokenID)
	if err != nil {
		return nil, fmt.Errorf("auth: check token: %w", err)
	}
	switch {
	case st.Revoked:
		return nil, fmt.Errorf("%w: the access token was revoked", ErrInvalidToken)
	case !st.UserExists:
		return nil, fmt.Errorf("%w: the access token's user no longer exists", ErrInvalidToken)
	case st.Disabled:
		return nil, fmt.Errorf("%w: the access token's user is disabled", ErrInvalidToken)
	case st.TokenGeneration != p.Generation:
		return nil, fmt.Errorf("%w: the access token was issued before the user was disabled or their password changed; request a new one", ErrInvalidToken)
	}
	return p, nil
}
