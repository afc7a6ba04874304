-- Clair notifier compatibility (issue 12, SPEC 9.3): notification sets (one per database
-- version a re-match pass ran against) a client deleted, so they are no longer served.
CREATE TABLE deleted_notification_sets (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL
);
