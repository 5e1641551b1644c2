#!/usr/bin/env bash
# Report benchmark (delivery-reports issue): the time of `presswire report`
# for a send of 1,000,000 deliveries in SQLite, in every format, against a
# target of under one second (no peer: nothing else reads presswire's
# schema), with the indexes the report needs.
#
#   bench/report.sh [DELIVERIES]    # default 1000000; RUNS=… (default 3)
#                                   # KEEP=1 reuses bench/out/report/ if built
#                                   # WITHOUT_INDEXES=1: see the end
#
# The database is built by presswire (its real schema: the binary runs its
# migrations on an empty file), then filled by the sqlite3 CLI with SQL
# (recursive CTEs and deterministic arithmetic hashes), NOT by a real
# send: sending a million messages takes an hour, and the report only
# reads what a send leaves behind. What it leaves is imitated closely:
#   - contacts over ~3,000 outlet domains in 30 countries (skewed: a few
#     large outlets, many small ones) plus webmail freelancers, with names,
#     roles, beats, languages (mostly the country's), tags, a few unknown;
#   - one release and one finished send; one delivery per contact, in
#     address order (as planning writes them), so delivery ids and contact
#     ids are in unrelated orders;
#   - states: 1.2 % skipped (five reasons), 0.5 % failed (refused at SMTP
#     time, each with its `smtp` hard bounce), 0.3 % deferred, 0.05 %
#     uncertain, the rest sent over two hours, with Message-IDs and the
#     relay's reply;
#   - about 3 % bounced: hard (userunknown, hostunknown, suspend, rejected)
#     and soft (mailboxfull, blocked, expired, spamdetected, hasmoved), a
#     few matched only to the contact; complaints (half through a feedback
#     loop naming only the contact), auto-replies, delivery notices, and
#     unmatched bounces, each with a raw message of 2-4 KB kept for review;
#   - the suppressions and contact statuses bounce processing and the
#     unsubscribe link leave: bounced, complained, unsubscribed (most
#     through this send's link, naming it), needs-update.
# Then it times `presswire report 1` in each format (the median of RUNS
# runs under /usr/bin/time, with the peak RSS), prints PASS or MISS
# against the target, the indexes on the tables the report reads and the
# query plans of its main queries; with WITHOUT_INDEXES=1, also the table
# report without the indexes of migration 20261127000005_report_indexes
# (dropped from the benchmark's database), to show what they are worth.
set -euo pipefail

N=${1:-${DELIVERIES:-1000000}}
RUNS=${RUNS:-3}
TARGET=1.0
cd "$(dirname "$0")/.."
OUT=bench/out/report
DB=$OUT/report.db
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/presswire
SQLITE3=${SQLITE3:-/usr/bin/sqlite3}

echo "building release binary…" >&2
cargo build --release --quiet

# 2026-11-20 08:00 UTC, in epoch milliseconds: the send's start.
T0=1795161600000

build_db() {
    rm -rf "$OUT" && mkdir -p "$OUT"
    # presswire's own schema: any command that opens the database migrates it.
    "$BIN" -q --db "sqlite://$DB" contacts list >/dev/null
    # Load without the secondary indexes, then build them (a sort each
    # instead of a million random B-tree inserts); the UNIQUE constraints'
    # own indexes stay, and the rows go in in their order.
    "$SQLITE3" "$DB" "SELECT sql || ';' FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
        AND tbl_name IN ('contacts', 'contact_tags', 'deliveries', 'bounces', 'suppressions')" >"$OUT/indexes.sql"
    "$SQLITE3" "$DB" "SELECT 'DROP INDEX ' || name || ';' FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
        AND tbl_name IN ('contacts', 'contact_tags', 'deliveries', 'bounces', 'suppressions')" >"$OUT/drop.sql"
    {
        cat <<SQL
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -400000;
PRAGMA temp_store = MEMORY;
.read $OUT/drop.sql
BEGIN;
SQL
        sed -e "s/@N@/$N/g" -e "s/@T0@/$T0/g" <<'SQL'
-- 1..N, and small word lists.
CREATE TEMP TABLE n (i INTEGER PRIMARY KEY);
WITH RECURSIVE s (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < max(@N@, 3000))
INSERT INTO n SELECT i FROM s;
-- u(i, m): a deterministic, roughly uniform number in 0..1000002 (i·m mod a prime).
CREATE TEMP TABLE country (k INTEGER PRIMARY KEY, code TEXT, lang TEXT, tld TEXT);
INSERT INTO country (code, lang, tld) VALUES
  ('DE','de','de'),('GB','en','co.uk'),('US','en','com'),('FR','fr','fr'),('KE','en','co.ke'),
  ('NL','nl','nl'),('ES','es','es'),('BR','pt-BR','com.br'),('IT','it','it'),('AT','de-AT','at'),
  ('CH','de-CH','ch'),('IN','en','in'),('ZA','en','co.za'),('NG','en','com.ng'),('MX','es','mx'),
  ('AR','es','com.ar'),('JP','ja','jp'),('SE','sv','se'),('PL','pl','pl'),('TR','tr','com.tr'),
  ('BE','fr','be'),('DK','da','dk'),('NO','nb','no'),('FI','fi','fi'),('PT','pt','pt'),
  ('UG','en','co.ug'),('TZ','sw','co.tz'),('GH','en','com.gh'),('CA','en','ca'),('AU','en','com.au');
CREATE TEMP TABLE adj (k INTEGER PRIMARY KEY, w TEXT);
INSERT INTO adj (k, w) VALUES (0,'Daily'),(1,'Morning'),(2,'Evening'),(3,'National'),(4,'Free'),
  (5,'Weekly'),(6,'City'),(7,'Coastal'),(8,'Northern'),(9,'Southern'),(10,'Independent'),
  (11,'Public'),(12,'Global'),(13,'Green'),(14,'Standard'),(15,'Sunday'),(16,'River'),
  (17,'Capital'),(18,'Valley'),(19,'Metro');
CREATE TEMP TABLE noun (k INTEGER PRIMARY KEY, w TEXT);
INSERT INTO noun (k, w) VALUES (0,'Post'),(1,'Times'),(2,'Herald'),(3,'Radio'),(4,'Wire'),
  (5,'Tribune'),(6,'Courier'),(7,'Observer'),(8,'Chronicle'),(9,'Review'),(10,'Gazette'),
  (11,'News'),(12,'Journal'),(13,'Voice'),(14,'Report');
-- Outlet domains: k 0..2999 an outlet (adjective, noun, country); 3000..3005 webmail.
CREATE TEMP TABLE dom (k INTEGER PRIMARY KEY, domain TEXT, outlet TEXT, country TEXT, lang TEXT);
INSERT INTO dom
SELECT n.i - 1,
       lower(a.w) || lower(o.w) || '.' || c.tld,
       'The ' || a.w || ' ' || o.w || CASE WHEN (n.i - 1) / 600 > 0 OR c.k > 0 THEN ' (' || c.code || ')' ELSE '' END,
       c.code, c.lang
FROM n JOIN country c ON c.k = (n.i - 1) % 30 + 1
       JOIN adj a ON a.k = ((n.i - 1) / 30) % 20
       JOIN noun o ON o.k = ((n.i - 1) / 600) % 15
WHERE n.i <= 3000;
INSERT INTO dom VALUES (3000,'gmail.com',NULL,NULL,NULL),(3001,'outlook.com',NULL,NULL,NULL),
  (3002,'proton.me',NULL,NULL,NULL),(3003,'gmx.de',NULL,'DE','de'),(3004,'yahoo.com',NULL,NULL,NULL),
  (3005,'web.de',NULL,'DE','de');
CREATE TEMP TABLE fname (k INTEGER PRIMARY KEY, w TEXT);
INSERT INTO fname (k, w) VALUES (0,'Ada'),(1,'Ben'),(2,'Cat'),(3,'Dan'),(4,'Eve'),(5,'Fay'),(6,'Gus'),
  (7,'Hal'),(8,'Ivy'),(9,'Jon'),(10,'Kim'),(11,'Lea'),(12,'Amara'),(13,'Bruno'),(14,'Chiara'),
  (15,'Dmitri'),(16,'Elif'),(17,'Farid'),(18,'Greta'),(19,'Hiroshi'),(20,'Ines'),(21,'Jamal'),
  (22,'Katarzyna'),(23,'Lars'),(24,'Mei'),(25,'Nkechi'),(26,'Oskar'),(27,'Priya'),(28,'Quentin'),
  (29,'Rosa'),(30,'Sipho'),(31,'Tomás'),(32,'Ulla'),(33,'Vikram'),(34,'Wanjiru'),(35,'Xavier'),
  (36,'Yasmin'),(37,'Zeynep'),(38,'Aisha'),(39,'Björn'),(40,'Carmen'),(41,'Diego'),(42,'Emma'),
  (43,'Femi'),(44,'Giulia'),(45,'Hannah'),(46,'Ibrahim'),(47,'Julia'),(48,'Kofi'),(49,'Lucía'),
  (50,'Mateo'),(51,'Noor'),(52,'Olga'),(53,'Pablo'),(54,'Rahel'),(55,'Sven'),(56,'Thandiwe'),
  (57,'Usha'),(58,'Valentina'),(59,'Wei'),(60,'Yusuf'),(61,'Zanele'),(62,'Anouk'),(63,'Mikkel');
CREATE TEMP TABLE lname (k INTEGER PRIMARY KEY, w TEXT);
INSERT INTO lname (k, w) VALUES (0,'Adler'),(1,'Achieng'),(2,'Berg'),(3,'Chen'),(4,'Costa'),(5,'Diallo'),
  (6,'Eriksen'),(7,'Fischer'),(8,'García'),(9,'Hansen'),(10,'Ivanova'),(11,'Jansen'),(12,'Kowalski'),
  (13,'Lovelace'),(14,'Martin'),(15,'Moyo'),(16,'Nakamura'),(17,'Okafor'),(18,'Park'),(19,'Quispe'),
  (20,'Rossi'),(21,'Schmidt'),(22,'Tanaka'),(23,'Umarov'),(24,'Vries'),(25,'Wanjiru'),(26,'Xu'),
  (27,'Yilmaz'),(28,'Zhou'),(29,'Almeida'),(30,'Bianchi'),(31,'Dubois'),(32,'Esposito'),
  (33,'Ferreira'),(34,'Gonzalez'),(35,'Huber'),(36,'Ibrahim'),(37,'Johansson'),(38,'Kariuki'),
  (39,'Lindqvist'),(40,'Mensah'),(41,'Nowak'),(42,'Otieno'),(43,'Petrov'),(44,'Ramos'),(45,'Silva'),
  (46,'Takahashi'),(47,'Uddin'),(48,'Virtanen'),(49,'Weber'),(50,'Yamamoto'),(51,'Zimmermann'),
  (52,'Abebe'),(53,'Bakker'),(54,'Castillo'),(55,'Dlamini'),(56,'Evans'),(57,'Fofana'),(58,'Gupta'),
  (59,'Haddad'),(60,'Ilunga'),(61,'Jovanović'),(62,'Keller'),(63,'Nielsen');

-- Contacts, in import order: a domain (a skewed pick among the outlets,
-- or a webmail address for one in twelve), a name, country and language
-- (mostly the domain's; some English, a few unknown).
CREATE TEMP TABLE cpick AS
SELECT i,
       CASE WHEN (i * 7919) % 1000003 % 12 = 0 THEN 3000 + (i * 104729) % 1000003 % 6
            ELSE ((i * 15485863) % 1000003 % 3000) * ((i * 32452843) % 1000003 % 3000) / 3000 END AS dk,
       (i * 101) % 1000003 % 64 AS fk, (i * 103) % 1000003 % 64 AS lk,
       (i * 2750159) % 1000003 % 100 AS p
FROM n WHERE i <= @N@;
INSERT INTO contacts (id, email, email_key, domain, name, first_name, last_name, outlet, role, beat,
                      country, language, phone, notes, extra, status, source, created_at, updated_at)
SELECT c.i, f.w || '.' || l.w || c.i || '@' || d.domain,
       lower(f.w || '.' || l.w || c.i || '@' || d.domain), d.domain,
       f.w || ' ' || l.w, f.w, l.w,
       CASE WHEN d.outlet IS NULL AND c.p < 60 THEN 'Freelance' ELSE d.outlet END,
       CASE c.p % 5 WHEN 0 THEN 'Editor' WHEN 1 THEN 'Reporter' WHEN 2 THEN 'Correspondent'
                    WHEN 3 THEN 'Producer' ELSE NULL END,
       CASE c.p % 7 WHEN 0 THEN 'climate' WHEN 1 THEN 'politics' WHEN 2 THEN 'energy, environment'
                    WHEN 3 THEN 'human rights' WHEN 4 THEN 'business' ELSE NULL END,
       CASE WHEN c.p < 5 THEN NULL ELSE d.country END,
       CASE WHEN c.p < 4 THEN NULL WHEN c.p < 19 THEN 'en' ELSE d.lang END,
       CASE WHEN c.p % 3 = 0 THEN '+44 20 7946 ' || printf('%04d', c.i % 10000) ELSE NULL END,
       NULL, '{}', 'active', 'media-database.csv',
       @T0@ - 30 * 86400000 + c.i, @T0@ - 30 * 86400000 + c.i
FROM cpick c JOIN dom d ON d.k = c.dk JOIN fname f ON f.k = c.fk JOIN lname l ON l.k = c.lk;
INSERT INTO contact_tags (contact_id, tag)
SELECT i, CASE p % 4 WHEN 0 THEN 'press' WHEN 1 THEN 'radio' WHEN 2 THEN 'tv' ELSE 'online' END FROM cpick
UNION ALL
SELECT i, CASE p % 3 WHEN 0 THEN 'climate' WHEN 1 THEN 'politics' ELSE 'africa' END FROM cpick WHERE p % 3 <> 2 OR p < 30;

INSERT INTO releases (id, slug, title, subject, source_path, source_hash, created_at, bundle)
VALUES (1, 'lumo-dam', 'Lumo River dam permits must be frozen before the rains, say 40 communities',
        '{% if contact.first_name %}{{ contact.first_name }}: {% endif %}Lumo River dam permits must be frozen before the rains',
        'releases/lumo-dam.md', 'b3f1c2d4e5a697887766554433221100ffeeddccbbaa99887766554433221100',
        @T0@ - 3600000, '{}');
INSERT INTO sends (id, release_id, audience, settings, state, scheduled_at, created_at, started_at, finished_at)
VALUES (1, 1, '{}', '{"rate":"unlimited","per_domain":null,"daily_cap":null,"concurrency":4}',
        'finished', NULL, @T0@ - 120000, @T0@, @T0@ + 7300000);

-- The plan: one delivery per contact in address order; u and v pick its
-- state and what came back (per 100,000).
CREATE TEMP TABLE plan (r INTEGER PRIMARY KEY, cid INTEGER, email TEXT, u INTEGER, v INTEGER);
INSERT INTO plan (r, cid, email, u, v)
SELECT r, id, email, (r * 48271) % 1000003 % 100000, (r * 69621) % 1000003 % 100000
FROM (SELECT row_number() OVER (ORDER BY email_key) AS r, id, email FROM contacts);
CREATE TEMP TABLE dstate AS
SELECT r, cid, email, u, v,
       CASE WHEN u < 1200 THEN 'skipped' WHEN u < 1700 THEN 'failed' WHEN u < 2000 THEN 'deferred'
            WHEN u < 2050 THEN 'uncertain' WHEN u < 3400 THEN 'bounced'
            WHEN u >= 3550 AND v < 700 THEN 'bounced' ELSE 'sent' END AS state,
       @T0@ + r * 7200000 / @N@ + (r * 7) % 500 AS t
FROM plan;
INSERT INTO deliveries (id, send_id, contact_id, email, state, skip_reason, attempts, next_attempt_at,
                        lease_owner, lease_expires_at, message_id, last_reply, created_at, updated_at, sent_at)
SELECT r, 1, cid, email, state,
       CASE WHEN state <> 'skipped' THEN NULL WHEN u < 400 THEN 'status bounced'
            WHEN u < 600 THEN 'status unsubscribed' WHEN u < 900 THEN 'suppressed (bounced)'
            WHEN u < 1100 THEN 'suppressed (unsubscribed)' ELSE 'status needs-update' END,
       CASE state WHEN 'skipped' THEN 0 WHEN 'deferred' THEN 2 WHEN 'sent' THEN 1 + (v % 50 = 0) ELSE 1 END,
       CASE state WHEN 'deferred' THEN @T0@ + 7200000 + 3600000 ELSE NULL END,
       NULL, NULL,
       CASE WHEN state = 'skipped' THEN NULL
            ELSE '1.' || r || '.' || printf('%08x%08x', (r * 2654435761) % 4294967291, (r * 40503 + 12345) % 4294967291)
                 || '@press.clearwater-rights.example' END,
       CASE state WHEN 'sent' THEN '250 2.0.0 Ok: queued as ' || printf('%X', (r * 2654435761) % 4294967291)
                  WHEN 'bounced' THEN '250 2.0.0 Ok: queued as ' || printf('%X', (r * 2654435761) % 4294967291)
                  WHEN 'failed' THEN '550 5.1.1 <' || email || '>: Recipient address rejected: User unknown'
                  WHEN 'deferred' THEN '450 4.7.1 <' || email || '>: Recipient address rejected: Greylisted, try again later'
                  WHEN 'uncertain' THEN 'the worker stopped while sending; outcome unknown'
                  ELSE NULL END,
       @T0@ - 60000,
       CASE state WHEN 'skipped' THEN @T0@ - 60000 ELSE t END,
       CASE WHEN state IN ('sent', 'bounced') THEN t ELSE NULL END
FROM dstate;

-- What came back: (delivery or NULL, contact, kind, reason, status, diagnostic, delay).
CREATE TEMP TABLE back (r INTEGER, via_contact INTEGER, kind TEXT, reason TEXT, status TEXT,
                        diagnostic TEXT, after_ms INTEGER, source TEXT);
INSERT INTO back
-- Refused at SMTP time: the worker records a hard bounce.
SELECT r, 0, 'hard', 'userunknown', '5.1.1',
       '550 5.1.1 <' || email || '>: Recipient address rejected: User unknown', 0, 'smtp'
FROM dstate WHERE state = 'failed'
UNION ALL
-- Returned later (DSNs): hard, and soft (matched: the delivery is bounced).
SELECT r, u >= 3400, 'hard',
       CASE WHEN v % 20 < 14 THEN 'userunknown' WHEN v % 20 < 17 THEN 'hostunknown'
            WHEN v % 20 < 19 THEN 'suspend' ELSE 'rejected' END,
       CASE WHEN v % 20 < 14 THEN '5.1.1' WHEN v % 20 < 17 THEN '5.1.2' WHEN v % 20 < 19 THEN '5.2.1' ELSE '5.7.1' END,
       CASE WHEN v % 20 < 14 THEN 'smtp; 550 5.1.1 <' || email || '>: Recipient address rejected: User unknown in virtual mailbox table'
            WHEN v % 20 < 17 THEN 'smtp; 550 5.1.2 Host or domain name not found. Name service error for name=' || substr(email, instr(email, '@') + 1)
            WHEN v % 20 < 19 THEN 'smtp; 550 5.2.1 The email account that you tried to reach is disabled.'
            ELSE 'smtp; 550 5.7.1 Message rejected by recipient policy' END,
       5000 + (r * 37) % 1800000, 'imap'
FROM dstate WHERE u >= 2050 AND u < 3550
UNION ALL
SELECT r, v >= 700 AND v < 800, 'soft',
       CASE WHEN v >= 800 THEN 'hasmoved' WHEN v % 10 < 5 THEN 'mailboxfull' WHEN v % 10 < 7 THEN 'blocked'
            WHEN v % 10 < 9 THEN 'expired' ELSE 'spamdetected' END,
       CASE WHEN v >= 800 THEN '5.1.6' WHEN v % 10 < 5 THEN '4.2.2' WHEN v % 10 < 7 THEN '5.7.1'
            WHEN v % 10 < 9 THEN '4.4.7' ELSE '5.7.1' END,
       CASE WHEN v >= 800 THEN 'smtp; 551 5.1.6 User has moved; please try <desk@' || substr(email, instr(email, '@') + 1) || '>'
            WHEN v % 10 < 5 THEN 'smtp; 452 4.2.2 <' || email || '>: Mailbox full & over quota'
            WHEN v % 10 < 7 THEN 'smtp; 554 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org'
            WHEN v % 10 < 9 THEN 'delivery temporarily suspended: connection timed out; delivery time expired'
            ELSE 'smtp; 550 5.7.1 Message considered as spam or virus' END,
       60000 + (r * 53) % 14400000, 'imap'
FROM dstate WHERE u >= 3550 AND v < 830
UNION ALL
-- Complaints (half from a feedback loop that names only the contact).
SELECT r, v >= 1025, 'complaint', 'feedback', NULL, 'abuse', 300000 + (r * 61) % 86400000, 'imap'
FROM dstate WHERE state = 'sent' AND v >= 1000 AND v < 1050
UNION ALL
SELECT r, 0, 'auto-reply', 'vacation', NULL, NULL, 2000 + (r * 13) % 600000, 'imap'
FROM dstate WHERE state = 'sent' AND v >= 2000 AND v < 3000
UNION ALL
SELECT r, 0, 'not-a-failure', 'delivered', '2.0.0', 'smtp; 250 2.0.0 Ok', 1000 + (r * 11) % 60000, 'imap'
FROM dstate WHERE state = 'sent' AND v >= 3000 AND v < 3300;

-- A returned message as kept for review (2-4 KB).
CREATE TEMP TABLE filler (t TEXT);
INSERT INTO filler SELECT replace(printf('%.30c', '*'), '*',
  'This is the mail system at host mx.example.net. I''m sorry to have to inform you that your message could not be delivered to one or more recipients. ');
INSERT INTO bounces (delivery_id, contact_id, email, kind, reason, status_code, reply_code, diagnostic,
                     reporting_mta, remote_host, source, raw, received_at, created_at, dedupe_key,
                     matched_by, origin, subject, message_id, verp_token, action, feedback_type, effect)
SELECT CASE WHEN b.via_contact THEN NULL ELSE d.id END, d.contact_id, d.email, b.kind, b.reason, b.status,
       CASE WHEN b.status IS NULL THEN NULL ELSE CAST(substr(b.status, 1, 1) AS INTEGER) * 100 + 50 END,
       b.diagnostic,
       CASE WHEN b.source = 'smtp' THEN NULL ELSE 'dns; mx' || (b.r % 9) || '.' || substr(d.email, instr(d.email, '@') + 1) END,
       'mx' || (b.r % 9) || '.' || substr(d.email, instr(d.email, '@') + 1),
       b.source,
       CASE WHEN b.source = 'smtp' THEN NULL ELSE CAST(
         'From: MAILER-DAEMON@mx.example.net' || char(13, 10) ||
         'To: bounces+d' || d.id || '-x7Qk2@press.clearwater-rights.example' || char(13, 10) ||
         'Subject: Undelivered Mail Returned to Sender' || char(13, 10) || char(13, 10) ||
         substr(f.t, 1, 2000 + (b.r * 17) % 2000) AS BLOB) END,
       coalesce(d.sent_at, d.updated_at) + b.after_ms, coalesce(d.sent_at, d.updated_at) + b.after_ms + 5,
       CASE WHEN b.source = 'smtp' THEN NULL ELSE printf('%016x%016x', b.r * 2654435761, b.r * 40503 + length(b.kind)) || b.kind END,
       CASE WHEN b.via_contact THEN 'recipient' WHEN b.source = 'smtp' THEN 'smtp' ELSE 'verp' END,
       CASE WHEN b.source = 'smtp' THEN NULL ELSE 'imap://bounces@imap.example.net/INBOX;UID=' || b.r END,
       CASE b.kind WHEN 'auto-reply' THEN 'Out of office' WHEN 'complaint' THEN 'Abuse report'
                   ELSE 'Undelivered Mail Returned to Sender' END,
       CASE WHEN b.source = 'smtp' THEN NULL ELSE '<' || d.message_id || '>' END,
       CASE WHEN b.via_contact OR b.source = 'smtp' THEN NULL ELSE 'd' || d.id || '-x7Qk2' END,
       CASE b.kind WHEN 'hard' THEN 'failed' WHEN 'soft' THEN 'failed' WHEN 'not-a-failure' THEN 'delivered' ELSE NULL END,
       CASE b.kind WHEN 'complaint' THEN 'abuse' ELSE NULL END,
       CASE b.kind WHEN 'hard' THEN 'suppressed: hard bounce' WHEN 'complaint' THEN 'suppressed: complaint'
                   WHEN 'soft' THEN CASE b.reason WHEN 'hasmoved' THEN 'contact needs-update' ELSE 'soft bounce 1 of 3 within 30 days' END
                   ELSE 'recorded' END
FROM back b JOIN deliveries d ON d.id = b.r CROSS JOIN filler f
ORDER BY coalesce(d.sent_at, d.updated_at) + b.after_ms;
-- Bounces no delivery could be matched to (a forwarded address, a
-- mangled VERP token): 0.05 % of the send.
INSERT INTO bounces (delivery_id, contact_id, email, kind, reason, status_code, diagnostic, source, raw,
                     received_at, created_at, dedupe_key, origin, subject, effect)
SELECT NULL, NULL, 'someone' || i || '@forwarded.example', 'hard', 'userunknown', '5.1.1',
       'smtp; 550 5.1.1 User unknown', 'imap', CAST(substr(f.t, 1, 3000) AS BLOB),
       @T0@ + i * 14400, @T0@ + i * 14400, printf('unmatched%08d', i),
       'imap://bounces@imap.example.net/INBOX;UID=u' || i, 'Undelivered Mail Returned to Sender',
       'unmatched: no delivery names this address'
FROM n CROSS JOIN filler f WHERE i <= @N@ / 2000;

-- What the policy and the unsubscribe link left behind.
-- Skipped at planning: inactive or suppressed before the send.
UPDATE contacts SET status = CASE WHEN p.u < 400 THEN 'bounced' WHEN p.u < 600 THEN 'unsubscribed'
                                  WHEN p.u < 900 THEN 'bounced' WHEN p.u < 1100 THEN 'unsubscribed'
                                  ELSE 'needs-update' END,
                    updated_at = @T0@ - 5 * 86400000
FROM plan p WHERE p.cid = contacts.id AND p.u < 1200;
INSERT INTO suppressions (kind, value, reason, source, send_id, created_at)
SELECT 'address', lower(p.email), CASE WHEN p.u < 900 THEN 'bounced' ELSE 'unsubscribed' END,
       CASE WHEN p.u < 900 THEN 'imap: userunknown' ELSE 'mailto' END, NULL, @T0@ - 5 * 86400000
FROM plan p WHERE p.u >= 600 AND p.u < 1100;
-- Hard bounces and complaints after the send.
UPDATE contacts SET status = CASE b.kind WHEN 'complaint' THEN 'complained' ELSE 'bounced' END,
                    updated_at = b.received_at
FROM bounces b WHERE b.contact_id = contacts.id AND b.kind IN ('hard', 'complaint');
INSERT INTO suppressions (kind, value, reason, source, send_id, created_at)
SELECT 'address', lower(b.email), CASE b.kind WHEN 'complaint' THEN 'complained' ELSE 'bounced' END,
       CASE b.kind WHEN 'complaint' THEN 'imap: complaint' ELSE b.source || ': ' || b.reason END,
       NULL, b.received_at
FROM bounces b WHERE b.contact_id IS NOT NULL AND b.kind IN ('hard', 'complaint')
ON CONFLICT (kind, value) DO NOTHING;
UPDATE contacts SET status = 'needs-update', updated_at = b.received_at
FROM bounces b WHERE b.contact_id = contacts.id AND b.reason = 'hasmoved';
-- Unsubscribes: most through this send's link (naming it), some by mail.
INSERT INTO suppressions (kind, value, reason, source, send_id, created_at)
SELECT 'address', lower(email), 'unsubscribed',
       CASE WHEN v < 4200 THEN 'unsubscribe link of send 1' ELSE 'mailto' END,
       CASE WHEN v < 4200 THEN 1 ELSE NULL END, t + 600000 + (r * 71) % 172800000
FROM dstate WHERE state = 'sent' AND v >= 4000 AND v < 4300
ON CONFLICT (kind, value) DO NOTHING;
UPDATE contacts SET status = 'unsubscribed', updated_at = s.created_at
FROM suppressions s WHERE s.kind = 'address' AND s.value = contacts.email_key AND s.reason = 'unsubscribed'
  AND s.created_at >= @T0@ AND contacts.status = 'active';
-- Two whole domains suppressed long ago.
INSERT INTO suppressions (kind, value, reason, source, created_at)
VALUES ('domain', 'competitor.example', 'manual', 'suppress add', @T0@ - 90 * 86400000),
       ('domain', 'spamtrap.example', 'manual', 'suppress add', @T0@ - 90 * 86400000);
SQL
        cat <<SQL
COMMIT;
.read $OUT/indexes.sql
PRAGMA journal_mode = WAL;
SQL
    } >"$OUT/fill.sql"
    local start end
    start=$(date +%s.%N)
    "$SQLITE3" "$DB" <"$OUT/fill.sql" >/dev/null
    end=$(date +%s.%N)
    printf 'built %s in %.1f s (%s MB)\n' "$DB" "$(echo "$end - $start" | bc)" "$(($(stat -c %s "$DB") / 1000000))"
}

if [[ ${KEEP:-} = 1 && -s $DB ]]; then
    echo "reusing $DB"
else
    echo "building a send of $N deliveries in $DB…" >&2
    build_db
fi

"$SQLITE3" -box "$DB" "SELECT state, count(*) AS deliveries FROM deliveries GROUP BY state ORDER BY 2 DESC"
"$SQLITE3" -box "$DB" "SELECT kind, count(*) AS bounces, sum(delivery_id IS NULL AND contact_id IS NOT NULL) AS via_contact, \
    sum(delivery_id IS NULL AND contact_id IS NULL) AS unmatched FROM bounces GROUP BY kind ORDER BY 2 DESC"
"$SQLITE3" "$DB" "SELECT count(*) || ' contacts over ' || count(DISTINCT domain) || ' domains, ' || count(DISTINCT outlet) \
    || ' outlets, ' || count(DISTINCT country) || ' countries, ' || count(DISTINCT language) || ' languages; ' \
    || (SELECT count(*) FROM suppressions) || ' suppressions' FROM contacts"

# median_run FORMAT [ARGS…]: runs `presswire report 1 --format FORMAT
# ARGS…` RUNS times; prints the median run's wall seconds, CPU seconds
# (user + system), peak RSS and peak private memory (KB). The peak RSS
# counts the database's pages mapped into memory (the report maps the file
# on each of its connections, and a page mapped by two connections counts
# twice), which the operating system shares and can drop at will; the
# private (anonymous) memory is what the process itself holds, sampled
# every 10 ms from /proc.
median_run() {
    local format=$1
    shift
    local runs=()
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f '%e %U %S %M' -o "$OUT/time" "$BIN" -q --db "sqlite://$DB" report 1 --format "$format" "$@" \
            >"$OUT/stdout.$format" &
        local tpid=$! pid="" anon=0 k v
        while kill -0 "$tpid" 2>/dev/null; do
            [[ -z $pid ]] && pid=$(pgrep -P "$tpid" || true)
            if [[ -n $pid && -r /proc/$pid/status ]]; then
                while read -r k v _; do
                    [[ $k == RssAnon: ]] && ((v > anon)) && anon=$v
                done </proc/"$pid"/status 2>/dev/null || true
            fi
            sleep 0.01
        done
        wait "$tpid"
        read -r wall user sys rss <"$OUT/time"
        runs+=("$wall $(echo "$user + $sys" | bc) $rss $anon")
    done
    printf '%s\n' "${runs[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}

report_all() {
    local label=$1
    echo
    echo "== presswire report of $N deliveries, $label (median of $RUNS; load: $(cut -d' ' -f1-3 /proc/loadavg))"
    printf '%-30s %8s %8s %10s %10s  %s\n' "format" "seconds" "CPU s" "peak RSS" "private" "< ${TARGET} s"
    for spec in "table" "json" "csv -o $OUT/report.csv" "html -o $OUT/report.html"; do
        # shellcheck disable=SC2086
        read -r secs cpu kb anon <<<"$(median_run $spec)"
        local verdict=MISS
        if (($(echo "$secs < $TARGET" | bc))); then verdict=PASS; fi
        local what=$spec
        case $spec in
            csv*) what="csv to a file ($(($(stat -c %s "$OUT/report.csv") / 1000000)) MB)" ;;
            html*) what="html to a file ($(($(stat -c %s "$OUT/report.html") / 1000)) KB)" ;;
        esac
        printf '%-30s %8s %8s %7d MB %7d MB  %s\n' "$what" "$secs" "$cpu" "$((kb / 1024))" "$((anon / 1024))" "$verdict"
    done
}

report_all "with the report indexes"

echo
echo "== the indexes on the tables the report reads"
"$SQLITE3" "$DB" "SELECT tbl_name || ': ' || coalesce(sql, name || ' (UNIQUE constraint)') FROM sqlite_master \
    WHERE type = 'index' AND tbl_name IN ('deliveries', 'bounces', 'suppressions', 'contacts') ORDER BY tbl_name, name"

echo
echo "== query plans of the report's main queries"
plan() {
    echo "-- $1"
    "$SQLITE3" "$DB" "EXPLAIN QUERY PLAN $2" | sed 's/^/   /'
}
plan "deliveries per state (one of nine)" \
    "SELECT count(*), min(id), max(id) FROM deliveries d WHERE d.send_id = 1 AND d.state = 'sent'"
plan "breakdowns: one chunk of contact ids" \
    "SELECT json_group_array(json_array(c.outlet, c.country, c.language, c.domain, d.state)) \
     FROM deliveries d LEFT JOIN contacts c ON c.id = d.contact_id \
     WHERE d.send_id = 1 AND d.contact_id >= 1 AND d.contact_id < 20001"
plan "bounces matched to one range of delivery ids" \
    "SELECT count(*) FROM bounces b CROSS JOIN deliveries d LEFT JOIN contacts c ON c.id = d.contact_id \
     WHERE b.delivery_id BETWEEN 1 AND 20000 AND d.id = b.delivery_id AND d.send_id = 1 \
       AND b.kind IN ('hard', 'soft', 'complaint', 'auto-reply')"
plan "bounces matched only to a contact" \
    "SELECT count(*) FROM bounces b CROSS JOIN deliveries d LEFT JOIN contacts c ON c.id = d.contact_id \
     WHERE b.delivery_id IS NULL AND b.contact_id IS NOT NULL AND b.kind IN ('hard', 'soft', 'complaint', 'auto-reply') \
       AND d.send_id = 1 AND d.contact_id = b.contact_id AND d.sent_at <= b.received_at \
       AND NOT EXISTS (SELECT 1 FROM deliveries l WHERE l.contact_id = b.contact_id \
                       AND l.sent_at > d.sent_at AND l.sent_at <= b.received_at)"
plan "messages in one minute (timeline)" \
    "SELECT count(*) FROM deliveries d WHERE d.send_id = 1 AND d.sent_at >= $T0 AND d.sent_at < $T0 + 60000"
plan "unsubscribes" \
    "SELECT count(*) FROM suppressions s CROSS JOIN contacts c CROSS JOIN deliveries d \
     WHERE s.kind = 'address' AND s.reason = 'unsubscribed' AND (s.send_id = 1 OR (s.send_id IS NULL AND s.created_at >= $T0)) \
       AND c.email_key = s.value AND d.send_id = 1 AND d.contact_id = c.id AND d.state <> 'skipped'"
plan "contacts to update" \
    "SELECT count(*) FROM contacts c CROSS JOIN deliveries d \
     WHERE c.status <> 'active' AND c.status = 'needs-update' AND d.send_id = 1 AND d.contact_id = c.id"
plan "CSV: one page of delivery ids" \
    "SELECT count(c.name) FROM deliveries d LEFT JOIN contacts c ON c.id = d.contact_id \
     WHERE d.id BETWEEN 1 AND 5000 AND +d.send_id = 1"

# With WITHOUT_INDEXES=1, last: what the report indexes are worth. They
# are dropped from this database (the next run builds a new one) and the
# table report is timed once: minutes, not seconds (the timeline alone
# then scans every delivery once a minute of the send).
if [[ ${WITHOUT_INDEXES:-} = 1 ]]; then
    REPORT_INDEXES="deliveries_report deliveries_send_sent bounces_report contacts_inactive"
    for i in $REPORT_INDEXES; do "$SQLITE3" "$DB" "DROP INDEX IF EXISTS $i"; done
    echo
    echo "== WITHOUT the indexes of migration 20261127000005 ($REPORT_INDEXES), table, 1 run (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    RUNS=1
    read -r secs cpu kb anon <<<"$(median_run table)"
    echo "table: $secs s (CPU $cpu s)"
    rm -f "$DB"
fi
