#!/usr/bin/env python3
"""Derive a large Debian security tracker JSON (real ones are ~100 MB) from the real
bookworm.json in shared/fixtures/feeds/debian-tracker, for the streaming benchmark.

Copy k of every source package is named "<package>-k" (copy 0 keeps the real name); its CVE
entries are the real ones, unchanged, so the same CVE ids appear under many packages, as
they do in the real tracker (one CVE, several source packages). The file is written as it
goes, never held in memory.

Standard library only. Usage: make-large-tracker.py OUT.json [--copies N] [--feeds DIR]
  N defaults to 100 (about 96 MB).
"""

import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FEEDS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "shared", "fixtures", "feeds"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--copies", type=int, default=100)
    ap.add_argument("--feeds", default=DEFAULT_FEEDS)
    args = ap.parse_args()
    with open(os.path.join(args.feeds, "debian-tracker", "bookworm.json"), "rb") as f:
        real = json.load(f)
    with open(args.out, "w") as out:
        out.write("{")
        first = True
        for k in range(args.copies):
            for pkg, cves in real.items():
                name = pkg if k == 0 else "%s-%d" % (pkg, k)
                out.write("" if first else ",")
                first = False
                out.write("\n%s: " % json.dumps(name))
                out.write(json.dumps(cves, separators=(",", ":")))
        out.write("\n}\n")


if __name__ == "__main__":
    main()
