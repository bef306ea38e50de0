-- Clients are listed by app_type and is_first_party: columns computed from the
-- stored document (the document stays the only thing written), indexed.
ALTER TABLE clients ADD COLUMN app_type TEXT GENERATED ALWAYS AS (json_extract(doc, '$.app_type')) VIRTUAL;
ALTER TABLE clients ADD COLUMN is_first_party INTEGER GENERATED ALWAYS AS (COALESCE(json_extract(doc, '$.is_first_party'), 1)) VIRTUAL;
CREATE INDEX IF NOT EXISTS clients_app_type ON clients (app_type);
CREATE INDEX IF NOT EXISTS connections_strategy ON connections (strategy);
