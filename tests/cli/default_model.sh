#!/bin/bash
# The embedded default model (models/default.safetensors, docs/MODEL.md): it is
# the committed file, bit for bit in its outputs; nlcl info shows how it was
# trained; the demo derains nlcl's own synthetic sample and improves its PSNR.
set -u
MODEL="$PWD/models/default.safetensors"
[ -f "$MODEL" ] || { echo "SKIPPED: models/default.safetensors is missing"; exit 77; }
source "$(dirname "$0")/common.bash"
# sizes: the scenes 96 pixels wide, the demos 480 (the README's) and 96; under
# ASan and valgrind (NLCL_MEMCHECK) the first demo 96 wide; under valgrind
# (NLCL_TEST_WRAPPED) scenes of 48 and demos of 64, the smallest it allows
scene=96 width=480 cmp_width=96
[ -n "${NLCL_MEMCHECK:-}" ] && width=96
[ -n "${NLCL_TEST_WRAPPED:-}" ] && scene=48 width=64 cmp_width=64

"$NLCL" info >"$T/info" 2>&1
check "nlcl info: the embedded model" grep -q "^model: *<default, embedded>" "$T/info"
for key in training_command training_data training_images iterations; do
  check "... records $key" grep -q "^$key: *[^ ]" "$T/info"
done

"$NLCL" synth --scenes 2 --scene-size "$scene" --seed 3 -o "$T/s" >/dev/null 2>&1
"$NLCL" derain -q -o "$T/a" "$T/s/rainy"; rc=$?
check "derain without --model succeeds" test "$rc" -eq 0
"$NLCL" derain -q -m "$MODEL" -o "$T/b" "$T/s/rainy"
check "... and equals models/default.safetensors" diff -r "$T/a" "$T/b"

# the README's demo (480x320)
"$NLCL" demo --width "$width" -o "$T/demo.png" >"$T/demo.out" 2>&1; rc=$?
check "demo with the default model succeeds" test "$rc" -eq 0
check "... writes the side-by-side picture" test -s "$T/demo.png"
read -r before after < <(sed -n 's/.*rainy input \([0-9.]*\) dB -> derained \([0-9.]*\) dB.*/\1 \2/p' "$T/demo.out")
echo "demo PSNR: ${before:-?} -> ${after:-?} dB"
check "... and raises the sample's PSNR by at least 0.5 dB (1.0 dB at 480x320 with the Rain100L-like light preset)" \
  awk -v a="${before:-0}" -v b="${after:-0}" 'BEGIN { exit !(b > a + 0.5 && a > 0) }'
# --compare: input | derained | derained by a second model, both PSNRs printed
"$NLCL" demo --compare "$MODEL" --width "$cmp_width" -o "$T/cmp.png" >"$T/cmp.out" 2>&1; rc=$?
check "demo --compare succeeds" test "$rc" -eq 0
check "... printing the second model's PSNR" grep -q "^PSNR of .*default.safetensors: [0-9.]* dB" "$T/cmp.out"
exit $fail
