-- Account linking (issue 14): a user linked to another (Auth0's secondary
-- account) keeps its row, which is the record of that identity: its profile
-- (Auth0's profileData), its password hash, and its IdP tokens (idp_tokens
-- keeps referencing it, so their sealing stays bound to the same user id).
-- `linked_to` names the primary user; such a row is no user of its own
-- (reads, lists and deletes skip it) and a login through it signs in as the
-- primary. Deleting the primary deletes its linked identities.

ALTER TABLE users ADD COLUMN linked_to TEXT REFERENCES users (user_id) ON DELETE CASCADE;
ALTER TABLE users ADD COLUMN linked_at INTEGER;
CREATE INDEX IF NOT EXISTS users_linked_to ON users (linked_to);
