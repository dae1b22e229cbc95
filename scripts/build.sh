#!/bin/sh
# Configure and build nlcl into build/ (Release, for any x86-64 CPU; add
# -DNLCL_NATIVE=ON for -march=native).
# Extra arguments go to cmake's configure step, e.g. -DNLCL_SANITIZE=ON.
set -eu
cd "$(dirname "$0")/.."
dir="${NLCL_BUILD_DIR:-build}"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
