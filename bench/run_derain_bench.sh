#!/bin/sh
# Derain benchmark: nlcl (fp32 and bf16) vs PyTorch and ONNX Runtime, same
# machine, same run, 2 threads, the authors' G_B weights, at 256x256,
# 1024x512 and 2048x1536 (each in its own process, so peak RSS is per size);
# then the whole `nlcl derain` command on the authors' 1024x512 example.
# ONNX Runtime: npm's onnxruntime-node in $NLCL_ORT_DIR (default
# ~/.cache/nlcl/onnxruntime, as scripts/setup.sh --test installs it), running
# G_B exported by torch.onnx.export (bench/export_onnx.py); skipped when absent.
# Usage: bench/run_derain_bench.sh [build_dir] [sizes...] (sizes as "W H reps");
# NLCL_BENCH_TORCH_REPS sets PyTorch's reps (it is 10-30 times slower),
# NLCL_BENCH_NO_TORCH=1 leaves it out.
set -eu
cd "$(dirname "$0")/.."
b="${1:-build}"
[ $# -gt 0 ] && shift
w=../shared/data/nlcl_official/weights/latest_net_Back.pth
[ -f "$w" ] || { echo "needs $w"; exit 77; }
export OMP_NUM_THREADS=2 GOMP_SPINCOUNT=100000
ort="${NLCL_ORT_DIR:-$HOME/.cache/nlcl/onnxruntime}/node_modules"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
have_ort=0
if [ -f "$ort/onnxruntime-node/package.json" ] && command -v node >/dev/null; then
  /usr/bin/python3 bench/export_onnx.py "$w" "$tmp/gb.onnx" 2>/dev/null && have_ort=1
else
  echo "# ONNX Runtime: not installed in $ort (scripts/setup.sh --test installs it); skipped"
fi
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
[ $# -gt 0 ] || set -- "256 256 5" "1024 512 3" "2048 1536 2"
for s in "$@"; do
  set -- $s
  "$b/bench_derain" "$w" "$1" "$2" "$3"
  if "$b/nlcl" info >/dev/null 2>&1 && NLCL_BENCH_PRECISION=bf16 "$b/bench_derain" "$w" 8 8 1 >/dev/null 2>&1; then
    NLCL_BENCH_PRECISION=bf16 "$b/bench_derain" "$w" "$1" "$2" "$3"
  fi
  [ "$have_ort" = 1 ] && NODE_PATH="$ort" node bench/bench_derain_ort.js "$tmp/gb.onnx" "$1" "$2" "$3" 2
  [ "${NLCL_BENCH_NO_TORCH:-0}" = 1 ] ||
    /usr/bin/python3 bench/bench_derain_torch.py "$w" "$1" "$2" "${NLCL_BENCH_TORCH_REPS:-$3}" 2
done
# the whole command: decode, model load, plans, derain, PNG encode
eg=../shared/data/nlcl_official/rainy/Eg1.JPG
for p in fp32 bf16; do
  "$b/nlcl" derain -q --precision $p -m "$w" -o "$tmp/o.png" "$eg" 2>/dev/null || continue
  t=$( { /usr/bin/time -f "%e %M" "$b/nlcl" derain -q --precision $p -m "$w" -o "$tmp/o.png" "$eg"; } 2>&1 | tail -1)
  for r in 2 3 4 5; do
    t="$t;$( { /usr/bin/time -f "%e %M" "$b/nlcl" derain -q --precision $p -m "$w" -o "$tmp/o.png" "$eg"; } 2>&1 | tail -1)"
  done
  echo "nlcl derain command 1024x512 $p (Eg1.JPG -> PNG), 5 runs, seconds and peak RSS KiB: $t"
done
