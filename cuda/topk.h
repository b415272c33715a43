// What the top-k kernels of both generations share: the call's arguments, the running top-k list, the tie rule
// and the output writer (topk_compress.cu has v1 and the entry point, topk_compress_v2.cu v2).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "common.h"
#include "relabel/relabel.h"

namespace relabel {
namespace cuda {

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

// An empty list: -inf placeholders with id -1.
template <int KCAP>
__device__ __forceinline__ void clear_list(float (&best)[KCAP], int (&best_id)[KCAP]) {
#pragma unroll
  for (int j = 0; j < KCAP; ++j) {
    best[j] = -INFINITY;
    best_id[j] = -1;
  }
}

// a before b: larger value first, equal values by lower class id (placeholders, id -1, only hold -inf).
__device__ __forceinline__ bool ranks_before(float av, int ai, float bv, int bi) {
  return av > bv || (av == bv && ai >= 0 && (bi < 0 || ai < bi));
}

struct RanksBefore {  // candidates in any order: the full tie rule
  __device__ bool operator()(float av, int ai, float bv, int bi) const { return ranks_before(av, ai, bv, bi); }
};

// Inserts (v, c) into a descending top-k list ordered by before(av, ai, bv, bi) when it ranks before the k-th entry.
template <int KCAP, typename Before>
__device__ __forceinline__ void insert(float (&best)[KCAP], int (&best_id)[KCAP], int k, float v, int c, Before before) {
  if (!before(v, c, best[k - 1], best_id[k - 1])) return;
  best[k - 1] = v;
  best_id[k - 1] = c;
#pragma unroll
  for (int j = KCAP - 1; j > 0; --j) {
    if (j < k && before(best[j], best_id[j], best[j - 1], best_id[j - 1])) {
      const float tv = best[j];
      best[j] = best[j - 1];
      best[j - 1] = tv;
      const int ti = best_id[j];
      best_id[j] = best_id[j - 1];
      best_id[j - 1] = ti;
    }
  }
}

struct GreaterValue {  // candidates in increasing class order: equal values keep the earlier, lower class id
  __device__ bool operator()(float av, int, float bv, int) const { return av > bv; }
};

// Offers value v of class c to a descending top-k list (classes offered in increasing order).
template <int KCAP>
__device__ __forceinline__ void offer(float (&best)[KCAP], int (&best_id)[KCAP], int k, float v, int c) {
  insert(best, best_id, k, v, c, GreaterValue());
}

// Writes entry o of the outputs (fp16 rounding flags an overflow; a missing id, -1, is written as 0 in uint16).
__device__ __forceinline__ void write_entry(const TopkArgs &a, int64_t o, float v, int id, int &flags) {
  if (a.score_dtype == RELABEL_F16) {
    const uint16_t h = float_to_half(v);
    if ((h & 0x7c00u) == 0x7c00u && is_finite(v)) flags |= RELABEL_FLAG_F16_OVERFLOW;
    static_cast<uint16_t *>(a.scores)[o] = h;
  } else {
    static_cast<float *>(a.scores)[o] = v;
  }
  if (a.index_dtype == RELABEL_U16)
    static_cast<uint16_t *>(a.indices)[o] = static_cast<uint16_t>(id < 0 ? 0 : id);
  else
    static_cast<int32_t *>(a.indices)[o] = id;
}

// Launches the second-generation kernel when it covers the call (k <= 16); *launched tells whether it did (else the
// caller runs v1).
int32_t launch_topk_v2(const void *dense, int32_t dense_dtype, const TopkArgs &a, cudaStream_t stream, bool *launched);

}  // namespace cuda
}  // namespace relabel
