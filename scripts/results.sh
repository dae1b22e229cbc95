#!/bin/sh
# Reproduce the tables of docs/RESULTS.md for the input, the authors' released
# model and nlcl's default model:
#  - Rain100L 81-100 (Y-PSNR/SSIM);
#  - synthetic light, heavy and downpour pairs made by nlcl synth from the 24
#    Kodak photos (which no training of the default model sees), --seed 202;
#  - NIQE on the real rainy photo sets.
#   scripts/results.sh [OUT_DIR [MODEL]]
# (OUT_DIR defaults to results/; derained images and CSV files go there.
# MODEL replaces the embedded default model, e.g. a run's G_B-best.safetensors.
# NLCL_RESULTS_MODELS=default skips the authors' model, whose results do not
# change: the slow part, most of the 35 minutes.)
set -eu
cd "$(dirname "$0")/.."
shared="$(cd ../shared/data && pwd)"
out="${1:-results}"
model="${2:-}"
nlcl=build/nlcl
mkdir -p "$out/r100l-rainy" "$out/r100l-clean"
for i in $(seq 81 100); do
  ln -sf "$shared/rain100l/rainy/$i.png" "$out/r100l-rainy/$i.png"
  ln -sf "$shared/rain100l/clean/$i.png" "$out/r100l-clean/$i.png"
done
for p in light heavy downpour; do
  [ -d "$out/synth-$p/rainy" ] || $nlcl synth --preset $p --seed 202 -o "$out/synth-$p" "$shared/clean/kodak24"
done
# the NTURain videos: every 10th frame (consecutive frames are near-copies)
for v in ra1 rb2; do
  mkdir -p "$out/nturain-$v"
  ls "$shared/real_rain/nturain_video/$v" | awk 'NR % 10 == 1' | while read -r f; do
    ln -sf "$shared/real_rain/nturain_video/$v/$f" "$out/nturain-$v/$f"
  done
done
real="heavyrain_web sirr didmdn udgnet mwd"
authors="$shared/nlcl_official/weights/latest_net_Back.pth"
for m in ${NLCL_RESULTS_MODELS:-authors default}; do
  if [ "$m" = authors ]; then opt="-m $authors"; elif [ -n "$model" ]; then opt="-m $model"; else opt=""; fi
  $nlcl derain -q $opt -o "$out/$m/r100l" "$out/r100l-rainy"
  $nlcl eval --pred "$out/$m/r100l" --gt "$out/r100l-clean" --input "$out/r100l-rainy" \
    --csv "$out/$m-r100l.csv"
  for p in light heavy downpour; do
    $nlcl derain -q $opt -o "$out/$m/synth-$p" "$out/synth-$p/rainy"
    $nlcl eval --pred "$out/$m/synth-$p" --gt "$out/synth-$p/clean" --input "$out/synth-$p/rainy" \
      --csv "$out/$m-synth-$p.csv"
  done
  for set in $real nturain-ra1 nturain-rb2; do
    src="$shared/real_rain/$set"
    [ -d "$src" ] || src="$out/$set"
    $nlcl derain -q $opt -o "$out/$m/$set" "$src"
    $nlcl eval --niqe "$out/$m/$set" --csv "$out/$m-niqe-$set.csv"
  done
done
for set in $real nturain-ra1 nturain-rb2; do
  src="$shared/real_rain/$set"
  [ -d "$src" ] || src="$out/$set"
  $nlcl eval --niqe "$src" --csv "$out/input-niqe-$set.csv"
done
