#!/bin/sh
# Derain benchmark: nlcl vs PyTorch, same machine, same run, 2 threads, the
# authors' G_B weights, at 256x256, 1024x512 and 2048x1536 (each in its own
# process, so peak RSS is per size). Usage: bench/run_derain_bench.sh [build_dir]
set -eu
cd "$(dirname "$0")/.."
b="${1:-build}"
w=../shared/data/nlcl_official/weights/latest_net_Back.pth
[ -f "$w" ] || { echo "needs $w"; exit 77; }
export OMP_NUM_THREADS=2
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
for s in "256 256 5" "1024 512 3" "2048 1536 2"; do
  set -- $s
  "$b/bench_derain" "$w" "$1" "$2" "$3"
  /usr/bin/python3 bench/bench_derain_torch.py "$w" "$1" "$2" "$3" 2
done
