#!/bin/bash
# nlcl derain beyond its memory limit: the activations are streamed through
# temporary files (--memory-limit, --scratch) and the output is byte-identical
# to the in-memory run; bad sizes are usage errors, a missing scratch folder
# a failure naming it; no temporary file is left behind.
set -u
source "$(dirname "$0")/common.bash"

size=150 # under scripts/valgrind.sh (the command a valgrind wrapper) a small scene: the streamed
          # run's many small bands took longer than the suite's timeout there
if [ "$(head -c 2 "$NLCL")" = "#!" ] && grep -q valgrind "$NLCL"; then size=40; fi
"$NLCL" synth --scenes 1 --scene-size $size -o "$T/data" >/dev/null 2>&1
IN="$T/data/rainy/scene0001.png"
mkdir -p "$T/scratch"
"$NLCL" derain -q -o "$T/mem.png" "$IN"; rc=$?
check "derain in memory" status 0
"$NLCL" derain -v --memory-limit 64K --scratch "$T/scratch" -o "$T/streamed.png" "$IN" 2>"$T/err"; rc=$?
check "derain with --memory-limit 64K" status 0
check "... says it streamed" has "streamed through temporary files"
check "... byte-identical to the in-memory output" cmp -s "$T/mem.png" "$T/streamed.png"
check "... no temporary file left in --scratch" test -z "$(ls -A "$T/scratch")"
"$NLCL" derain -q --memory-limit 100G -o "$T/big.png" "$IN"; rc=$?
check "--memory-limit 100G: in memory, the same output" cmp -s "$T/mem.png" "$T/big.png"
for bad in 0 -1 4X 1.5.G ""; do
  "$NLCL" derain -q --memory-limit "$bad" -o "$T/x.png" "$IN" 2>"$T/err"; rc=$?
  check "--memory-limit '$bad': usage error" status 2
done
check "... naming the option" has "memory-limit"
"$NLCL" derain -q --memory-limit 0 -o "$T/x.png" "$IN" 2>"$T/err"
check "--memory-limit 0 says it must be more than 0" has "memory-limit 0: must be more than 0"
"$NLCL" derain -q --memory-limit 1K --scratch "$T/missing" -o "$T/x.png" "$IN" 2>"$T/err"; rc=$?
check "--scratch to a missing folder: failure" status 1
check "... naming the folder" has "$T/missing"
check "... and no output" test ! -e "$T/x.png"
exit $fail
