package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auditgraph/auditgraph/selfaudit"
	"github.com/auditgraph/auditgraph/store"
	"github.com/go-oauth2/oauth2/v4"
	oerrors "github.com/go-oauth2/oauth2/v4/errors"
	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/server"
)

// Users is where accounts are kept; *store.Store is one.
type Users interface {
	UserByName(ctx context.Context, name string) (store.User, error)
}

// PublicClientID is the client a token request without client credentials
// is taken to come from: curl users and scripts send none.
const PublicClientID = "auditgraph"

// MaxTokenRequest caps the token request body.
const MaxTokenRequest = 16 << 10

// TokenEndpoint serves the OAuth 2.0 password grant (RFC 6749 section 4.3)
// through go-oauth2, configured to take requests without a client id, to
// read parameters from the body only, and to answer errors with the status
// codes of RFC 6749 section 5.2.
type TokenEndpoint struct {
	users    Users
	hasher   *Hasher
	log      *slog.Logger
	srv      *server.Server
	throttle Throttler
	account  store.Throttle
	address  store.Throttle
	settings Settings
	audit    Auditor
	now      func() time.Time
}

// Throttler counts failed logins; *store.Store is one.
type Throttler interface {
	BlockedUntil(ctx context.Context, key string) (time.Time, error)
	RecordLoginFailure(ctx context.Context, key string, now time.Time, t store.Throttle) (time.Time, error)
	ClearLoginFailures(ctx context.Context, key string) error
}

// Settings reads environment-wide switches; *store.Store is one.
type Settings interface {
	Setting(ctx context.Context, name string) (string, error)
}

// Auditor records what the endpoint did; *selfaudit.Recorder is one.
type Auditor interface {
	Record(ctx context.Context, e selfaudit.Event) error
}

// GrantOption configures a TokenEndpoint.
type GrantOption func(*TokenEndpoint)

// WithThrottle slows down guessing: failed logins are counted per account
// and per client address, and a key past its threshold is refused with 429
// and Retry-After for a delay that doubles with each further failure.
// Accounts are keyed by the name sent, known or not, so that throttling
// tells nothing of which accounts exist.
func WithThrottle(t Throttler, account, address store.Throttle) GrantOption {
	return func(e *TokenEndpoint) { e.throttle, e.account, e.address = t, account, address }
}

// WithSettings makes the endpoint obey the password-grant switch.
func WithSettings(s Settings) GrantOption {
	return func(e *TokenEndpoint) { e.settings = s }
}

// WithAudit records every token request.
func WithAudit(a Auditor) GrantOption {
	return func(e *TokenEndpoint) { e.audit = a }
}

// PasswordGrantSetting is the name of the switch for the password grant.
const PasswordGrantSetting = "password-grant"

// grantState carries what the steps of one token request learned to the
// later ones, and to the audit record of the request.
type grantState struct {
	role       string
	generation int
	jti        string
	address    string
	failure    string // why the request failed, for the audit record
}

type grantStateKey struct{}

// NewTokenEndpoint configures go-oauth2 for the password grant.
func NewTokenEndpoint(users Users, hasher *Hasher, tokens *Tokens, log *slog.Logger, opts ...GrantOption) *TokenEndpoint {
	e := &TokenEndpoint{users: users, hasher: hasher, log: log, now: time.Now}
	for _, o := range opts {
		o(e)
	}

	manager := manage.NewDefaultManager()
	manager.SetPasswordTokenCfg(&manage.Config{AccessTokenExp: TokenLifetime})
	manager.MapClientStorage(clients{})
	manager.MapTokenStorage(noTokenStore{})
	manager.MapAccessGenerate(jwtGenerate{tokens})

	srv := server.NewServer(&server.Config{
		TokenType:         "Bearer",
		AllowedGrantTypes: []oauth2.GrantType{oauth2.PasswordCredentials},
	}, manager)
	srv.SetClientInfoHandler(clientInfo)
	srv.SetPasswordAuthorizationHandler(e.checkPassword)
	srv.SetClientScopeHandler(e.grantScope)
	srv.SetInternalErrorHandler(func(err error) *oerrors.Response {
		e.log.Error("token request failed", "err", err)
		return nil // answered as server_error
	})
	srv.SetResponseErrorHandler(fixError)
	e.srv = srv
	return e
}

// ServeHTTP checks the form the way RFC 6749 asks (body only, no repeated
// parameter, the grant type first) and hands the request to go-oauth2.
func (e *TokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request",
			"send the parameters in the request body as application/x-www-form-urlencoded, as curl -d does", nil)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxTokenRequest)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeOAuthError(w, http.StatusRequestEntityTooLarge, "invalid_request", "the request body is larger than 16 KiB", nil)
			return
		}
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the request body is not valid form encoding", nil)
		return
	}
	form := r.PostForm
	defer form.Del("password")
	for name, values := range form {
		if len(values) > 1 {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the parameter "+name+" is repeated; send it once", nil)
			return
		}
	}
	// Parameters in the URL query are not read: go-oauth2 reads r.Form.
	r.Form = form
	switch gt := form.Get("grant_type"); gt {
	case "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type is missing; send grant_type=password", nil)
		return
	case string(oauth2.PasswordCredentials):
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type",
			"grant_type "+quote(gt)+" is not supported; this server offers grant_type=password", nil)
		return
	}
	for _, name := range []string{"username", "password"} {
		if form.Get(name) == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", name+" is missing; send "+name+"=...", nil)
			return
		}
	}
	if _, _, basic := r.BasicAuth(); basic && (form.Has("client_id") || form.Has("client_secret")) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request",
			"client credentials were sent both in the Authorization header and in the body; send them one way", nil)
		return
	}
	st := &grantState{address: clientAddress(r)}
	username := form.Get("username")
	defer func() { e.record(r, username, st) }()
	ctx := r.Context()
	if e.settings != nil {
		if v, err := e.settings.Setting(ctx, PasswordGrantSetting); err == nil && v == "off" {
			st.failure = "authorization"
			writeOAuthError(w, http.StatusBadRequest, "unauthorized_client",
				"the password grant is turned off for this environment; an administrator turns it on with: auditgraph settings set password-grant on", nil)
			return
		}
	}
	if e.throttle != nil {
		for _, k := range []struct{ key, what string }{{"address:" + st.address, "from this address"}, {accountKey(username), "for this account"}} {
			until, err := e.throttle.BlockedUntil(ctx, k.key)
			if err != nil {
				e.log.Error("login throttle", "err", err)
				continue
			}
			if wait := until.Sub(e.now()); wait > 0 {
				secs := int(wait.Seconds()) + 1
				st.failure = "authentication"
				writeOAuthError(w, http.StatusTooManyRequests, "temporarily_unavailable",
					fmt.Sprintf("too many failed logins %s; try again in %d seconds", k.what, secs),
					http.Header{"Retry-After": {strconv.Itoa(secs)}})
				return
			}
		}
	}
	sw := &statusRecorder{ResponseWriter: w}
	if err := e.srv.HandleTokenRequest(sw, r.WithContext(context.WithValue(ctx, grantStateKey{}, st))); err != nil {
		e.log.Error("token response", "err", err)
	}
	if sw.status != http.StatusOK && st.failure == "" {
		st.failure = "authentication"
		if sw.status >= 500 {
			st.failure = "unknown"
		}
	}
}

// statusRecorder remembers the status go-oauth2 answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func accountKey(username string) string { return "account:" + strings.ToLower(username) }

// clientAddress is the address the request came from (the proxy's, behind
// one: the service trusts no forwarding header).
func clientAddress(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// record writes the audit record of a token request: who asked, from
// where, and the token's id on success. The password is never in it.
func (e *TokenEndpoint) record(r *http.Request, username string, st *grantState) {
	if e.audit == nil {
		return
	}
	ev := selfaudit.Event{
		Category: "user-access", Action: "access-token-request", ObjectType: "access-token", ObjectID: st.jti,
		Failure: st.failure, Actor: username, SessionID: st.jti,
		Attributes: map[string]any{"grantType": r.PostForm.Get("grant_type"), "scope": r.PostForm.Get("scope")},
	}.FromRequest(r)
	if err := e.audit.Record(context.WithoutCancel(r.Context()), ev); err != nil {
		e.log.Error("self-audit of a token request", "err", err)
	}
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// checkPassword returns the user name when the password is right, and
// exactly oerrors.ErrInvalidGrant otherwise: go-oauth2 compares errors by
// identity, and an unknown user must be answered like a wrong password.
func (e *TokenEndpoint) checkPassword(ctx context.Context, clientID, username, password string) (string, error) {
	var u store.User
	var err error
	// No user has a name that is not UTF-8 or holds NUL, nor could
	// PostgreSQL look one up: such a name is an unknown user.
	if utf8.ValidString(username) && !strings.ContainsRune(username, 0) {
		u, err = e.users.UserByName(ctx, username)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	ok, err := e.hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return "", err
	}
	st, _ := ctx.Value(grantStateKey{}).(*grantState)
	if !ok || u.Disabled {
		e.loginFailed(ctx, username, st)
		return "", oerrors.ErrInvalidGrant
	}
	if e.throttle != nil {
		if err := e.throttle.ClearLoginFailures(ctx, accountKey(username)); err != nil {
			e.log.Error("login throttle", "err", err)
		}
	}
	if st != nil {
		st.role, st.generation = u.Role, u.TokenGeneration
	}
	return u.Name, nil
}

// loginFailed counts a failed login against the account and the address.
func (e *TokenEndpoint) loginFailed(ctx context.Context, username string, st *grantState) {
	if e.throttle == nil || st == nil {
		return
	}
	now := e.now()
	for _, k := range []struct {
		key string
		t   store.Throttle
	}{{accountKey(username), e.account}, {"address:" + st.address, e.address}} {
		if _, err := e.throttle.RecordLoginFailure(ctx, k.key, now, k.t); err != nil {
			e.log.Error("login throttle", "err", err)
		}
	}
}

// grantScope narrows the request's scope to what the user's role allows,
// or to all of it when none was asked for.
func (e *TokenEndpoint) grantScope(tgr *oauth2.TokenGenerateRequest) (bool, error) {
	st, _ := tgr.Request.Context().Value(grantStateKey{}).(*grantState)
	if st == nil {
		return false, nil
	}
	scope, ok := grantScope(st.role, tgr.Scope)
	if !ok {
		return false, nil
	}
	tgr.Scope = scope
	return true, nil
}

// clientInfo reads client credentials from HTTP Basic or the form, and
// takes a request with none as coming from the public client.
func clientInfo(r *http.Request) (string, string, error) {
	if id, secret, ok := r.BasicAuth(); ok {
		return id, secret, nil
	}
	if id := r.Form.Get("client_id"); id != "" {
		return id, r.Form.Get("client_secret"), nil
	}
	if r.Form.Has("client_secret") {
		return "", "", oerrors.ErrInvalidClient
	}
	return PublicClientID, "", nil
}

// descriptions say what went wrong and what to do, in place of
// go-oauth2's generic texts.
var descriptions = map[error]struct {
	status int
	text   string
}{
	oerrors.ErrInvalidGrant:         {400, "the username or password is not correct"},
	oerrors.ErrUnsupportedGrantType: {400, "this server offers grant_type=password only"},
	oerrors.ErrUnauthorizedClient:   {400, "this client may not use the password grant"},
	oerrors.ErrInvalidScope:         {400, "the requested scope is not one this user may have: leave scope out for all of the user's scopes, or ask for some of audit:read, audit:write, admin as the user's role allows"},
	oerrors.ErrInvalidClient:        {401, "client authentication failed: send no client id (the public client " + PublicClientID + " needs no secret), or a valid client id and secret"},
	oerrors.ErrInvalidRequest:       {400, "the request is missing a parameter or has a malformed one"},
	oerrors.ErrServerError:          {500, "the server could not issue a token; try again later"},
}

// fixError sets RFC 6749's status codes (go-oauth2 answers 401 for
// invalid_grant and unsupported_grant_type) and clearer descriptions.
func fixError(re *oerrors.Response) {
	if d, ok := descriptions[re.Error]; ok {
		re.StatusCode = d.status
		re.Description = d.text
	}
	if re.Error == oerrors.ErrInvalidClient {
		re.SetHeader("WWW-Authenticate", `Basic realm="auditgraph"`)
	}
}

// writeOAuthError answers as go-oauth2 does, so that every error of the
// endpoint has the same shape and headers.
func writeOAuthError(w http.ResponseWriter, status int, code, description string, header http.Header) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	for k := range header {
		h.Set(k, header.Get(k))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": description})
}

// clients knows the one built-in public client.
type clients struct{}

func (clients) GetByID(_ context.Context, id string) (oauth2.ClientInfo, error) {
	if id == PublicClientID {
		return publicClient{}, nil
	}
	return nil, nil // go-oauth2 answers invalid_client
}

type publicClient struct{}

func (publicClient) GetID() string     { return PublicClientID }
func (publicClient) GetSecret() string { return "" }
func (publicClient) GetDomain() string { return "" }
func (publicClient) IsPublic() bool    { return true }
func (publicClient) GetUserID() string { return "" }
func (publicClient) VerifyPassword(secret string) bool {
	return secret == "" // a public client has no secret; one sent is wrong
}

// noTokenStore keeps nothing: access tokens are self-contained JWTs.
type noTokenStore struct{}

func (noTokenStore) Create(context.Context, oauth2.TokenInfo) error { return nil }
func (noTokenStore) RemoveByCode(context.Context, string) error     { return nil }
func (noTokenStore) RemoveByAccess(context.Context, string) error   { return nil }
func (noTokenStore) RemoveByRefresh(context.Context, string) error  { return nil }
func (noTokenStore) GetByCode(context.Context, string) (oauth2.TokenInfo, error) {
	return nil, nil
}
func (noTokenStore) GetByAccess(context.Context, string) (oauth2.TokenInfo, error) {
	return nil, nil
}
func (noTokenStore) GetByRefresh(context.Context, string) (oauth2.TokenInfo, error) {
	return nil, nil
}

// jwtGenerate makes go-oauth2 issue our JWTs (its own sets only aud, sub
// and exp).
type jwtGenerate struct{ tokens *Tokens }

func (g jwtGenerate) Token(ctx context.Context, data *oauth2.GenerateBasic, _ bool) (string, string, error) {
	if err := g.tokens.refresh(ctx); err != nil {
		return "", "", err
	}
	ti := data.TokenInfo
	st, _ := data.Request.Context().Value(grantStateKey{}).(*grantState)
	var generation int
	if st != nil {
		generation = st.generation
	}
	access, jti, err := g.tokens.issue(data.UserID, data.Client.GetID(), ti.GetScope(), generation, data.CreateAt, ti.GetAccessExpiresIn())
	if st != nil {
		st.jti = jti
	}
	return access, "", err
}
