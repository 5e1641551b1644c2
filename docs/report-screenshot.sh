#!/usr/bin/env bash
# Regenerates docs/report-example.png: the HTML delivery report
# (`presswire report --format html`) as headless Chromium (Debian
# `chromium`) draws it, 1200 px wide.
#
#   docs/report-screenshot.sh            # HEIGHT=… to resize
#
# The send is made up, in a temporary database: 640 journalists at
# invented outlets (`.example` addresses, no real person), the example
# release sent to the outbox folder, then — written with sqlite3, as a
# relay and bounce processing would have — a pace of about 15 messages a
# minute, refusals, bounces, complaints, auto-replies, unsubscribes, a
# deferred and an uncertain delivery. Needs python3 and sqlite3.
set -euo pipefail
cd "$(dirname "$0")/.."

HEIGHT=${HEIGHT:-2000}
CHROMIUM=${CHROMIUM:-chromium}

cargo build --quiet
P=$PWD/target/debug/presswire
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DB="sqlite://$tmp/presswire.db"

python3 - >"$tmp/contacts.csv" <<'PY'
import random
random.seed(7)
outlets = [
    ("Nairobi Daily Signal", "nairobisignal.example", "KE", "en", 60),
    ("Rhein-Kurier", "rheinkurier.example", "DE", "de", 55),
    ("Cape Broadcast Service", "capebroadcast.example", "ZA", "en", 50),
    ("Alpenblick Zeitung", "alpenblick.example", "AT", "de-AT", 40),
    ("Le Courrier du Fleuve", "courrierdufleuve.example", "FR", "fr", 45),
    ("Harbour Post", "harbourpost.example", "GB", "en", 48),
    ("Lagos Ledger", "lagosledger.example", "NG", "en", 42),
    ("Diario del Valle", "diariodelvalle.example", "ES", "es", 38),
    ("The Delta Review", "deltareview.example", "IN", "en", 36),
    ("Kampala Wire", "kampalawire.example", "UG", "en", 30),
    ("Noordzee Nieuws", "noordzeenieuws.example", "NL", "nl", 28),
    ("Folha do Rio", "folhadorio.example", "BR", "pt-BR", 32),
    ("Dar Morning", "darmorning.example", "TZ", "sw", 26),
    ("Freelance", "mailbox.example", "", "en", 110),
]
first = ["Amara", "Jonas", "Zoë", "Thandiwe", "Camille", "Oliver", "Chidi", "Lucía", "Priya", "Grace",
         "Sanne", "Thiago", "Neema", "Wanjiru", "Lukas", "Aisha", "Mateo", "Ines", "Kofi", "Hannah",
         "Ravi", "Sofia", "Musa", "Elena", "Tariq", "Marta", "Joseph", "Nadia", "Emil", "Fatima"]
last = ["Okonkwo", "Weber", "Hartmann", "Nkosi", "Laurent", "Bennett", "Eze", "García", "Sharma", "Achieng",
        "de Vries", "Souza", "Mushi", "Kamau", "Berger", "Bello", "Fernández", "Costa", "Mensah", "Fischer",
        "Iyer", "Rossi", "Abdullahi", "Petrova", "Haddad", "Nowak", "Otieno", "Karimi", "Lind", "Diallo"]
print("Email,First Name,Last Name,Outlet,Country,Language")
n = 0
for outlet, domain, country, lang, count in outlets:
    for i in range(count):
        f, l = random.choice(first), random.choice(last)
        n += 1
        local = f"{f}.{l}".lower().replace(" ", "").replace("ë", "e").replace("í", "i").replace("á", "a")
        print(f"{local}{n}@{domain},{f},{l},{'' if outlet == 'Freelance' else outlet},{country},{lang}")
PY

"$P" --db "$DB" -q contacts import "$tmp/contacts.csv" >/dev/null
"$P" --db "$DB" -q send releases/example.md --yes --rate unlimited --outbox "$tmp/outbox" >/dev/null

sqlite3 "$tmp/presswire.db" <<'SQL'
-- About 15 messages a minute from 09:00 UTC, a slower start and a pause.
CREATE TEMP TABLE k AS SELECT id, id - (SELECT min(id) FROM deliveries) AS k FROM deliveries;
UPDATE deliveries SET sent_at = 1778403600000 + (SELECT k * 4000
       + CASE WHEN k < 40 THEN k * 2500 ELSE 100000 END
       + CASE WHEN k > 300 THEN 240000 ELSE 0 END FROM k WHERE k.id = deliveries.id);
UPDATE deliveries SET created_at = 1778403540000, updated_at = sent_at;
UPDATE sends SET started_at = 1778403600000, created_at = 1778403540000,
       finished_at = (SELECT max(sent_at) FROM deliveries) + 4000;
-- Refused at SMTP time: unknown users, a full mailbox, a blocking relay.
UPDATE deliveries SET state = 'failed', sent_at = NULL,
       last_reply = 'permanent error (550): 5.1.1 <' || email || '>: Recipient address rejected: User unknown in virtual mailbox table'
 WHERE id % 29 = 3;
UPDATE deliveries SET state = 'failed', sent_at = NULL,
       last_reply = 'permanent error (554): 5.7.1 Service unavailable; client host blocked using zen.spamhaus.example'
 WHERE email LIKE '%@lagosledger.example' AND id % 5 = 0;
INSERT INTO bounces (delivery_id, contact_id, email, kind, reason, status_code, reply_code, diagnostic, source, received_at, created_at)
SELECT id, contact_id, email,
       CASE WHEN last_reply LIKE '%5.7.1%' THEN 'soft' ELSE 'hard' END,
       CASE WHEN last_reply LIKE '%5.7.1%' THEN 'blocked' ELSE 'userunknown' END,
       CASE WHEN last_reply LIKE '%5.7.1%' THEN '5.7.1' ELSE '5.1.1' END,
       CASE WHEN last_reply LIKE '%5.7.1%' THEN 554 ELSE 550 END,
       last_reply, 'smtp', updated_at, updated_at
FROM deliveries WHERE state = 'failed';
-- Returned later: moved journalists, full mailboxes.
UPDATE deliveries SET state = 'bounced' WHERE id % 37 = 5 AND state = 'sent';
INSERT INTO bounces (delivery_id, contact_id, email, kind, reason, status_code, diagnostic, source, received_at, created_at)
SELECT id, contact_id, email, 'hard', CASE WHEN id % 2 = 0 THEN 'hasmoved' ELSE 'userunknown' END, '5.1.1',
       'smtp; 550 5.1.1 <' || email || '>: The email account that you tried to reach does not exist',
       'imap', sent_at + 300000 + (id % 7) * 600000, sent_at + 300000
FROM deliveries WHERE state = 'bounced';
INSERT INTO bounces (delivery_id, contact_id, email, kind, reason, status_code, diagnostic, source, received_at, created_at)
SELECT id, contact_id, email, 'soft', 'mailboxfull', '4.2.2',
       'smtp; 452 4.2.2 <' || email || '>: Mailbox full: user is over quota', 'imap',
       sent_at + 1800000 + (id % 5) * 900000, sent_at + 1800000
FROM deliveries WHERE id % 53 = 7 AND state = 'sent';
-- Complaints, auto-replies, unsubscribes.
INSERT INTO bounces (delivery_id, contact_id, email, kind, reason, source, received_at, created_at)
SELECT id, contact_id, email, 'complaint', 'feedback', 'imap', sent_at + 2400000, sent_at + 2400000
FROM deliveries WHERE id % 211 = 11 AND state = 'sent';
INSERT INTO bounces (delivery_id, contact_id, email, kind, reason, source, received_at, created_at)
SELECT id, contact_id, email, 'auto-reply', 'vacation', 'imap', sent_at + 60000, sent_at + 60000
FROM deliveries WHERE id % 13 = 4 AND state = 'sent';
INSERT INTO suppressions (kind, value, reason, source, send_id, created_at)
SELECT 'address', lower(email), 'unsubscribed', 'list-unsubscribe', send_id, sent_at + 5400000
FROM deliveries WHERE id % 97 = 21 AND state = 'sent';
-- Pending: greylisted and deferred; and one uncertain, lost with its worker.
UPDATE deliveries SET state = 'deferred', sent_at = NULL, attempts = 3,
       last_reply = 'transient error (450): 4.7.1 Greylisted, please try again later'
 WHERE id % 151 = 17 AND state = 'sent';
UPDATE deliveries SET state = 'uncertain', sent_at = NULL,
       last_reply = 'the worker stopped while sending; outcome unknown'
 WHERE id = (SELECT min(id) + 401 FROM deliveries);
-- Two records someone should check.
UPDATE contacts SET status = 'needs-update' WHERE id IN (SELECT contact_id FROM deliveries WHERE id % 233 = 40);
SQL

"$P" --db "$DB" report latest --format html -o "$tmp/report.html" 2>/dev/null
"$CHROMIUM" --headless --no-sandbox --disable-gpu \
    --disable-background-networking --disable-component-update \
    --disable-sync --no-first-run --hide-scrollbars \
    --user-data-dir="$tmp/chromium" \
    --window-size="1200,$HEIGHT" \
    --screenshot="$PWD/docs/report-example.png" "$tmp/report.html" 2>/dev/null
echo "wrote docs/report-example.png" >&2
