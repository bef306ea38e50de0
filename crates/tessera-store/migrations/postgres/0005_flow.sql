-- The interactive flow: pending authorization requests, sessions, codes,
-- consents, opaque access tokens and failed logins.
CREATE TABLE IF NOT EXISTS authorize_requests (
    id         TEXT PRIMARY KEY,
    doc        TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS authorize_requests_expires_at ON authorize_requests (expires_at);

CREATE TABLE IF NOT EXISTS sessions (
    secret_hash BYTEA PRIMARY KEY,
    sid         TEXT NOT NULL UNIQUE,
    user_id     TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    auth_time   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user_id ON sessions (user_id);
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);

CREATE TABLE IF NOT EXISTS authorization_codes (
    code_hash   BYTEA PRIMARY KEY,
    doc         TEXT NOT NULL,
    used_at     BIGINT,
    issued_jtis TEXT NOT NULL DEFAULT '[]',
    expires_at  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS authorization_codes_expires_at ON authorization_codes (expires_at);

CREATE TABLE IF NOT EXISTS consents (
    user_id    TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience   TEXT NOT NULL,
    scope      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id, audience)
);

CREATE TABLE IF NOT EXISTS opaque_tokens (
    token_hash BYTEA PRIMARY KEY,
    jti        TEXT NOT NULL,
    doc        TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS opaque_tokens_jti ON opaque_tokens (jti);
CREATE INDEX IF NOT EXISTS opaque_tokens_expires_at ON opaque_tokens (expires_at);

CREATE TABLE IF NOT EXISTS login_failures (
    id         TEXT PRIMARY KEY,
    key        TEXT NOT NULL,
    failed_at  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures (key, failed_at);
