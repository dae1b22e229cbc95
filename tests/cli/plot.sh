#!/bin/bash
# nlcl train draws RUN_DIR/losses.png from losses.tsv with PLplot, in the
# command (the library has no PLplot). PLplot answers a missing driver with a
# device menu read from standard input and its fatal errors with exit(); here
# neither may end or stall a run: a missing drivers folder, an empty one, and
# an unwritable plot file each give one warning, training goes on to the
# end (status 0, models written), and standard input is never read (its
# file offset stays 0).
set -u
source "$(dirname "$0")/common.bash"

"$NLCL" synth --scenes 2 --scene-size 48 -o "$T/data" >/dev/null 2>&1
TINY=(--rainy "$T/data/rainy" --clean "$T/data/clean" --crop 32 --batch 1 --channels 4 --blocks 1 --ndf 4
      --n-loc 16 --n-pos 4 --n-neg 8 --loc-taps 0,1 --threads 1 --iters 4 --save-every 2 -q)
printf '1\n1\n1\n/tmp/x.png\n' >"$T/stdin"

# train RUN [ENV...]: run with $T/stdin as standard input (fd 3 keeps it open
# here, so its offset can be read back from /proc afterwards)
train() {
  local run="$1"; shift
  exec 3<"$T/stdin"
  env "$@" "$NLCL" train "${TINY[@]}" --out "$T/$run" <&3 >"$T/out" 2>"$T/err"; rc=$?
  pos=$(sed -n 's/^pos:[[:space:]]*//p' /proc/$$/fdinfo/3)
  exec 3<&-
}

train ok
check "train: status 0" status 0
check "... losses.png is a PNG" sh -c "head -c 8 '$T/ok/losses.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"
check "... no warning" test ! -s "$T/err"
check "... no temporary plot left" sh -c "! ls \"$T/ok\" | grep -q tmp"
check "... an ordinary file: mode 0666 & ~umask, as every output (was 0600)" \
  test "$(stat -c %a "$T/ok/losses.png")" = "$(printf '%o' $((0666 & ~$(umask))))"

for case in "missing drivers folder:PLPLOT_DRV_DIR=$T/nonexistent" "empty drivers folder:PLPLOT_DRV_DIR=$T/empty"; do
  mkdir -p "$T/empty"
  name="${case%%:*}"
  train "r${#name}" "${case#*:}"
  check "$name: status 0" status 0
  check "... models written" test -s "$T/r${#name}/G_B.safetensors"
  check "... exactly one warning line" test "$(wc -l <"$T/err")" -eq 1
  check "... which says what failed" has "warning: no loss plot ($T/r${#name}/losses.png): "
  check "... no device menu on stdout" test ! -s "$T/out"
  check "... stdin not read (offset $pos)" test "$pos" = 0
  check "... no losses.png" test ! -e "$T/r${#name}/losses.png"
  cat "$T/err"
done
# the empty folder: PLplot's own message
check "empty drivers folder: PLplot's message" has "No device drivers found"

# drivers without pngcairo (only PLplot's null driver): named
drv=$(pkg-config --variable=drvdir plplot 2>/dev/null)
if [ -f "$drv/null.driver_info" ]; then
  mkdir -p "$T/nullonly"
  ln -s "$drv"/null.* "$T/nullonly/"
  train n PLPLOT_DRV_DIR="$T/nullonly"
  check "only the null driver: status 0" status 0
  check "... one warning naming the missing driver" test "$(grep -c 'no pngcairo driver' "$T/err")" -eq 1
  check "... stdin not read" test "$pos" = 0
fi

# a plot that cannot be written (losses.png is a folder): one warning
mkdir -p "$T/w/losses.png"
train w
check "losses.png is a folder: status 0" status 0
check "... one warning" test "$(grep -c warning "$T/err")" -eq 1
check "... models written" test -s "$T/w/G_B.safetensors"
exit $fail
