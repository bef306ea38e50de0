-- The Token Vault exchange's single-flight upstream refresh (issue 14): a
-- node claims the refresh of one identity's expired upstream token by setting
-- this lease (UNIX seconds) with a conditional UPDATE, only while the stored
-- refresh-token ciphertext is the one it read and no live lease exists; the
-- winner's replace clears it; a lease that ends (its node died) can be
-- claimed again.

ALTER TABLE idp_tokens ADD COLUMN refreshing_until BIGINT;
