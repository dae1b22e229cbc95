#!/bin/bash
# Nothing changed silently (issue 12 point 10; docs/RELIABILITY.md): derain
# carries the input's EXIF metadata (camera, date, exposure, GPS) into its
# outputs, JPEG (APP1) and PNG (eXIf), saying Orientation 1 since nlcl turns
# the pixels upright, with the upright PixelX/YDimension and no thumbnail;
# EXIF that libexif cannot read is not written, with a warning.
set -u
source "$(dirname "$0")/common.bash"
need_pil

# inputs: 32x24 as stored, a bright 8x8 square at the stored top left, EXIF
# Orientation 6 (turn 90 degrees clockwise: upright 24x32, the square at
# the top right), Make/Model/DateTime, PixelX/YDimension as stored and a
# thumbnail; the same JPEG with a corrupt EXIF block
/usr/bin/python3 - "$T" <<'PY'
import io, struct, sys
from PIL import Image
t = sys.argv[1]
im = Image.new("RGB", (32, 24), (40, 60, 80))
im.paste((250, 250, 250), (0, 0, 8, 8))
thumb = io.BytesIO(); im.resize((8, 6)).save(thumb, "JPEG"); thumb = thumb.getvalue()

def ifd(entries, start, nxt):  # little-endian IFD at offset start; its data after it
    data = b""; out = struct.pack("<H", len(entries))
    base = start + 2 + 12 * len(entries) + 4
    for tag, typ, val in entries:
        if typ == 2:  # ASCII
            raw = val.encode() + b"\0"
            out += struct.pack("<HHII", tag, 2, len(raw), base + len(data)); data += raw
        elif typ == 3:
            out += struct.pack("<HHIHH", tag, 3, 1, val, 0)
        else:
            out += struct.pack("<HHII", tag, 4, 1, val)
    return out + struct.pack("<I", nxt) + data

ifd0 = [(0x010F, 2, "NLCLCam"), (0x0110, 2, "Model 7"), (0x0112, 3, 6),
        (0x0132, 2, "2026:12:06 10:11:12"), (0x8769, 4, 0)]
size0 = len(ifd(ifd0, 8, 0))
exif_ifd = [(0xA002, 3, 32), (0xA003, 3, 24)]  # PixelX/YDimension as stored
ifd0[-1] = (0x8769, 4, 8 + size0)
size_e = len(ifd(exif_ifd, 8 + size0, 0))
ifd1_at = 8 + size0 + size_e
ifd1 = [(0x0201, 4, 0), (0x0202, 4, len(thumb))]  # the thumbnail (JPEGInterchangeFormat)
ifd1[0] = (0x0201, 4, ifd1_at + len(ifd(ifd1, ifd1_at, 0)))
block = (b"II*\0" + struct.pack("<I", 8) + ifd(ifd0, 8, ifd1_at) + ifd(exif_ifd, 8 + size0, 0)
         + ifd(ifd1, ifd1_at, 0) + thumb)
im.save(f"{t}/in.jpg", quality=95, exif=b"Exif\0\0" + block)
im.save(f"{t}/in.png", exif=b"Exif\0\0" + block)
chk = Image.open(f"{t}/in.jpg").getexif()
assert chk[0x0112] == 6 and chk.get_ifd(-1) and chk.get_ifd(0x8769)[0xA002] == 32, "test input"
im.save(f"{t}/bad.jpg", quality=95, exif=b"Exif\x00\x00" + b"XX\x2a\x00garbage" * 4)
PY

# check_out OUT: the output's EXIF as carried (Make/Model/DateTime kept,
# Orientation 1, PixelX/YDimension 24x32, no IFD 1) and its pixels upright
check_out() {
  /usr/bin/python3 - "$1" <<'PY'
import sys
from PIL import Image
im = Image.open(sys.argv[1]); im.load()
ex = im.getexif()
got = (ex.get(0x010F), ex.get(0x0110), ex.get(0x0132), ex.get(0x0112))
want = ("NLCLCam", "Model 7", "2026:12:06 10:11:12", 1)
ok = got == want
if not ok: print("EXIF IFD 0:", got, "want", want)
dims = tuple(ex.get_ifd(0x8769).get(k) for k in (0xA002, 0xA003))
if dims != (24, 32): print("PixelX/YDimension", dims, "want (24, 32)"); ok = False
if ex.get_ifd(-1): print("IFD 1 (thumbnail) kept:", dict(ex.get_ifd(-1))); ok = False
if im.size != (24, 32): print("size", im.size, "want (24, 32)"); ok = False
else:
    g = im.convert("L")
    q = [sum(g.crop((x, y, x + 8, y + 8)).getdata()) / 64 for x, y in ((0, 0), (16, 0), (0, 24), (16, 24))]
    if max(q) != q[1] or q[1] < max(q[0], q[2], q[3]) + 60:
        print("the bright square is not at the upright top right:", q); ok = False
sys.exit(0 if ok else 1)
PY
}
no_exif() {
  /usr/bin/python3 -c "import sys; from PIL import Image; im = Image.open(sys.argv[1]); im.load(); sys.exit(1 if 'exif' in im.info or len(im.getexif()) else 0)" "$1"
}

for in in in.jpg in.png; do
  for ext in png jpg; do
    out="$T/out_${in%.*}_${in#*.}.$ext"
    "$NLCL" derain -o "$out" "$T/$in" 2>"$T/err"; rc=$?
    check "$in -> .$ext: status 0, no warning" sh -c "[ $rc = 0 ] && ! grep -q warning '$T/err'"
    check "... EXIF carried (Make, Model, DateTime), Orientation 1, upright size, no thumbnail; pixels upright" check_out "$out"
  done
done

"$NLCL" derain -o "$T/out_bad.jpg" "$T/bad.jpg" 2>"$T/err"; rc=$?
check "corrupt EXIF: status 0 (the picture is fine)" status 0
check "... one warning that it could not be carried" \
  sh -c "[ \$(grep -c 'nlcl derain: warning: $T/bad.jpg: metadata could not be carried to the output: EXIF (corrupt EXIF block: ' '$T/err') = 1 ]"
check "... and an output without EXIF" no_exif "$T/out_bad.jpg"

exit $fail
