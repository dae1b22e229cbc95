#!/bin/sh
# Train nlcl's default model on the shared data (docs/MODEL.md), resuming if
# the run folder already holds a checkpoint, and write the G_B that scored
# best on the validation pairs (Rain100L 1-80: training sees those rainy
# images, never their clean ones) to models/default.safetensors.
#   scripts/train_default_model.sh [RUN_DIR [extra nlcl train options]]
#   (RUN_DIR defaults to runs/default; e.g. add --threads 1)
# Data: rainy = ../shared/data/real_rain/* + Rain100L rainy 1-80 (81-100 are
# held out for evaluation; a folder of links selects 1-80); clean =
# ../shared/data/clean/* (unpaired). Validation: every 250 iterations,
# nlcl train itself scores G_B on Rain100L 1-80 (validation.tsv) and keeps
# the best as RUN_DIR/G_B-best.safetensors.
set -eu
cd "$(dirname "$0")/.."
shared="$(cd ../shared/data && pwd)"
run="${1:-runs/default}"
[ $# -gt 0 ] && shift
sel="$run/rain100l-1-80" val="$run/rain100l-1-80-clean"
mkdir -p "$sel" "$val"
for i in $(seq 1 80); do
  ln -sf "$shared/rain100l/rainy/$i.png" "$sel/$i.png"
  ln -sf "$shared/rain100l/clean/$i.png" "$val/$i.png"
done
resume=""
[ -f "$run/checkpoint.safetensors" ] && resume="--resume"
build/nlcl train $resume \
  --rainy "$sel" --rainy "$shared/real_rain/sirr" --rainy "$shared/real_rain/heavyrain_web" \
  --rainy "$shared/real_rain/didmdn" \
  --clean "$shared/clean/cbsd68" --clean "$shared/clean/kodak24" --clean "$shared/clean/mcmaster" \
  --clean "$shared/clean/set14" \
  --out "$run" --residual --sparsity code --lambda-sparsity 0.01 --lambda-eroded 1 --lambda-synth 10 \
  --channels 16 --blocks 8 --ndf 32 --crop 128 --batch 2 --lr 2e-4 --iters 5000 --seed 1 \
  --val-rainy "$sel" --val-clean "$val" --val-every 250 \
  --save-every 250 --keep-every 1000 --sample-every 250 --log-every 25 "$@"
best="$run/G_B-best.safetensors"
it=$(build/nlcl info "$best" 2>/dev/null | sed -n 's/^iterations: *//p')
p=$(awk -F'\t' -v it="$it" '$1 == it { print $2 }' "$run/validation.tsv")
data="rainy:../shared/data/rain100l/rainy 1-80;rainy:../shared/data/real_rain/sirr;rainy:../shared/data/real_rain/heavyrain_web;rainy:../shared/data/real_rain/didmdn;clean:../shared/data/clean/cbsd68;clean:../shared/data/clean/kodak24;clean:../shared/data/clean/mcmaster;clean:../shared/data/clean/set14"
build/nlcl convert --meta "training_command=$(sed -n 's/^command //p' "$run/config.txt" | sed "s#$shared#../shared/data#g")" \
  --meta "training_data=$data" \
  --meta "validation=the best mean Y-PSNR on the Rain100L 1-80 pairs (whose clean images training never saw), validated every 250 iterations: $p dB at iteration $it; see docs/MODEL.md" \
  --meta "software=nlcl 0.1.0" "$best" models/default.safetensors
echo "models/default.safetensors: iteration $it ($p dB on Rain100L 1-80); rebuild to embed it (scripts/build.sh)"
