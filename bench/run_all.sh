#!/bin/sh
# Every benchmark against its PyTorch peer, same machine, same run, 2 threads:
# FMA peak, conv 3x3 32->32 at 256x256, derain at 3 sizes, one training
# iteration at 3 crops. Prints raw lines for docs/BENCHMARKS.md.
#   bench/run_all.sh [build_dir]
set -eu
cd "$(dirname "$0")/.."
b="${1:-build}"
export OMP_NUM_THREADS=2
echo "# $(date -u +%Y-%m-%dT%H:%MZ); $(lscpu | sed -n 's/^Model name: *//p'); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
"$b/bench_peak"
"$b/bench_conv" 32 256 256 20
/usr/bin/python3 bench/bench_conv_torch.py 32 256 256 20 2
bench/run_derain_bench.sh "$b"
for c in 64 128 256; do
  r=5; [ "$c" = 256 ] && r=3
  "$b/bench_train" "$c" "$r"
  /usr/bin/python3 bench/bench_train_torch.py "$c"
done
