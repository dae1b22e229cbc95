#!/bin/sh
# Train nlcl's default model on the shared data (docs/MODEL.md), resuming
# each phase if its folder already holds a checkpoint, and write iteration
# 6000's EMA G_B to models/default.safetensors.
#   scripts/train_default_model.sh [RUN_DIR [extra nlcl train options]]
#   (RUN_DIR defaults to runs/default, relative to the repository; give it
#   first, e.g. scripts/train_default_model.sh runs/default --threads 1.
#   The extra options go to both phases; the script sets the recipe's own,
#   so repeating one, e.g. --iters, is refused by nlcl train.)
# Recipe (docs/TRAINING.md, docs/MODEL.md): C 32, K 8 residual generator; a
# supervised warm-up of 3000 iterations on synthetic heavy-rain pairs
# (nlcl synth's light/heavy/downpour mix made from the clean photos; run
# RUN_DIR/warmup), then 5000 iterations of the NLCL objective on the real
# rainy photos without L_adv and without the location contrast (both made
# real photos worse, judged blind: docs/MODEL.md), with the layer contrast,
# consistency, sparsity and the synthetic term, started from the warm-up's
# checkpoint (--init-from --init-continue) with the learning rate falling
# linearly to 0 over them; the exported G_B is an EMA of its weights (0.999).
# The layer contrast's heads are the reference's form (two sets, stepped).
# Data: rainy = Rain100L rainy 1-80 (81-100 are held out; a folder of links
# selects 1-80) + ../shared/data/real_rain/{sirr,didmdn,udgnet,mwd}
# (heavyrain_web and the NTURain videos are held out for evaluation);
# clean = ../shared/data/clean/{cbsd68,bsd300,urban100,sunhays80} (unpaired).
# Validation: every 500 iterations on 96 synthetic pairs (each of the 32
# clean photos of Set14 and McMaster, which training never sees, once as
# light, heavy and downpour rain: nlcl synth --preset mix --copies 3 --seed 101).
# Synthetic rain: nlcl synth's presets (streaks within 45 degrees of vertical),
# each rainy crop JPEG-compressed at a quality from 30..95 (--synth-jpeg).
# Selection: iteration 6000's EMA G_B (RUN_DIR/checkpoint-00006000), chosen by
# blind judging on real photos: for this recipe with the earlier presets,
# iteration 8000 (the best validation score) was no better than 6000 and lost
# to both baselines; with the widened, compressed rain, 6000 beat both
# (docs/MODEL.md).
set -eu
script=train_default_model.sh default_run=default
# shellcheck source=scripts/recipe_data.sh
. "$(dirname "$0")/recipe_data.sh"
[ $# -gt 0 ] && shift
common="$data_opts \
  --residual --sparsity code --lambda-sparsity 0.01 --lambda-synth 10 --synth-rain mix --synth-jpeg 30:95 \
  --layer-head separate --layer-head-update step \
  --warmup 3000 --ema 0.999 --channels 32 --blocks 8 --ndf 32 --crop 128 --batch 2 --lr 2e-4 \
  --seed 1 --val-every 500 \
  --save-every 250 --keep-every 1000 --sample-every 250 --log-every 25"
# Phase 1, the warm-up: iterations 1-3000 at the constant learning rate.
resume=""
[ -f "$run/warmup/checkpoint.safetensors" ] && resume="--resume"
# shellcheck disable=SC2086 # $common is a list of options (no spaces in the paths)
$nlcl train $resume $common --out "$run/warmup" --iters 3000 --decay-iters 0 "$@"
# Phase 2, NLCL without L_adv and the location contrast (docs/MODEL.md):
# iterations 3001-8000 from the warm-up's checkpoint (iteration, Adam moments
# and EMA taken), the learning rate falling linearly to 0 over them.
start="--init-from $run/warmup/checkpoint-00003000.safetensors --init-continue"
[ -f "$run/checkpoint.safetensors" ] && start="--resume"
# shellcheck disable=SC2086
$nlcl train $start $common --out "$run" --iters 8000 --decay-iters 5000 \
  --lambda-gan 0 --lambda-loc 0 "$@"
best="$run/checkpoint-00006000.safetensors"
it=6000
p=$(awk -F'\t' -v it="$it" '$1 == it { print $2 }' "$run/validation.tsv")
# the image counts travel from the checkpoint (nlcl records them there since the
# twelfth session of 2026-12-07); a run begun by an older nlcl has them only in
# its exported models
imgs=""
if ! $nlcl info "$best" | grep -q '^training_images:'; then
  imgs=$($nlcl info "$run/G_B-best.safetensors" | sed -n 's/^training_images: *//p')
  [ -n "$imgs" ] || { echo "$script: no training_images in $best or $run/G_B-best.safetensors" >&2; exit 1; }
fi
$nlcl convert ${imgs:+--meta "training_images=$imgs"} --meta "training_command=$(sed -n 's/^command //p' "$run/config.txt" | sed "s#$shared#../shared/data#g")" \
  --meta "warmup_command=$(sed -n 's/^command //p' "$run/warmup/config.txt" | sed "s#$shared#../shared/data#g")" \
  --meta "training_data=$data_meta" \
  --meta "validation=iteration $it of 8000 ($p dB mean Y-PSNR on 96 synthetic pairs: Set14 and McMaster, which training never sees, each as light, heavy and downpour rain, nlcl synth --preset mix --copies 3 --seed 101), chosen by blind judging on 19 held-out real rainy photos; see docs/MODEL.md" \
  --meta "software=nlcl $($nlcl --version | awk 'NR == 1 {print $2}')" "$best" models/default.safetensors
echo "models/default.safetensors: iteration $it ($p dB on the validation pairs); rebuild to embed it (scripts/build.sh)"
