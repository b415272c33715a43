#!/usr/bin/env python3
"""The torch anchors of the GPU kernel timings, on the inputs relabel_bench --device cuda --save-inputs DIR wrote
(the same values as the kernels'), timed like the kernels: CUDA events around N back-to-back calls on one stream,
median of R repetitions, microseconds per call.

  released-labelpool   the released ReLabel path on the GPU: zeros [B,1000,15,15] + scatter of the top-k maps +
                       torchvision.ops.roi_align (aligned=False, sampling_ratio=-1) + softmax (label_pool, S=1)
  released-gather      the same after index_select of the crops' maps from the device-resident store
                       (label_pool_gather)
  torch-topk-half      torch.topk(x, 5, dim=1) with .half() values and int16 ids (topk_compress)

usage: anchors.py --inputs DIR [--calls 10] [--reps 10] > anchors.jsonl
"""
import argparse
import glob
import json
import os
import statistics
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inputs", required=True, help="relabel_bench --save-inputs DIR")
    ap.add_argument("--calls", type=int, default=10, help="back-to-back calls per timed repetition")
    ap.add_argument("--reps", type=int, default=10, help="timed repetitions (the median is reported)")
    a = ap.parse_args(argv)
    if a.calls < 1 or a.reps < 1:
        ap.error("--calls and --reps must be >= 1")
    import numpy as np
    import torch
    from torchvision.ops import roi_align

    if not torch.cuda.is_available():
        sys.exit("anchors.py: torch sees no CUDA device")
    dev = torch.device("cuda")
    npy = lambda name: np.load(os.path.join(a.inputs, name))  # noqa: E731
    load = lambda name: torch.from_numpy(npy(name))  # noqa: E731
    ids_of = lambda name: torch.from_numpy(npy(name).astype("int64")).to(dev)  # uint16 ids: torch has no uint16  # noqa: E731

    def timed(fn):
        fn()
        torch.cuda.synchronize()
        us = []
        for _ in range(a.reps):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            for _ in range(a.calls):
                fn()
            e.record()
            e.synchronize()
            us.append(s.elapsed_time(e) * 1e3 / a.calls)
        return statistics.median(us)

    def emit(rec):
        print(json.dumps(rec), flush=True)

    def labelpool(scores, ids, boxes, C=1000):
        B, k, H, W = scores.shape
        dense = torch.zeros(B, C, H, W, device=dev)
        dense.scatter_(1, ids, scores)
        rois = torch.cat([torch.arange(B, dtype=torch.float32, device=dev).view(-1, 1),
                          torch.stack([boxes[:, 0] * W, boxes[:, 1] * H, boxes[:, 2] * W, boxes[:, 3] * H], 1) - 0.5],
                         1)
        return torch.softmax(roi_align(dense, rois, (1, 1), 1.0, -1, False).view(B, C), 1)

    if os.path.exists(os.path.join(a.inputs, "pool_scores_f16.npy")):
        scores = load("pool_scores_f16.npy").to(dev).float()
        ids = ids_of("pool_ids_u16.npy")
        boxes = load("pool_boxes.npy").to(dev)
        emit({"anchor": "released-labelpool", "op": "label_pool", "batch": scores.shape[0], "S": 1,
              "us": round(timed(lambda: labelpool(scores, ids, boxes)), 3),
              "what": "zeros [B,1000,15,15] + scatter + roi_align + softmax"})
    if os.path.exists(os.path.join(a.inputs, "store_scores_f16.npy")):
        store_s = load("store_scores_f16.npy").to(dev)
        store_i = ids_of("store_ids_u16.npy")
        sel = load("gather_records.npy").to(dev)
        gboxes = load("gather_boxes.npy").to(dev)
        emit({"anchor": "released-gather", "op": "label_pool_gather", "batch": sel.shape[0], "S": 1,
              "us": round(timed(lambda: labelpool(store_s.index_select(0, sel).float(), store_i.index_select(0, sel),
                                                  gboxes)), 3),
              "what": "index_select from the device store + zeros + scatter + roi_align + softmax"})
    for path in sorted(glob.glob(os.path.join(a.inputs, "topk_dense_*_f16.npy"))):
        shape = os.path.basename(path)[len("topk_dense_"):-len("_f16.npy")]
        x16 = torch.from_numpy(np.load(path)).to(dev)
        for name, x in (("fp16", x16), ("fp32", x16.float() if shape.startswith("1024x") else None)):
            if x is None:
                continue

            def topk(x=x):
                v, i = torch.topk(x, 5, dim=1)
                return v.half(), i.to(torch.int16)

            emit({"anchor": "torch-topk-half", "op": "topk_compress", "shape": shape, "input": name,
                  "us": round(timed(topk), 3), "what": "torch.topk(x, 5, dim=1) + .half() + int16 ids"})
            del x
        del x16
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
