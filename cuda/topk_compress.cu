// CUDA top-k compression, first generation (RELABEL_KERNELS=v1, the default; v2 is in topk_compress_v2.cu):
// adjacent threads take adjacent locations (b, y, x), so every load of a class plane is
// coalesced; each keeps a running top-k in registers over its share of the C classes (k <= 16: 8 class slices per
// location, merged in shared memory; larger k: one thread per location). Only k scores (fp16/fp32) and k class
// ids per location are written. Same selection and tie rule as the CPU kernel: descending, equal values keep the
// lower class id first.
#include "common.h"
#include "cuda_util.h"
#include "topk.h"
#include "validate.h"

namespace relabel {
namespace cuda {
namespace {

struct Bf16 {
  uint16_t bits;
};
__device__ __forceinline__ float load_dense(const float *p, int64_t i) { return __ldg(p + i); }
__device__ __forceinline__ float load_dense(const uint16_t *p, int64_t i) { return half_to_float(__ldg(p + i)); }
__device__ __forceinline__ float load_dense(const Bf16 *p, int64_t i) {
  return bf16_to_float(__ldg(reinterpret_cast<const unsigned short *>(p) + i));
}

// One thread per location (used for k > 16). KCAP: compile-time capacity; EXACT: k == KCAP, so that the lists
// live in registers.
template <typename In, int KCAP, bool EXACT>
__global__ void __launch_bounds__(kBlock) topk_kernel(const In *__restrict__ dense, TopkArgs a) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= a.locations) return;
  const int k = EXACT ? KCAP : a.k;
  const int64_t b = idx / a.hw, loc = idx % a.hw;
  const In *p = dense + b * a.classes * a.hw + loc;
  float best[KCAP];
  int best_id[KCAP];
  clear_list(best, best_id);
  int flags = 0;
#pragma unroll 4
  for (int c = 0; c < a.classes; ++c) {
    const float v = load_dense(p, static_cast<int64_t>(c) * a.hw);
    if (!is_finite(v)) {
      flags |= RELABEL_FLAG_NONFINITE;
      continue;
    }
    offer(best, best_id, k, v, c);
  }
#pragma unroll
  for (int j = 0; j < KCAP; ++j) {
    if (j >= k) break;
    write_entry(a, (b * k + j) * a.hw + loc, best[j], best_id[j], flags);
  }
  if (flags != 0 && a.flags != nullptr) atomicOr(a.flags, flags);
}

// The main kernel for k <= 16. A block takes 32 consecutive locations; each of its 8 warps scans every 8th class
// (lane = location, so each load instruction reads 32 adjacent values), keeping a top-k per (location, class
// slice) in registers; warp 0 then merges the 8 sorted lists per location. 8x the parallelism of one thread per
// location, which matters when B x H x W is small (e.g. 16 x 7 x 7 maps of 21843 classes).
constexpr int kSlices = kBlock / 32;

template <typename In, int KCAP, bool EXACT>
__global__ void __launch_bounds__(kBlock) topk_split_kernel(const In *__restrict__ dense, TopkArgs a) {
  __shared__ float cand_v[kSlices][KCAP][32];
  __shared__ int cand_i[kSlices][KCAP][32];
  const int lane = threadIdx.x & 31, slice = threadIdx.x >> 5;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * 32 + lane;
  const bool active = idx < a.locations;
  const int k = EXACT ? KCAP : a.k;
  const int64_t b = active ? idx / a.hw : 0, loc = active ? idx % a.hw : 0;
  float best[KCAP];
  int best_id[KCAP];
  clear_list(best, best_id);
  int flags = 0;
  if (active) {
    const In *p = dense + b * a.classes * a.hw + loc;
#pragma unroll 4
    for (int c = slice; c < a.classes; c += kSlices) {
      const float v = load_dense(p, static_cast<int64_t>(c) * a.hw);
      if (!is_finite(v)) {
        flags |= RELABEL_FLAG_NONFINITE;
        continue;
      }
      offer(best, best_id, k, v, c);
    }
  }
#pragma unroll
  for (int j = 0; j < KCAP; ++j) {
    cand_v[slice][j][lane] = best[j];
    cand_i[slice][j][lane] = best_id[j];
  }
  __syncthreads();
  if (slice == 0 && active) {
    int head[kSlices];
#pragma unroll
    for (int s = 0; s < kSlices; ++s) head[s] = 0;
    for (int j = 0; j < k; ++j) {
      int pick = -1;
      float pv = -INFINITY;
      int pi = -1;
#pragma unroll
      for (int s = 0; s < kSlices; ++s) {
        if (head[s] >= k) continue;
        const float v = cand_v[s][head[s]][lane];
        const int i = cand_i[s][head[s]][lane];
        if (pick < 0 || ranks_before(v, i, pv, pi)) {
          pick = s;
          pv = v;
          pi = i;
        }
      }
      ++head[pick];
      write_entry(a, (b * k + j) * a.hw + loc, pv, pi, flags);
    }
  }
  if (flags != 0 && a.flags != nullptr) atomicOr(a.flags, flags);
}

template <typename In>
int32_t launch_topk(const void *dense, const TopkArgs &a, cudaStream_t stream) {
  const In *in = static_cast<const In *>(dense);
  const unsigned split_blocks = static_cast<unsigned>((a.locations + 31) / 32);
  const unsigned blocks = static_cast<unsigned>((a.locations + kBlock - 1) / kBlock);
#define RELABEL_TOPK_CASE(K) \
  case K:                    \
    topk_split_kernel<In, K, true><<<split_blocks, kBlock, 0, stream>>>(in, a); \
    break;
  switch (a.k) {
    RELABEL_TOPK_CASE(1)
    RELABEL_TOPK_CASE(2)
    RELABEL_TOPK_CASE(3)
    RELABEL_TOPK_CASE(4)
    RELABEL_TOPK_CASE(5)
    RELABEL_TOPK_CASE(6)
    RELABEL_TOPK_CASE(7)
    RELABEL_TOPK_CASE(8)
    RELABEL_TOPK_CASE(10)
    default:
      if (a.k <= 16)
        topk_split_kernel<In, 16, false><<<split_blocks, kBlock, 0, stream>>>(in, a);
      else  // large k: one thread per location, the lists in local memory
        topk_kernel<In, RELABEL_MAX_K, false><<<blocks, kBlock, 0, stream>>>(in, a);
  }
#undef RELABEL_TOPK_CASE
  return check_launch("topk_kernel");
}

}  // namespace
}  // namespace cuda
}  // namespace relabel

using namespace relabel;
using namespace relabel::cuda;

extern "C" int32_t relabel_cuda_topk_compress(const void *dense, int32_t dense_dtype, int64_t batch, int32_t classes,
                                              int32_t height, int32_t width, int32_t k, void *scores,
                                              int32_t score_dtype, void *indices, int32_t index_dtype, int32_t *flags,
                                              int32_t device, relabel_stream stream) {
  clear_error();
  int32_t status =
      check_topk_args(dense, dense_dtype, batch, classes, height, width, k, scores, score_dtype, indices, index_dtype);
  if (status != RELABEL_OK || batch == 0) return status;
  DeviceGuard guard;
  status = guard.enter(device);
  if (status != RELABEL_OK) return status;
  TopkArgs a;
  a.hw = static_cast<int64_t>(height) * width;
  a.locations = batch * a.hw;
  a.classes = classes;
  a.k = k;
  a.scores = scores;
  a.score_dtype = score_dtype;
  a.indices = indices;
  a.index_dtype = index_dtype;
  a.flags = flags;
  if ((a.locations + 31) / 32 > 0x7fffffffLL)
    return fail(RELABEL_ERR_ARGUMENT, "batch x H x W = %lld is too large for one launch; split the batch",
                static_cast<long long>(a.locations));
  const cudaStream_t s = static_cast<cudaStream_t>(stream);
  int generation = 1;
  status = kernel_generation(&generation);
  if (status != RELABEL_OK) return status;
  if (generation == 2) {
    bool launched = false;
    status = launch_topk_v2(dense, dense_dtype, a, s, &launched);
    if (status != RELABEL_OK || launched) return status;
  }
  switch (dense_dtype) {
    case RELABEL_F32: return launch_topk<float>(dense, a, s);
    case RELABEL_F16: return launch_topk<uint16_t>(dense, a, s);
    default: return launch_topk<Bf16>(dense, a, s);
  }
}
