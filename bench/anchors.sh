#!/usr/bin/env bash
# Runs the released LabelPooling path (the anchor, ../shared/anchors/official_labelpool.py) and the matching JMH
# benchmarks of labelpool-bench in one go, then prints one markdown table: op, ours (JMH score +- error), anchor,
# ratio, and the memory-bandwidth bound (bytes the op must move / the bandwidth probe of the same run).
#
# usage: bench/anchors.sh [--quick|--smoke] [--install] [--out DIR] [-- JMH_ARGS...]
#        bench/anchors.sh --table DIR      (print the table of an earlier run again)
#   --quick    one thread, B=1024 only, short iterations: under 2 minutes on a 2-core VM (once built)
#   --smoke    what `mvn verify` runs: every benchmark of the table once, briefly, at B=64 (no fork), the anchor
#              once where torchvision is installed (else a visible skip); checks the script, not the speed
#   --install  apt-get install python3-torchvision (as root, or through sudo) for the anchor
#   --out DIR  keep the raw results there (default: bench/target/anchors-<UTC time>)
#   JMH_ARGS   extra arguments for labelpool-bench (e.g. -- -p batch=1024 to trim the full run)
# Builds first when needed (mvn -B -q -DskipTests package at the repo root). Without the anchor (no /usr/bin/python3
# with torch + torchvision, or ANCHOR_PYTHON), the table has our numbers and says the anchor is missing.
#
# The table describes the benchmark classes of TABLE_CLASSES; EXCLUDED_CLASSES have reports of their own. Every
# class labelpool-bench lists must be in one of the two (checked before anything runs), so that a new benchmark
# class cannot silently slow the run down or break the table.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=../bin/lib/build.sh
. "$root/bin/lib/build.sh"
TABLE_CLASSES=(BandwidthBench LabelPoolBench ReferenceBench StoreBench TopKBench CudaBench)
# AnnotateBench: a ResNet-50 teacher per run (minutes), reported in RESULTS.md's annotation section
#   (bench/labelpool-bench AnnotateBench); TrainBench: training epochs (bench/labelpool-bench TrainBench);
#   DenseLoaderBench: loader epochs with and without dense S x S targets (RESULTS.md's dense section).
EXCLUDED_CLASSES=(AnnotateBench TrainBench DenseLoaderBench)
quick=0
smoke=0
install=0
out=""
table_only=0
jmh_extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --smoke) smoke=1; quick=1; shift ;;
    --install) install=1; shift ;;
    --out) out="$2"; shift 2 ;;
    --table) out="$2"; table_only=1; shift 2 ;;
    --) shift; jmh_extra=("$@"); break ;;
    *) echo "usage: bench/anchors.sh [--quick|--smoke] [--install] [--out DIR] [-- JMH_ARGS...] | --table DIR" >&2; exit 2 ;;
  esac
done

# The table: JMH results + bytes per op + anchor lines of a run directory.
print_table() {
TABLE_CLASSES="${TABLE_CLASSES[*]}" python3 - "$1" <<'PY'
import json, os, sys
d = sys.argv[1]
note_file = os.path.join(d, "anchor-missing.txt")
note = open(note_file).read().strip() if os.path.exists(note_file) else ""
runs = json.load(open(os.path.join(d, "jmh.json")))
bytes_of = {}
for line in open(os.path.join(d, "bytes.jsonl")):
    r = json.loads(line)
    bytes_of[(r["benchmark"], tuple(sorted(r["params"].items())))] = r["bytes"]
anchors = [json.loads(l) for l in open(os.path.join(d, "anchor.jsonl"))] if os.path.exists(os.path.join(d, "anchor.jsonl")) else []

def anchor(kind, **kw):
    for a in anchors:
        if a["anchor"] == kind and all(a.get(k) == v for k, v in kw.items()):
            return a["median_ms"]
    return None

TO_MS = {"ns/op": 1e-6, "us/op": 1e-3, "ms/op": 1.0, "s/op": 1e3}
rows = []
for r in runs:
    name = r["benchmark"].rsplit(".", 2)
    p = r.get("params", {})
    m = r["primaryMetric"]
    scale = TO_MS[m["scoreUnit"]]
    err = float(m["scoreError"])  # "NaN" (a string in JMH's JSON) with a single iteration
    rows.append({"class": name[1], "op": name[2], "params": p, "ms": m["score"] * scale,
                 "err": (err if err == err else 0.0) * scale, "unit": m["scoreUnit"], "raw": m["score"],
                 "rawerr": err, "bytes": bytes_of.get((r["benchmark"], tuple(sorted(p.items()))))})

def bandwidth(cls):
    for r in rows:
        if r["class"] == cls and r["op"] == "copy":
            return r["bytes"] / (r["ms"] * 1e-3)
    return None
cpu_bw, gpu_bw = bandwidth("BandwidthBench"), bandwidth("CudaBench")
env = open(os.path.join(d, "env.txt")).read().strip().splitlines()
for line in env:
    print(f"- {line}")
if cpu_bw:
    print(f"- CPU bandwidth probe (256 MiB memcpy, read + write, 1 thread): {cpu_bw / 1e9:.1f} GB/s")
if gpu_bw:
    print(f"- GPU bandwidth probe (256 MiB device-to-device copy, read + write): {gpu_bw / 1e9:.0f} GB/s")
if note:
    print(f"- {note}")
print()

lp_anchor = {t: anchor("official-labelpool-cpu", threads=t) for t in (1, 2)}
pt_anchor = anchor("official-pt-load-cpu")
reused = anchor("official-labelpool-cpu-dense-reused")

KNOWN = set(os.environ["TABLE_CLASSES"].split())
unknown = sorted({r["class"] for r in rows} - KNOWN)
if unknown:
    sys.exit(f"anchors.sh: no table row description for benchmark class(es) {', '.join(unknown)}: add one to "
             "describe() in bench/anchors.sh, or exclude the class by name (EXCLUDED_CLASSES)")

def describe(r):
    p, op = r["params"], r["op"]
    if r["class"] == "BandwidthBench":
        return "bandwidth probe", "memcpy 256 MiB"
    if r["class"] == "TopKBench" or (r["class"] == "CudaBench" and op == "topk_compress"):
        return op, f"{p['shape']} {p['input']} -> fp16 k=5"
    if op == "find":
        return "store find", "1 key of 20,000"
    if op == "gather":
        return "store gather", "1024 random records of 20,000 (4,544 B)"
    if r["class"] == "CudaBench" and op == "copy":
        return "bandwidth probe (CUDA)", "D2D copy 256 MiB"
    s = p.get("S", "1")
    cfg = f"B={p['batch']} {p.get('scores', 'fp32' if r['class'] == 'ReferenceBench' else 'fp16')} S={s}" + (" softmax" if s == "1" else "")
    names = {"plain_java": "reference: plain Java", "libtorch": "reference: LibTorch ops (JavaCPP)",
             "label_pool_abi": "label_pool (C ABI, no facade)"}
    op_name = names.get(op, op)
    if r["class"] == "CudaBench":
        op_name += " (CUDA)"
    return op_name, cfg

def anchor_for(r):
    p, op = r["params"], r["op"]
    if r["class"] == "CudaBench":
        return None, ""
    if op == "gather":
        return pt_anchor, "torch.load x1024"
    if r["class"] == "TopKBench":
        return anchor("torch-topk-half-cpu", shape=p["shape"], input=p["input"]), \
            "torch.topk+half" if p["input"] == "fp32" else "float+torch.topk+half"
    if p.get("batch") != "1024" or p.get("S", "1") != "1":
        return None, ""
    t = int(p.get("threads", "1"))
    a = lp_anchor.get(t)
    if op.startswith("label_pool_gather"):
        return (a + pt_anchor if a is not None and pt_anchor is not None else None), "torch.load x1024 + labelpool"
    if op in ("label_pool", "label_pool_abi", "plain_java", "libtorch"):
        return a, "labelpool"
    return None, ""

def fmt_ms(v):
    return f"{v:.4g}" if v < 1000 else f"{v:.0f}"

order = {"BandwidthBench": 0, "LabelPoolBench": 1, "ReferenceBench": 2, "StoreBench": 3, "TopKBench": 4, "CudaBench": 5}
rows.sort(key=lambda r: (order.get(r["class"], 9), r["op"], int(r["params"].get("threads", 1)),
                         r["params"].get("scores", ""), int(r["params"].get("S", 1)), int(r["params"].get("batch", 0)),
                         r["params"].get("shape", ""), r["params"].get("input", "")))
print("| op | config | threads | ours ms/op (± 99.9% CI) | anchor ms | ratio | bound ms | x bound |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    op, cfg = describe(r)
    a, what = anchor_for(r)
    bw = gpu_bw if r["class"] == "CudaBench" else cpu_bw
    bound = r["bytes"] / bw * 1e3 if r["bytes"] and bw and r["op"] != "copy" else None
    nan = r["rawerr"] != r["rawerr"]
    ours = f"{fmt_ms(r['ms'])} ± " + ("n/a" if nan else fmt_ms(r["err"]))
    if r["unit"] != "ms/op":
        ours += f" ({r['raw']:.4g} ± " + ("n/a" if nan else f"{r['rawerr']:.2g}") + f" {r['unit']})"
    thr = r["params"].get("threads", "1" if r["class"] != "CudaBench" else "")
    anchor_cell = f"{fmt_ms(a)} ({what})" if a is not None else ""
    ratio = (f"{a / r['ms']:.0f}x" if a / r["ms"] >= 10 else f"{a / r['ms']:.2g}x") if a is not None else ""
    bound_cell = f"{bound:.3g}" if bound else ""
    x_bound = f"{r['ms'] / bound:.1f}" if bound else ""
    print(f"| {op} | {cfg} | {thr} | {ours} | {anchor_cell} | {ratio} | {bound_cell} | {x_bound} |")
if reused is not None:
    ours = next((r for r in rows if r["class"] == "LabelPoolBench" and r["op"] == "label_pool"
                 and r["params"] == {"S": "1", "batch": "1024", "scores": "fp16", "threads": "1"}), None)
    if ours:
        err = "n/a" if ours["rawerr"] != ours["rawerr"] else fmt_ms(ours["err"])
        print(f"| label_pool vs the anchor with its dense batch reused | B=1024 fp16 S=1 softmax | 1 | "
              f"{fmt_ms(ours['ms'])} ± {err} | {fmt_ms(reused)} (labelpool, dense reused) | "
              f"{reused / ours['ms']:.0f}x | | |")
PY
}
if [ "$table_only" = 1 ]; then
  print_table "$out"
  exit 0
fi
start_s=$(date +%s)
out="${out:-$here/target/anchors-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"

if [ "$install" = 1 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-torchvision >/dev/null
fi

relabel_build_if_stale "$root" "$out/build.log"
jar="$here/target/labelpool-bench.jar"

# Every benchmark class is either described by the table or excluded by name.
"$here/labelpool-bench" -l >"$out/list.txt" 2>"$out/list.err" || { cat "$out/list.err" >&2; exit 1; }
unclassified=""
for cls in $(sed -n 's/^org\.relabel4j\.bench\.\([A-Za-z0-9_]*\)\..*/\1/p' "$out/list.txt" | sort -u); do
  case " ${TABLE_CLASSES[*]} ${EXCLUDED_CLASSES[*]} " in
    *" $cls "*) ;;
    *) unclassified="$unclassified $cls" ;;
  esac
done
if [ -n "$unclassified" ]; then
  echo "anchors.sh: benchmark class(es)$unclassified are neither described by the table (TABLE_CLASSES) nor" \
    "excluded by name (EXCLUDED_CLASSES) in bench/anchors.sh" >&2
  exit 2
fi
include="\\.($(IFS='|'; echo "${TABLE_CLASSES[*]}"))\\."
classpath="$jar:$here/target/lib/*"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GB RAM"
  echo "jdk: $("${JAVA:-java}" -version 2>&1 | head -1)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "mode: $([ "$smoke" = 1 ] && echo smoke || { [ "$quick" = 1 ] && echo quick || echo full; })"
} >"$out/env.txt"

# ---- the anchor (released path, Debian's torch + torchvision on the CPU)
anchor="$root/../shared/anchors/official_labelpool.py"
py="${ANCHOR_PYTHON:-/usr/bin/python3}"  # Debian's python3 with python3-torch + python3-torchvision
pt_dir="$root/../shared/fixtures/official-pt/relabel_imagenet"
anchor_note=""
if [ -f "$anchor" ] && "$py" -c 'import torch, torchvision' 2>/dev/null; then
  if [ "$quick" = 1 ]; then threads_list="1"; iters=1; else threads_list="1 2"; iters=5; fi
  for t in $threads_list; do
    load_pt=()
    [ "$t" = 1 ] && [ -d "$pt_dir" ] && load_pt=(--load-pt "$pt_dir")
    echo "anchors.sh: anchor, $t thread(s)" >&2
    "$py" "$anchor" --batch 1024 --threads "$t" --iters "$iters" "${load_pt[@]}" >>"$out/anchor.jsonl"
  done
  # Two more measurements of the same torch install, beside the anchor (not part of it):
  #  - the anchor's labelpool() with its dense [B,1000,15,15] batch allocated once and zero_()-ed per call: how
  #    much of the anchor is first-touching 921 MB of fresh memory (page faults), which some machines make slow;
  #  - torch.topk(dense, 5, dim=1) with .half() values (fp16 logits through .float(): torch's CPU topk has no fp16
#    kernel): the compression anchor.
  echo "anchors.sh: anchor variants (dense batch reused; torch.topk)" >&2
  "$py" - "$quick" >>"$out/anchor.jsonl" <<'PY'
import json, statistics, sys, time
import torch
from torchvision.ops import roi_align
quick = sys.argv[1] == "1"
torch.set_num_threads(1)
torch.manual_seed(0)
B, K, S, C = 1024, 5, 15, 1000
scores = torch.randn(B, K, S, S).sort(dim=1, descending=True).values + 6.0
index = torch.rand(B * S * S, C).topk(K, dim=1).indices.view(B, S, S, K).permute(0, 3, 1, 2).float()
released = [torch.stack([scores[b], index[b]]) for b in range(B)]
y0, x0 = torch.rand(B) * 0.5, torch.rand(B) * 0.5
h, w = 0.2 + torch.rand(B) * 0.5, 0.2 + torch.rand(B) * 0.5
boxes = torch.stack([x0, y0, x0 + w, y0 + h], 1)
dense = torch.zeros(B, C, S, S)

def labelpool_reused(maps, boxes):
    dense.zero_()
    for d, m in zip(dense, maps):
        d.scatter_(0, m[1].long(), m[0])
    rois = torch.cat([torch.arange(len(maps), dtype=torch.float32).view(-1, 1), boxes * S - 0.5], 1)
    return torch.softmax(roi_align(dense, rois, output_size=(1, 1)).view(len(maps), C), 1)

def timed(fn, iters):
    fn()
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e3

print(json.dumps({"anchor": "official-labelpool-cpu-dense-reused", "batch": B, "threads": 1,
                  "median_ms": round(timed(lambda: labelpool_reused(released, boxes), 2 if quick else 5), 3)}))
shapes = [(64, 1000, 15)] if quick else [(64, 1000, 15), (16, 21843, 7)]
for b, c, s in shapes:
    x = torch.randn(b, c, s, s) * 3
    for name, t in ([("fp32", x)] if quick else [("fp32", x), ("fp16", x.half())]):
        def topk():  # torch's CPU topk has no fp16 kernel: fp16 logits go through float()
            v, i = torch.topk(t if t.dtype == torch.float32 else t.float(), 5, dim=1)
            return v.half(), i
        print(json.dumps({"anchor": "torch-topk-half-cpu", "shape": f"{b}x{c}x{s}x{s}", "input": name, "threads": 1,
                          "median_ms": round(timed(topk, 3 if quick else 10), 3)}))
PY
else
  anchor_note="anchor missing: needs $anchor and $py with torch + torchvision (bench/anchors.sh --install)"
  echo "anchors.sh: $anchor_note" >&2
fi

# ---- ours (JMH) and the bytes each op must move
if [ "$smoke" = 1 ]; then
  jmh_args=(-f 0 -wi 0 -i 1 -r 100ms -foe true -p batch=64 -p threads=1 -p scores=fp16 -p S=1
            -p shape=64x1000x15x15 -p input=fp32)
elif [ "$quick" = 1 ]; then
  jmh_args=(-f 1 -wi 1 -i 3 -w 500ms -r 500ms -foe true -p batch=1024 -p threads=1 -p scores=fp16 -p S=1
            -p shape=64x1000x15x15 -p input=fp32)
else
  jmh_args=()
fi
jmh_args+=("$include")
echo "anchors.sh: labelpool-bench ${jmh_args[*]} ${jmh_extra[*]}" >&2
# Smoke runs time nothing, so they ignore JMH's machine-wide lock (another JMH run on the machine, e.g. a parallel
# build's, would make them fail); quick and full runs keep it: their numbers need the machine to themselves.
[ "$smoke" = 1 ] && export LABELPOOL_BENCH_JAVA_OPTS="${LABELPOOL_BENCH_JAVA_OPTS:-} -Djmh.ignoreLock=true"
"$here/labelpool-bench" "${jmh_args[@]}" "${jmh_extra[@]}" -rf json -rff "$out/jmh.json" >"$out/jmh.log" 2>&1 || {
  tail -40 "$out/jmh.log" >&2
  exit 1
}
"${JAVA:-java}" -cp "$classpath" org.relabel4j.bench.BytesPerOp >"$out/bytes.jsonl"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/env.txt"
echo "wall: $(( $(date +%s) - start_s )) s" >>"$out/env.txt"

[ -z "$anchor_note" ] || echo "$anchor_note" >"$out/anchor-missing.txt"
print_table "$out"
