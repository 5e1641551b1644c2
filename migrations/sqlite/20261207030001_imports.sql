-- What each import did, so that `contacts import --undo` can take it back
-- (issue 14: imports that do no silent damage). SQLite dialect; the
-- twin under migrations/postgres/ has the same name.

-- One row per committed import. The contacts it created are those with
-- ids from first_contact_id to last_contact_id whose created_at is
-- imported_at (a contact another process created meanwhile has another
-- time); the import writes imported_at as created_at and updated_at of
-- every contact it creates or changes, so updated_at = imported_at also
-- says a contact was not changed again since.
CREATE TABLE imports (
    id                INTEGER PRIMARY KEY,
    -- The files' names without their folders, one per line.
    sources           TEXT    NOT NULL,
    first_contact_id  INTEGER  NOT NULL,
    last_contact_id   INTEGER  NOT NULL,
    created           INTEGER  NOT NULL DEFAULT 0,
    updated           INTEGER  NOT NULL DEFAULT 0,
    imported_at       INTEGER  NOT NULL,
    undone_at         INTEGER
);

-- The contacts an import changed, as they were before it (a JSON object of
-- their fields, extra data, status and tags): only existing contacts it
-- changed, so a first import records nothing here. No foreign key on the
-- contact: forgetting it later must not be held up by its import's past.
CREATE TABLE import_changes (
    import_id   INTEGER  NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    contact_id  INTEGER  NOT NULL,
    previous    TEXT    NOT NULL,
    PRIMARY KEY (import_id, contact_id)
);
