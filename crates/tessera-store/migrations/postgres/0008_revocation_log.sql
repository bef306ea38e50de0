-- Revocations get a number (`seq`) that grows with every insert, so nodes can
-- read only the revocations recorded since their last refresh. A sequence value
-- is taken at insert and becomes visible at commit, so rows can appear out of
-- order: readers re-read an overlap (see tessera-core's revocation.rs).
ALTER TABLE token_revocations ADD COLUMN IF NOT EXISTS seq BIGSERIAL;
CREATE UNIQUE INDEX IF NOT EXISTS token_revocations_seq ON token_revocations (seq);
