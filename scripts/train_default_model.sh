#!/bin/sh
# Train nlcl's default model on the shared data (docs/MODEL.md), resuming if
# the run folder already holds a checkpoint, and write the G_B that scored
# best on the validation pairs to models/default.safetensors.
#   scripts/train_default_model.sh [RUN_DIR [extra nlcl train options]]
#   (RUN_DIR defaults to runs/default; e.g. add --threads 1)
# Recipe (docs/TRAINING.md, docs/MODEL.md): C 32, K 8 residual generator; a
# supervised warm-up of 3000 iterations on synthetic heavy-rain pairs
# (nlcl synth's light/heavy/downpour mix made from the clean photos), then
# 5000 iterations of the NLCL objective on the real rainy photos with the
# synthetic term kept, the learning rate falling linearly to 0 over them;
# the exported G_B is an EMA of its weights (0.999). The layer contrast's heads
# are the reference's form (two sets, stepped: the paper preset's default when
# this run was made; with them the term is constant, docs/TRAINING.md).
# Data: rainy = Rain100L rainy 1-80 (81-100 are held out; a folder of links
# selects 1-80) + ../shared/data/real_rain/{sirr,didmdn,udgnet,mwd}
# (heavyrain_web and the NTURain videos are held out for evaluation);
# clean = ../shared/data/clean/{cbsd68,bsd300,urban100,sunhays80} (unpaired).
# Validation: every 500 iterations on 96 synthetic pairs (each of the 32
# clean photos of Set14 and McMaster, which training never sees, once as
# light, heavy and downpour rain: nlcl synth --preset mix --copies 3 --seed 101);
# the best mean Y-PSNR is kept as RUN_DIR/G_B-best.safetensors.
set -eu
cd "$(dirname "$0")/.."
nlcl="${NLCL_BUILD_DIR:-build}/nlcl"
shared="$(cd ../shared/data && pwd)"
run="${1:-runs/default}"
[ $# -gt 0 ] && shift
sel="$run/rain100l-1-80" valsrc="$run/val-clean-photos" val="$run/val"
mkdir -p "$sel" "$valsrc"
for i in $(seq 1 80); do ln -sf "$shared/rain100l/rainy/$i.png" "$sel/$i.png"; done
for f in "$shared"/clean/set14/* "$shared"/clean/mcmaster/*; do ln -sf "$f" "$valsrc/"; done
[ -d "$val/rainy" ] || $nlcl synth --preset mix --copies 3 --seed 101 -o "$val" "$valsrc"
resume=""
[ -f "$run/checkpoint.safetensors" ] && resume="--resume"
$nlcl train $resume \
  --rainy "$sel" --rainy "$shared/real_rain/sirr" --rainy "$shared/real_rain/didmdn" \
  --rainy "$shared/real_rain/udgnet" --rainy "$shared/real_rain/mwd" \
  --clean "$shared/clean/cbsd68" --clean "$shared/clean/bsd300" --clean "$shared/clean/urban100" \
  --clean "$shared/clean/sunhays80" \
  --out "$run" --residual --sparsity code --lambda-sparsity 0.01 --lambda-synth 10 --synth-rain mix \
  --layer-head separate --layer-head-update step \
  --warmup 3000 --ema 0.999 --channels 32 --blocks 8 --ndf 32 --crop 128 --batch 2 --lr 2e-4 \
  --iters 8000 --decay-iters 5000 --seed 1 --val-rainy "$val/rainy" --val-clean "$val/clean" --val-every 500 \
  --save-every 250 --keep-every 1000 --sample-every 250 --log-every 25 "$@"
best="$run/G_B-best.safetensors"
it=$($nlcl info "$best" 2>/dev/null | sed -n 's/^iterations: *//p')
p=$(awk -F'\t' -v it="$it" '$1 == it { print $2 }' "$run/validation.tsv")
data="rainy:../shared/data/rain100l/rainy 1-80;rainy:../shared/data/real_rain/sirr;rainy:../shared/data/real_rain/didmdn;rainy:../shared/data/real_rain/udgnet;rainy:../shared/data/real_rain/mwd;clean:../shared/data/clean/cbsd68;clean:../shared/data/clean/bsd300;clean:../shared/data/clean/urban100;clean:../shared/data/clean/sunhays80"
$nlcl convert --meta "training_command=$(sed -n 's/^command //p' "$run/config.txt" | sed "s#$shared#../shared/data#g")" \
  --meta "training_data=$data" \
  --meta "validation=the best mean Y-PSNR on 96 synthetic pairs (Set14 and McMaster, which training never sees, each as light, heavy and downpour rain: nlcl synth --preset mix --copies 3 --seed 101), validated every 500 iterations: $p dB at iteration $it; see docs/MODEL.md" \
  --meta "software=nlcl $($nlcl --version | awk '{print $2}')" "$best" models/default.safetensors
echo "models/default.safetensors: iteration $it ($p dB on the validation pairs); rebuild to embed it (scripts/build.sh)"
