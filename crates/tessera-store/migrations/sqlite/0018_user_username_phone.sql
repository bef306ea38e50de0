-- Users' username and phone number (issue 13): columns computed from the
-- stored document (the document stays the only thing written, so existing
-- rows and the import job's inserts need no change). One username per
-- connection, decided by the unique index (usernames are stored lower-cased;
-- users without one do not collide: NULLs are distinct).
ALTER TABLE users ADD COLUMN username TEXT GENERATED ALWAYS AS (json_extract(doc, '$.username')) VIRTUAL;
ALTER TABLE users ADD COLUMN phone_number TEXT GENERATED ALWAYS AS (json_extract(doc, '$.phone_number')) VIRTUAL;
CREATE UNIQUE INDEX IF NOT EXISTS users_connection_username ON users (connection, username);
