-- Secondary indexes no query needs. The audience filters find a contact's
-- tags through contact_tags' primary key (contact_id, tag), and a country
-- or a domain selects a large share of a contact list, where reading the
-- table beats an index. Each of these indexes made every imported contact
-- (and every tag) cost one more B-tree insert in random order: together
-- about a third of a large import's time.
DROP INDEX contacts_domain;
DROP INDEX contacts_country;
DROP INDEX contact_tags_tag;
