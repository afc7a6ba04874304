-- VEX documents (issue 12, SPEC 5.6), imported globally (application NULL) or for one
-- application; `statements` is the JSON of the normalised statements (vigil-sbom's vex).
CREATE TABLE vex_documents (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application TEXT REFERENCES applications (name) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    format      TEXT NOT NULL,
    document_id TEXT,
    author      TEXT,
    digest      TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    statements  TEXT NOT NULL
);
CREATE INDEX vex_documents_application ON vex_documents (application);
