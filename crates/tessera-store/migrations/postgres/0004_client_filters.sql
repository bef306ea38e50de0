-- Clients are listed by app_type and is_first_party: columns computed from the
-- stored document (the document stays the only thing written, so existing rows
-- need no backfill statement), indexed.
ALTER TABLE clients ADD COLUMN IF NOT EXISTS app_type TEXT GENERATED ALWAYS AS ((doc::jsonb) ->> 'app_type') STORED;
ALTER TABLE clients ADD COLUMN IF NOT EXISTS is_first_party BOOLEAN GENERATED ALWAYS AS (COALESCE(((doc::jsonb) ->> 'is_first_party')::boolean, TRUE)) STORED;
CREATE INDEX IF NOT EXISTS clients_app_type ON clients (app_type);
CREATE INDEX IF NOT EXISTS connections_strategy ON connections (strategy);
