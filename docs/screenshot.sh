#!/usr/bin/env bash
# Regenerates the screenshots of the example release's HTML part, as
# headless Chromium (Debian `chromium`) draws it:
#
#   docs/example-release.png        desktop, 1200 px wide
#   docs/example-release-phone.png  phone, 390 px wide at 2x
#
#   docs/screenshot.sh              # HEIGHT=… PHONE_HEIGHT=… to resize
#
# The message is `release preview --format html` for presswire's sample
# contact (an empty database), so no real address appears. Chromium cannot
# size a screenshot to its page: the heights fit the example release with
# a margin of page background; raise them if the release grows.
set -euo pipefail
cd "$(dirname "$0")/.."

HEIGHT=${HEIGHT:-2400}
PHONE_HEIGHT=${PHONE_HEIGHT:-3100}
CHROMIUM=${CHROMIUM:-chromium}

cargo build --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

target/debug/presswire --db "sqlite://$tmp/presswire.db" \
    release preview releases/example.md --format html -o "$tmp/example.html"

# shot OUTPUT WIDTH HEIGHT SCALE
shot() {
    "$CHROMIUM" --headless --no-sandbox --disable-gpu \
        --disable-background-networking --disable-component-update \
        --disable-sync --no-first-run --hide-scrollbars \
        --user-data-dir="$(mktemp -d -p "$tmp")" \
        --force-device-scale-factor="$4" --window-size="$2,$3" \
        --screenshot="$PWD/$1" "$tmp/example.html" 2>/dev/null
    echo "wrote $1" >&2
}

shot docs/example-release.png 1200 "$HEIGHT" 1
shot docs/example-release-phone.png 390 "$PHONE_HEIGHT" 2
