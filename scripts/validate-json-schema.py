#!/usr/bin/env python3
"""validate-json-schema.py SCHEMA_DIR SCHEMA_FILE DOCUMENT

Validates DOCUMENT against SCHEMA_DIR/SCHEMA_FILE with python3-jsonschema, resolving the
schema's references to sibling files of SCHEMA_DIR (CycloneDX refers to spdx.schema.json
and jsf-0.82.schema.json by relative URL). Prints every violation; exits 1 if any.
"""
import json, os, sys

import jsonschema

schema_dir, schema_file, document = sys.argv[1:4]
store = {}
for name in os.listdir(schema_dir):
    if name.endswith(".json"):
        s = json.load(open(os.path.join(schema_dir, name)))
        store[name] = s
        if "$id" in s:
            store[s["$id"]] = s
            store[s["$id"].rsplit("/", 1)[0] + "/" + name] = s
schema = store[schema_file]
cls = jsonschema.validators.validator_for(schema)
resolver = jsonschema.RefResolver(base_uri=schema.get("$id", ""), referrer=schema, store=store)
validator = cls(schema, resolver=resolver, format_checker=jsonschema.FormatChecker())
errors = sorted(validator.iter_errors(json.load(open(document))), key=lambda e: list(e.path))
for e in errors[:50]:
    print(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message[:300]}")
sys.exit(1 if errors else 0)
