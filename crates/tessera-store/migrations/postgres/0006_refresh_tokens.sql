-- Refresh tokens: families (one per login grant) of rotated tokens, stored only
-- as SHA-256 hashes, and the access tokens issued under each family.
CREATE TABLE IF NOT EXISTS refresh_families (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    doc          TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX IF NOT EXISTS refresh_families_user ON refresh_families (user_id, client_id);

CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash      BYTEA PRIMARY KEY,
    family_id       TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL,
    rotated_at      BIGINT,
    idle_expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE IF NOT EXISTS family_access_tokens (
    jti        TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS family_access_tokens_family ON family_access_tokens (family_id);
