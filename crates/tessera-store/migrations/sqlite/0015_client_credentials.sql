-- Client credentials (issue 13): public keys a client registers for
-- private_key_jwt (RFC 7523). Public key material only; the document holds the
-- key as JWK members, its name, alg and certificate details. Deleted with the
-- client.

CREATE TABLE IF NOT EXISTS client_credentials (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    kid        TEXT NOT NULL,
    doc        TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    UNIQUE (client_id, kid)
);

-- The jti of every accepted client assertion, until it expires (RFC 7523 §3:
-- single use). One conditional insert decides; expired rows are swept.
CREATE TABLE IF NOT EXISTS client_assertion_jtis (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX IF NOT EXISTS client_assertion_jtis_expires_at ON client_assertion_jtis (expires_at);
