// CUDA LabelPooling, second generation (RELABEL_KERNELS=v2; v1 is label_pool.cu). Same semantics and the same grid
// (one block per (crop, output bin)), reworked for the memory bound (docs/native-core.md, "GPU kernels"):
//  - the per-class accumulator is in shared memory as its own code path, so its atomics are shared-memory atomics
//    and nothing goes through a generic pointer (calls whose C floats do not fit in shared memory run v1, whose
//    accumulator is the output row in global memory);
//  - 128 threads (all 1024 crops of a batch resident at once on an H100); the bin's bilinear weights are computed
//    in parallel, one map row or column per thread (axis_weight: bit-identical to v1's serial sums);
//  - a thread takes a cell and loads its k scores and class ids into registers before its k atomics (k <= 8);
//  - one barrier ends the accumulation (__syncthreads_or carries the bad-class-id flag) and at most one block
//    reduction finishes the bin: an online softmax (max, sum, untouched-class count in one pass) for softmax
//    targets, the probability total for probs mode, none for pooled logits; the pooling stats are summed per warp
//    and added with one atomic per warp.
#include <cuda_runtime.h>

#include "common.h"
#include "cuda_util.h"
#include "label_pool.h"

namespace relabel {
namespace cuda {
namespace {

constexpr int kThreads2 = 128;
constexpr int kWarps2 = kThreads2 / 32;
constexpr int kRegK = 8;  // k up to this: a cell's entries are held in registers

// Sum over the warp; lane 0 holds the result.
__device__ __forceinline__ unsigned warp_sum(unsigned v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

// Online softmax over some classes: m = the largest nonzero pooled value (-inf: none yet), s = the sum of
// e^((v - m) / T) over the nonzero ones, zeros = how many are exactly 0 (classes no cell touched: they share one
// fill value, as in v1 and the CPU kernel).
struct SoftmaxPart {
  float m, s, zeros;
};

__device__ __forceinline__ SoftmaxPart combine(SoftmaxPart a, SoftmaxPart b, float inv_t) {
  SoftmaxPart r;
  r.m = fmaxf(a.m, b.m);  // softmax_term(-inf, -inf) is 0 (exp_nonpositive maps NaN to 0): empty parts add 0
  r.s = a.s * softmax_term(a.m, r.m, inv_t) + b.s * softmax_term(b.m, r.m, inv_t);
  r.zeros = a.zeros + b.zeros;
  return r;
}

__device__ __forceinline__ void add_value(SoftmaxPart &p, float v, float inv_t) {
  if (v == 0.0f) {
    p.zeros += 1.0f;
  } else if (v > p.m) {
    p.s = p.s * softmax_term(p.m, v, inv_t) + 1.0f;
    p.m = v;
  } else {
    p.s += softmax_term(v, p.m, inv_t);  // NaN adds 0, as v1's exp_nonpositive(NaN)
  }
}

// KR: k <= KR, entries in registers; KR == 0: any k, entries read twice from memory (probs) as v1 does.
template <typename ScoreT, typename IndexT, bool kProbs, int KR>
__global__ void __launch_bounds__(kThreads2) pool_kernel_v2(PoolArgs a) {
  extern __shared__ float smem[];  // acc[C], wy[H], wx[W]
  __shared__ float red[3 * kWarps2];
  const int S = a.out_size, H = a.height, W = a.width, C = a.classes, K = a.k;
  const int64_t ss = static_cast<int64_t>(S) * S, hw = static_cast<int64_t>(H) * W;
  const int64_t b = blockIdx.x / ss;
  const int bin = static_cast<int>(blockIdx.x % ss), ph = bin / S, pw = bin % S;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const bool flip = a.flips != nullptr && a.flips[b] != 0;
  float *out = a.out + b * C * ss + static_cast<int64_t>(ph) * S + (flip ? S - 1 - pw : pw);
  float *acc = smem, *wy = smem + C, *wx = smem + C + H;
  const float inv_t = a.inv_temperature;

  const int64_t map = a.record_indices != nullptr ? a.record_indices[b] : b;
  const float *box = a.boxes + 4 * b;
  if (map < 0 || map >= a.num_maps || !box_ok(box)) {  // uniform across the block: no divergence at barriers
    write_bad_crop(out, C, ss, a.stats);
    return;
  }
  const ScoreT *sc = reinterpret_cast<const ScoreT *>(a.scores + map * a.score_stride);
  const IndexT *id = reinterpret_cast<const IndexT *>(a.indices + map * a.index_stride);
  const Dequant dq = load_dequant(a.quant, a.quant_stride, map);
  const RoiGeometry g = roi_geometry(box, a.box_order, H, W, S);

  for (int c = tid; c < C; c += kThreads2) acc[c] = 0.0f;
  for (int i = tid; i < H + W; i += kThreads2)
    wy[i] = i < H ? axis_weight(g.start_y, g.bin_h, g.grid_h, ph, H, i)
                  : axis_weight(g.start_x, g.bin_w, g.grid_w, pw, W, i - H);  // wy + H == wx
  __syncthreads();

  unsigned cells = 0, nonpositive = 0;
  int bad = 0;
  float prob_total = 0.0f;
  for (int64_t cell = tid; cell < hw; cell += kThreads2) {
    const int r = static_cast<int>(cell / W), x = static_cast<int>(cell - static_cast<int64_t>(r) * W);
    const float w = wy[r] * wx[x];
    if (w == 0.0f) continue;
    ++cells;
    if constexpr (KR > 0) {
      float v[KR];
      int cls[KR];
#pragma unroll
      for (int j = 0; j < KR; ++j) {
        if (j < K) {
          v[j] = load_score(sc, j * hw + cell, dq);
          cls[j] = static_cast<int>(id[j * hw + cell]);
        }
      }
      if (v[0] <= 0.0f) ++nonpositive;
      float m = 0.0f, sum = 0.0f, added = 0.0f;
      if (kProbs) {  // the cell's softmax over its top-k, in v1's order
        m = v[0];
#pragma unroll
        for (int j = 1; j < KR; ++j)
          if (j < K) m = fmaxf(m, v[j]);
#pragma unroll
        for (int j = 0; j < KR; ++j)
          if (j < K) sum += softmax_term(v[j], m, inv_t);
      }
#pragma unroll
      for (int j = 0; j < KR; ++j) {
        if (j >= K) continue;
        if (cls[j] < 0 || cls[j] >= C) {
          bad = 1;
          continue;
        }
        float value = v[j];
        if (kProbs) {
          value = softmax_term(value, m, inv_t) / sum;
          added += value;
        }
        atomicAdd(&acc[cls[j]], w * value);
      }
      if (kProbs) prob_total += w * added;
    } else {
      if (load_score(sc, cell, dq) <= 0.0f) ++nonpositive;
      float m = 0.0f, sum = 0.0f, added = 0.0f;
      if (kProbs) {
        m = load_score(sc, cell, dq);
        for (int j = 1; j < K; ++j) m = fmaxf(m, load_score(sc, j * hw + cell, dq));
        for (int j = 0; j < K; ++j) sum += softmax_term(load_score(sc, j * hw + cell, dq), m, inv_t);
      }
      for (int j = 0; j < K; ++j) {
        const int64_t cls = static_cast<int64_t>(id[j * hw + cell]);
        if (cls < 0 || cls >= C) {
          bad = 1;
          continue;
        }
        float value = load_score(sc, j * hw + cell, dq);
        if (kProbs) {
          value = softmax_term(value, m, inv_t) / sum;
          added += value;
        }
        atomicAdd(&acc[cls], w * value);
      }
      if (kProbs) prob_total += w * added;
    }
  }
  if (a.stats != nullptr) {  // every thread of every warp is here: full-mask shuffles are safe
    const unsigned warp_cells = warp_sum(cells), warp_nonpositive = warp_sum(nonpositive);
    if (lane == 0 && warp_cells != 0) {
      atomicAdd(reinterpret_cast<unsigned long long *>(&a.stats->cells), static_cast<unsigned long long>(warp_cells));
      if (warp_nonpositive != 0)
        atomicAdd(reinterpret_cast<unsigned long long *>(&a.stats->cells_top1_nonpositive),
                  static_cast<unsigned long long>(warp_nonpositive));
    }
  }

  if (kProbs) {
    // One reduction (total, bad): its barrier also completes acc.
    float total = prob_total, nbad = static_cast<float>(bad);
    for (int offset = 16; offset > 0; offset >>= 1) {
      total += __shfl_down_sync(0xffffffffu, total, offset);
      nbad += __shfl_down_sync(0xffffffffu, nbad, offset);
    }
    if (lane == 0) {
      red[warp] = total;
      red[kWarps2 + warp] = nbad;
    }
    __syncthreads();
    total = 0.0f;
    nbad = 0.0f;
#pragma unroll
    for (int i = 0; i < kWarps2; ++i) {  // each thread adds the few warp partials itself: no second barrier
      total += red[i];
      nbad += red[kWarps2 + i];
    }
    if (nbad > 0.0f) {  // a class id outside [0, C): the map does not match C; make it loud
      write_bad_crop(out, C, ss, a.stats);
      return;
    }
    for (int c = tid; c < C; c += kThreads2) out[c * ss] = total > 0.0f ? acc[c] / total : 1.0f / static_cast<float>(C);
    return;
  }

  if (__syncthreads_or(bad)) {  // the barrier that completes acc
    write_bad_crop(out, C, ss, a.stats);
    return;
  }
  if (!a.softmax) {
    for (int c = tid; c < C; c += kThreads2) out[c * ss] = acc[c] / g.count;
    return;
  }
  SoftmaxPart p{-INFINITY, 0.0f, 0.0f};
  for (int c = tid; c < C; c += kThreads2) add_value(p, acc[c] / g.count, inv_t);
  for (int offset = 16; offset > 0; offset >>= 1) {
    const SoftmaxPart q{__shfl_down_sync(0xffffffffu, p.m, offset), __shfl_down_sync(0xffffffffu, p.s, offset),
                        __shfl_down_sync(0xffffffffu, p.zeros, offset)};
    p = combine(p, q, inv_t);
  }
  if (lane == 0) {
    red[warp] = p.m;
    red[kWarps2 + warp] = p.s;
    red[2 * kWarps2 + warp] = p.zeros;
  }
  __syncthreads();
  SoftmaxPart t{red[0], red[kWarps2], red[2 * kWarps2]};
#pragma unroll
  for (int i = 1; i < kWarps2; ++i) t = combine(t, SoftmaxPart{red[i], red[kWarps2 + i], red[2 * kWarps2 + i]}, inv_t);
  // The max over all C classes counts the untouched ones at 0; Z = sum over touched + untouched x fill.
  const float m = t.zeros > 0.0f ? fmaxf(t.m, 0.0f) : t.m;
  const float fill = softmax_term(0.0f, m, inv_t);
  const float inv_z = 1.0f / (t.s * softmax_term(t.m, m, inv_t) + t.zeros * fill);
  for (int c = tid; c < C; c += kThreads2) {
    const float v = acc[c] / g.count;
    out[c * ss] = (v != 0.0f ? softmax_term(v, m, inv_t) : fill) * inv_z;
  }
}

using Kernel = void (*)(PoolArgs);

template <typename ScoreT, typename IndexT>
Kernel pick(bool probs, bool registers) {
  if (probs)
    return registers ? pool_kernel_v2<ScoreT, IndexT, true, kRegK> : pool_kernel_v2<ScoreT, IndexT, true, 0>;
  return registers ? pool_kernel_v2<ScoreT, IndexT, false, kRegK> : pool_kernel_v2<ScoreT, IndexT, false, 0>;
}

}  // namespace

int32_t launch_pool_v2(const relabel_map_spec &spec, const PoolArgs &a, int64_t batch, int optin_bytes,
                       cudaStream_t stream, bool *launched) {
  *launched = false;
  const size_t bytes = static_cast<size_t>(a.classes + a.height + a.width) * sizeof(float);
  const size_t static_bytes = 3 * kWarps2 * sizeof(float);
  if (bytes + static_bytes > static_cast<size_t>(optin_bytes)) return RELABEL_OK;  // v1: accumulator in global
  const bool probs = a.mode == RELABEL_MODE_PROBS, registers = a.k <= kRegK;
  const bool i32 = spec.index_dtype == RELABEL_I32;
  Kernel kernel;
  if (spec.score_dtype == RELABEL_F32)
    kernel = i32 ? pick<float, int32_t>(probs, registers) : pick<float, uint16_t>(probs, registers);
  else if (spec.score_dtype == RELABEL_F16)
    kernel = i32 ? pick<uint16_t, int32_t>(probs, registers) : pick<uint16_t, uint16_t>(probs, registers);
  else
    kernel = i32 ? pick<uint8_t, int32_t>(probs, registers) : pick<uint8_t, uint16_t>(probs, registers);
  if (bytes > 48 * 1024) {
    const cudaError_t err =
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
    if (err != cudaSuccess) return cuda_fail(err, "cudaFuncSetAttribute");
  }
  const int64_t blocks = batch * a.out_size * a.out_size;  // <= INT_MAX: checked by the caller
  kernel<<<static_cast<unsigned>(blocks), kThreads2, bytes, stream>>>(a);
  *launched = true;
  return check_launch("label_pool_kernel_v2");
}

}  // namespace cuda
}  // namespace relabel
