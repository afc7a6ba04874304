#!/usr/bin/python3
"""Independent oracle: the findings a Debian root file system should get from the Debian
security tracker JSON, computed with dpkg's and apt's own tools.

Usage:
    /usr/bin/python3 scripts/oracle-debian-findings.py ROOTFS TRACKER_JSON [--release bookworm]

Prints one line per expected finding, as sorted, tab-separated values:

    CVE-ID <TAB> source package <TAB> fix state <TAB> fixed version (empty unless fixed)

This script deliberately shares no code and no logic with vigil's Rust matcher: it exists
so that the matcher can be checked against something written independently. Inputs:

- Installed packages come from dpkg itself:
      dpkg-query -W -f '${Package}\t${Version}\t${source:Package}\t${source:Version}\t${db:Status-Status}\n'
          --admindir=ROOTFS/var/lib/dpkg
  Only packages whose status is `installed` count (a package removed but not purged keeps
  a `config-files` entry and has no code on disk). The tracker speaks about SOURCE
  packages, so each binary is looked up by its source package name and compared by its
  source version (`libssl3` is built from `openssl`; `bsdutils 1:2.38.1-5+deb12u3` is
  built from `util-linux 2.38.1-5+deb12u3`, without the binary's epoch).
- Versions are compared with `apt_pkg.version_compare` (python3-apt, the same code apt
  uses), never with anything hand-written.

Tracker mapping, per (CVE, source package, release) entry `releases[RELEASE]`:

| tracker entry                                      | expected finding                    |
|----------------------------------------------------|-------------------------------------|
| no entry for the release                           | none (the release is not affected   |
|                                                    | or was never assessed)              |
| `resolved`, `fixed_version` "0"                    | none: the tracker says this release |
|                                                    | was never affected                  |
| `resolved`, `fixed_version` F, installed < F       | `fixed`, fixed version F            |
| `resolved`, `fixed_version` F, installed >= F      | none                                |
| `open` or `undetermined`, `nodsa_reason` "ignored" | `will-not-fix`                      |
| `open` or `undetermined`, urgency `end-of-life`    | `will-not-fix`                      |
| any other `open` / `undetermined` (including       | `not-fixed`                         |
| `nodsa_reason` "postponed", urgency "unimportant") |                                     |

This follows what vigil-vulndb's model documents (`FixState::WillNotFix` is Debian
`ignored` and end-of-life packages; `NotAffected` is `resolved` with version `0`) and how
osv.dev's converter reads the tracker (`resolved` + version is a `fixed` event; anything
else is affected from the first version). `postponed` means a fix will come in a later
point release, so it stays `not-fixed`. The shared `bookworm.json` fixture has only `open`
and `resolved` entries (see its PROVENANCE.md: nodsa fields do not survive the conversion),
so the will-not-fix rows are exercised only by real tracker data.

Exit status: 0 on success, 2 on bad input (with a message on stderr naming the input).
"""

import argparse
import json
import os
import subprocess
import sys

try:
    import apt_pkg
except ImportError:  # pragma: no cover - depends on the interpreter
    sys.exit("oracle-debian-findings: python3-apt is missing: run with /usr/bin/python3 "
             "and install the Debian package python3-apt")

DPKG_FORMAT = "${Package}\t${Version}\t${source:Package}\t${source:Version}\t${db:Status-Status}\n"


def fail(message):
    print(f"oracle-debian-findings: {message}", file=sys.stderr)
    sys.exit(2)


def installed_sources(rootfs):
    """Returns {source name: set of source versions} of the installed packages."""
    admindir = os.path.join(rootfs, "var", "lib", "dpkg")
    if not os.path.isfile(os.path.join(admindir, "status")):
        fail(f"{rootfs}: no dpkg database (expected {admindir}/status)")
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f", DPKG_FORMAT, f"--admindir={admindir}"],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        fail(f"{admindir}: dpkg-query failed: {proc.stderr.strip()}")
    sources = {}
    for number, line in enumerate(proc.stdout.splitlines(), 1):
        fields = line.split("\t")
        if len(fields) != 5:
            fail(f"{admindir}: dpkg-query line {number}: expected 5 fields, found {len(fields)}")
        _name, _version, source, source_version, status = fields
        if status != "installed":
            continue
        sources.setdefault(source, set()).add(source_version)
    return sources


def expected(sources, tracker, release):
    rows = set()
    for source, versions in sources.items():
        for cve, record in tracker.get(source, {}).items():
            entry = record.get("releases", {}).get(release)
            if entry is None:
                continue
            status = entry.get("status")
            fixed = entry.get("fixed_version")
            urgency = (entry.get("urgency") or "").rstrip("*").strip().lower()
            for installed in versions:
                if status == "resolved":
                    if fixed is None:
                        fail(f"tracker: {source} {cve} {release}: resolved without fixed_version")
                    if fixed == "0":
                        continue
                    if apt_pkg.version_compare(installed, fixed) < 0:
                        rows.add((cve, source, "fixed", fixed))
                elif status in ("open", "undetermined"):
                    if entry.get("nodsa_reason") == "ignored" or urgency == "end-of-life":
                        rows.add((cve, source, "will-not-fix", ""))
                    else:
                        rows.add((cve, source, "not-fixed", ""))
                else:
                    fail(f"tracker: {source} {cve} {release}: unknown status {status!r}")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rootfs", help="root file system directory of a Debian image")
    parser.add_argument("tracker", help="Debian security tracker JSON")
    parser.add_argument("--release", default="bookworm", help="release codename (default bookworm)")
    args = parser.parse_args()

    apt_pkg.init_system()
    try:
        with open(args.tracker, encoding="utf-8") as f:
            tracker = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{args.tracker}: cannot read tracker JSON: {e}")
    if not isinstance(tracker, dict):
        fail(f"{args.tracker}: expected a JSON object of source packages")
    rows = expected(installed_sources(args.rootfs), tracker, args.release)
    out = sys.stdout
    for row in sorted(rows):
        out.write("\t".join(row) + "\n")


if __name__ == "__main__":
    main()
