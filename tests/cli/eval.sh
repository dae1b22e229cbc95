#!/bin/bash
# CLI test of `nlcl eval` (cli/cmd_eval.c): usage errors exit 2; generated
# folders exercise pairing by name (extension may differ), unpaired files,
# the input baseline, size mismatches, ambiguous names, corrupt files, NIQE's
# minimum size, identical images (PSNR inf), opaque RGBA, and the CSV/JSON
# outputs (parsed with Python). Oracles: a constant difference of 1 gives
# 10 log10(255^2) = 48.1308 dB on RGB; identical images give inf/null.
# Needs /usr/bin/python3 with PIL to generate images; without it only the
# usage checks run (reported as a skipped part).
set -u
BIN=${NLCL_BIN:-build/nlcl}
PY=/usr/bin/python3
fails=0
checks=0
T=$(mktemp -d "${TMPDIR:-/tmp}/nlcl-eval-XXXXXX")
trap 'rm -rf "$T"' EXIT

# expect_rc WANT DESCRIPTION -- command...
expect_rc() {
  local want=$1 what=$2
  shift 3
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  checks=$((checks + 1))
  if [ "$rc" != "$want" ]; then
    echo "FAIL: $what: exit $rc, wanted $want: $*" >&2
    sed 's/^/  stderr: /' "$T/err" >&2
    fails=$((fails + 1))
  fi
}
# expect_grep FILE PATTERN DESCRIPTION
expect_grep() {
  checks=$((checks + 1))
  if ! grep -q -- "$2" "$1"; then
    echo "FAIL: $3: '$2' not in $(basename "$1"):" >&2
    sed 's/^/  /' "$1" | head -20 >&2
    fails=$((fails + 1))
  fi
}

if [ ! -x "$BIN" ]; then echo "SKIPPED: $BIN not built" >&2; exit 77; fi

# ---- usage errors: exit 2 -------------------------------------------------------------
expect_rc 2 "no arguments" -- "$BIN" eval
expect_rc 2 "--pred without --gt" -- "$BIN" eval --pred "$T"
expect_rc 2 "--gt without --pred" -- "$BIN" eval --gt "$T"
expect_rc 2 "--input alone" -- "$BIN" eval --input "$T" --niqe "$T"
expect_rc 2 "negative crop" -- "$BIN" eval --pred "$T" --gt "$T" --crop -1
expect_rc 2 "bad channel" -- "$BIN" eval --pred "$T" --gt "$T" --channel xyz
expect_grep "$T/err" "y|rgb|gray" "bad channel lists the choices"
expect_rc 2 "unknown option" -- "$BIN" eval --pred "$T" --gt "$T" --frobnicate
expect_rc 2 "positional argument" -- "$BIN" eval --pred "$T" --gt "$T" extra
expect_rc 2 "missing value" -- "$BIN" eval --pred
expect_rc 0 "help" -- "$BIN" eval --help
expect_grep "$T/out" "--ssim-downsample" "help lists options"
expect_rc 1 "missing folder" -- "$BIN" eval --pred "$T/nope" --gt "$T"
expect_grep "$T/err" "$T/nope: no such folder" "missing folder named"

if ! "$PY" -c "import PIL, numpy" 2>/dev/null; then
  echo "SKIPPED part: /usr/bin/python3 with PIL and numpy not available (image cases)"
  [ $fails -eq 0 ] && { echo "eval.sh: all $checks checks passed"; exit 0; }
  exit 1
fi

# ---- generated images ----------------------------------------------------------------
"$PY" - "$T" <<'PYEOF'
import sys, os
import numpy as np
from PIL import Image
T = sys.argv[1]
rng = np.random.default_rng(1)
def mk(d):
    os.makedirs(os.path.join(T, d), exist_ok=True)
def save(d, name, arr, mode=None):
    Image.fromarray(arr, mode).save(os.path.join(T, d, name))
for d in ["gt", "pred", "inp", "pred_rgba", "pred_size", "pred_amb", "pred_none", "same",
          "niqe_ok", "niqe_small", "pred_bad", "niqe_stems"]:
    mk(d)
gts = {}
for stem in ["a", "b", "c", "2", "10"]:
    g = rng.integers(10, 200, size=(40, 48, 3), dtype=np.uint8)
    gts[stem] = g
    save("gt", stem + ".png", g)
    save("same", stem + ".png", g)
p = {k: (v + 1).astype(np.uint8) for k, v in gts.items()}
save("pred", "a.png", p["a"])
save("pred", "b.jpg", p["b"])          # pairs with gt/b.png
save("pred", "2.png", p["2"])
save("pred", "10.png", p["10"])
save("pred", "extra.png", p["a"])      # no partner in gt; gt/c.png has none in pred
for k in ["a", "b", "c", "2", "10"]:   # input: difference of 2
    save("inp", k + ".png", (gts[k] + 2).astype(np.uint8))
rgba = np.concatenate([p["a"], np.full((40, 48, 1), 255, np.uint8)], axis=2)
save("pred_rgba", "a.png", rgba, "RGBA")
save("pred_size", "a.png", rng.integers(0, 255, size=(40, 47, 3), dtype=np.uint8))
save("pred_amb", "a.png", p["a"])
save("pred_amb", "a.jpg", p["a"])
save("pred_none", "zzz.png", p["a"])
save("niqe_ok", "tex.png", rng.integers(0, 255, size=(128, 160, 3), dtype=np.uint8))
save("niqe_small", "tex.png", rng.integers(0, 255, size=(128, 160, 3), dtype=np.uint8))
save("niqe_small", "small95.png", rng.integers(0, 255, size=(95, 95, 3), dtype=np.uint8))
open(os.path.join(T, "pred_bad", "a.png"), "w").write("this is not a PNG\n")
tex = rng.integers(0, 255, size=(128, 160, 3), dtype=np.uint8)
save("niqe_stems", "x.png", tex)       # NIQE pairs nothing: two files, one stem
save("niqe_stems", "x.jpg", tex)
PYEOF
[ $? -eq 0 ] || { echo "FAIL: could not generate images" >&2; exit 1; }

# outputs into a missing folder: a clear error naming the file (exit 1)
expect_rc 1 "output folder missing" -- "$BIN" eval --pred "$T/pred" --gt "$T/gt" --json "$T/o/r.json"
expect_grep "$T/err" "$T/o/r.json: the folder $T/o does not exist" "missing output folder named, before computing"
mkdir -p "$T/o"
# pairing by name, unpaired reported, outputs written
expect_rc 0 "paired run" -- "$BIN" eval --pred "$T/pred" --gt "$T/gt" --input "$T/inp" \
  --channel rgb --per-image --csv "$T/o/r.csv" --json "$T/o/r.json"
expect_grep "$T/err" "warning: 2 files without a partner (same name without extension) left out: 1 of 5 in --pred without one in --gt (e.g. extra.png); 1 of 5 in --gt without one in --pred (e.g. c.png); --json lists them all" "unpaired files summed up in one line"
checks=$((checks + 1))
[ "$(grep -c partner "$T/err")" = 1 ] || { echo "FAIL: unpaired files: more than one line" >&2; fails=$((fails + 1)); }
mkdir -p "$T/pred_webp"; cp "$T/pred/a.png" "$T/pred_webp/"; printf 'RIFF....WEBPVP8 ' >"$T/pred_webp/b.webp"
expect_rc 0 "a folder with a .webp" -- "$BIN" eval --pred "$T/pred_webp" --gt "$T/gt"
expect_grep "$T/err" "nlcl eval: warning: $T/pred_webp: 1 file skipped that nlcl cannot read: b.webp (WebP)" "unreadable formats reported as skipped"
expect_rc 0 "paired run" -- "$BIN" eval --pred "$T/pred" --gt "$T/gt" --input "$T/inp" \
  --channel rgb --per-image --csv "$T/o/r.csv" --json "$T/o/r.json"
expect_grep "$T/out" "PSNR = PSNR(RGB, crop 0, range 255)" "convention printed"
expect_grep "$T/out" "^pred  *4 " "pred mean row"
expect_grep "$T/out" "^a  *48.1308 " "per-image PSNR of a constant difference of 1"
expect_grep "$T/out" "^input .* 5 " "input baseline row"
expect_grep "$T/out" "^10 " "per-image row"
checks=$((checks + 1))
ls "$T/o" | grep -q tmp && { echo "FAIL: temporary file left in output folder" >&2; fails=$((fails + 1)); }
"$PY" - "$T/o/r.json" "$T/o/r.csv" <<'PYEOF' || { echo "FAIL: JSON/CSV content" >&2; fails=$((fails + 1)); }
import sys, json, csv, math
j = json.load(open(sys.argv[1]))
pred = j["sets"]["pred"]
assert pred["count"] == 4, pred["count"]
img = {e["image"]: e for e in pred["images"]}
assert set(img) == {"a", "b", "2", "10"}, img.keys()
assert img["b"]["file"].endswith("b.jpg") and img["b"]["reference"].endswith("b.png")
want = 10 * math.log10(255 ** 2)
for k in ["a", "2", "10"]:
    assert abs(img[k]["psnr"] - want) < 1e-9, img[k]
inp = j["sets"]["input"]
assert inp["count"] == 5 and abs(inp["psnr_mean"] - 20 * math.log10(255 / 2)) < 1e-9, inp
assert "RGB" in j["conventions"]["psnr"] and "gaussian 11x11" in j["conventions"]["ssim"]
assert any(p.endswith("extra.png") for p in j["unpaired"]["pred"])
assert any(p.endswith("c.png") for p in j["unpaired"]["gt"])
assert j["errors"] == []
rows = list(csv.DictReader(open(sys.argv[2])))
assert rows and set(rows[0]) == {"kind", "set", "image", "file", "reference", "metric", "value", "convention"}
m = [r for r in rows if r["kind"] == "mean" and r["set"] == "input" and r["metric"] == "psnr"]
assert len(m) == 1 and abs(float(m[0]["value"]) - 20 * math.log10(255 / 2)) < 1e-6, m
assert all(r["convention"].startswith(r["metric"].upper()) for r in rows)
PYEOF

# --strict: unpaired files are an error
expect_rc 1 "--strict with unpaired files" -- "$BIN" eval --pred "$T/pred" --gt "$T/gt" --strict
expect_grep "$T/err" "without a partner" "--strict message"

# opaque RGBA scores like RGB
expect_rc 0 "RGBA prediction" -- "$BIN" eval --pred "$T/pred_rgba" --gt "$T/gt" --channel rgb
expect_grep "$T/out" "^pred .* 1 .*48.1308" "opaque RGBA = RGB"

# identical images: inf in the table, null in JSON
expect_rc 0 "identical images" -- "$BIN" eval --pred "$T/same" --gt "$T/gt" --json "$T/o/same.json"
expect_grep "$T/out" "^pred .* 5 .*inf .*1.00000" "identical: inf and SSIM 1"
expect_grep "$T/o/same.json" '"psnr_mean":	null' "identical: JSON null"

# errors named per file, exit 1
expect_rc 1 "size mismatch" -- "$BIN" eval --pred "$T/pred_size" --gt "$T/gt"
expect_grep "$T/err" "pred_size/a.png is 47x40 but .*gt/a.png is 48x40: sizes differ" "size mismatch named"
expect_rc 1 "ambiguous stems" -- "$BIN" eval --pred "$T/pred_amb" --gt "$T/gt"
expect_grep "$T/err" "ambiguous" "ambiguous names"
expect_rc 1 "no pairs" -- "$BIN" eval --pred "$T/pred_none" --gt "$T/gt"
expect_grep "$T/err" "no pairs" "no pairs message"
expect_rc 1 "corrupt prediction" -- "$BIN" eval --pred "$T/pred_bad" --gt "$T/gt"
expect_grep "$T/err" "pred_bad/a.png" "corrupt file named"

# NIQE pairs nothing: files sharing a stem are two images, not an error
expect_rc 0 "NIQE with one stem twice" -- "$BIN" eval --niqe "$T/niqe_stems"
expect_grep "$T/out" "^niqe .* 2 " "NIQE: both files scored"

# NIQE: minimum size is one 96x96 block
expect_rc 0 "NIQE" -- "$BIN" eval --niqe "$T/niqe_ok" --json "$T/o/niqe.json" --per-image
expect_grep "$T/out" "NIQE = NIQE(gray MATLAB rgb2gray, rounded, LIVE pristine model, 96x96 blocks, crop 0)" "NIQE convention"
"$PY" -c "
import json, math, sys
j = json.load(open(sys.argv[1]))
v = j['sets']['niqe']['images'][0]['niqe']
assert j['sets']['niqe']['count'] == 1 and math.isfinite(v) and v > 0, j
" "$T/o/niqe.json" || { echo "FAIL: NIQE JSON" >&2; fails=$((fails + 1)); }
checks=$((checks + 1))
expect_rc 1 "NIQE below 96x96" -- "$BIN" eval --niqe "$T/niqe_small" --niqe-channel y
expect_grep "$T/err" "small95.png: image 95x95 .* smaller than one 96x96 block" "NIQE minimum size named"
expect_grep "$T/out" "^niqe .* 1 " "NIQE mean over the valid image"

if [ $fails -ne 0 ]; then
  echo "eval.sh: $fails of $checks checks FAILED" >&2
  exit 1
fi
echo "eval.sh: all $checks checks passed"
