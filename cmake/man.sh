#!/bin/sh
# Man pages from the command's own --help (Debian's help2man), run by the
# build (CMakeLists.txt): nlcl.1 and nlcl-COMMAND.1 for each subcommand.
#   cmake/man.sh NLCL_BINARY OUT_DIR VERSION
set -eu
bin="$1" out="$2" version="$3"
mkdir -p "$out"
h2m() { # h2m PAGE NAME HELP_OPTION SUMMARY
  help2man --no-info --no-discard-stderr --version-string="$version" --help-option="$3" \
    -n "$4" "$bin" >"$out/$1.1.tmp"
  # the page of a subcommand is titled and named after it (nlcl-derain), as git's are
  up=$(echo "$1" | tr a-z A-Z)
  sed -e "s/^\.TH NLCL /.TH $up /" -e "s/^nlcl \\\\- /$2 \\\\- /" "$out/$1.1.tmp" >"$out/$1.1"
  rm -f "$out/$1.1.tmp"
}
h2m nlcl nlcl --help "unsupervised real-image deraining (NLCL, CVPR 2022)"
"$bin" --help | sed -n 's/^  \([a-z]*\)  *\(.*\)$/\1 \2/p' | while read -r cmd summary; do
  h2m "nlcl-$cmd" "nlcl-$cmd" "$cmd --help" "$summary"
done
