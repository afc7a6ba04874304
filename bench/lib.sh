# Shared helpers for the bench/ scripts (sourced, not run).
# median_run N CMD...: runs CMD N times (after one warm-up), prints "median_wall_s max_rss_kb".
median_run() {
  local n=$1; shift
  "$@" >/dev/null 2>&1 || true
  local i times=() rss=0 out
  for i in $(seq 1 "$n"); do
    out=$( { /usr/bin/time -f '%e %M' "$@" >/dev/null 2>/dev/null; } 2>&1 | tail -1)
    times+=("${out%% *}")
    [ "${out##* }" -gt "$rss" ] && rss="${out##* }"
  done
  printf '%s\n' "${times[@]}" | sort -g | awk -v r="$rss" '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.4f %d\n", m, r}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
