-- Integrations and their install life cycle (issue 10, SPEC 8).
--
-- One row per integration once anything happened to it (no row = not installed). `status`
-- follows the state machine of vigil-service (`integrations`); `runner` is the replica
-- running an install, which renews `lease_until` while it works: an install whose lease ran
-- out (its replica died) is taken over by another replica, so it is never left
-- `installing`. `version` is the version installed last (null until installed once).
CREATE TABLE integrations (
    name        TEXT PRIMARY KEY,
    status      TEXT NOT NULL CHECK (status IN ('not_installed', 'initializing', 'installing',
                    'installed', 'failed', 'timed_out')),
    status_at   BIGINT NOT NULL,
    version     TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    started_at  BIGINT,
    runner      TEXT,
    lease_until BIGINT,
    reason      TEXT
);

-- The install log: every step with its timing, every try, every error, kept after the end.
CREATE TABLE integration_log (
    id          BIGSERIAL PRIMARY KEY,
    integration TEXT NOT NULL,
    at          BIGINT NOT NULL,
    line        TEXT NOT NULL
);
CREATE INDEX integration_log_by_name ON integration_log (integration, id);
