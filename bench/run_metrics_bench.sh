#!/bin/bash
# Metrics benchmark: nlcl (bench/bench_metrics.c) vs scikit-image SSIM and a
# numpy NIQE port (bench/bench_metrics.py) on the same 1024x768 pair, same
# machine, same run, 2 threads.
# Usage: bench/run_metrics_bench.sh [BUILD_DIR] [reps]   (from the repo root)
# The pair: a 1024x768 crop of ../shared/data/real_rain/sirr/13.jpg (1280x960)
# as reference and the same crop with Gaussian noise (sigma 10, seed 0,
# rounded and clipped) as the distorted image; without ../shared/data a
# synthetic texture is used instead.
set -eu
BUILD=${1:-build}
REPS=${2:-10}
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2
PY=/usr/bin/python3
[ -x "$BUILD/bench_metrics" ] || { echo "build $BUILD/bench_metrics first (cmake --build $BUILD)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/nlcl-bench-metrics-XXXXXX")
trap 'rm -rf "$T"' EXIT
"$PY" - "$T" <<'PYEOF'
import os, sys
import numpy as np
from PIL import Image
T = sys.argv[1]
src = "../shared/data/real_rain/sirr/13.jpg"
if os.path.exists(src):
    ref = np.asarray(Image.open(src).convert("RGB"))[:768, :1024].astype(np.float64)
    print("# image: 1024x768 crop of", src)
else:
    y, x = np.mgrid[0:768, 0:1024]
    base = 128 + 60 * np.sin(x / 37.0) * np.cos(y / 23.0)
    ref = np.stack([base, base * 0.8 + 20, 255 - base], -1)
    ref += np.random.default_rng(1).normal(0, 8, ref.shape)
    print("# image: synthetic 1024x768 texture (../shared/data missing)")
ref = np.clip(np.round(ref), 0, 255)
dist = np.clip(np.round(ref + np.random.default_rng(0).normal(0, 10, ref.shape)), 0, 255)
Image.fromarray(ref.astype(np.uint8)).save(os.path.join(T, "ref.png"))
Image.fromarray(dist.astype(np.uint8)).save(os.path.join(T, "dist.png"))
PYEOF
"$BUILD/bench_metrics" "$T/ref.png" "$T/dist.png" "$REPS" > "$T/c.txt"
"$PY" bench/bench_metrics.py "$T/ref.png" "$T/dist.png" "$REPS" > "$T/py.txt"
cat "$T/c.txt" "$T/py.txt" | grep '^#'
echo
printf "%-12s %-12s %-10s %12s %16s\n" metric impl size "median ms" value
cat "$T/c.txt" "$T/py.txt" | grep -v '^#' | sort -k2,2 -k1,1 |
  awk '{printf "%-12s %-12s %-10s %12s %16.8f\n", $2, $1, $3, $4, $5}'
