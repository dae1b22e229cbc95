#!/bin/bash
# Every message of a failing command has the form "nlcl COMMAND: FILE:
# problem" (or "nlcl COMMAND: problem"), never an internal function name such
# as "image_load:" or "weights_load:" (issue 12 point 9). A list of failures
# across the commands, each checked on every stderr line it prints.
set -u
source "$(dirname "$0")/common.bash"

printf 'junk' > "$T/bad.png"
: > "$T/empty.pth"
head -c 400 tests/fixtures/weights/tiny_state.pth > "$T/half.pth"
mkdir -p "$T/pred" "$T/gt" "$T/empty"
cp "$T/bad.png" "$T/pred/a.png"; cp "$T/bad.png" "$T/gt/a.png"
"$NLCL" synth --scenes 2 --scene-size 24 -o "$T/data" >/dev/null 2>&1
S="$T/data/rainy/scene0001.png"

# internal names that must never reach a user
internal='(image_load|image_probe|image_save|image_alloc|weights_load|weights_save|model_load|tensor_dict|metric_image|safetensors|onnx_save|imresize|conv2d|discriminator|generator|sampler|checkpoint|alloc|list|mkdir|pinv)'
form() { # form CMD: every stderr line starts "nlcl CMD: ", and none names an internal function
  local cmd=$1 bad=0
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    case "$line" in
      "nlcl $cmd: "*|"Try 'nlcl $cmd --help'."|"  "*) ;;
      *) echo "  not 'nlcl $cmd: ...': $line"; bad=1 ;;
    esac
    if printf '%s\n' "$line" | grep -Eq "(^| )$internal: "; then echo "  internal name: $line"; bad=1; fi
  done < "$T/err"
  [ "$bad" = 0 ]
}
run() { # run CMD ARGS...: the command fails (status 1 or 2) with well-formed messages
  local cmd=$1
  "$NLCL" "$@" >/dev/null 2>"$T/err"; rc=$?
  check "$* -> status $rc, messages 'nlcl $cmd: FILE: problem'" bash -c "[ $rc = 1 ] || [ $rc = 2 ]" && \
    check "... $(head -1 "$T/err" | cut -c1-100)" form "$cmd"
}

run derain -o "$T/o" "$T/bad.png"
run derain -o "$T/o" "$T/missing.png"
run derain -m "$T/empty.pth" -o "$T/o" "$S"
run derain -m "$T/half.pth" -o "$T/o" "$S"
run derain -m "$S" -o "$T/o" "$S"
run derain -o "$T/o" "$T/empty"
run info "$T/half.pth"
run info "$S"
run convert "$T/empty.pth" "$T/c.safetensors"
run eval --pred "$T/pred" --gt "$T/gt"
run eval --pred "$T/missing" --gt "$T/gt"
run eval --niqe "$T/pred"
run train --rainy "$T/pred" --clean "$T/gt" --out "$T/run" --crop 32
run train --rainy "$T/missing" --clean "$T/gt" --out "$T/run"
run train --resume --out "$T/norun"
run synth -o "$T/sy" "$T/bad.png"
run demo -m "$T/half.pth" -o "$T/demo.png"

exit $fail
