#!/bin/sh
# Set up, build, and derain: scripts/derain.sh [IMAGE...]
# With images: writes derained copies to ./derained/. Without: runs 'nlcl demo'.
set -eu
top="$(cd "$(dirname "$0")/.." && pwd)"
# the build folder of scripts/build.sh (NLCL_BUILD_DIR, relative to the top)
dir="${NLCL_BUILD_DIR:-build}"
case "$dir" in /*) ;; *) dir="$top/$dir" ;; esac
"$top/scripts/setup.sh"
"$top/scripts/build.sh"
if [ "$#" -eq 0 ]; then
  exec "$dir/nlcl" demo
fi
exec "$dir/nlcl" derain "$@"
