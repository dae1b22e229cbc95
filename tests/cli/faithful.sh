#!/bin/bash
# Nothing changed silently (issue 12 point 10; docs/RELIABILITY.md, "Inputs as
# users have them"): colours outside sRGB that the loader had to clip are
# said in a warning; every command that writes images from an input (derain,
# synth, demo) keeps a 16-bit input's precision in 16-bit PNGs, and says so
# when a JPEG output cannot; derain keeps transparency in its PNG outputs and
# refuses a JPEG output for a transparent input.
set -u
source "$(dirname "$0")/common.bash"
need_pil
bits() { od -An -tu1 -j24 -N1 "$1" | tr -d ' '; } # a PNG's bit depth (IHDR)

# inputs: a PNG whose cHRM says Rec. 2020 primaries (8 of its 48 pixels
# pure primaries, outside sRGB; the rest grey), the same without cHRM, and a
# 16-bit grey PNG
/usr/bin/python3 - "$T" <<'PY'
import struct, sys
from PIL import Image, PngImagePlugin
t = sys.argv[1]
px = []
for i in range(48):
    if i % 6 == 0:
        p = [0, 0, 0]; p[(i // 6) % 3] = 255; px.append(tuple(p))
    else:
        px.append((i * 5, i * 5, i * 5))
im = Image.new("RGB", (8, 6)); im.putdata(px)
im.save(f"{t}/srgb.png")
info = PngImagePlugin.PngInfo()
info.add(b"gAMA", struct.pack(">I", 45455))
info.add(b"cHRM", struct.pack(">8I", *[round(v * 100000) for v in
         (0.3127, 0.3290, 0.708, 0.292, 0.170, 0.797, 0.131, 0.046)]))
im.save(f"{t}/wide.png", pnginfo=info)
big = im.resize((24, 18), Image.NEAREST)  # eval's SSIM needs 11x11: 72 primaries of 432
big.save(f"{t}/srgb_big.png")
big.save(f"{t}/wide_big.png", pnginfo=info)
g = Image.new("I;16", (40, 30)); g.putdata([(x * 1609 + y * 257) % 65536 for y in range(30) for x in range(40)])
g.save(f"{t}/deep16.png")
PY

# 1. colours outside sRGB: a warning with the count, the image still derained
"$NLCL" derain -o "$T/wide_out.png" "$T/wide.png" 2>"$T/err"; rc=$?
check "wide-gamut PNG: status 0" status 0
check "... a warning that 8 of 48 pixels lie outside sRGB and were clipped" \
  has "nlcl derain: warning: $T/wide.png: 8 of 48 pixels have colours outside sRGB"
check "... the output is written" test -s "$T/wide_out.png"
"$NLCL" derain -o "$T/srgb_out.png" "$T/srgb.png" 2>"$T/err"; rc=$?
check "the same pixels as sRGB: status 0, no warning" sh -c "[ $rc = 0 ] && ! grep -q warning '$T/err'"
"$NLCL" synth -o "$T/syn_wide" "$T/wide.png" >/dev/null 2>"$T/err"
check "synth says it too" has "nlcl synth: warning: $T/wide.png: 8 of 48 pixels"
mkdir -p "$T/pred" "$T/gt"
cp "$T/wide_big.png" "$T/pred/x.png"
cp "$T/srgb_big.png" "$T/gt/x.png"
"$NLCL" eval --pred "$T/pred" --gt "$T/gt" >/dev/null 2>"$T/err"; rc=$?
check "eval scores it (status 0) and says it of the prediction only" \
  sh -c "[ $rc = 0 ] && grep -q 'nlcl eval: warning: $T/pred/x.png: 72 of 432 pixels' '$T/err' && ! grep -q 'gt/x.png' '$T/err'"

# 2. 16-bit inputs keep 16 bits in synth's and demo's PNGs
"$NLCL" synth -o "$T/syn16" "$T/deep16.png" >/dev/null 2>"$T/err"; rc=$?
check "synth of a 16-bit PNG: status 0" status 0
check "... its clean PNG has 16 bits per sample" test "$(bits "$T/syn16/clean/deep16.png")" = 16
check "... its rainy PNG has 16 bits per sample" test "$(bits "$T/syn16/rainy/deep16.png")" = 16
"$NLCL" synth -o "$T/syn8" "$T/srgb.png" >/dev/null 2>&1
check "synth of an 8-bit PNG: 8-bit PNGs" test "$(bits "$T/syn8/clean/srgb.png")" = 8
"$NLCL" demo -o "$T/demo16.png" "$T/deep16.png" >/dev/null 2>"$T/err"; rc=$?
check "demo of a 16-bit PNG: status 0, a 16-bit PNG" sh -c "[ $rc = 0 ] && [ $(bits "$T/demo16.png") = 16 ]"
"$NLCL" demo -o "$T/demo16.jpg" "$T/deep16.png" >/dev/null 2>"$T/err"; rc=$?
check "... as JPEG: status 0 with a warning that 16 bits become 8" \
  sh -c "[ $rc = 0 ] && grep -q 'nlcl demo: warning: $T/deep16.png: 16-bit samples written as 8-bit JPEG' '$T/err'"
"$NLCL" demo -o "$T/demo8.png" "$T/srgb.png" >/dev/null 2>&1
check "demo of an 8-bit PNG: an 8-bit PNG" test "$(bits "$T/demo8.png")" = 8

# 3. transparency: derain keeps the input's alpha unchanged in its PNG output
# (RGBA, grey+alpha); a JPEG output cannot, and is refused before any work
/usr/bin/python3 - "$T" <<'PY'
import sys
from PIL import Image
t = sys.argv[1]
im = Image.new("RGBA", (24, 16))
im.putdata([(x * 10, y * 15, 128, (x * 37 + y * 11) % 256) for y in range(16) for x in range(24)])
im.save(f"{t}/rgba.png")
la = Image.new("LA", (24, 16))
la.putdata([((x + y) * 9 % 256, 255 if x < 12 else y * 16) for y in range(16) for x in range(24)])
la.save(f"{t}/la.png")
op = im.copy(); op.putalpha(255); op.save(f"{t}/opaque_rgba.png")
PY
same_alpha() { # same_alpha IN OUT: the output is RGBA with the input's alpha, byte for byte
  /usr/bin/python3 -c "
import sys; from PIL import Image
a, b = Image.open(sys.argv[1]), Image.open(sys.argv[2])
sys.exit(0 if b.mode == 'RGBA' and a.getchannel('A').tobytes() == b.getchannel('A').tobytes() else 1)" "$1" "$2"
}
"$NLCL" derain -o "$T/rgba_out.png" "$T/rgba.png" 2>"$T/err"; rc=$?
check "RGBA PNG: status 0" status 0
check "... the output is RGBA with the input's alpha" same_alpha "$T/rgba.png" "$T/rgba_out.png"
"$NLCL" derain -o "$T/la_out.png" "$T/la.png" 2>"$T/err"; rc=$?
check "grey+alpha PNG: status 0, RGBA output with the input's alpha" \
  sh -c "[ $rc = 0 ] && $(declare -f same_alpha); same_alpha '$T/la.png' '$T/la_out.png'"
"$NLCL" derain -o "$T/rgba_out.jpg" "$T/rgba.png" 2>"$T/err"; rc=$?
check "RGBA PNG to a JPEG: status 1" status 1
check "... saying that JPEG cannot keep the transparency" \
  has "nlcl derain: $T/rgba.png: 383 of 384 pixels are transparent, and a JPEG output ($T/rgba_out.jpg) cannot keep transparency"
check "... nothing written" test ! -e "$T/rgba_out.jpg"
"$NLCL" derain -o "$T/op_out.png" "$T/opaque_rgba.png" 2>/dev/null
check "an opaque alpha: an RGB output (PNG colour type 2)" \
  test "$(od -An -tu1 -j25 -N1 "$T/op_out.png" | tr -d ' ')" = 2
"$NLCL" synth -o "$T/syn_rgba" "$T/rgba.png" >/dev/null 2>"$T/err"; rc=$?
check "synth still refuses transparent pixels (its pairs have no alpha)" \
  sh -c "[ $rc = 1 ] && grep -q 'pixels are transparent' '$T/err'"

# 4. a side over 65500 pixels: a JPEG output is refused before the model runs
# (the saver's own check would come only after the work), PNG is fine
/usr/bin/python3 -c "
import sys; from PIL import Image
Image.new('RGB', (65501, 2), (90, 120, 150)).save(sys.argv[1])" "$T/wide.png"
"$NLCL" derain -t 1 -o "$T/wide_out.jpg" "$T/wide.png" 2>"$T/err"; rc=$?
check "65501x2 to a JPEG: status 1, refused before the work" \
  sh -c "[ $rc = 1 ] && grep -q '65501x2: a JPEG output ($T/wide_out.jpg) is limited to 65500 pixels a side' '$T/err'"
check "... nothing written" test ! -e "$T/wide_out.jpg"

exit $fail
