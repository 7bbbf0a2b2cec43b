package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/auditgraph/auditgraph/store"
	"github.com/golang-jwt/jwt/v5"
)

// Keys is where signing keys are kept; *store.Store is one.
type Keys interface {
	SigningKeys(ctx context.Context) ([]store.SigningKey, error)
	EnsureSigningKey(ctx context.Context, newKey func() (store.SigningKey, error)) error
}

// TokenType is the JWT "typ" of access tokens (RFC 9068).
const TokenType = "at+jwt"

// TokenLifetime is how long an access token is valid.
const TokenLifetime = time.Hour

// leeway absorbs small clock differences between servers sharing a database.
const leeway = 5 * time.Second

// reloadEvery bounds how often an unknown key id makes Tokens read the keys
// again, so that a flood of forged key ids cannot flood the database.
const reloadEvery = 5 * time.Second

// ErrInvalidToken is wrapped by every error of Tokens.Verify; the message
// says what is wrong, fit for a client.
var ErrInvalidToken = errors.New("invalid token")

// Claims are the claims of an access token, shaped after RFC 9068.
type Claims struct {
	jwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	// Generation is the user's token generation at issue (see Gate).
	Generation int `json:"gen,omitempty"`
}

// Principal is the caller a valid access token speaks for.
type Principal struct {
	Subject    string
	ClientID   string
	Scopes     []string
	TokenID    string
	IssuedAt   time.Time
	ExpiresAt  time.Time
	Generation int
}

// Has tells whether the token carries scope.
func (p *Principal) Has(scope string) bool {
	for _, s := range p.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Tokens issues and verifies access tokens. The keys live in the database,
// so tokens stay valid across restarts and on every server sharing it.
type Tokens struct {
	keys     Keys
	issuer   string
	audience string
	now      func() time.Time

	mu       sync.RWMutex
	signing  ed25519.PrivateKey
	kid      string
	public   map[string]ed25519.PublicKey // keys that verify tokens
	all      map[string]ed25519.PublicKey // every key, retired ones too
	loadedAt time.Time
}

// NewTokens makes sure a signing key exists and loads the keys.
func NewTokens(ctx context.Context, keys Keys, issuer, audience string) (*Tokens, error) {
	t := &Tokens{keys: keys, issuer: issuer, audience: audience, now: time.Now}
	if err := keys.EnsureSigningKey(ctx, NewSigningKey); err != nil {
		return nil, err
	}
	if err := t.load(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

// NewSigningKey makes a fresh Ed25519 key with a random key id.
func NewSigningKey() (store.SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("auth: new signing key: %w", err)
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return store.SigningKey{}, fmt.Errorf("auth: new signing key: %w", err)
	}
	return store.SigningKey{KID: hex.EncodeToString(id), Algorithm: "EdDSA", PrivateKey: priv.Seed()}, nil
}

func (t *Tokens) load(ctx context.Context) error {
	keys, err := t.keys.SigningKeys(ctx)
	if err != nil {
		return err
	}
	public := make(map[string]ed25519.PublicKey, len(keys))
	all := make(map[string]ed25519.PublicKey, len(keys))
	var signing ed25519.PrivateKey
	var kid string
	for _, k := range keys {
		if k.Algorithm != "EdDSA" || len(k.PrivateKey) != ed25519.SeedSize {
			continue
		}
		priv := ed25519.NewKeyFromSeed(k.PrivateKey)
		all[k.KID] = priv.Public().(ed25519.PublicKey)
		// A retired key verifies tokens only while a token it signed may
		// still be valid; digests it signed stay verifiable through all.
		if k.RetiredAt == nil || t.now().Sub(*k.RetiredAt) < TokenLifetime+leeway {
			public[k.KID] = all[k.KID]
		}
		if signing == nil && k.RetiredAt == nil {
			signing, kid = priv, k.KID // keys come newest first
		}
	}
	if signing == nil {
		return errors.New("auth: no active signing key")
	}
	t.mu.Lock()
	t.signing, t.kid, t.public, t.all, t.loadedAt = signing, kid, public, all, t.now()
	t.mu.Unlock()
	return nil
}

// Issue signs an access token for subject, valid for TokenLifetime from
// issuedAt.
func (t *Tokens) Issue(subject, clientID, scope string, issuedAt time.Time, lifetime time.Duration) (string, error) {
	tok, _, err := t.issue(subject, clientID, scope, 0, issuedAt, lifetime)
	return tok, err
}

// issue is Issue for a user's token generation, that also returns the
// token's id (jti).
func (t *Tokens) issue(subject, clientID, scope string, generation int, issuedAt time.Time, lifetime time.Duration) (string, string, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return "", "", fmt.Errorf("auth: issue: %w", err)
	}
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   subject,
			Audience:  jwt.ClaimStrings{t.audience},
			ExpiresAt: jwt.NewNumericDate(issuedAt.Add(lifetime)),
			IssuedAt:  jwt.NewNumericDate(issuedAt),
			ID:        hex.EncodeToString(id),
		},
		ClientID:   clientID,
		Scope:      scope,
		Generation: generation,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["typ"] = TokenType
	t.mu.RLock()
	tok.Header["kid"] = t.kid
	key := t.signing
	t.mu.RUnlock()
	s, err := tok.SignedString(key)
	if err != nil {
		return "", "", fmt.Errorf("auth: issue: %w", err)
	}
	return s, claims.ID, nil
}

// Verify checks an access token: algorithm, type, key, signature, issuer,
// audience and expiry.
func (t *Tokens) Verify(ctx context.Context, raw string) (*Principal, error) {
	var claims Claims
	_, err := jwt.ParseWithClaims(raw, &claims, func(tok *jwt.Token) (any, error) {
		if typ, _ := tok.Header["typ"].(string); !strings.EqualFold(strings.TrimPrefix(typ, "application/"), TokenType) {
			return nil, errors.New("not an access token")
		}
		kid, _ := tok.Header["kid"].(string)
		return t.publicKey(ctx, kid)
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(t.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(t.now),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, fmt.Errorf("%w: the access token has expired; request a new one", ErrInvalidToken)
	case err != nil:
		return nil, fmt.Errorf("%w: the access token is not valid", ErrInvalidToken)
	case claims.Subject == "" || claims.ID == "" || claims.IssuedAt == nil:
		return nil, fmt.Errorf("%w: the access token is not valid", ErrInvalidToken)
	}
	return &Principal{
		Subject:    claims.Subject,
		ClientID:   claims.ClientID,
		Scopes:     strings.Fields(claims.Scope),
		TokenID:    claims.ID,
		IssuedAt:   claims.IssuedAt.Time,
		ExpiresAt:  claims.ExpiresAt.Time,
		Generation: claims.Generation,
	}, nil
}

func (t *Tokens) publicKey(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	t.mu.RLock()
	key, ok := t.public[kid]
	stale := t.now().Sub(t.loadedAt) > reloadEvery
	t.mu.RUnlock()
	if ok {
		return key, nil
	}
	if kid != "" && stale {
		// Another server may have made a key since we loaded ours.
		if err := t.load(ctx); err != nil {
			return nil, err
		}
		t.mu.RLock()
		key, ok = t.public[kid]
		t.mu.RUnlock()
		if ok {
			return key, nil
		}
	}
	return nil, errors.New("unknown key id")
}

// refresh reloads the keys when they are older than reloadEvery, so that
// a key rotated by another process signs here within seconds.
func (t *Tokens) refresh(ctx context.Context) error {
	t.mu.RLock()
	stale := t.now().Sub(t.loadedAt) > reloadEvery
	t.mu.RUnlock()
	if !stale {
		return nil
	}
	return t.load(ctx)
}

// Sign signs payload with the current signing key, for digests.
func (t *Tokens) Sign(payload []byte) (keyID string, signature []byte) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.kid, ed25519.Sign(t.signing, payload)
}

// PublicKeys returns every key, retired ones too, by id: they verify the
// digests they signed.
func (t *Tokens) PublicKeys(ctx context.Context) (map[string]ed25519.PublicKey, error) {
	if err := t.load(ctx); err != nil {
		return nil, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	keys := make(map[string]ed25519.PublicKey, len(t.all))
	for k, v := range t.all {
		keys[k] = v
	}
	return keys, nil
}
