-- Index tables as clustered B-trees (issue 5, import speed).
-- `affected` and `aliases` become WITHOUT ROWID tables whose primary key is the lookup
-- key: one B-tree each instead of a table plus two indexes, so an import writes half
-- the index pages. The (source, advisory_id) indexes go: an import deletes a source's
-- rows with one scan, and a replaced duplicate record by its exact keys.

CREATE TABLE affected_new (
    ecosystem   TEXT NOT NULL,
    name        TEXT NOT NULL,
    source      TEXT NOT NULL,
    advisory_id TEXT NOT NULL,
    PRIMARY KEY (ecosystem, name, source, advisory_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO affected_new (ecosystem, name, source, advisory_id)
    SELECT ecosystem, name, source, advisory_id FROM affected;
DROP TABLE affected;
ALTER TABLE affected_new RENAME TO affected;

CREATE TABLE aliases_new (
    alias       TEXT NOT NULL,
    source      TEXT NOT NULL,
    advisory_id TEXT NOT NULL,
    PRIMARY KEY (alias, source, advisory_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO aliases_new (alias, source, advisory_id)
    SELECT alias, source, advisory_id FROM aliases;
DROP TABLE aliases;
ALTER TABLE aliases_new RENAME TO aliases;
