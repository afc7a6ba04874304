-- Notifications (issue 12, SPEC 7.7): an event when a re-match gives a deployed image a
-- finding that today's policy blocks, written in the re-match's transaction (the outbox),
-- and one delivery per webhook URL configured then, retried until the receiver takes it.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    application TEXT NOT NULL,
    environment TEXT NOT NULL,
    rematch_id  INTEGER REFERENCES rematches (id),
    payload     TEXT NOT NULL
);
CREATE INDEX events_application ON events (application, id);

CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     INTEGER NOT NULL REFERENCES events (id),
    url          TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    lease_until  INTEGER,
    delivered_at INTEGER,
    last_error   TEXT,
    UNIQUE (event_id, url)
);
CREATE INDEX deliveries_due ON deliveries (next_at) WHERE delivered_at IS NULL;
