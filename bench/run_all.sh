#!/bin/sh
# Every benchmark against its peers, same machine, same run, 2 threads: FMA
# peak; conv 3x3 32->32 (direct and Winograd, PyTorch); derain at 3 sizes
# (nlcl fp32 and bf16, ONNX Runtime, PyTorch) and the whole derain command;
# one training iteration at 3 crops (nlcl fp32 and bf16, PyTorch). Prints raw
# lines for docs/BENCHMARKS.md.
#   bench/run_all.sh [build_dir] [quick]
# quick: 1024x512 and crop 128 only (the sizes of the targets), about 6 minutes.
set -eu
cd "$(dirname "$0")/.."
b="${1:-build}"
quick="${2:-}"
export OMP_NUM_THREADS=2 GOMP_SPINCOUNT=100000
echo "# $(date -u +%Y-%m-%dT%H:%MZ); $(lscpu | sed -n 's/^Model name: *//p'); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
"$b/bench_peak"
for a in direct auto; do NLCL_BENCH_CONV=$a "$b/bench_conv" 32 256 256 20; done
/usr/bin/python3 bench/bench_conv_torch.py 32 256 256 20 2
bf16=0
NLCL_BENCH_PRECISION=bf16 "$b/bench_derain" ../shared/data/nlcl_official/weights/latest_net_Back.pth 8 8 1 >/dev/null 2>&1 && bf16=1
if [ "$quick" = quick ]; then
  bench/run_derain_bench.sh "$b" "1024 512 3"
  crops=128
else
  bench/run_derain_bench.sh "$b"
  crops="64 128 256"
fi
for c in $crops; do
  r=5; [ "$c" = 256 ] && r=3
  "$b/bench_train" "$c" "$r"
  [ "$bf16" = 1 ] && NLCL_BENCH_PRECISION=bf16 "$b/bench_train" "$c" "$r"
  /usr/bin/python3 bench/bench_train_torch.py "$c"
done
