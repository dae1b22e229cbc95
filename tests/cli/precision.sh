#!/bin/bash
# --precision bf16 of derain and train: on CPUs with AVX512_BF16 it runs and
# stays close to fp32; where oneDNN may not use AVX512_BF16 (simulated with
# DNNL_MAX_CPU_ISA=AVX512_CORE, or a CPU without it) both commands refuse with
# a clear message and exit 1 before any work; a bf16 run resumes only as bf16.
set -u
source "$(dirname "$0")/common.bash"

"$NLCL" synth --scenes 2 --scene-size 96 -o "$T/data" >/dev/null 2>&1
IN="$T/data/rainy/scene0001.png"
TINY=(--rainy "$T/data/rainy" --clean "$T/data/clean" --crop 32 --batch 1 --channels 16 --blocks 1
      --ndf 8 --n-loc 16 --n-pos 4 --n-neg 8 --loc-taps 0,1 --threads 1 -q)
for cmd in derain train; do
  if [ $cmd = derain ]; then args=(--precision bf16 -o "$T/x.png" "$IN"); else args=("${TINY[@]}" --iters 1 --precision bf16 --out "$T/nobf"); fi
  DNNL_MAX_CPU_ISA=AVX512_CORE "$NLCL" $cmd "${args[@]}" 2>"$T/err"; rc=$?
  check "$cmd --precision bf16 without AVX512_BF16: exit 1" status 1
  check "... saying what is missing" has "AVX512_BF16"
  check "... nothing written" test ! -e "$T/x.png" -a ! -e "$T/nobf"
done
"$NLCL" derain --precision half -o "$T/x.png" "$IN" 2>"$T/err"; rc=$?
check "--precision half: usage error" status 2
if ! grep -qw avx512_bf16 /proc/cpuinfo; then
  echo "SKIPPED part: this CPU has no AVX512_BF16 (bf16 runs)"
  exit $fail
fi
# under scripts/valgrind.sh nlcl runs on valgrind's virtual CPU, which has no AVX-512 (the
# refusals above are then all there is to test)
if [ "$(head -c 2 "$NLCL")" = "#!" ] && grep -q valgrind "$NLCL"; then
  echo "SKIPPED part: nlcl runs under valgrind, whose CPU has no AVX512_BF16 (bf16 runs)"
  exit $fail
fi
"$NLCL" derain -q -o "$T/fp32.png" "$IN"; rc=$?
check "derain fp32" status 0
"$NLCL" derain -q --precision bf16 -o "$T/bf16.png" "$IN"; rc=$?
check "derain --precision bf16" status 0
mkdir -p "$T/p" "$T/g"; cp "$T/bf16.png" "$T/p/a.png"; cp "$T/fp32.png" "$T/g/a.png"
"$NLCL" eval --pred "$T/p" --gt "$T/g" --channel rgb --json "$T/e.json" >/dev/null 2>&1
check "... within 35 dB of the fp32 output" python3 -c "import json,sys; p=json.load(open('$T/e.json'))['sets']['pred']['psnr_mean']; sys.exit(0 if p is None or p > 35 else 1)"
"$NLCL" train "${TINY[@]}" --iters 2 --precision bf16 --out "$T/run" --save-every 1; rc=$?
check "train --precision bf16" status 0
check "... config.txt says so" grep -q "^precision bf16" "$T/run/config.txt"
"$NLCL" train "${TINY[@]}" --iters 2 --precision fp32 --out "$T/run" --resume 2>"$T/err"; rc=$?
check "resume with --precision fp32: refused" status 1
check "... naming the option" has "precision"
"$NLCL" train "${TINY[@]}" --iters 2 --precision bf16 --out "$T/run" --resume; rc=$?
check "resume with --precision bf16" status 0
"$NLCL" train --out "$T/run" --resume; rc=$?
check "resume without it: the run's (bf16), status 0" status 0
exit $fail
