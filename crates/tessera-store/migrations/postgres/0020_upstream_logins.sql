-- Logins sent to an upstream identity provider (issue 14), stored under the
-- SHA-256 of their `state` (never the state itself), taken once at
-- /login/callback (a replayed state finds nothing), living 10 minutes. The
-- PKCE verifier is sealed under the master key; the nonce is not a secret
-- (it travels through the browser) and is kept as is.

CREATE TABLE IF NOT EXISTS upstream_logins (
    state_hash      BYTEA PRIMARY KEY,
    tx_id           TEXT NOT NULL,
    connection      TEXT NOT NULL,
    nonce           TEXT NOT NULL,
    verifier_sealed BYTEA NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS upstream_logins_expires_at ON upstream_logins (expires_at);
