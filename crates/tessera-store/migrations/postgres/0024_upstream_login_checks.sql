-- What the callback of an upstream login checks besides its state (review
-- of issue 14): the provider's issuer, which an `iss` parameter of the
-- answer must equal (RFC 9207), and whether the provider promised one
-- (`authorization_response_iss_parameter_supported`: then it is required);
-- `auth_after`: with `prompt=login` or `max_age`, the earliest upstream
-- `auth_time` accepted (the ID token must carry one). One live login per
-- authorization request: a new one replaces the request's previous one, by
-- tx_id.
ALTER TABLE upstream_logins ADD COLUMN issuer TEXT;
ALTER TABLE upstream_logins ADD COLUMN iss_required BIGINT NOT NULL DEFAULT 0;
ALTER TABLE upstream_logins ADD COLUMN auth_after BIGINT;
CREATE INDEX IF NOT EXISTS upstream_logins_tx_id ON upstream_logins (tx_id);
