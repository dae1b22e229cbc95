#!/bin/bash
# Nothing partial, nothing lost: unwritable output folders, a full disk
# (simulated with a file-size limit, and with a small tmpfs where mounting is
# allowed), Ctrl-C during training (checkpoint written, exact resume), a second
# Ctrl-C (immediate exit, last checkpoint intact).
set -u
source "$(dirname "$0")/common.bash"
trap 'rm -rf "$T"; [ -n "${MNT:-}" ] && umount "$MNT" 2>/dev/null' EXIT
no_temp() { ! find "$1" -name '*.tmp-*' | grep -q .; }

# inputs: a small synthetic rainy/clean set and a model, made by nlcl itself
"$NLCL" synth --scenes 3 --scene-size 96 -o "$T/data" >/dev/null 2>&1
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --out "$T/m" --crop 32 --batch 1 \
  --iters 2 --channels 8 --blocks 1 --ndf 8 --n-loc 16 --n-pos 4 --n-neg 8 --loc-taps 0,1 -q \
  >/dev/null 2>&1
MODEL="$T/m/G_B.safetensors"
check "a tiny model trains" test -s "$MODEL"
IN="$T/data/rainy/scene0001.png"

# 0. a checkpoint becomes a model: its G_B (or G_R) with the run's configuration,
# and --meta entries recorded
"$NLCL" convert --meta "training_command=nlcl train X" --meta note=chosen "$T/m/checkpoint.safetensors" \
  "$T/ck.safetensors" 2>/dev/null
"$NLCL" info "$T/ck.safetensors" >"$T/info" 2>&1
check "convert a checkpoint: --meta recorded" grep -q "^training_command: nlcl train X" "$T/info"
check "... with the run's configuration" grep -q "^    blocks 1" "$T/info"
check "... and its iterations" grep -q "^iterations: *2" "$T/info"
check "... its source the checkpoint's file name, not the folder it was in" \
  grep -q "^source: *checkpoint.safetensors$" "$T/info"
check "... and the run's data and image counts (every checkpoint records them)" \
  grep -q "^training_images: *3 rainy, 3 clean" "$T/info"
check "... its data folders" grep -q "^training_data: *rainy:$T/data/rainy;clean:$T/data/clean" "$T/info"
cp -r "$T/m" "$T/m2"
"$NLCL" train --resume --out "$T/m2" --iters 3 -q >/dev/null 2>&1
check "a resumed run's checkpoint records the resume" \
  grep -q "^training_resumed: *at iteration 2: " <("$NLCL" info "$T/m2/checkpoint.safetensors" 2>&1)
"$NLCL" convert --role G_R "$T/m/checkpoint.safetensors" "$T/ckr.safetensors" 2>/dev/null
check "... or its G_R" grep -q "^role: *G_R" <("$NLCL" info "$T/ckr.safetensors" 2>&1)
"$NLCL" convert "$T/m/checkpoint.safetensors" "$T/model.pth" 2>"$T/err"; rc=$?
check "convert refuses an output not named .safetensors" test "$rc" -eq 2
check "... writing nothing" test ! -e "$T/model.pth"
"$NLCL" convert --meta novalue "$T/m/checkpoint.safetensors" "$T/bad.safetensors" 2>"$T/err"; rc=$?
check "--meta without '=' is a usage error" test "$rc" -eq 2
check "... naming it" grep -q "novalue" "$T/err"
check "... writing nothing" test ! -e "$T/bad.safetensors"

# synth that writes nothing leaves no empty folders behind
printf 'x' >"$T/notimage.png"
"$NLCL" synth -o "$T/syn_none" "$T/notimage.png" 2>"$T/err"; rc=$?
check "synth of a broken image fails with status 1" test "$rc" -eq 1
check "... naming it" grep -q "notimage.png" "$T/err"
check "... and leaves no folder behind" test ! -e "$T/syn_none"

# 1. unwritable output folder (its parent is a regular file): error, nothing written
touch "$T/afile"
"$NLCL" derain -q -m "$MODEL" -o "$T/afile/out" "$IN" 2>"$T/err"; rc=$?
check "derain into an impossible folder fails with status 1" test "$rc" -eq 1
check "... and names the folder" grep -q "afile/out" "$T/err"

# 2. full disk while writing over an existing output: the old file survives
mkdir -p "$T/o"
"$NLCL" derain -q -m "$MODEL" -o "$T/o/x.png" "$IN"
cp "$T/o/x.png" "$T/x.orig"
printf 'junk' > "$T/o/x.png.keep"
( trap '' XFSZ; ulimit -f 1; "$NLCL" derain -q -m "$MODEL" -o "$T/o/x.png" "$T/data/clean/scene0002.png" ) 2>"$T/err"; rc=$?
check "a write failing mid-file gives status 1" test "$rc" -eq 1
check "... says the write failed" grep -qi "write\|fsync\|close" "$T/err"
check "... and leaves the previous output intact" cmp -s "$T/o/x.png" "$T/x.orig"
check "... and no temporary file" no_temp "$T/o"

# 3. a real small filesystem, if this machine lets us mount one
MNT="$T/mnt"; mkdir -p "$MNT"
if mount -t tmpfs -o size=4k tmpfs "$MNT" 2>/dev/null; then
  "$NLCL" derain -q -m "$MODEL" -o "$MNT/big.png" "$T/data/clean/scene0003.png" 2>"$T/err"; rc=$?
  check "tmpfs full: status 1" test "$rc" -eq 1
  check "tmpfs full: no partial file" test ! -e "$MNT/big.png"
  check "tmpfs full: no temporary file" no_temp "$MNT"
  umount "$MNT"; MNT=""
else
  echo "skip tmpfs part (mounting not permitted here)"; MNT=""
fi

# 4. Ctrl-C during training: checkpoint, status 130, resume continues exactly
RUN="$T/run"
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --out "$RUN" --crop 32 --batch 1 \
  --iters 100000 --channels 8 --blocks 1 --ndf 8 --n-loc 16 --n-pos 4 --n-neg 8 --loc-taps 0,1 \
  --save-every 1000000 --log-every 1 >"$T/train.out" 2>&1 &
pid=$!
for _ in $(seq 1 3000); do grep -q "iter 3/" "$T/train.out" && break; sleep 0.1; done
kill -INT $pid; wait $pid; rc=$?
check "Ctrl-C stops training with status 130" test "$rc" -eq 130
check "... after writing a checkpoint" test -s "$RUN/checkpoint.safetensors"
check "... and says how to continue" grep -q "resume" "$T/train.out"
it=$("$NLCL" info "$RUN/checkpoint.safetensors" 2>/dev/null | sed -n 's/^iterations: *//p')
check "the checkpoint holds the iterations done ($it)" test -n "$it"
cp "$RUN/checkpoint.safetensors" "$T/ckpt.saved"

# 5. a second Ctrl-C exits at once; the checkpoint stays readable
# (a bigger second run, so that one iteration outlasts the gap between the signals)
# (under valgrind, NLCL_MEMCHECK, every iteration is slow: a small one will do)
RUN2="$T/run2"
size="--crop 96 --batch 2 --channels 16 --blocks 4 --ndf 16"
[ -n "${NLCL_MEMCHECK:-}" ] && size="--crop 48 --batch 1 --channels 8 --blocks 2 --ndf 8"
# shellcheck disable=SC2086
"$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --out "$RUN2" $size \
  --iters 100000 --save-every 1 --log-every 1 >"$T/train2.out" 2>&1 &
pid=$!
for _ in $(seq 1 3000); do test -s "$RUN2/checkpoint.safetensors" && grep -q "iter 2/" "$T/train2.out" && break; sleep 0.1; done
# the second signal goes once the first was acknowledged: two SIGINTs sent
# while the first is still pending merge into one (valgrind delivers late)
kill -INT $pid
for _ in $(seq 1 600); do grep -q "Ctrl-C again" "$T/train2.out" && break; sleep 0.1; done
kill -INT $pid; wait $pid; rc=$?
check "a second Ctrl-C exits at once with status 130" test "$rc" -eq 130
check "... saying so" grep -q "interrupted again" "$T/train2.out"
loads() { "$NLCL" info "$1" >/dev/null 2>&1; }
check "... and the last checkpoint loads" loads "$RUN2/checkpoint.safetensors" ||
  { ls -l "$RUN2"; tail -5 "$T/train2.out"; "$NLCL" info "$RUN2/checkpoint.safetensors"; }
check "... no temporary file left" no_temp "$RUN2"
check "... no temporary file left" no_temp "$RUN"

# 6. a full disk while checkpointing: training fails, the previous checkpoint survives
cp "$RUN/checkpoint.safetensors" "$T/before.ckpt"
( trap '' XFSZ; ulimit -f 64; "$NLCL" train --rainy "$T/data/rainy" --clean "$T/data/clean" --out "$RUN" \
  --resume --crop 32 --batch 1 --iters 100000 --channels 8 --blocks 1 --ndf 8 --n-loc 16 --n-pos 4 \
  --n-neg 8 --loc-taps 0,1 --save-every 1 -q ) 2>"$T/err"; rc=$?
check "checkpoint on a full disk: status 1" test "$rc" -eq 1
check "... the previous checkpoint is untouched" cmp -s "$RUN/checkpoint.safetensors" "$T/before.ckpt"
check "... no temporary file left" no_temp "$RUN"

exit $fail
