-- Users' username and phone number (issue 13): columns computed from the
-- stored document (the document stays the only thing written, so existing
-- rows and the import job's inserts need no change). One username per
-- connection, decided by the unique index (usernames are stored lower-cased;
-- users without one do not collide: NULLs are distinct).
ALTER TABLE users ADD COLUMN IF NOT EXISTS username TEXT GENERATED ALWAYS AS ((doc::jsonb) ->> 'username') STORED;
ALTER TABLE users ADD COLUMN IF NOT EXISTS phone_number TEXT GENERATED ALWAYS AS ((doc::jsonb) ->> 'phone_number') STORED;
CREATE UNIQUE INDEX IF NOT EXISTS users_connection_username ON users (connection, username);
