-- Access tokens of a user issued before this time (UNIX seconds) are refused
-- at /userinfo, introspection and the Token Vault exchange (review of issue
-- 14, M3): an unlink sets it on the separated identity, so its access tokens
-- from before the link (refused while it was linked) do not come back.

ALTER TABLE users ADD COLUMN tokens_valid_after INTEGER;
