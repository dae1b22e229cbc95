# shellcheck shell=sh disable=SC2034 # it sets variables for the sourcing script
# Sourced by scripts/train_default_model.sh and scripts/finetune_authors_model.sh
# (with $0's name in $script and the arguments "$@" still unshifted): the run
# folder (first argument, default runs/$default_run), the checks, and the
# data both recipes train and validate on (docs/MODEL.md):
#   rainy = Rain100L rainy 1-80 (a folder of links; 81-100 held out) and
#           ../shared/data/real_rain/{sirr,didmdn,udgnet,mwd} (heavyrain_web and
#           the NTURain videos held out for judging);
#   clean = ../shared/data/clean/{cbsd68,bsd300,urban100,sunhays80} (unpaired);
#   validation = 96 synthetic pairs from Set14 and McMaster, which training
#           never sees (nlcl synth --preset mix --copies 3 --seed 101).
# Sets nlcl, shared, run (the caller shifts it off), val and data_opts (the
# --rainy/--clean/--val-* options) and data_meta (the data, for the model's
# metadata).
: "${script:?}" "${default_run:?}"
cd "$(dirname "$0")/.." || exit 2
nlcl="${NLCL_BUILD_DIR:-build}/nlcl"
shared="$(cd ../shared/data && pwd)"
run="${1:-runs/$default_run}"
case "$run" in -*)
  echo "$script: give the run folder first ('$run' is an option): $0 RUN_DIR [options]" >&2; exit 2 ;;
esac
if [ ! -x "$nlcl" ]; then
  echo "$script: $nlcl not found: build first (scripts/build.sh) or set NLCL_BUILD_DIR" >&2; exit 2
fi
case "$shared$run" in *[[:space:]]*)
  echo "$script: the paths '$shared' and '$run' must not hold spaces" >&2; exit 2 ;;
esac
sel="$run/rain100l-1-80" valsrc="$run/val-clean-photos" val="$run/val"
mkdir -p "$sel" "$valsrc"
for i in $(seq 1 80); do ln -sf "$shared/rain100l/rainy/$i.png" "$sel/$i.png"; done
for f in "$shared"/clean/set14/* "$shared"/clean/mcmaster/*; do ln -sf "$f" "$valsrc/"; done
if [ ! -d "$val" ]; then # made whole or not at all: an interrupted synth leaves only $val.part
  rm -rf "$val.part"
  $nlcl synth --preset mix --copies 3 --seed 101 -o "$val.part" "$valsrc"
  mv "$val.part" "$val"
fi
data_opts="--rainy $sel --rainy $shared/real_rain/sirr --rainy $shared/real_rain/didmdn \
  --rainy $shared/real_rain/udgnet --rainy $shared/real_rain/mwd \
  --clean $shared/clean/cbsd68 --clean $shared/clean/bsd300 --clean $shared/clean/urban100 \
  --clean $shared/clean/sunhays80 --val-rainy $val/rainy --val-clean $val/clean"
data_meta="rainy:../shared/data/rain100l/rainy 1-80;rainy:../shared/data/real_rain/sirr;rainy:../shared/data/real_rain/didmdn;rainy:../shared/data/real_rain/udgnet;rainy:../shared/data/real_rain/mwd;clean:../shared/data/clean/cbsd68;clean:../shared/data/clean/bsd300;clean:../shared/data/clean/urban100;clean:../shared/data/clean/sunhays80"
