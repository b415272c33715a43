// CUDA top-k compression: one thread per location (b, y, x) streams the C values of its location (adjacent
// threads read adjacent addresses of each class plane, so every load is coalesced) and keeps its k best in
// registers; only k scores (fp16/fp32) and k class ids per location are written. Same selection and tie rule
// as the CPU kernel: descending, equal values keep the lower class id first.
#include "common.h"
#include "cuda_util.h"
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

struct TopkArgs {
  int64_t locations;  // B * H * W
  int64_t hw;
  int classes, k;
  void *scores;
  int score_dtype;
  void *indices;
  int index_dtype;
  int32_t *flags;
};

// KCAP: compile-time capacity (== k for the common small k, so the arrays live in registers).
template <typename In, int KCAP, bool EXACT>
__global__ void __launch_bounds__(kBlock) topk_kernel(const In *__restrict__ dense, TopkArgs a) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= a.locations) return;
  const int k = EXACT ? KCAP : a.k;
  const int64_t b = idx / a.hw, loc = idx % a.hw;
  const In *p = dense + b * a.classes * a.hw + loc;
  float best[KCAP];
  int best_id[KCAP];
#pragma unroll
  for (int j = 0; j < KCAP; ++j) {
    best[j] = -INFINITY;
    best_id[j] = -1;
  }
  int flags = 0;
#pragma unroll 4
  for (int c = 0; c < a.classes; ++c) {
    const float v = load_dense(p, static_cast<int64_t>(c) * a.hw);
    if (!is_finite(v)) {
      flags |= RELABEL_FLAG_NONFINITE;
      continue;
    }
    if (!(v > best[k - 1])) continue;  // ties keep the earlier (lower) class id
    best[k - 1] = v;
    best_id[k - 1] = c;
#pragma unroll
    for (int j = KCAP - 1; j > 0; --j) {
      if (j < k && best[j] > best[j - 1]) {
        const float tv = best[j];
        best[j] = best[j - 1];
        best[j - 1] = tv;
        const int ti = best_id[j];
        best_id[j] = best_id[j - 1];
        best_id[j - 1] = ti;
      }
    }
  }
#pragma unroll
  for (int j = 0; j < KCAP; ++j) {
    if (j >= k) break;
    const int64_t o = (b * k + j) * a.hw + loc;
    if (a.score_dtype == RELABEL_F16) {
      const uint16_t h = float_to_half(best[j]);
      if ((h & 0x7c00u) == 0x7c00u && is_finite(best[j])) flags |= RELABEL_FLAG_F16_OVERFLOW;
      static_cast<uint16_t *>(a.scores)[o] = h;
    } else {
      static_cast<float *>(a.scores)[o] = best[j];
    }
    if (a.index_dtype == RELABEL_U16)
      static_cast<uint16_t *>(a.indices)[o] = static_cast<uint16_t>(best_id[j] < 0 ? 0 : best_id[j]);
    else
      static_cast<int32_t *>(a.indices)[o] = best_id[j];
  }
  if (flags != 0 && a.flags != nullptr) atomicOr(a.flags, flags);
}

template <typename In>
int32_t launch_topk(const void *dense, const TopkArgs &a, cudaStream_t stream) {
  const In *in = static_cast<const In *>(dense);
  const unsigned blocks = static_cast<unsigned>((a.locations + kBlock - 1) / kBlock);
#define RELABEL_TOPK_CASE(K) \
  case K:                    \
    topk_kernel<In, K, true><<<blocks, kBlock, 0, stream>>>(in, a); \
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
        topk_kernel<In, 16, false><<<blocks, kBlock, 0, stream>>>(in, a);
      else
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
  status = use_device(device);
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
  if ((a.locations + kBlock - 1) / kBlock > 0x7fffffffLL)
    return fail(RELABEL_ERR_ARGUMENT, "batch x H x W = %lld is too large for one launch; split the batch",
                static_cast<long long>(a.locations));
  const cudaStream_t s = static_cast<cudaStream_t>(stream);
  switch (dense_dtype) {
    case RELABEL_F32: return launch_topk<float>(dense, a, s);
    case RELABEL_F16: return launch_topk<uint16_t>(dense, a, s);
    default: return launch_topk<Bf16>(dense, a, s);
  }
}
