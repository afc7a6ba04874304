#!/usr/bin/env bash
# scripts/test.sh: the whole test suite, on a fresh Debian 12 machine with Rust.
#
# Installs the Debian packages the tests use (oracles such as dpkg's python3-apt and rpm,
# the docker-registry and PostgreSQL servers, the image tools), builds the real test images
# once (cached under target/test-images), starts a throwaway PostgreSQL so the store tests
# run on both backends, then runs `cargo test` for the whole workspace.
# Needs root for apt-get and debootstrap (as the CI machine has); without root, set
# VIGIL_TEST_IMAGES to prebuilt images and install the packages yourself.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

# image tools and the registry; oracles (python3-apt, rpm, db5.3-util, golang-go for
# `go version -m`, ruby for gem specs); the registry token server (python3-jwt,
# python3-cryptography); report schema validation (python3-jsonschema); PostgreSQL;
# Chromium and chromedriver for the dashboard tests in a real browser.
PACKAGES=(debootstrap umoci skopeo docker-registry curl ca-certificates python3 python3-pip
  python3-apt python3-rpm python3-packaging python3-yaml python3-jwt python3-cryptography
  python3-jsonschema python3-venv rpm db5.3-util golang-go ruby isal zstd postgresql
  apache2-utils binutils openssl chromium chromium-driver)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# npm for the language image: Debian's nodejs and npm, unless a Node.js with its own npm is
# already installed (NodeSource's nodejs bundles npm and conflicts with Debian's npm).
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export VIGIL_TEST_IMAGES="${VIGIL_TEST_IMAGES:-$ROOT/target/test-images}"
if [ ! -e "$VIGIL_TEST_IMAGES/build-info.txt" ]; then
  SHARED_TOOLS="${VIGIL_SHARED:-$ROOT/../shared}/tools"
  PYTHON=/usr/bin/python3 bash "$SHARED_TOOLS/build-test-images.sh" "$VIGIL_TEST_IMAGES"
fi

# The official SARIF and CycloneDX schemas the report tests validate against.
export VIGIL_TEST_SCHEMAS="${VIGIL_TEST_SCHEMAS:-$ROOT/target/schemas}"
scripts/fetch-schemas.sh "$VIGIL_TEST_SCHEMAS" >/dev/null

# The language images (Go, Rust with cargo-auditable, Java, Ruby, npm, pip), each with the
# package lists its ecosystem's own tools print.
command -v cargo-auditable >/dev/null || cargo install --locked --quiet cargo-auditable
export VIGIL_LANG_IMAGES="${VIGIL_LANG_IMAGES:-$ROOT/target/lang-images}"
PYTHON=/usr/bin/python3 scripts/make-lang-images.sh "$VIGIL_LANG_IMAGES" >/dev/null

# Peer SBOMs of the test images (Trivy, cyclonedx-py, in venvs under target/peer-tools),
# which the SBOM reader is checked against.
export VIGIL_TEST_PEER_SBOMS="${VIGIL_TEST_PEER_SBOMS:-$ROOT/target/peer-sboms}"
scripts/make-peer-sboms.sh "$VIGIL_TEST_PEER_SBOMS" >/dev/null
scripts/check-deploy.sh >/dev/null

# A throwaway PostgreSQL for the store tests (SPEC 9.5: the same suite on both backends).
if [ -z "${VIGIL_TEST_DATABASE_URL:-}" ] && [ -x scripts/pg-test-server.sh ]; then
  PG_DIR="$ROOT/target/pg-test"
  VIGIL_TEST_DATABASE_URL="$(scripts/pg-test-server.sh start "$PG_DIR")"
  export VIGIL_TEST_DATABASE_URL
  trap 'scripts/pg-test-server.sh stop "$PG_DIR" >/dev/null 2>&1 || true' EXIT
fi

cargo test --workspace --all-targets --locked --no-fail-fast "$@"
