-- Brute-force protection (issue 9): one counter row per key, reserved atomically
-- before a password check by a conditional upsert, instead of one row per failure
-- counted before the check and written after it (which raced). Counts restart at
-- zero on upgrade. The old `login_failures` table is left in place (nodes still on
-- the previous version keep working during a rolling upgrade); a later migration
-- drops it.

CREATE TABLE IF NOT EXISTS login_attempts (
    key      TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempts_last_at ON login_attempts (last_at);
