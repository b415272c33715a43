#!/usr/bin/env python3
"""The GPU timing table of bench/gpu/check.sh (Python standard library only: CI tests it without a GPU).

Reads the JSON lines of relabel_bench --device cuda (one file per kernel generation, RELABEL_KERNELS=v1|v2) and of
bench/gpu/anchors.py, and prints a markdown table: per kernel and generation, the kernel time (CUDA graph replay of
back-to-back launches: no host overhead), the time with the host launch path (events around the same launches),
the anchor's time on the same inputs, the ratio anchor / kernel, the bytes the op must move, the bound (bytes at
the device-to-device copy's bandwidth), kernel / bound, and the kernel's bandwidth as % of the copy's.

usage: table.py --bench bench_v1.jsonl [--bench bench_v2.jsonl ...] [--anchors anchors.jsonl] [--out timing.md]
"""
import argparse
import json
import sys


def read_jsonl(path):
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise SystemExit(f"table.py: {path}:{n}: not a JSON line ({e.msg}): {line[:80]!r}")
    return rows


def config_of(r):
    op = r["op"]
    if op == "topk_compress":
        return f"{r['shape']} {r['input']} -> fp16 k={r['k']}"
    if op == "label_pool_gather":
        return f"B={r['batch']} of {r['records']} records fp16 S=1 softmax"
    return f"B={r['batch']} {r['scores']} S={r['S']}" + (" softmax" if r.get("softmax") else "")


def anchor_for(r, anchors):
    for a in anchors:
        if a.get("op") != r["op"]:
            continue
        if r["op"] == "topk_compress" and (a.get("shape") != r["shape"] or a.get("input") != r["input"]):
            continue
        if r["op"] in ("label_pool", "label_pool_gather") and (a.get("batch") != r["batch"] or r["S"] != 1
                                                                 or r.get("scores") not in (None, "fp16")):
            continue
        return a
    return None


def fmt(v, spec):
    return "" if v is None else format(v, spec)


def table(bench_rows, anchors):
    """bench_rows: all relabel_bench lines (any generation); returns the markdown text."""
    copies = [r for r in bench_rows if r.get("op") == "copy"]
    copy_gbs = max((r["gb_per_s"] for r in copies), default=None)
    names = sorted({r["device_name"] for r in bench_rows if "device_name" in r})
    out = [f"Device: {', '.join(names) or 'unknown'}; device-to-device copy: "
           + (f"{copy_gbs:.0f} GB/s (read + write)" if copy_gbs else "not measured"), ""]
    out.append("| op | config | kernels | kernel µs (graph) | µs with launch (events) | anchor µs | anchor / kernel "
               "| bytes | bound µs | x bound | % of copy bandwidth |")
    out.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    ops = [r for r in bench_rows if r.get("op") in ("label_pool", "label_pool_gather", "topk_compress")]
    ops.sort(key=lambda r: (r["op"], config_of(r), r.get("kernels", "")))
    for r in ops:
        kernel = r["graph_us"] if r.get("graph_us", -1) > 0 else None
        best = kernel if kernel is not None else r.get("events_us")
        a = anchor_for(r, anchors)
        bound = r["bytes"] / (copy_gbs * 1e3) if copy_gbs else None  # bytes / (GB/s) -> µs
        ratio = a["us"] / best if a and best else None
        ratio_s = "" if ratio is None else (f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.2f}x")
        x_bound = best / bound if bound and best else None
        pct = f"{100.0 * bound / best:.0f}%" if bound and best else ""
        out.append("| " + " | ".join([
            r["op"], config_of(r), r.get("kernels", "v1"), fmt(kernel, ".2f") or "n/a", fmt(r.get("events_us"), ".2f"),
            fmt(a["us"] if a else None, ".1f"), ratio_s, f"{r['bytes']:.3g}", fmt(bound, ".2f"), fmt(x_bound, ".2f"),
            pct]) + " |")
    out.append("")
    out.append("kernel µs: CUDA graph of back-to-back launches, replayed (kernel time without host overhead; n/a where "
               "capture failed, then the events column is the measure); µs with launch: CUDA events around the same "
               "launches on one stream; anchors (bench/gpu/anchors.py) on the same inputs, CUDA events; bytes: the "
               "op's minimal traffic (label_pool: float32 output + the k entries of the sampled cells; topk: dense "
               "input read + k scores and ids written); bound = bytes at the copy's bandwidth.")
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", action="append", required=True, help="relabel_bench --device cuda output (repeat)")
    ap.add_argument("--anchors", default=None, help="bench/gpu/anchors.py output")
    ap.add_argument("--out", default=None, help="write the table here too")
    a = ap.parse_args(argv)
    rows = [r for p in a.bench for r in read_jsonl(p)]
    anchors = read_jsonl(a.anchors) if a.anchors else []
    text = table(rows, anchors)
    sys.stdout.write(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
