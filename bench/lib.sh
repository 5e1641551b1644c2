# Shared by the bench scripts (sourced from the repository root).
# Sets BIN: PRESSWIRE_BIN=path/to/presswire measures that binary (e.g.
# another branch's build, for a before/after); otherwise this checkout's
# release build, built first.
if [[ -n ${PRESSWIRE_BIN:-} ]]; then
    BIN=$PRESSWIRE_BIN
else
    BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/presswire
    echo "building release binary…" >&2
    cargo build --release --quiet
fi
