#!/usr/bin/env bash
# Data-parallel training on this machine's CPUs (Gloo over 127.0.0.1): the all-reduce time per step and the
# scaling from 1 to N ranks, through `relabel train` and `relabel launch` on generated JPEGs.
#
# usage: bench/dist.sh [--ranks N] [--steps S] [--batch B] [--repeat R] [--models M,...] [--images N] [--keep DIR]
#   --ranks N   ranks of the parallel runs (default 2)
#   --steps S   steps per run (default 20; the first 5 are warm-up and not counted)
#   --batch B   images per rank and step (default 32)
#   --repeat R  runs of the whole matrix, interleaved (default 3): on a shared machine the load of other jobs
#               changes from minute to minute, so every configuration is measured in every round
#   --models M  comma-separated subset of small-cnn,resnet18 (default both)
#   --images N  generated training JPEGs (default 1280)
# Smallest run (what `mvn verify` runs): --models small-cnn --images 64 --steps 6 --batch 4 --repeat 1
#
# Per model (small-cnn width 32 at 64 px: 0.39 M parameters; resnet18 at 32 px: 11.2 M) it runs
#   1 rank,  1 thread,  batch B        the per-core baseline
#   1 rank,  N threads, batch N*B      the other way to use N cores
#   N ranks, 1 thread,  batch N*B      c10d Reducer: buckets all-reduced during backward (the default)
#   N ranks, 1 thread,  batch N*B      --no-overlap: bucketed all-reduce after backward, timed (allreduce_ms)
# and prints a table: step time (median of the rounds' medians, and the fastest step seen), images/s, the
# all-reduce time per step, and the weak-scaling efficiency (N-rank images/s over N x the 1-rank, 1-thread
# images/s: 1.0 means the ranks lose nothing to communication), from the medians and from the fastest steps.
# The ranks share this machine's cores: with N = cores there is no core left for the loader and Gloo threads.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ranks=2
steps=20
batch=32
repeat=3
models="small-cnn,resnet18"
images=1280
keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --ranks) ranks="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --images) images="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    *) echo "usage: bench/dist.sh [--ranks N] [--steps S] [--batch B] [--repeat R] [--models M,...] [--images N]" \
         "[--keep DIR]" >&2; exit 2 ;;
  esac
done
model_list=()
for m in ${models//,/ }; do
  case "$m" in
    small-cnn) model_list+=("small-cnn w32 64px") ;;
    resnet18) model_list+=("resnet18 32px") ;;
    *) echo "bench/dist.sh: --models: unknown model '$m' (small-cnn, resnet18)" >&2; exit 2 ;;
  esac
done
[ ${#model_list[@]} -gt 0 ] || { echo "bench/dist.sh: --models is empty" >&2; exit 2; }
if [ "$steps" -le 5 ]; then echo "bench/dist.sh: --steps must be > 5 (the first 5 are warm-up)" >&2; exit 2; fi
work="${keep:-$(mktemp -d)}"
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
. "$root/bin/lib/build.sh"
relabel_build_if_stale "$root"
relabel="$root/bin/relabel"
[ -d "$work/data" ] || java -cp "$root/java/cli/target/lib/*" "$root/bench/dist/MakeImages.java" "$work/data" "$images" 160 120

port=$((20000 + RANDOM % 20000))
run() {  # name, ranks, threads, global batch, model args..., -- extra train args
  local name="$1" n="$2" threads="$3" global="$4"; shift 4
  rm -rf "$work/$name"
  local common=(--preset tiny --train "imagefolder:$work/data" --val '' --batch-size "$global" --workers 1
    --set "compute.threads=$threads" --set util.print_freq=1 --max-steps "$steps" --out "$work/$name" "$@")
  local rc=0
  if [ "$n" -eq 1 ]; then
    OMP_NUM_THREADS="$threads" "$relabel" train "${common[@]}" > "$work/$name.log" 2>&1 || rc=$?
  else
    port=$((port + 1))
    OMP_NUM_THREADS="$threads" "$relabel" launch --nproc-per-node "$n" --master-port "$port" -- train "${common[@]}" \
      > "$work/$name.log" 2>&1 || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then  # reported, kept, and left out of the table when it logged no steps
    cp "$work/$name.log" "$work/failed-$round-$name.log"
    echo "run $name ($*) exited with $rc; log: $work/failed-$round-$name.log" >&2
  fi
  return 0
}

summarize() {  # name, label, model label
  [ -f "$work/$1/metrics.jsonl" ] || return 0
  python3 - "$work/$1/metrics.jsonl" "$2" "$3" "$work" <<'PY'
import json, sys, os
path, label, model, work = sys.argv[1:5]
steps = [json.loads(l) for l in open(path) if '"kind":"step"' in l][5:]
rec = {"model": model, "run": label,
       "step_ms": [s["data_ms"] + s["compute_ms"] for s in steps],
       "images": [round(s["images_per_s"] * (s["data_ms"] + s["compute_ms"]) / 1e3) for s in steps],
       "allreduce_ms": [s["allreduce_ms"] for s in steps if "allreduce_ms" in s]}
with open(os.path.join(work, "results.jsonl"), "a") as f:
    f.write(json.dumps(rec) + "\n")
PY
}

rm -f "$work/results.jsonl"
for round in $(seq 1 "$repeat"); do
  for model in "${model_list[@]}"; do
    case "$model" in
      small*) args=(--set model.width=32 --set data.image_size=64) ;;
      resnet*) args=(--arch resnet18 --set data.image_size=32) ;;
    esac
    run one1 1 1 "$batch" "${args[@]}";                       summarize one1 "1 rank x 1 thread, batch $batch" "$model"
    run oneN 1 "$ranks" $((ranks * batch)) "${args[@]}";      summarize oneN "1 rank x $ranks threads, batch $((ranks * batch))" "$model"
    run par "$ranks" 1 $((ranks * batch)) "${args[@]}";       summarize par "$ranks ranks x 1 thread, overlapped (c10d Reducer)" "$model"
    run parA "$ranks" 1 $((ranks * batch)) "${args[@]}" --no-overlap
    summarize parA "$ranks ranks x 1 thread, all-reduce after backward" "$model"
  done
  echo "round $round done, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done

python3 - "$work/results.jsonl" "$ranks" <<'PY'
import json, sys, statistics
from collections import OrderedDict
n = int(sys.argv[2])
runs = OrderedDict()
for r in map(json.loads, open(sys.argv[1])):
    runs.setdefault((r["model"], r["run"]), []).append(r)
def stats(rs):
    med = statistics.median(statistics.median(r["step_ms"]) for r in rs)
    best = min(min(r["step_ms"]) for r in rs)
    images = statistics.median(i for r in rs for i in r["images"])
    ar = [a for r in rs for a in r["allreduce_ms"]]
    return med, best, images, (statistics.median(ar) if ar else None)
print("| model | run | step ms: median (fastest) | images/s: median (fastest) | all-reduce ms/step | weak scaling: median (fastest) |")
print("|---|---|---|---|---|---|")
base = {}
for (model, run), rs in runs.items():
    med, best, images, ar = stats(rs)
    ips, ips_best = images / med * 1e3, images / best * 1e3
    if run.startswith("1 rank x 1 thread"):
        base[model] = (ips, ips_best)
    eff = "" if run.startswith("1 rank") else "%.2f (%.2f)" % (ips / (n * base[model][0]), ips_best / (n * base[model][1]))
    print("| %s | %s | %.0f (%.0f) | %.1f (%.1f) | %s | %s |" % (model, run, med, best, ips, ips_best,
          "" if ar is None else "%.1f" % ar, eff))
print("\n%d round(s), %d counted steps per run" % (len(next(iter(runs.values()))), len(next(iter(runs.values()))[0]["step_ms"])))
PY
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
