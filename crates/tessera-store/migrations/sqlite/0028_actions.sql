-- Actions (issue 15): Auth0 Action code run in the sandbox on triggers.
-- `actions` holds each action's draft (name, code, runtime, secrets sealed
-- with the master key) as a document and the id of its deployed version;
-- `action_versions` the immutable versions a deploy creates, numbered per
-- action; `action_bindings` the ordered list of actions bound to a trigger.
-- A login reads one trigger's bindings with their deployed versions in one
-- statement, so it runs either the old or the new version of each.

CREATE TABLE IF NOT EXISTS actions (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    trigger_id          TEXT NOT NULL,
    doc                 TEXT NOT NULL,
    deployed_version_id TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS action_versions (
    id         TEXT PRIMARY KEY,
    action_id  TEXT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    number     INTEGER NOT NULL,
    doc        TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (action_id, number)
);

CREATE TABLE IF NOT EXISTS action_bindings (
    trigger_id   TEXT NOT NULL,
    position     INTEGER NOT NULL,
    id           TEXT NOT NULL UNIQUE,
    action_id    TEXT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (trigger_id, position)
);
CREATE INDEX IF NOT EXISTS action_bindings_action_id ON action_bindings (action_id);
