-- Re-matches of stored inventories against a newer vulnerability database (issue 12,
-- SPEC 5.5): the scan each one made, the scan before it, and the findings gained and lost
-- (JSON arrays of `ID PACKAGE@VERSION`).
CREATE TABLE rematches (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    digest           TEXT NOT NULL,
    scan_id          INTEGER NOT NULL REFERENCES scans (id),
    previous_scan_id INTEGER NOT NULL REFERENCES scans (id),
    db_version       TEXT NOT NULL,
    at               INTEGER NOT NULL,
    new_findings     TEXT NOT NULL,
    resolved         TEXT NOT NULL
);
CREATE INDEX rematches_digest ON rematches (digest, id);
