-- One account per email in a connection only where Tessera owns the email
-- (review of issue 14, finding 3): `email_key` is the lower-cased email of a
-- database or passwordless user and NULL for users of upstream identity
-- providers (`oidc|…`, `oauth2|…`), whose email the provider asserts,
-- possibly unverified. So an upstream user's email never blocks another
-- user's login, as in Auth0. `email` keeps its (non-unique) index for look-ups.
ALTER TABLE users ADD COLUMN email_key TEXT;
UPDATE users SET email_key = email WHERE user_id NOT LIKE 'oidc|%' AND user_id NOT LIKE 'oauth2|%';
DROP INDEX IF EXISTS users_connection_email;
CREATE UNIQUE INDEX IF NOT EXISTS users_connection_email_key ON users (connection, email_key);
CREATE INDEX IF NOT EXISTS users_connection_email ON users (connection, email);
