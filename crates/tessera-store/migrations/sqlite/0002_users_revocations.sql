-- Users of every connection, and revocations of access tokens.
CREATE TABLE IF NOT EXISTS users (
    user_id       TEXT PRIMARY KEY,
    connection    TEXT NOT NULL,
    email         TEXT,
    name          TEXT,
    given_name    TEXT,
    family_name   TEXT,
    nickname      TEXT,
    doc           TEXT NOT NULL,
    password_hash TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    last_login    INTEGER,
    logins_count  INTEGER NOT NULL DEFAULT 0
);
-- One account per email in a connection (emails are stored lower-cased).
CREATE UNIQUE INDEX IF NOT EXISTS users_connection_email ON users (connection, email);
CREATE INDEX IF NOT EXISTS users_email ON users (email);
CREATE INDEX IF NOT EXISTS users_created_at ON users (created_at);

CREATE TABLE IF NOT EXISTS token_revocations (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('jti', 'client')),
    subject       TEXT NOT NULL,
    audience      TEXT,
    issued_before INTEGER,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS token_revocations_expires_at ON token_revocations (expires_at);
