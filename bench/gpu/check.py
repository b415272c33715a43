#!/usr/bin/env python3
"""Correctness and timing check of librelabel through its C ABI (ctypes), against PyTorch/torchvision.

Correctness (on --device cuda through the relabel_cuda_* twins, on --device cpu through the CPU entry points):
  label_pool / label_pool_gather  vs torchvision.ops.roi_align over the dense map built in torch (scatter of the
                                  top-k logits, 0 elsewhere), box (x1*W-0.5, y1*H-0.5, x2*W-0.5, y2*H-0.5),
                                  aligned=False, sampling_ratio=-1; flips = output.flip(-1); softmax targets =
                                  torch.softmax(pooled / T, 1); probs mode = roi_align of the per-cell top-k softmax,
                                  divided by its sum over C (uniform 1/C where 0); official box order = the box read
                                  y/x-transposed with both axes scaled by W; pooling stats vs an indicator-map
                                  roi_align on the CPU; on CUDA every output also vs the CPU library (tight);
                                  CUDA data errors (bad record index / box: NaN rows + bad_entries), streams
  topk_compress                   vs torch.topk(x, k, dim=1) (values exact, .half() for fp16 output, ids checked by
                                  the values they gather and the tie rule: equal values keep the lower class id
                                  first); NaN/Inf input and fp16 overflow (device flags on CUDA, status on the CPU)
  fixtures                        shared/fixtures/labelpool/* and shared/fixtures/topk/* (if --fixtures exists)
Timing (CUDA; on the CPU only with --timing): ours vs the torch/torchvision path on the same device, CUDA-event
timed medians, and bytes moved vs the measured device-to-device copy bandwidth.

Writes <out>/check_results.json, <out>/timing.json and <out>/timing.md; exits 1 on any correctness failure.
usage: check.py --lib build-gpu/lib/librelabel.so [--fixtures DIR] [--out DIR] [--device cuda|cpu]
                [--seeds N] [--full|--quick] [--timing|--no-timing] [--threads N]
       check.py --selftest --lib LIB [--fixtures DIR]   (no GPU, no torch: what CI runs on every build)
The kernel generation the CUDA calls run is RELABEL_KERNELS (v1|v2) in the environment (check.sh runs both).
"""
import argparse
import ctypes
import itertools
import json
import os
import platform
import re
import statistics
import sys
import time
import traceback

# numpy, torch and torchvision: imported by import_torch() for the checks against torch/torchvision; the
# --selftest mode (what CI runs on every build, without a GPU or torch) needs only the standard library.
np = torch = torchvision = roi_align = None
TORCH_SCORE = TORCH_INDEX = TORCH_DENSE = None

# ---------------------------------------------------------------------------------------------------------------
# The C ABI (native/include/relabel/relabel.h)
# ---------------------------------------------------------------------------------------------------------------
RELABEL_ABI_VERSION = 2  # the ABI this script speaks (checked against relabel.h and the library)
RELABEL_MAX_K = 64
RELABEL_OK = 0
RELABEL_ERR_ARGUMENT = 1
RELABEL_ERR_NONFINITE = 2
RELABEL_ERR_NO_CUDA = 3
RELABEL_ERR_CUDA = 4
RELABEL_ERR_MEMORY = 5
RELABEL_ERR_BUSY = 6
RELABEL_ERR_FAULT = 7
RELABEL_F32 = 0
RELABEL_F16 = 1
RELABEL_BF16 = 2
RELABEL_U16 = 3
RELABEL_I32 = 4
RELABEL_U8 = 5
RELABEL_MODE_LOGITS = 0
RELABEL_MODE_PROBS = 1
RELABEL_BOX_XYXY = 0
RELABEL_BOX_OFFICIAL = 1
RELABEL_FLAG_NONFINITE = 1
RELABEL_FLAG_F16_OVERFLOW = 2
CONSTANTS = {k: v for k, v in globals().items() if k.startswith("RELABEL_")}

c_int32, c_int64, c_void_p, c_size_t = ctypes.c_int32, ctypes.c_int64, ctypes.c_void_p, ctypes.c_size_t


HEADER = os.environ.get("RELABEL_HEADER") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                          "native", "include", "relabel", "relabel.h")
CTYPES = {"int32_t": ctypes.c_int32, "int64_t": ctypes.c_int64, "float": ctypes.c_float}


def header_structs(path):
    """{struct name: [(field, C type), ...]} of every `typedef struct NAME { ... } NAME;` in relabel.h."""
    with open(path) as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    structs = {}
    for m in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*(\w+)\s*;", text, re.S):
        fields = re.findall(r"\b(int32_t|int64_t|float)\s+(\w+)\s*;", m.group(2))
        structs[m.group(1)] = [(name, ctype) for ctype, name in fields]
    return structs


def make_structs(path):
    """ctypes classes generated from the header's structs, so that they cannot drift from it."""
    if not os.path.exists(path):
        raise SystemExit(f"check.py: relabel.h not found at {path} (set RELABEL_HEADER)")
    return {name: type(name, (ctypes.Structure,), {"_fields_": [(f, CTYPES[t]) for f, t in fields]})
            for name, fields in header_structs(path).items()}


STRUCTS = make_structs(HEADER)
MapSpec, PoolParams = STRUCTS["relabel_map_spec"], STRUCTS["relabel_pool_params"]
PoolStats, RecordLayout = STRUCTS["relabel_pool_stats"], STRUCTS["relabel_record_layout"]


P_SPEC, P_PARAMS = ctypes.POINTER(MapSpec), ctypes.POINTER(PoolParams)
P_STATS, P_LAYOUT = ctypes.POINTER(PoolStats), ctypes.POINTER(RecordLayout)
P_F32, P_U8, P_I64, P_I32 = (ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_uint8),
                             ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_int32))


def load_lib(path):
    lib = ctypes.CDLL(os.path.abspath(path))

    def sig(name, restype, *argtypes):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, list(argtypes)

    sig("relabel_version", ctypes.c_char_p)
    if hasattr(lib, "relabel_build_info"):
        sig("relabel_build_info", ctypes.c_char_p)
    sig("relabel_abi_version", c_int32)
    sig("relabel_last_error", ctypes.c_char_p)
    sig("relabel_record_layout_of", c_int32, P_SPEC, P_LAYOUT)
    sig("relabel_label_pool", c_int32, P_SPEC, P_PARAMS, c_void_p, c_void_p, c_int64, P_F32, P_U8, P_F32, P_STATS)
    sig("relabel_label_pool_gather", c_int32, P_SPEC, P_PARAMS, c_void_p, c_int64, P_I64, c_int64, P_F32, P_U8,
        P_F32, P_STATS)
    sig("relabel_topk_compress", c_int32, c_void_p, c_int32, c_int64, c_int32, c_int32, c_int32, c_int32, c_void_p,
        c_int32, c_void_p, c_int32, c_int32)
    sig("relabel_cuda_built", c_int32)
    sig("relabel_cuda_device_count", c_int32, P_I32)
    sig("relabel_cuda_device_name", c_int32, c_int32, ctypes.c_char_p, c_int32)
    sig("relabel_cuda_label_pool", c_int32, P_SPEC, P_PARAMS, c_void_p, c_void_p, c_int64, P_F32, P_U8, P_F32,
        P_STATS, c_int32, c_void_p)
    sig("relabel_cuda_label_pool_gather", c_int32, P_SPEC, P_PARAMS, c_void_p, c_int64, P_I64, c_int64, P_F32, P_U8,
        P_F32, P_STATS, c_int32, c_void_p)
    sig("relabel_cuda_topk_compress", c_int32, c_void_p, c_int32, c_int64, c_int32, c_int32, c_int32, c_int32,
        c_void_p, c_int32, c_void_p, c_int32, P_I32, c_int32, c_void_p)
    sig("relabel_cuda_malloc", c_int32, c_int32, ctypes.POINTER(c_void_p), c_size_t)
    sig("relabel_cuda_free", c_int32, c_void_p)
    sig("relabel_cuda_memcpy", c_int32, c_void_p, c_void_p, c_size_t, c_int32)
    sig("relabel_cuda_memset", c_int32, c_void_p, c_int32, c_size_t)
    sig("relabel_cuda_synchronize", c_int32, c_int32, c_void_p)
    return lib


def header_constants(path):
    """#define RELABEL_* <int> of relabel.h."""
    found = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*#define\s+(RELABEL_[A-Z0-9_]+)\s+(-?\d+)\b", line)
            if m:
                found[m.group(1)] = int(m.group(2))
    return found


class RelabelError(Exception):
    def __init__(self, status, message):
        super().__init__(f"status {status}: {message}")
        self.status = status


def ptr(t, ctype=None):
    """A tensor's data pointer as a ctypes argument (None for None)."""
    if t is None:
        return None
    assert t.is_contiguous(), "non-contiguous tensor passed to the library"
    p = ctypes.c_void_p(t.data_ptr())
    return p if ctype is None else ctypes.cast(p, ctype)


def import_torch():
    global np, torch, torchvision, roi_align, TORCH_SCORE, TORCH_INDEX, TORCH_DENSE
    import numpy
    import torch as torch_
    import torchvision as torchvision_
    from torchvision.ops import roi_align as roi_align_
    np, torch, torchvision, roi_align = numpy, torch_, torchvision_, roi_align_
    TORCH_SCORE = {RELABEL_F32: torch.float32, RELABEL_F16: torch.float16}
    TORCH_INDEX = {RELABEL_I32: torch.int32, RELABEL_U16: torch.int16}  # uint16 held as int16 bit patterns
    TORCH_DENSE = {RELABEL_F32: torch.float32, RELABEL_F16: torch.float16, RELABEL_BF16: torch.bfloat16}


DTYPE_NAME = {RELABEL_F32: "f32", RELABEL_F16: "f16", RELABEL_BF16: "bf16", RELABEL_U16: "u16", RELABEL_I32: "i32",
              RELABEL_U8: "u8"}


def ids_to_storage(ids, index_dtype):
    """int64 class ids -> the tensor the library reads (uint16 as int16 bits)."""
    if index_dtype == RELABEL_U16:
        return torch.where(ids >= 32768, ids - 65536, ids).to(torch.int16).contiguous()
    return ids.to(torch.int32).contiguous()


def ids_from_storage(t, index_dtype):
    t = t.to(torch.int64)
    return t & 0xFFFF if index_dtype == RELABEL_U16 else t


class Backend:
    """The library's ops on one device (cuda: relabel_cuda_*, torch tensors' device pointers, torch's current
    stream; cpu: relabel_*)."""

    def __init__(self, lib, device, threads):
        self.lib, self.device, self.threads = lib, device, threads
        self.cuda = device.type == "cuda"
        self.index = device.index if device.index is not None else (torch.cuda.current_device() if self.cuda else 0)

    def err(self, status):
        if status != RELABEL_OK:
            raise RelabelError(status, self.lib.relabel_last_error().decode(errors="replace"))

    def stream(self):
        return ctypes.c_void_p(torch.cuda.current_stream(self.device).cuda_stream) if self.cuda else None

    def params(self, S, mode, softmax, box_order, temperature):
        return PoolParams(S, mode, box_order, softmax, temperature, self.threads)

    def pool(self, spec, params, scores, ids, boxes, flips, stats=None, check=True):
        B = boxes.shape[0]
        out = torch.empty(B, spec.classes, params.out_size, params.out_size, dtype=torch.float32, device=self.device)
        st = ptr(stats, P_STATS)
        if self.cuda:
            status = self.lib.relabel_cuda_label_pool(ctypes.byref(spec), ctypes.byref(params), ptr(scores), ptr(ids),
                                                      B, ptr(boxes, P_F32), ptr(flips, P_U8), ptr(out, P_F32), st,
                                                      self.index, self.stream())
        else:
            status = self.lib.relabel_label_pool(ctypes.byref(spec), ctypes.byref(params), ptr(scores), ptr(ids), B,
                                                 ptr(boxes, P_F32), ptr(flips, P_U8), ptr(out, P_F32), st)
        if check:
            self.err(status)
            return out
        return status, out

    def pool_gather(self, spec, params, records, num_records, record_idx, boxes, flips, stats=None, check=True):
        B = boxes.shape[0]
        out = torch.empty(B, spec.classes, params.out_size, params.out_size, dtype=torch.float32, device=self.device)
        st = ptr(stats, P_STATS)
        if self.cuda:
            status = self.lib.relabel_cuda_label_pool_gather(
                ctypes.byref(spec), ctypes.byref(params), ptr(records), num_records, ptr(record_idx, P_I64), B,
                ptr(boxes, P_F32), ptr(flips, P_U8), ptr(out, P_F32), st, self.index, self.stream())
        else:
            status = self.lib.relabel_label_pool_gather(ctypes.byref(spec), ctypes.byref(params), ptr(records),
                                                        num_records, ptr(record_idx, P_I64), B, ptr(boxes, P_F32),
                                                        ptr(flips, P_U8), ptr(out, P_F32), st)
        if check:
            self.err(status)
            return out
        return status, out

    def topk(self, dense, dense_dtype, k, score_dtype, index_dtype, flags=None, check=True):
        B, C, H, W = dense.shape
        scores = torch.empty(B, k, H, W, dtype=TORCH_SCORE[score_dtype], device=self.device)
        ids = torch.empty(B, k, H, W, dtype=TORCH_INDEX[index_dtype], device=self.device)
        if self.cuda:
            status = self.lib.relabel_cuda_topk_compress(ptr(dense), dense_dtype, B, C, H, W, k, ptr(scores),
                                                         score_dtype, ptr(ids), index_dtype, ptr(flags, P_I32),
                                                         self.index, self.stream())
        else:
            status = self.lib.relabel_topk_compress(ptr(dense), dense_dtype, B, C, H, W, k, ptr(scores), score_dtype,
                                                    ptr(ids), index_dtype, self.threads)
        if check:
            self.err(status)
        return status, scores, ids

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize(self.device)


# ---------------------------------------------------------------------------------------------------------------
# Result bookkeeping
# ---------------------------------------------------------------------------------------------------------------
class Report:
    def __init__(self):
        self.results = []

    def add(self, name, ok, detail="", max_err=None, level="FAIL", tol_used=None):
        rec = {"check": name, "ok": bool(ok), "detail": detail}
        if max_err is not None:
            rec["max_err"] = max_err
        if tol_used is not None:
            rec["tol_used"] = tol_used  # max over elements of err / tolerance (1 = at the limit)
        if not ok:
            rec["level"] = level
            print(f"{level} {name}: {detail}", flush=True)
        self.results.append(rec)
        return ok

    def close(self, name, got, want, rtol, atol):
        """|got - want| <= atol + rtol |want| elementwise; NaN must match NaN."""
        dev = got.device if got.is_cuda else want.device  # compare on the GPU when there is one (large outputs)
        got = got.detach().float().to(dev)
        want = want.detach().float().to(dev)
        if got.shape != want.shape:
            return self.add(name, False, f"shape {tuple(got.shape)} != {tuple(want.shape)}")
        gn, wn = torch.isnan(got), torch.isnan(want)
        diff = (got - want).abs()
        diff = torch.where(gn & wn, torch.zeros_like(diff), diff)
        diff = torch.where(gn ^ wn, torch.full_like(diff, float("inf")), diff)
        tol = atol + rtol * want.abs().nan_to_num(0.0)
        excess = diff - tol
        bad = ~(excess <= 0)
        max_err = float(diff.max()) if diff.numel() else 0.0
        used = float((diff / tol).max()) if diff.numel() else 0.0
        if not bool(bad.any()):
            return self.add(name, True, f"max abs err {max_err:.3g}", max_err, tol_used=used)
        flat = int(torch.argmax(torch.where(bad, excess.nan_to_num(float("inf")), torch.full_like(excess, -1.0))))
        at = np.unravel_index(flat, tuple(got.shape))
        got, want = got.cpu(), want.cpu()
        return self.add(name, False,
                        f"{int(bad.sum())}/{got.numel()} elements out of tolerance (rtol {rtol:g}, atol {atol:.3g}); "
                        f"max abs err {max_err:.4g}; worst at {tuple(int(i) for i in at)}: got "
                        f"{float(got.reshape(-1)[flat]):.9g}, want {float(want.reshape(-1)[flat]):.9g}", max_err,
                        tol_used=used)

    def equal(self, name, got, want):
        got, want = got.detach().cpu(), want.detach().cpu()
        if got.shape != want.shape:
            return self.add(name, False, f"shape {tuple(got.shape)} != {tuple(want.shape)}")
        ne = got != want
        if got.is_floating_point():
            ne = ne & ~(torch.isnan(got) & torch.isnan(want))
        if not bool(ne.any()):
            return self.add(name, True)
        flat = int(torch.nonzero(ne.reshape(-1))[0])
        at = np.unravel_index(flat, tuple(got.shape))
        return self.add(name, False, f"{int(ne.sum())}/{got.numel()} elements differ; first at "
                                     f"{tuple(int(i) for i in at)}: got {got.reshape(-1)[flat].item()}, "
                                     f"want {want.reshape(-1)[flat].item()}")

    def guarded(self, name, fn):
        """Runs one check group; an exception (library error, CUDA fault) is a failure of that group."""
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported
            self.add(name, False, f"{type(e).__name__}: {e}")
            traceback.print_exc()
            if (isinstance(e, RuntimeError) and "CUDA" in str(e)) or \
                    (isinstance(e, RelabelError) and e.status == RELABEL_ERR_CUDA):
                raise  # a sticky CUDA error poisons everything after it

    def failures(self):
        return [r for r in self.results if not r["ok"] and r.get("level", "FAIL") == "FAIL"]

    def warnings(self):
        return [r for r in self.results if not r["ok"] and r.get("level") == "WARN"]


# ---------------------------------------------------------------------------------------------------------------
# Inputs and the torch reference
# ---------------------------------------------------------------------------------------------------------------
def random_topk_maps(gen, B, k, H, W, C):
    """Descending scores (float32, mixed sign) and distinct class ids per cell, [B,k,H,W]."""
    n = B * H * W
    scores = (torch.randn(n, k, generator=gen) * 3.0 + 1.0).sort(dim=1, descending=True).values
    if n * C <= 2e7:  # small: a random permutation per cell
        ids = torch.rand(n, C, generator=gen).argsort(dim=1)[:, :k].contiguous()
    else:
        ids = torch.randint(C, (n, k), generator=gen)
    while True:  # resample the rows with a repeated id (k << C here)
        s = ids.sort(dim=1).values
        dup = (s[:, 1:] == s[:, :-1]).any(dim=1) if k > 1 else torch.zeros(n, dtype=torch.bool)
        if not bool(dup.any()):
            break
        ids[dup] = torch.randint(C, (int(dup.sum()), k), generator=gen)
    to_map = lambda t: t.view(B, H, W, k).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    return to_map(scores), to_map(ids)


BOX_KINDS = ["normal", "full", "partly_outside", "outside", "zero_size", "sub_cell", "inverted", "large"]


def random_boxes(gen, B, H, W):
    """[B,4] normalized (x1, y1, x2, y2): ordinary crops plus boxes outside the image, zero-size, sub-cell,
    inverted and large ones."""
    u = lambda *s: torch.rand(*s, generator=gen)  # noqa: E731
    kind = torch.randint(len(BOX_KINDS), (B,), generator=gen)
    kind[torch.rand(B, generator=gen) < 0.5] = 0  # half of them ordinary crops
    x0, y0 = u(B) * 0.8, u(B) * 0.8
    w, h = 0.05 + u(B) * (1.0 - x0 - 0.05).clamp(min=0.0), 0.05 + u(B) * (1.0 - y0 - 0.05).clamp(min=0.0)
    boxes = torch.stack([x0, y0, x0 + w, y0 + h], 1)
    for i in range(B):
        kd = BOX_KINDS[int(kind[i])]
        a, b = float(u(1)), float(u(1))
        if kd == "full":
            boxes[i] = torch.tensor([0.0, 0.0, 1.0, 1.0])
        elif kd == "partly_outside":
            boxes[i] = torch.tensor([a - 0.6, b - 0.6, a + 0.7, b + 0.8])
        elif kd == "outside":  # no sample inside the map: pooled 0, softmax/probs uniform
            side = int(u(1) * 4)
            base = [[1.3, -0.2, 2.5, 1.2], [-2.5, 0.1, -1.3, 0.9], [0.1, 1.3, 0.9, 2.7], [-0.2, -3.0, 1.2, -1.4]][side]
            boxes[i] = torch.tensor(base)
        elif kd == "zero_size":
            boxes[i, 2], boxes[i, 3] = (boxes[i, 0], boxes[i, 3]) if a < 0.5 else (boxes[i, 0], boxes[i, 1])
            if b < 0.3:
                boxes[i, 3] = boxes[i, 1]
        elif kd == "sub_cell":
            boxes[i, 2] = boxes[i, 0] + a * 0.9 / W
            boxes[i, 3] = boxes[i, 1] + b * 0.9 / H
        elif kd == "inverted":
            boxes[i] = boxes[i][[2, 3, 0, 1]]
        elif kd == "large":
            boxes[i] = torch.tensor([-3.0 * a - 0.5, -2.0 * b - 0.5, 4.0 + 3.0 * b, 2.0 + 5.0 * a])
    return boxes.float().contiguous()


def rois_of(boxes, H, W, box_order):
    """torchvision rois [B,5] of normalized boxes, computed in float32 like the kernels (x*W - 0.5)."""
    idx = torch.arange(boxes.shape[0], dtype=torch.float32, device=boxes.device).view(-1, 1)
    if box_order == RELABEL_BOX_OFFICIAL:  # (y1, x1, y2, x2) read as (x1, y1, x2, y2), both axes scaled by W
        xyxy = torch.stack([boxes[:, 1] * W - 0.5, boxes[:, 0] * W - 0.5, boxes[:, 3] * W - 0.5,
                            boxes[:, 2] * W - 0.5], 1)
    else:
        xyxy = torch.stack([boxes[:, 0] * W - 0.5, boxes[:, 1] * H - 0.5, boxes[:, 2] * W - 0.5,
                            boxes[:, 3] * H - 0.5], 1)
    return torch.cat([idx, xyxy], 1)


def ref_pool(values, ids, C, boxes, S, box_order, chunk_bytes):
    """roi_align 'S x S' of the dense map scatter(values at ids, 0 elsewhere): [B,C,S,S] float32 (values float32,
    ids int64, [B,k,H,W], all on the reference device). Chunked over the batch to bound the dense map."""
    B, k, H, W = values.shape
    chunk = max(1, int(chunk_bytes // (C * H * W * 4)))
    outs = []
    for s in range(0, B, chunk):
        e = min(B, s + chunk)
        dense = torch.zeros(e - s, C, H, W, dtype=torch.float32, device=values.device)
        dense.scatter_(1, ids[s:e], values[s:e])
        outs.append(roi_align(dense, rois_of(boxes[s:e], H, W, box_order), output_size=(S, S), spatial_scale=1.0,
                              sampling_ratio=-1, aligned=False))
        del dense
    return torch.cat(outs, 0)


def apply_flips(pooled, flips):
    if flips is None:
        return pooled
    return torch.where(flips.view(-1, 1, 1, 1).bool(), pooled.flip(-1), pooled)


def ref_probs(values, ids, C, boxes, S, box_order, temperature, chunk_bytes):
    p = torch.softmax(values.double() / temperature, dim=1).float()  # per cell over its top-k
    pooled = ref_pool(p, ids, C, boxes, S, box_order, chunk_bytes).double()
    total = pooled.sum(dim=1, keepdim=True)
    return torch.where(total > 0, pooled / total, torch.full_like(pooled, 1.0 / C))


def ref_stats(values, boxes, H, W, S, box_order):
    """(cells, cells_top1_nonpositive): the (output position, map cell) pairs of nonzero RoIAlign weight, from the
    roi_align of an indicator map (one channel per cell), on the CPU (no FMA contraction, like the kernels)."""
    values, boxes = values.cpu(), boxes.cpu()
    eye = torch.eye(H * W, dtype=torch.float32).view(1, H * W, H, W)
    rois = rois_of(boxes, H, W, box_order)
    rois[:, 0] = 0.0
    wts = roi_align(eye, rois, output_size=(S, S), spatial_scale=1.0, sampling_ratio=-1, aligned=False)
    nz = wts != 0  # [B, HW, S, S]
    nonpos = (values[:, 0] <= 0).reshape(-1, H * W, 1, 1)
    return int(nz.sum()), int((nz & nonpos).sum())


def make_records(lib, spec, scores_st, ids_st, device, quant=None):
    """The record array of relabel_record_layout_of(spec), built in torch on `device`: [R, record_size] uint8.
    quant: [R, 2] float32 (scale, offset) of RELABEL_U8 records."""
    layout = RecordLayout()
    status = lib.relabel_record_layout_of(ctypes.byref(spec), ctypes.byref(layout))
    if status != RELABEL_OK:
        raise RelabelError(status, lib.relabel_last_error().decode())
    R = scores_st.shape[0]
    records = torch.zeros(R, layout.record_size, dtype=torch.uint8, device=device)
    sb = scores_st.reshape(R, -1).view(torch.uint8)
    ib = ids_st.reshape(R, -1).view(torch.uint8)
    records[:, layout.scores_offset:layout.scores_offset + sb.shape[1]] = sb
    records[:, layout.indices_offset:layout.indices_offset + ib.shape[1]] = ib
    if quant is not None:
        records[:, layout.quant_offset:layout.quant_offset + 8] = quant.view(torch.uint8).view(R, 8)
    return records.contiguous(), layout


# ---------------------------------------------------------------------------------------------------------------
# Correctness: LabelPooling
# ---------------------------------------------------------------------------------------------------------------
# Tolerances. vs torchvision: pooled |err| <= 1e-5 |want| + A * max|score|, with A = 1e-6 against torchvision's
# CPU roi_align (same float32 sample positions as the kernels: no FMA) and 4e-6 against its CUDA kernel (nvcc
# contracts the sample position into an FMA: a position 1 ulp off moves a bilinear weight by ~1e-6 next to a
# 0 -> logit step of the dense map). Softmax: an absolute error e of the pooled logits is a relative error of up to
# 2e/T of every probability, so rtol = 1e-5 + 2 A max|score| / T (atol 1e-9: small probabilities are checked
# relatively too). Probs: pooled distributions in [0, 1]: rtol 1e-5, atol A.
# CUDA vs the CPU library (the same arithmetic, only the summation order differs): A = 1e-6 throughout.
POOL_RTOL = 1e-5
SOFT_RTOL, SOFT_ATOL = 1e-5, 1e-9


class Tol:
    def __init__(self, a, scale, temperature):
        self.pool = (POOL_RTOL, a * scale)
        self.soft = (SOFT_RTOL + 2.0 * a * scale / temperature, SOFT_ATOL)
        self.probs = (SOFT_RTOL, a)

    def of(self, kind):
        return {"pooled": self.pool, "softmax": self.soft, "probs": self.probs}[kind]


def softmax64(pooled, temperature):
    """The softmax reference over C, in float64: torch's float32 CPU softmax is off by up to ~3e-5 absolute on
    C=1000 rows with a dominant class (measured with torch 1.13), more than the kernels' own error."""
    return torch.softmax(pooled.double() / temperature, dim=1)


def pool_cases(seeds, full):
    """The random LabelPooling grid: each (C, map) pair per seed, B/k/S/dtypes rotating across them."""
    Cs = [10, 1000, 21843]
    maps = [(15, 15), (14, 14), (12, 20)]
    Bs = [1, 37, 1024]
    ks = [1, 5]
    Ss = [1, 2, 7]
    dtypes = [(RELABEL_F32, RELABEL_I32), (RELABEL_F16, RELABEL_U16), (RELABEL_F16, RELABEL_I32),
              (RELABEL_F32, RELABEL_U16)]
    max_out = 64e6 if full else 8e6          # B*C*S*S floats of one output
    max_dense = 6e9 if full else 1.2e8       # B*C*H*W floats of the reference dense maps (chunked)
    cases = []

    def add(seed, B, k, H, W, C, S, sd, idt, temperature):
        k = min(k, C)
        while B > 1 and (B * C * S * S > max_out or B * C * H * W > max_dense):
            B = 37 if B > 37 else 1
        cases.append(dict(seed=seed, B=B, k=k, H=H, W=W, C=C, S=S, score_dtype=sd, index_dtype=idt,
                          temperature=temperature))

    # Every (C, map) pair per seed; B and S rotate so that over 3 seeds each pair sees every B and every S.
    for seed in range(seeds):
        for (ci, C), (mi, (H, W)) in itertools.product(enumerate(Cs), enumerate(maps)):
            i = 3 * ci + mi
            sd, idt = dtypes[(i + seed) % 4]
            add(seed, Bs[(ci + mi + seed) % 3], ks[(i + seed) % 2], H, W, C, Ss[(ci + 2 * mi + seed) % 3], sd, idt,
                2.0 if (i + seed) % 5 == 4 else 1.0)
    # The production configuration (ReLabel on ImageNet-1k) and large C with k=5.
    add(200, 1024, 5, 15, 15, 1000, 1, RELABEL_F16, RELABEL_U16, 1.0)
    add(201, 1024, 5, 15, 15, 1000, 7, RELABEL_F32, RELABEL_I32, 1.0)
    add(202, 64, 5, 14, 14, 21843, 2, RELABEL_F16, RELABEL_I32, 1.0)
    # The per-class accumulator in global memory (C too large for shared memory) and a large-k map.
    add(100, 3, 5, 15, 15, 65535, 2, RELABEL_F16, RELABEL_U16, 1.0)
    add(101, 5, 64, 7, 9, 300, 3, RELABEL_F32, RELABEL_I32, 0.5)
    return cases


def check_pool_case(rep, be, lib, cs, chunk_bytes, case_no):
    dev = be.device
    B, k, H, W, C, S = cs["B"], cs["k"], cs["H"], cs["W"], cs["C"], cs["S"]
    sd, idt, T = cs["score_dtype"], cs["index_dtype"], cs["temperature"]
    tag = (f"pool#{case_no} seed={cs['seed']} B={B} k={k} {H}x{W} C={C} S={S} {DTYPE_NAME[sd]}/{DTYPE_NAME[idt]}"
           f" T={T:g}")
    gen = torch.Generator().manual_seed(1000 + case_no)
    scores, ids = random_topk_maps(gen, B, k, H, W, C)
    boxes = random_boxes(gen, B, H, W)
    flips = (torch.rand(B, generator=gen) < 0.5).to(torch.uint8)
    scores_st = scores.to(TORCH_SCORE[sd]).contiguous().to(dev)
    ids_st = ids_to_storage(ids, idt).to(dev)
    values = scores_st.float()          # what the kernel reads (fp16 rounding included)
    ids_dev = ids.to(dev)
    boxes_d, flips_d = boxes.to(dev), flips.to(dev)
    spec = MapSpec(k, H, W, C, sd, idt)
    scale = max(1.0, float(values.abs().max()))
    tol_ref = Tol(1e-5 if be.cuda else 1e-6, scale, T)
    tol_lib = Tol(1e-6, scale, T)
    cpu = Backend(lib, torch.device("cpu"), 4) if be.cuda else None
    cpu_in = (scores_st.cpu(), ids_st.cpu(), boxes, flips) if be.cuda else None

    def run(name, kind, want, S_, mode, softmax, order, use_flips, stats=None, cpu_stats=None):
        """One call on the backend vs the torch reference; on CUDA also vs the CPU library (same inputs)."""
        params = be.params(S_, mode, softmax, order, T)
        got = be.pool(spec, params, scores_st, ids_st, boxes_d, flips_d if use_flips else None, stats)
        be.sync()
        rep.close(f"{tag} {name}", got, want, *tol_ref.of(kind))
        if cpu is not None:
            cgot = cpu.pool(spec, cpu.params(S_, mode, softmax, order, T), cpu_in[0], cpu_in[1], cpu_in[2],
                            cpu_in[3] if use_flips else None, cpu_stats)
            rep.close(f"{tag} {name}: cuda vs cpu library", got, cgot, *tol_lib.of(kind))
        return got

    pooled = ref_pool(values, ids_dev, C, boxes_d, S, RELABEL_BOX_XYXY, chunk_bytes)

    # 1. pooled logits with flips, and the pooling stats.
    stats = torch.zeros(3, dtype=torch.int64, device=dev)
    cstats = torch.zeros(3, dtype=torch.int64)
    run("pooled+flips", "pooled", apply_flips(pooled, flips_d), S, RELABEL_MODE_LOGITS, 0, RELABEL_BOX_XYXY, True,
        stats, cstats)
    cells, nonpos = ref_stats(values, boxes, H, W, S, RELABEL_BOX_XYXY)
    st = stats.cpu().tolist()
    rep.add(f"{tag} stats", st[0] == cells and st[1] == nonpos and st[2] == 0,
            f"got cells={st[0]} nonpositive={st[1]} bad={st[2]}, want cells={cells} nonpositive={nonpos} bad=0")
    if cpu is not None:
        rep.equal(f"{tag} stats: cuda vs cpu library", stats.cpu(), cstats)

    # 2. softmax targets (softmax over C per output position, temperature T).
    run("softmax", "softmax", softmax64(pooled, T), S, RELABEL_MODE_LOGITS, 1, RELABEL_BOX_XYXY, False)
    del pooled

    # 3. probs mode (with flips).
    want = apply_flips(ref_probs(values, ids_dev, C, boxes_d, S, RELABEL_BOX_XYXY, T, chunk_bytes), flips_d)
    run("probs+flips", "probs", want, S, RELABEL_MODE_PROBS, 1, RELABEL_BOX_XYXY, True)
    del want

    # 4. official box order: pooled and softmax.
    pooled_off = ref_pool(values, ids_dev, C, boxes_d, S, RELABEL_BOX_OFFICIAL, chunk_bytes)
    run("official pooled", "pooled", pooled_off, S, RELABEL_MODE_LOGITS, 0, RELABEL_BOX_OFFICIAL, False)
    run("official softmax", "softmax", softmax64(pooled_off, T), S, RELABEL_MODE_LOGITS, 1, RELABEL_BOX_OFFICIAL,
        False)
    del pooled_off

    # 5. gather from a record array (built in torch on the device), crops reading random records (with repeats).
    R = max(1, min(B, 300))
    sel = torch.randint(R, (B,), generator=gen)
    records, layout = make_records(lib, spec, scores_st[:R].contiguous(), ids_st[:R].contiguous(), dev)
    sel_d = sel.to(dev)
    want_vals, want_ids = values[:R][sel_d], ids_dev[:R][sel_d]
    gtag = f"{tag} gather (record_size={layout.record_size})"
    gstats = torch.zeros(3, dtype=torch.int64, device=dev)
    got = be.pool_gather(spec, be.params(S, RELABEL_MODE_LOGITS, 1, RELABEL_BOX_XYXY, T), records, R, sel_d, boxes_d,
                         flips_d, gstats)
    be.sync()
    want = apply_flips(softmax64(ref_pool(want_vals, want_ids, C, boxes_d, S, RELABEL_BOX_XYXY, chunk_bytes), T),
                       flips_d)
    rep.close(f"{gtag} softmax+flips", got, want, *tol_ref.of("softmax"))
    if cpu is not None:
        cgot = cpu.pool_gather(spec, cpu.params(S, RELABEL_MODE_LOGITS, 1, RELABEL_BOX_XYXY, T), records.cpu(), R,
                               sel, boxes, flips)
        rep.close(f"{gtag} softmax+flips: cuda vs cpu library", got, cgot, *tol_lib.of("softmax"))
    del want
    gcells, gnonpos = ref_stats(want_vals, boxes, H, W, S, RELABEL_BOX_XYXY)
    g = gstats.cpu().tolist()
    rep.add(f"{gtag} stats", g[0] == gcells and g[1] == gnonpos and g[2] == 0,
            f"got cells={g[0]} nonpositive={g[1]} bad={g[2]}, want cells={gcells} nonpositive={gnonpos} bad=0")
    got = be.pool_gather(spec, be.params(S, RELABEL_MODE_PROBS, 0, RELABEL_BOX_XYXY, T), records, R, sel_d, boxes_d,
                         None)
    be.sync()
    rep.close(f"{gtag} probs", got, ref_probs(want_vals, want_ids, C, boxes_d, S, RELABEL_BOX_XYXY, T, chunk_bytes),
              *tol_ref.of("probs"))
    del records

    # 6. uint8 records (RELABEL_U8: each map quantized between its min and max, scale and offset in the record):
    # against the reference over the dequantized values (offset + scale * q in float32, as the library reads them).
    q8 = MapSpec(k, H, W, C, RELABEL_U8, idt)
    if True:  # noqa: SIM108 - a block of its own, like the steps above
        flat = scores[:R].reshape(R, -1)
        lo, hi = flat.min(dim=1).values, flat.max(dim=1).values
        scale = ((hi - lo) / 255.0).float()
        q = torch.where(scale.view(-1, 1) > 0, ((flat - lo.view(-1, 1)) / scale.view(-1, 1).clamp(min=1e-30)).round(),
                        torch.zeros_like(flat)).clamp(0, 255).to(torch.uint8)
        deq = (lo.view(-1, 1) + scale.view(-1, 1) * q.float()).view(R, k, H, W).to(dev)
        qrec, qlay = make_records(lib, q8, q.view(R, k, H, W).contiguous().to(dev), ids_st[:R].contiguous(), dev,
                                  quant=torch.stack([scale, lo.float()], 1).contiguous().to(dev))
        qtag = f"{tag} gather uint8 records (record_size={qlay.record_size})"
        for mode, kind in ((RELABEL_MODE_LOGITS, "softmax"), (RELABEL_MODE_PROBS, "probs")):
            got = be.pool_gather(q8, be.params(S, mode, 1, RELABEL_BOX_XYXY, T), qrec, R, sel_d, boxes_d, flips_d)
            be.sync()
            dv, di = deq[sel_d], ids_dev[:R][sel_d]
            want = (softmax64(ref_pool(dv, di, C, boxes_d, S, RELABEL_BOX_XYXY, chunk_bytes), T) if kind == "softmax"
                    else ref_probs(dv, di, C, boxes_d, S, RELABEL_BOX_XYXY, T, chunk_bytes))
            rep.close(f"{qtag} {kind}+flips", got, apply_flips(want, flips_d), *tol_ref.of(kind))
        del qrec, deq


def check_pool_special(rep, be, lib):
    """Streams, empty batches, data errors (CUDA: NaN outputs + bad_entries; CPU: status codes)."""
    dev = be.device
    gen = torch.Generator().manual_seed(7)
    B, k, H, W, C, S = 16, 5, 15, 15, 1000, 2
    scores, ids = random_topk_maps(gen, B, k, H, W, C)
    boxes = random_boxes(gen, B, H, W)
    spec = MapSpec(k, H, W, C, RELABEL_F32, RELABEL_I32)
    sc, idd, bx = scores.contiguous().to(dev), ids_to_storage(ids, RELABEL_I32).to(dev), boxes.to(dev)
    pooled = ref_pool(sc, ids.to(dev), C, bx, S, RELABEL_BOX_XYXY, 1 << 28)
    p_raw = be.params(S, RELABEL_MODE_LOGITS, 0, RELABEL_BOX_XYXY, 1.0)
    atol = Tol(1e-5 if be.cuda else 1e-6, float(sc.abs().max()), 1.0).pool[1]

    # Empty batch: OK, no launch.
    empty = torch.empty(0, 4, dtype=torch.float32, device=dev)
    status, _ = be.pool(spec, p_raw, sc, idd, empty, None, check=False)
    rep.add("pool batch=0", status == RELABEL_OK, f"status {status}: {lib.relabel_last_error().decode()}")

    # Bad arguments are rejected before any launch (same validation as the CPU).
    bad_spec = MapSpec(0, H, W, C, RELABEL_F32, RELABEL_I32)
    status, _ = be.pool(bad_spec, p_raw, sc, idd, bx, None, check=False)
    rep.add("pool k=0 rejected", status == RELABEL_ERR_ARGUMENT, f"status {status}")
    bad_params = be.params(S, RELABEL_MODE_LOGITS, 0, RELABEL_BOX_XYXY, 0.0)
    status, _ = be.pool(spec, bad_params, sc, idd, bx, None, check=False)
    rep.add("pool temperature=0 rejected", status == RELABEL_ERR_ARGUMENT, f"status {status}")

    if be.cuda:
        # A non-default stream, with work queued ahead of the call on that stream.
        side = torch.cuda.Stream(device=dev)
        side.wait_stream(torch.cuda.current_stream(dev))
        with torch.cuda.stream(side):
            sc2 = sc * 1.0  # queued on the side stream before our kernel
            got = be.pool(spec, p_raw, sc2, idd, bx, None)
        side.synchronize()
        rep.close("pool on a non-default stream", got, pooled, POOL_RTOL, atol)

        # Bad record indices (-1, R) and a NaN box: NaN rows, bad_entries counted, the other crops correct.
        R = B
        records, _ = make_records(lib, spec, sc, idd, dev)
        sel = torch.arange(B, dtype=torch.int64)
        sel[3], sel[7] = -1, R
        stats = torch.zeros(3, dtype=torch.int64, device=dev)
        got = be.pool_gather(spec, p_raw, records, R, sel.to(dev), bx, None, stats).cpu()
        be.sync()
        bad_rows = torch.zeros(B, dtype=torch.bool)
        bad_rows[[3, 7]] = True
        st = stats.cpu().tolist()
        rep.add("gather bad record index -> NaN rows", bool(torch.isnan(got[bad_rows]).all())
                and not bool(torch.isnan(got[~bad_rows]).any()), "NaN pattern of the output rows is wrong")
        rep.add("gather bad record index -> bad_entries", st[2] >= 2, f"bad_entries={st[2]} (want >= 2)")
        rep.close("gather bad record index: other crops", got[~bad_rows], pooled.cpu()[~bad_rows], POOL_RTOL, atol)

        nb = bx.clone()
        nb[5, 2] = float("nan")
        nb[9, 0] = 100.0  # |coordinate| > 64
        stats.zero_()
        got = be.pool(spec, p_raw, sc, idd, nb, None, stats).cpu()
        be.sync()
        bad_rows = torch.zeros(B, dtype=torch.bool)
        bad_rows[[5, 9]] = True
        st = stats.cpu().tolist()
        rep.add("pool NaN / out-of-range box -> NaN rows", bool(torch.isnan(got[bad_rows]).all())
                and not bool(torch.isnan(got[~bad_rows]).any()), "NaN pattern of the output rows is wrong")
        rep.add("pool NaN / out-of-range box -> bad_entries", st[2] >= 2, f"bad_entries={st[2]} (want >= 2)")

        # Class ids out of range: counted in bad_entries; relabel.h says those outputs are NaN (warning only).
        bad_ids = idd.clone()
        bad_ids[2, 0, 7, 7] = C
        bad_ids[4, 1, 3, 3] = -5
        stats.zero_()
        p1 = be.params(1, RELABEL_MODE_LOGITS, 0, RELABEL_BOX_XYXY, 1.0)
        full = torch.tensor([[0.0, 0.0, 1.0, 1.0]] * B, device=dev)
        got = be.pool(spec, p1, sc, bad_ids, full, None, stats).cpu()
        be.sync()
        st = stats.cpu().tolist()
        rep.add("pool class id out of range -> bad_entries", st[2] >= 2, f"bad_entries={st[2]} (want >= 2)")
        rep.add("pool class id out of range -> NaN output (relabel.h: 'outputs NaN')",
                bool(torch.isnan(got[[2, 4]]).all()),
                "the crops with a bad class id are not NaN (the kernel skips the entry): code or header disagree",
                level="WARN")
    else:
        nb = bx.clone()
        nb[5, 2] = float("nan")
        status, _ = be.pool(spec, p_raw, sc, idd, nb, None, check=False)
        rep.add("cpu pool NaN box -> RELABEL_ERR_ARGUMENT", status == RELABEL_ERR_ARGUMENT, f"status {status}")
        bad_ids = idd.clone()
        bad_ids[2, 0, 7, 7] = C
        full = torch.tensor([[0.0, 0.0, 1.0, 1.0]] * B)  # the CPU checks the ids of the cells it samples
        status, _ = be.pool(spec, p_raw, sc, bad_ids, full, None, check=False)
        rep.add("cpu pool class id out of range -> RELABEL_ERR_ARGUMENT", status == RELABEL_ERR_ARGUMENT,
                f"status {status}")
        records, _ = make_records(lib, spec, sc, idd, dev)
        sel = torch.arange(B, dtype=torch.int64)
        sel[3] = B
        status, _ = be.pool_gather(spec, p_raw, records, B, sel, bx, None, check=False)
        rep.add("cpu gather record index out of range -> RELABEL_ERR_ARGUMENT", status == RELABEL_ERR_ARGUMENT,
                f"status {status}")


# ---------------------------------------------------------------------------------------------------------------
# Correctness: topk_compress
# ---------------------------------------------------------------------------------------------------------------
def check_topk_result(rep, tag, x, k, got_scores, got_ids, score_dtype, index_dtype):
    """x: the input as float32 [B,C,H,W] (finite where it matters); got_*: the library's outputs."""
    B, C, H, W = x.shape
    xf = x.reshape(B, C, H * W)
    v = torch.topk(x, k, dim=1).values  # [B,k,H,W], descending
    want_scores = v if score_dtype == RELABEL_F32 else v.half()
    rep.equal(f"{tag} scores", got_scores, want_scores)
    ids = ids_from_storage(got_ids, index_dtype)
    in_range = bool(((ids >= 0) & (ids < C)).all())
    rep.add(f"{tag} ids in range", in_range, f"ids outside [0, {C})")
    if not in_range:
        return
    idf = ids.reshape(B, k, H * W)
    gathered = torch.gather(xf, 1, idf)
    rep.equal(f"{tag} ids gather the top-k values", gathered, v.reshape(B, k, H * W))
    # Distinct ids, and the tie rule: among equal values the lower class ids come first, i.e. for each j the
    # classes below id_j holding the same value are exactly the earlier picks with that value.
    s = idf.sort(dim=1).values
    rep.add(f"{tag} ids distinct", k == 1 or not bool((s[:, 1:] == s[:, :-1]).any()), "a class id repeats")
    ar = torch.arange(C, device=x.device).view(1, C, 1)
    vv = v.reshape(B, k, H * W)
    bad = 0
    for j in range(k):
        vj, ij = vv[:, j:j + 1], idf[:, j:j + 1]
        lower_equal = ((xf == vj) & (ar < ij)).sum(dim=1)
        earlier_equal = (vv[:, :j] == vj).sum(dim=1) if j > 0 else torch.zeros_like(lower_equal)
        bad += int((lower_equal != earlier_equal).sum())
    rep.add(f"{tag} tie rule (equal values: lower class id first)", bad == 0, f"{bad} picks violate the tie rule")


def check_topk(rep, be, full):
    dev = be.device
    gen = torch.Generator().manual_seed(11)
    shapes = [(64 if full else 4, 1000, 15, 15, [5]), (8 if full else 2, 21843, 7, 7, [5]),
              (3, 37, 6, 9, [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 17, 33, 37]), (2, 100, 5, 5, [64])]
    for B, C, H, W, kl in shapes:
        base = torch.randn(B, C, H, W, generator=gen) * 3.0
        for dd in (RELABEL_F32, RELABEL_F16, RELABEL_BF16):
            x_in = base.to(TORCH_DENSE[dd]).contiguous()
            if dd == RELABEL_F32 and C == 37:  # ties in float32 too
                x_in = (base * 2).round() / 2
            x = x_in.float().to(dev)
            xd = x_in.to(dev)
            for k in kl:
                for sd, idt in ((RELABEL_F32, RELABEL_I32), (RELABEL_F16, RELABEL_U16)):
                    tag = f"topk B={B} C={C} {H}x{W} k={k} in={DTYPE_NAME[dd]} out={DTYPE_NAME[sd]}/{DTYPE_NAME[idt]}"
                    flags = torch.zeros(1, dtype=torch.int32, device=dev)
                    _, sc, ids = be.topk(xd, dd, k, sd, idt, flags)
                    be.sync()
                    check_topk_result(rep, tag, x, k, sc, ids, sd, idt)
                    if be.cuda:
                        rep.add(f"{tag} flags clear", int(flags.item()) == 0, f"flags={int(flags.item())}")
    # NaN / Inf input, fp16 overflow.
    B, C, H, W = 2, 1000, 15, 15
    x = torch.randn(B, C, H, W, generator=gen) * 3.0
    x[0, 17, 3, 4] = float("nan")
    x[1, 400, 14, 14] = float("inf")
    x[1, 5, 0, 0] = float("-inf")
    for dd in (RELABEL_F32, RELABEL_F16, RELABEL_BF16):
        xd = x.to(TORCH_DENSE[dd]).contiguous().to(dev)
        tag = f"topk nonfinite in={DTYPE_NAME[dd]}"
        flags = torch.zeros(1, dtype=torch.int32, device=dev)
        status, sc, ids = be.topk(xd, dd, 5, RELABEL_F32, RELABEL_I32, flags, check=False)
        be.sync()
        if be.cuda:
            rep.add(f"{tag} status OK", status == RELABEL_OK, f"status {status}")
            rep.add(f"{tag} RELABEL_FLAG_NONFINITE", int(flags.item()) & RELABEL_FLAG_NONFINITE != 0,
                    f"flags={int(flags.item())}")
            xf = xd.float()
            clean = torch.where(torch.isfinite(xf), xf, torch.full_like(xf, float("-inf")))
            check_topk_result(rep, tag + " (non-finite skipped)", clean, 5, sc, ids, RELABEL_F32, RELABEL_I32)
        else:
            rep.add(f"{tag} -> RELABEL_ERR_NONFINITE", status == RELABEL_ERR_NONFINITE, f"status {status}")
    x = torch.randn(1, 50, 4, 4, generator=gen)
    x[0, 9, 2, 2] = 70000.0
    flags = torch.zeros(1, dtype=torch.int32, device=dev)
    status, sc, _ = be.topk(x.to(dev), RELABEL_F32, 3, RELABEL_F16, RELABEL_U16, flags, check=False)
    be.sync()
    if be.cuda:
        rep.add("topk fp16 overflow -> RELABEL_FLAG_F16_OVERFLOW",
                status == RELABEL_OK and int(flags.item()) & RELABEL_FLAG_F16_OVERFLOW != 0
                and float(sc[0, 0, 2, 2].float()) == float("inf"),
                f"status {status} flags={int(flags.item())} score={float(sc[0, 0, 2, 2].float())}")
    else:
        rep.add("topk fp16 overflow -> RELABEL_ERR_NONFINITE", status == RELABEL_ERR_NONFINITE, f"status {status}")


# ---------------------------------------------------------------------------------------------------------------
# Correctness: the golden fixtures through the same ctypes path
# ---------------------------------------------------------------------------------------------------------------
def fixture_dirs(root, kind, marker):
    """The case folders of root/kind (labelpool, topk) that hold `marker`."""
    top = os.path.join(root, kind)
    names = sorted(os.listdir(top)) if os.path.isdir(top) else []
    return [(n, os.path.join(top, n)) for n in names if os.path.exists(os.path.join(top, n, marker))]


def check_fixtures(rep, be, root):
    dev = be.device
    n_cases = 0
    for name, d in fixture_dirs(root, "labelpool", "scores.npy"):
        n_cases += 1
        load = lambda f: torch.from_numpy(np.load(os.path.join(d, f))).contiguous()  # noqa: E731
        scores, ids, boxes = load("scores.npy").float(), load("indices.npy"), load("boxes_xyxy.npy").float()
        pooled_want = load("pooled_1x1.npy")
        n, k, H, W = scores.shape
        C = pooled_want.shape[1]
        for sd, idt in ((RELABEL_F32, RELABEL_I32), (RELABEL_F16, RELABEL_U16)):
            spec = MapSpec(k, H, W, C, sd, idt)
            sc = scores.to(TORCH_SCORE[sd]).contiguous().to(dev)
            idd = ids_to_storage(ids.long(), idt).to(dev)
            bx = boxes.to(dev)
            # fp16 scores: the goldens are for float32 scores, so only within the fp16 rounding of the scores (a
            # sanity check: the random grid checks fp16 maps tightly against a reference built from the fp16 values).
            scale = max(1.0, float(scores.abs().max()))
            if sd == RELABEL_F32:
                tol = Tol(1e-6, scale, 1.0)
                pooled_tol, soft_tol, probs_tol = tol.pool, (tol.soft[0], 1e-7), (SOFT_RTOL, 1e-7)
            else:  # fp16 relative rounding 2^-11 of each score: pooled ~5e-4 relative, probabilities ~1e-2
                pooled_tol, soft_tol, probs_tol = (1e-3, 1e-3 * scale), (2e-2, 1e-6), (2e-2, 1e-6)
            tag = f"fixture {name} {DTYPE_NAME[sd]}/{DTYPE_NAME[idt]}"

            def run(S, mode, softmax, order, flips=None):
                out = be.pool(spec, be.params(S, mode, softmax, order, 1.0), sc, idd, bx, flips)
                be.sync()
                return out.cpu()

            rep.close(f"{tag} pooled_1x1", run(1, 0, 0, 0).view(n, C), pooled_want, *pooled_tol)
            rep.close(f"{tag} targets_softmax", run(1, 0, 1, 0).view(n, C), load("targets_softmax.npy"), *soft_tol)
            rep.close(f"{tag} targets_probs", run(1, 1, 1, 0).view(n, C), load("targets_probs.npy"), *probs_tol)
            if os.path.exists(os.path.join(d, "pooled_official.npy")):
                rep.close(f"{tag} pooled_official", run(1, 0, 0, 1).view(n, C), load("pooled_official.npy"),
                          *pooled_tol)
                rep.close(f"{tag} targets_official", run(1, 0, 1, 1).view(n, C), load("targets_official.npy"),
                          *soft_tol)
            for S in range(2, 17):
                fn = os.path.join(d, f"pooled_{S}x{S}.npy")
                if not os.path.exists(fn):
                    continue
                rep.close(f"{tag} pooled_{S}x{S}", run(S, 0, 0, 0), load(f"pooled_{S}x{S}.npy"), *pooled_tol)
                ones = torch.ones(n, dtype=torch.uint8, device=dev)
                rep.close(f"{tag} pooled_{S}x{S}_hflip", run(S, 0, 0, 0, ones), load(f"pooled_{S}x{S}_hflip.npy"),
                          *pooled_tol)
    for name, d in fixture_dirs(root, "topk", "dense.npy"):
        n_cases += 1
        dense = torch.from_numpy(np.load(os.path.join(d, "dense.npy"))).float().contiguous()
        want_s = torch.from_numpy(np.load(os.path.join(d, "topk_scores.npy")))
        want_i = torch.from_numpy(np.load(os.path.join(d, "topk_indices.npy"))).long()
        want_h = torch.from_numpy(np.load(os.path.join(d, "topk_scores_fp16.npy")))
        k = want_s.shape[1]
        for sd, idt, ws in ((RELABEL_F32, RELABEL_I32, want_s), (RELABEL_F16, RELABEL_U16, want_h)):
            _, sc, ids = be.topk(dense.to(dev), RELABEL_F32, k, sd, idt)
            be.sync()
            tag = f"fixture topk {name} out={DTYPE_NAME[sd]}/{DTYPE_NAME[idt]}"
            rep.equal(f"{tag} scores", sc.cpu().float(), ws.float())
            rep.equal(f"{tag} indices", ids_from_storage(ids.cpu(), idt), want_i)
    rep.add("fixtures found", n_cases > 0, f"no fixture cases under {root}")


# ---------------------------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------------------------
def time_op(fn, device, reps, inner):
    """Median and min milliseconds per call: CUDA events around `inner` back-to-back calls on the current stream
    (host launch overhead included when the GPU outruns it), or perf_counter on the CPU."""
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    ts = []
    for _ in range(reps):
        if device.type == "cuda":
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            for _ in range(inner):
                fn()
            e.record()
            e.synchronize()
            ts.append(s.elapsed_time(e) / inner)
        else:
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            ts.append((time.perf_counter() - t0) * 1e3 / inner)
    return statistics.median(ts), min(ts)


def run_timing(be, lib, out_dir, reps):
    dev = be.device
    cuda = be.cuda
    inner = 10 if cuda else 1
    gen = torch.Generator().manual_seed(5)
    rows, errors = [], []

    # Device-to-device (or host memcpy) copy bandwidth of a large tensor: read + write bytes / time.
    n = (1 << 28) if cuda else (1 << 25)
    a = torch.empty(n, dtype=torch.float32, device=dev).fill_(1.0)
    b = torch.empty_like(a)
    med, _ = time_op(lambda: b.copy_(a), dev, reps, 1 if not cuda else 5)
    copy_gbs = 2 * n * 4 / (med * 1e-3) / 1e9
    del a, b
    print(f"copy bandwidth ({dev.type}): {copy_gbs:.1f} GB/s", flush=True)

    def measure(op, ours_call, torch_fn, bytes_moved, note, torch_reps=None, torch_inner=None):
        """One table row; a failure of either side is recorded, the other rows still run."""
        r = {"op": op, "bytes": bytes_moved, "note": note}
        try:
            status = ours_call()
            if status != RELABEL_OK:
                raise RelabelError(status, lib.relabel_last_error().decode())
            med, lo = time_op(ours_call, dev, reps, inner)
            r.update(ours_ms=med, ours_min_ms=lo, ours_gb_s=bytes_moved / (med * 1e-3) / 1e9)
            r["pct_copy_bw"] = 100.0 * r["ours_gb_s"] / copy_gbs
        except Exception as e:  # noqa: BLE001
            r["ours_error"] = f"{type(e).__name__}: {e}"
            errors.append(f"{op} (ours): {r['ours_error']}")
        try:
            med, lo = time_op(torch_fn, dev, torch_reps or reps, torch_inner or inner)
            r.update(torch_ms=med, torch_min_ms=lo)
        except Exception as e:  # noqa: BLE001
            r["torch_error"] = f"{type(e).__name__}: {e}"
            errors.append(f"{op} (torch): {r['torch_error']}")
        if "ours_ms" in r and "torch_ms" in r:
            r["speedup"] = r["torch_ms"] / r["ours_ms"]
        rows.append(r)
        print(json.dumps(r), flush=True)

    def rois_for(boxes, B, H, W):
        return torch.cat([torch.arange(B, dtype=torch.float32, device=dev).view(-1, 1),
                          torch.stack([boxes[:, 0] * W, boxes[:, 1] * H, boxes[:, 2] * W, boxes[:, 3] * H], 1) - 0.5],
                         1)

    # LabelPooling B=1024, k=5, 15x15, C=1000, fp16 scores / uint16 ids: S=1 softmax (the ReLabel training target)
    # and S=7 logits (dense targets). Inputs like shared/anchors/official_labelpool.py.
    B, k, H, W, C = (1024 if cuda else 256), 5, 15, 15, 1000
    scores, ids = random_topk_maps(gen, B, k, H, W, C)
    scores = scores.abs() + 6.0
    y0, x0 = torch.rand(B, generator=gen) * 0.5, torch.rand(B, generator=gen) * 0.5
    hh, ww = 0.2 + torch.rand(B, generator=gen) * 0.5, 0.2 + torch.rand(B, generator=gen) * 0.5
    boxes = torch.stack([x0, y0, x0 + ww, y0 + hh], 1).contiguous().to(dev)
    sc16 = scores.half().contiguous().to(dev)
    id16 = ids_to_storage(ids, RELABEL_U16).to(dev)
    id64 = ids.to(dev)
    spec = MapSpec(k, H, W, C, RELABEL_F16, RELABEL_U16)
    rois = rois_for(boxes, B, H, W)
    for S, softmax in ((1, 1), (7, 0)):
        params = be.params(S, RELABEL_MODE_LOGITS, softmax, RELABEL_BOX_XYXY, 1.0)
        out = torch.empty(B, C, S, S, dtype=torch.float32, device=dev)
        if cuda:
            call = lambda: lib.relabel_cuda_label_pool(  # noqa: E731
                ctypes.byref(spec), ctypes.byref(params), ptr(sc16), ptr(id16), B, ptr(boxes, P_F32), None,
                ptr(out, P_F32), None, be.index, be.stream())
        else:
            call = lambda: lib.relabel_label_pool(  # noqa: E731
                ctypes.byref(spec), ctypes.byref(params), ptr(sc16), ptr(id16), B, ptr(boxes, P_F32), None,
                ptr(out, P_F32), None)

        def torch_path():
            dense = torch.zeros(B, C, H, W, dtype=torch.float32, device=dev)
            dense.scatter_(1, id64, sc16.float())
            pooled = roi_align(dense, rois, output_size=(S, S), spatial_scale=1.0, sampling_ratio=-1, aligned=False)
            return torch.softmax(pooled.view(B, C), 1) if softmax else pooled

        measure(f"label_pool B={B} k=5 15x15 C=1000 fp16/u16 S={S} {'softmax' if softmax else 'logits'}", call,
                torch_path, B * C * S * S * 4 + B * k * H * W * 4 + B * 16,
                "torch: zeros + scatter dense [B,C,15,15] + roi_align" + (" + softmax" if softmax else ""),
                max(3, reps // 2), max(1, inner // 5))
        del out

    # Gather from a device-resident store of 100k records (S=1 softmax).
    R = 100_000 if cuda else 20_000
    layout = RecordLayout()
    if lib.relabel_record_layout_of(ctypes.byref(spec), ctypes.byref(layout)) == RELABEL_OK:
        store_sc = (torch.randn(R, k * H * W, device=dev).abs() + 6.0).half()
        store_id = torch.randint(C, (R, k * H * W), device=dev, dtype=torch.int16)
        records = torch.zeros(R, layout.record_size, dtype=torch.uint8, device=dev)
        records[:, layout.scores_offset:layout.scores_offset + 2 * k * H * W] = store_sc.view(torch.uint8)
        records[:, layout.indices_offset:layout.indices_offset + 2 * k * H * W] = store_id.view(torch.uint8)
        sel = torch.randint(R, (B,), generator=gen).to(dev)
        gparams = be.params(1, RELABEL_MODE_LOGITS, 1, RELABEL_BOX_XYXY, 1.0)
        gout = torch.empty(B, C, dtype=torch.float32, device=dev)
        if cuda:
            gcall = lambda: lib.relabel_cuda_label_pool_gather(  # noqa: E731
                ctypes.byref(spec), ctypes.byref(gparams), ptr(records), R, ptr(sel, P_I64), B, ptr(boxes, P_F32),
                None, ptr(gout, P_F32), None, be.index, be.stream())
        else:
            gcall = lambda: lib.relabel_label_pool_gather(  # noqa: E731
                ctypes.byref(spec), ctypes.byref(gparams), ptr(records), R, ptr(sel, P_I64), B, ptr(boxes, P_F32),
                None, ptr(gout, P_F32), None)
        store_id64 = store_id.long()

        def torch_gather():
            s = store_sc.index_select(0, sel).view(B, k, H, W).float()
            i = store_id64.index_select(0, sel).view(B, k, H, W)
            dense = torch.zeros(B, C, H, W, dtype=torch.float32, device=dev)
            dense.scatter_(1, i, s)
            return torch.softmax(roi_align(dense, rois, (1, 1), 1.0, -1, False).view(B, C), 1)

        measure(f"label_pool_gather B={B} of {R} device-resident records ({layout.record_size} B) S=1 softmax",
                gcall, torch_gather, B * C * 4 + B * layout.record_size + B * 24,
                "torch: index_select + zeros + scatter dense + roi_align + softmax", max(3, reps // 2),
                max(1, inner // 5))
        del records, store_sc, store_id, store_id64

    # topk_compress B=256 C=1000 15x15 -> k=5 fp16 scores / uint16 ids.
    B, C, H, W = (256, 1000, 15, 15) if cuda else (16, 1000, 15, 15)
    x32 = (torch.randn(B, C, H, W, generator=gen) * 3.0).to(dev)
    for dd in (RELABEL_F16, RELABEL_F32):
        xd = x32.half() if dd == RELABEL_F16 else x32
        sc = torch.empty(B, 5, H, W, dtype=torch.float16, device=dev)
        ii = torch.empty(B, 5, H, W, dtype=torch.int16, device=dev)
        if cuda:
            call = lambda: lib.relabel_cuda_topk_compress(  # noqa: E731
                ptr(xd), dd, B, C, H, W, 5, ptr(sc), RELABEL_F16, ptr(ii), RELABEL_U16, None, be.index, be.stream())
        else:
            call = lambda: lib.relabel_topk_compress(  # noqa: E731
                ptr(xd), dd, B, C, H, W, 5, ptr(sc), RELABEL_F16, ptr(ii), RELABEL_U16, be.threads)
        xt = xd if cuda else xd.float()  # the CPU torch.topk of torch 1.x has no fp16 kernel
        measure(f"topk_compress B={B} C={C} {H}x{W} in={DTYPE_NAME[dd]} k=5 -> f16/u16", call,
                lambda: torch.topk(xt, 5, dim=1).values.half(), xd.numel() * xd.element_size() + B * 5 * H * W * 4,
                "torch: topk(x, 5, dim=1).values.half()" + ("" if cuda else " (on x.float())"))

    # The table.
    fmt = lambda v, f: (f % v) if v is not None else "error"  # noqa: E731
    lines = [f"Device: {device_name(be)}; copy bandwidth {copy_gbs:.1f} GB/s ({dev.type} tensor copy, read + write)",
             "", "| op | ours ms | torch ms | torch / ours | ours GB/s | % of copy bandwidth |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['op']} | {fmt(r.get('ours_ms'), '%.4f')} | {fmt(r.get('torch_ms'), '%.4f')} | "
                     f"{fmt(r.get('speedup'), '%.1fx')} | {fmt(r.get('ours_gb_s'), '%.1f')} | "
                     f"{fmt(r.get('pct_copy_bw'), '%.0f%%')} |")
    table = "\n".join(lines)
    print("\n" + table + "\n", flush=True)
    with open(os.path.join(out_dir, "timing.md"), "w") as f:
        f.write(table + "\n\nMedians of " + ("CUDA-event-timed repetitions of back-to-back calls on one stream (host "
                                              "launch overhead included)" if cuda else "perf_counter-timed calls") +
                "; bytes = the op's minimal traffic (inputs read once, outputs written once); % of copy bandwidth = "
                "ours GB/s / measured copy GB/s.\n")
        if errors:
            f.write("\nErrors:\n" + "".join(f"- {e}\n" for e in errors))
    with open(os.path.join(out_dir, "timing.json"), "w") as f:
        json.dump({"device": device_name(be), "copy_gb_s": copy_gbs, "rows": rows, "errors": errors}, f, indent=1)
    return errors


def device_name(be):
    if be.cuda:
        buf = ctypes.create_string_buffer(256)
        if be.lib.relabel_cuda_device_name(be.index, buf, 256) == RELABEL_OK:
            return buf.value.decode()
        try:
            return torch.cuda.get_device_name(be.device)
        except Exception:  # noqa: BLE001
            return "CUDA device (name unavailable)"
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"



# ---------------------------------------------------------------------------------------------------------------
# The ABI against relabel.h and the C compiler; the self test (standard library only: what CI runs on every build)
# ---------------------------------------------------------------------------------------------------------------
def align(x, a):
    return (x + a - 1) // a * a


SCORE_SIZE = {RELABEL_F32: 4, RELABEL_F16: 2, RELABEL_U8: 1}
INDEX_SIZE = {RELABEL_U16: 2, RELABEL_I32: 4}


def expected_layout(spec):
    """relabel.h's record layout formula: (scores_offset, indices_offset, record_size, quant_offset)."""
    e = spec.k * spec.height * spec.width
    io = align(e * SCORE_SIZE[spec.score_dtype], 16)
    end = io + e * INDEX_SIZE[spec.index_dtype]
    qo = align(end, 16) if spec.score_dtype == RELABEL_U8 else -1
    return 0, io, align(qo + 8 if qo >= 0 else end, 64), qo


def c_struct_layouts(header, cc, workdir):
    """{struct: (sizeof, {field: offsetof})} as the C compiler lays the header's structs out; None without one."""
    import shutil
    import subprocess
    import tempfile
    compiler = shutil.which(cc) if cc else (shutil.which("cc") or shutil.which("gcc"))
    if not compiler:
        return None
    lines = ["#include <stddef.h>", "#include <stdio.h>", f'#include "{os.path.abspath(header)}"', "int main(void) {"]
    for name, fields in header_structs(header).items():
        lines.append(f'  printf("{name} %zu\\n", sizeof({name}));')
        for field, _ in fields:
            lines.append(f'  printf("{name}.{field} %zu\\n", offsetof({name}, {field}));')
    lines += ["  return 0;", "}"]
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        src, exe = os.path.join(tmp, "probe.c"), os.path.join(tmp, "probe")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        subprocess.run([compiler, "-std=c99", "-o", exe, src], check=True, capture_output=True, text=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    layouts = {}
    for line in out.splitlines():
        key, value = line.split()
        if "." in key:
            name, field = key.split(".")
            layouts[name][1][field] = int(value)
        else:
            layouts[key] = (int(value), {})
    return layouts


def check_abi(rep, lib, header, cc=None, workdir=None):
    """ABI version (script, header, library), constants, the generated ctypes structs against the C compiler's
    layout, and relabel_record_layout_of against the header's formula (uint8 records included)."""
    hc = header_constants(header)
    rep.add("abi version: script == relabel.h", hc.get("RELABEL_ABI_VERSION") == RELABEL_ABI_VERSION,
            f"relabel.h says {hc.get('RELABEL_ABI_VERSION')}, this script speaks {RELABEL_ABI_VERSION}")
    rep.add("abi version: library == relabel.h", lib.relabel_abi_version() == hc.get("RELABEL_ABI_VERSION"),
            f"relabel_abi_version() = {lib.relabel_abi_version()}, relabel.h says {hc.get('RELABEL_ABI_VERSION')}")
    diff = {k: (v, hc.get(k)) for k, v in CONSTANTS.items() if k != "RELABEL_ABI_VERSION" and hc.get(k) != v}
    rep.add("constants match relabel.h", not diff, f"script vs header: {diff}")
    unknown = sorted(k for k in hc if k.startswith("RELABEL_ERR_") and k not in CONSTANTS)
    rep.add("every status code of relabel.h is known here", not unknown, f"missing from this script: {unknown}")
    for name in ("relabel_map_spec", "relabel_pool_params", "relabel_pool_stats", "relabel_record_layout"):
        rep.add(f"relabel.h declares {name}", name in STRUCTS, "missing from the header")
    rep.add("relabel_record_layout has quant_offset", "quant_offset" in dict(RecordLayout._fields_),
            f"fields {[f for f, _ in RecordLayout._fields_]}")
    try:
        layouts = c_struct_layouts(header, cc, workdir)
    except Exception as e:  # noqa: BLE001 - a compiler failure is a failed check, with its message
        layouts = None
        rep.add("struct layouts vs the C compiler", False, f"{type(e).__name__}: {getattr(e, 'stderr', '') or e}")
    if layouts is None:
        rep.add("struct layouts vs the C compiler", False, "no C compiler (cc, gcc) to check them", level="WARN")
    else:
        for name, cls in STRUCTS.items():
            size, offsets = layouts[name]
            got = {f: getattr(cls, f).offset for f, _ in cls._fields_}
            rep.add(f"ctypes {name} == C (sizeof {size})", ctypes.sizeof(cls) == size and got == offsets,
                    f"ctypes sizeof {ctypes.sizeof(cls)} offsets {got}; C sizeof {size} offsets {offsets}")
    for spec in (MapSpec(5, 15, 15, 1000, RELABEL_F16, RELABEL_U16), MapSpec(3, 7, 9, 21843, RELABEL_F32, RELABEL_I32),
                 MapSpec(5, 15, 15, 1000, RELABEL_U8, RELABEL_U16), MapSpec(1, 1, 1, 70000, RELABEL_U8, RELABEL_I32)):
        lay = RecordLayout(-7, -7, -7, -7)
        st = lib.relabel_record_layout_of(ctypes.byref(spec), ctypes.byref(lay))
        got = (lay.scores_offset, lay.indices_offset, lay.record_size, lay.quant_offset)
        rep.add(f"record layout k={spec.k} {spec.height}x{spec.width} {DTYPE_NAME[spec.score_dtype]}/"
                f"{DTYPE_NAME[spec.index_dtype]}", st == RELABEL_OK and got == expected_layout(spec),
                f"status {st}, got {got}, want {expected_layout(spec)}")


NPY_CODES = {"<f4": "f", "<f2": "e", "<i4": "i", "<i8": "q", "<u2": "H", "|u1": "B", "<u1": "B"}


def read_npy(path):
    """(shape, values as a tuple) of a little-endian C-order .npy, standard library only."""
    import ast
    import struct
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError(f"{path}: not a .npy file")
    start, length = (10, struct.unpack("<H", data[8:10])[0]) if data[6] == 1 else (12, struct.unpack("<I", data[8:12])[0])
    hdr = ast.literal_eval(data[start:start + length].decode("latin1"))
    if hdr["fortran_order"] or hdr["descr"] not in NPY_CODES:
        raise ValueError(f"{path}: unsupported array ({hdr})")
    shape = tuple(hdr["shape"])
    n = 1
    for d in shape:
        n *= d
    return shape, struct.unpack(f"<{n}{NPY_CODES[hdr['descr']]}", data[start + length:])


def packed(values, code):
    import struct
    return ctypes.create_string_buffer(struct.pack(f"<{len(values)}{code}", *values), len(values) * struct.calcsize(code))


def close_values(rep, name, got, want, rtol, atol):
    """|got - want| <= atol + rtol |want| elementwise (NaN must match NaN), standard library only."""
    if len(got) != len(want):
        return rep.add(name, False, f"{len(got)} values, want {len(want)}")
    bad, worst, worst_i = 0, -1.0, 0
    for i, (g, w) in enumerate(zip(got, want)):
        if g != g or w != w:
            ok = g != g and w != w
            err = 0.0 if ok else float("inf")
        else:
            err = abs(g - w)
            ok = err <= atol + rtol * abs(w)
        if not ok:
            bad += 1
            if err > worst:
                worst, worst_i = err, i
    if bad == 0:
        return rep.add(name, True)
    return rep.add(name, False, f"{bad}/{len(got)} values out of tolerance (rtol {rtol:g}, atol {atol:.3g}); worst at "
                                f"{worst_i}: got {got[worst_i]!r}, want {want[worst_i]!r}")


def selftest_fixtures(rep, lib, root):
    """The CPU twin through ctypes against the golden fixtures: label_pool (fp32 and fp16 maps, every golden),
    gather from fp16 and uint8 records, topk_compress."""
    import struct
    f32 = lambda vals: struct.unpack(f"<{len(vals)}f", struct.pack(f"<{len(vals)}f", *vals))  # noqa: E731
    n_cases = 0
    for name, d in fixture_dirs(root, "labelpool", "scores.npy"):
        n_cases += 1
        load = lambda f: read_npy(os.path.join(d, f))  # noqa: E731
        (n, k, H, W), scores = load("scores.npy")
        _, ids = load("indices.npy")
        _, boxes = load("boxes_xyxy.npy")
        (_, C), pooled_want = load("pooled_1x1.npy")
        scale = max(1.0, max(abs(v) for v in scores))
        box_buf = packed(boxes, "f")

        def pool(spec, sc_buf, id_buf, S, mode, softmax, order, flips=None):
            out = (ctypes.c_float * (n * C * S * S))()
            p = PoolParams(S, mode, order, softmax, 1.0, 2)
            st = lib.relabel_label_pool(ctypes.byref(spec), ctypes.byref(p), sc_buf, id_buf, n,
                                        ctypes.cast(box_buf, P_F32), flips, out, None)
            if st != RELABEL_OK:
                raise RelabelError(st, lib.relabel_last_error().decode())
            return tuple(out)

        spec32 = MapSpec(k, H, W, C, RELABEL_F32, RELABEL_I32)
        sc32, id32 = packed(scores, "f"), packed(ids, "i")
        tag = f"selftest fixture {name} f32/i32"
        pooled_tol, soft_tol, probs_tol = (1e-5, 1e-6 * scale), (1e-5 + 2e-6 * scale, 1e-7), (1e-5, 1e-7)
        close_values(rep, f"{tag} pooled_1x1", pool(spec32, sc32, id32, 1, 0, 0, 0), pooled_want, *pooled_tol)
        close_values(rep, f"{tag} targets_softmax", pool(spec32, sc32, id32, 1, 0, 1, 0), load("targets_softmax.npy")[1],
                     *soft_tol)
        close_values(rep, f"{tag} targets_probs", pool(spec32, sc32, id32, 1, 1, 1, 0), load("targets_probs.npy")[1],
                     *probs_tol)
        if os.path.exists(os.path.join(d, "pooled_official.npy")):
            close_values(rep, f"{tag} pooled_official", pool(spec32, sc32, id32, 1, 0, 0, 1),
                         load("pooled_official.npy")[1], *pooled_tol)
            close_values(rep, f"{tag} targets_official", pool(spec32, sc32, id32, 1, 0, 1, 1),
                         load("targets_official.npy")[1], *soft_tol)
        flips = packed([1] * n, "B")
        for S in range(2, 17):
            if os.path.exists(os.path.join(d, f"pooled_{S}x{S}.npy")):
                close_values(rep, f"{tag} pooled_{S}x{S}", pool(spec32, sc32, id32, S, 0, 0, 0),
                             load(f"pooled_{S}x{S}.npy")[1], *pooled_tol)
                close_values(rep, f"{tag} pooled_{S}x{S}_hflip",
                             pool(spec32, sc32, id32, S, 0, 0, 0, ctypes.cast(flips, P_U8)),
                             load(f"pooled_{S}x{S}_hflip.npy")[1], *pooled_tol)
        # fp16 maps, uint16 ids: the goldens within the fp16 rounding of the scores.
        spec16 = MapSpec(k, H, W, C, RELABEL_F16, RELABEL_U16)
        sc16, id16 = packed(scores, "e"), packed(ids, "H")
        direct16 = pool(spec16, sc16, id16, 1, 0, 1, 0)
        close_values(rep, f"selftest fixture {name} f16/u16 targets_softmax", direct16, load("targets_softmax.npy")[1],
                     2e-2, 1e-6)
        # Gather: fp16 records in reverse order, then uint8 records vs label_pool over the dequantized floats.
        e = k * H * W
        for sd in (RELABEL_F16, RELABEL_U8):
            spec = MapSpec(k, H, W, C, sd, RELABEL_U16)
            lay = RecordLayout()
            lib.relabel_record_layout_of(ctypes.byref(spec), ctypes.byref(lay))
            rec = bytearray(n * lay.record_size)
            deq = []
            for r in range(n):
                slot = n - 1 - r
                base = slot * lay.record_size
                rec[base + lay.indices_offset:base + lay.indices_offset + 2 * e] = struct.pack(f"<{e}H", *ids[r * e:(r + 1) * e])
                vals = scores[r * e:(r + 1) * e]
                if sd == RELABEL_F16:
                    rec[base:base + 2 * e] = struct.pack(f"<{e}e", *vals)
                    continue
                lo, hi = min(vals), max(vals)
                qs, off = f32([(hi - lo) / 255.0, lo])
                q = [min(255, max(0, round((v - lo) / qs))) if qs > 0 else 0 for v in vals]
                rec[base:base + e] = bytes(q)
                rec[base + lay.quant_offset:base + lay.quant_offset + 8] = struct.pack("<2f", qs, off)
                deq.extend(f32([off + f32([qs * x])[0] for x in q]))  # offset + scale * q in float32, as the library
            sel = packed([n - 1 - r for r in range(n)], "q")
            out = (ctypes.c_float * (n * C))()
            p = PoolParams(1, 0, 0, 1, 1.0, 2)
            st = lib.relabel_label_pool_gather(ctypes.byref(spec), ctypes.byref(p), ctypes.create_string_buffer(bytes(rec), len(rec)),
                                               n, ctypes.cast(sel, P_I64), n, ctypes.cast(box_buf, P_F32), None, out, None)
            if sd == RELABEL_F16:
                rep.add(f"selftest fixture {name} gather fp16 records == label_pool", st == RELABEL_OK and tuple(out) == direct16,
                        f"status {st}: {lib.relabel_last_error().decode()}" if st else "outputs differ")
            else:
                want = pool(spec32, packed(deq, "f"), packed(ids, "i"), 1, 0, 1, 0)
                ok = st == RELABEL_OK
                rep.add(f"selftest fixture {name} gather uint8 records status", ok, lib.relabel_last_error().decode())
                if ok:
                    close_values(rep, f"selftest fixture {name} gather uint8 records == label_pool(dequantized)",
                                 tuple(out), want, 1e-6, 1e-9)
    for name, d in fixture_dirs(root, "topk", "dense.npy"):
        n_cases += 1
        (B, C, H, W), dense = read_npy(os.path.join(d, "dense.npy"))
        (_, k, _, _), want_s = read_npy(os.path.join(d, "topk_scores.npy"))
        _, want_i = read_npy(os.path.join(d, "topk_indices.npy"))
        _, want_h = read_npy(os.path.join(d, "topk_scores_fp16.npy"))
        dbuf = packed(dense, "f")
        for sd, idt, code, icode, want in ((RELABEL_F32, RELABEL_I32, "f", "i", want_s),
                                           (RELABEL_F16, RELABEL_U16, "e", "H", want_h)):
            m = B * k * H * W
            sc = ctypes.create_string_buffer(m * (4 if sd == RELABEL_F32 else 2))
            ix = ctypes.create_string_buffer(m * (4 if idt == RELABEL_I32 else 2))
            st = lib.relabel_topk_compress(dbuf, RELABEL_F32, B, C, H, W, k, sc, sd, ix, idt, 2)
            got_s = struct.unpack(f"<{m}{code}", sc.raw)
            got_i = struct.unpack(f"<{m}{icode}", ix.raw)
            rep.add(f"selftest fixture topk {name} out={DTYPE_NAME[sd]}/{DTYPE_NAME[idt]}",
                    st == RELABEL_OK and got_s == tuple(want) and got_i == tuple(want_i),
                    f"status {st} {lib.relabel_last_error().decode()}" if st else "scores or ids differ from the golden")
    rep.add("selftest fixtures found", n_cases > 0, f"no fixture cases under {root}", level="WARN")


def selftest_cli(rep):
    """Argument parsing of this script and the table writer (bench/gpu/table.py) on known rows."""
    ap = build_parser()
    good = ap.parse_args(["--lib", "x.so", "--device", "cuda", "--quick", "--out", "o"])
    rep.add("args: --device cuda --quick", good.device == "cuda" and good.quick and good.out == "o", str(good))
    for bad in (["--device", "tpu", "--lib", "x"], [], ["--lib", "x", "--seeds", "zero"]):
        try:
            import contextlib
            import io
            with contextlib.redirect_stderr(io.StringIO()):
                ap.parse_args(bad)
            rep.add(f"args: {bad} rejected", False, "accepted")
        except SystemExit as e:
            rep.add(f"args: {bad} rejected", e.code == 2, f"exit {e.code}")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import table
    rows = [{"device_name": "GPU X"}, {"op": "copy", "bytes": 2e9, "gb_per_s": 2000.0},
            {"op": "label_pool", "kernels": "v2", "batch": 1024, "scores": "fp16", "S": 1, "softmax": True,
             "events_us": 6.0, "graph_us": 4.0, "bytes": 6e6},
            {"op": "topk_compress", "kernels": "v1", "shape": "1024x1000x15x15", "input": "fp16", "k": 5,
             "events_us": 300.0, "graph_us": -1.0, "bytes": 4.6e8}]
    anchors = [{"op": "label_pool", "batch": 1024, "us": 1200.0}, {"op": "topk_compress", "shape": "1024x1000x15x15",
                                                                   "input": "fp16", "us": 600.0}]
    text = table.table(rows, anchors)
    want = ["| label_pool | B=1024 fp16 S=1 softmax | v2 | 4.00 | 6.00 | 1200.0 | 300x | 6e+06 | 3.00 | 1.33 | 75% |",
            "| topk_compress | 1024x1000x15x15 fp16 -> fp16 k=5 | v1 | n/a | 300.00 | 600.0 | 2.00x | 4.6e+08 | 230.00 "
            "| 1.30 | 77% |", "device-to-device copy: 2000 GB/s"]
    for w in want:
        rep.add(f"table.py writes {w[:40]}...", w in text, f"not in:\n{text}")


def selftest(a):
    """What CI runs on every build (no GPU, no torch): check_abi, the CPU twin against the fixtures, the CLI."""
    rep = Report()
    lib = load_lib(a.lib)
    print(f"check.py --selftest: librelabel {lib.relabel_version().decode()} ({lib.relabel_build_info().decode()}), "
          f"header {os.path.abspath(a.header)}", flush=True)
    check_abi(rep, lib, a.header, a.cc, a.out)
    selftest_cli(rep)
    if a.fixtures and os.path.isdir(a.fixtures):
        t0 = time.time()
        rep.guarded("selftest fixtures", lambda: selftest_fixtures(rep, lib, a.fixtures))
        print(f"  fixtures: {time.time() - t0:.1f}s", flush=True)
    else:
        print(f"check.py --selftest: SKIPPED the fixture comparisons: no fixtures at {a.fixtures!r}", flush=True)
    fails, warns = rep.failures(), rep.warnings()
    for r in warns:
        print(f"  WARN {r['check']}: {r['detail']}")
    print(f"check.py --selftest: {len(rep.results)} checks, {len(fails)} failures, {len(warns)} warnings")
    return 1 if fails else 0


# ---------------------------------------------------------------------------------------------------------------
def build_parser():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", required=True, help="librelabel.so")
    ap.add_argument("--fixtures", default=None, help="shared/fixtures (labelpool/, topk/)")
    ap.add_argument("--out", default="bench/gpu/out")
    ap.add_argument("--device", default=None, choices=["cuda", "cpu"])
    ap.add_argument("--seeds", type=int, default=None, help="seeds of the random LabelPooling grid (cuda 3, cpu 1)")
    ap.add_argument("--full", action="store_true", help="full-size grid on the CPU too")
    ap.add_argument("--cases", default=None, help="only these LabelPooling grid cases (comma-separated numbers)")
    ap.add_argument("--quick", action="store_true", help="reduced grid on CUDA too")
    ap.add_argument("--timing", dest="timing", action="store_true", default=None)
    ap.add_argument("--no-timing", dest="timing", action="store_false")
    ap.add_argument("--timing-reps", type=int, default=None)
    ap.add_argument("--threads", type=int, default=min(4, os.cpu_count() or 1), help="CPU num_threads")
    ap.add_argument("--header", default=HEADER, help="relabel.h (default: this checkout's)")
    ap.add_argument("--selftest", action="store_true",
                    help="no GPU, no torch: the ABI against relabel.h and the C compiler, the CPU library against the "
                         "fixtures through ctypes, this script's arguments and the table writer (CI runs this)")
    ap.add_argument("--cc", default=None, help="C compiler for the struct layout probe (default: cc or gcc)")
    return ap


def main(argv=None):
    a = build_parser().parse_args(argv)
    if a.timing_reps is not None and a.timing_reps < 1:
        build_parser().error(f"--timing-reps must be >= 1, got {a.timing_reps}")
    if a.seeds is not None and a.seeds < 1:
        build_parser().error(f"--seeds must be >= 1, got {a.seeds}")
    os.makedirs(a.out, exist_ok=True)
    if a.selftest:
        return selftest(a)
    import_torch()

    device_kind = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    rep = Report()
    info = {"torch": torch.__version__, "torchvision": torchvision.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "device": device_kind, "lib": os.path.abspath(a.lib)}
    print(f"check.py: torch {torch.__version__}, torchvision {torchvision.__version__}, device {device_kind}, "
          f"lib {a.lib}", flush=True)

    lib = load_lib(a.lib)
    info["relabel_version"] = lib.relabel_version().decode()
    if hasattr(lib, "relabel_build_info"):
        info["relabel_build_info"] = lib.relabel_build_info().decode()
        print(f"librelabel {info['relabel_version']}: {info['relabel_build_info']}", flush=True)
    check_abi(rep, lib, a.header, a.cc, a.out)

    if device_kind == "cuda":
        if not torch.cuda.is_available():
            rep.add("torch sees a CUDA device", False, "torch.cuda.is_available() is False")
            return finish(rep, info, a.out)
        built = lib.relabel_cuda_built()
        count = c_int32(0)
        status = lib.relabel_cuda_device_count(ctypes.byref(count))
        ok = rep.add("library has CUDA and sees the device", built == 1 and status == RELABEL_OK and count.value >= 1,
                     f"relabel_cuda_built()={built}, relabel_cuda_device_count: status {status} count {count.value}: "
                     f"{lib.relabel_last_error().decode()}")
        if not ok:
            return finish(rep, info, a.out)
        device = torch.device("cuda", torch.cuda.current_device())
    else:
        device = torch.device("cpu")
    be = Backend(lib, device, a.threads)
    info["device_name"] = device_name(be)
    print(f"device: {info['device_name']}", flush=True)

    full = (device_kind == "cuda" and not a.quick) or a.full
    seeds = a.seeds if a.seeds is not None else (3 if full else 1)
    chunk_bytes = (1 << 30) if device_kind == "cuda" else (1 << 28)

    t0 = time.time()
    try:
        cases = pool_cases(seeds, full)
        print(f"LabelPooling: {len(cases)} random cases", flush=True)
        only = {int(x) for x in a.cases.split(",")} if a.cases else None
        for i, cs in enumerate(cases):
            if only is not None and i not in only:
                continue
            t1 = time.time()
            rep.guarded(f"pool case {i} {cs}", lambda: check_pool_case(rep, be, lib, cs, chunk_bytes, i))
            print(f"  pool#{i} B={cs['B']} k={cs['k']} {cs['H']}x{cs['W']} C={cs['C']} S={cs['S']}: "
                  f"{time.time() - t1:.1f}s", flush=True)
        print(f"  ... {time.time() - t0:.1f}s", flush=True)
        rep.guarded("pool special cases", lambda: check_pool_special(rep, be, lib))
        rep.guarded("topk", lambda: check_topk(rep, be, full))
        print(f"  ... {time.time() - t0:.1f}s", flush=True)
        if a.fixtures and os.path.isdir(a.fixtures):
            rep.guarded("fixtures", lambda: check_fixtures(rep, be, a.fixtures))
        else:
            rep.add("fixtures", False, f"fixtures directory {a.fixtures!r} not found", level="WARN")
        be.sync()
    except Exception as e:  # noqa: BLE001 - a sticky CUDA error: stop, report
        rep.add("aborted", False, f"{type(e).__name__}: {e}")
    info["correctness_seconds"] = round(time.time() - t0, 1)

    timing = a.timing if a.timing is not None else be.cuda
    aborted = any(r["check"] == "aborted" for r in rep.failures())
    if timing and not aborted:  # timing problems are reported, they do not fail the check
        try:
            errors = run_timing(be, lib, a.out, a.timing_reps or (30 if be.cuda else 3))
            if errors:
                info["timing_errors"] = errors
        except Exception as e:  # noqa: BLE001
            print(f"timing failed: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc()
            info["timing_errors"] = [f"{type(e).__name__}: {e}"]
    elif timing:
        print("timing skipped: the correctness run aborted (CUDA error)", flush=True)
        info["timing_errors"] = ["skipped: the correctness run aborted"]
    return finish(rep, info, a.out)


def finish(rep, info, out_dir):
    fails, warns = rep.failures(), rep.warnings()
    with open(os.path.join(out_dir, "check_results.json"), "w") as f:
        json.dump({"info": info, "checks": len(rep.results), "failures": fails, "warnings": warns,
                   "results": rep.results}, f, indent=1)
    print(f"\ncheck.py: {len(rep.results)} checks, {len(fails)} failures, {len(warns)} warnings "
          f"({info.get('device_name', info['device'])})")
    closest = sorted((r for r in rep.results if r["ok"] and "tol_used" in r), key=lambda r: -r["tol_used"])[:5]
    if closest:
        print("closest to tolerance (err/tol):")
        for r in closest:
            print(f"  {r['tol_used']:.3f}  {r['check']} ({r['detail']})")
    for r in warns:
        print(f"  WARN {r['check']}: {r['detail']}")
    for r in fails:
        print(f"  FAIL {r['check']}: {r['detail']}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
