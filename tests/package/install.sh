#!/bin/bash
# cmake --install into a temporary prefix, then use nlcl as a user would:
# the files are where README.md says; libnlcl.so has its SONAME and exports
# exactly the public API; examples/derain.c builds against the installed tree
# with pkg-config (shared), pkg-config --static (libnlcl.a) and CMake's
# find_package(nlcl), and each binary writes the same PNG as 'nlcl derain'
# (the default model embedded in the library, and -m MODEL); the installed
# command, version macros and man pages agree. Skipped in sanitizer builds
# (a program that loads an ASan libnlcl.so must itself be built with ASan).
set -u
source "$(dirname "$0")/../cli/common.bash"
B="${NLCL_BUILD_DIR:?}"
[ "${NLCL_SANITIZE:-OFF}" = ON ] && { echo "skipped: sanitizer build"; exit 77; }
CC="${CC:-cc}"
P="$T/prefix"
cmake --install "$B" --prefix "$P" >"$T/install.log" 2>&1; rc=$?
check "cmake --install --prefix: status 0" status 0 || { cat "$T/install.log"; exit 1; }

# 1. the files
pc=$(find "$P" -name nlcl.pc)
lib=$(dirname "$(dirname "$pc")")
version=$(sed -n 's/^Version: //p' "$pc")
check "nlcl.pc installed (libdir $lib, version $version)" test -n "$pc" -a -n "$version"
check "... libnlcl.a" test -f "$lib/libnlcl.a"
check "... libnlcl.so -> libnlcl.so.0 -> libnlcl.so.$version" \
  test "$(readlink "$lib/libnlcl.so")" = libnlcl.so.0 -a "$(readlink "$lib/libnlcl.so.0")" = "libnlcl.so.$version"
check "... its SONAME is libnlcl.so.0" sh -c "readelf -d '$lib/libnlcl.so' | grep -q 'SONAME.*\[libnlcl.so.0\]'"
check "... the headers, version.h among them" test -f "$P/include/nlcl/model.h" -a -f "$P/include/nlcl/version.h"
check "... the CMake package" test -f "$lib/cmake/nlcl/nlclConfig.cmake" -a -f "$lib/cmake/nlcl/nlclConfigVersion.cmake"
check "... the command" test -x "$P/bin/nlcl"
check "... man pages nlcl.1 and nlcl-derain.1 (from --help)" \
  sh -c "grep -q '^\.TH NLCL ' '$P/share/man/man1/nlcl.1' && grep -q 'quantize' '$P/share/man/man1/nlcl-derain.1'"
check "... and nothing records the build folder" sh -c "! grep -rl '$B' '$P/include' '$lib/pkgconfig' '$lib/cmake'"

# 2. exported symbols = the functions and data declared by the installed headers
for h in "$P"/include/nlcl/*.h; do echo "#include <nlcl/$(basename "$h")>"; done >"$T/all.c"
"$CC" -std=c11 -I"$P/include" -fsyntax-only -aux-info "$T/aux" "$T/all.c"
{ grep "$P/include" "$T/aux" | grep -o '\bnlcl_[a-z0-9_]* (' | tr -d ' ('
  # the declared name is the last identifier before any [size] (not the type)
  cat "$P"/include/nlcl/*.h | grep -o '^extern const [^;]*' | sed 's/\[.*//' | grep -o 'nlcl_[a-z0-9_]*$' | head -n 1000
} | sort -u >"$T/declared"
nm -D --defined-only "$lib/libnlcl.so" | awk '{ print $3 }' | sort -u >"$T/exported"
check "libnlcl.so exports $(wc -l <"$T/exported") symbols, exactly the $(wc -l <"$T/declared") the headers declare" \
  cmp -s "$T/declared" "$T/exported" || diff "$T/declared" "$T/exported" | head -20
# any x86-64: no AVX instruction in the library unless configured with NLCL_NATIVE, except
# in the AVX2 and AVX-512 clones of the hot loops that the CPU's features pick at load time
# (NLCL_VECTOR_CLONES: functions named NAME.arch_x86_64_v3 and NAME.arch_x86_64_v4), in
# functions named NAME_avx512bf16, called only where the CPU has AVX512_BF16, and in
# functions named NAME_avx512, called only where it has x86-64-v4 (src/ops/linear.c)
if [ "${NLCL_NATIVE:-OFF}" != ON ]; then
  n=$(objdump -d --no-show-raw-insn "$lib/libnlcl.so" |
      awk '/^[0-9a-f]+ <.*>:$/ { clone = ($0 ~ /(\.arch_x86_64_v[34]|_avx512bf16|_avx512)>:$/) }
           /%[yz]mm/ && !clone { n++ } END { print n + 0 }')
  check "libnlcl.so uses no AVX register outside its load-time clones (runs on any x86-64; found $n)" \
    test "$n" -eq 0
  c=$(objdump -d "$lib/libnlcl.so" | grep -c '\.arch_x86_64_v4>:$')
  check "... and has its AVX-512 clones ($c)" test "$c" -gt 0
fi

# 3. examples/derain.c built three ways against the installed tree
export PKG_CONFIG_PATH="$lib/pkgconfig"
EX=examples/derain.c
"$CC" "$EX" -o "$T/d_pc" $(pkg-config --cflags --libs nlcl) -Wl,-rpath,"$lib" 2>"$T/err"; rc=$?
check "pkg-config: cc derain.c \$(pkg-config --cflags --libs nlcl) builds" status 0 || cat "$T/err"
check "... and needs libnlcl.so.0" sh -c "readelf -d '$T/d_pc' | grep -q 'NEEDED.*libnlcl.so.0'"
"$CC" "$EX" -o "$T/d_static" $(pkg-config --cflags nlcl) -Wl,--as-needed -Wl,-Bstatic -lnlcl -Wl,-Bdynamic \
  $(pkg-config --static --libs nlcl) 2>"$T/err"; rc=$?
check "pkg-config --static with libnlcl.a builds" status 0 || cat "$T/err"
check "... and does not need libnlcl.so" sh -c "! readelf -d '$T/d_static' | grep -q libnlcl"
cmake -S examples -B "$T/cm" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_BUILD_TYPE=Release >"$T/err" 2>&1 &&
  cmake --build "$T/cm" >>"$T/err" 2>&1; rc=$?
check "CMake: find_package(nlcl) and nlcl::nlcl build examples/" status 0 || tail -20 "$T/err"

"$P/bin/nlcl" synth --scenes 1 --scene-size 72 -o "$T/data" >/dev/null 2>&1
in="$T/data/rainy/scene0001.png"
"$P/bin/nlcl" derain -q -o "$T/ref.png" "$in"; rc=$?
check "the installed nlcl derains (default model)" status 0
"$P/bin/nlcl" convert models/default.safetensors "$T/m.safetensors" 2>/dev/null
"$P/bin/nlcl" derain -q -m "$T/m.safetensors" -o "$T/ref_m.png" "$in"
for bin in d_pc d_static cm/derain; do
  env -u LD_LIBRARY_PATH "$T/$bin" "$in" "$T/out.png" 2>"$T/err"; rc=$?
  check "$bin IN OUT: status 0" status 0 || cat "$T/err"
  check "... the same PNG as nlcl derain" cmp -s "$T/out.png" "$T/ref.png"
  "$T/$bin" -m "$T/m.safetensors" "$in" "$T/out_m.png" 2>/dev/null
  check "... -m MODEL: the same PNG as nlcl derain -m" cmp -s "$T/out_m.png" "$T/ref_m.png"
done
"$T/d_pc" "$T/missing.png" "$T/x.png" 2>"$T/err"; rc=$?
check "a missing input: status 1, nlcl's message" sh -c "[ $rc = 1 ] && grep -q '^derain: $T/missing.png: ' '$T/err'"
check "... no output" test ! -e "$T/x.png"

# 4. one version: CMake's project(), the macros, nlcl_version(), --version
cat >"$T/v.c" <<'C'
#include <stdio.h>
#include <nlcl/version.h>
int main(void) {
    printf("%d.%d.%d %s %s\n", NLCL_VERSION_MAJOR, NLCL_VERSION_MINOR, NLCL_VERSION_PATCH,
           NLCL_VERSION_STRING, nlcl_version());
    return 0;
}
C
"$CC" "$T/v.c" -o "$T/v" $(pkg-config --cflags --libs nlcl) -Wl,-rpath,"$lib"
check "version macros, nlcl_version() and nlcl.pc agree ($version)" \
  test "$("$T/v")" = "$version $version $version"
check "... and nlcl --version" test "$("$P/bin/nlcl" --version | head -1)" = "nlcl $version"
# MPI is the command's (mpirun -np N nlcl train): the library and its headers need none
check "libnlcl.so links no MPI" sh -c "! ldd '$lib/libnlcl.so' | grep -q 'libmpi'"
check "... and the installed headers include none" sh -c "! grep -q 'mpi\\.h' '$P'/include/nlcl/*.h"
exit $fail
