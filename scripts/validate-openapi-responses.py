#!/usr/bin/env python3
"""validate-openapi-responses.py OPENAPI CASES

Checks real answers of `vigil serve` against the OpenAPI document the server publishes
(`/api/openapi.json`). CASES is a JSON list of {"method", "path", "status", "body"}, where
"path" is the document's path template (`/api/v1/scans/{id}`) and "body" the parsed JSON
answer (null for an empty one). Each status must be declared for its operation; a declared
JSON schema is validated with python3-jsonschema (OpenAPI 3.1 schemas are JSON Schema
2020-12), its `#/components/...` references resolved in the document itself.
Prints every violation; exits 1 if any.
"""
import json
import sys

import jsonschema

doc = json.load(open(sys.argv[1]))
cases = json.load(open(sys.argv[2]))
resolver = jsonschema.RefResolver(base_uri="", referrer=doc)
problems = []
for c in cases:
    where = f"{c['method'].upper()} {c['path']} -> {c['status']}"
    op = doc.get("paths", {}).get(c["path"], {}).get(c["method"].lower())
    if op is None:
        problems.append(f"{where}: the operation is not in the document")
        continue
    response = op.get("responses", {}).get(str(c["status"]))
    if response is None:
        problems.append(f"{where}: status not declared (declared: {sorted(op.get('responses', {}))})")
        continue
    content = response.get("content", {})
    if not content:
        if c["body"] is not None:
            problems.append(f"{where}: declared without a body, but the answer has one")
        continue
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        continue
    validator = jsonschema.Draft202012Validator(schema, resolver=resolver)
    for e in sorted(validator.iter_errors(c["body"]), key=lambda e: list(e.path))[:10]:
        path = "/".join(map(str, e.path)) or "(root)"
        problems.append(f"{where}: {path}: {e.message[:300]}")
for p in problems:
    print(p)
print(f"{len(cases)} answers checked, {len(problems)} problems", file=sys.stderr)
sys.exit(1 if problems else 0)
