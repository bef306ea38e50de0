-- Single-use tickets reached through a link (issue 12): password change and
-- email verification. Only the SHA-256 of a ticket's value is stored; the
-- document holds the user, the fingerprint of the password hash a
-- password-change ticket replaces, the result URL and the flags.
CREATE TABLE IF NOT EXISTS tickets (
    ticket_hash BLOB PRIMARY KEY,
    kind        TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    doc         TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_user ON tickets (user_id, kind);
CREATE INDEX IF NOT EXISTS tickets_expires_at ON tickets (expires_at);
