#!/bin/bash
# Clear messages and the right exit status: synth parameters out of range or
# NaN (usage errors naming the option), full 64-bit seeds, --loc-taps naming
# the bad value, files that are not models (an image, an empty file, a
# truncated .pth), FIFOs refused at once instead of hanging, "is not a
# folder", no "//" in paths, a failure summary from derain, role warnings,
# train -q quiet, a --resume with other options showing both values, a
# finished run resumed exporting its real losses, help layout, prefixes, an
# option that takes one value given twice.
set -u
source "$(dirname "$0")/common.bash"

"$NLCL" synth --scenes 3 --scene-size 48 -o "$T/data" >/dev/null 2>&1
TINY=(--crop 32 --batch 1 --channels 8 --blocks 1 --ndf 8 --n-loc 16 --n-pos 4 --n-neg 8 --loc-taps 0,1)
S1="$T/data/rainy/scene0001.png"

# 1. synth: every parameter bounded, NaN refused, as usage errors naming the option
for bad in "--density nan" "--density 0:1.5" "--length 1e30" "--length 0.5" "--length 10:1001" \
           "--angle 91" "--angle -100:0" "--width 0" "--width 60" "--intensity 2" "--beta 6" \
           "--beta -0.1" "--length inf" "--scene-size 23" "--layers 1.5" "--layers 0:2" "--spread 50" \
           "--defocus 21" "--airlight 1.1" "--haze 0.5" "--jpeg 101" "--jpeg 50.5"; do
  # shellcheck disable=SC2086
  "$NLCL" synth --scenes 1 -o "$T/sy" $bad 2>"$T/err"; rc=$?
  check "synth $bad: usage error" status 2
  check "... names the option" has "${bad%% *}"
done
check "... nothing written" test ! -e "$T/sy"
"$NLCL" synth --scenes 1 --scene-size 24 --length 1000 --width 50 --density 0:0.001 --angle -90:90 \
  --beta 0:5 --intensity 0:1 --layers 1:4 --spread 0:45 --defocus 0:20 --airlight 0:1 --jpeg 0:100 -o "$T/sy" 2>"$T/err"; rc=$?
check "synth at the ends of every range: fine" status 0
"$NLCL" synth --help >"$T/err"; rc=$?
check "synth --help documents the ranges" has "1..1000"
for pr in light heavy downpour mix; do
  "$NLCL" synth --scenes 3 --scene-size 24 --preset $pr -o "$T/pr_$pr" 2>"$T/err"; rc=$?
  check "synth --preset $pr" status 0
done
check "... mix takes light, heavy, downpour in turn: pair 1 as light, 2 as heavy" \
  bash -c "cmp -s '$T/pr_light/rainy/scene0001.png' '$T/pr_mix/rainy/scene0001.png' && ! cmp -s '$T/pr_mix/rainy/scene0002.png' '$T/pr_light/rainy/scene0002.png'"

# 2. seeds: the full unsigned 64-bit range
"$NLCL" synth --scenes 1 --scene-size 24 --seed 9223372036854775807 -o "$T/sd1" 2>"$T/err"; rc=$?
check "--seed INT64_MAX accepted" status 0
"$NLCL" synth --scenes 1 --scene-size 24 --seed 18446744073709551615 -o "$T/sd2" 2>"$T/err"; rc=$?
check "--seed 2^64-1 accepted" status 0
check "... and differs from INT64_MAX" bash -c "! cmp -s '$T/sd1/rainy/scene0001.png' '$T/sd2/rainy/scene0001.png'"
"$NLCL" synth --scenes 1 --seed 18446744073709551616 -o "$T/sd3" 2>"$T/err"; rc=$?
check "--seed 2^64: usage error" status 2
"$NLCL" synth --scenes 1 --seed -1 -o "$T/sd3" 2>"$T/err"; rc=$?
check "--seed -1: usage error" status 2
check "... 2^64 says the range, not 'expects an integer'" sh -c "\"$NLCL\" synth --scenes 1 --seed 18446744073709551616 -o '$T/sd3' 2>&1 | grep -q 'must be in \[0, 18446744073709551615\], got 18446744073709551616'"
"$NLCL" derain -t 99999999999999999999 -o "$T/dt" "$S1" 2>"$T/err"; rc=$?
check "derain -t 99999999999999999999: usage error naming the range (an integer, out of range)" status 2
check "... names the range" has "--threads must be in \\[1, 1024\\], got 99999999999999999999"

# 3. --loc-taps names the bad value
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --out "$T/r0" --loc-taps 0,99 2>"$T/err"; rc=$?
check "--loc-taps 0,99: usage error" status 2
check "... names 99 and the range" has "99 is out of range (0..64)"
"$NLCL" train --help >"$T/err"
check "train --help lists the t4 values" has "P 4|8|16|32 and N 64|128|256|512"
# repeatable options: every --rainy/--clean counts, up to 64; a stray argument is named
many=(); for i in $(seq 65); do many+=(--rainy "$T/data/rainy"); done
"$NLCL" train "${many[@]}" --clean "$T/data/clean" --out "$T/r0" 2>"$T/err"; rc=$?
check "65 --rainy: usage error" status 2
check "... names the limit" has "rainy may be given at most 64 times"
"$NLCL" train --rainy "$T/data/rainy" stray --clean "$T/data/clean" --out "$T/r0" 2>"$T/err"; rc=$?
check "train with a stray argument: usage error naming it" has "unexpected argument 'stray'"
mkdir -p "$T/empty1" "$T/empty2"
"$NLCL" train --rainy "$T/empty1" --rainy "$T/empty2" --clean "$T/data/clean" --out "$T/r0" 2>"$T/err"; rc=$?
check "train on empty rainy folders: status 1 naming both" \
  sh -c "[ $rc = 1 ] && grep -qF 'no rainy images (PNG, JPEG, TIFF, BMP) in $T/empty1, $T/empty2' '$T/err'"
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --out "$T/r0" --erosion 0 2>"$T/err"; rc=$?
check "--erosion 0: usage error" status 2
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --out "$T/r0" "${TINY[@]}" --lambda-eroded 1 --erosion 40 2>"$T/err"; rc=$?
check "--erosion 40 with crop 32: usage error" status 2
check "... naming both" has "erosion window (40) is larger than the crop (32)"
check "... nothing written" test ! -e "$T/r0"

# 4. files that are not models
"$NLCL" info "$S1" 2>"$T/err"; rc=$?
check "an image as a model: status 1" status 1
check "... 'not a safetensors or PyTorch .pth file'" has "$S1: not a safetensors or PyTorch .pth file"
: > "$T/empty.pth"
"$NLCL" info "$T/empty.pth" 2>"$T/err"; rc=$?
check "an empty model file: status 1, 'empty file'" bash -c "test $rc -eq 1 && grep -q 'empty file' '$T/err'"
head -c 400 tests/fixtures/weights/tiny_state.pth > "$T/half.pth"
"$NLCL" info "$T/half.pth" 2>"$T/err"; rc=$?
check "a truncated .pth: status 1" status 1
check "... 'truncated or corrupt zip archive'" has "truncated or corrupt zip archive"
check "... not 'Not a zip archive' twice" hasnt "Not a zip archive"

# 5. FIFOs are refused at once (timeout 10: a hang fails the check)
mkfifo "$T/f.png"
timeout 10 "$NLCL" info "$T/f.png" 2>"$T/err"; rc=$?
check "info FIFO: status 1, not a hang" status 1
check "... 'not a regular file'" has "not a regular file"
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --out "$T/m" --iters 0 "${TINY[@]}" -q 2>"$T/err"
M="$T/m/G_B.safetensors"
# a crop whose activations cannot fit this machine: refused before they are touched (it was
# killed by the system at 23 GB); over 1 TiB for the generators at crop 4096, batch 4
if [ "$(awk '/^MemTotal:/ {print int($2 / 1048576)}' /proc/meminfo)" -lt 400 ]; then
  "$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --out "$T/huge" --crop 4096 --iters 1 -q 2>"$T/err"; rc=$?
  check "train --crop 4096: status 1, not killed" status 1
  check "... says the memory it needs and has" has "needs more memory than this machine has: .* GiB for the generators' activations"
  check "... no run folder left" test ! -e "$T/huge"
fi
# a finished run's models, its checkpoint deleted to keep them: a new run there is refused
cp -r "$T/m" "$T/mk"
rm -f "$T/mk/checkpoint.safetensors"
sum=$(md5sum < "$T/mk/G_B.safetensors")
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --out "$T/mk" --iters 1 "${TINY[@]}" -q 2>"$T/err"; rc=$?
check "train into a folder holding a run's models (no checkpoint): status 1" status 1
check "... names the folder and the model" has "mk already holds the models of a run (G_"
check "... the models untouched" test "$(md5sum < "$T/mk/G_B.safetensors")" = "$sum"
timeout 10 "$NLCL" derain -q -m "$M" -o "$T/fo" "$T/f.png" 2>"$T/err"; rc=$?
check "derain FIFO: status 1, not a hang" status 1
check "... 'not a regular file'" has "f.png: not a regular file"

"$NLCL" demo -o "$T/nodir/x.png" 2>"$T/err"; rc=$?
check "demo -o into a missing folder: status 1, says so before any work" status 1
check "... 'the folder ... does not exist'" has "nodir/x.png: the folder .*nodir does not exist"

# 6. eval: a file is "not a folder"
"$NLCL" eval --pred "$S1" --gt "$T/data/clean" 2>"$T/err"; rc=$?
check "eval --pred FILE: status 1" status 1
check "... 'is not a folder'" has "nlcl eval: --pred $S1: is not a folder"

# 7. derain: no "//", a failure summary, role warnings, "nlcl derain:" prefixes
mkdir -p "$T/mix"; cp "$S1" "$T/mix/a.png"; cp "$S1" "$T/mix/b.png"; printf 'junk' > "$T/mix/c.png"
"$NLCL" derain -m "$M" -o "$T/mo" "$T/mix/" 2>"$T/err"; rc=$?
check "derain with one bad image of three: status 1" status 1
check "... paths without //" hasnt "//"
check "... ends with '1 of 3 images failed'" bash -c "tail -1 '$T/err' | grep -q 'nlcl derain: 1 of 3 images failed'"
"$NLCL" derain -q -m "$M" -o "$T/mo" "$T/mix/c.png" 2>"$T/err"
check "... the summary also with -q" has "1 of 1 images failed"
"$NLCL" derain -q -m "$T/m/G_R.safetensors" -o "$T/w1.png" "$S1" 2>"$T/err"; rc=$?
check "-m G_R: works (status 0)" status 0
check "... with a warning" has "warning: .*G_R.safetensors is a rain-layer model (role G_R)"
"$NLCL" derain -q -m "$M" --rain-model "$M" -o "$T/w2.png" "$S1" 2>"$T/err"; rc=$?
check "--rain-model G_B: works (status 0)" status 0
check "... with a warning" has "warning: --rain-model .*G_B.safetensors is a derainer (role G_B)"
"$NLCL" derain -q -m "$M" --rain-model "$T/m/G_R.safetensors" -o "$T/w3.png" "$S1" 2>"$T/err"; rc=$?
check "the right roles: no warning" hasnt "warning"
"$NLCL" derain -m "$M" -o "$T/one.png" "$S1" 2>"$T/err"; rc=$?
check "derain of one file: one line naming input, output and size" has "$S1 -> $T/one.png ([0-9]*x[0-9]*, "
"$NLCL" derain -q -m "$M" -o "$T/one.png" "$S1" 2>"$T/err"; rc=$?
check "... and nothing with -q" test ! -s "$T/err"
"$NLCL" derain -m "$M" -o "$T/nofolder/one.png" "$S1" 2>"$T/err"; rc=$?
check "derain -o into a missing folder: status 1 naming the folder" has "the folder $T/nofolder does not exist"
check "... nothing made" test ! -e "$T/nofolder"
printf 'x' >"$T/afile"
"$NLCL" derain -m "$M" -o "$T/afile/one.png" "$S1" 2>"$T/err"; rc=$?
check "derain -o under a file: status 1, the file named as not a folder" \
  sh -c "[ $rc = 1 ] && grep -qF '$T/afile/one.png: $T/afile is not a folder' '$T/err'"
"$NLCL" convert "$M" "$T/nofolder/m.onnx" 2>"$T/err"; rc=$?
check "convert into a missing folder: status 1 naming the folder" \
  sh -c "[ $rc = 1 ] && grep -qF 'the folder $T/nofolder does not exist' '$T/err'"
"$NLCL" derain -q -v -m "$M" -o "$T/qv.png" "$S1" 2>"$T/err"; rc=$?
check "derain -q -v: usage error" status 2
"$NLCL" derain -m "$M" "$T/missing.png" 2>"$T/err"
check "derain's own messages start 'nlcl derain:'" has "^nlcl derain: $T/missing.png: no such file"
"$NLCL" derain --help >"$T/err"
check "derain --help lists TIFF/BMP inputs" has "PNG/JPEG/TIFF/BMP"

# 8. help layout: a left column wider than 30 characters puts the text on the next line
"$NLCL" train --help >"$T/err"
check "long option names: description on its own line" \
  bash -c "grep -A1 -- '--loc-negatives nearest|farthest|random|neighbour\$' '$T/err' | tail -1 | grep -q '^ \{33\}location-contrast'"
check "short ones stay on one line" has "^  -n, --iters N  *total iterations"

# 9. train: -q prints nothing on success; resume with other options shows both values;
#    a finished run resumed re-exports its real losses
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --out "$T/run" --iters 2 "${TINY[@]}" -q 2>"$T/err"; rc=$?
check "train -q: status 0" status 0
check "... and silent (no 'data:' line)" test ! -s "$T/err"
losses() { "$NLCL" info "$1" | sed -n 's/^final_losses: *//p'; }
before=$(losses "$T/run/G_B.safetensors")
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --out "$T/run" --iters 2 "${TINY[@]}" -q --resume 2>"$T/err"; rc=$?
after=$(losses "$T/run/G_B.safetensors")
check "resuming a finished run: status 0" status 0
check "... keeps its final losses ($after)" test -n "$after" -a "$before" = "$after"
check "... which are not all zero" bash -c "! echo '$after' | grep -q '^G 0 D 0 '"
printf 'junk' > "$T/data/rainy/zz_bad.png"   # a mismatch must be found before the images are read
"$NLCL" train --out "$T/run" --channels 16 --resume 2>"$T/err"; rc=$?
check "resume with other options: refused" test "$rc" -ne 0
check "... showing both values" has "'channels 8' there, 'channels 16' here"
check "... before reading the images" hasnt "zz_bad"
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --out "$T/run" --iters 2 "${TINY[@]}" --lambda-eroded 0.5 --resume 2>"$T/err"; rc=$?
check "resume adding an option the run did not use: refused" test "$rc" -ne 0
check "... naming it" has "'w_eroded 0.5' here, not used there"
check "... before reading the images" hasnt "zz_bad"
rm -f "$T/data/rainy/zz_bad.png"

# 10. convert: never over a training checkpoint; --meta refuses nlcl's own keys and control characters
cp "$T/run/checkpoint.safetensors" "$T/ck_copy"
"$NLCL" convert "$T/run/G_R.safetensors" "$T/run/checkpoint.safetensors" 2>"$T/err"; rc=$?
check "convert over a training checkpoint: status 1" status 1
check "... says so" has "is a training checkpoint; convert never overwrites one"
check "... the checkpoint is intact" cmp -s "$T/run/checkpoint.safetensors" "$T/ck_copy"
"$NLCL" convert --role G_R --meta role=G_B "$T/run/checkpoint.safetensors" "$T/r.safetensors" 2>"$T/err"; rc=$?
check "convert --meta role=...: usage error" status 2
check "... pointing to --role" has "use --role for the role"
check "... nothing written" test ! -e "$T/r.safetensors"
"$NLCL" convert --meta "$(printf 'k=\033[31mred')" "$T/run/G_B.safetensors" "$T/r.safetensors" 2>"$T/err"; rc=$?
check "convert --meta with a control character: usage error" status 2

# 11. an option that takes one value, given twice: a usage error naming both
# values (it was the last silently: -o a -o b wrote b, a missing -m unsaid)
"$NLCL" derain -q -m "$M" -o "$T/ra.png" -o "$T/rb.png" "$S1" 2>"$T/err"; rc=$?
check "derain -o A -o B: usage error (status 2)" status 2
check "... naming both" has "nlcl derain: --output is given twice ('$T/ra.png', then '$T/rb.png')"
check "... nothing written" sh -c "[ ! -e '$T/ra.png' ] && [ ! -e '$T/rb.png' ]"
"$NLCL" derain -q -m "$T/missing.pth" -m "$M" -o "$T/rc.png" "$S1" 2>"$T/err"; rc=$?
check "derain -m MISSING -m MODEL: usage error (status 2), naming the missing one" \
  sh -c "[ $rc = 2 ] && grep -q \"('$T/missing.pth', then '$M')\" '$T/err'"
"$NLCL" train --rainy "$T/data/rainy" --rainy "$T/data/rainy" --clean "$T/data/clean" --crop 32 --crop=48 --iters 1 --out "$T/twice" 2>"$T/err"; rc=$?
check "train --crop 32 --crop=48: usage error, --rainy twice is no error" \
  sh -c "[ $rc = 2 ] && grep -q \"^nlcl train: --crop is given twice ('32', then '48')\" '$T/err'"
check "... no run folder" test ! -e "$T/twice"

exit $fail
