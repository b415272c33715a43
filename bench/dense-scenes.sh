#!/usr/bin/env bash
# Dense LabelPooling supervision on the Fashion-MNIST scenes of `relabel demo` (docs/training.md, "Dense
# supervision"): trains one ReLabel student (teacher maps, logits pooling at T=0.3) as the demo trains its students,
# global target only or with dense S x S targets, and evaluates it on the test scenes as the demo does (whole
# scene at 24 px; top-1 = the largest item, multi-label = the top-1 names any item present).
#
# usage: bench/dense-scenes.sh DEMO_OUT RUN_DIR SEED LR global|WEIGHT
#   DEMO_OUT: the output folder of a `relabel demo` run (its cache/ holds the scenes and the teacher's maps; its
#   students/ one one-hot student whose config.yaml is the students' recipe). Prints val and test numbers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
relabel="${RELABEL:-$root/bin/relabel}"
[ $# -eq 5 ] || { echo "usage: bench/dense-scenes.sh DEMO_OUT RUN_DIR SEED LR global|WEIGHT" >&2; exit 2; }
demo=$1; out=$2; seed=$3; lr=$4; w=$5
scenes=$(ls -d "$demo"/cache/scenes-*/ | head -1)
maps=$(ls "$demo"/cache/teacher-maps-*.rlm | head -1)
recipe=$(ls "$demo"/students/one-hot-*-seed0/config.yaml | head -1)
args=(--config "$recipe" --labelmaps "$maps" --set data.relabel.mode=logits --set data.relabel.temperature=0.3
  --set optim.lr.init="$lr" --set compute.seed="$seed" --set compute.num_workers=1 --set compute.threads=1
  --set util.out="$out")
[ "$w" = global ] || args+=(--dense --dense-weight "$w")
"$relabel" train "${args[@]}" > "$out.log" 2>&1
"$relabel" eval --data "imagefolder:${scenes}test" --model small-cnn --checkpoint "$out/model.pth" --size 24 \
  --crop-pct 1.0 --real "${scenes}test.real.json" --workers 1 --out "$out.test.json" > "$out.eval.log" 2>&1
python3 - "$out" <<'PY'
import json, sys
o = sys.argv[1]
s = json.load(open(o + "/summary.json")); t = json.load(open(o + ".test.json"))["metrics"]
print("%s: val top-1 %.2f, test top-1 %.2f, test multi-label %.2f" % (o, s["val_top1"], 100 * t["top1"], 100 * t["real"]["top1"]))
PY
