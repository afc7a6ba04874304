#!/usr/bin/env bash
# scripts/fetch-schemas.sh DIR: puts the official JSON schemas the report tests validate
# against into DIR (tests read VIGIL_TEST_SCHEMAS, default target/schemas):
#   sarif-schema-2.1.0.json  OASIS SARIF 2.1.0, as shipped in the serde-sarif crate's source
#                            (a dev-dependency of vigil, so cargo has it locally)
#   bom-1.5.schema.json, bom-1.6.schema.json, spdx.schema.json, jsf-0.82.schema.json
#                            CycloneDX's schemas, as shipped in the PyPI package
#                            cyclonedx-python-lib (pinned below)
#   spdx-2.3.schema.json     the SPDX project's SPDX 2.3 JSON schema, as shipped in the
#                            serde-spdx crate's source (a dev-dependency of vigil-sbom)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-target/schemas}"
mkdir -p "$OUT"
if [ ! -e "$OUT/sarif-schema-2.1.0.json" ]; then
  dir="$(cargo metadata --format-version 1 | /usr/bin/python3 -c '
import json, sys, os
m = json.load(sys.stdin)
print(next(os.path.dirname(p["manifest_path"]) for p in m["packages"] if p["name"] == "serde-sarif"))')"
  cp "$dir/src/schema.json" "$OUT/sarif-schema-2.1.0.json"
fi
if [ ! -e "$OUT/bom-1.5.schema.json" ]; then
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  /usr/bin/python3 -m pip download -q --no-deps -d "$tmp" "cyclonedx-python-lib==8.0.0"
  /usr/bin/python3 - "$tmp"/cyclonedx_python_lib-*.whl "$OUT" <<'PY'
import sys, zipfile
whl, out = sys.argv[1], sys.argv[2]
names = {"bom-1.5.SNAPSHOT.schema.json": "bom-1.5.schema.json", "bom-1.6.SNAPSHOT.schema.json": "bom-1.6.schema.json",
         "spdx.SNAPSHOT.schema.json": "spdx.schema.json", "jsf-0.82.SNAPSHOT.schema.json": "jsf-0.82.schema.json"}
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        base = n.rsplit("/", 1)[-1]
        if "schema/_res/" in n and base in names:
            open(f"{out}/{names[base]}", "wb").write(z.read(n))
PY
fi
if [ ! -e "$OUT/spdx-2.3.schema.json" ]; then
  dir="$(cargo metadata --format-version 1 | /usr/bin/python3 -c '
import json, sys, os
m = json.load(sys.stdin)
print(next(os.path.dirname(p["manifest_path"]) for p in m["packages"] if p["name"] == "serde-spdx"))')"
  cp "$dir/schemas/spdx_2_3.json" "$OUT/spdx-2.3.schema.json"
fi
ls "$OUT"
