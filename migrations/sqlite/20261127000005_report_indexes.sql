-- Delivery reports (issue: delivery reports). SQLite dialect; the
-- PostgreSQL twin has the same name under migrations/postgres/.
-- bench/report.sh measures the report of a 1,000,000-delivery send with
-- and without them.

-- The report walks a send's deliveries in contact order, joining each
-- contact's outlet, country, language and domain (contacts are then read in
-- the order of their own B-tree); with the state in the index it never
-- reads the deliveries themselves.
CREATE INDEX deliveries_report ON deliveries (send_id, contact_id, state);

-- Messages per minute: counting the deliveries of one send sent within
-- each minute is a walk along this index, with no sort.
CREATE INDEX deliveries_send_sent ON deliveries (send_id, sent_at);

-- A send's bounces, complaints and auto-replies without reading the bounce
-- rows, whose raw message (kept for review) comes before `received_at`.
CREATE INDEX bounces_report ON bounces (delivery_id, kind, received_at);

-- The contacts a report lists as needing an update: a partial index holds
-- only the contacts that are not active (few), so an import, which writes
-- active contacts, pays nothing for it.
CREATE INDEX contacts_inactive ON contacts (status) WHERE status <> 'active';
