#!/bin/bash
# nlcl train --val-rainy/--val-clean: validation.tsv holds one row per
# validation (every --val-every iterations and at the end); G_B-best is the
# row with the highest Y-PSNR, and deraining with it then 'nlcl eval' gives
# that row's numbers (the oracle: derain + eval, which have their own tests);
# a resumed run (from an earlier kept checkpoint) rewrites the rows after it
# and ends with the same file; bad pairings are clear errors that leave no
# run folder behind.
set -u
source "$(dirname "$0")/common.bash"

"$NLCL" synth --scenes 4 --scene-size 48 -o "$T/data" >/dev/null 2>&1
TINY=(--crop 32 --batch 1 --channels 8 --blocks 1 --ndf 8 --n-loc 16 --n-pos 4 --n-neg 8 --loc-taps 0,1 --residual --threads 1)
RUN=(--rainy "$T/data/rainy" --clean "$T/data/clean" --val-rainy "$T/data/rainy" --val-clean "$T/data/clean")

# 1. rows every 2 iterations and at the end; the best model and its numbers
"$NLCL" train "${RUN[@]}" --out "$T/r" --iters 5 --val-every 2 --keep-every 2 --save-every 2 "${TINY[@]}" 2>"$T/err"; rc=$?
check "train with validation: status 0" status 0
check "... says what the input scores" has "validation: 4 pair(s) .* the input scores Y-PSNR"
check "... validation.tsv rows at 2, 4 and 5" test "$(grep -v '^#' "$T/r/validation.tsv" | cut -f1 | tr '\n' ' ')" = "iter 2 4 5 "
check "... and it names the folders" grep -q "^# rainy $T/data/rainy\$" "$T/r/validation.tsv"
check "... G_B-best.safetensors written" test -s "$T/r/G_B-best.safetensors"
best=$(awk '$1 ~ /^[0-9]+$/ && (b == "" || $2 > b) { b = $2; i = $1 } END { print i }' "$T/r/validation.tsv")
bestp=$(awk -v i="$best" '$1 == i { print $2 }' "$T/r/validation.tsv")
"$NLCL" info "$T/r/G_B-best.safetensors" >"$T/info" 2>&1
check "... G_B-best is the model of the best row (iteration $best)" grep -q "^iterations: *$best\$" "$T/info"
check "... and records how it was chosen" grep -q "^validation: .*at iteration $best" "$T/info"
"$NLCL" derain -q -m "$T/r/G_B-best.safetensors" -o "$T/best" "$T/data/rainy" 2>"$T/err"
"$NLCL" eval --pred "$T/best" --gt "$T/data/clean" --csv "$T/best.csv" >/dev/null 2>&1
evalp=$(sed -n 's/^mean,pred,.*,psnr,\([0-9.]*\),.*/\1/p' "$T/best.csv")
check "... derain + eval with G_B-best gives the row's Y-PSNR ($bestp vs $evalp)" \
  awk -v a="$bestp" -v b="$evalp" 'BEGIN { d = a - b; exit !(d < 1e-5 && d > -1e-5) }'

# 2. resume from the checkpoint of iteration 2: the same file in the end
cp "$T/r/validation.tsv" "$T/val_full.tsv"
cp "$T/r/checkpoint-00000002.safetensors" "$T/r/checkpoint.safetensors"
"$NLCL" train "${RUN[@]}" --out "$T/r" --iters 5 --val-every 2 --keep-every 2 --save-every 2 "${TINY[@]}" --resume 2>"$T/err"; rc=$?
check "resume from iteration 2: status 0" status 0
check "... validation.tsv as the uninterrupted run's" cmp -s "$T/r/validation.tsv" "$T/val_full.tsv"
# other validation folders: refused before any work; none: a warning
cp -r "$T/data" "$T/data2"
cp "$T/r/checkpoint-00000002.safetensors" "$T/r/checkpoint.safetensors"
cp "$T/r/checkpoint.safetensors" "$T/ck_before"
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --val-rainy "$T/data2/rainy" --val-clean "$T/data2/clean" --out "$T/r" --iters 5 --val-every 2 --keep-every 2 --save-every 2 "${TINY[@]}" --resume 2>"$T/err"; rc=$?
check "resume with other validation folders: status 1" status 1
check "... names both" has "validated on $T/data/rainy and $T/data/clean (validation.tsv), this command gives $T/data2/rainy"
check "... checkpoint untouched" cmp -s "$T/r/checkpoint.safetensors" "$T/ck_before"
# (options not given come from the run's command line, --val-* included: --val-every 0 turns it off)
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --out "$T/r" --iters 5 --keep-every 2 --save-every 2 "${TINY[@]}" --resume 2>"$T/err"; rc=$?
check "resume repeating the options but not --val-*: validates (they are the run's), status 0" status 0
check "... no warning" hasnt "stay at iteration"
cp "$T/r/checkpoint-00000002.safetensors" "$T/r/checkpoint.safetensors"
"$NLCL" train --out "$T/r" --resume --val-every 0 2>"$T/err"; rc=$?
check "resume with --val-every 0 (without validation): status 0" status 0
check "... warns that the record stops" has "warning: .*validation.tsv and G_B-best.safetensors stay at iteration 5"

# 3. usage and pairing errors; no run folder left behind
"$NLCL" train "${RUN[@]:0:6}" --out "$T/u" --iters 1 "${TINY[@]}" 2>"$T/err"; rc=$?
check "--val-rainy without --val-clean: usage error" status 2
check "... says they go together" has "go together"
mkdir -p "$T/vr"; cp "$T/data/rainy/scene0001.png" "$T/vr/other.png"
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --val-rainy "$T/vr" --val-clean "$T/data/clean" --out "$T/u" --iters 1 "${TINY[@]}" 2>"$T/err"; rc=$?
check "a validation image without a clean partner: status 1" status 1
check "... names it" has "$T/vr/other.png has no clean image of the same name"
check "... no run folder left" test ! -e "$T/u"
"$NLCL" synth --scenes 1 --scene-size 64 -o "$T/big" >/dev/null 2>&1
mkdir -p "$T/vc"; cp "$T/big/clean/scene0001.png" "$T/vc/scene0001.png"
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --val-rainy "$T/data/rainy" --val-clean "$T/vc" --out "$T/u" --iters 1 "${TINY[@]}" 2>"$T/err"; rc=$?
check "a pair of different sizes: status 1" status 1
check "... names both sizes" has "is 48x.* but .*vc/scene0001.png is 64x"
"$NLCL" synth --scenes 1 --scene-size 48 -o "$T/one" >/dev/null 2>&1
mkdir -p "$T/amb2"; cp "$T/one/clean/scene0001.png" "$T/amb2/scene0001.png"; cp "$T/amb2/scene0001.png" "$T/amb2/scene0001.PNG"
mkdir -p "$T/vr1"; cp "$T/one/rainy/scene0001.png" "$T/vr1/"
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --val-rainy "$T/vr1" --val-clean "$T/amb2" --out "$T/u" --iters 1 "${TINY[@]}" 2>"$T/err"; rc=$?
check "a validation image with two clean partners: status 1" status 1
check "... names both" has "has two clean partners"
exit $fail
