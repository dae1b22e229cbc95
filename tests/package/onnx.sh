#!/bin/bash
# nlcl convert MODEL OUT.onnx, checked by python3-onnx and run in ONNX Runtime
# (npm onnxruntime-node in $NLCL_ORT_DIR, installed by scripts/setup.sh
# --test) against nlcl derain: tests/package/onnx_check.py, for the default
# model (residual); the authors' model in the data part (package_onnx_data,
# NLCL_TEST_PART=data), skipped when ../shared/data is missing.
# Skipped when python3-onnx, node or onnxruntime-node is missing.
set -u
source "$(dirname "$0")/../cli/common.bash"
PY=/usr/bin/python3
ORT="${NLCL_ORT_DIR:-$HOME/.cache/nlcl/onnxruntime}/node_modules/onnxruntime-node"
"$PY" -c "import onnx, numpy, PIL" 2>/dev/null || { echo "skipped: python3-onnx/numpy/pil missing (scripts/setup.sh --test)"; exit 77; }
command -v node >/dev/null || { echo "skipped: no node (scripts/setup.sh --test)"; exit 77; }
[ -d "$ORT" ] || { echo "skipped: no $ORT (scripts/setup.sh --test)"; exit 77; }
export NLCL_ORT_MODULE="$ORT"
pth=../shared/data/nlcl_official/weights/latest_net_Back.pth
if [ "${NLCL_TEST_PART:-}" = data ]; then
  [ -f "$pth" ] || { echo "skipped: the authors' model ($pth is missing)"; exit 77; }
  "$PY" tests/package/onnx_check.py "$NLCL" "$T" "$pth" authors; rc=$?
  check "the authors' model: ONNX checked and run" status 0
  # a file name that is not UTF-8: the metadata stays valid UTF-8 (protobuf strings), escaped
  # as in safetensors metadata
  cp "$pth" "$T/w"$'\xff'".pth"
  "$NLCL" convert "$T/w"$'\xff'".pth" "$T/latin1.onnx" 2>"$T/err"; rc=$?
  check "a .pth named with a byte 0xff: converted" status 0
  check "... its metadata's source is valid UTF-8, the byte as \\xff" "$PY" -c "
import onnx, sys
m = onnx.load(sys.argv[1]); meta = {p.key: p.value for p in m.metadata_props}
sys.exit(meta.get('source') != 'w\\\\xff.pth')" "$T/latin1.onnx"
  exit $fail
fi
"$PY" tests/package/onnx_check.py "$NLCL" "$T" - default; rc=$?
check "default model: ONNX checked and run" status 0
# usage: an unknown extension names both formats
"$NLCL" convert models/default.safetensors "$T/m.bin" 2>"$T/err"; rc=$?
check "convert to .bin: usage error naming .safetensors and .onnx" sh -c "[ $rc = 2 ] && grep -q 'safetensors.*onnx' '$T/err'"
"$NLCL" convert models/default.safetensors "$T/no/such/dir/m.onnx" 2>"$T/err"; rc=$?
check "convert into a missing folder: status 1, nothing written" sh -c "[ $rc = 1 ] && [ ! -e '$T/no' ]"
exit $fail
