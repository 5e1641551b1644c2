#!/usr/bin/env bash
# Bounce reading benchmark (bounce classification issue): `presswire
# bounces inspect --format json` on the bounce corpus copied COPIES times
# (default 20) into one folder, against Perl's Sisimai (libsisimai-perl,
# bench/sisimai.pl: `Sisimai->dump` of every file) on the same files. Both
# print one JSON text per result (Sisimai per file) to /dev/null. The two
# take turns, RUNS times (default 3), and the figures are medians.
#
#   bench/bounces.sh [COPIES]          # default 20; also RUNS=… CORPUS=… env
#   PRESSWIRE_BIN=… bench/bounces.sh   # measure that binary, build nothing
#
# CORPUS (default tests/fixtures/bounces/emails) may name several folders,
# e.g. CORPUS="tests/fixtures/bounces/emails tests/fixtures/bounces-own/emails".
# Needs perl with Sisimai (.ci/run installs libsisimai-perl).
set -euo pipefail

COPIES=${1:-${COPIES:-20}}
RUNS=${RUNS:-3}
RATIO_TARGET=20
CORPUS=${CORPUS:-tests/fixtures/bounces/emails}

cd "$(dirname "$0")/.."
OUT=bench/out/bounces
rm -rf "$OUT" && mkdir -p "$OUT/corpus"

source bench/lib.sh
perl -MSisimai -e1 2>/dev/null || {
    echo "Sisimai is not installed: apt-get install libsisimai-perl (or run .ci/run)" >&2
    exit 2
}

for i in $(seq -w "$COPIES"); do
    for dir in $CORPUS; do
        mkdir -p "$OUT/corpus/$i"
        cp -r "$dir" "$OUT/corpus/$i/$(basename "$(dirname "$dir")")"
    done
done
DIR=$OUT/corpus
FILES=$(find "$DIR" -type f | wc -l)
# Messages as presswire reads them (an mbox file holds several), and the
# results it prints (one per affected recipient).
RESULTS=$("$BIN" bounces inspect "$DIR" --format json | wc -l)
MESSAGES=$(find "$DIR" -type f -exec grep -c -E '^From .*[0-9]{2}:[0-9]{2}' {} + |
    awk -F: '{ n += ($NF > 1) ? $NF : 1 } END { print n }')
SISIMAI=$(perl bench/sisimai.pl "$DIR" | perl -MJSON::PP -ne '$n += @{ decode_json($_) } } END { print $n + 0')

now() { date +%s.%N; }
: >"$OUT/runs.txt"
echo "$MESSAGES messages in $FILES files, $RUNS runs each…" >&2
for run in $(seq "$RUNS"); do
    t0=$(now)
    "$BIN" bounces inspect "$DIR" --format json >/dev/null
    t1=$(now)
    perl bench/sisimai.pl "$DIR" >/dev/null
    t2=$(now)
    pw=$(python3 -c "print($t1 - $t0)")
    ss=$(python3 -c "print($t2 - $t1)")
    printf '  run %d: presswire %6.2fs   sisimai %6.2fs\n' "$run" "$pw" "$ss" >&2
    echo "$pw $ss" >>"$OUT/runs.txt"
done

python3 - "$MESSAGES" "$FILES" "$RESULTS" "$SISIMAI" "$COPIES" "$RATIO_TARGET" "$(nproc)" "$OUT/runs.txt" <<'PY'
import statistics, sys
messages, files, results, sisimai, copies, target, cores = (int(x) for x in sys.argv[1:8])
runs = [[float(x) for x in line.split()] for line in open(sys.argv[8]) if line.strip()]
pw = statistics.median(r[0] for r in runs)
ss = statistics.median(r[1] for r in runs)
spread = lambda i: "/".join(f"{r[i]:.2f}" for r in runs)
ratio = ss / pw
print(f"bounce corpus x {copies}: {messages} messages in {files} files; medians of {len(runs)} runs taking turns, {cores} cores")
print(f"  presswire bounces inspect  {messages / pw:>8.0f} messages/s  ({pw:.2f} s, runs {spread(0)}; {results} results)")
print(f"  perl Sisimai->dump         {messages / ss:>8.0f} messages/s  ({ss:.2f} s, runs {spread(1)}; {sisimai} results)")
print(f"  ratio                      {ratio:>8.1f}x   target >= {target}x  {'PASS' if ratio >= target else 'MISS'}")
PY
