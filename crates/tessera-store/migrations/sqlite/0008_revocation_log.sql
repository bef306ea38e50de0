-- Revocations get a number (`seq`) that grows with every insert, so nodes can
-- read only the revocations recorded since their last refresh. AUTOINCREMENT:
-- a number is never reused, even after the highest row was purged. SQLite cannot
-- add such a column in place, so the table is rebuilt.
CREATE TABLE token_revocations_log (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('jti', 'client')),
    subject       TEXT NOT NULL,
    audience      TEXT,
    issued_before INTEGER,
    expires_at    INTEGER NOT NULL
);
INSERT INTO token_revocations_log (id, kind, subject, audience, issued_before, expires_at)
    SELECT id, kind, subject, audience, issued_before, expires_at
    FROM token_revocations ORDER BY rowid;
DROP TABLE token_revocations;
ALTER TABLE token_revocations_log RENAME TO token_revocations;
CREATE INDEX IF NOT EXISTS token_revocations_expires_at ON token_revocations (expires_at);
