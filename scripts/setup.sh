#!/bin/sh
# Install the Debian 12 packages nlcl needs to build and test, if missing.
# Usage: scripts/setup.sh [--test] [--dev] [--fuzz] [--valgrind]
#   (no option)  what building needs: compiler, CMake, the libraries (libexif
#                and Little CMS for photos' orientation and colour profiles), PLplot for
#                the command's loss plots, protobuf-c and Debian's onnx.proto
#                (libonnx-dev) for the ONNX export, help2man for the man pages,
#                Open MPI (libopenmpi-dev, openmpi-bin) for mpirun -np N nlcl
#                train/derain (docs/SCALING.md; CMake builds without it if absent)
#   --test       what scripts/test.sh adds: numpy, PIL and python3-onnx for the
#                Python and ONNX tests, Node.js with npm, and ONNX Runtime
#                (npm install --ignore-scripts onnxruntime-node into
#                $NLCL_ORT_DIR, default ~/.cache/nlcl/onnxruntime: outside
#                the repository; its CPU library ships inside the package)
#   --dev        PyTorch/scikit-image for regenerating fixtures and benchmarks
#   --fuzz       clang and libFuzzer for scripts/fuzz.sh;  --valgrind  valgrind
set -eu
pkgs="build-essential cmake pkg-config libdnnl-dev libpng-dev libjpeg62-turbo-dev libtiff-dev libcjson-dev libzip-dev libplplot-dev plplot-driver-cairo libprotobuf-c-dev protobuf-c-compiler libonnx-dev libexif-dev liblcms2-dev help2man libopenmpi-dev openmpi-bin"
ort=0
for opt in "$@"; do
  case "$opt" in
    --test)
      pkgs="$pkgs python3-numpy python3-pil python3-onnx"
      # Node.js: Debian's nodejs and npm, unless a node with npm is already there
      command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
      ort=1 ;;
    --dev) pkgs="$pkgs python3-torch python3-skimage python3-pil python3-numpy hyperfine valgrind clang libclang-rt-14-dev" ;;
    --fuzz) pkgs="$pkgs clang libclang-rt-14-dev" ;;
    --valgrind) pkgs="$pkgs valgrind" ;;
    *) echo "setup: unknown option $opt (use --test, --dev, --fuzz, --valgrind)" >&2; exit 2 ;;
  esac
done
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing$missing" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
fi
if [ "$ort" = 1 ]; then
  dir="${NLCL_ORT_DIR:-$HOME/.cache/nlcl/onnxruntime}"
  if [ ! -f "$dir/node_modules/onnxruntime-node/package.json" ]; then
    echo "setup: npm install --ignore-scripts onnxruntime-node (in $dir)" >&2
    mkdir -p "$dir"
    [ -f "$dir/package.json" ] || echo '{ "private": true }' >"$dir/package.json"
    (cd "$dir" && npm install --ignore-scripts --no-audit --no-fund onnxruntime-node >&2)
  fi
fi
