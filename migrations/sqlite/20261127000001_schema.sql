-- presswire's whole data model (ARCHITECTURE.md "Storage"), SQLite dialect.
-- Times are INTEGER milliseconds since the Unix epoch, UTC.
-- The PostgreSQL twin is migrations/postgres/20261127000001_schema.sql:
-- keep both in step.

-- One journalist. `email_key` (the address lower-cased) makes addresses
-- unique without regard to case; `email` keeps the address as written.
CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    email       TEXT    NOT NULL,
    email_key   TEXT    NOT NULL UNIQUE,
    domain      TEXT    NOT NULL,
    name        TEXT,
    first_name  TEXT,
    last_name   TEXT,
    outlet      TEXT,
    role        TEXT,
    beat        TEXT,
    country     TEXT,
    language    TEXT,
    phone       TEXT,
    notes       TEXT,
    -- columns of the imported file that map to no field: a JSON object
    extra       TEXT    NOT NULL DEFAULT '{}',
    status      TEXT    NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'unsubscribed', 'bounced', 'complained', 'needs-update')),
    source      TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX contacts_domain ON contacts (domain);
CREATE INDEX contacts_country ON contacts (country);

-- Tags, lower-case; a contact has many.
CREATE TABLE contact_tags (
    contact_id  INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    tag         TEXT    NOT NULL,
    PRIMARY KEY (contact_id, tag)
);
CREATE INDEX contact_tags_tag ON contact_tags (tag);

-- Who must not be mailed: an address (its email_key), a whole domain, or a
-- forgotten address, of which only the SHA-256 of its email_key is kept.
CREATE TABLE suppressions (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('address', 'domain', 'forgotten')),
    value       TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    source      TEXT,
    send_id     INTEGER,
    created_at  INTEGER NOT NULL,
    UNIQUE (kind, value)
);

-- A release file as it was when sent: the hash tells edits apart.
CREATE TABLE releases (
    id           INTEGER PRIMARY KEY,
    slug         TEXT    NOT NULL,
    title        TEXT,
    subject      TEXT,
    source_path  TEXT,
    source_hash  TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (slug, source_hash)
);

-- One sending of a release to an audience.
CREATE TABLE sends (
    id            INTEGER PRIMARY KEY,
    release_id    INTEGER NOT NULL REFERENCES releases (id),
    audience      TEXT    NOT NULL DEFAULT '{}',
    settings      TEXT    NOT NULL DEFAULT '{}',
    state         TEXT    NOT NULL DEFAULT 'planned'
                  CHECK (state IN ('planned', 'scheduled', 'running', 'paused', 'finished', 'cancelled')),
    scheduled_at  INTEGER,
    created_at    INTEGER NOT NULL,
    started_at    INTEGER,
    finished_at   INTEGER
);

-- One contact's copy of one send: the unit of the durable queue.
CREATE TABLE deliveries (
    id                INTEGER PRIMARY KEY,
    send_id           INTEGER NOT NULL REFERENCES sends (id) ON DELETE CASCADE,
    contact_id        INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    email             TEXT    NOT NULL,
    state             TEXT    NOT NULL DEFAULT 'queued'
                      CHECK (state IN ('queued', 'sending', 'sent', 'deferred', 'failed', 'uncertain',
                                       'skipped', 'cancelled', 'bounced')),
    skip_reason       TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER,
    lease_owner       TEXT,
    lease_expires_at  INTEGER,
    message_id        TEXT,
    last_reply        TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    sent_at           INTEGER,
    UNIQUE (send_id, contact_id)
);
CREATE INDEX deliveries_queue ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_send ON deliveries (send_id, state);
CREATE INDEX deliveries_contact ON deliveries (contact_id);
CREATE INDEX deliveries_message_id ON deliveries (message_id);

-- A bounce, complaint or auto-reply, matched to its delivery when possible.
CREATE TABLE bounces (
    id             INTEGER PRIMARY KEY,
    delivery_id    INTEGER REFERENCES deliveries (id) ON DELETE SET NULL,
    contact_id     INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    email          TEXT,
    kind           TEXT    NOT NULL
                   CHECK (kind IN ('hard', 'soft', 'complaint', 'auto-reply', 'not-a-failure')),
    reason         TEXT    NOT NULL,
    status_code    TEXT,
    reply_code     INTEGER,
    diagnostic     TEXT,
    reporting_mta  TEXT,
    remote_host    TEXT,
    source         TEXT    NOT NULL,
    raw            BLOB,
    received_at    INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX bounces_delivery ON bounces (delivery_id);
CREATE INDEX bounces_contact ON bounces (contact_id);
CREATE INDEX bounces_email ON bounces (email);
