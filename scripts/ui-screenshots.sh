#!/usr/bin/env bash
# scripts/ui-screenshots.sh: regenerates the dashboard screenshots of the README
# (docs/screenshots/*.png) from the end-to-end browser test (issue 11): the test drives a
# real `vigil serve` in headless Chromium and saves every page it visits.
# Needs what scripts/test.sh installs (chromium, chromium-driver, the test images).
set -euo pipefail
cd "$(dirname "$0")/.."
export VIGIL_TEST_IMAGES="${VIGIL_TEST_IMAGES:-$PWD/target/test-images}"
export VIGIL_SCREENSHOTS="$PWD/target/ui-screenshots"
rm -rf "$VIGIL_SCREENSHOTS" && mkdir -p "$VIGIL_SCREENSHOTS"
cargo test -q -p vigil --test it ui::dashboard_end_to_end_in_chromium
# The test skips (and saves nothing) when Chromium or the test images are missing.
[ -s "$VIGIL_SCREENSHOTS/scans.png" ] || { echo "no screenshots: see the test's skip message" >&2; exit 1; }
# The README shows the pages whose content names no path of the machine that ran the test
# (the scan pages show the image reference as given, a local path here).
mkdir -p docs/screenshots
for page in deployed policies rules integrations-installing integrations audit policies-390; do
  cp "$VIGIL_SCREENSHOTS/$page.png" docs/screenshots/
done
ls -1 docs/screenshots
