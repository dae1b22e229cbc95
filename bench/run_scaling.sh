#!/bin/bash
# Data-parallel training on one machine (docs/SCALING.md, "Measured on this
# machine"): seconds per iteration of `nlcl train` with the paper preset's
# networks at crop 128 and global batch 2, as
#   1 process x 1 thread, 1 process x 2 threads, mpirun -np 2 x 1 thread each
#   (Open MPI's default binding: one core per rank),
# taken from the time column of losses.tsv (the first iteration dropped:
# it touches every buffer for the first time); median and fastest over the
# iterations of all rounds. The 2-rank run's weights are compared with the
# 1-process run's (largest difference / largest weight).
# Usage: bench/run_scaling.sh [build_dir] [iterations] [rounds]
set -eu
cd "$(dirname "$0")/.."
b="${1:-build}"
iters="${2:-8}"
rounds="${3:-2}"
nlcl="$b/nlcl"
"$nlcl" --version | grep -q '^MPI: Open MPI' || { echo "needs an nlcl built with MPI"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export GOMP_SPINCOUNT=100000 # what nlcl sets for itself; explicit, so the ranks get it too
"$nlcl" synth --scenes 6 --scene-size 192 -o "$T/data" >/dev/null
ARGS=(--rainy "$T/data/rainy" --clean "$T/data/clean" --preset paper --crop 128 --batch 2
      --iters "$iters" --save-every 100000 --sample-every 0 --log-every 1 -q)
MPI=(mpirun --allow-run-as-root --oversubscribe -np 2 -x GOMP_SPINCOUNT -x OMP_NUM_THREADS=1)

# per-iteration seconds of a run folder, one a line, the first dropped
steps() { awk '$1 ~ /^[0-9]+$/ { if (n++) print $2 - prev; prev = $2 }' "$1/losses.tsv"; }
stats() { # median and fastest of the numbers on stdin
  sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
                   printf "median %.3f s, fastest %.3f s (%d iterations)", m, v[1], NR }'
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores;" \
     "$("$nlcl" --version | tail -1 | cut -d'(' -f1)"
for r in $(seq "$rounds"); do
  OMP_NUM_THREADS=1 "$nlcl" train "${ARGS[@]}" --threads 1 --out "$T/p1t1-$r"
  OMP_NUM_THREADS=2 "$nlcl" train "${ARGS[@]}" --threads 2 --out "$T/p1t2-$r"
  "${MPI[@]}" "$nlcl" train "${ARGS[@]}" --threads 1 --out "$T/p2t1-$r"
done
for k in p1t1 p1t2 p2t1; do
  case $k in p1t1) what="1 process x 1 thread ";; p1t2) what="1 process x 2 threads";;
             p2t1) what="2 ranks x 1 thread   ";; esac
  echo "$what: $(for r in $(seq "$rounds"); do steps "$T/$k-$r"; done | stats)"
done
med() { for r in $(seq "$rounds"); do steps "$T/$1-$r"; done | sort -g |
        awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
awk -v a="$(med p1t1)" -v b="$(med p2t1)" -v c="$(med p1t2)" \
  'BEGIN { printf "speed-up of 2 ranks x 1 thread over 1 x 1: %.2fx; of 1 x 2 threads over 1 x 1: %.2fx\n", a / b, a / c }'
/usr/bin/python3 - "$T/p1t1-1/checkpoint.safetensors" "$T/p2t1-1/checkpoint.safetensors" <<'EOF'
import json, struct, sys
from array import array
def load(p):
    with open(p, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        h = json.loads(f.read(n)); body = f.read()
    out = {}
    for k, v in h.items():
        if k != '__metadata__' and '.adam_' not in k:
            a = array('f'); a.frombytes(body[v['data_offsets'][0]:v['data_offsets'][1]]); out[k] = a
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
top = max(max(abs(x) for x in t) for t in a.values())
diff = max(max(abs(x - y) for x, y in zip(a[k], b[k])) for k in a)
print('2 ranks vs 1 process after the run: largest weight difference / largest weight %.3g' % (diff / top))
EOF
