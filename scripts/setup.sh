#!/bin/sh
# Install the Debian 12 packages nlcl needs to build and test, if missing.
# Usage: scripts/setup.sh [--dev] [--fuzz]   (--dev adds PyTorch/scikit-image
# for regenerating fixtures and running benchmarks; --fuzz adds clang and
# libFuzzer for scripts/fuzz.sh; neither is needed to build or test)
set -eu
# build: the library's dependencies, PLplot for the command's loss plots,
# help2man for the man pages; tests: numpy (Python package tests)
pkgs="build-essential cmake pkg-config libdnnl-dev libpng-dev libjpeg62-turbo-dev libtiff-dev libcjson-dev libzip-dev libplplot-dev plplot-driver-cairo help2man python3-numpy"
for opt in "$@"; do
  case "$opt" in
    --dev) pkgs="$pkgs python3-torch python3-skimage python3-pil python3-numpy hyperfine valgrind clang libclang-rt-14-dev" ;;
    --fuzz) pkgs="$pkgs clang libclang-rt-14-dev" ;;
    --valgrind) pkgs="$pkgs valgrind" ;;
    *) echo "setup: unknown option $opt (use --dev, --fuzz, --valgrind)" >&2; exit 2 ;;
  esac
done
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "setup: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
