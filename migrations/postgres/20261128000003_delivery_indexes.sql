-- Fewer and narrower indexes on deliveries (PostgreSQL dialect; the SQLite twin has the same name
-- under migrations/sqlite/).
--
-- Every delivery of a send is written three times: inserted when the send
-- is planned, claimed (state 'sending') and given its outcome (state, sent
-- time, Message-ID). Each write also writes every index over a column it
-- sets: with the ten indexes before this migration, 10 index inserts, then
-- 4 index entries moved, then 8 more, at a thousand or more messages a
-- second the largest part of a send's database work. Now:
--
-- - the indexes a queue step needs hold only the rows in that step: the
--   deferred deliveries (claims of due retries), the ones being sent (lease
--   renewal and recovery); a queued delivery's claim walks deliveries_send
--   (send_id, state), which the reports and counts use anyway, in id order;
-- - Message-ID and sent time are indexed only once they are set;
-- - the address index no longer holds the sent time (a bounce matched by
--   its recipient reads the few deliveries to that address).
--
-- A delivery now costs 5 index inserts when planned, 5 index writes when
-- claimed and 8 when its outcome is written.
DROP INDEX deliveries_queue;
DROP INDEX deliveries_due;
DROP INDEX deliveries_message_id;
DROP INDEX deliveries_sent_at;
DROP INDEX deliveries_email;
DROP INDEX deliveries_send_sent;

-- Claims of due retries: the deferred deliveries, by due time.
CREATE INDEX deliveries_deferred ON deliveries (send_id, next_attempt_at) WHERE state = 'deferred';
-- Lease renewal and recovery: the deliveries being sent, by owner.
CREATE INDEX deliveries_sending ON deliveries (lease_owner) WHERE state = 'sending';
-- Bounces matched by Message-ID.
CREATE INDEX deliveries_message_id ON deliveries (message_id) WHERE message_id IS NOT NULL;
-- The daily cap: messages sent since midnight, across sends.
CREATE INDEX deliveries_sent_at ON deliveries (sent_at) WHERE sent_at IS NOT NULL;
-- Reports (first and last message, messages per minute) and the current rate.
CREATE INDEX deliveries_send_sent ON deliveries (send_id, sent_at) WHERE sent_at IS NOT NULL;
-- Bounces matched by recipient, soft-bounce counts, forgetting an address.
CREATE INDEX deliveries_email ON deliveries (lower(email));
