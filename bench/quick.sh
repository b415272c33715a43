#!/usr/bin/env bash
# Quick CPU benchmark of the native ops beside the released LabelPooling path (the anchor), in one run, and one
# table: op, ours, anchor, ratio, and the memory-bandwidth bound. (The JMH suite, labelpool-bench, comes later.)
#
# usage: bench/quick.sh [--iters N] [--anchor-iters N] [--build-dir DIR]
# Needs: cmake + a C++ compiler; for the anchor, Debian's python3-torchvision (apt-get install python3-torchvision);
# without it the anchor columns say so.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
iters=50
anchor_iters=10
build="$root/build/bench"
while [ $# -gt 0 ]; do
  case "$1" in
    --iters) iters="$2"; shift 2 ;;
    --anchor-iters) anchor_iters="$2"; shift 2 ;;
    --build-dir) build="$2"; shift 2 ;;
    *) echo "usage: bench/quick.sh [--iters N] [--anchor-iters N] [--build-dir DIR]" >&2; exit 2 ;;
  esac
done

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRELABEL_CUDA=OFF >/dev/null
cmake --build "$build" --parallel --target relabel_bench >/dev/null
bench="$build/native/bench/relabel_bench"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

anchor="$root/../shared/anchors/official_labelpool.py"
if [ -f "$anchor" ] && /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then
  for t in 1 2; do
    /usr/bin/python3 "$anchor" --batch 1024 --threads "$t" --iters "$anchor_iters" >>"$out/anchor.jsonl"
  done
else
  echo "anchor: not run (needs $anchor and /usr/bin/python3 with torch + torchvision: apt-get install python3-torchvision)" >&2
fi
"$bench" --op bandwidth --iters "$iters" >"$out/ours.jsonl"
for t in 1 2; do
  "$bench" --op pool --threads "$t" --iters "$iters" >>"$out/ours.jsonl"
  "$bench" --op gather --threads "$t" --iters "$iters" >>"$out/ours.jsonl"
done
"$bench" --op topk --threads 1 --iters "$iters" >>"$out/ours.jsonl"

python3 - "$out" <<'PY'
import json, os, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open(os.path.join(d, "ours.jsonl")) if l.strip()]
anchors = {}
if os.path.exists(os.path.join(d, "anchor.jsonl")):
    for l in open(os.path.join(d, "anchor.jsonl")):
        a = json.loads(l)
        anchors[a["threads"]] = a
bw = next(r["gb_per_s"] for r in rows if r["op"] == "bandwidth")
print(f"memory bandwidth probe (memcpy, read+write, 1 thread): {bw:.1f} GB/s")
print()
print("| op | config | threads | ours median ms (min) | anchor median ms | ratio | bound ms | x bound |")
print("|---|---|---|---|---|---|---|---|")
for a in sorted(anchors.values(), key=lambda a: a["threads"]):
    print(f"| official LabelPooling (anchor) | B=1024 k=5 15x15 C=1000 fp32, softmax | {a['threads']} | | "
          f"{a['median_ms']:.1f} | | | |")
for r in rows:
    if r["op"] in ("label_pool", "label_pool_gather"):
        cfg = f"B={r['batch']} k=5 15x15 C=1000 {r['scores']} S={r['S']}" + (" softmax" if r["softmax"] else "")
        a = anchors.get(r["threads"])
        comparable = r["S"] == 1 and r["softmax"]
        ratio = f"{a['median_ms'] / r['median_ms']:.0f}x" if a and comparable else ""
        amed = f"{a['median_ms']:.1f}" if a and comparable else ""
        bound = r["bytes_per_batch"] / (bw * 1e9) * 1e3
        print(f"| {r['op']} | {cfg} | {r['threads']} | {r['median_ms']:.3f} ({r['min_ms']:.3f}) | {amed} | {ratio} | "
              f"{bound:.3f} | {r['median_ms'] / bound:.1f} |")
    elif r["op"] == "topk_compress":
        cfg = f"B={r['batch']} C={r['classes']} {r['size']}x{r['size']} {r['input']} -> fp16, k=5"
        print(f"| topk_compress | {cfg} | {r['threads']} | {r['median_ms']:.3f} ({r['min_ms']:.3f}) | | | | "
              f"{r['input_gb_per_s']:.1f} GB/s in |")
PY
