#!/bin/sh
# Build the libFuzzer targets (clang, ASan+UBSan) and run each for a while.
#   scripts/fuzz.sh [-j JOBS] [SECONDS] [TARGET...]
# JOBS targets run at once (default 1; one per core is what CI uses).
# SECONDS per target (default 60); TARGETs are names of fuzz/fuzz_<name>.c
# (default: all). Build dir build-fuzz/ (override: NLCL_FUZZ_DIR). Seeds are
# generated into build-fuzz/seeds/<target> by fuzz/make_seeds.c; new corpus
# entries are kept in build-fuzz/corpus/<target> (reused by the next run) and
# crashes, leaks, timeouts and OOMs go to build-fuzz/crashes/<target>-*.
# A one-line summary per target (runs, exec/s, cov, ft, corpus) is appended
# to build-fuzz/summary.txt and printed. Exit status 1 if any target found
# something. Installs what is missing first (scripts/setup.sh --fuzz: clang,
# libclang-rt-14-dev and the library's build dependencies).
# A found input belongs in tests/fuzz_regressions/<target>/ (see its README).
set -eu
cd "$(dirname "$0")/.."
jobs=1
if [ "${1:-}" = "-j" ]; then jobs="$2"; shift 2; fi
scripts/setup.sh --fuzz
secs="${1:-60}"
[ $# -gt 0 ] && shift
dir="${NLCL_FUZZ_DIR:-build-fuzz}"
CC="${CC:-clang}"
case "$CC" in *clang*) ;; *) CC=clang ;; esac
CC="$CC" cmake -S . -B "$dir" -DNLCL_FUZZ=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$dir" -j"$(nproc)"
rm -rf "$dir/seeds"
"$dir/make_seeds" "$dir/seeds" "$PWD"
targets="$*"
if [ -z "$targets" ]; then
  for f in fuzz/fuzz_*.c; do
    t="${f#fuzz/fuzz_}"
    targets="$targets ${t%.c}"
  done
fi
mkdir -p "$dir/crashes" "$dir/logs"
for t in $targets; do
  [ -x "$dir/fuzz_$t" ] || { echo "fuzz.sh: no target '$t' ($dir/fuzz_$t)" >&2; exit 2; }
done
# run_one TARGET: fuzz it, append its summary line, leave its exit status in
# $dir/logs/TARGET.rc
run_one() {
  t="$1"
  bin="$dir/fuzz_$t"
  mkdir -p "$dir/corpus/$t" "$dir/seeds/$t"
  set -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
         -artifact_prefix="$dir/crashes/$t-"
  case "$t" in
    png) set -- "$@" -dict=fuzz/png.dict ;;
    jpeg) set -- "$@" -dict=fuzz/jpeg.dict ;;
    bmp) set -- "$@" -dict=fuzz/bmp.dict ;;
    tiff) set -- "$@" -dict=fuzz/tiff.dict ;;
    safetensors) set -- "$@" -dict=fuzz/json.dict ;;
    pth|pickle) set -- "$@" -dict=fuzz/pickle.dict ;;
    cli) set -- "$@" -dict=fuzz/cli.dict -close_fd_mask=3 ;; # the parser prints usage errors
  esac
  log="$dir/logs/$t.log"
  echo "fuzz.sh: $t for ${secs}s (log $log)"
  rc=0
  "$bin" "$@" "$dir/corpus/$t" "$dir/seeds/$t" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed 's/^#[0-9]*[[:space:]]*//')
  line="$t: rc=$rc runs=${runs:-?} exec/s=${eps:-?} ${last:-}"
  echo "$line" | tee -a "$dir/summary.txt"
  if [ "$rc" -ne 0 ]; then
    grep -E 'ERROR:|SUMMARY:|Test unit written|oracle violated' "$log" | head -8 >&2 || true
  fi
  echo "$rc" >"$dir/logs/$t.rc"
}
n=0
for t in $targets; do
  rm -f "$dir/logs/$t.rc"
  run_one "$t" &
  n=$((n + 1))
  if [ "$n" -ge "$jobs" ]; then wait; n=0; fi
done
wait
found=0
for t in $targets; do
  [ "$(cat "$dir/logs/$t.rc" 2>/dev/null || echo 1)" = 0 ] || found=1
done
exit "$found"
