#!/bin/bash
# Nothing overwritten by accident, nothing left behind: every refusal is
# checked before any work, exits non-zero with a message naming the paths,
# and leaves the files it protects byte-identical (cmp against copies).
# derain: a rain layer NAME_rain.png colliding with another input's output,
# an output folder that holds an input (photo.jpg -> photo.png would replace
# an unrelated photo.png), -o with an extension nlcl cannot write, --format
# contradicting -o, an output folder made by a failed run is removed again.
# derain: an output name over the folder's 255-byte limit, an output that
# is a folder: refused before the first image.
# synth: -o whose clean/ or rainy/ is the input folder. eval: a report over
# an input image, --csv and --json naming one file, a report's folder
# missing or name too long: refused before any work. train: --out equal to a
# data folder, a run folder made by a failed run is removed again. demo: -o
# without an image extension.
set -u
source "$(dirname "$0")/common.bash"
same() { cmp -s "$1" "$2"; }

# a tiny untrained model (0 iterations) and a few images, made by nlcl itself
"$NLCL" synth --scenes 3 --scene-size 48 -o "$T/data" >/dev/null 2>&1
TINY=(--crop 32 --batch 1 --channels 8 --blocks 1 --ndf 8 --n-loc 16 --n-pos 4 --n-neg 8 --loc-taps 0,1 -q)
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --out "$T/m" --iters 0 "${TINY[@]}" >/dev/null 2>&1
M="$T/m/G_B.safetensors"
check "a tiny model is made" test -s "$M"
S1="$T/data/rainy/scene0001.png" S2="$T/data/rainy/scene0002.png"

# 1. derain: a.png's rain layer is o/a_rain.png, the output of input a_rain.png
mkdir -p "$T/in"; cp "$S1" "$T/in/a.png"; cp "$S2" "$T/in/a_rain.png"
"$NLCL" derain -q -m "$M" --rain-model "$T/m/G_R.safetensors" -o "$T/o" "$T/in/a.png" "$T/in/a_rain.png" 2>"$T/err"; rc=$?
check "derain: rain output colliding with another output: status 1" status 1
check "... names both inputs and the output" has "a.png and .*a_rain.png would both be written to $T/o/a_rain.png"
check "... before any work (no output folder left)" test ! -e "$T/o"
# a rain output over the input: -o in2/y.png writes in2/y_rain.png, the input
mkdir -p "$T/in2"; cp "$S1" "$T/in2/y_rain.png"; cp "$S1" "$T/keep"
"$NLCL" derain -q -m "$M" --rain-model "$T/m/G_R.safetensors" -o "$T/in2/y.png" "$T/in2/y_rain.png" 2>"$T/err"; rc=$?
check "derain: rain output over the input: status 1" status 1
check "... names both" has "output $T/in2/y_rain.png would overwrite input $T/in2/y_rain.png"
check "... the input is untouched, nothing written" bash -c "cmp -s '$T/in2/y_rain.png' '$T/keep' && test ! -e '$T/in2/y.png'"

# 2. derain -o DIR where DIR holds an input: an unrelated photo.png is safe
mkdir -p "$T/p"; "$NLCL" derain -q -m "$M" -o "$T/p/photo.jpg" "$S1" 2>/dev/null
cp "$S2" "$T/p/photo.png"; cp "$T/p/photo.png" "$T/photo.keep"
"$NLCL" derain -q -m "$M" -o "$T/p" "$T/p/photo.jpg" 2>"$T/err"; rc=$?
check "derain: output folder = folder of an input: status 1" status 1
check "... says so and suggests another -o" has "output folder $T/p holds the input $T/p/photo.jpg.*another -o"
check "... the unrelated photo.png is untouched" same "$T/p/photo.png" "$T/photo.keep"
"$NLCL" derain -q -m "$M" -o "$T/p/" "$T/p/photo.jpg" 2>"$T/err"; rc=$?
check "... also spelt with a trailing /" status 1
"$NLCL" derain -q -m "$M" -o "$T/p/single.png" "$T/p/photo.jpg" 2>"$T/err"; rc=$?
check "... a single-file -o next to the input is still allowed" status 0

# 3. -o with an image extension nlcl cannot write; --format against -o
for e in tif tiff bmp BMP webp GIF heic avif; do
  "$NLCL" derain -q -m "$M" -o "$T/out.$e" "$S1" 2>"$T/err"; rc=$?
  check "derain -o out.$e: usage error" status 2
  check "... 'can write .png or .jpg only'" has "can write .png or .jpg only"
  check "... nothing written" test ! -e "$T/out.$e"
done
"$NLCL" derain -q -m "$M" --format jpg -o "$T/x.png" "$S1" 2>"$T/err"; rc=$?
check "derain --format jpg -o x.png: usage error" status 2
check "... nothing written" test ! -e "$T/x.png"
"$NLCL" derain -q -m "$M" --format jpg -o "$T/x.jpg" "$S1" 2>"$T/err"; rc=$?
check "derain --format jpg -o x.jpg: fine" status 0
check "... a JPEG" bash -c "head -c 3 '$T/x.jpg' | od -An -tx1 | grep -q 'ff d8 ff'"

# 4. a failed derain removes the output folder it created, keeps one that existed
printf 'not an image' > "$T/bad.png"
"$NLCL" derain -q -m "$M" -o "$T/newdir" "$T/bad.png" 2>"$T/err"; rc=$?
check "derain of a bad image: status 1" status 1
check "... the folder it made is removed again" test ! -e "$T/newdir"
mkdir -p "$T/olddir"
"$NLCL" derain -q -m "$M" -o "$T/olddir" "$T/bad.png" 2>"$T/err"; rc=$?
check "... an existing output folder stays" test -d "$T/olddir"

# 5. synth -o S where S/clean is the input folder
mkdir -p "$T/s/clean"; cp "$S1" "$T/s/clean/a.png"; cp "$S2" "$T/s/clean/b.png"; cp -r "$T/s/clean" "$T/s.keep"
"$NLCL" synth -o "$T/s" "$T/s/clean" 2>"$T/err"; rc=$?
check "synth: input folder = OUT/clean: status 1" status 1
check "... names the input and the folder" has "input $T/s/clean/a.png is in the output folder $T/s/clean"
check "... inputs untouched" diff -r "$T/s/clean" "$T/s.keep"
check "... and no rainy/ made" test ! -e "$T/s/rainy"
"$NLCL" synth -o "$T/s" "$T/s/clean/b.png" 2>"$T/err"; rc=$?
check "synth: an input file inside OUT/clean: status 1" status 1
mkdir -p "$T/s2/rainy"; cp "$S1" "$T/s2/rainy/a.png"
"$NLCL" synth -o "$T/s2" "$T/s2/rainy/" 2>"$T/err"; rc=$?
check "synth: input folder = OUT/rainy: status 1" status 1
cp "$S1" "$T/a.png"; mkdir -p "$T/two2"; cp "$S2" "$T/two2/a.png"
"$NLCL" synth -o "$T/s3" "$T/a.png" "$T/two2/a.png" 2>"$T/err"; rc=$?
check "synth: two inputs with one name: status 1" status 1
check "... names both" has "inputs .*a.png and .*a.png would both be written as a.png"

# 6. eval reports: not over an input image, not over each other
mkdir -p "$T/e/g" "$T/e/p"; cp "$S1" "$T/e/g/1.png"; cp "$S2" "$T/e/p/1.png"; cp "$S1" "$T/g1.keep"
"$NLCL" eval --pred "$T/e/p" --gt "$T/e/g" --json "$T/e/g/1.png" >/dev/null 2>"$T/err"; rc=$?
check "eval --json over a --gt image: status 1" status 1
check "... names both paths" has "json $T/e/g/1.png would overwrite the input image $T/e/g/1.png"
check "... the image is untouched" same "$T/e/g/1.png" "$T/g1.keep"
"$NLCL" eval --pred "$T/e/p" --gt "$T/e/g" --csv "$T/e/p/1.png" >/dev/null 2>"$T/err"; rc=$?
check "eval --csv over a --pred image: status 1" status 1
"$NLCL" eval --pred "$T/e/p" --gt "$T/e/g" --csv "$T/r.out" --json "$T/r.out" >/dev/null 2>"$T/err"; rc=$?
check "eval --csv X --json X: status 1" status 1
check "... names both" has "csv $T/r.out and --json $T/r.out are the same file"
check "... nothing written" test ! -e "$T/r.out"
"$NLCL" eval --pred "$T/e/p" --gt "$T/e/g" --csv "$T/r.csv" --json "$T/./r.csv" >/dev/null 2>"$T/err"; rc=$?
check "... also when spelt differently" status 1
"$NLCL" eval --pred "$T/e/p" --gt "$T/e/g" --csv "$T/r.csv" --json "$T/r.json" >/dev/null 2>"$T/err"; rc=$?
check "eval with two distinct reports: fine" status 0
# every report's path checked before any work: a bad --json does not fail after the CSV is written
"$NLCL" eval --pred "$T/e/p" --gt "$T/e/g" --csv "$T/r2.csv" --json "$T/nodir/r.json" >/dev/null 2>"$T/err"; rc=$?
check "eval --json in a missing folder: status 1" status 1
check "... named" has "nlcl eval: $T/nodir/r.json: the folder $T/nodir does not exist"
check "... the CSV not written either" test ! -e "$T/r2.csv"
LONG=$(printf 'e%.0s' $(seq 252))
"$NLCL" eval --pred "$T/e/p" --gt "$T/e/g" --json "$T/r2.json" --csv "$T/$LONG.csv" >/dev/null 2>"$T/err"; rc=$?
check "eval --csv with a 256-byte name: status 1, named, the JSON not written" \
  bash -c "[ $rc = 1 ] && grep -q 'the file name is 256 bytes, more than the 255' '$T/err' && test ! -e '$T/r2.json'"
"$NLCL" eval --pred "$T/e/p" --gt "$T/e/g" --csv "$T/e" >/dev/null 2>"$T/err"; rc=$?
check "eval --csv naming a folder: status 1, named" bash -c "[ $rc = 1 ] && grep -q '$T/e: is a folder' '$T/err'"

# 6b. derain: every output name checked before the first image: a rain layer
# name over the 255-byte limit, an output that is a folder (-r: x.png/ beside x.jpg)
mkdir -p "$T/ln" "$T/sub/x.png"
cp "$S1" "$T/ln/$(printf 'a%.0s' $(seq 247)).png"; cp "$S2" "$T/ln/b.png"
"$NLCL" derain -q -m "$M" --rain-model "$T/m/G_R.safetensors" -o "$T/lo" "$T/ln" 2>"$T/err"; rc=$?
check "derain: a rain layer's name of 256 bytes: status 1" status 1
check "... named" has "aaaa_rain.png: the file name is 256 bytes, more than the 255"
check "... before any work (no output folder left)" test ! -e "$T/lo"
cp "$S1" "$T/sub/x.jpg"; cp "$S2" "$T/sub/x.png/b.png"
"$NLCL" derain -q -m "$M" -r -o "$T/so" "$T/sub" 2>"$T/err"; rc=$?
check "derain -r: x.jpg's output so/x.png is the folder of x.png/b.png: status 1" status 1
check "... named" has "$T/so/x.png: is a folder"
check "... before any work (no output folder left)" test ! -e "$T/so"

# 7. train --out equal to a data folder; a failed run leaves no empty folder
ls "$T/data/rainy" > "$T/rainy.before"
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --out "$T/data/rainy" --iters 1 "${TINY[@]}" 2>"$T/err"; rc=$?
check "train --out = --rainy: refused" test "$rc" -ne 0
check "... with a clear message" has "run folder $T/data/rainy is the rainy image folder"
check "... nothing added to the data" bash -c "ls '$T/data/rainy' | cmp -s - '$T/rainy.before'"
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean/" --out "$T/data/clean" --iters 1 "${TINY[@]}" 2>"$T/err"; rc=$?
check "train --out = --clean: refused" test "$rc" -ne 0
mkdir -p "$T/emptyclean"
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/emptyclean" --out "$T/run_fail" --iters 1 "${TINY[@]}" 2>"$T/err"; rc=$?
check "train without clean images: status 1" status 1
check "... the run folder it made is removed again" test ! -e "$T/run_fail"

# 8. demo -o without an image extension: usage error before any work
"$NLCL" demo -m "$M" -o "$T/d6" 2>"$T/err"; rc=$?
check "demo -o d6: usage error" status 2
check "... nothing written" test ! -e "$T/d6"

exit $fail
