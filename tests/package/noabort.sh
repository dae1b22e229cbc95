#!/bin/bash
# No library code can exit, abort or prompt (issue 13; src/core/internal.h
# says how the library checks instead): neither libnlcl.so nor any object of
# the library imports abort, exit and its kin, assert's __assert_fail, err(3)
# and error(3) (they exit), or what reads standard input. Checked on the
# dynamic imports of libnlcl.so (nlcl's own code only: oneDNN, libgomp,
# libpng... are other shared libraries) and on the undefined symbols of each
# object of the library, which name the source at fault. A positive control
# first shows the scan finding such imports in an object that has them, so
# the test cannot pass because nm printed nothing. Skipped in a build with
# -DNLCL_DEBUG_ASSERTS=ON (the ASan/UBSan suite), whose internal invariant
# checks abort by design.
set -u
source "$(dirname "$0")/../cli/common.bash"
B="${NLCL_BUILD_DIR:?}"
[ "${NLCL_DEBUG_ASSERTS:-OFF}" = ON ] && { echo "skipped: build with NLCL_DEBUG_ASSERTS=ON"; exit 77; }
CC="${CC:-cc}"
command -v nm >/dev/null || { echo "skipped: no nm"; exit 77; }
FORBIDDEN='abort|exit|_exit|_Exit|quick_exit|__assert_fail|__assert_perror_fail|err|errx|verr|verrx|error|error_at_line|stdin|getchar|gets|scanf|__isoc99_scanf|vscanf|__isoc99_vscanf|getpass'
# forbidden FILE [nm options]: the forbidden undefined symbols of FILE, one a line
forbidden() {
  nm --undefined-only "${@:2}" "$1" | awk '{print $NF}' | sed 's/@.*//' | grep -xE "$FORBIDDEN" | sort -u
}

# 1. the positive control: an object that aborts, exits, asserts and prompts
cat >"$T/control.c" <<'C'
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
int control(int x) {
    assert(x > 0);
    if (x == 2) abort();
    if (x == 3) exit(1);
    return getc(stdin);
}
C
"$CC" -std=c11 -O2 -fPIC -shared -o "$T/control.so" "$T/control.c"
found=$(forbidden "$T/control.so" -D | tr '\n' ' ')
check "the scan finds abort, exit, __assert_fail, stdin in the control ($found)" \
  test "$found" = "__assert_fail abort exit stdin "

# 2. libnlcl.so
lib="$B/libnlcl.so"
check "libnlcl.so built" test -f "$lib" || exit 1
check "libnlcl.so imports symbols (nm -D works: $(nm -D --undefined-only "$lib" | wc -l))" \
  test "$(nm -D --undefined-only "$lib" | grep -c ' U memcpy')" -ge 1
found=$(forbidden "$lib" -D | tr '\n' ' ')
check "libnlcl.so imports none of them (found: ${found:-none})" test -z "$found"

# 3. each object of the library, to name the source
objs=$(find "$B/CMakeFiles/nlcl_objects.dir" -name '*.o' | sort)
n=$(echo "$objs" | grep -c '\.o$')
check "the library's objects found ($n, src/ops/loss.c.o among them)" \
  sh -c "test $n -ge 40 && echo '$objs' | grep -q 'src/ops/loss.c.o'"
for o in $objs; do
  found=$(forbidden "$o" | tr '\n' ' ')
  [ -n "$found" ] && check "${o#"$B"/CMakeFiles/nlcl_objects.dir/} imports none ($found)" false
done
[ $fail = 0 ] && echo "ok   no object of the library imports any"
exit $fail
