-- The IdP-token vault (issue 14): an upstream identity provider's tokens for
-- one identity of a user (user id + connection name), each sealed under the
-- master key (AES-256-GCM, additional data bound to user, connection and
-- field), replaced at every login through the connection. Kept apart from
-- the user's document so a later Token Vault exchange can replace them with
-- one conditional write (only if refresh_token is still the ciphertext it
-- read), and a profile update never rewrites them.

CREATE TABLE IF NOT EXISTS idp_tokens (
    user_id       TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    connection    TEXT NOT NULL,
    access_token  BLOB NOT NULL,
    refresh_token BLOB,
    id_token      BLOB,
    expires_at    INTEGER,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (user_id, connection)
);
