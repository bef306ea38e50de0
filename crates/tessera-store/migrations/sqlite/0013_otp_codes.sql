-- Passwordless email codes (issue 12): one row per connection and email. The
-- code is stored only as a keyed hash (HMAC under the master key: a 6-digit
-- code hashed without a key could be found offline). `tries` is reserved
-- atomically before a code is compared; a used code keeps its row with
-- `expires_at = 0`, so `window_started`/`sends` still bound the sends to
-- that email.

CREATE TABLE IF NOT EXISTS otp_codes (
    connection     TEXT NOT NULL,
    email          TEXT NOT NULL,
    code_hash      BLOB NOT NULL,
    client_id      TEXT NOT NULL,
    tries          INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    window_started INTEGER NOT NULL,
    sends          INTEGER NOT NULL,
    PRIMARY KEY (connection, email)
);
CREATE INDEX IF NOT EXISTS otp_codes_window_started ON otp_codes (window_started);
