-- Users who may obtain tokens through the password grant.
CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    role          text NOT NULL CHECK (role IN ('auditor', 'writer', 'admin')),
    password_hash text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Keys that sign access tokens. Kept in the database so that every server
-- process sharing it issues and accepts the same tokens, across restarts.
CREATE TABLE signing_keys (
    kid         text PRIMARY KEY,
    algorithm   text NOT NULL,
    private_key bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);

-- Secrets that sign download locations of log files.
CREATE TABLE url_signing_secrets (
    id         int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    secret     bytea NOT NULL CHECK (length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One gzip-compressed JSON Lines file of one minute. A minute has parts 1, 2,
-- ... when records arrive after its first file was written.
CREATE TABLE log_files (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    minute       timestamptz NOT NULL,
    part         int NOT NULL CHECK (part >= 1),
    record_count int NOT NULL CHECK (record_count >= 1),
    byte_size    bigint NOT NULL,
    sha256       bytea NOT NULL CHECK (length(sha256) = 32),
    content      bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (minute, part)
);

-- Audit records exactly as sent (body), with the columns the service looks
-- them up by. file_id is set once, when the record is written into its file.
CREATE TABLE audit_records (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts          timestamptz NOT NULL,
    minute      timestamptz NOT NULL,
    action      text NOT NULL,
    category    text NOT NULL,
    event_type  text NOT NULL,
    session_id  text,
    body        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    file_id     bigint REFERENCES log_files (id)
);

-- Records not yet in a file, found by minute when a file is written.
CREATE INDEX audit_records_pending ON audit_records (minute) WHERE file_id IS NULL;
CREATE INDEX audit_records_file ON audit_records (file_id);
