-- The Token Vault exchange's backoff after a failed upstream refresh (review
-- of issue 14, M5): when the provider could not be reached (timeout, 5xx,
-- 429, invalid_client), the lease is released with this time (UNIX seconds)
-- before which no request may claim the same refresh again; requests meanwhile
-- answer temporarily_unavailable without calling the provider. A replace of
-- the tokens (a refresh or a login) clears it.

ALTER TABLE idp_tokens ADD COLUMN refresh_retry_after INTEGER;
