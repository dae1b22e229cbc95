#!/bin/sh
# Train nlcl's default model on the shared data (docs/MODEL.md), resuming if
# the run folder already holds a checkpoint, then copy the exported G_B to
# models/default.safetensors.
#   scripts/train_default_model.sh [RUN_DIR [extra nlcl train options]]
#   (RUN_DIR defaults to runs/default; e.g. add --threads 1)
# Data: rainy = ../shared/data/real_rain/* + Rain100L rainy 1-80 (81-100 are
# held out for evaluation; a folder of links selects 1-80); clean =
# ../shared/data/clean/* (unpaired).
set -eu
cd "$(dirname "$0")/.."
shared="$(cd ../shared/data && pwd)"
run="${1:-runs/default}"
[ $# -gt 0 ] && shift
sel="$run/rain100l-1-80"
mkdir -p "$sel"
for i in $(seq 1 80); do ln -sf "$shared/rain100l/rainy/$i.png" "$sel/$i.png"; done
resume=""
[ -f "$run/checkpoint.safetensors" ] && resume="--resume"
build/nlcl train $resume \
  --rainy "$sel" --rainy "$shared/real_rain/sirr" --rainy "$shared/real_rain/heavyrain_web" \
  --rainy "$shared/real_rain/didmdn" \
  --clean "$shared/clean/cbsd68" --clean "$shared/clean/kodak24" --clean "$shared/clean/mcmaster" \
  --clean "$shared/clean/set14" \
  --out "$run" --residual --sparsity code --lambda-sparsity 0.05 --channels 16 --blocks 8 \
  --ndf 32 --crop 128 --batch 2 --lr 2e-4 --iters 6000 --seed 1 \
  --save-every 250 --keep-every 1000 --sample-every 250 --log-every 25 "$@"
cp "$run/G_B.safetensors" models/default.safetensors
echo "models/default.safetensors updated; rebuild to embed it (scripts/build.sh)"
