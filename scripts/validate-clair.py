#!/usr/bin/env python3
"""scripts/validate-clair.py SCHEMAS_DIR NAME: validates the JSON document on stdin against
Clair's JSON Schema NAME (e.g. index_report, vulnerability_report, index_state) from the
schema files in SCHEMAS_DIR, resolving their relative $refs by $id (Draft 2020-12).
Exit 0 when valid; otherwise prints every error and exits 1."""
import json
import pathlib
import sys

import jsonschema
from referencing import Registry, Resource


def main():
    schemas_dir, name = pathlib.Path(sys.argv[1]), sys.argv[2]
    resources = []
    for f in sorted(schemas_dir.glob("*.schema.json")):
        schema = json.loads(f.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    registry = Registry().with_resources(resources)
    schema = json.loads((schemas_dir / f"{name}.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(
        schema, registry=registry, format_checker=jsonschema.FormatChecker()
    )
    doc = json.load(sys.stdin)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for e in errors[:20]:
        print(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}")
    sys.exit(1 if errors else 0)


main()
