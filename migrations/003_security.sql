-- Environment-wide switches, such as whether the password grant is on.
CREATE TABLE settings (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO settings (name, value) VALUES ('password-grant', 'on');

-- Access tokens revoked before they expire (RFC 7009), by their jti; a row
-- is useless once the token has expired.
CREATE TABLE revoked_tokens (
    jti        text PRIMARY KEY,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now()
);

-- Failed logins, per account and per client address, with the time until
-- which the key is throttled.
CREATE TABLE login_failures (
    key           text PRIMARY KEY,
    failures      int NOT NULL,
    window_start  timestamptz NOT NULL,
    blocked_until timestamptz
);

-- A user's tokens carry the generation they were issued in; disabling the
-- user or changing the password moves it on, which ends the tokens before.
ALTER TABLE users ADD COLUMN token_generation int NOT NULL DEFAULT 0;
