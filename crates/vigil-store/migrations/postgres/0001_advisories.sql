-- Advisories and the indexes the matcher queries (issue 5, SPEC 4.3).
-- Each advisory is kept as the JSON of vigil-vulndb's model, plus index rows:
-- (ecosystem, normalised name) per affected package, and every id and alias.
-- Times are unix seconds.

CREATE TABLE sources (
    name        TEXT PRIMARY KEY,
    format      TEXT NOT NULL,
    location    TEXT NOT NULL,
    records     BIGINT NOT NULL,
    digest      TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    checked_at  BIGINT NOT NULL
);

CREATE TABLE advisories (
    source   TEXT NOT NULL,
    id       TEXT NOT NULL,
    modified TEXT NOT NULL,
    json     TEXT NOT NULL,
    PRIMARY KEY (source, id)
);

CREATE TABLE affected (
    source      TEXT NOT NULL,
    advisory_id TEXT NOT NULL,
    ecosystem   TEXT NOT NULL,
    name        TEXT NOT NULL
);
CREATE INDEX affected_package ON affected (ecosystem, name);
CREATE INDEX affected_advisory ON affected (source, advisory_id);

CREATE TABLE aliases (
    source      TEXT NOT NULL,
    advisory_id TEXT NOT NULL,
    alias       TEXT NOT NULL
);
CREATE INDEX aliases_alias ON aliases (alias);
CREATE INDEX aliases_advisory ON aliases (source, advisory_id);

CREATE TABLE source_ecosystems (
    source     TEXT NOT NULL,
    ecosystem  TEXT NOT NULL,
    advisories BIGINT NOT NULL,
    PRIMARY KEY (source, ecosystem)
);
