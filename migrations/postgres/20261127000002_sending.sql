-- Sending (issue: durable, rate-limited SMTP delivery). PostgreSQL dialect;
-- the SQLite twin has the same name under migrations/sqlite/.

-- Everything a worker on any machine needs to render a send's messages:
-- the release files, the layouts and the attachments, as one JSON document.
ALTER TABLE releases ADD COLUMN bundle TEXT;

-- Secrets shared by every machine of a team: the key that signs VERP and
-- unsubscribe tokens is made on first use and never printed.
CREATE TABLE secrets (
    name        TEXT    PRIMARY KEY,
    value       TEXT    NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Rate limits shared by every worker: the GCRA "theoretical arrival time"
-- of each pace limit (overall, per send; per recipient domain), in
-- microseconds since the epoch; for a daily cap (key `daily:DATE`), the
-- count of messages taken that day.
CREATE TABLE rate_limits (
    key  TEXT    PRIMARY KEY,
    tat  BIGINT NOT NULL
);

-- Claims take the oldest due delivery first.
CREATE INDEX deliveries_due ON deliveries (send_id, state, next_attempt_at, id);
CREATE INDEX deliveries_sent_at ON deliveries (sent_at);
