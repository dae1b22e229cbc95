#!/bin/sh
# Set up, build, and derain: scripts/derain.sh [IMAGE...]
# With images: writes derained copies to ./derained/. Without: runs 'nlcl demo'.
set -eu
top="$(cd "$(dirname "$0")/.." && pwd)"
"$top/scripts/setup.sh"
"$top/scripts/build.sh"
if [ "$#" -eq 0 ]; then
  exec "$top/build/nlcl" demo
fi
exec "$top/build/nlcl" derain "$@"
