-- The server (issue 9, SPEC 9.5, 11.3): a leased scan queue shared by replicas, and API tokens.
--
-- Queue: a worker claims a scan by setting `worker` and `lease_until`, and renews the lease
-- while it scans. A scan still `running` after its lease ran out belongs to a worker that
-- died; the next claim takes it again (`attempts` counts the claims). Completing or failing
-- a claimed scan checks the worker, so a worker that lost its lease cannot complete a scan
-- another worker has taken: each scan completes exactly once.
ALTER TABLE scans ADD COLUMN application TEXT; -- history: no foreign key, an application may go
ALTER TABLE scans ADD COLUMN worker TEXT;
ALTER TABLE scans ADD COLUMN lease_until BIGINT;
ALTER TABLE scans ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX scans_application ON scans (application, id);

-- Bearer tokens: only the SHA-256 of the secret is kept (a 256-bit random value needs no
-- slow hash). `apps` is a JSON array of application names, NULL for every application.
CREATE TABLE api_tokens (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    hash       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'ci', 'viewer')),
    apps       TEXT,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);
