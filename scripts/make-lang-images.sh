#!/usr/bin/env bash
# scripts/make-lang-images.sh OUTDIR
#
# Builds the real images of vigil-scan's language tests (issue 7), from real artefacts only:
# Debian's packages and the programs installed on this machine, and (for the `lang` tag)
# crates, npm and PyPI packages fetched by the ecosystems' own tools. Each image also stays
# unpacked beside the layout, so that tests can read the same files with the oracles
# (`go version -m`, `pip inspect`, `npm ls`) and scan it as a `dir:` root filesystem.
#
# Outputs (all under OUTDIR):
#   oci/                  OCI image layout with the tags below
#   go/rootfs/            tag `go`, layer 1: Go programs from Debian packages (umoci,
#                         docker-registry) with their exec bit, the cargo-auditable `hello`
#                         of vigil-detect's fixtures, a shell script (exec bit, not an object
#                         file) and a copy of umoci without exec bit (must not be read)
#                         and at usr/local/bin/tool a copy of umoci, which layer 2 replaces
#                         with Debian's dpkg (a C program)
#   go/deleted.txt        layer 2 of `go` deletes these (whiteouts); go/rootfs is layer 1
#   os-owned/rootfs/      tag `os-owned`: Debian's python3-urllib3 and python3-requests
#                         unpacked by dpkg (status, info/*.list), and urllib3 and six
#                         installed by pip into /usr/local (PyPI)
#   os-owned/pip-inspect.json   `pip inspect --path` of the pip-installed directory
#   lang/rootfs/          tag `lang`: Debian's age (Go), liblog4j2-java (jars) and ruby-rack
#                         (gemspec) unpacked by dpkg-deb as an application bundles them; a
#                         Rust program built by `cargo auditable` (smallvec 1.6.0, time
#                         0.1.43) with its Cargo.lock; an npm project (axios, minimist) and
#                         pip-installed packages
#   lang/oracle/          what the tools say: go-version-m.txt, cargo-metadata.json,
#                         oldvec-audit.json (objcopy, zlib), npm-ls.json, pip-inspect.json, gems.tsv
#                         (RubyGems), jars.tsv (pom.properties via Python's zipfile)
#   build-info.txt        what was built from which versions
#
# Needs root (dpkg --root), umoci, apt-get (Debian's archive), go, ruby, binutils, cargo
# with cargo-auditable (crates), npm (its registry), pip (PyPI). Re-runnable: each tag is rebuilt only when OUTDIR/.stamps/TAG is missing.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
OUT="$(cd "$1" && pwd)"
HERE="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
STAMPS="$OUT/.stamps"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/make-lang-images.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$STAMPS"
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cfg=(--os linux --architecture amd64 --author make-lang-images.sh)

if [ ! -e "$OUT/oci/index.json" ]; then
  rm -f "$STAMPS"/*
  umoci init --layout "$OUT/oci"
fi

# A one-layer image TAG from the directory SRC (copied), then umoci's config.
image_from_dir() {
  local tag=$1 src=$2 created_by=$3
  umoci new --image "$OUT/oci:$tag"
  umoci unpack --image "$OUT/oci:$tag" "$WORK/$tag" >/dev/null
  cp -a "$src/." "$WORK/$tag/rootfs/"
  umoci repack --image "$OUT/oci:$tag" --history.created_by "$created_by" "$WORK/$tag"
  umoci config --image "$OUT/oci:$tag" "${cfg[@]}" --no-history
}

# ------------------------------------------------------------------ go
build_go() {
  [ -e "$STAMPS/go" ] && { log "go: exists, skip"; return; }
  log "go: Debian's Go programs, a cargo-auditable binary, a script"
  local r="$OUT/go/rootfs"
  rm -rf "$OUT/go" && mkdir -p "$r/usr/bin" "$r/usr/local/bin" "$r/opt/data"
  for p in umoci docker-registry; do
    command -v "$p" >/dev/null || { echo "$p is not installed (apt-get install $p)" >&2; exit 1; }
    install -m 0755 "$(command -v "$p")" "$r/usr/bin/$p"
  done
  install -m 0755 "$HERE/crates/vigil-detect/tests/fixtures/auditable/hello" "$r/usr/local/bin/hello"
  printf '#!/bin/sh\nexec /usr/bin/umoci "$@"\n' >"$r/usr/local/bin/umoci-wrapper"
  chmod 0755 "$r/usr/local/bin/umoci-wrapper"
  install -m 0644 "$r/usr/bin/umoci" "$r/opt/data/umoci.bin"
  install -m 0755 "$r/usr/bin/umoci" "$r/usr/local/bin/tool"
  image_from_dir go "$r" "copy Debian's umoci and docker-registry, cargo auditable hello"
  # layer 2: docker-registry deleted (a whiteout), so its modules must not be reported
  umoci unpack --image "$OUT/oci:go" "$WORK/go2" >/dev/null
  rm "$WORK/go2/rootfs/usr/bin/docker-registry"
  # and the Go program at usr/local/bin/tool is replaced by a C program (no build info)
  install -m 0755 "$(command -v dpkg)" "$WORK/go2/rootfs/usr/local/bin/tool"
  umoci repack --image "$OUT/oci:go" --history.created_by "rm /usr/bin/docker-registry; cp dpkg tool" "$WORK/go2"
  echo "usr/bin/docker-registry" >"$OUT/go/deleted.txt"
  umoci gc --layout "$OUT/oci"
  touch "$STAMPS/go"
}

# ------------------------------------------------------------------ os-owned
build_os_owned() {
  [ -e "$STAMPS/os-owned" ] && { log "os-owned: exists, skip"; return; }
  log "os-owned: Debian's python3-urllib3 and python3-requests, pip's urllib3 and six"
  local r="$OUT/os-owned/rootfs"
  rm -rf "$OUT/os-owned" && mkdir -p "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates" "$WORK/debs"
  touch "$r/var/lib/dpkg/status" "$r/var/lib/dpkg/available"
  (cd "$WORK/debs" && apt-get download -qq -o APT::Sandbox::User=root python3-urllib3 python3-requests)
  # dpkg itself writes the status stanzas and the info/*.list file lists. Their
  # maintainer scripts (py3compile) cannot run in a root without Python, so dpkg only
  # unpacks; every file is in place, and the packages are then marked installed as
  # `dpkg --configure` would.
  dpkg --root="$r" --force-depends --unpack "$WORK"/debs/*.deb >/dev/null
  sed -i 's/^Status: install ok unpacked$/Status: install ok installed/' "$r/var/lib/dpkg/status"
  rm -f "$r/var/lib/dpkg/status-old" "$r/var/lib/dpkg/available-old"
  mkdir -p "$r/etc"
  printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n' >"$r/etc/os-release"
  local site="$r/usr/local/lib/python3.11/dist-packages"
  "$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps \
    --no-compile --only-binary=:all: --target "$site" urllib3==1.26.5 six==1.16.0
  rm -rf "$site/bin"
  "$PYTHON" -m pip inspect --path "$site" >"$OUT/os-owned/pip-inspect.json"
  image_from_dir os-owned "$r" "dpkg --unpack python3-urllib3 python3-requests; pip install --target"
  umoci gc --layout "$OUT/oci"
  touch "$STAMPS/os-owned"
}

# ------------------------------------------------------------------ lang
build_lang() {
  [ -e "$STAMPS/lang" ] && { log "lang: exists, skip"; return; }
  log "lang: cargo auditable, Debian's Go, Java and Ruby packages, npm and pip"
  local r="$OUT/lang/rootfs" o="$OUT/lang/oracle"
  rm -rf "$OUT/lang" && mkdir -p "$r" "$o" "$WORK/ldebs"
  # Debian packages, unpacked as an application would bundle them (dpkg does not know
  # them, so no OS package owns their files): a Go program, jars, a gem
  (cd "$WORK/ldebs" && apt-get download -qq -o APT::Sandbox::User=root age liblog4j2-java ruby-rack)
  for d in "$WORK"/ldebs/*.deb; do dpkg-deb -x "$d" "$r"; done

  # a Rust program built by cargo auditable, with old smallvec and time (RustSec fixtures)
  local src="$r/src/oldvec"
  mkdir -p "$src/src"
  cat >"$src/Cargo.toml" <<'TOML'
[package]
name = "oldvec"
version = "0.1.0"
edition = "2021"

[dependencies]
smallvec = "=1.6.0"
time = "=0.1.43"

[workspace]
TOML
  cat >"$src/src/main.rs" <<'RS'
fn main() {
    let mut v: smallvec::SmallVec<[u8; 4]> = smallvec::SmallVec::new();
    v.push(1);
    println!("{} {}", v.len(), time::get_time().sec > 0);
}
RS
  (cd "$src" && CARGO_TARGET_DIR="$WORK/cargo-target" cargo auditable build --release -q)
  install -D -m 0755 "$WORK/cargo-target/release/oldvec" "$r/usr/local/bin/oldvec"
  # oracles: cargo's own view of the lock file, and the audit data as binutils extracts it
  (cd "$src" && cargo metadata --format-version 1 --locked >"$o/cargo-metadata.json")
  objcopy --dump-section .dep-v0="$WORK/oldvec.dep-v0" "$r/usr/local/bin/oldvec" /dev/null
  /usr/bin/python3 -c 'import sys, zlib; sys.stdout.write(zlib.decompress(open(sys.argv[1], "rb").read()).decode())' \
    "$WORK/oldvec.dep-v0" >"$o/oldvec-audit.json"

  # npm: a project installed by npm, its lock file, `npm ls` as the oracle
  mkdir -p "$r/srv/web"
  printf '{"name":"web","version":"1.0.0","private":true}\n' >"$r/srv/web/package.json"
  (cd "$r/srv/web" && npm install -q --ignore-scripts --no-audit --no-fund --save-exact \
      --cache "$WORK/npm-cache" axios@0.21.1 minimist@1.2.5 >/dev/null)
  (cd "$r/srv/web" && npm ls --json --all >"$o/npm-ls.json")

  # pip: packages installed by pip, `pip inspect` as the oracle
  local site="$r/opt/py/site-packages"
  "$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps \
    --no-compile --only-binary=:all: --target "$site" \
    requests==2.25.0 urllib3==1.26.4 idna==2.10 chardet==3.0.4 certifi==2020.12.5
  rm -rf "$site/bin"
  "$PYTHON" -m pip inspect --path "$site" >"$o/pip-inspect.json"

  # the Go program: `go version -m`; the gem: RubyGems' own loading; the jars' Maven
  # coordinates: their pom.properties read by Python's zipfile
  go version -m "$r/usr/bin/age" >"$o/go-version-m.txt"
  ruby -e 'ARGV.each { |f| s = Gem::Specification.load(f); puts "#{s.name}\t#{s.version}" }' \
    "$r"/usr/share/rubygems-integration/all/specifications/*.gemspec >"$o/gems.tsv"
  /usr/bin/python3 - "$r/usr/share/java" >"$o/jars.tsv" <<'PY'
import os, sys, zipfile
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    p = os.path.join(d, name)
    if os.path.islink(p) or not name.endswith(".jar"):
        continue
    with zipfile.ZipFile(p) as z:
        for n in z.namelist():
            if n.startswith("META-INF/maven/") and n.endswith("/pom.properties"):
                props = dict(l.split("=", 1) for l in z.read(n).decode().splitlines()
                             if "=" in l and not l.startswith("#"))
                print(f"usr/share/java/{name}\t{props['groupId']}:{props['artifactId']}\t{props['version']}")
PY
  image_from_dir lang "$r" "dpkg-deb -x age liblog4j2-java ruby-rack; cargo auditable; npm; pip"
  umoci gc --layout "$OUT/oci"
  touch "$STAMPS/lang"
}

build_go
build_os_owned
build_lang
{
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "tools: $(umoci --version | head -1), $(go version 2>/dev/null || echo 'go missing')"
  for p in umoci docker-registry; do echo "host deb $(dpkg-query -W "$p")"; done
  dpkg-query --admindir="$OUT/os-owned/rootfs/var/lib/dpkg" -W | sed 's/^/os-owned deb /'
  "$PYTHON" -m pip --version
} >"$OUT/build-info.txt"
log "done: $OUT"
