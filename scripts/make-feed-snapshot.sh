#!/usr/bin/env bash
# scripts/make-feed-snapshot.sh [SHARED_FIXTURES]
#
# Copies the small, real feed snapshot the README's first command imports when
# `vigil db update` cannot reach upstream (air-gapped machines, CI without internet) into
# data/feeds/, from the project's shared fixtures (default ../shared/fixtures). The files
# are copied byte for byte; data/feeds/PROVENANCE.md says where each comes from.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC="${1:-../shared/fixtures}/feeds"
OUT=data/feeds
rm -rf "$OUT"
mkdir -p "$OUT"
cp "$SRC/debian-tracker/bookworm.json" "$OUT/debian-tracker-bookworm.json"
for d in github-advisory-database pypa-advisory-database golang-vulndb alpine-secdb-legacy-yaml; do
  cp -r "$SRC/$d" "$OUT/$d"
done
mkdir -p "$OUT/rustsec"
cp -r "$SRC/rustsec/osv" "$OUT/rustsec/osv"
find "$OUT" -type f -exec chmod 0644 {} +
find "$OUT" -type d -exec chmod 0755 {} +
cat > "$OUT/PROVENANCE.md" <<'MD'
# Offline feed snapshot

A small, real vulnerability-feed snapshot, so that `vigil scan` works on a machine that
cannot reach the upstream feeds (the README's first command imports it when
`vigil db update` fails). Made by `scripts/make-feed-snapshot.sh` from the project's shared
fixtures, byte for byte. It is **old and partial**: `vigil db status` shows its age, and
scans against it report the database as stale once it is older than `db.max_age`. Run
`vigil db update` for current data.

| path | what | origin |
|---|---|---|
| `debian-tracker-bookworm.json` | Debian security tracker JSON for the 88 source packages of a bookworm minbase image and common extras, data of 2025-02-12 | osv.dev's Debian records converted back to the tracker layout (shared fixtures `feeds/debian-tracker/`, see its PROVENANCE.md) |
| `github-advisory-database/` | GitHub-reviewed advisories, OSV JSON (PyPI, npm, Maven, Go, crates.io, NuGet) | github/advisory-database |
| `pypa-advisory-database/` | PyPA advisories, OSV YAML (PYSEC ids) | pypa/advisory-database |
| `golang-vulndb/` | Go vulnerability database, OSV JSON | golang/vulndb |
| `rustsec/osv/` | RustSec advisories, OSV JSON export | rustsec/advisory-db |
| `alpine-secdb-legacy-yaml/` | Alpine secdb, legacy YAML (v3.11 main, community) | Alpine secdb |
MD
du -sh "$OUT"
