-- A replayed authorization code is marked, so that a first redemption still
-- recording what it issued sees the replay and revokes its own tokens.
-- `issued_jtis` now holds {"access_tokens": [{jti, expires_at}], "families": [id]}.
ALTER TABLE authorization_codes ADD COLUMN IF NOT EXISTS replayed_at BIGINT;
