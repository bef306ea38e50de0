-- Tenant settings (issue 13): one row holding the document of what was
-- PATCHed through /api/v2/tenants/settings (the environment gives the rest).
CREATE TABLE IF NOT EXISTS tenant_settings (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    doc        TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
