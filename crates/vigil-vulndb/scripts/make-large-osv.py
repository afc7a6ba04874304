#!/usr/bin/env python3
"""Derive a large OSV feed (a zip laid out like osv.dev's all.zip) from the real records in
shared/fixtures/feeds, for benchmarks of import and matching (vigil-store's bench uses it).

Every output record is a real record with its identity changed, so the structure, sizes and
range shapes stay real:
- copy k of a record gets the suffix "-k" on its id, its aliases, related and upstream ids
  (copy 0 keeps the real ids), so alias clusters (GHSA <-> CVE <-> PYSEC <-> DSA) stay
  clusters within each copy;
- package names get the suffix "-k" too (copy 0 keeps them), so copies affect different
  packages, as a real feed does;
- versions in ECOSYSTEM / SEMVER events and in `versions` have their last number raised by
  k % 5, so ranges differ between copies;
- GIT ranges are left as they are.

Standard library only. Deterministic: the same input gives the same zip.

Usage: make-large-osv.py OUT.zip [--count N] [--feeds DIR]
  N defaults to 200000; DIR defaults to ../shared/fixtures/feeds next to the workspace.
"""

import argparse
import copy
import json
import os
import re
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FEEDS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "shared", "fixtures", "feeds"))
OSV_DIRS = ["github-advisory-database", "golang-vulndb", "rustsec/osv", "osv-debian"]
LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def load(feeds):
    records = []
    for d in OSV_DIRS:
        root = os.path.join(feeds, d)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(".json"):
                    with open(os.path.join(dirpath, name), "rb") as f:
                        records.append(json.load(f))
    if not records:
        sys.exit("make-large-osv.py: no OSV records under %s" % feeds)
    return records


def bump(version, by):
    if by == 0 or version == "0":
        return version
    return LAST_NUMBER.sub(lambda m: str(int(m.group(1)) + by), version, count=1)


def derive(rec, k):
    if k == 0:
        return rec
    out = copy.deepcopy(rec)
    suffix = "-%d" % k
    out["id"] = rec["id"] + suffix
    for field in ("aliases", "related", "upstream"):
        if field in out:
            out[field] = [i + suffix for i in out[field]]
    shift = k % 5
    for a in out.get("affected", []):
        pkg = a.get("package") or {}
        if pkg.get("name"):
            pkg["name"] = pkg["name"] + suffix
            if "purl" in pkg:
                del pkg["purl"]
        for r in a.get("ranges", []):
            if r.get("type") in ("ECOSYSTEM", "SEMVER"):
                for e in r.get("events", []):
                    for key in ("introduced", "fixed", "last_affected"):
                        if key in e:
                            e[key] = bump(e[key], shift)
        if "versions" in a:
            a["versions"] = [bump(v, shift) for v in a["versions"]]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--feeds", default=DEFAULT_FEEDS)
    args = ap.parse_args()
    records = load(args.feeds)
    n = len(records)
    with zipfile.ZipFile(args.out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for i in range(args.count):
            rec = derive(records[i % n], i // n)
            info = zipfile.ZipInfo(rec["id"] + ".json", date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, json.dumps(rec, separators=(",", ":")))
    print("make-large-osv.py: wrote %d records derived from %d real ones to %s"
          % (args.count, n, args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
