#!/usr/bin/env bash
# bench/db-import.sh: throughput of `vigil db import` (issue 5, SPEC 10.5).
#
# 1. every feed in shared/fixtures/feeds into a fresh SQLite database (target: under 10 s);
# 2. a large OSV zip (>= 200,000 records, made by vigil-vulndb's make-large-osv.py) into a
#    fresh SQLite database and a fresh PostgreSQL database (target: >= 20,000 records/s on
#    SQLite).
# Each import is compared with a peer measured in the same run: `unzip -p` of the same zip
# to /dev/null, the floor of merely reading the feed. Ratios, not absolute times, are the
# result (SPEC 10).
#
# Peak memory of the large import is printed too (GNU time), beside that of a set a quarter
# its size: it must not grow with the feed.
#
# Environment: VIGIL_BENCH_COUNT (default 200000), VIGIL_BENCH_RUNS (default 3),
# VIGIL_BENCH_LARGE (a prebuilt zip),
# VIGIL_TEST_DATABASE_URL (a PostgreSQL server; otherwise scripts/pg-test-server.sh starts
# one when it can). Needs: python3, unzip, psql (for the PostgreSQL part).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
FEEDS="${VIGIL_SHARED:-$ROOT/../shared}/fixtures/feeds"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
COUNT="${VIGIL_BENCH_COUNT:-200000}"
RUNS="${VIGIL_BENCH_RUNS:-3}"
source bench/lib.sh

cargo build --release -q -p vigil
BIN="$TARGET/release/vigil"
WORK="$(mktemp -d)"
chmod 711 "$WORK" # as root, the PostgreSQL server runs as `postgres` and must reach $WORK/pg
PG_STARTED=""
cleanup() {
    rm -rf "$WORK"
    if [ -n "$PG_STARTED" ]; then scripts/pg-test-server.sh stop "$PG_STARTED" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

now() { date +%s.%N; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }
per_sec() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):,.0f}')" "$1" "$2"; }
records() {
    "$@" db status --format json | python3 -c 'import json,sys; print(sum(s["records"] for s in json.load(sys.stdin)["sources"]))'
}
vigil_sqlite() { env -u VIGIL_DATABASE_URL VIGIL_DATA_DIR="$WORK/$1" HOME="$WORK" "$BIN" "${@:2}"; }

# 1. Every fixture feed.
start=$(now)
vigil_sqlite fixtures db import \
    "$FEEDS/github-advisory-database" "$FEEDS/pypa-advisory-database" "$FEEDS/golang-vulndb" \
    "$FEEDS/rustsec/osv" "$FEEDS/osv-debian" "$FEEDS/debian-tracker/bookworm.json" \
    "$FEEDS/debian-tracker/vunnel-debian.json" "$FEEDS/debian-tracker/vuln-list-update-debian.json" \
    "$FEEDS/alpine-secdb-legacy-yaml" >/dev/null
t_fix=$(secs "$start" "$(now)")
n_fix=$(records vigil_sqlite fixtures)
echo "fixtures, sqlite: $n_fix records in ${t_fix} s (target < 10 s)"

# 2. The large OSV set.
GEN="$ROOT/crates/vigil-vulndb/scripts/make-large-osv.py"
derived() { # derived COUNT ZIP: makes ZIP unless it exists
    if [ ! -f "$2" ]; then
        if [ ! -f "$GEN" ]; then
            echo "error: $GEN is missing: it generates the large OSV set (vigil-vulndb)" >&2
            exit 2
        fi
        mkdir -p "$(dirname "$2")"
        python3 "$GEN" "$2" --count "$1" --feeds "$FEEDS" >&2
    fi
}
LARGE="${VIGIL_BENCH_LARGE:-$TARGET/bench/large-osv-$COUNT.zip}"
derived "$COUNT" "$LARGE"
QUARTER="$TARGET/bench/large-osv-$((COUNT / 4)).zip"
derived "$((COUNT / 4))" "$QUARTER"

# Medians of RUNS runs each (after a warm-up): on a shared machine one run can be 20% off.
read -r t_peer _ < <(median_run "$RUNS" unzip -p "$LARGE")
echo "peer: unzip -p of the large zip: ${t_peer} s (median of $RUNS)"

read -r t_sqlite rss < <(median_run "$RUNS" sh -c "rm -rf '$WORK/large' && env -u VIGIL_DATABASE_URL \
    VIGIL_DATA_DIR='$WORK/large' HOME='$WORK' '$BIN' db import --source large '$LARGE'")
n_large=$(records vigil_sqlite large)
echo "large, sqlite: $n_large records in ${t_sqlite} s (median of $RUNS, each into a fresh database) = $(per_sec "$n_large" "$t_sqlite") records/s (target >= 20,000); $(ratio "$t_sqlite" "$t_peer")x unzip; peak RSS $(( rss / 1024 )) MB"

read -r _ rss_quarter < <(median_run "$RUNS" sh -c "rm -rf '$WORK/quarter' && env -u VIGIL_DATABASE_URL \
    VIGIL_DATA_DIR='$WORK/quarter' HOME='$WORK' '$BIN' db import --source large '$QUARTER'")
echo "peak RSS: $(( rss_quarter / 1024 )) MB for $((COUNT / 4)) records, $(( rss / 1024 )) MB for $n_large (must not grow with the feed)"

start=$(now)
vigil_sqlite large db import --source large "$LARGE" >/dev/null
t_again=$(secs "$start" "$(now)")
echo "large, sqlite, same feed again (fingerprint unchanged, not read): ${t_again} s; $(ratio "$t_again" "$t_peer")x unzip"

URL="${VIGIL_TEST_DATABASE_URL:-}"
if [ -z "$URL" ] && [ -x scripts/pg-test-server.sh ] && command -v psql >/dev/null; then
    PG_STARTED="$WORK/pg"
    URL="$(scripts/pg-test-server.sh start "$PG_STARTED" 2>/dev/null)" || { URL=""; PG_STARTED=""; }
fi
if [ -z "$URL" ]; then
    echo "postgres: skipped (no VIGIL_TEST_DATABASE_URL and no local server)"
    exit 0
fi
DB="vigil_bench_$$"
psql "$URL" -q -c "CREATE DATABASE $DB"
PG_URL="${URL%/*}/$DB"
vigil_pg() { VIGIL_DATABASE_URL="$PG_URL" HOME="$WORK" "$BIN" "$@"; }
start=$(now)
vigil_pg db import --source large "$LARGE" >/dev/null
t_pg=$(secs "$start" "$(now)")
n_pg=$(records vigil_pg)
echo "large, postgres: $n_pg records in ${t_pg} s = $(per_sec "$n_pg" "$t_pg") records/s; $(ratio "$t_pg" "$t_peer")x unzip, $(ratio "$t_pg" "$t_sqlite")x sqlite"
psql "$URL" -q -c "DROP DATABASE $DB" || true
