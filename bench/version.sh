#!/bin/sh
# Benchmarks of vigil-version and `vigil version cmp --check` (issue 4).
#
# 1. cargo bench: ns per comparison of parsed versions and per parse+compare for every
#    scheme, with the ratio to apt_pkg (dpkg), rpm and packaging on the same pairs.
# 2. `vigil version cmp --check` on one million Debian lines (the osv-scanner Debian
#    vectors, repeated), against a Python loop over apt_pkg.version_compare on the same
#    file; prints both times and the ratio.
#
# Needs /usr/bin/python3 with python3-apt, python3-rpm and python3-packaging for the peers
# (VIGIL_ORACLE_PYTHON overrides the interpreter). Run from anywhere in the repository.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${VIGIL_ORACLE_PYTHON:-/usr/bin/python3}

cargo bench -p vigil-version --bench compare

cargo build --release -p vigil
target=${CARGO_TARGET_DIR:-$root/target}
vigil=$target/release/vigil

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=../shared/fixtures/versions/osv-scanner-semantic/debian-versions-generated.txt
awk -v n=1000000 '
  /^[^#]/ && NF == 3 { line[k++] = $0 }
  END { for (i = 0; i < n; i++) print line[i % k] }
' "$src" > "$tmp/lines.txt"

now() { date +%s%N; }
t0=$(now)
"$vigil" version cmp -e Debian --check < "$tmp/lines.txt" > "$tmp/vigil.out" 2>/dev/null || true
t1=$(now)
"$python" - "$tmp/lines.txt" > "$tmp/peer.out" <<'PY'
import sys, apt_pkg
apt_pkg.init_system()
ops = {"<": lambda c: c < 0, "=": lambda c: c == 0, ">": lambda c: c > 0}
bad = 0
with open(sys.argv[1]) as f:
    for line in f:
        a, op, b = line.split()
        if not ops[op](apt_pkg.version_compare(a, b)):
            bad += 1
print(bad)
PY
t2=$(now)
lines=$(wc -l < "$tmp/lines.txt")
failed=$(wc -l < "$tmp/vigil.out")
echo "vigil version cmp --check: $lines lines in $(( (t1 - t0) / 1000000 )) ms ($failed reported)"
echo "python apt_pkg loop:       $lines lines in $(( (t2 - t1) / 1000000 )) ms ($(cat "$tmp/peer.out") did not hold)"
awk -v a=$((t1 - t0)) -v b=$((t2 - t1)) 'BEGIN { printf "ratio: apt_pkg loop time / vigil time = %.2f\n", b / a }'
