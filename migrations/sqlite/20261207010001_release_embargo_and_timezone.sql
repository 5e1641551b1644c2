-- A release's embargo and time zone, kept with the release a send stores
-- (the same change in both dialects; the other twin is under
-- migrations/postgres/).
--
-- An embargo no longer holds a send back: `presswire send` sends at once
-- (or at `--at`), and each message carries the embargo banner and subject
-- prefix only when it is written before the embargo lifts. `sends`,
-- `sends status`, the confirmation and the report show a send's times in
-- the release's time zone and name the embargo, so both are stored here
-- rather than read out of the stored bundle each time.
--
-- Sends that an earlier presswire scheduled for the lift of an embargo keep
-- their state and their `scheduled_at`: they start at the time they were
-- given, and nothing is moved or started by this migration. (Their messages,
-- written at or after the lift, carry no banner.) Rows stored before this
-- migration have no time zone or embargo here and show their times in UTC
-- until the same release is sent again.

-- The release's `timezone` (IANA name, e.g. "Africa/Nairobi"), if set.
ALTER TABLE releases ADD COLUMN timezone TEXT;
-- When the release's embargo lifts (the latest of its files'), in
-- milliseconds since the epoch, if it has one.
ALTER TABLE releases ADD COLUMN embargo_at INTEGER;
