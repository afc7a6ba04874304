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
