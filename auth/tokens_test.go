package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/store"
	"github.com/golang-jwt/jwt/v5"
)

// segments splits a compact JWS into its three parts.
func segments(t *testing.T, raw string) (header, payload, sig string) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts, want 3", raw, len(parts))
	}
	return parts[0], parts[1], parts[2]
}

// decodeJSON decodes one base64url segment of a JWT.
func decodeJSON(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("segment %q is not base64url without padding: %v", seg, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("segment %s is not a JSON object: %v", b, err)
	}
	return m
}

func encodeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// activeKey returns the newest key in the database and its private key.
func activeKey(t *testing.T, st *store.Store) (store.SigningKey, ed25519.PrivateKey) {
	t.Helper()
	keys, err := st.SigningKeys(context.Background())
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	if len(keys) == 0 {
		t.Fatal("no signing key in the database")
	}
	return keys[0], ed25519.NewKeyFromSeed(keys[0].PrivateKey)
}

// validClaims are the claims Issue would put in a token issued at now.
func validClaims(now time.Time) Claims {
	return Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    testIssuer,
			Subject:   "alice",
			Audience:  jwt.ClaimStrings{testAudience},
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        "0123456789abcdef0123456789abcdef",
		},
		ClientID: PublicClientID,
		Scope:    "audit:read",
	}
}

// sign makes a token the way an attacker (or a buggy peer) could: any
// method, key, header and claims. A nil header value removes the field.
func sign(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func TestNewTokensMakesOneKey(t *testing.T) {
	st, _ := newStore(t)
	t1 := newTokens(t, st)
	t2 := newTokens(t, st)
	keys, err := st.SigningKeys(context.Background())
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	if len(keys) != 1 {
		t.Fatalf("two NewTokens on one database made %d keys, want 1", len(keys))
	}
	k := keys[0]
	if k.Algorithm != "EdDSA" || len(k.PrivateKey) != ed25519.SeedSize || k.KID == "" || k.RetiredAt != nil {
		t.Errorf("key = {kid %q, alg %q, %d-byte private key, retired %v}; want an active EdDSA key with a %d-byte seed",
			k.KID, k.Algorithm, len(k.PrivateKey), k.RetiredAt, ed25519.SeedSize)
	}
	if t1.kid != k.KID || t2.kid != k.KID {
		t.Errorf("Tokens sign with kids %q and %q, want the stored key %q", t1.kid, t2.kid, k.KID)
	}
}

// Several servers starting at once on an empty database end with one key.
func TestNewTokensConcurrentMakeOneKey(t *testing.T) {
	st, pool := newStore(t)
	const n = 8
	kids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tokens, err := NewTokens(context.Background(), store.New(pool), testIssuer, testAudience)
			if err != nil {
				t.Errorf("NewTokens: %v", err)
				return
			}
			kids[i] = tokens.kid
		}()
	}
	wg.Wait()
	keys, err := st.SigningKeys(context.Background())
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	if len(keys) != 1 {
		t.Fatalf("%d concurrent NewTokens made %d keys, want 1", n, len(keys))
	}
	for i, kid := range kids {
		if kid != keys[0].KID {
			t.Errorf("Tokens %d signs with %q, want %q", i, kid, keys[0].KID)
		}
	}
}

func TestIssueVerify(t *testing.T) {
	st, _ := newStore(t)
	tokens := newTokens(t, st)
	issuedAt := time.Now().Truncate(time.Second)
	raw, err := tokens.Issue("alice", PublicClientID, "audit:read audit:write", issuedAt, TokenLifetime)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	p, err := tokens.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if p.Subject != "alice" || p.ClientID != PublicClientID || !slices.Equal(p.Scopes, []string{"audit:read", "audit:write"}) {
		t.Errorf("principal = %+v; want subject alice, client %s, scopes [audit:read audit:write]", p, PublicClientID)
	}
	if len(p.TokenID) != 32 {
		t.Errorf("TokenID = %q, want 32 hex digits", p.TokenID)
	}
	if want := issuedAt.Add(TokenLifetime); !p.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v", p.ExpiresAt, want)
	}
	if !p.IssuedAt.Equal(issuedAt) {
		t.Errorf("IssuedAt = %v, want %v", p.IssuedAt, issuedAt)
	}
	if !p.Has("audit:read") || !p.Has("audit:write") || p.Has("admin") || p.Has("audit") {
		t.Errorf("Has is wrong for scopes %v", p.Scopes)
	}

	h, pl, _ := segments(t, raw)
	header := decodeJSON(t, h)
	if header["typ"] != "at+jwt" || header["alg"] != "EdDSA" {
		t.Errorf("header = %v; want typ at+jwt, alg EdDSA", header)
	}
	if kid, _ := header["kid"].(string); kid == "" || kid != tokens.kid {
		t.Errorf("header kid = %v, want %q", header["kid"], tokens.kid)
	}
	claims := decodeJSON(t, pl)
	for _, name := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"} {
		if _, ok := claims[name]; !ok {
			t.Errorf("claim %q missing from %v", name, claims)
		}
	}
	if claims["iss"] != testIssuer || claims["sub"] != "alice" || claims["client_id"] != PublicClientID ||
		claims["scope"] != "audit:read audit:write" || claims["jti"] != p.TokenID {
		t.Errorf("claims = %v", claims)
	}
	switch aud := claims["aud"].(type) {
	case string:
		if aud != testAudience {
			t.Errorf("aud = %q, want %q", aud, testAudience)
		}
	case []any:
		if len(aud) != 1 || aud[0] != testAudience {
			t.Errorf("aud = %v, want [%q]", aud, testAudience)
		}
	default:
		t.Errorf("aud = %#v, want %q", aud, testAudience)
	}
	if exp, iat := claims["exp"], claims["iat"]; exp != float64(issuedAt.Add(TokenLifetime).Unix()) || iat != float64(issuedAt.Unix()) {
		t.Errorf("exp, iat = %v, %v; want %d, %d", exp, iat, issuedAt.Add(TokenLifetime).Unix(), issuedAt.Unix())
	}

	// Each token has its own id.
	raw2, err := tokens.Issue("alice", PublicClientID, "audit:read audit:write", issuedAt, TokenLifetime)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if p2, err := tokens.Verify(context.Background(), raw2); err != nil || p2.TokenID == p.TokenID {
		t.Errorf("second token: %+v, %v; want its own token id", p2, err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	tokens := newTokens(t, st)
	key, priv := activeKey(t, st)
	pub := priv.Public().(ed25519.PublicKey)
	now := time.Now()
	good := map[string]any{"typ": TokenType, "kid": key.KID}

	// The forging helper makes tokens Verify takes, so each refusal below
	// is for the one thing that case changes.
	control := sign(t, jwt.SigningMethodEdDSA, priv, good, validClaims(now))
	if p, err := tokens.Verify(ctx, control); err != nil || p.Subject != "alice" {
		t.Fatalf("control token refused: %v", err)
	}

	issued, err := tokens.Issue("alice", PublicClientID, "audit:read", now, TokenLifetime)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	h, pl, sig := segments(t, issued)

	other, _ := newStore(t)
	otherTokens := newTokens(t, other)

	for _, tc := range []struct {
		name, raw string
		mention   string // the error must say this
	}{
		{name: "expired", mention: "expired", raw: func() string {
			s, err := tokens.Issue("alice", PublicClientID, "audit:read", now.Add(-2*time.Hour), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}()},
		{name: "expired, forged", mention: "expired", raw: func() string {
			c := validClaims(now.Add(-2 * time.Hour))
			return sign(t, jwt.SigningMethodEdDSA, priv, good, c)
		}()},
		{name: "tampered payload", raw: func() string {
			claims := decodeJSON(t, pl)
			claims["scope"] = "admin audit:read audit:write"
			return h + "." + encodeJSON(t, claims) + "." + sig
		}()},
		{name: "tampered subject", raw: func() string {
			claims := decodeJSON(t, pl)
			claims["sub"] = "root"
			return h + "." + encodeJSON(t, claims) + "." + sig
		}()},
		{name: "tampered signature", raw: func() string {
			b, err := base64.RawURLEncoding.DecodeString(sig)
			if err != nil {
				t.Fatal(err)
			}
			b[0] ^= 1
			return h + "." + pl + "." + base64.RawURLEncoding.EncodeToString(b)
		}()},
		{name: "truncated signature", raw: h + "." + pl + "." + sig[:len(sig)-4]},
		{name: "no signature", raw: h + "." + pl + "."},
		{name: "alg none", raw: sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good, validClaims(now))},
		{name: "alg none, original payload", raw: encodeJSON(t, map[string]any{"alg": "none", "typ": TokenType, "kid": key.KID}) + "." + pl + "."},
		{name: "HS256 with the public key as secret", raw: sign(t, jwt.SigningMethodHS256, []byte(pub), good, validClaims(now))},
		{name: "typ JWT", raw: sign(t, jwt.SigningMethodEdDSA, priv, map[string]any{"typ": "JWT", "kid": key.KID}, validClaims(now))},
		{name: "no typ", raw: sign(t, jwt.SigningMethodEdDSA, priv, map[string]any{"typ": nil, "kid": key.KID}, validClaims(now))},
		{name: "wrong issuer", raw: func() string {
			c := validClaims(now)
			c.Issuer = "https://evil.test"
			return sign(t, jwt.SigningMethodEdDSA, priv, good, c)
		}()},
		{name: "no issuer", raw: func() string {
			c := validClaims(now)
			c.Issuer = ""
			return sign(t, jwt.SigningMethodEdDSA, priv, good, c)
		}()},
		{name: "wrong audience", raw: func() string {
			c := validClaims(now)
			c.Audience = jwt.ClaimStrings{"another-api"}
			return sign(t, jwt.SigningMethodEdDSA, priv, good, c)
		}()},
		{name: "no audience", raw: func() string {
			c := validClaims(now)
			c.Audience = nil
			return sign(t, jwt.SigningMethodEdDSA, priv, good, c)
		}()},
		{name: "missing exp", raw: func() string {
			c := validClaims(now)
			c.ExpiresAt = nil
			return sign(t, jwt.SigningMethodEdDSA, priv, good, c)
		}()},
		{name: "issued in the future", raw: func() string {
			c := validClaims(now.Add(time.Minute))
			return sign(t, jwt.SigningMethodEdDSA, priv, good, c)
		}()},
		{name: "not yet valid", raw: func() string {
			c := validClaims(now)
			c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute))
			return sign(t, jwt.SigningMethodEdDSA, priv, good, c)
		}()},
		{name: "missing sub", raw: func() string {
			c := validClaims(now)
			c.Subject = ""
			return sign(t, jwt.SigningMethodEdDSA, priv, good, c)
		}()},
		{name: "missing iat", raw: func() string {
			c := validClaims(now)
			c.IssuedAt = nil
			return sign(t, jwt.SigningMethodEdDSA, priv, good, c)
		}()},
		{name: "missing jti", raw: func() string {
			c := validClaims(now)
			c.ID = ""
			return sign(t, jwt.SigningMethodEdDSA, priv, good, c)
		}()},
		{name: "unknown kid", raw: sign(t, jwt.SigningMethodEdDSA, priv, map[string]any{"typ": TokenType, "kid": "0000000000000000"}, validClaims(now))},
		{name: "no kid", raw: sign(t, jwt.SigningMethodEdDSA, priv, map[string]any{"typ": TokenType, "kid": nil}, validClaims(now))},
		{name: "kid not a string", raw: sign(t, jwt.SigningMethodEdDSA, priv, map[string]any{"typ": TokenType, "kid": 7}, validClaims(now))},
		{name: "key of another database", raw: func() string {
			s, err := otherTokens.Issue("alice", PublicClientID, "audit:read", now, TokenLifetime)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}()},
		{name: "other key under our kid", raw: func() string {
			_, otherPriv := activeKey(t, other)
			return sign(t, jwt.SigningMethodEdDSA, otherPriv, good, validClaims(now))
		}()},
		{name: "empty", raw: ""},
		{name: "garbage", raw: "not-a-token"},
		{name: "two parts", raw: h + "." + pl},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tokens.Verify(ctx, tc.raw)
			if err == nil {
				t.Fatalf("Verify accepted the token: %+v", p)
			}
			if p != nil {
				t.Errorf("Verify returned a principal with its error: %+v", p)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("error %v does not wrap ErrInvalidToken", err)
			}
			if tc.mention != "" && !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
		})
	}

	// The other database's Tokens refuses ours too.
	if _, err := otherTokens.Verify(ctx, issued); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a Tokens of another database: Verify = %v, want ErrInvalidToken", err)
	}
}

// A token a little past its expiry is still taken within the leeway, and
// refused after it.
func TestVerifyLeeway(t *testing.T) {
	st, _ := newStore(t)
	tokens := newTokens(t, st)
	now := time.Now().Truncate(time.Second)
	raw, err := tokens.Issue("alice", PublicClientID, "audit:read", now.Add(-time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tokens.now = func() time.Time { return now.Add(leeway - time.Second) }
	if _, err := tokens.Verify(context.Background(), raw); err != nil {
		t.Errorf("inside the leeway: %v", err)
	}
	tokens.now = func() time.Time { return now.Add(leeway + time.Second) }
	if _, err := tokens.Verify(context.Background(), raw); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("past the leeway: %v, want an expired ErrInvalidToken", err)
	}
}

// Another server process on the same database, or this one after a
// restart, takes the tokens this one issued, and the other way round.
func TestTokensSharedAcrossInstances(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	first := newTokens(t, st)
	second := newTokens(t, store.New(pool))
	now := time.Now()
	for _, tc := range []struct {
		name           string
		issuer, verify *Tokens
	}{{"first to second", first, second}, {"second to first", second, first}} {
		raw, err := tc.issuer.Issue("bob", PublicClientID, "audit:write", now, TokenLifetime)
		if err != nil {
			t.Fatalf("%s: Issue: %v", tc.name, err)
		}
		p, err := tc.verify.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("%s: Verify: %v", tc.name, err)
		}
		if p.Subject != "bob" || !p.Has("audit:write") {
			t.Errorf("%s: principal %+v", tc.name, p)
		}
	}
}

// countingKeys counts the reads of the keys of a real store.
type countingKeys struct {
	Keys
	loads atomic.Int32
}

func (c *countingKeys) SigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	c.loads.Add(1)
	return c.Keys.SigningKeys(ctx)
}

// A key another server made after this one loaded its keys is picked up
// once the reload interval has passed, and not before.
func TestVerifyKeyMadeByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	keys := &countingKeys{Keys: st}
	first := newTokens(t, keys)
	oldKID := first.kid
	start := time.Now()
	first.now = func() time.Time { return start }
	first.loadedAt = start
	oldToken, err := first.Issue("alice", PublicClientID, "audit:read", start, TokenLifetime)
	if err != nil {
		t.Fatal(err)
	}

	// Another process rotates: a new active key, newer than the first.
	k, err := NewSigningKey()
	if err != nil {
		t.Fatalf("NewSigningKey: %v", err)
	}
	if k.Algorithm != "EdDSA" || len(k.PrivateKey) != ed25519.SeedSize || len(k.KID) != 16 || k.KID == oldKID {
		t.Fatalf("NewSigningKey = {kid %q, alg %q, %d-byte key}", k.KID, k.Algorithm, len(k.PrivateKey))
	}
	if _, err := pool.Exec(ctx, "INSERT INTO signing_keys (kid, algorithm, private_key) VALUES ($1, $2, $3)",
		k.KID, k.Algorithm, k.PrivateKey); err != nil {
		t.Fatalf("insert key: %v", err)
	}
	second := newTokens(t, st)
	if second.kid != k.KID {
		t.Fatalf("a Tokens made after the insert signs with %q, want the newest key %q", second.kid, k.KID)
	}
	newToken, err := second.Issue("carol", PublicClientID, "audit:read", time.Now(), TokenLifetime)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.Verify(ctx, oldToken); err != nil {
		t.Errorf("the new instance refuses a token of the older key: %v", err)
	}

	// Within the reload interval the first instance does not read the keys
	// again, so it does not know the new key yet.
	loads := keys.loads.Load()
	first.now = func() time.Time { return start.Add(reloadEvery - time.Second) }
	if _, err := first.Verify(ctx, newToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("within the reload interval: Verify = %v, want ErrInvalidToken", err)
	}
	if n := keys.loads.Load() - loads; n != 0 {
		t.Errorf("an unknown kid within the reload interval read the keys %d times, want 0", n)
	}

	// After it, the unknown kid makes it read them, once.
	later := time.Now().Add(reloadEvery + time.Second)
	first.now = func() time.Time { return later }
	p, err := first.Verify(ctx, newToken)
	if err != nil {
		t.Fatalf("after the reload interval: Verify of the other process's token: %v", err)
	}
	if p.Subject != "carol" {
		t.Errorf("principal %+v, want subject carol", p)
	}
	if n := keys.loads.Load() - loads; n != 1 {
		t.Errorf("reading the new key took %d loads, want 1", n)
	}
	if _, err := first.Verify(ctx, oldToken); err != nil {
		t.Errorf("after the reload the older key's token is refused: %v", err)
	}
	if first.kid != k.KID {
		t.Errorf("after the reload the first instance signs with %q, want the newest key %q", first.kid, k.KID)
	}

	// A flood of forged kids right after the reload does not read the keys
	// again.
	loads = keys.loads.Load()
	_, priv := activeKey(t, st)
	for i := range 20 {
		forged := sign(t, jwt.SigningMethodEdDSA, priv, map[string]any{"typ": TokenType, "kid": strings.Repeat("f", i+1)}, validClaims(time.Now()))
		if _, err := first.Verify(ctx, forged); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("forged kid: Verify = %v, want ErrInvalidToken", err)
		}
	}
	if n := keys.loads.Load() - loads; n != 0 {
		t.Errorf("20 unknown kids within the reload interval read the keys %d times, want 0", n)
	}
}

// A retired key stops signing but its tokens stay valid.
func TestRetiredKey(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	first := newTokens(t, st)
	oldToken, err := first.Issue("alice", PublicClientID, "audit:read", time.Now(), TokenLifetime)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "UPDATE signing_keys SET retired_at = now()"); err != nil {
		t.Fatal(err)
	}
	second := newTokens(t, st) // makes a new active key
	keys, err := st.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("%d keys, want 2 (retired, new)", len(keys))
	}
	if second.kid == first.kid || second.kid != keys[0].KID {
		t.Errorf("second instance signs with %q; want the new key %q", second.kid, keys[0].KID)
	}
	if _, err := second.Verify(ctx, oldToken); err != nil {
		t.Errorf("a token of the retired key is refused: %v", err)
	}
	newToken, err := second.Issue("bob", PublicClientID, "audit:read", time.Now(), TokenLifetime)
	if err != nil {
		t.Fatal(err)
	}
	if h, _, _ := segments(t, newToken); decodeJSON(t, h)["kid"] != second.kid {
		t.Errorf("the new token's kid is not the new key's")
	}
}

// A key row of another algorithm, even the newest, neither signs nor
// verifies.
func TestForeignKeyIgnored(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	first := newTokens(t, st)
	if _, err := pool.Exec(ctx, `INSERT INTO signing_keys (kid, algorithm, private_key, created_at)
		VALUES ('rsa-key', 'RS256', '\x0102', now() + interval '1 hour')`); err != nil {
		t.Fatal(err)
	}
	second := newTokens(t, st)
	if second.kid != first.kid {
		t.Errorf("second instance signs with %q, want the EdDSA key %q", second.kid, first.kid)
	}
	if _, ok := second.public["rsa-key"]; ok {
		t.Error("the RS256 row was loaded as an Ed25519 key")
	}
}

// A key retired longer ago than a token lives verifies no token any more,
// though it stays among the public keys (it verifies digests).
func TestLongRetiredKeyVerifiesNoToken(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	newTokens(t, st)
	old, err := NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO signing_keys (kid, algorithm, private_key, created_at, retired_at)
		VALUES ($1, $2, $3, now() - interval '1 day', $4)`,
		old.KID, old.Algorithm, old.PrivateKey, time.Now().Add(-(TokenLifetime + leeway + time.Minute))); err != nil {
		t.Fatal(err)
	}
	tokens := newTokens(t, st)
	raw := sign(t, jwt.SigningMethodEdDSA, ed25519.NewKeyFromSeed(old.PrivateKey),
		map[string]any{"typ": TokenType, "kid": old.KID}, validClaims(time.Now()))
	if p, err := tokens.Verify(ctx, raw); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a token signed with a key retired %v ago: %+v, %v; want ErrInvalidToken", TokenLifetime+leeway+time.Minute, p, err)
	}
	keys, err := tokens.PublicKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := keys[old.KID]; !ok || len(keys) != 2 {
		t.Errorf("PublicKeys has %d keys, with the retired one: %v; want 2, true", len(keys), ok)
	}
}
