#!/usr/bin/env python3
"""scripts/oracle-osv-findings.py FEED_DIR... -- ECOSYSTEM NAME VERSION [...]

An independent oracle for language findings (issue 7): which OSV records of the given feed
directories (GHSA JSON, PyPA YAML, ...) affect each package, with records that share an id
or alias merged into one finding. Shares no code with vigil: versions are compared with
`packaging` (PEP 440) for PyPI and with the SemVer 2.0 precedence rules written out below
for npm; names are compared per PEP 503 for PyPI and as-is for npm.

Prints one line per finding, sorted: `ECOSYSTEM NAME VERSION ID,ID,...` where the ids are
every id and alias of the merged records, sorted.
"""
import json
import re
import sys
from pathlib import Path

import yaml
from packaging.version import Version


def pep503(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def semver_key(v):
    v = v.split("+", 1)[0]
    core, _, pre = v.partition("-")
    major, minor, patch = (int(x) for x in core.split("."))
    if not pre:
        return (major, minor, patch, 1, ())
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (major, minor, patch, 0, ids)


ECOSYSTEMS = {
    "PyPI": (lambda n: pep503(n), Version),
    "npm": (lambda n: n, semver_key),
}


def affected(record, eco, name, version):
    norm, key = ECOSYSTEMS[eco]
    for a in record.get("affected", []):
        pkg = a.get("package", {})
        if pkg.get("ecosystem") != eco or norm(pkg.get("name", "")) != norm(name):
            continue
        if version in a.get("versions", []):
            return True
        for r in a.get("ranges", []):
            if r.get("type") not in ("ECOSYSTEM", "SEMVER"):
                continue
            inside = False
            events = r.get("events", [])
            # Events in version order; "0" sorts first.
            def order(e):
                v = next(iter(e.values()))
                return (0,) if v == "0" else (1, key(v))
            for e in sorted(events, key=order):
                if "introduced" in e:
                    v = e["introduced"]
                    if v == "0" or key(version) >= key(v):
                        inside = True
                elif "fixed" in e:
                    if key(version) >= key(e["fixed"]):
                        inside = False
                elif "last_affected" in e:
                    if key(version) > key(e["last_affected"]):
                        inside = False
            if inside:
                return True
    return False


def load(dirs):
    for d in dirs:
        for p in sorted(Path(d).rglob("*")):
            if p.suffix == ".json":
                yield json.loads(p.read_text())
            elif p.suffix in (".yaml", ".yml"):
                yield yaml.safe_load(p.read_text())


def main():
    args = sys.argv[1:]
    sep = args.index("--")
    dirs, rest = args[:sep], args[sep + 1:]
    packages = [tuple(rest[i:i + 3]) for i in range(0, len(rest), 3)]
    records = [r for r in load(dirs) if r and not r.get("withdrawn")]
    out = set()
    for eco, name, version in packages:
        hits = [r for r in records if affected(r, eco, name, version)]
        groups = []  # sets of ids, merged while they overlap
        for r in hits:
            ids = {r["id"], *r.get("aliases", []), *r.get("upstream", [])}
            for g in [g for g in groups if g & ids]:
                ids |= g
                groups.remove(g)
            groups.append(ids)
        for g in groups:
            out.add(f"{eco} {name} {version} {','.join(sorted(g))}")
    print("\n".join(sorted(out)))


if __name__ == "__main__":
    main()
