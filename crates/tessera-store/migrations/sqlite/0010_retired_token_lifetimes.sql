-- When an API's token_lifetime is lowered or the API deleted, tokens already
-- issued keep their longer lifetime: one row per API identifier holds the latest
-- expiry such a token can have, so revocations made later outlive them. Swept
-- once passed. (Lowerings made before this migration are not known.)
CREATE TABLE IF NOT EXISTS retired_token_lifetimes (
    identifier TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS retired_token_lifetimes_expires_at ON retired_token_lifetimes (expires_at);
