#!/bin/bash
# nlcl train as users continue runs (issue 12 point 8): --resume with only
# --out reads the run's options from config.txt (paths with spaces
# included); options given again that differ are listed all at once; a
# finished run is extended with a larger --iters and says what the learning
# rate does (with a constant rate the extension equals the longer run), then
# continues with only --out; data folders given again replace the recorded
# ones and must be the same; each resume is recorded; folder names with a
# line break are refused; images
# smaller than the crop, and files nlcl cannot read, get a warning.
set -u
source "$(dirname "$0")/common.bash"

D="$T/my data"
"$NLCL" synth --scenes 3 --scene-size 48 -o "$D" >/dev/null 2>&1
"$NLCL" synth --scenes 2 --scene-size 24 -o "$T/small" >/dev/null 2>&1
TINY=(--crop 32 --batch 1 --channels 4 --blocks 1 --ndf 4 --n-loc 16 --n-pos 4 --n-neg 8
      --loc-taps 0,1 --threads 1 --save-every 2 --sample-every 0 --decay-iters 0)
R="$T/run one"

# 1. a run of 4 iterations; then --resume with only --out extends it to 6
"$NLCL" train --rainy "$D/rainy" --clean "$D/clean" "${TINY[@]}" --iters 4 --out "$R" -q 2>"$T/err"; rc=$?
check "a run of 4 iterations: status 0" status 0
check "... config.txt records the command line, the spaced path quoted" \
  grep -q "^command nlcl train --rainy '$D/rainy'" "$R/config.txt"
"$NLCL" train --resume --out "$R" 2>"$T/err"; rc=$?
check "--resume with only --out (the run is finished): status 0" status 0
check "... it read the run's options (resuming at 4 of 4)" has "resuming $R at iteration 4 of 4"
"$NLCL" train --resume --out "$R" --iters 6 2>"$T/err"; rc=$?
check "--resume --out --iters 6: the finished run is extended, status 0" status 0
check "... says so, with the learning rate's schedule" \
  has "extending the run from 4 to 6 iterations: the learning rate follows the schedule of 6 iterations (0.0001 to iteration 6, then linearly to 0 at 6): 0.0001 at iteration 4"
check "... config.txt now says iters 6" grep -qx "iters 6" "$R/config.txt"
check "... losses.tsv has 6 rows" test "$(grep -vc '^iter' "$R/losses.tsv")" -eq 6
cat "$T/err" | grep extending

# with a constant learning rate (--decay-iters 0) the extension equals a
# straight 6-iteration run: every iteration draws from its own random stream
"$NLCL" train --rainy "$D/rainy" --clean "$D/clean" "${TINY[@]}" --iters 6 --out "$T/six" -q 2>/dev/null
cat >"$T/cmp.py" <<'PY'
import sys
sys.path.insert(0, "tests/cli")
from safetensors_f32 import load
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a.keys() == b.keys()
# per tensor: the largest difference relative to its largest value
rel = {k: max((abs(x - y) for x, y in zip(a[k], b[k])), default=0) /
          max(max((abs(x) for x in a[k]), default=0), 1e-30) for k in a}
k = max(rel, key=rel.get)
print(f"largest relative difference {rel[k]:.3g} ({k}, {len(a)} tensors)")
sys.exit(0 if rel[k] <= 1e-5 else 1)
PY
check "... its weights equal a straight 6-iteration run's" /usr/bin/python3 "$T/cmp.py" "$R/checkpoint.safetensors" "$T/six/checkpoint.safetensors"

# 2. options given again that differ: every difference in one message
printf 'junk' >"$D/rainy/zz_bad.png" # found before the images are read
"$NLCL" train --resume --out "$R" --lr 3e-4 --crop 48 --lambda-eroded 0.5 --iters 5 2>"$T/err"; rc=$?
check "resume with four differences: status 1" status 1
for d in "'lr 0.0001' there, 'lr 0.0003' here" "'crop 32' there, 'crop 48' here" \
         "'iters 6' there, 'iters 5' here" "'w_eroded 0.5' here, not used there"; do
  check "... lists $d" has "$d"
done
check "... in one message" test "$(wc -l <"$T/err")" -eq 1
check "... before reading the images" hasnt "zz_bad"
rm "$D/rainy/zz_bad.png"
cat "$T/err"

# 3. an extended run continues with only --out: config.txt's iters (not the
# first command's --iters 4) is the run's; every leg is recorded, and the
# models name the command that started the run and those that resumed it
"$NLCL" train --resume --out "$R" 2>"$T/err"; rc=$?
check "--resume with only --out after the extension to 6: status 0" status 0
check "... resuming at 6 of 6 (not refused: 'iters 6' there, 'iters 4' here)" has "resuming $R at iteration 6 of 6"
check "... config.txt keeps the first command" grep -q "^command nlcl train --rainy '$D/rainy'.* --iters 4 " "$R/config.txt"
check "... and records each resume" \
  test "$(grep '^resumed at iteration' "$R/config.txt" | sed 's/^resumed at iteration //')" = "4: nlcl train --resume --out '$R'
4: nlcl train --resume --out '$R' --iters 6
6: nlcl train --resume --out '$R'"
"$NLCL" info "$R/G_B.safetensors" >"$T/info" 2>&1
check "... the model's training_command is the first command" grep -q "^training_command: nlcl train --rainy '$D/rainy'.* --iters 4 " "$T/info"
check "... training_resumed lists the resumes" \
  test "$(sed -n '/^training_resumed:/,/^[a-z]/p' "$T/info" | grep -c '^    at iteration')" -eq 3

# 4. data options given again on --resume: the recorded list is replaced, and
# must name the same folders in the same order; the options not given are
# the run's (no differences against the defaults)
cp "$R/checkpoint.safetensors" "$T/ck_before"
"$NLCL" train --resume --out "$R" --clean "$D/clean" 2>"$T/err"; rc=$?
check "--resume --clean (the same folder again): status 0" status 0
check "... 3 clean images, not the folder twice" has "data: 3 rainy and 3 clean images"
"$NLCL" train --resume --out "$R" --rainy "$D/rainy" --clean "$D/clean" --iters 6 2>"$T/err"; rc=$?
check "--resume --rainy --clean --iters 6 (as recorded): status 0" status 0
check "... no difference against defaults listed" hasnt "there,"
"$NLCL" train --resume --out "$R" --rainy "$D/clean" --clean "$D/rainy" 2>"$T/err"; rc=$?
check "--resume with the folders swapped: status 1" status 1
check "... lists both in one message" has "'rainy $D/rainy' there, 'rainy $D/clean' here; 'clean $D/clean' there, 'clean $D/rainy' here"
"$NLCL" train --resume --out "$R" --rainy "$T/elsewhere" --crop 48 2>"$T/err"; rc=$?
check "--resume --rainy OTHER --crop 48: status 1 (not a usage error)" status 1
check "... lists the folder and the crop" has "'crop 32' there, 'crop 48' here; 'rainy $D/rainy' there, 'rainy $T/elsewhere' here"
"$NLCL" train --resume --out "$R" --rainy "$D/rainy" --rainy "$D/clean" 2>"$T/err"; rc=$?
check "--resume with a folder added: status 1, named" sh -c "[ $rc = 1 ] && grep -q \"'rainy $D/clean' here, not used there\" '$T/err'"
check "... the checkpoint untouched by the refusals" cmp -s "$R/checkpoint.safetensors" "$T/ck_before"

# 5. a folder name with a line break: refused at the start, nothing made
mkdir -p "$T/two"$'\n'"lines"
cp -r "$D/rainy" "$T/two"$'\n'"lines/"
"$NLCL" train --rainy "$T/two"$'\n'"lines/rainy" --clean "$D/clean" "${TINY[@]}" --iters 1 --out "$T/nl" 2>"$T/err"; rc=$?
check "a rainy folder with a newline in its name: status 1" status 1
check "... says so, the newline shown as \\n" has "the rainy folder name '$T/two\\\\nlines/rainy' holds a line break"
check "... no run folder" test ! -e "$T/nl"

# 6. --resume with only --out where the run has no config.txt: said, nothing done
mkdir -p "$T/norun"
"$NLCL" train --resume --out "$T/norun" 2>"$T/err"; rc=$?
check "--resume --out without a run: status 1, naming config.txt" sh -c "[ $rc = 1 ] && grep -q 'norun/config.txt' '$T/err'"

# 7. images smaller than the crop: a warning naming one, also with -q; files
# in formats nlcl cannot read: said, not left out silently
printf 'RIFF....WEBPVP8 ' >"$T/small/rainy/x.webp"
"$NLCL" train --rainy "$T/small/rainy" --clean "$D/clean" "${TINY[@]}" --iters 1 --out "$T/sm" -q 2>"$T/err"; rc=$?
check "rainy images smaller than the crop: status 0" status 0
check "... a warning with the count and an example" \
  has "nlcl train: warning: 2 of 2 rainy images are smaller than the 32x32 crop (e.g. $T/small/rainy/scene0001.png, 24x16)"
check "... none for the clean ones (48x32)" hasnt "clean images are smaller"
check "... the .webp reported as skipped" has "nlcl train: warning: $T/small/rainy: 1 file skipped, in formats nlcl cannot read (e.g. x.webp, WebP)"

exit $fail
