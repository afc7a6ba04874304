#!/usr/bin/env bash
# scripts/make-purged-image.sh IMAGES OUT
#
# Builds a test image in which an upper layer purges an OS package, so the dpkg status is
# rewritten there (issue 3): OUT is an OCI layout with tag `purged` = the shared script's
# oci:base (IMAGES/oci) + one layer made by `dpkg --root ROOTFS --purge tzdata` (nothing in
# the minbase image depends on it, and its postrm runs chrooted), plus a whiteout of
# /etc/issue. Uses umoci (Debian package) to unpack and repack, so the layer is
# what a real image build produces. Re-runnable: does nothing when OUT already has the tag.
# Needs root (umoci unpack keeps file owners; dpkg --root runs maintainer scripts chrooted).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 IMAGES OUT" >&2; exit 2; }
IMAGES="$(cd "$1" && pwd)"
OUT="$2"
if [ -e "$OUT/index.json" ] && grep -q '"purged"' "$OUT/index.json"; then exit 0; fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/purged.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"
skopeo copy -q "oci:$IMAGES/oci:base" "oci:$OUT:purged"
umoci unpack --image "$OUT:purged" "$WORK/b" >/dev/null
dpkg --root="$WORK/b/rootfs" --purge tzdata >/dev/null
rm -f "$WORK/b/rootfs/var/lib/dpkg/status-old" "$WORK/b/rootfs/var/log/dpkg.log"
rm -f "$WORK/b/rootfs/etc/issue"
umoci repack --image "$OUT:purged" --history.created_by "dpkg --purge tzdata; rm /etc/issue" "$WORK/b" >/dev/null
umoci gc --layout "$OUT"
