#!/bin/sh
# Set up, build, and derain: scripts/derain.sh [IMAGE...]
# With images: writes derained copies to ./derained/. Without: runs 'nlcl demo'.
# The set-up and build run once (their output in BUILD/derain-setup.log, shown if
# they fail); later calls find the binary and only bring the build up to date.
set -eu
top="$(cd "$(dirname "$0")/.." && pwd)"
# the build folder of scripts/build.sh (NLCL_BUILD_DIR, relative to the top)
dir="${NLCL_BUILD_DIR:-build}"
case "$dir" in /*) ;; *) dir="$top/$dir" ;; esac
log="$dir/derain-setup.log"
if [ ! -x "$dir/nlcl" ]; then
  mkdir -p "$dir"
  echo "scripts/derain.sh: setting up and building nlcl (once; log in $log)" >&2
  if ! { "$top/scripts/setup.sh" && "$top/scripts/build.sh"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "scripts/derain.sh: the set-up or build failed (above)" >&2
    exit 1
  fi
elif ! "$top/scripts/build.sh" >"$log" 2>&1; then
  cat "$log" >&2
  echo "scripts/derain.sh: the build failed (above)" >&2
  exit 1
fi
if [ "$#" -eq 0 ]; then
  exec "$dir/nlcl" demo
fi
exec "$dir/nlcl" derain "$@"
