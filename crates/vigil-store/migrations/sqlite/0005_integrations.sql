-- Integrations and their install life cycle (issue 10, SPEC 8); see the PostgreSQL twin of
-- this file for the design.
CREATE TABLE integrations (
    name        TEXT PRIMARY KEY,
    status      TEXT NOT NULL CHECK (status IN ('not_installed', 'initializing', 'installing',
                    'installed', 'failed', 'timed_out')),
    status_at   INTEGER NOT NULL,
    version     TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    started_at  INTEGER,
    runner      TEXT,
    lease_until INTEGER,
    reason      TEXT
);

CREATE TABLE integration_log (
    id          INTEGER PRIMARY KEY,
    integration TEXT NOT NULL,
    at          INTEGER NOT NULL,
    line        TEXT NOT NULL
);
CREATE INDEX integration_log_by_name ON integration_log (integration, id);
