# Shared start of the CLI tests (tests/cli/*.sh; not a test itself: ctest
# runs *.sh). Sourced after `set -u`; gives NLCL (the binary under test),
# T (a temporary folder, removed on exit), fail, and the helpers below.
NLCL="${NLCL_BIN:?run through ctest (NLCL_BIN)}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
check() { # check DESCRIPTION COMMAND...: prints ok/FAIL; a failure sets fail=1 and returns 1
  if "${@:2}"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; return 1; fi
}
status() { test "$rc" -eq "$1"; } # status WANT: the last command's exit status was WANT
has() { grep -q -- "$1" "$T/err"; }
hasnt() { ! grep -q -- "$1" "$T/err"; }
# need_pil: skip the whole test (exit 77, counted as skipped) without PIL to write its inputs
need_pil() {
  /usr/bin/python3 -c "import PIL" 2>/dev/null && return 0
  echo "skip: no PIL to write the inputs"
  exit 77
}
