#!/bin/sh
# The paper's ablations with the default model's recipe at a small budget:
# Table 6 (full NLCL, then without L_adv, without the L1 sparsity, without
# the location contrast, without the layer contrast) and Table 2's sampling
# rows for the layer contrast (positives-negatives random-random,
# nonlocal-random, random-nonlocal; nonlocal-nonlocal is the full row).
# Each row is one 'nlcl train' run, scored on held-out synthetic pairs: the
# best validation Y-PSNR (and the SSIM at that iteration), as the default
# model is selected, and the last one (docs/RESULTS.md, "Ablations").
#
#   scripts/ablations.sh [options] [-- extra nlcl train options]
#     --out DIR        where the runs and the tables go (default runs/ablations)
#     --rows LIST      comma-separated rows (default: all, in the order below)
#     --iters N        iterations per row (default 1200)
#     --warmup N       supervised warm-up iterations (default 300)
#     --val-every N    validation period (default 300)
#     --val-copies N   rainy versions of each validation photo (default 3: 96 pairs)
#     --threads N      OpenMP threads of each run (default 2)
# Rows: full t6-no-adv t6-no-l1 t6-no-loc t6-no-layer t2-random-random
#       t2-nonlocal-random t2-random-nonlocal
#
# Recipe (scripts/train_default_model.sh at a smaller size): the same
# training data (Rain100L rainy 1-80, real_rain/{sirr,didmdn,udgnet,mwd};
# clean/{cbsd68,bsd300,urban100,sunhays80}), --residual, the L1 on O - B
# (--sparsity code, weight 0.01), synthetic pairs (mix, weight 10) with a
# supervised warm-up, the learning rate 2e-4 falling linearly to 0 after the
# warm-up, seed 1; smaller: C 16, K 4, ndf 32, crop 96, batch 1, and an EMA
# of G_B with decay 0.99 (the default's 0.999 would average over most of a
# 1200-iteration run, the warm-up included). Validation: the default
# model's pairs (Set14 and McMaster, which training never sees: nlcl synth
# --preset mix --seed 101). A row whose run finished with the same --iters is
# not run again (its scores are collected); an interrupted one resumes.
# Writes DIR/ROW/ (the run folders), DIR/ablations.tsv and DIR/ablations.md
# (the scores beside the paper's Table 6 / Table 2 values, the minutes each
# row took).
set -eu
cd "$(dirname "$0")/.."
nlcl="${NLCL_BUILD_DIR:-build}/nlcl"
shared="$(cd ../shared/data && pwd)"
out=runs/ablations iters=1200 warmup=300 val_every=300 copies=3 threads=2
rows="full t6-no-adv t6-no-l1 t6-no-loc t6-no-layer t2-random-random t2-nonlocal-random t2-random-nonlocal"
need() { [ $# -ge 2 ] || { echo "ablations.sh: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --out) need "$@"; out="$2"; shift 2 ;;
    --rows) need "$@"; rows=$(echo "$2" | tr ',' ' '); shift 2 ;;
    --iters) need "$@"; iters="$2"; shift 2 ;;
    --warmup) need "$@"; warmup="$2"; shift 2 ;;
    --val-every) need "$@"; val_every="$2"; shift 2 ;;
    --val-copies) need "$@"; copies="$2"; shift 2 ;;
    --threads) need "$@"; threads="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ablations.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$iters" "$warmup" "$val_every" "$copies" "$threads"; do
  case "$n" in ''|*[!0-9]*) echo "ablations.sh: '$n' is not a whole number" >&2; exit 2 ;; esac
done
[ "$warmup" -lt "$iters" ] || { echo "ablations.sh: --warmup must be below --iters" >&2; exit 2; }

# Each row's numbers in the paper (Table 6 for the t6 rows, Table 2 for the t2
# rows; the full row is both tables' NLCL (non-local/non-local) row) and its
# label in the table: "PSNR SSIM LABEL".
row_info() {
  case "$1" in
    full) echo "26.46 0.8666 NLCL (full; Table 2: non-local / non-local)" ;;
    t6-no-adv) echo "21.55 0.7984 w/o L_adv" ;;
    t6-no-l1) echo "26.33 0.8566 w/o L1 (sparsity)" ;;
    t6-no-loc) echo "25.20 0.8469 w/o location contrast" ;;
    t6-no-layer) echo "24.12 0.8402 w/o layer contrast" ;;
    t2-random-random) echo "25.83 0.8471 layer contrast: random / random" ;;
    t2-nonlocal-random) echo "26.18 0.8489 layer contrast: non-local / random" ;;
    t2-random-nonlocal) echo "26.16 0.8531 layer contrast: random / non-local" ;;
    *) return 1 ;;
  esac
}
for r in $rows; do row_info "$r" >/dev/null || { echo "ablations.sh: unknown row '$r' (see --help)" >&2; exit 2; }; done

sel="$out/data/rain100l-1-80" valsrc="$out/data/val-clean-photos" val="$out/data/val"
mkdir -p "$sel" "$valsrc"
for i in $(seq 1 80); do ln -sf "$shared/rain100l/rainy/$i.png" "$sel/$i.png"; done
for f in "$shared"/clean/set14/* "$shared"/clean/mcmaster/*; do ln -sf "$f" "$valsrc/"; done
[ -d "$val/rainy" ] || $nlcl synth --preset mix --copies "$copies" --seed 101 -o "$val" "$valsrc"

for r in $rows; do
  run="$out/$r"
  if [ -f "$run/G_B.safetensors" ] && [ -f "$run/minutes" ] && grep -qx "iters $iters" "$run/config.txt"; then
    echo "ablations.sh: $r: finished before, collecting its scores"
    continue
  fi
  sp=0.01 abl=""
  case "$r" in
    full) ;;
    t6-no-l1) sp=0 abl="--ablation $r" ;; # after the ablation, --lambda-sparsity would override it
    *) abl="--ablation $r" ;;
  esac
  resume=""
  [ -f "$run/checkpoint.safetensors" ] && resume="--resume"
  echo "ablations.sh: $r: training ($(date -u +%H:%M:%S) UTC)"
  t0=$(date +%s)
  # shellcheck disable=SC2086 # $abl and $resume are whole words or nothing
  $nlcl train -q $resume $abl \
    --rainy "$sel" --rainy "$shared/real_rain/sirr" --rainy "$shared/real_rain/didmdn" \
    --rainy "$shared/real_rain/udgnet" --rainy "$shared/real_rain/mwd" \
    --clean "$shared/clean/cbsd68" --clean "$shared/clean/bsd300" --clean "$shared/clean/urban100" \
    --clean "$shared/clean/sunhays80" \
    --out "$run" --residual --sparsity code --lambda-sparsity "$sp" --lambda-synth 10 --synth-rain mix \
    --warmup "$warmup" --ema 0.99 --channels 16 --blocks 4 --ndf 32 --crop 96 --batch 1 --lr 2e-4 \
    --iters "$iters" --decay-iters $((iters - warmup)) --seed 1 \
    --val-rainy "$val/rainy" --val-clean "$val/clean" --val-every "$val_every" \
    --save-every "$val_every" --sample-every 0 --log-every 50 --threads "$threads" "$@"
  t1=$(date +%s)
  prev=0
  [ -f "$run/minutes" ] && prev=$(cat "$run/minutes")
  awk -v a="$t0" -v b="$t1" -v p="$prev" 'BEGIN { printf "%.1f\n", p + (b - a) / 60 }' > "$run/minutes"
done

# The table: per row the best validation Y-PSNR (the SSIM at that iteration)
# and the last one. The warm-up is the same in every row, so a best score at
# the warm-up's end says that the row's NLCL phase did not raise it.
tsv="$out/ablations.tsv" md="$out/ablations.md"
printf 'row\tbest_iter\tpsnr_y\tssim\tlast_iter\tlast_psnr_y\tlast_ssim\tpaper_psnr\tpaper_ssim\tminutes\n' > "$tsv"
{
  echo "| row | best Y-PSNR (dB) | SSIM | at iteration | last Y-PSNR | SSIM | at iteration | paper PSNR | paper SSIM | minutes |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} > "$md"
for r in $rows; do
  v="$out/$r/validation.tsv"
  [ -f "$v" ] || { echo "ablations.sh: $r: no $v (not run)" >&2; continue; }
  best=$(awk -F'\t' '$1 ~ /^[0-9]+$/ { if (n == 0 || $2 > b) { b = $2; s = $3; it = $1 }; n = 1; li = $1; lb = $2; ls = $3 }
                     END { if (n) printf "%s\t%.2f\t%.4f\t%s\t%.2f\t%.4f", it, b, s, li, lb, ls }' "$v")
  [ -n "$best" ] || { echo "ablations.sh: $r: no validation yet" >&2; continue; }
  info=$(row_info "$r")
  # shellcheck disable=SC2086 # the first two words: the paper's PSNR and SSIM
  set -- $info
  min=$(cat "$out/$r/minutes" 2>/dev/null || echo "?")
  printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$best" "$1" "$2" "$min" >> "$tsv"
  echo "$best" | awk -F'\t' -v l="${info#* * }" -v pp="$1" -v ps="$2" -v m="$min" \
    '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", l, $2, $3, $1, $5, $6, $4, pp, ps, m }' >> "$md"
done
cat "$md"
