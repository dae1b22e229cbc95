#!/bin/sh
# Train nlcl's default model on the shared data (docs/MODEL.md), resuming if
# the run folder already holds a checkpoint; then score every kept checkpoint
# (every 1000 iterations) by Y-PSNR on the Rain100L 1-80 pairs (validation:
# training sees those rainy images, never their clean ones) and write the best
# one's G_B, with its training metadata, to models/default.safetensors.
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
# validation: the clean images of Rain100L 1-80
val="$run/validation"
mkdir -p "$val/clean"
for i in $(seq 1 80); do ln -sf "$shared/rain100l/clean/$i.png" "$val/clean/$i.png"; done
best="" bestp=""
for ck in "$run"/checkpoint-*.safetensors; do
  n=$(basename "$ck" .safetensors)
  build/nlcl convert "$ck" "$val/$n.safetensors" 2>/dev/null
  build/nlcl derain -q -m "$val/$n.safetensors" -o "$val/$n" "$sel"
  build/nlcl eval --pred "$val/$n" --gt "$val/clean" --csv "$val/$n.csv" >/dev/null
  p=$(sed -n 's/^mean,pred,.*,psnr,\([0-9.]*\),.*/\1/p' "$val/$n.csv")
  echo "$n: Rain100L 1-80 Y-PSNR $p dB"
  if [ -z "$bestp" ] || awk -v a="$p" -v b="$bestp" 'BEGIN { exit !(a > b) }'; then best="$ck" bestp="$p"; fi
done
it=$(build/nlcl info "$best" 2>/dev/null | sed -n 's/^iterations: *//p')
loss=$(awk -F'\t' -v it="$it" '$1 == it { printf "G %.5g D %.5g gan %.5g loc %.5g layer %.5g cons %.5g sparsity %.5g", $3, $4, $5, $6, $7, $8, $9 }' "$run/losses.tsv")
data="rainy:../shared/data/rain100l/rainy 1-80;rainy:../shared/data/real_rain/sirr;rainy:../shared/data/real_rain/heavyrain_web;rainy:../shared/data/real_rain/didmdn;clean:../shared/data/clean/cbsd68;clean:../shared/data/clean/kodak24;clean:../shared/data/clean/mcmaster;clean:../shared/data/clean/set14"
build/nlcl convert --meta "training_command=$(sed -n 's/^command //p' "$run/config.txt" | sed "s#$shared#../shared/data#g")" \
  --meta "training_data=$data" --meta "training_images=214 rainy, 100 clean" \
  --meta "losses_at_iteration=$loss" \
  --meta "selected=checkpoint of iteration $it of a $(sed -n 's/^iters //p' "$run/config.txt")-iteration run: the best Y-PSNR on the Rain100L 1-80 pairs (whose clean images training never saw) among the checkpoints kept every 1000 iterations; see docs/MODEL.md" \
  --meta "software=nlcl 0.1.0" "$best" models/default.safetensors
echo "models/default.safetensors: iteration $it ($bestp dB on Rain100L 1-80); rebuild to embed it (scripts/build.sh)"
