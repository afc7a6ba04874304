-- The server (issue 9): a leased scan queue and API tokens; see the PostgreSQL twin of this
-- file for the design. On SQLite one writer at a time claims (the UPDATE runs under the
-- write lock), which is the single-writer equivalent of SKIP LOCKED.
ALTER TABLE scans ADD COLUMN application TEXT; -- history: no foreign key, an application may go
ALTER TABLE scans ADD COLUMN worker TEXT;
ALTER TABLE scans ADD COLUMN lease_until INTEGER;
ALTER TABLE scans ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX scans_application ON scans (application, id);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    hash       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'ci', 'viewer')),
    apps       TEXT,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);
