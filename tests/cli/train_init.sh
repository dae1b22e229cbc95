#!/bin/bash
# nlcl train --init-from: a new run from another run's checkpoint with other
# options starts with the source's weights (its EMA too) and fresh Adam
# moments at iteration 0; --init-continue goes on as the source run would
# have (its checkpoint at 2 continued to 4 equals the source's at 4, also
# through a --resume of the new run); a G_B model file gives G_B only;
# another architecture is refused with every difference, before the images
# are read; the source run's folder is never changed.
set -u
source "$(dirname "$0")/common.bash"

D="$T/data"
"$NLCL" synth --scenes 3 --scene-size 48 -o "$D" >/dev/null 2>&1
TINY=(--rainy "$D/rainy" --clean "$D/clean" --crop 32 --batch 1 --channels 4 --blocks 1 --ndf 4
      --n-loc 16 --n-pos 4 --n-neg 8 --loc-taps 0,1 --threads 1 --save-every 2 --sample-every 0
      --decay-iters 0 --ema 0.9)
A="$T/source run"
"$NLCL" train "${TINY[@]}" --iters 4 --keep-every 2 --out "$A" -q 2>"$T/err"; rc=$?
check "the source run (4 iterations, a checkpoint kept at 2): status 0" status 0
A2="$A/checkpoint-00000002.safetensors"
fingerprint() { (cd "$A" && find . -type f | LC_ALL=C sort | xargs -d '\n' sha256sum); }
before=$(fingerprint)

# cmp.py A B PREFIXES TOL same|differ weights|all: the tensors named
# PREFIX... (weights: not the Adam moments) of two safetensors files agree
# within TOL of each tensor's largest value (differ: some tensor differs by more)
cat >"$T/cmp.py" <<'PY'
import sys
sys.path.insert(0, "tests/cli")
from safetensors_f32 import load
a, b = load(sys.argv[1]), load(sys.argv[2])
pre, tol = tuple(sys.argv[3].split(",")), float(sys.argv[4])
keys = [k for k in a if k.startswith(pre) and (sys.argv[6] == "all" or ".adam_" not in k)]
assert keys and all(k in b for k in keys), "tensors missing"
rel = {k: max((abs(x - y) for x, y in zip(a[k], b[k])), default=0) /
          max(max((abs(x) for x in a[k]), default=0), 1e-30) for k in keys}
k = max(rel, key=rel.get)
print(f"largest relative difference {rel[k]:.3g} ({k}, {len(keys)} tensors)")
differ = sys.argv[5] == "differ"
sys.exit(0 if (rel[k] > tol) == differ else 1)
PY
cmp() { /usr/bin/python3 "$T/cmp.py" "$@"; }

# 1. other loss weights, another seed; a learning rate too small to move a
# weight, so that the new run's checkpoint after one iteration shows what it
# started from
"$NLCL" train "${TINY[@]}" --iters 1 --lr 1e-12 --seed 7 --lambda-loc 0 --init-from "$A2" --out "$T/new" 2>"$T/err"; rc=$?
check "--init-from CHECKPOINT --lambda-loc 0: status 0" status 0
check "... says what it took" has "taken G_B, G_R, D, H_B, G_ema; fresh (from --seed): none; not used by these options: H_loc, G_key, H_key; Adam moments fresh, the run starts at iteration 0"
check "... and the options that differ" has "iters 4 -> 1, lr 0.0001 -> 1e-12, w_loc 1 -> 0, seed 1 -> 7"
check "... config.txt records where it started" grep -qxF "init_from $A2" "$T/new/config.txt"
check "... and at which iteration" grep -qx "init_iteration 2" "$T/new/config.txt"
check "... G_B, G_R, D and H_B are the source's" cmp "$T/new/checkpoint.safetensors" "$A2" G_B.,G_R.,D.,H_B. 1e-6 same weights
"$NLCL" train "${TINY[@]}" --iters 1 --lr 1e-12 --seed 7 --lambda-loc 0 --out "$T/scratch" -q 2>/dev/null
check "... (without --init-from they are not: the comparison can fail)" cmp "$T/scratch/checkpoint.safetensors" "$A2" G_B. 1e-2 differ weights

# 2. --init-continue: iteration and Adam moments too; 2 -> 3, then a resume
# of the new run to 4, equal the source run's 4 (a constant learning rate)
"$NLCL" train "${TINY[@]}" --iters 3 --init-from "$A2" --init-continue --out "$T/cont" 2>"$T/err"; rc=$?
check "--init-from CHECKPOINT --init-continue: status 0" status 0
check "... goes on at the checkpoint's iteration" has "the iteration and the Adam moments taken: the run goes on at iteration 2"
check "... recorded" grep -qx "init_continue 1" "$T/cont/config.txt"
"$NLCL" train --resume --out "$T/cont" --iters 4 2>"$T/err"; rc=$?
check "--resume --out of that run (its command line holds --init-from): status 0" status 0
check "... resumes its own checkpoint" has "resuming $T/cont at iteration 3 of 4"
check "... every network's weights and Adam moments equal the source run's at 4" cmp "$T/cont/checkpoint.safetensors" "$A/checkpoint.safetensors" G,D,H 1e-5 same all

# 3. a G_B model file: G_B (and what starts as G_B), the rest fresh
"$NLCL" train "${TINY[@]}" --iters 1 --init-from "$A/G_B.safetensors" --out "$T/model" 2>"$T/err"; rc=$?
check "--init-from G_B.safetensors: status 0" status 0
check "... takes G_B only" has "(a G_B model file at iteration 4): taken G_B; copied from G_B or H_loc here: G_key, H_key, G_ema; fresh (from --seed): G_R, D, H_loc, H_B"
"$NLCL" train "${TINY[@]}" --iters 1 --init-from "$A/G_B.safetensors" --init-continue --out "$T/model2" 2>"$T/err"; rc=$?
check "... with --init-continue: refused, status 1" status 1
check "... a model file has no iteration to continue" has "is a model file, not a training checkpoint"
check "... nothing written" test ! -e "$T/model2"

# 4. another architecture: every difference in one message, before the images are read
printf 'junk' >"$D/rainy/zz_bad.png"
# TINY with --channels 8 --ndf 8 (an option that takes a value is given once)
WIDE=("${TINY[@]}"); for i in "${!WIDE[@]}"; do case "${WIDE[$i]}" in --channels|--ndf) WIDE[$((i + 1))]=8;; esac; done
"$NLCL" train "${WIDE[@]}" --residual --iters 1 --init-from "$A2" --out "$T/arch" 2>"$T/err"; rc=$?
check "--init-from with other --channels, --ndf, --residual: status 1" status 1
for d in "'channels 4' there, 'channels 8' here (--channels 4)" "'residual 0' there, 'residual 1' here (without --residual)" \
         "'ndf 4' there, 'ndf 8' here (--ndf 4)" "--init-from $A2: its networks have another architecture"; do
  check "... names $d" has "$d"
done
check "... in one line" test "$(wc -l <"$T/err")" -eq 1
check "... before reading the images" hasnt "zz_bad"
check "... nothing written" test ! -e "$T/arch"
"$NLCL" train "${TINY[@]}" --iters 1 --init-from models/default.safetensors --out "$T/arch" 2>"$T/err"; rc=$?
check "--init-from the default model with the tiny options: status 1, naming its architecture" \
  sh -c "[ $rc = 1 ] && grep -qF \"'channels 32' there, 'channels 4' here (--channels 32); 'blocks 8' there, 'blocks 1' here (--blocks 8); 'residual 1' there, 'residual 0' here (add --residual)\" '$T/err'"
rm "$D/rainy/zz_bad.png"

# 5. misuse
"$NLCL" train "${TINY[@]}" --iters 6 --init-from "$A/G_B.safetensors" --out "$A" 2>"$T/err"; rc=$?
check "--init-from a file in the --out folder: status 1" status 1
check "... says so" has "lies in the run folder"
"$NLCL" train --resume --out "$T/new" --init-from "$A2" 2>"$T/err"; rc=$?
check "--resume with --init-from: usage error (2)" status 2
"$NLCL" train "${TINY[@]}" --init-continue --out "$T/x" 2>"$T/err"; rc=$?
check "--init-continue without --init-from: usage error (2)" sh -c "[ $rc = 2 ] && grep -q 'needs --init-from' '$T/err'"

check "the source run's folder is unchanged (names and contents)" test "$(fingerprint)" = "$before"
exit $fail
