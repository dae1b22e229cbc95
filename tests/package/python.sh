#!/bin/bash
# The Python package as installed by cmake --install (PREFIX/lib/python3/
# dist-packages, found through PYTHONPATH), run by Debian's /usr/bin/python3
# with numpy, against the nlcl command: tests/package/python_check.py.
# The plain run leaves out the authors' model, which package_python_data adds.
# Skipped in sanitizer builds (python3 would have to preload ASan) and
# under valgrind (NLCL_MEMCHECK=1).
set -u
source "$(dirname "$0")/../cli/common.bash"
B="${NLCL_BUILD_DIR:?}"
[ "${NLCL_SANITIZE:-OFF}" = ON ] && { echo "skipped: sanitizer build"; exit 77; }
# an equivalence test of Python code, not of memory: the plain suite runs it
[ "${NLCL_MEMCHECK:-0}" = 1 ] && { echo "skipped: NLCL_MEMCHECK (valgrind suite)"; exit 77; }
PY=/usr/bin/python3
"$PY" -c "import numpy, PIL" 2>/dev/null || { echo "skipped: python3-numpy or python3-pil missing (scripts/setup.sh)"; exit 77; }
# the data part (package_python_data, NLCL_TEST_PART=data) adds the authors'
# model, and is skipped without ../shared/data (the whole check runs again with
# it: the installation is its set-up)
pth=""
if [ "${NLCL_TEST_PART:-}" = data ]; then
  pth=../shared/data/nlcl_official/weights/latest_net_Back.pth
  [ -f "$pth" ] || { echo "skipped: the authors' model ($pth is missing)"; exit 77; }
fi
cmake --install "$B" --prefix "$T/prefix" >"$T/install.log" 2>&1 || { cat "$T/install.log"; exit 1; }
export PYTHONPATH="$T/prefix/lib/python3/dist-packages"
check "installed as PREFIX/lib/python3/dist-packages/nlcl" test -f "$PYTHONPATH/nlcl/__init__.py"
# from another folder, with no NLCL_LIBRARY: the installed _paths.py finds libnlcl.so
out=$(cd "$T" && env -u NLCL_LIBRARY -u LD_LIBRARY_PATH "$PY" -c "import nlcl; print(nlcl._lib.path, nlcl.version)" 2>&1)
check "python3 -c 'import nlcl' loads the installed library ($out)" \
  sh -c "echo '$out' | grep -q '^$T/prefix/lib/libnlcl.so.0 '"
"$PY" tests/package/python_check.py "$NLCL" "$T" $pth; rc=$?
check "python_check.py: the package agrees with the command" status 0
exit $fail
