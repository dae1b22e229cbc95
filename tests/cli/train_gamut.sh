#!/bin/bash
# Nothing changed silently (issue 12 point 10): nlcl train says, in one
# warning per image set (the validation pairs of --val-rainy/--val-clean
# too), that images whose colours lie outside sRGB (a
# wide-gamut profile or PNG chromaticities) were clipped to sRGB before it
# trained on them, as derain, synth, demo and eval say per file
# (tests/cli/faithful.sh). CMYK profiles count the same way
# (tests/test_image_meta.c, icc_cmyk_clipped).
set -u
source "$(dirname "$0")/common.bash"
need_pil

# rainy: a 48x40 PNG whose cHRM says Rec. 2020 primaries (40 of its 1920
# pixels pure primaries, outside sRGB; the rest grey) and an sRGB one; clean:
# two sRGB PNGs
/usr/bin/python3 - "$T" <<'PY'
import os, struct, sys
from PIL import Image, PngImagePlugin
t = sys.argv[1]
for d in ("rainy", "clean"): os.makedirs(f"{t}/{d}")
px = []
for i in range(48 * 40):
    if i % 48 == 0:
        p = [0, 0, 0]; p[(i // 48) % 3] = 255; px.append(tuple(p))
    else:
        px.append(((i * 7) % 256,) * 3)
im = Image.new("RGB", (48, 40)); im.putdata(px)
info = PngImagePlugin.PngInfo()
info.add(b"gAMA", struct.pack(">I", 45455))
info.add(b"cHRM", struct.pack(">8I", *[round(v * 100000) for v in
         (0.3127, 0.3290, 0.708, 0.292, 0.170, 0.797, 0.131, 0.046)]))
im.save(f"{t}/rainy/wide.png", pnginfo=info)
im.save(f"{t}/rainy/plain.png")
im.save(f"{t}/clean/a.png")
im.save(f"{t}/clean/b.png")
PY

TINY=(--crop 32 --batch 1 --channels 4 --blocks 1 --ndf 4 --n-loc 16 --n-pos 4 --n-neg 8
      --loc-taps 0,1 --threads 1 --save-every 2 --sample-every 0 --decay-iters 0 --iters 1)
"$NLCL" train --rainy "$T/rainy" --clean "$T/clean" "${TINY[@]}" --out "$T/run" -q 2>"$T/err"; rc=$?
check "train on a wide-gamut rainy image: status 0" status 0
check "... one warning that 1 of 2 rainy images had colours outside sRGB, with the example's count" \
  sh -c "[ \$(grep -c warning '$T/err') = 1 ] && grep -q 'nlcl train: warning: 1 of 2 rainy images have colours outside sRGB (e.g. $T/rainy/wide.png: 40 of 1920 pixels' '$T/err'"
rm "$T/rainy/wide.png"
"$NLCL" train --rainy "$T/rainy" --clean "$T/clean" "${TINY[@]}" --out "$T/run2" -q 2>"$T/err"; rc=$?
check "sRGB images only: status 0, no warning" sh -c "[ $rc = 0 ] && ! grep -q warning '$T/err'"
# validation pairs (--val-rainy/--val-clean) are said the same way, one
# warning per set: the wide-gamut image as a rainy and as a clean one
mkdir "$T/val_r" "$T/val_c"
cp "$T/rainy/plain.png" "$T/val_r/a.png"; cp "$T/rainy/plain.png" "$T/val_r/b.png"
cp "$T/rainy/plain.png" "$T/val_c/a.png"; cp "$T/rainy/plain.png" "$T/val_c/b.png"
/usr/bin/python3 - "$T" <<'PY'
import struct, sys
from PIL import Image, PngImagePlugin
t = sys.argv[1]
im = Image.open(f"{t}/rainy/plain.png")
info = PngImagePlugin.PngInfo()
info.add(b"gAMA", struct.pack(">I", 45455))
info.add(b"cHRM", struct.pack(">8I", *[round(v * 100000) for v in
         (0.3127, 0.3290, 0.708, 0.292, 0.170, 0.797, 0.131, 0.046)]))
im.save(f"{t}/val_r/b.png", pnginfo=info)
im.save(f"{t}/val_c/a.png", pnginfo=info)
PY
"$NLCL" train --rainy "$T/rainy" --clean "$T/clean" --val-rainy "$T/val_r" --val-clean "$T/val_c" \
  "${TINY[@]}" --out "$T/run3" -q 2>"$T/err"; rc=$?
check "validation images outside sRGB: status 0" sh -c "[ $rc = 0 ]"
check "... one warning for the rainy validation images, with the example's count" \
  grep -q "nlcl train: warning: 1 of 2 rainy validation images have colours outside sRGB (e.g. $T/val_r/b.png: 40 of 1920 pixels" "$T/err"
check "... one for the clean ones, and no other" \
  sh -c "[ \$(grep -c warning '$T/err') = 2 ] && grep -q 'nlcl train: warning: 1 of 2 clean validation images have colours outside sRGB (e.g. $T/val_c/a.png: 40 of 1920 pixels' '$T/err'"
[ $fail = 0 ] || cat "$T/err"
exit $fail
