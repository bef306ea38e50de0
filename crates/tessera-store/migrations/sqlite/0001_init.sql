-- Tessera schema, SQLite. Times are Unix seconds; JSON documents are TEXT.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS signing_keys (
    kid                TEXT PRIMARY KEY,
    alg                TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('next', 'current', 'previous', 'revoked')),
    public_jwk         TEXT NOT NULL,
    sealed_private_key BLOB NOT NULL,
    created_at         INTEGER NOT NULL,
    activated_at       INTEGER,
    retired_at         INTEGER,
    publish_until      INTEGER,
    revoked_at         INTEGER
);
-- At most one current and one next key, whatever several nodes do at once.
CREATE UNIQUE INDEX IF NOT EXISTS signing_keys_one_current ON signing_keys (state) WHERE state = 'current';
CREATE UNIQUE INDEX IF NOT EXISTS signing_keys_one_next ON signing_keys (state) WHERE state = 'next';

CREATE TABLE IF NOT EXISTS resource_servers (
    id         TEXT PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    doc        TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS connections (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    strategy   TEXT NOT NULL,
    doc        TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS clients (
    client_id     TEXT PRIMARY KEY,
    doc           TEXT NOT NULL,
    secret_sealed BLOB,
    secret_hash   BLOB,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS client_grants (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience   TEXT NOT NULL REFERENCES resource_servers (identifier) ON DELETE CASCADE ON UPDATE CASCADE,
    scope      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (client_id, audience)
);
CREATE INDEX IF NOT EXISTS client_grants_audience ON client_grants (audience);
