# Shared helpers for the bench/ scripts (sourced, not run).
# median_run N CMD...: runs CMD N times (after one warm-up), prints "median_wall_s max_rss_kb"
# (wall time and peak resident memory from GNU time).
median_run() {
  local n=$1; shift
  "$@" >/dev/null 2>&1 || true
  local i times=() rss=0 t m f
  f="$(mktemp)"
  for i in $(seq 1 "$n"); do
    /usr/bin/time -f '%e %M' -o "$f" "$@" >/dev/null 2>&1 || true
    read -r t m < <(tail -1 "$f")
    times+=("$t")
    [ "$m" -gt "$rss" ] && rss="$m"
  done
  rm -f "$f"
  printf '%s\n' "${times[@]}" | sort -g | awk -v r="$rss" '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.4f %d\n", m, r}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# platform_store VIGIL: a store (the caller exports VIGIL_DATA_DIR, VIGIL_CACHE_DIR and, for
# PostgreSQL, VIGIL_DATABASE_URL) with the offline feeds of data/feeds, cluster eu,
# environment prod (namespace web-prod), application web with pipeline web-ci scanning, a
# global block on critical findings, and both integrations installed (the server refuses
# entities and scans until they are; no feed sources: the feeds imported are the database).
platform_store() {
  local vigil=$1
  "$vigil" db import data/feeds/debian-tracker-bookworm.json data/feeds/*/ >/dev/null
  "$vigil" cluster add eu >/dev/null
  "$vigil" env add prod --cluster eu --namespace web-prod >/dev/null
  "$vigil" app add web >/dev/null
  "$vigil" pipeline add web-ci --app web --scan-enabled >/dev/null
  "$vigil" policy set --scope global --severity critical --action block >/dev/null
  "$vigil" integrations install cicd >/dev/null
  "$vigil" integrations install vulnerability-scanning >/dev/null
}

# ci_digest VIGIL IMAGE: scans IMAGE through pipeline web-ci; prints its digest.
ci_digest() {
  "$1" ci scan --pipeline web-ci --format json "$2" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])'
}
