#!/usr/bin/env bash
# bench/rematch.sh: 1,000 stored inventories re-matched after a feed update (issue 12,
# SPEC 10.5; target: under 10 s).
#
# 1. A fresh SQLite store: the Debian tracker (bookworm.json) and the OSV/secdb directories
#    of the shared feed fixtures imported; a cluster, environment, application and a
#    scanning pipeline.
# 2. The CycloneDX SBOMs of the real test images (oci:app, oci:base) by `vigil sbom`;
#    scripts/make-inventories.py turns them into COUNT (default 1,000) variants with other
#    package versions (deterministic). Each is stored by `vigil ci scan --pipeline`, in two
#    parallel streams: as `sbom:FILE` (MODE=sbom, the default when it works), or (MODE=oci)
#    as the same variant built into a real image, an OCI
#    layout the script also writes (the origin image's layers plus one layer rewriting the
#    package databases; a few are checked to inventory exactly like their SBOMs).
# 3. A small changed feed (two late OSV records for Debian:12 source packages of the images,
#    expat and tar) is imported RUNS times (default 3) into fresh copies of that store, and
#    as many times into copies of the same store taken before any scan was stored: the
#    difference of the medians is the re-match of the stored inventories.
#
# Environment: COUNT, RUNS, SEED, STREAMS (default 2), MODE (auto|sbom|oci),
# VIGIL_SHARED (default ../shared), VIGIL_TEST_IMAGES (default target/test-images), KEEP
# (set: the work directory, with the stores snap-full and snap-empty, is left behind).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
SHARED="${VIGIL_SHARED:-${SHARED:-$ROOT/../shared}}"
FEEDS="$SHARED/fixtures/feeds"
IMAGES="${VIGIL_TEST_IMAGES:-$ROOT/target/test-images}"
COUNT="${COUNT:-1000}"
RUNS="${RUNS:-3}"
SEED="${SEED:-12}"
STREAMS="${STREAMS:-2}"
MODE="${MODE:-auto}"
LIMIT_S=10
[ -e "$IMAGES/oci/index.json" ] || { echo "no test images in $IMAGES: run scripts/test.sh once" >&2; exit 2; }
[ -d "$FEEDS" ] || { echo "no feed fixtures in $FEEDS: set VIGIL_SHARED" >&2; exit 2; }
VIGIL="${CARGO_TARGET_DIR:-$ROOT/target}/release/vigil"
[ -x "$VIGIL" ] || cargo build --release -q -p vigil

WORK="$(mktemp -d)"
if [ -n "${KEEP:-}" ]; then echo "keeping $WORK (KEEP is set)" >&2; else trap 'rm -rf "$WORK"' EXIT; fi
export VIGIL_USER=bench HOME="$WORK" XDG_CONFIG_HOME="$WORK/xdg"
export VIGIL_DATA_DIR="$WORK/data" VIGIL_CACHE_DIR="$WORK/cache"
unset VIGIL_DATABASE_URL VIGIL_SERVER VIGIL_TOKEN
# no feed sources: the fixture feeds imported below are the database
printf '[db]\nsources = []\n' >"$WORK/config.toml"
export VIGIL_CONFIG="$WORK/config.toml"

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f\n", m}'; }
calc() { awk "BEGIN { printf \"$1\n\", $2 }"; }

# 1. The store.
"$VIGIL" db import "$FEEDS/debian-tracker/bookworm.json" "$FEEDS/github-advisory-database" \
  "$FEEDS/pypa-advisory-database" "$FEEDS/golang-vulndb" "$FEEDS/rustsec/osv" \
  "$FEEDS/alpine-secdb-legacy-yaml" >/dev/null
"$VIGIL" cluster add eu >/dev/null
"$VIGIL" env add prod --cluster eu --namespace web-prod >/dev/null
"$VIGIL" app add web >/dev/null
"$VIGIL" pipeline add web-ci --app web --scan-enabled >/dev/null
cp -a "$WORK/data" "$WORK/snap-empty"  # the same store without stored scans

# 2. Inventories.
mkdir -p "$WORK/sboms"
for img in app base; do
  "$VIGIL" sbom "oci:$IMAGES/oci:$img" --format cyclonedx -o "$WORK/sboms/$img.cdx.json" 2>/dev/null
done
python3 scripts/make-inventories.py --seed "$SEED" --oci-layout "$WORK/oci" --from-layout "$IMAGES/oci" \
  "$WORK/variants" "$COUNT" "$WORK/sboms/app.cdx.json" "$WORK/sboms/base.cdx.json"
refs() {  # the image reference of variant NNNN in the chosen mode
  if [ "$MODE" = sbom ]; then echo "sbom:$WORK/variants/variant-$1.cdx.json"; else echo "oci:$WORK/oci:variant-$1"; fi
}
if [ "$MODE" = auto ]; then
  # variant-0000 is one of the COUNT either way
  if "$VIGIL" ci scan --pipeline web-ci --format json "sbom:$WORK/variants/variant-0000.cdx.json" \
    >"$WORK/probe.json" 2>"$WORK/probe.err"; then
    MODE=sbom
  else
    MODE=oci
    echo "note: vigil does not store CI scans of SBOMs: $(tail -1 "$WORK/probe.err")" >&2
    echo "note: storing each variant as a real image instead (oci:LAYOUT:variant-NNNN)" >&2
  fi
fi
if [ "$MODE" = oci ]; then
  for i in 0000 0001 $(printf '%04d' $((COUNT - 1))); do
    "$VIGIL" inventory --format json "sbom:$WORK/variants/variant-$i.cdx.json" >"$WORK/inv-sbom.json"
    "$VIGIL" inventory --format json "oci:$WORK/oci:variant-$i" >"$WORK/inv-oci.json"
    python3 - "$WORK/inv-sbom.json" "$WORK/inv-oci.json" "$i" <<'PY'
import json, sys
def pkgs(p):
    d = json.load(open(p))
    assert not d["errors"], d["errors"]
    return d["distro"], sorted((x["ecosystem"], x["name"], x["version"], x.get("arch"),
                                x.get("source_name"), x.get("source_version")) for x in d["packages"])
if pkgs(sys.argv[1]) != pkgs(sys.argv[2]):
    sys.exit(f"variant {sys.argv[3]}: the image's inventory is not the SBOM's")
PY
  done
fi

# Submissions: STREAMS background loops over interleaved shares of the variants; each
# writes one line per scan (digest or FAIL) so progress can be followed.
submit_stream() {
  local s=$1 i n ref out
  for ((i = s; i < COUNT; i += STREAMS)); do
    printf -v n '%04d' "$i"
    [ -e "$WORK/probe.json" ] && [ "$MODE" = sbom ] && [ "$n" = 0000 ] && {
      python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["digest"])' "$WORK/probe.json" >>"$WORK/stream-$s.done"
      continue
    }
    ref="$(refs "$n")"
    # "scanned REF (sha256:...) as scan N: ..."
    if out="$("$VIGIL" ci scan --pipeline web-ci "$ref" 2>>"$WORK/stream-$s.err")"; then
      sed -n 's/^\([a-z ]*\) [^ ]* (\(sha256:[0-9a-f]*\)) as scan .*/\2 \1/p' <<<"$out" >>"$WORK/stream-$s.done"
    else
      echo "FAIL $n" >>"$WORK/stream-$s.done"
    fi
  done
}
start=$EPOCHREALTIME
pids=()
for ((s = 0; s < STREAMS; s++)); do
  : >"$WORK/stream-$s.done"
  submit_stream "$s" &
  pids+=($!)
done
while :; do
  done_n=$(cat "$WORK"/stream-*.done | wc -l)
  printf '\rstoring inventories (%s, %d streams): %d/%d' "$MODE" "$STREAMS" "$done_n" "$COUNT" >&2
  [ "$done_n" -ge "$COUNT" ] && break
  alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ "$alive" = 1 ] || break
  sleep 1
done
for p in "${pids[@]}"; do wait "$p"; done
t_submit=$(calc '%.1f' "$EPOCHREALTIME - $start")
echo >&2
failed=$(cat "$WORK"/stream-*.done | grep -c '^FAIL' || true)
if [ "$failed" -gt 0 ]; then
  echo "warning: $failed of $COUNT ci scans failed with $STREAMS concurrent writers; first errors:" >&2
  { grep -hv "^$" "$WORK"/stream-*.err || true; } | sort | uniq -c | sort -rn | head -5 >&2
  # tried again one at a time, so that the benchmark still has COUNT stored scans
  for n in $(cat "$WORK"/stream-*.done | awk '/^FAIL/ {print $2}'); do
    "$VIGIL" ci scan --pipeline web-ci "$(refs "$n")" \
      | sed -n 's/^\([a-z ]*\) [^ ]* (\(sha256:[0-9a-f]*\)) as scan .*/\2 \1/p' >>"$WORK/stream-0.done"
  done
fi
if [ "$failed" -eq 0 ] && grep -q . "$WORK"/stream-*.err; then
  echo "note: ci scans wrote on stderr (most frequent lines):" >&2
  grep -hv "^$" "$WORK"/stream-*.err | sort | uniq -c | sort -rn | head -5 >&2
fi
stored=$(cat "$WORK"/stream-*.done | grep -v '^FAIL' | awk '{print $1}' | sort -u | wc -l)
echo "stored $stored distinct image digests from $COUNT variants in ${t_submit} s ($failed failed and retried)"
[ "$stored" -eq "$COUNT" ] || { echo "error: expected $COUNT distinct stored images, got $stored" >&2; exit 1; }
cp -a "$WORK/data" "$WORK/snap-full"

# 3. The changed feed: two late advisories for source packages of the images.
mkdir -p "$WORK/late"
python3 - "$WORK/late" <<'PY'
import json, os, sys
for i, (pkg, fixed) in enumerate([("expat", "2.5.0-1+deb12u6"), ("tar", "1.34+dfsg-1.2+deb12u2")], 1):
    rec = {"schema_version": "1.6.0", "id": f"VIGIL-BENCH-LATE-{i}", "modified": "2026-12-01T00:00:00Z",
           "summary": "published after the images were scanned",
           "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
           "affected": [{"package": {"ecosystem": "Debian:12", "name": pkg},
                         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]}
    json.dump(rec, open(os.path.join(sys.argv[1], rec["id"] + ".json"), "w"))
PY

# import_into SNAPSHOT LABEL: a fresh copy of SNAPSHOT (no vigil runs now), the late feed
# imported into it; prints "WALL_S CPU_S" (CPU: user + system, from GNU time; on a shared
# machine it moves less than the wall time); keeps stderr in $WORK/LABEL.err.
import_into() {
  rm -rf "$WORK/run"
  cp -a "$1" "$WORK/run"
  sync
  local t0=$EPOCHREALTIME wall
  VIGIL_DATA_DIR="$WORK/run" /usr/bin/time -f '%U %S' -o "$WORK/$2.time" \
    "$VIGIL" db import --source late "$WORK/late" >/dev/null 2>"$WORK/$2.err"
  wall=$(calc '%.3f' "$EPOCHREALTIME - $t0")
  echo "$wall $(awk '{printf "%.3f", $1 + $2}' "$WORK/$2.time")"
}
full=(); empty=(); full_cpu=(); empty_cpu=()
echo "load average before the timed imports: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((r = 1; r <= RUNS; r++)); do
  read -r w c < <(import_into "$WORK/snap-full" full-$r)
  full+=("$w"); full_cpu+=("$c")
  line="$(grep '^re-matched' "$WORK/full-$r.err" || true)"
  case "$line" in
    "re-matched $COUNT stored image(s) "*) ;;
    *) echo "error: run $r: expected 're-matched $COUNT stored image(s)', vigil said: $(cat "$WORK/full-$r.err")" >&2; exit 1 ;;
  esac
  if [ "$r" = 1 ]; then
    recorded=$(VIGIL_DATA_DIR="$WORK/run" "$VIGIL" db rematches --limit $((COUNT * 2)) --format json \
      | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  fi
  read -r w c < <(import_into "$WORK/snap-empty" empty-$r)
  empty+=("$w"); empty_cpu+=("$c")
  if grep -q '^re-matched' "$WORK/empty-$r.err"; then
    echo "error: the store without scans re-matched something: $(cat "$WORK/empty-$r.err")" >&2; exit 1
  fi
  echo "run $r: import with $COUNT stored scans ${full[-1]} s (CPU ${full_cpu[-1]} s), without ${empty[-1]} s (CPU ${empty_cpu[-1]} s)" >&2
done
load="$(cut -d' ' -f1-3 /proc/loadavg)"
m_full=$(median "${full[@]}")
m_empty=$(median "${empty[@]}")
t_rematch=$(calc '%.3f' "$m_full - $m_empty")
c_rematch=$(calc '%.3f' "$(median "${full_cpu[@]}") - $(median "${empty_cpu[@]}")")
echo "$("$VIGIL" --version), $(nproc) cores; SQLite; $stored stored inventories ($MODE), $recorded re-matches recorded"
echo "vigil said: $line"
echo "import of the late feed, medians of $RUNS: $m_full s with the stored scans, $m_empty s without"
echo "re-match of $stored stored inventories: $t_rematch s = $(calc '%.0f' "$stored / $t_rematch") images/s; $(calc '%.2f' "$t_rematch / $LIMIT_S")x of the $LIMIT_S s limit (whole import: $(calc '%.2f' "$m_full / $LIMIT_S")x)"
echo "CPU time of the re-match (user + system, medians): $c_rematch s; load average after: $load"
