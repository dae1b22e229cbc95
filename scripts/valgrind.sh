#!/bin/sh
# The whole test suite under valgrind memcheck; any error or definite/indirect
# leak fails the test.  scripts/valgrind.sh [ctest -R regex]
# Builds build-valgrind/ without -march=native (as every default build): valgrind 3.19 cannot run
# AVX-512 code (oneDNN's JIT then picks AVX2 kernels, as valgrind's virtual CPU
# reports no AVX-512). Every test binary and every nlcl command the tests start
# run under valgrind (CMake option NLCL_TEST_WRAPPER). The tests see
# NLCL_MEMCHECK=1 and skip their numerics-only parts on large inputs (the
# published-output comparison, 30 iterations on Rain100L), which the normal
# suite runs; with NLCL_TEST_WRAPPED=1 (from CMake) the heaviest tests run the
# same checks on smaller crops and images (docs/RELIABILITY.md). GOMP_SPINCOUNT is set so that nlcl does not re-execute itself
# (under valgrind /proc/self/exe is valgrind's tool, not nlcl). Two tests run
# at once: valgrind runs each program's threads one at a time, so one test
# uses one core.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh --valgrind
top="$PWD"
wrap="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --smc-check=all-non-file --suppressions=$top/scripts/valgrind.supp"
NLCL_BUILD_DIR=build-valgrind scripts/build.sh -DNLCL_NATIVE=OFF -DCMAKE_BUILD_TYPE=Release "-DNLCL_TEST_WRAPPER=$wrap"
cd build-valgrind
NLCL_MEMCHECK=1 GOMP_SPINCOUNT=100000 ctest --output-on-failure -j2 --timeout 3000 ${1:+-R "$1"}
