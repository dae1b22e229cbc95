#!/bin/bash
# Nothing changed silently (issue 12 point 10; docs/RELIABILITY.md): the
# metadata besides EXIF (XMP, IPTC, PNG text chunks, JPEG comments, a TIFF's
# camera tags) is carried by derain and synth into their outputs where the
# output's format can hold it, XMP made right for the upright pixels; what is
# not carried is named in one warning per input. tests/cli/exif.sh covers EXIF.
set -u
source "$(dirname "$0")/common.bash"
need_pil

# Inputs, 32x24 as stored:
#  in.jpg   EXIF Orientation 6 (upright 24x32); XMP with tiff:Orientation="6"
#           and <exif:PixelXDimension>32</...>, <exif:PixelYDimension>24</...>;
#           a UTF-8 comment; APP13 Photoshop resources: IPTC (0x0404) and a
#           thumbnail (0x040C); an MPF APP2 and an APP11 marker (not carried)
#  in.png   tEXt Title, zTXt Description, iTXt Author (German), iTXt XMP, and a
#           tEXt Comment after the image data
#  in.tif   Make, Model, DateTime, Artist, Copyright, Software, ImageDescription,
#           XMP (tag 700); tiffipc.tif the same with IPTC (tag 33723)
#  badxmp.jpg  Orientation 6 and an XMP Orientation in a form nlcl does not rewrite
#  chunks.png  ancillary chunks nlcl does not interpret: safe to copy (oFFs, a
#           private prVt, a private afTr after the image data) and not (tIME,
#           bKGD, a private prVT)
#  time.png a tIME chunk only (not carried, not named: the output is a new image)
/usr/bin/python3 - "$T" <<'PY'
import struct, sys, zlib
from PIL import Image, PngImagePlugin, TiffImagePlugin
t = sys.argv[1]
im = Image.new("RGB", (32, 24), (40, 60, 80))
im.paste((250, 250, 250), (0, 0, 8, 8))
ex = Image.Exif(); ex[0x010F] = "NLCLCam"; ex[0x0112] = 6

def seg(marker, payload):
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload

def splice(path, segs):  # insert segments after the APP0/APP1 PIL wrote
    d = open(path, "rb").read()
    i = 2
    while d[i + 1] in (0xE0, 0xE1):
        i += 2 + struct.unpack(">H", d[i + 2:i + 4])[0]
    open(path, "wb").write(d[:i] + b"".join(segs) + d[i:])

xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       '<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/"'
       ' xmlns:dc="http://purl.org/dc/elements/1.1/" tiff:Orientation="6" tiff:Make="NLCLCam">'
       '<exif:PixelXDimension>32</exif:PixelXDimension><exif:PixelYDimension>24</exif:PixelYDimension>'
       '<dc:title>rain über Zürich</dc:title></rdf:Description></rdf:RDF></x:xmpmeta>')
def res(rid, data):  # one Photoshop image resource, empty name
    return b"8BIM" + struct.pack(">H", rid) + b"\0\0" + struct.pack(">I", len(data)) + data + b"\0" * (len(data) & 1)
iptc = b"\x1c\x02\x78" + struct.pack(">H", 11) + b"wet streets"
ps = b"Photoshop 3.0\0" + res(0x0404, iptc) + res(0x040C, b"stale thumbnail")
im.save(f"{t}/in.jpg", quality=95, exif=ex.tobytes(), dpi=(300, 150))
splice(f"{t}/in.jpg", [seg(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + xmp.encode()), seg(0xED, ps),
                       seg(0xFE, "regen über Zürich".encode()), seg(0xE2, b"MPF\0II*\0junk"),
                       seg(0xEB, b"JP\0\0junk")])
bad = xmp.replace('tiff:Orientation="6"', '').replace('<dc:title>', '<tiff:Orientation rdf:parseType="x">6</tiff:Orientation><dc:title>')
im.save(f"{t}/badxmp.jpg", quality=95, exif=ex.tobytes())
splice(f"{t}/badxmp.jpg", [seg(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + bad.encode())])

pi = PngImagePlugin.PngInfo()
pi.add_text("Title", "Rainy street")
pi.add_text("Description", "a long description " * 20, zip=True)
pi.add_itxt("Author", "Jürgen Regen", lang="de", tkey="Autor")
pi.add_itxt("XML:com.adobe.xmp", xmp.replace('tiff:Orientation="6"', 'tiff:Orientation="1"'))
im.save(f"{t}/in.png", pnginfo=pi, dpi=(72, 72))
d = open(f"{t}/in.png", "rb").read()
body = b"Comment\0after the pixels"
chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
open(f"{t}/in.png", "wb").write(d[:-12] + chunk + d[-12:])  # before IEND

pc = PngImagePlugin.PngInfo()
pc.add_text("Title", "chunks")
pc.add(b"tIME", struct.pack(">HBBBBB", 2026, 12, 6, 10, 11, 12))
pc.add(b"bKGD", struct.pack(">HHH", 10, 20, 30))
pc.add(b"prVt", b"app settings")
pc.add(b"prVT", b"pixel statistics")
pc.add(b"afTr", b"after the pixels", after_idat=True)
im.save(f"{t}/chunks.png", pnginfo=pc)
pt = PngImagePlugin.PngInfo()
pt.add(b"tIME", struct.pack(">HBBBBB", 2026, 12, 6, 10, 11, 12))
im.save(f"{t}/time.png", pnginfo=pt)
d = open(f"{t}/chunks.png", "rb").read()  # PIL does not write oFFs: after IHDR by hand
body = struct.pack(">iiB", 100, -20, 0)
chunk = struct.pack(">I", len(body)) + b"oFFs" + body + struct.pack(">I", zlib.crc32(b"oFFs" + body))
open(f"{t}/chunks.png", "wb").write(d[:33] + chunk + d[33:])

ti = TiffImagePlugin.ImageFileDirectory_v2()
for tag, v in ((271, "NLCLCam"), (272, "Model 7"), (306, "2026:12:06 10:11:12"), (315, "A. Photographer"),
               (33432, "(c) nobody"), (305, "camera fw 1.0"), (270, "a wet street")):
    ti[tag] = v
ti[700] = xmp.replace('tiff:Orientation="6"', 'tiff:Orientation="1"').encode()
ti[282] = 600.0; ti[283] = 600.0; ti[296] = 2  # 600 dpi
im.save(f"{t}/in.tif", tiffinfo=ti)
ti[33723] = iptc
im.save(f"{t}/tiffiptc.tif", tiffinfo=ti)
PY

# one_warning FILE [ITEM...]: exactly one warning line for FILE, naming each ITEM
one_warning() {
  local f=$1; shift
  [ "$(grep -c "warning: $f: metadata could not be carried to the output: " "$T/err")" = 1 ] || return 1
  [ "$(grep -c warning "$T/err")" = 1 ] || return 1
  for w in "$@"; do grep -q -- "$w" "$T/err" || { echo "missing '$w' in: $(cat "$T/err")"; return 1; }; done
}
no_warning() { ! grep -q warning "$T/err" || { cat "$T/err"; return 1; }; }

# has_meta OUT PYTHON-CONDITION: the condition holds for the output's metadata
# (text: its PNG text chunks; xmp; com: JPEG comments; app13; exif; other: other markers)
has_meta() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
out = {"text": [], "xmp": None, "com": [], "app13": None, "exif": None, "other": [], "res": None}
seen = set()  # PNG chunk types that may appear once (PNG 5.6)
if d[:4] == b"\x89PNG":
    i = 8
    while i < len(d):
        n, typ = struct.unpack(">I4s", d[i:i + 8]); body = d[i + 8:i + 8 + n]; i += 12 + n
        if typ == b"tEXt":
            k, v = body.split(b"\0", 1); out["text"].append(("tEXt", k.decode("latin-1"), v.decode("latin-1")))
        elif typ == b"zTXt":
            k, v = body.split(b"\0", 1); out["text"].append(("zTXt", k.decode("latin-1"), zlib.decompress(v[1:]).decode("latin-1")))
        elif typ == b"iTXt":
            k, r = body.split(b"\0", 1); comp = r[0]; lang, r = r[2:].split(b"\0", 1); tk, v = r.split(b"\0", 1)
            v = (zlib.decompress(v) if comp else v).decode()
            if k == b"XML:com.adobe.xmp": out["xmp"] = v
            else: out["text"].append(("iTXt", k.decode(), v, lang.decode(), tk.decode()))
        elif typ == b"eXIf": out["exif"] = body
        elif typ == b"pHYs": out["res"] = struct.unpack(">IIB", body)
        if typ not in (b"IDAT", b"tEXt", b"zTXt", b"iTXt", b"sPLT"):
            if typ in seen: print("two", typ.decode(), "chunks in", sys.argv[1]); sys.exit(1)
            seen.add(typ)
else:
    i = 2
    while d[i + 1] != 0xDA:
        m = d[i + 1]; n = struct.unpack(">H", d[i + 2:i + 4])[0]; p = d[i + 4:i + 2 + n]; i += 2 + n
        if m == 0xE1 and p.startswith(b"http://ns.adobe.com/xap/1.0/\0"): out["xmp"] = p[29:].decode()
        elif m == 0xE1 and p.startswith(b"Exif\0\0"): out["exif"] = p[6:]
        elif m == 0xED: out["app13"] = p
        elif m == 0xE0 and p.startswith(b"JFIF\0"): out["res"] = (p[7], struct.unpack(">H", p[8:10])[0], struct.unpack(">H", p[10:12])[0])
        elif m == 0xFE: out["com"].append(p.decode())
        elif m not in (0xE0, 0xDB, 0xC0, 0xC4): out["other"].append(hex(m))
ok = eval(sys.argv[2], {}, out)
if not ok: print("metadata of", sys.argv[1], out)
sys.exit(0 if ok else 1)
PY
}

X_UP='xmp and "tiff:Orientation=\"1\"" in xmp and ">24</exif:PixelXDimension>" in xmp and ">32</exif:PixelYDimension>" in xmp and "über Zürich" in xmp'
IPTC_KEPT='app13 and b"\x1c\x02\x78\x00\x0bwet streets" in app13 and b"stale thumbnail" not in app13 and app13.startswith(b"Photoshop 3.0\0")'

"$NLCL" derain -o "$T/j.png" "$T/in.jpg" 2>"$T/err"; rc=$?
check "JPEG -> PNG: status 0" status 0
check "... one warning naming the MPF images, the APP11 data and the IPTC (PNG cannot hold it)" \
  one_warning "$T/in.jpg" "MPF images" "APP11 data" "Photoshop/IPTC resources (PNG has no place"
check "... XMP carried (iTXt), its Orientation 1 and upright size" has_meta "$T/j.png" "$X_UP"
check "... the UTF-8 comment as iTXt Comment" has_meta "$T/j.png" 'text == [("iTXt", "Comment", "regen über Zürich", "", "")]'
check "... 300 x 150 dpi as pHYs in pixels per metre (as PIL)" has_meta "$T/j.png" 'res == (11811, 5906, 1)'

"$NLCL" derain -o "$T/j.jpg" "$T/in.jpg" 2>"$T/err"; rc=$?
check "JPEG -> JPEG: status 0, one warning (MPF, APP11), none for IPTC" \
  sh -c "[ $rc = 0 ] && ! grep -q IPTC '$T/err'"
check "... one warning" one_warning "$T/in.jpg" "MPF images" "APP11 data"
check "... XMP (APP1) rewritten, IPTC (APP13) kept without the thumbnail, the comment (COM) as it was" \
  has_meta "$T/j.jpg" "$X_UP and $IPTC_KEPT and com == [\"regen über Zürich\"] and other == []"
check "... JFIF (beside EXIF) with 300 x 150 dpi" has_meta "$T/j.jpg" 'res == (1, 300, 150) and exif'

"$NLCL" derain -o "$T/p.png" "$T/in.png" 2>"$T/err"; rc=$?
check "PNG -> PNG: status 0, no warning" sh -c "[ $rc = 0 ] && ! grep -q warning '$T/err'"
check "... every text chunk as it was (tEXt, zTXt, iTXt with language), the one after the pixels too; XMP as it was" \
  has_meta "$T/p.png" 'text == [("tEXt", "Title", "Rainy street"), ("zTXt", "Description", "a long description " * 20), ("iTXt", "Author", "Jürgen Regen", "de", "Autor"), ("tEXt", "Comment", "after the pixels")] and "tiff:Orientation=\"1\"" in xmp and ">32</exif:PixelXDimension>" in xmp and res == (2835, 2835, 1)'

"$NLCL" derain -o "$T/p.jpg" "$T/in.png" 2>"$T/err"; rc=$?
check "PNG -> JPEG: status 0" status 0
check "... one warning naming the text JPEG cannot hold" one_warning "$T/in.png" 'PNG text "Title", "Description", "Author"'
check "... the Comment as COM, XMP in APP1" has_meta "$T/p.jpg" 'com == ["after the pixels"] and xmp and "Zürich" in xmp'
check "... pHYs 2835 pixels per metre as 72 dpi" has_meta "$T/p.jpg" 'res == (1, 72, 72)'

"$NLCL" derain -o "$T/t.png" "$T/in.tif" 2>"$T/err"; rc=$?
check "TIFF -> PNG: status 0, no warning" sh -c "[ $rc = 0 ] && ! grep -q warning '$T/err'"
check "... the camera tags in an eXIf chunk (PIL reads them)" /usr/bin/python3 -c "
import sys
from PIL import Image
e = Image.open('$T/t.png').getexif()
want = {271: 'NLCLCam', 272: 'Model 7', 306: '2026:12:06 10:11:12', 315: 'A. Photographer', 33432: '(c) nobody', 305: 'camera fw 1.0', 270: 'a wet street'}
got = {k: e.get(k) for k in want}
print(got) if got != want else None
sys.exit(got != want)"
check "... XMP carried, 600 dpi as pHYs" has_meta "$T/t.png" 'xmp and "Zürich" in xmp and res == (23622, 23622, 1)'

"$NLCL" derain -o "$T/ti.jpg" "$T/tiffiptc.tif" 2>"$T/err"; rc=$?
check "TIFF with IPTC: status 0" status 0
check "... one warning naming it" one_warning "$T/tiffiptc.tif" "IPTC (tag 33723)"

"$NLCL" derain -o "$T/b.png" "$T/badxmp.jpg" 2>"$T/err"; rc=$?
check "XMP whose Orientation cannot be rewritten: status 0" status 0
check "... one warning" one_warning "$T/badxmp.jpg" "XMP (its Orientation could not be rewritten"
check "... XMP not written, EXIF written" has_meta "$T/b.png" 'xmp is None and exif'

# chunks_are OUT WANT: the PNG's chunks other than IHDR, tEXt, pHYs and IEND,
# as "TYPE DATA|..." (Python's repr of the data; IDAT without it), are WANT
chunks_are() {
  local got
  got=$(/usr/bin/python3 -c "
import struct, sys
d = open(sys.argv[1], 'rb').read(); i = 8; out = []
while i < len(d):
    n, typ = struct.unpack('>I4s', d[i:i + 8]); body = d[i + 8:i + 8 + n]; i += 12 + n
    if typ not in (b'IHDR', b'tEXt', b'pHYs', b'IEND'): out.append(typ.decode() + ('' if typ == b'IDAT' else ' ' + repr(body)))
print('|'.join(out))" "$1")
  [ "$got" = "$2" ] || { echo "chunks of $1: $got"; return 1; }
}
"$NLCL" derain -o "$T/c.png" "$T/chunks.png" 2>"$T/err"; rc=$?
check "PNG with chunks nlcl does not interpret -> PNG: status 0" status 0
check "... one warning naming the unsafe-to-copy ones (bKGD, private prVT), not tIME" \
  one_warning "$T/chunks.png" "a background colour (bKGD)" "PNG chunk prVT (unsafe to copy"
check "... tIME not named (the output is a new image; chunks_are below: nor carried)" hasnt tIME
check "... the safe-to-copy ones carried as they were, before and after the image data" \
  chunks_are "$T/c.png" "oFFs b'\\x00\\x00\\x00d\\xff\\xff\\xff\\xec\\x00'|prVt b'app settings'|IDAT|afTr b'after the pixels'"
"$NLCL" derain -o "$T/c.jpg" "$T/chunks.png" 2>"$T/err"; rc=$?
check "... -> JPEG: status 0, one warning naming them too" \
  one_warning "$T/chunks.png" "PNG chunks oFFs, prVt, afTr (JPEG has no place for them" "bKGD"
"$NLCL" derain -o "$T/t.png" "$T/time.png" 2>"$T/err"; rc=$?
check "PNG with a tIME chunk only: status 0, no warning" status 0
check "... no warning" no_warning

mkdir -p "$T/s" && cp "$T/in.png" "$T/s/a.png"
"$NLCL" synth -o "$T/syn" "$T/s" >/dev/null 2>"$T/err"; rc=$?
check "synth: status 0, no warning" sh -c "[ $rc = 0 ] && ! grep -q warning '$T/err'"
check "... both outputs keep the text and XMP" has_meta "$T/syn/clean/a.png" 'len(text) == 4 and xmp'
check "... (rainy)" has_meta "$T/syn/rainy/a.png" 'len(text) == 4 and xmp'

"$NLCL" demo -o "$T/demo.png" "$T/in.png" >/dev/null 2>"$T/err"; rc=$?
check "demo: status 0" status 0
check "... one warning that the panel does not carry the metadata" one_warning "$T/in.png" "XMP; text"

mkdir -p "$T/many"
for i in 1 2 3 4 5; do cp "$T/in.jpg" "$T/many/f$i.jpg"; done
"$NLCL" derain -q -o "$T/many-out" "$T/many" 2>"$T/err"; rc=$?
check "five photos with the same metadata lost: status 0, three warnings naming their files" \
  sh -c "[ $rc = 0 ] && [ \$(grep -c 'warning: $T/many/f[0-9].jpg: metadata could not be carried' '$T/err') = 3 ]"
check "... then one line for the other two, and nothing else" \
  sh -c "[ \$(grep -c 'warning: the same metadata could not be carried for 2 more files: MPF images' '$T/err') = 1 ] && [ \$(wc -l < '$T/err') = 4 ]"

[ -n "${KEEP:-}" ] && cp -r "$T" "$KEEP"
exit $fail
