-- The uniqueness of a contact's address as a named index,
-- contacts_email_key, in place of the column's UNIQUE constraint. The
-- index is the same; the difference is that a named index can be dropped
-- and built again, which a constraint's automatic index cannot. An import
-- into an empty contact list does that: it writes the contacts without
-- the index and builds it once at the end, inside its transaction (sorting
-- a million addresses costs far less than a million inserts into a B-tree
-- in random order). The import itself makes the addresses unique first, so
-- building the index finds no duplicates; if it ever did, the import would
-- fail and roll back, index and all.
--
-- A table with other tables referring to it can only be rebuilt with
-- foreign keys off (otherwise dropping the old table would delete every
-- contact's tags and detach their deliveries and bounces), and that
-- setting cannot change inside a transaction. sqlx 0.8 runs every SQLite
-- migration in one (it ignores `-- no-transaction` there), so this
-- migration ends sqlx's transaction, rebuilds the table in a transaction
-- of its own with foreign keys off (SQLite's documented procedure for
-- table changes ALTER TABLE cannot make), and opens a transaction again
-- for sqlx to record the migration in and commit. Ids are copied, so
-- every reference stays valid.
COMMIT;
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE contacts_new (
    id          INTEGER PRIMARY KEY,
    email       TEXT    NOT NULL,
    -- unique: see the index contacts_email_key below
    email_key   TEXT    NOT NULL,
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
INSERT INTO contacts_new (
    id, email, email_key, domain, name, first_name, last_name, outlet, role, beat, country,
    language, phone, notes, extra, status, source, created_at, updated_at)
SELECT id, email, email_key, domain, name, first_name, last_name, outlet, role, beat, country,
    language, phone, notes, extra, status, source, created_at, updated_at
FROM contacts;
DROP TABLE contacts;
ALTER TABLE contacts_new RENAME TO contacts;
CREATE UNIQUE INDEX contacts_email_key ON contacts (email_key);
CREATE INDEX contacts_inactive ON contacts (status) WHERE status <> 'active';
COMMIT;
PRAGMA foreign_keys = ON;
BEGIN;
