#!/bin/bash
# nlcl on several processes with Open MPI (docs/SCALING.md), two ranks on this
# machine: mpirun --allow-run-as-root --oversubscribe -np 2.
#  - sharded derain: every output byte-identical to a single process's, each
#    written once, the summary counting both ranks' images and failures;
#  - data-parallel train: 2 ranks against 1 process with the same --batch agree
#    within 1e-4 (largest weight difference / largest weight) after a few
#    iterations (the first a warm-up step of G_B on the synthetic pairs, an EMA
#    of G_B exported), also across a resume with another rank count; config.txt
#    records the ranks; a batch the ranks do not divide is a usage error; ranks
#    that see different data stop together with a message; a stop request
#    (SIGUSR1 through mpirun, or a signal to one rank) stops every rank with a
#    checkpoint; mpirun's Ctrl-C (SIGCONT, SIGTERM, SIGKILL 1 s apart) leaves a
#    checkpoint that resumes; nothing hangs (every mpirun runs under timeout).
# Skipped when mpirun is missing, nlcl was built without MPI, or under valgrind.
set -u
source "$(dirname "$0")/common.bash"

if ! command -v mpirun >/dev/null 2>&1; then
  echo "SKIPPED: mpirun not found (Debian: openmpi-bin; scripts/setup.sh installs it)"
  exit 77
fi
case "$NLCL" in *-wrapped)
  # Open MPI's own start-up is not valgrind-clean; ASan runs this test (scripts/test.sh --sanitize)
  echo "SKIPPED: under valgrind (mpirun would start every rank under it)"; exit 77 ;;
esac
if ! "$NLCL" --version | grep -q '^MPI: Open MPI'; then
  echo "SKIPPED: this nlcl was built without MPI ($("$NLCL" --version | tail -1))"
  exit 77
fi
# one core each is enough; the tests' OMP_NUM_THREADS=2 would oversubscribe
MPI=(timeout 300 mpirun --allow-run-as-root --oversubscribe --bind-to none -x OMP_NUM_THREADS=1 -x GOMP_SPINCOUNT)
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-100000}
# in containers that forbid process_vm_readv (Docker without CAP_SYS_PTRACE)
# Open MPI's shared-memory single copy fails; copying through the shared
# segment works everywhere
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# Under ASan (scripts/test.sh --sanitize) LeakSanitizer reports Open MPI's own
# allocations, from components it has unloaded (no names left to suppress): the
# ranks run without leak checks. test_train_dist checks the memory of the same
# training code on two ranks without MPI.
# (in mpirun's environment, which every local rank inherits: -x reaches only
# the first program of an MPMD command line)
MPI=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "${MPI[@]}")

# max |a - b| / max |a| over the tensors of two safetensors files (F32),
# optionally only those whose name starts with a prefix; Adam moments skipped
reldiff() {
  /usr/bin/python3 - "$@" <<'EOF'
import json, struct, sys
from array import array
def load(p):
    with open(p, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        h = json.loads(f.read(n))
        body = f.read()
    out = {}
    for k, v in h.items():
        if k == '__metadata__' or '.adam_' in k:
            continue
        a = array('f')
        a.frombytes(body[v['data_offsets'][0]:v['data_offsets'][1]])
        out[k] = a
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
if sorted(a) != sorted(b):
    print('tensors differ'); sys.exit(1)
top = max(max(abs(x) for x in t) for t in a.values())
diff = max(max(abs(x - y) for x, y in zip(a[k], b[k])) for k in a)
print('%.3g' % (diff / top))
EOF
}
lt() { /usr/bin/python3 -c "import sys; sys.exit(0 if float('$1') < float('$2') else 1)"; }

"$NLCL" synth --scenes 5 --scene-size 48 -o "$T/data" >/dev/null 2>&1

# ---- derain ----------------------------------------------------------------
cp "$T/data/rainy/"*.png "$T/in/" 2>/dev/null || { mkdir -p "$T/in"; cp "$T/data/rainy/"*.png "$T/in/"; }
printf 'not an image' >"$T/in/zz_broken.png"
"$NLCL" derain -q -o "$T/one" "$T/in" 2>"$T/err1"; rc1=$?
"${MPI[@]}" -np 2 "$NLCL" derain -o "$T/two" "$T/in" >"$T/out" 2>"$T/err"; rc=$?
check "derain: 1 process fails on the broken input (status 1)" test "$rc1" -eq 1
check "derain: 2 ranks likewise (status 1)" status 1
same=1
for f in "$T/one"/*; do cmp -s "$f" "$T/two/$(basename "$f")" || same=0; done
check "derain: the same files ($(ls "$T/one" | wc -l)), byte-identical" \
  sh -c "[ $same = 1 ] && [ \"\$(ls '$T/one')\" = \"\$(ls '$T/two')\" ]"
check "derain: each input reported once" test "$(grep -c ' -> ' "$T/err")" -eq 5
check "derain: the summary counts both ranks: 1 of 6 failed" has "1 of 6 images failed"
check "derain: one summary" test "$(grep -c 'images failed' "$T/err")" -eq 1
check "derain: the failure named once" test "$(grep -c 'zz_broken' "$T/err")" -eq 1
"${MPI[@]}" -np 2 "$NLCL" derain -q -o "$T/three" "$T/in/"s*.png 2>"$T/err"; rc=$?
check "derain -q, 2 ranks, good inputs: status 0, silent" sh -c "[ $rc = 0 ] && [ ! -s '$T/err' ]"
"${MPI[@]}" -np 2 "$NLCL" derain -o "$T/four" "$T/nonexistent" 2>"$T/err"; rc=$?
check "derain: a missing input, 2 ranks: status 1" status 1
check "... named once" test "$(grep -c 'nonexistent' "$T/err")" -eq 1
check "... no output folder made" test ! -e "$T/four"

# ---- commands that run in one process ----
"${MPI[@]}" -np 2 "$NLCL" synth --scenes 1 -o "$T/syn2" 2>"$T/err"; rc=$?
check "synth on 2 ranks: a usage error (status 2)" status 2
check "... said once" test "$(grep -c 'runs in one process' "$T/err")" -eq 1
check "... nothing written" test ! -e "$T/syn2"

# ---- train -----------------------------------------------------------------
# Adam's epsilon 1e-6 instead of 1e-8: a weight whose gradient is at rounding
# level (1e-9 against a median of 1e-3) would otherwise move by up to a
# learning rate with the sign of that rounding, in one process as on N ranks,
# and tell nothing about the data parallelism (docs/SCALING.md measured it:
# 1.1e-4 of this tiny network's largest weight with 1e-8, 4e-6 with 1e-6)
TINY=(--rainy "$T/data/rainy" --clean "$T/data/clean" --crop 32 --channels 4 --blocks 1 --ndf 4
      --n-loc 16 --n-pos 4 --n-neg 8 --loc-taps 0,1 --threads 1 --save-every 2 --sample-every 2
      --keep-every 2 --lambda-synth 0.5 --synth-rain mix --warmup 1 --ema 0.9 --adam-eps 1e-6 -q)
"$NLCL" train "${TINY[@]}" --batch 2 --iters 4 --out "$T/r1" 2>"$T/err"
check "train: 1 process, batch 2, 4 iterations" test -s "$T/r1/G_B.safetensors"
"${MPI[@]}" -np 2 "$NLCL" train "${TINY[@]}" --batch 2 --iters 4 --out "$T/r2" >"$T/out" 2>"$T/err"; rc=$?
check "train: 2 ranks, batch 2: status 0" status 0
[ "$rc" = 0 ] || cat "$T/err"
d=$(reldiff "$T/r1/checkpoint.safetensors" "$T/r2/checkpoint.safetensors")
check "train: 2 ranks = 1 process within 1e-4 (largest weight difference / largest weight: $d)" lt "$d" 1e-4
check "... config.txt records 'ranks 2'" grep -qx 'ranks 2' "$T/r2/config.txt"
check "... one losses.tsv row per iteration" test "$(grep -c '^[0-9]' "$T/r2/losses.tsv")" -eq 4
check "... the samples and the exported models" test -s "$T/r2/samples/00000004.png" -a -s "$T/r2/G_R.safetensors"

# resume with another rank count: each run also keeps its checkpoint of
# iteration 2; cut back to it, a run goes on with the other rank count
cutback() { # cutback FROM TO: TO is FROM as it was at iteration 2
  cp -r "$1" "$2" && cp "$2/checkpoint-00000002.safetensors" "$2/checkpoint.safetensors"
}
cutback "$T/r1" "$T/r1b"
"${MPI[@]}" -np 2 "$NLCL" train "${TINY[@]}" --batch 2 --iters 4 --out "$T/r1b" --resume 2>"$T/err"; rc=$?
check "train: 1 process to iteration 2, then 2 ranks: status 0" status 0
d=$(reldiff "$T/r1/checkpoint.safetensors" "$T/r1b/checkpoint.safetensors")
check "... equal to the uninterrupted run within 1e-4 ($d)" lt "$d" 1e-4
check "... config.txt records the change" grep -qx 'ranks 2 from iteration 2' "$T/r1b/config.txt"
cutback "$T/r2" "$T/r2b"
"$NLCL" train "${TINY[@]}" --batch 2 --iters 4 --out "$T/r2b" --resume 2>"$T/err"; rc=$?
check "train: 2 ranks to iteration 2, then 1 process: status 0" status 0
d=$(reldiff "$T/r1/checkpoint.safetensors" "$T/r2b/checkpoint.safetensors")
check "... equal to the uninterrupted single process within 1e-4 ($d)" lt "$d" 1e-4
check "... config.txt records the change" grep -qx 'ranks 1 from iteration 2' "$T/r2b/config.txt"

"${MPI[@]}" -np 2 "$NLCL" train "${TINY[@]}" --batch 3 --iters 2 --out "$T/r4" 2>"$T/err"; rc=$?
check "train: --batch 3 on 2 ranks is a usage error (status 2)" status 2
check "... saying so once" test "$(grep -c 'multiple of the 2 ranks' "$T/err")" -eq 1
check "... no run folder" test ! -e "$T/r4"

# rank 0 alone writes: rank 1 given another --out (MPMD) makes nothing there
"${MPI[@]}" -np 1 "$NLCL" train "${TINY[@]}" --batch 2 --iters 2 --out "$T/r6" : \
  -np 1 "$NLCL" train "${TINY[@]}" --batch 2 --iters 2 --out "$T/r6-rank1" 2>"$T/err"; rc=$?
check "train: rank 0 writes the run folder (status $rc)" sh -c "[ $rc = 0 ] && [ -s '$T/r6/checkpoint.safetensors' ] && [ -s '$T/r6/losses.png' ]"
check "... rank 1 writes nothing (no checkpoints, logs, samples, plots)" test ! -e "$T/r6-rank1"

# ranks that see different data (MPMD: rank 1 gets another clean folder)
mkdir -p "$T/clean2" && cp "$T/data/clean/"*.png "$T/clean2/" && rm "$(ls "$T/clean2/"*.png | head -1)"
"${MPI[@]}" -np 1 "$NLCL" train "${TINY[@]}" --batch 2 --iters 2 --out "$T/r5" : \
  -np 1 "$NLCL" train "${TINY[@]}" --clean "$T/clean2" --batch 2 --iters 2 --out "$T/r5" 2>"$T/err"; rc=$?
check "train: ranks with different data stop (status 1), no hang" status 1
check "... rank 1 named" has "rank 1"

# ---- a build without MPI (nlcl_nompi: the same command built without it) ----
NOMPI="${NLCL_BUILD_DIR:-build}/nlcl_nompi"
if [ -x "$NOMPI" ]; then
  check "without MPI: nlcl --version says so" sh -c "'$NOMPI' --version | grep -q '^MPI: none'"
  "${MPI[@]}" -np 2 "$NOMPI" train "${TINY[@]}" --batch 2 --iters 2 --out "$T/n2" 2>"$T/err"; rc=$?
  check "without MPI: mpirun -np 2 nlcl train refused (status 1)" status 1
  check "... saying why once" test "$(grep -c 'built without MPI' "$T/err")" -eq 1
  check "... no run folder" test ! -e "$T/n2"
  "${MPI[@]}" -np 1 "$NOMPI" train "${TINY[@]}" --batch 2 --iters 4 --out "$T/n1" 2>"$T/err"; rc=$?
  check "without MPI: mpirun -np 1 trains as one process (status $rc)" status 0
  d=$(reldiff "$T/r1/checkpoint.safetensors" "$T/n1/checkpoint.safetensors")
  check "... the same weights within 1e-4 ($d)" lt "$d" 1e-4
else
  echo "(no $NOMPI: the test of a build without MPI is left out)"
fi

# ---- stopping ----------------------------------------------------------------
# runs that go on until stopped (a fast machine must not reach the end before
# the signal comes): iterations of about a tenth of a second
LONG=(--rainy "$T/data/rainy" --clean "$T/data/clean" --crop 48 --channels 8 --blocks 2 --ndf 8
      --n-loc 32 --n-pos 4 --n-neg 16 --threads 1 --batch 2 --iters 1000000 --save-every 1000000
      --sample-every 0 --log-every 1)
last_row() { local n; n=$(grep '^[0-9]' "$1/losses.tsv" 2>/dev/null | tail -1 | cut -f1); echo "${n:-0}"; }
ckpt_iter() { # the iteration a checkpoint holds (its metadata), or -1
  /usr/bin/python3 -c "
import json, struct, sys
try:
    f = open(sys.argv[1], 'rb'); n = struct.unpack('<Q', f.read(8))[0]
    print(json.loads(f.read(n))['__metadata__']['iteration'])
except Exception:
    print(-1)" "$1"
}
# wait_rows RUN N: until losses.tsv logs iteration N (a loaded machine may
# take long to start a run)
wait_rows() {
  local end=$((SECONDS + 240))
  while [ "$(last_row "$T/$1")" -lt "$2" ] && [ $SECONDS -lt $end ]; do sleep 0.1; done
  [ "$(last_row "$T/$1")" -ge "$2" ] || { echo "note: run $1 had not reached iteration $2 after 240 s:"; cat "$T/err"; }
}
# start_long RUN N [OPTION...]: 2 ranks in the background (pid: timeout's,
# mp: mpirun's); returns once iteration N is logged
start_long() {
  local run=$1 n=$2
  shift 2
  "${MPI[@]}" -np 2 "$NLCL" train "${LONG[@]}" "$@" --out "$T/$run" >"$T/out" 2>"$T/err" &
  pid=$!
  wait_rows "$run" "$n"
  mp=$(pgrep -P "$pid")
}
rank_pid() { # the pid of rank $1 of mpirun $mp
  for c in $(pgrep -P "$mp"); do
    tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && echo "$c"
  done
}

start_long u 2
kill -USR1 "$mp"; wait "$pid"; rc=$?
check "stop request (SIGUSR1 to mpirun): status 130 ($rc)" status 130
check "... rank 0 says where it stopped, once" test "$(grep -c 'stopped at iteration' "$T/err")" -eq 1
it=$(ckpt_iter "$T/u/checkpoint.safetensors")
check "... the checkpoint holds iteration $it (2 or more)" test "$it" -ge 2
# (the old rows of losses.tsv go beyond the checkpoint: wait for new ones)
start_long u $(($(last_row "$T/u") + 2)) --resume
kill -USR1 "$mp"; wait "$pid"; rc=$?
check "... --resume goes on from it (status 130: $rc)" sh -c "[ $rc = 130 ] && grep -q 'resuming .* at iteration $it of' '$T/err'"
it2=$(ckpt_iter "$T/u/checkpoint.safetensors")
check "... and stops again later (iteration $it2)" test "$it2" -ge $((it + 2))
check "... losses.tsv goes on from it (iterations increase row by row)" \
  awk -F'\t' '/^[0-9]/ { if ($1 != p + 1) exit 1; p = $1 }' "$T/u/losses.tsv"

start_long c 2
kill -INT "$mp"; wait "$pid"; rc=$?
check "Ctrl-C (SIGINT to mpirun: SIGCONT, SIGTERM, SIGKILL): the run ends ($rc)" test "$rc" -ne 0 -a "$rc" -ne 124
# rank 0's stop guard writes its copy (at most 10 s old) at once; the ranks
# write a newer checkpoint if they stop together before mpirun's SIGKILL
it=$(ckpt_iter "$T/c/checkpoint.safetensors")
check "... a checkpoint (iteration $it) is there" test "$it" -ge 0 || cat "$T/err"
check "... written when the stop came" sh -c "grep -q 'stop requested' '$T/err' || grep -q 'stopped at iteration' '$T/err'"
timeout 300 "$NLCL" train "${LONG[@]}" --out "$T/c" --resume 2>"$T/err" &
pid=$!
wait_rows c $(($(last_row "$T/c") + 2))
kill -INT "$pid"; wait "$pid"; rc=$?
check "... and resumes (1 process) from it (status 130: $rc)" sh -c "[ $rc = 130 ] && grep -q 'resuming .* at iteration $it of' '$T/err'"

start_long o 2
kill -INT "$(rank_pid 1)"; wait "$pid"; rc=$?
check "SIGINT to rank 1 alone: every rank stops (status 130: $rc)" status 130
it=$(ckpt_iter "$T/o/checkpoint.safetensors")
check "... rank 0 wrote the checkpoint (iteration $it)" test "$it" -ge 2

start_long k 2
kill -KILL "$(rank_pid 1)"; wait "$pid"; rc=$?
check "rank 1 killed: mpirun ends rank 0, no hang (status $rc)" test "$rc" -ne 0 -a "$rc" -ne 124

exit $fail
