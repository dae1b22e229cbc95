#!/bin/sh
# Reproduce the tables of docs/RESULTS.md: Rain100L 81-100 (Y PSNR/SSIM) and
# NIQE on the real rainy photo sets, for the input, the authors' released
# model and nlcl's default model.   scripts/results.sh [OUT_DIR]
# (OUT_DIR defaults to results/; derained images and CSV files go there.)
set -eu
cd "$(dirname "$0")/.."
shared="$(cd ../shared/data && pwd)"
out="${1:-results}"
nlcl=build/nlcl
mkdir -p "$out/r100l-rainy" "$out/r100l-clean"
for i in $(seq 81 100); do
  ln -sf "$shared/rain100l/rainy/$i.png" "$out/r100l-rainy/$i.png"
  ln -sf "$shared/rain100l/clean/$i.png" "$out/r100l-clean/$i.png"
done
authors="$shared/nlcl_official/weights/latest_net_Back.pth"
for m in authors default; do
  if [ "$m" = authors ]; then opt="-m $authors"; else opt=""; fi
  $nlcl derain -q $opt -o "$out/$m/r100l" "$out/r100l-rainy"
  $nlcl eval --pred "$out/$m/r100l" --gt "$out/r100l-clean" --input "$out/r100l-rainy" \
    --csv "$out/$m-r100l.csv"
  for set in sirr heavyrain_web didmdn; do
    $nlcl derain -q $opt -o "$out/$m/$set" "$shared/real_rain/$set"
    $nlcl eval --niqe "$out/$m/$set" --csv "$out/$m-niqe-$set.csv"
  done
done
for set in sirr heavyrain_web didmdn; do
  $nlcl eval --niqe "$shared/real_rain/$set" --csv "$out/input-niqe-$set.csv"
done
