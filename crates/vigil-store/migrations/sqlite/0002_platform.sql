-- Platform entities, scans, policy rules and the policy audit log (issue 8, SPEC 6, 7.1-7.5).
-- Names are validated by the store before they get here; the constraints below are the
-- last line of defence against two writers racing. Times are unix seconds.
-- The PostgreSQL twin of this file declares the same tables with its own types.

CREATE TABLE clusters (
    name TEXT PRIMARY KEY
);

CREATE TABLE environments (
    name      TEXT PRIMARY KEY,
    cluster   TEXT NOT NULL REFERENCES clusters (name),
    namespace TEXT NOT NULL,
    -- The admission webhook maps a Pod's namespace to one environment (SPEC 7.6).
    UNIQUE (cluster, namespace)
);

CREATE TABLE applications (
    name TEXT PRIMARY KEY
);

CREATE TABLE pipelines (
    name         TEXT PRIMARY KEY,
    application  TEXT NOT NULL REFERENCES applications (name),
    scan_enabled INTEGER NOT NULL
);
CREATE INDEX pipelines_application ON pipelines (application);

-- Append-only: the latest row of an (application, environment) pair is what runs there.
CREATE TABLE deployments (
    id          INTEGER PRIMARY KEY,
    application TEXT NOT NULL REFERENCES applications (name),
    environment TEXT NOT NULL REFERENCES environments (name),
    digest      TEXT NOT NULL,
    deployed_at INTEGER NOT NULL,
    deployed_by TEXT NOT NULL,
    rollback    INTEGER NOT NULL
);
CREATE INDEX deployments_pair ON deployments (application, environment, id);
CREATE INDEX deployments_environment ON deployments (environment);

-- One row per scan attempt; an image digest may have several (one per database version).
CREATE TABLE scans (
    id          INTEGER PRIMARY KEY,
    digest      TEXT NOT NULL,
    reference   TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'completed', 'failed')),
    error       TEXT,
    db_version  TEXT,
    queued_at   INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    report      TEXT
);
CREATE INDEX scans_digest ON scans (digest, state, id);
CREATE INDEX scans_state ON scans (state, id);

-- The rules of every scope (SPEC 6). `scope` is its text form (global, cluster:C, env:E,
-- app:A, app:A@env:E); the entity columns tie it to what it names, so an entity with rules
-- cannot be removed. `key` is a severity, a vulnerability id, or '' for the unscanned rule.
CREATE TABLE policy_rules (
    scope       TEXT NOT NULL,
    cluster     TEXT REFERENCES clusters (name),
    environment TEXT REFERENCES environments (name),
    application TEXT REFERENCES applications (name),
    kind        TEXT NOT NULL CHECK (kind IN ('severity', 'cve', 'unscanned')),
    key         TEXT NOT NULL,
    action      TEXT NOT NULL,
    author      TEXT NOT NULL,
    reason      TEXT,
    expires_at  INTEGER,
    changed_at  INTEGER NOT NULL,
    PRIMARY KEY (scope, kind, key)
);
CREATE INDEX policy_rules_cluster ON policy_rules (cluster);
CREATE INDEX policy_rules_environment ON policy_rules (environment);
CREATE INDEX policy_rules_application ON policy_rules (application);

-- Append-only (SPEC 6.5): written in the transaction of the change it records.
-- `before` and `after` are the rule as JSON, NULL when there was none.
CREATE TABLE policy_audit (
    id     INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    who    TEXT NOT NULL,
    scope  TEXT NOT NULL,
    kind   TEXT NOT NULL,
    key    TEXT NOT NULL,
    before TEXT,
    after  TEXT
);
