#!/usr/bin/env bash
# Unsubscribe benchmark (issue 15): the throughput and p95 latency of
# `presswire serve` answering RFC 8058 one-click unsubscribes (POST /u/TOKEN,
# each with a token of its own: a write transaction that suppresses the
# address and marks the contact), on SQLite and PostgreSQL, with and
# without a send writing to the same database, under Debian's `wrk` on
# loopback (2 threads, CONNECTIONS=32 connections, RUN_SECONDS=5 per run).
#
# The peer, run in the same command against the same server with the same
# load and tokens: GET /u/TOKEN, the confirmation page of the same link.
# It takes the same route through the same server (HTTP parsing, token
# signature check, a page rendered from a template, the security headers)
# and skips only the database, so the ratio says what writing costs, on
# this machine, under this load; a peer on another server (nginx, a no-op
# handler elsewhere) would measure the difference between two HTTP stacks
# as well.
#
# The send: the example release to BULK (default 20000) other contacts
# through postfix's smtp-sink at 1000 messages a second, started before
# the peer's run and cancelled after the unsubscribes' run; its pace during
# each run is printed, to show it went on.
#
# After every run of unsubscribes the script checks that no answer was
# other than 2xx and that the database holds at least as many
# unsubscribes as wrk counted answers.
#
#   bench/unsubscribe.sh             # both backends (PostgreSQL when
#                                    # PRESSWIRE_BENCH_POSTGRES or
#                                    # 127.0.0.1:5432 answers)
#   BACKENDS=sqlite bench/unsubscribe.sh
#
# Needs wrk, postfix (smtp-sink), sqlite3, python3; psql for PostgreSQL.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER_RUN=${RUN_SECONDS:-5}
CONNECTIONS=${CONNECTIONS:-32}
READERS=${READERS:-60000}
BULK=${BULK:-20000}
PG_ADMIN=${PRESSWIRE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
BACKENDS=${BACKENDS:-sqlite postgres}
OUT=$PWD/bench/out/unsubscribe
rm -rf "$OUT" && mkdir -p "$OUT"
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/presswire
LUA=$PWD/bench/unsubscribe.lua
echo "building release binary…" >&2
cargo build --release --quiet
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SINK_USER=(); [ "$(id -u)" = 0 ] && SINK_USER=(-u root)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# READERS contacts tagged press (whose links are clicked) and BULK tagged
# bulk (the send's audience).
python3 - "$READERS" "$BULK" >"$OUT/contacts.csv" <<'PY'
import sys
readers, bulk = int(sys.argv[1]), int(sys.argv[2])
print("Email,First Name,Tags")
for i in range(readers):
    print(f"reader{i}@news{i % 40}.example,Reader{i},press")
for i in range(bulk):
    print(f"bulk{i}@bulk{i % 40}.example,Bulk{i},bulk")
PY

# One wrk run: prints its RESULT line's fields as "requests seconds p50 p95 non2xx errors wrapped".
run_wrk() { # URL TOKENS METHOD
    wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --timeout 60s -s "$LUA" "$1" -- "$2" "$3" 2 \
        | sed -n 's/^RESULT //p' \
        | sed -E 's/[a-z0-9_]+=//g'
}

# Messages the send had accepted, all told.
sent_count() {
    case $BACKEND in
        sqlite) sqlite3 "$DIR/p.db" "select count(*) from deliveries where send_id = $BULK_SEND and sent_at is not null" ;;
        postgres) psql -qtA "$DB_URL" -c "select count(*) from deliveries where send_id = $BULK_SEND and sent_at is not null" ;;
    esac
}
unsubscribed_count() {
    local q="select count(*) from suppressions where reason = 'unsubscribed'"
    case $BACKEND in
        sqlite) sqlite3 "$DIR/p.db" "$q" ;;
        postgres) psql -qtA "$DB_URL" -c "$q" ;;
    esac
}

RESULTS=$OUT/results.txt
: >"$RESULTS"
for BACKEND in $BACKENDS; do
    DIR=$OUT/$BACKEND
    mkdir -p "$DIR"
    case $BACKEND in
        sqlite) DB_URL="sqlite://$DIR/p.db" ;;
        postgres)
            if ! psql -qtA "$PG_ADMIN" -c 'select 1' >/dev/null 2>&1; then
                echo "PostgreSQL at $PG_ADMIN does not answer: skipped" >&2
                continue
            fi
            NAME=presswire_bench_unsubscribe_$$
            psql -qtA "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $NAME" -c "CREATE DATABASE $NAME" >/dev/null
            DB_URL="${PG_ADMIN%/*}/$NAME"
            ;;
    esac
    P=$(port)
    cat >"$DIR/presswire.toml" <<TOML
[send]
unsubscribe_url = "http://127.0.0.1:$P"
TOML
    pw() { (cd "$DIR" && "$BIN" -q --db "$DB_URL" --config presswire.toml "$@"); }
    echo "[$BACKEND] importing $READERS + $BULK contacts, writing $READERS messages to the outbox…" >&2
    pw contacts import "$OUT/contacts.csv" >/dev/null
    pw send "$ROOT/releases/example.md" --tag press --yes --rate unlimited >/dev/null
    # The tokens of the readers' links, in two halves: one per run of
    # unsubscribes; the peer reads the first half's.
    python3 - "$DIR/outbox" "$DIR/tokens" <<'PY'
import os, re, sys
found = []
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        text = open(os.path.join(root, f), encoding="utf-8", errors="replace").read()
        text = re.sub(r"\r?\n[ \t]+", " ", text)
        m = re.search(r"/u/(u\d+\.\d+\.[0-9a-f]+)", text)
        if m:
            found.append(m.group(1))
half = len(found) // 2
open(sys.argv[2] + ".a", "w").write("\n".join(found[:half]) + "\n")
open(sys.argv[2] + ".b", "w").write("\n".join(found[half:]) + "\n")
PY
    (cd "$DIR" && exec "$BIN" --db "$DB_URL" --config presswire.toml serve --listen "127.0.0.1:$P") 2>"$DIR/serve.log" &
    SERVE=$!
    PIDS+=("$SERVE")
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$P/healthz" >/dev/null && break; sleep 0.1; done
    URL="http://127.0.0.1:$P"

    for WHEN in idle sending; do
        BULK_SEND=0
        if [ "$WHEN" = sending ]; then
            SP=$(port)
            /usr/sbin/smtp-sink "${SINK_USER[@]}" "127.0.0.1:$SP" 1000 &
            SINK=$!
            PIDS+=("$SINK")
            sleep 0.3
            (cd "$DIR" && exec "$BIN" -q --db "$DB_URL" --config presswire.toml send "$ROOT/releases/example.md" \
                --tag bulk --yes --rate 1000/s --smtp "smtp://127.0.0.1:$SP") >"$DIR/send.log" 2>&1 &
            SEND=$!
            PIDS+=("$SEND")
            # Until its first messages are recorded as sent.
            for _ in $(seq 600); do
                BULK_SEND=$(pw sends list --format json | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s[0]["id"] if s and s[0]["release"]=="example" and s[0]["state"]=="running" else 0)')
                [ "$BULK_SEND" != 0 ] && [ "$(sent_count)" -gt 0 ] && break
                sleep 0.1
            done
        fi
        TOKENS=$DIR/tokens.a; [ "$WHEN" = sending ] && TOKENS=$DIR/tokens.b
        for WHAT in peer unsubscribe; do
            METHOD=GET; [ "$WHAT" = unsubscribe ] && METHOD=POST
            BEFORE_SENT=0; [ "$BULK_SEND" != 0 ] && BEFORE_SENT=$(sent_count)
            BEFORE_UNSUB=$(unsubscribed_count)
            read -r REQ SECS P50 P95 NON2XX ERRS WRAPPED < <(run_wrk "$URL" "$TOKENS" "$METHOD")
            PACE=-
            if [ "$BULK_SEND" != 0 ]; then
                PACE=$(python3 -c "print(round(($(sent_count) - $BEFORE_SENT) / $SECS))")
            fi
            RECORDED=$(( $(unsubscribed_count) - BEFORE_UNSUB ))
            echo "$BACKEND $WHEN $WHAT $REQ $SECS $P50 $P95 $NON2XX $ERRS $WRAPPED $PACE $RECORDED" >>"$RESULTS"
            if [ "$WHAT" = unsubscribe ]; then
                if [ "$NON2XX" != 0 ] || [ "$ERRS" != 0 ]; then
                    echo "[$BACKEND $WHEN] FAIL: $NON2XX answers other than 2xx, $ERRS socket errors" >&2
                fi
                # With every token used, repeats record nothing new.
                WANT=$REQ
                [ "$WRAPPED" != 0 ] && WANT=$(wc -l <"$TOKENS")
                if [ "$RECORDED" -lt "$WANT" ]; then
                    echo "[$BACKEND $WHEN] FAIL: $REQ answered, only $RECORDED recorded" >&2
                fi
            fi
        done
        if [ "$BULK_SEND" != 0 ]; then
            pw sends cancel "$BULK_SEND" >/dev/null || true
            wait "$SEND" 2>/dev/null || true
            kill "$SINK" 2>/dev/null || true
            wait "$SINK" 2>/dev/null || true
        fi
    done
    kill "$SERVE" && wait "$SERVE" 2>/dev/null || true
    if [ "$BACKEND" = postgres ]; then
        psql -qtA "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $NAME WITH (FORCE)" >/dev/null
    fi
done

python3 - "$RESULTS" "$CONNECTIONS" "$SECONDS_PER_RUN" <<'PY'
import sys, os
rows = [l.split() for l in open(sys.argv[1])]
by = {(b, w, what): r for b, w, what, *r in rows}
print(f"wrk, 2 threads, {sys.argv[2]} connections, {sys.argv[3]} s per run; load average {os.getloadavg()[0]:.1f}")
print(f"{'backend':9} {'send':8} {'unsubscribes/s':>15} {'p95 ms':>8} {'peer GET/s':>11} {'peer p95':>9} {'ratio':>6} {'send msgs/s':>12}  check")
for (b, w, what), r in by.items():
    if what != "unsubscribe":
        continue
    peer = by.get((b, w, "peer"))
    req, secs, p50, p95, non2xx, errs, wrapped, pace, recorded = r
    rate = int(req) / float(secs)
    prate = int(peer[0]) / float(peer[1]) if peer else float("nan")
    want = int(req) if wrapped == "0" else min(int(req), int(recorded))
    ok = "ok" if non2xx == "0" and errs == "0" and int(recorded) >= want else "FAIL"
    note = " (tokens reused)" if wrapped != "0" else ""
    print(f"{b:9} {w:8} {rate:15,.0f} {float(p95):8.1f} {prate:11,.0f} {float(peer[3]) if peer else 0:9.1f} {rate / prate:5.2f}x {pace:>12}  "
          f"{ok}: {non2xx} non-2xx, {recorded} of {req} recorded{note}")
PY
