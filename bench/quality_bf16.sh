#!/bin/sh
# Quality of --precision bf16 against fp32 (docs/BENCHMARKS.md, "bf16"):
# Y-PSNR/SSIM on Rain100L 81-100 for the default and the authors' model, and
# the largest difference of the authors' model's outputs on their five
# examples (8-bit, --quantize truncate as their code) from the fp32 outputs
# and from their published outputs.   bench/quality_bf16.sh [BUILD_DIR] [OUT]
set -eu
cd "$(dirname "$0")/.."
b="${1:-build}"
out="${2:-results/bf16}"
shared="$(cd ../shared/data && pwd)"
nlcl="$b/nlcl"
mkdir -p "$out/r100l-rainy" "$out/r100l-clean"
for i in $(seq 81 100); do
  ln -sf "$shared/rain100l/rainy/$i.png" "$out/r100l-rainy/$i.png"
  ln -sf "$shared/rain100l/clean/$i.png" "$out/r100l-clean/$i.png"
done
authors="$shared/nlcl_official/weights/latest_net_Back.pth"
for m in default authors; do
  if [ "$m" = authors ]; then opt="-m $authors"; else opt=""; fi
  for p in fp32 bf16; do
    "$nlcl" derain -q $opt --precision $p -o "$out/$m-$p" "$out/r100l-rainy"
    echo "== Rain100L 81-100, $m model, $p"
    "$nlcl" eval --pred "$out/$m-$p" --gt "$out/r100l-clean" | grep -E "^(pred|mean)" || true
  done
done
for p in fp32 bf16; do
  "$nlcl" derain -q -m "$authors" --precision $p --quantize truncate -o "$out/eg-$p" \
    "$shared/nlcl_official/rainy"
done
/usr/bin/python3 - "$out" "$shared/nlcl_official/official_output" <<'PYEOF'
import os, sys
import numpy as np
from PIL import Image
out, pub = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(os.path.join(out, "eg-fp32"))):
    a = np.asarray(Image.open(os.path.join(out, "eg-fp32", name)), dtype=np.int16)
    b = np.asarray(Image.open(os.path.join(out, "eg-bf16", name)), dtype=np.int16)
    r = np.asarray(Image.open(os.path.join(pub, name)).convert("RGB"), dtype=np.int16)
    d, e = np.abs(b - a), np.abs(b - r)
    print(f"{name}: bf16 vs fp32 max {d.max()} levels, mean {d.mean():.4f}, "
          f"{100 * (d == 0).mean():.3f}% equal; bf16 vs published max {e.max()}, "
          f"{100 * (e == 0).mean():.3f}% equal; fp32 vs published max {np.abs(a - r).max()}")
PYEOF
