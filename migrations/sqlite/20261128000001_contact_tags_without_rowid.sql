-- A contact's tags in one B-tree: a WITHOUT ROWID table is its primary key
-- (contact_id, tag), where a rowid table kept the rows in one B-tree and
-- that key in another. Every imported tag cost two inserts (a large import
-- writes one and a half tags per contact); queries only ever used the key.
CREATE TABLE contact_tags_new (
    contact_id  INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    tag         TEXT    NOT NULL,
    PRIMARY KEY (contact_id, tag)
) WITHOUT ROWID;
INSERT INTO contact_tags_new (contact_id, tag) SELECT contact_id, tag FROM contact_tags;
DROP TABLE contact_tags;
ALTER TABLE contact_tags_new RENAME TO contact_tags;
