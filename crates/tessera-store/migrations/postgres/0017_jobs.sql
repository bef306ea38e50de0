-- Background jobs (issue 13): user imports and exports. A job is run by the
-- node holding its lease (lease_owner until lease_until); a job whose node
-- died is taken by another once the lease has ended. An import's file and an
-- export's result are stored as chunks; an export's download link is stored
-- only as the SHA-256 of its token.

CREATE TABLE IF NOT EXISTS jobs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL,
    doc              TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_until      BIGINT,
    download_hash    BYTEA,
    download_expires BIGINT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created_at);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_download_hash ON jobs (download_hash);

CREATE TABLE IF NOT EXISTS job_chunks (
    job_id TEXT NOT NULL,
    seq    BIGINT NOT NULL,
    data   BYTEA NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- An import's failed rows, by their place in the file.
CREATE TABLE IF NOT EXISTS job_errors (
    job_id TEXT NOT NULL,
    seq    BIGINT NOT NULL,
    doc    TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
