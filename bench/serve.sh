#!/usr/bin/env bash
# bench/serve.sh: `vigil serve` under load from a second process, on loopback (issue 9).
#
#   gate    : POST /api/v1/gate at a fixed 2,000 requests/s for DURATION (default 60 s), by
#             oha (cargo install oha); target p99 < 2 ms on SQLite, < 5 ms on PostgreSQL,
#             zero errors.
#   writers : 50 concurrent writers for DURATION, each adding CVE rules and recording
#             deployments (bench/serve-writers.py); afterwards every acknowledged write must
#             be in the database.
# Each backend gets a fresh store: the offline feeds of data/feeds imported, the app image
# of the shared test images scanned through a pipeline, a blocking policy set. PostgreSQL is
# a throwaway server (scripts/pg-test-server.sh) unless VIGIL_BENCH_DATABASE_URL names one.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
DURATION="${DURATION:-60}"
RATE="${RATE:-2000}"
IMAGES="${VIGIL_TEST_IMAGES:-$PWD/target/test-images}"
[ -e "$IMAGES/oci/index.json" ] || { echo "no test images in $IMAGES: run scripts/test.sh once" >&2; exit 2; }
command -v oha >/dev/null || cargo install --locked --quiet oha
cargo build --release -q -p vigil
VIGIL="${CARGO_TARGET_DIR:-$PWD/target}/release/vigil"
WORK="$(mktemp -d)"
chmod 755 "$WORK"  # the PostgreSQL server runs as the postgres user
PG_DIR=""
cleanup() {
  # serve() runs in a command substitution: its replicas' pids are in files
  for f in "$WORK"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  [ -n "$PG_DIR" ] && scripts/pg-test-server.sh stop "$PG_DIR" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# prepare: a store with feeds, entities, the app image scanned and a
# policy; prints "DIGEST CI_TOKEN ADMIN_TOKEN".
# (The caller exports VIGIL_DATA_DIR, VIGIL_CACHE_DIR and VIGIL_DATABASE_URL.)
prepare() {
  platform_store "$VIGIL"
  local digest
  digest="$(ci_digest "$VIGIL" "oci:$IMAGES/oci:app")"
  echo "$digest $("$VIGIL" token create --role ci --name bench-ci) $("$VIGIL" token create --role admin --name bench-admin)"
}

# serve NAME: starts a replica on the prepared store; prints its base URL.
serve() {
  local name=$1 out="$WORK/$1.out"
  "$VIGIL" serve --listen 127.0.0.1:0 --workers 1 >"$out" 2>"$WORK/$name.log" &
  echo $! >"$WORK/$name.pid"
  local i
  for i in $(seq 1 200); do
    grep -q '^listening on ' "$out" 2>/dev/null && break
    sleep 0.05
  done
  sed -n 's/^listening on //p' "$out" | head -1
}

# gate_load BASE DIGEST TOKEN: prints "requests_per_s p50_ms p99_ms errors".
gate_load() {
  local base=$1 digest=$2 token=$3
  oha -z "${DURATION}s" -q "$RATE" --latency-correction -c 32 --no-tui --output-format json \
    -m POST -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
    -d "{\"application\":\"web\",\"environment\":\"prod\",\"image\":\"$digest\"}" \
    "$base/api/v1/gate" | python3 -c '
import json, sys
r = json.load(sys.stdin)
s = r["summary"]
p = r["latencyPercentiles"]
codes = r.get("statusCodeDistribution", {})
errors = sum(v for k, v in codes.items() if k != "200") + sum(r.get("errorDistribution", {}).values())
print("%.0f %.2f %.2f %d" % (s["requestsPerSec"], p["p50"] * 1000, p["p99"] * 1000, errors))'
}

printf '%-22s %10s %10s %10s %8s %12s %14s\n' backend gate_rps p50_ms p99_ms errors writes_per_s missing_writes
run_backend() {
  local label=$1 url=${2:-}
  local digest ci admin base
  export VIGIL_DATA_DIR="$WORK/$label/data" VIGIL_CACHE_DIR="$WORK/$label/cache" VIGIL_USER=bench
  export VIGIL_CONFIG="$WORK/vigil.toml"
  printf '[db]\nsources = []\n' >"$VIGIL_CONFIG"
  if [ -n "$url" ]; then export VIGIL_DATABASE_URL="$url"; else unset VIGIL_DATABASE_URL; fi
  read -r digest ci admin < <(prepare)
  base="$(serve "$label")"
  [ -n "$base" ] || { echo "vigil serve did not start: $(cat "$WORK/$label.log")" >&2; exit 1; }
  read -r rps p50 p99 errors < <(gate_load "$base" "$digest" "$ci")
  read -r wps missing < <(python3 bench/serve-writers.py "$base" "$admin" "$digest" "$DURATION" 50 \
    "${url:-$VIGIL_DATA_DIR/vigil.db}")
  printf '%-22s %10s %10s %10s %8s %12s %14s\n' "$label" "$rps" "$p50" "$p99" "$errors" "$wps" "$missing"
}

run_backend sqlite
PG_URL="${VIGIL_BENCH_DATABASE_URL:-}"
if [ -z "$PG_URL" ]; then
  PG_DIR="$WORK/pg"
  PG_URL="$(scripts/pg-test-server.sh start "$PG_DIR")"
fi
run_backend postgres "$PG_URL"
