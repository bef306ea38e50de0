-- The tenant's log (issue 13): one row per event, in Auth0's log object shape
-- (the document), with the columns GET /api/v2/logs filters and sorts on.
-- log_id sorts as the events were recorded on a node (checkpoint paging);
-- date is Unix seconds (retention sweep, date ranges).

CREATE TABLE IF NOT EXISTS log_events (
    log_id    TEXT PRIMARY KEY,
    date      INTEGER NOT NULL,
    type      TEXT NOT NULL,
    user_id   TEXT,
    client_id TEXT,
    doc       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_events_date ON log_events (date, log_id);
CREATE INDEX IF NOT EXISTS log_events_type_date ON log_events (type, date);
CREATE INDEX IF NOT EXISTS log_events_user_date ON log_events (user_id, date);
CREATE INDEX IF NOT EXISTS log_events_client_date ON log_events (client_id, date);
