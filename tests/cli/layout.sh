#!/bin/bash
# The source layout's contracts that a compiler does not check:
#  - the public headers (include/nlcl/, installed as they are) refer to no file
#    outside the installed tree (docs/, src/, tests/, cli/, ../shared);
#  - the command (cli/) includes only public headers and its own;
#  - no function over 100 lines and no file over 700 lines in src/ and cli/
#    (scripts/shape.py; generated tables aside).
# Runs from the repository root (ctest's working directory).
set -u
source "$(dirname "$0")/common.bash"

refs=$(grep -nE '(^|[ (`"])(docs|src|tests|cli)/|\.\./shared' include/nlcl/*.h)
check "public headers refer to nothing outside the installed tree" test -z "$refs"
[ -n "$refs" ] && echo "$refs"
inc=$(grep -nE '#include "' cli/*.c cli/*.h | grep -vE '#include "(nlcl/[a-z_]+\.h|cli\.h|eval\.h|mpi\.h|plot\.h)"')
check "cli/ includes public headers and its own only" test -z "$inc"
[ -n "$inc" ] && echo "$inc"
if [ -x /usr/bin/python3 ]; then
  /usr/bin/python3 scripts/shape.py >"$T/err" 2>&1; rc=$?
  check "functions of at most 100 lines, files of at most 700 lines in src/ and cli/" status 0
  [ "$rc" -ne 0 ] && cat "$T/err"
fi
exit $fail
