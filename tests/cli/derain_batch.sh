#!/bin/bash
# nlcl derain on folders as users have them (issue 12 point 7): -r keeps the
# tree; .jpe/.jfif are JPEGs, .dib is BMP; files in formats nlcl cannot read,
# broken links and FIFOs with image names are reported as skipped; an unwritable output folder is refused before the first image;
# a folder the run made is removed when nothing was written; Ctrl-C says
# "interrupted after K of N images" and leaves nothing partial;
# --skip-existing continues the batch. A 16-bit input keeps its precision.
set -u
source "$(dirname "$0")/common.bash"
no_temp() { ! find "$1" -name '*.tmp-*' -o -name '.nlcl-write-check-*' | grep -q .; }

"$NLCL" synth --scenes 4 --scene-size 32 -o "$T/data" >/dev/null 2>&1
S="$T/data/rainy"
# the tree: in/a.png, in/sub/b.png, in/sub/deep/c.jfif, in/d.jpe, unreadable
# formats beside them, a hidden folder (left out)
mkdir -p "$T/in/sub/deep" "$T/in/.hidden"
cp "$S/scene0001.png" "$T/in/a.png"
cp "$S/scene0002.png" "$T/in/sub/b.png"
"$NLCL" derain -q -o "$T/c.jpg" "$S/scene0003.png"
cp "$T/c.jpg" "$T/in/sub/deep/c.jfif"
cp "$T/c.jpg" "$T/in/d.jpe"
cp "$S/scene0004.png" "$T/in/.hidden/h.png"
printf 'RIFF....WEBPVP8 ' >"$T/in/photo.webp"
printf '....ftypheic' >"$T/in/sub/phone.heic"
printf 'GIF89a' >"$T/in/anim.gif"

# 1. -r: every image of the tree, outputs in the same tree
"$NLCL" derain -r -o "$T/out" "$T/in" 2>"$T/err"; rc=$?
check "derain -r: status 0" status 0
for f in a sub/b sub/deep/c d; do
  check "... out/$f.png written" test -s "$T/out/$f.png"
done
check "... the hidden folder left out" test ! -e "$T/out/.hidden"
check "... exactly 4 outputs" test "$(find "$T/out" -type f | wc -l)" -eq 4
check "... the unreadable formats reported as skipped, in one line" \
  has "nlcl derain: warning: $T/in: 3 files skipped that nlcl cannot read: anim.gif (GIF), photo.webp (WebP), sub/phone.heic (HEIC)"
"$NLCL" derain -q -o "$T/b_alone.png" "$T/in/sub/b.png"
check "... out/sub/b.png is what derain of that file alone writes" cmp -s "$T/out/sub/b.png" "$T/b_alone.png"
"$NLCL" derain -q -o "$T/c_alone.png" "$T/in/sub/deep/c.jfif"
check "... a .jfif is read as JPEG" cmp -s "$T/out/sub/deep/c.png" "$T/c_alone.png"
"$NLCL" derain -o "$T/top" "$T/in" 2>"$T/err"; rc=$?
check "without -r: status 0, the top folder's 2 images only" sh -c "[ $rc = 0 ] && [ \$(ls '$T/top' | wc -l) = 2 ] && [ -s '$T/top/d.png' ]"
check "... its unreadable files reported" has "2 files skipped that nlcl cannot read: anim.gif (GIF), photo.webp (WebP)"
cat "$T/err"

# 1b. a folder as users have it: a .dib (BMP) is read; a broken symbolic link
# and a FIFO with image names, and names of formats nlcl cannot read (JPEG
# 2000 .j2k, camera RAW), are reported as skipped, not left out unsaid
mkdir -p "$T/mix"
/usr/bin/python3 - "$T/mix/w.dib" <<'PY'
import struct, sys
w, h = 24, 16
data = b"".join(bytes(v for x in range(w) for v in (40 + 8 * x % 200, 90 + 3 * y, 160)) for y in range(h))
info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(data), 2835, 2835, 0, 0)
open(sys.argv[1], "wb").write(b"BM" + struct.pack("<IHHI", 14 + 40 + len(data), 0, 0, 54) + info + data)
PY
ln -s nowhere.png "$T/mix/dangling.png"
mkfifo "$T/mix/fifo.png"
printf '\0\0\0\x0cjP  ' >"$T/mix/a.j2k"
printf 'II*\0' >"$T/mix/b.dng"
timeout 60 "$NLCL" derain -o "$T/mixo" "$T/mix" 2>"$T/err"; rc=$?
check "a folder with a .dib, a broken link, a FIFO, .j2k, .dng: status 0" status 0
check "... the .dib derained" test -s "$T/mixo/w.png"
check "... the others reported as skipped, each with its reason" \
  has "nlcl derain: warning: $T/mix: 4 files skipped that nlcl cannot read: a.j2k (JPEG 2000), b.dng (camera RAW), dangling.png (a broken symbolic link), fifo.png (a FIFO, not a file)"

# 2. --skip-existing: only the missing outputs are made; the others untouched
rm "$T/out/sub/b.png"
touch -d '2001-01-01' "$T/out/a.png"
"$NLCL" derain -r --skip-existing -o "$T/out" "$T/in" 2>"$T/err"; rc=$?
check "--skip-existing: status 0" status 0
check "... says how many were left out" has "3 of 4 images already derained (--skip-existing): left out"
check "... the missing output made again" cmp -s "$T/out/sub/b.png" "$T/b_alone.png"
check "... the existing ones untouched" test "$(stat -c %Y "$T/out/a.png")" = "$(date -d 2001-01-01 +%s)"
check "... one line per image derained" test "$(grep -c ' -> ' "$T/err")" -eq 1
: >"$T/out/sub/b.png" # an empty file where an output belongs is no output
"$NLCL" derain -r --skip-existing -o "$T/out" "$T/in" 2>"$T/err"; rc=$?
check "--skip-existing with an empty output file: derained again" cmp -s "$T/out/sub/b.png" "$T/b_alone.png"

# 3. an output folder that cannot be written: refused before the first image.
# As root, permissions do not stop writes: an immutable folder does (chattr).
unwritable() { if [ "$(id -u)" = 0 ]; then chattr +i "$1" 2>/dev/null; else chmod a-w "$1"; fi; }
writable() { if [ "$(id -u)" = 0 ]; then chattr -i "$1" 2>/dev/null; else chmod u+w "$1"; fi; }
mkdir -p "$T/ro" "$T/ro2/sub"
unwritable "$T/ro"; unwritable "$T/ro2/sub"
if ! touch "$T/ro/probe" 2>/dev/null; then
  "$NLCL" derain -o "$T/ro" "$T/in" 2>"$T/err"; rc=$?
  check "an unwritable output folder: status 1" status 1
  check "... named, with the reason" has "nlcl derain: $T/ro: cannot write in the output folder: "
  check "... before the first image" hasnt " -> "
  "$NLCL" derain -r -o "$T/ro2" "$T/in" 2>"$T/err"; rc=$?
  check "-r, an unwritable subfolder of the output: status 1, before the first image" \
    sh -c "[ $rc = 1 ] && ! grep -q ' -> ' '$T/err' && [ ! -e '$T/ro2/a.png' ]"
  check "... the subfolders it made removed again" test ! -e "$T/ro2/sub/deep"
else
  echo "skip: this file system lets anyone write into $T/ro"
fi
writable "$T/ro"; writable "$T/ro2/sub"

# 4. nothing written: the folders the run made are removed (with -r, the tree too)
mkdir -p "$T/bad/x/y"
printf 'junk' >"$T/bad/x/y/broken.png"
"$NLCL" derain -r -o "$T/new/deeper" "$T/bad" 2>"$T/err"; rc=$?
check "every image failing: status 1" status 1
check "... the output folders it made are removed" test ! -e "$T/new"

# 5. a 16-bit input keeps 16 bits in a PNG output; a JPEG output says it cuts them
if /usr/bin/python3 -c "
import sys; from PIL import Image
im = Image.new('I;16', (40, 30)); im.putdata([(x * 1609 + y * 257) % 65536 for y in range(30) for x in range(40)])
im.save(sys.argv[1])" "$T/deep16.png" 2>/dev/null; then
  "$NLCL" derain -o "$T/d16.png" "$T/deep16.png" 2>"$T/err"; rc=$?
  check "a 16-bit PNG: status 0, no warning" sh -c "[ $rc = 0 ] && ! grep -q warning '$T/err'"
  check "... the output PNG has 16 bits per sample" test "$(od -An -tu1 -j24 -N1 "$T/d16.png" | tr -d ' ')" = 16
  "$NLCL" derain -o "$T/d16.jpg" "$T/deep16.png" 2>"$T/err"; rc=$?
  check "... as JPEG: status 0 with a warning that 16 bits become 8" \
    sh -c "[ $rc = 0 ] && grep -q 'warning: $T/deep16.png: 16-bit samples written as 8-bit JPEG' '$T/err'"
  "$NLCL" derain -o "$T/d8.png" "$T/in/a.png" 2>/dev/null
  check "an 8-bit input gives an 8-bit PNG" test "$(od -An -tu1 -j24 -N1 "$T/d8.png" | tr -d ' ')" = 8
else
  echo "skip: no PIL to write a 16-bit PNG"
fi

# 6. Ctrl-C in a batch: "interrupted after K of N images", status 130, only
# whole outputs; --skip-existing then does the rest
# (under valgrind every image takes seconds: fewer and smaller will do; not
# under ASan, where a small batch could end before the signal)
n=24 size=160
case "$NLCL" in *-wrapped) n=6 size=48 ;; esac
"$NLCL" synth --scenes $n --scene-size $size -o "$T/many" >/dev/null 2>&1
"$NLCL" derain -t 1 -o "$T/mo" "$T/many/rainy" 2>"$T/err" &
pid=$!
for _ in $(seq 3000); do grep -q "^\[1/$n\]" "$T/err" && break; sleep 0.02; done
kill -INT $pid
wait $pid; rc=$?
cat "$T/err" | tail -2
check "Ctrl-C: status 130" status 130
k=$(sed -n "s/.*interrupted after \([0-9]*\) of $n images.*/\1/p" "$T/err")
check "... 'interrupted after K of $n images' (K=$k)" test -n "$k"
written=$(ls "$T/mo" | wc -l)
check "... K outputs, all whole ($written files)" sh -c "[ '$written' = '$k' ] && [ $k -lt $n ]"
check "... no temporary file" no_temp "$T/mo"
for f in "$T"/mo/*.png; do tail -c 12 "$f" | grep -q IEND || { echo "FAIL partial: $f"; fail=1; }; done
"$NLCL" derain -t 1 -q --skip-existing -o "$T/mo" "$T/many/rainy" 2>"$T/err"; rc=$?
check "--skip-existing after it: status 0, all $n outputs" sh -c "[ $rc = 0 ] && [ \$(ls '$T/mo' | wc -l) = $n ]"
# the image in progress is abandoned (K outputs above, K = images finished), as --help says
check "... derain --help says Ctrl-C stops inside the image in progress" \
  sh -c "'$NLCL' derain --help | tr '\n' ' ' | grep -q 'Ctrl-C stops inside the image in progress, writing nothing of it'"

# 7. two Ctrl-C at once (the second quits at once): the output folder the run
# made, still empty, is removed all the same
"$NLCL" synth --scenes 1 --scene-size 640 -o "$T/big" >/dev/null 2>&1
"$NLCL" derain -t 1 -o "$T/mo2/sub" "$T/big/rainy" 2>"$T/err" &
pid=$!
for _ in $(seq 3000); do [ -d "$T/mo2/sub" ] && break; sleep 0.01; done
sleep 0.2
kill -INT $pid; kill -INT $pid
wait $pid; rc=$?
check "two Ctrl-C at once: status 130" status 130
check "... the output folders it made are removed" test ! -e "$T/mo2"

exit $fail
