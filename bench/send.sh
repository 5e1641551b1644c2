#!/usr/bin/env bash
# Sending benchmark (sending issue): presswire sends N personalised ~5 KB
# messages unthrottled to postfix's smtp-sink on loopback, every delivery
# recorded in the database, next to two peers run in the same command:
#   - postfix's smtp-source -d (connection reuse; same count, size and
#     number of connections): the speed of SMTP itself here;
#   - Python mailmerge (PyPI; CSV + Jinja + SMTP, --no-limit): the tool a
#     press officer would otherwise script, on 2,000 messages.
# presswire's figure counts the whole `presswire send`: planning (every
# message rendered and checked, the deliveries written) and sending; the
# two phases are printed beside it. The three take turns, RUNS times
# (default 3), and the figures are medians: a burst of load from elsewhere
# on the machine then falls on all of them alike.
#
#   bench/send.sh [MESSAGES]        # default 20000; CONNECTIONS=… (default 2)
#   bench/send.sh --rss [CONTACTS]  # default 1000000: peak RSS of a real
#                                   # send of that many contacts (target
#                                   # < 150 MB), under /usr/bin/time -v
#
# Needs postfix (smtp-sink, smtp-source) and python3; installs mailmerge
# into a virtualenv under bench/out/ on first use.
set -euo pipefail

MODE=compare
if [ "${1:-}" = "--rss" ]; then
    MODE=rss
    shift
    set -- "${1:-1000000}"
fi
N=${1:-${MESSAGES:-20000}}
C=${CONNECTIONS:-2}
MM=${MAILMERGE_MESSAGES:-2000}
cd "$(dirname "$0")/.."
OUT=bench/out/send
[ "$MODE" = rss ] && OUT=bench/out/send-rss
rm -rf "$OUT" && mkdir -p "$OUT"
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/presswire
echo "building release binary…" >&2
cargo build --release --quiet

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SINK_USER=(); [ "$(id -u)" = 0 ] && SINK_USER=(-u root)
start_sink() { /usr/sbin/smtp-sink "${SINK_USER[@]}" "127.0.0.1:$1" 1000 & SINK=$!; sleep 0.3; }
stop_sink() { kill "$SINK" 2>/dev/null || true; wait "$SINK" 2>/dev/null || true; }
now() { date +%s.%N; }

# Contacts: N journalists over 50 domains, two languages.
python3 - "$N" >"$OUT/contacts.csv" <<'PY'
import sys
n = int(sys.argv[1])
print("Email,First Name,Last Name,Outlet,Language,Country")
for i in range(n):
    lang = "de" if i % 3 == 0 else "en"
    print(f"journalist{i}@outlet{i % 50}.example,Name{i},Surname{i},Outlet {i % 50},{lang},DE")
PY

# A ~5 KB message: a short release through a plain layout.
mkdir -p "$OUT/templates"
cat >"$OUT/templates/release.html" <<'HTML'
<!DOCTYPE html><html lang="{{ release.language }}"><head><meta charset="utf-8"><title>{{ release.title }}</title>
<style>body{font-family:Georgia,serif;color:#222}h1{font-size:24px}blockquote{border-left:3px solid #0b6e4f;padding-left:12px}</style></head>
<body><h1>{{ release.title }}</h1>{{ body }}<p>{{ release.contact.organisation }} · {{ release.contact.email }}</p></body></html>
HTML
cat >"$OUT/templates/release.txt" <<'TXT'
{{ release.title | upper }}

{{ body }}

--
{{ release.contact.organisation }} · {{ release.contact.email }}
TXT
cat >"$OUT/release.md" <<'MD'
+++
title = "Forty communities ask for a freeze of the Lumo dam permits"
subject = "{{ contact.first_name }}, forty communities ask for a freeze of the Lumo dam permits"
language = "en"
[from]
name = "Clearwater Rights Network"
email = "press@clearwater-rights.example"
[contact]
organisation = "Clearwater Rights Network"
email = "press@clearwater-rights.example"
+++
Dear {{ contact.first_name }},

please find our statement below{% if contact.outlet %} for {{ contact.outlet }}{% endif %}.

**Forty communities along the Lumo River today asked the Ministry of Water to freeze the construction permits of the Lumo Gorge dam until an independent flood-risk study is published.** The first phase of works is due to begin in January, weeks before the long rains, on a riverbank where 60,000 people farm and fish.

The communities' joint letter, delivered this morning in Nairobi, follows a survey by Clearwater Rights Network of 212 households in the lower basin. Nine in ten said they had not been consulted about the dam; none had been told where they would go if the valley floods. The survey also found that most households rely on the river for both water and income, and that the nearest health centre is on the valley floor.

The Ministry's own 2024 assessment, published in part last month, lists flooding of the lower basin as a "moderate" risk but gives no model, no return periods and no evacuation plan. Independent hydrologists who reviewed the published chapters for the communities say the river carries twice its dry-season volume in April, and that diverting it in January leaves no margin if the rains come early, as they have in four of the last six years.

> "People here are not against electricity. They are against being flooded out without a plan," said Wanjiku Odhiambo, Director of Campaigns.

## What we ask

1. Freeze the three construction permits issued in October.
2. Publish the environmental and social impact assessment.
3. Hold public hearings before any works begin.

More: <https://clearwater-rights.example/lumo>
MD

cd "$OUT"
DB="sqlite://$PWD/p.db"
"$BIN" --db "$DB" contacts import contacts.csv >/dev/null

# The phases of a run, from its JSON summary (`seconds` is the sending).
phases() { python3 -c "import json,sys; s=json.load(open('$1')); t=float(sys.argv[1]); print(f'{t - s[\"seconds\"]:.2f} {s[\"seconds\"]:.2f}')" "$2"; }

if [ "$MODE" = rss ]; then
    P1=$(port); start_sink "$P1"
    t0=$(now)
    /usr/bin/time -v -o time.txt "$BIN" --db "$DB" -q send release.md --templates templates --yes \
        --rate unlimited --concurrency "$C" --smtp "smtp://127.0.0.1:$P1" --format json >summary.json
    t1=$(now)
    stop_sink
    SENT=$(sqlite3 p.db "select count(*) from deliveries where state = 'sent' and sent_at is not null")
    read -r PLAN SEND <<<"$(phases summary.json "$(python3 -c "print($t1-$t0)")")"
    KB=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' time.txt)
    python3 - "$N" "$SENT" "$KB" "$PLAN" "$SEND" "$C" <<'PY'
import sys
n, sent, kb, plan, send, c = (float(x) for x in sys.argv[1:])
mb = kb / 1024
print(f"contacts: {int(n)}; recorded as sent: {int(sent)}; {int(c)} connection(s) to smtp-sink")
print(f"planning {plan:.0f} s, sending {send:.0f} s ({sent / send:.0f} msg/s), total {plan + send:.0f} s")
print(f"peak RSS {mb:.0f} MB (target < 150 MB: {'PASS' if mb < 150 else 'MISS'})")
PY
    exit 0
fi

# The three contenders take turns, RUNS times (default 3), so that load
# from elsewhere on the machine falls on each alike; each figure is the
# median of its runs. Every run starts a fresh smtp-sink, and presswire a
# fresh database.
RUNS=${RUNS:-3}
sqlite3 p.db "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
cp p.db fresh.db
SIZE=$("$BIN" --db "$DB" release preview release.md --templates templates --format eml | wc -c)

# mailmerge on MM messages: its input, once
if [ ! -x ../mailmerge-venv/bin/mailmerge ]; then
    python3 -m venv ../mailmerge-venv >/dev/null && ../mailmerge-venv/bin/pip install -q mailmerge
fi
MMBIN=../mailmerge-venv/bin/mailmerge
# mailmerge renders each CSV row as Jinja variables: plain column names.
awk -F, -v n="$MM" 'NR == 1 { print "email,first_name,outlet" } NR > 1 && NR <= n + 1 { print $1 "," $2 "," $4 }' contacts.csv >mm.csv
cat >mm-template.txt <<'TPL'
TO: {{email}}
SUBJECT: {{first_name}}, forty communities ask for a freeze of the Lumo dam permits
FROM: Clearwater Rights Network <press@clearwater-rights.example>

Dear {{first_name}},

please find our statement below for {{outlet}}.
TPL
python3 - "$SIZE" >>mm-template.txt <<'PY'
import sys
print(("Forty communities along the Lumo River today asked for a freeze. " * 200)[: int(sys.argv[1]) - 400])
PY

: >runs.txt
for run in $(seq "$RUNS"); do
    # 1. presswire, on a fresh copy of the imported database
    cp fresh.db p.db; rm -f p.db-wal p.db-shm
    P1=$(port); start_sink "$P1"
    t0=$(now)
    /usr/bin/time -f "%M" -o rss.txt "$BIN" --db "$DB" -q send release.md --templates templates --yes \
        --rate unlimited --concurrency "$C" --smtp "smtp://127.0.0.1:$P1" --format json >summary.json
    t1=$(now)
    stop_sink
    SENT=$(sqlite3 p.db "select count(*) from deliveries where state = 'sent' and sent_at is not null and message_id is not null")
    read -r PLAN SEND <<<"$(phases summary.json "$(python3 -c "print($t1-$t0)")")"
    PW=$(python3 -c "print(f'{$SENT/($t1-$t0):.0f}')")
    PWS=$(python3 -c "print(f'{$SENT/$SEND:.0f}')")

    # 2. smtp-source, same count, size and connections
    P2=$(port); start_sink "$P2"
    t0=$(now)
    /usr/sbin/smtp-source -d -s "$C" -m "$N" -l "$SIZE" -f press@clearwater-rights.example \
        -t journalist@outlet.example "127.0.0.1:$P2"
    t1=$(now)
    stop_sink
    SS=$(python3 -c "print(f'{$N/($t1-$t0):.0f}')")

    # 3. mailmerge on MM messages
    P3=$(port); start_sink "$P3"
    cat >mm.conf <<CONF
[smtp_server]
host = 127.0.0.1
port = $P3
security = Never
ratelimit = 0
CONF
    t0=$(now)
    "$MMBIN" --no-limit --no-dry-run --template mm-template.txt --database mm.csv --config mm.conf >/dev/null
    t1=$(now)
    stop_sink
    MR=$(python3 -c "print(f'{$MM/($t1-$t0):.0f}')")
    echo "$PW $PWS $PLAN $SEND $SS $MR $SENT $(( $(cat rss.txt) / 1024 ))" | tee -a runs.txt >&2
done

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$N" "$SIZE" "$C" "$MM" "$LOAD" runs.txt <<'PY'
import statistics, sys
n, size, c, mm = (int(x) for x in sys.argv[1:5])
load = sys.argv[5]
runs = [[float(x) for x in line.split()] for line in open(sys.argv[6]) if line.strip()]
col = lambda i: [r[i] for r in runs]
med = lambda i: statistics.median(col(i))
pw, pws, plan, send, ss, mr = (med(i) for i in range(6))
sent = min(col(6))
rss = max(col(7))
spread = lambda i: "/".join(f"{x:.0f}" for x in col(i))
print(f"messages: {n} of {size} bytes over {c} connection(s); recorded as sent: {int(sent)} (fewest of {len(runs)} runs)")
print(f"medians of {len(runs)} runs taking turns; load average at the end {load}")
print(f"presswire send        {pw:>8.0f} msg/s   whole command (runs {spread(0)}; planning {plan:.2f} s + sending {send:.2f} s; peak RSS {rss:.0f} MB)")
print(f"  sending phase only  {pws:>8.0f} msg/s   (runs {spread(1)})")
print(f"smtp-source -d        {ss:>8.0f} msg/s   (runs {spread(4)})")
print(f"mailmerge ({mm:,})     {mr:>8.0f} msg/s   (runs {spread(5)})")
print(f"ratio to smtp-source  {pw/ss:.2f}x whole command, {pws/ss:.2f}x sending phase (target >= 0.8x: {'PASS' if pw/ss >= 0.8 else 'MISS'} on the whole command)")
print(f"ratio to mailmerge    {pw/mr:.1f}x whole command, {pws/mr:.1f}x sending phase (target >= 10x: {'PASS' if pw/mr >= 10 else 'MISS'} on the whole command)")
PY
