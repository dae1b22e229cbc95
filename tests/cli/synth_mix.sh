#!/bin/bash
# nlcl train --synth-mix L,H,D (the weights of the presets in mix),
# --synth-veil (the synthetic pairs' veil from a preset of its own, or the
# streaks') and --synth-jpeg (JPEG compression of the rainy crops): config.txt records each only when it is not the default (older
# runs resume), a resume that changes one is refused naming it, each changes
# the pairs (the synth loss of the first step), and bad values are usage errors.
set -u
source "$(dirname "$0")/common.bash"

"$NLCL" synth --scenes 3 --scene-size 48 -o "$T/d" >/dev/null 2>&1
TINY=(--rainy "$T/d/rainy" --clean "$T/d/clean" --crop 32 --batch 2 --channels 4 --blocks 1 --ndf 4
      --n-loc 16 --n-pos 4 --n-neg 8 --loc-taps 0,1 --threads 1 --save-every 2 --sample-every 0
      --lambda-synth 1 --synth-rain mix --warmup 1 --iters 2 -q)
synth1() { awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "synth") c = i } $1 == 1 { print $c }' "$1/losses.tsv"; }

"$NLCL" train "${TINY[@]}" --out "$T/p" 2>"$T/err"; rc=$?
check "the default (preset): status 0" status 0
check "... config.txt does not list synth_veil" sh -c "! grep -q synth_veil '$T/p/config.txt'"
"$NLCL" train "${TINY[@]}" --synth-veil independent --out "$T/i" 2>"$T/err"; rc=$?
check "--synth-veil independent: status 0" status 0
check "... config.txt says so" grep -qx "synth_veil independent" "$T/i/config.txt"
a=$(synth1 "$T/p") b=$(synth1 "$T/i")
check "... other pairs: the synth loss of step 1 differs ($a, $b)" test -n "$a" -a -n "$b" -a "$a" != "$b"
"$NLCL" train "${TINY[@]}" --synth-veil preset --resume --out "$T/i" 2>"$T/err"; rc=$?
check "a resume with --synth-veil preset: status 1" status 1
check "... names synth_veil" has "synth_veil"
"$NLCL" train "${TINY[@]}" --synth-veil sideways --out "$T/x" 2>"$T/err"; rc=$?
check "--synth-veil sideways: usage error (status 2)" status 2
check "... lists the choices" has "preset|independent"

"$NLCL" train "${TINY[@]}" --synth-mix 1,1,1 --out "$T/m1" 2>"$T/err"; rc=$?
check "--synth-mix 1,1,1 (the default): status 0, config.txt without synth_mix" \
  sh -c "[ $rc = 0 ] && ! grep -q synth_mix '$T/m1/config.txt'"
check "... the same pairs as without it" test "$(synth1 "$T/m1")" = "$a"
"$NLCL" train "${TINY[@]}" --synth-mix 0,0,1 --out "$T/m2" 2>"$T/err"; rc=$?
check "--synth-mix 0,0,1: status 0" status 0
check "... config.txt says so" grep -qx "synth_mix 0,0,1" "$T/m2/config.txt"
c=$(synth1 "$T/m2")
check "... other pairs (downpour only: $c)" test -n "$c" -a "$c" != "$a"
for bad in 0,0,0 1,2 1,2,3,4 1,-1,1 1,x,1 101,1,1; do
  "$NLCL" train "${TINY[@]}" --synth-mix $bad --out "$T/bad" 2>"$T/err"; rc=$?
  check "--synth-mix $bad: usage error (status 2), no run folder" sh -c "[ $rc = 2 ] && [ ! -e '$T/bad' ]"
done
check "... saying what it expects" has "three whole weights"

"$NLCL" train "${TINY[@]}" --synth-jpeg 20:60 --out "$T/j" 2>"$T/err"; rc=$?
check "--synth-jpeg 20:60: status 0" status 0
check "... config.txt says so" grep -qx "synth_jpeg 20:60" "$T/j/config.txt"
check "... and the default's does not list it" sh -c "! grep -q synth_jpeg '$T/p/config.txt'"
j=$(synth1 "$T/j")
check "... other pairs: the synth loss of step 1 differs ($a, $j)" test -n "$j" -a "$j" != "$a"
"$NLCL" train "${TINY[@]}" --synth-jpeg 30:60 --resume --out "$T/j" 2>"$T/err"; rc=$?
check "a resume with --synth-jpeg 30:60: status 1, naming synth_jpeg" sh -c "[ $rc = 1 ] && grep -q synth_jpeg '$T/err'"
for bad in 0 0:50 60:20 101 1:101 x 20: :20 20:60:80; do
  "$NLCL" train "${TINY[@]}" --synth-jpeg $bad --out "$T/bad" 2>"$T/err"; rc=$?
  check "--synth-jpeg $bad: usage error (status 2), no run folder" sh -c "[ $rc = 2 ] && [ ! -e '$T/bad' ]"
done
check "... saying what it expects" has "QMIN:QMAX"
exit $fail
