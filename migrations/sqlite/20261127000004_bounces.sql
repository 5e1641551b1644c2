-- Bounces from files and IMAP, matched to deliveries (issue: bounces,
-- parts 4–6). SQLite dialect; the PostgreSQL twin has the same name under
-- migrations/postgres/.

-- What makes one result of one returned message unique, so that importing
-- the same message again (a re-run, the same mbox twice, an IMAP message
-- whose move failed) records it once: the SHA-256 of the message (line ends
-- normalised) and the recipient. SMTP-time rejections have none (NULL, which
-- a unique index does not compare).
ALTER TABLE bounces ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX bounces_dedupe ON bounces (dedupe_key);

-- How the bounce was tied to its delivery: 'verp', 'message-id',
-- 'recipient' or 'smtp' (refused while sending); NULL when unmatched.
ALTER TABLE bounces ADD COLUMN matched_by TEXT;
-- Where it came from: the file (FILE#N in an mbox) or the IMAP message.
ALTER TABLE bounces ADD COLUMN origin TEXT;
-- The returned message's subject, the original's Message-ID and the VERP
-- token as found (verified or not), for review of unmatched bounces.
ALTER TABLE bounces ADD COLUMN subject TEXT;
ALTER TABLE bounces ADD COLUMN message_id TEXT;
ALTER TABLE bounces ADD COLUMN verp_token TEXT;
-- The DSN action (failed, delayed, delivered…) and an ARF Feedback-Type.
ALTER TABLE bounces ADD COLUMN action TEXT;
ALTER TABLE bounces ADD COLUMN feedback_type TEXT;
-- What the policy did with it, in words ("suppressed: hard bounce",
-- "soft bounce 2 of 3 within 30 days", "unmatched: …").
ALTER TABLE bounces ADD COLUMN effect TEXT;

-- `bounces list --since`, newest first.
CREATE INDEX bounces_received ON bounces (received_at);
-- Matching a bounce that names only its recipient to the latest delivery
-- to that address; counting an address's soft bounces.
CREATE INDEX deliveries_email ON deliveries (lower(email), sent_at);
