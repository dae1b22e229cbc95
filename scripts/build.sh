#!/bin/sh
# Configure and build nlcl into build/ (Release, -march=native by default).
# Extra arguments go to cmake's configure step, e.g. -DNLCL_SANITIZE=ON.
set -eu
cd "$(dirname "$0")/.."
dir="${NLCL_BUILD_DIR:-build}"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
