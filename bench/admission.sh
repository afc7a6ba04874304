#!/usr/bin/env bash
# bench/admission.sh: latency of the Kubernetes admission webhook (issue 12, SPEC 7.6).
#
# A Pod with 3 images already scanned (the shared test images: oci app, oci base, the
# docker-archive of base) is POSTed to /admission/validate over HTTPS (a certificate made
# here with openssl) at a fixed RATE (default 1,000 requests/s) for DURATION (default 30 s)
# by oha, with latency correction. Target: p99 under 5 ms, zero errors. SQLite store.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
DURATION="${DURATION:-30}"
RATE="${RATE:-1000}"
IMAGES="${VIGIL_TEST_IMAGES:-$PWD/target/test-images}"
[ -e "$IMAGES/oci/index.json" ] || { echo "no test images in $IMAGES: run scripts/test.sh once" >&2; exit 2; }
command -v oha >/dev/null || cargo install --locked --quiet oha
cargo build --release -q -p vigil
VIGIL="${CARGO_TARGET_DIR:-$PWD/target}/release/vigil"
WORK="$(mktemp -d)"
cleanup() {
  [ -e "$WORK/serve.pid" ] && kill "$(cat "$WORK/serve.pid")" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export VIGIL_DATA_DIR="$WORK/data" VIGIL_CACHE_DIR="$WORK/cache" HOME="$WORK"
unset VIGIL_DATABASE_URL VIGIL_SERVER
# no feed sources: the offline feeds imported below are the database
printf '[db]\nsources = []\n' >"$WORK/config.toml"
export VIGIL_CONFIG="$WORK/config.toml"

platform_store "$VIGIL"
digests=()
for img in "oci:$IMAGES/oci:app" "oci:$IMAGES/oci:base" "docker-archive:$IMAGES/base.docker.tar"; do
  digests+=("$(ci_digest "$VIGIL" "$img")")
done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
"$VIGIL" serve --listen 127.0.0.1:0 --workers 1 --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key" \
  >"$WORK/serve.out" 2>"$WORK/serve.log" &
echo $! >"$WORK/serve.pid"
for _ in $(seq 1 200); do grep -q '^listening on ' "$WORK/serve.out" && break; sleep 0.05; done
BASE="$(sed -n 's/^listening on //p' "$WORK/serve.out" | head -1)"

python3 - "$WORK/review.json" "${digests[@]}" <<'PY'
import json, sys
out, digests = sys.argv[1], sys.argv[2:]
images = [f"registry.example/bench/img{i}@{d}" for i, d in enumerate(digests)]
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "web-0", "namespace": "web-prod", "labels": {"app.kubernetes.io/name": "web"}},
       "spec": {"initContainers": [{"name": "init", "image": images[0]}],
                "containers": [{"name": "app", "image": images[1]}, {"name": "sidecar", "image": images[2]}]}}
review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
          "request": {"uid": "bench", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                      "resource": {"group": "", "version": "v1", "resource": "pods"},
                      "namespace": "web-prod", "operation": "CREATE",
                      "userInfo": {"username": "bench"}, "object": pod}}
json.dump(review, open(out, "w"))
PY
# One answer first: the decision, to show what was measured.
curl -sS --cacert "$WORK/tls.crt" -H 'Content-Type: application/json' --data-binary @"$WORK/review.json" \
  "$BASE/admission/validate" | python3 -c 'import json,sys; r=json.load(sys.stdin)["response"]; print("allowed:", r["allowed"], "|", r.get("status", {}).get("message", "")[:160])'
oha -z "${DURATION}s" -q "$RATE" --latency-correction -c 16 --no-tui --insecure --output-format json \
  -m POST -H "Content-Type: application/json" -D "$WORK/review.json" "$BASE/admission/validate" \
  | python3 -c '
import json, sys
r = json.load(sys.stdin)
s, p = r["summary"], r["latencyPercentiles"]
codes = r.get("statusCodeDistribution", {})
# requests still in flight when the duration ends are cut off by oha, not failed by vigil
cut = {k: v for k, v in r.get("errorDistribution", {}).items() if "deadline" in k}
errors = sum(v for k, v in codes.items() if k != "200") + sum(r.get("errorDistribution", {}).values()) - sum(cut.values())
if errors or cut:
    print("errors:", r.get("errorDistribution"), "status codes:", codes, file=sys.stderr)
print("admission, sqlite, Pod with 3 scanned images over HTTPS: %.0f requests/s, p50 %.2f ms, p99 %.2f ms (target < 5 ms), %d errors"
      % (s["requestsPerSec"], p["p50"] * 1000, p["p99"] * 1000, errors))'
