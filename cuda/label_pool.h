// What the LabelPooling kernels of both generations share: the call's arguments and the box check. The launchers
// (label_pool.cu) fill PoolArgs and pick the generation (RELABEL_KERNELS); label_pool_v2.cu has the second one.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "common.h"
#include "relabel/relabel.h"

namespace relabel {
namespace cuda {

struct PoolArgs {
  const char *scores;
  int64_t score_stride;
  const char *indices;
  int64_t index_stride;
  const char *quant;  // uint8 scores: the records' quantization blocks; else NULL
  int64_t quant_stride;
  const int64_t *record_indices;  // NULL: crop i reads map i
  int64_t num_maps;
  const float *boxes;
  const uint8_t *flips;
  float *out;
  relabel_pool_stats *stats;
  int height, width, k, classes, out_size;
  int mode, box_order, softmax;
  float inv_temperature;
  bool acc_in_shared;
};

__device__ __forceinline__ bool box_ok(const float *box) {
  for (int i = 0; i < 4; ++i)
    if (!is_finite(box[i]) || fabsf(box[i]) > kMaxBoxCoordinate) return false;
  return true;
}

// An output position that cannot be pooled (invalid record index, box or class id): NaN for every class, counted
// in bad_entries. Called by every thread of the block (the condition is uniform across it).
__device__ __forceinline__ void write_bad_crop(float *out, int classes, int64_t stride, relabel_pool_stats *stats) {
  for (int c = threadIdx.x; c < classes; c += blockDim.x) out[c * stride] = nanf("");
  if (threadIdx.x == 0 && stats != nullptr)
    atomicAdd(reinterpret_cast<unsigned long long *>(&stats->bad_entries), 1ull);
}

// Launches the second-generation kernel for this call when it has one for it (shared-memory accumulator: C floats
// fit in `optin_bytes`); *launched tells whether it did (else the caller runs v1). Geometry and options of `a`
// must be filled in.
int32_t launch_pool_v2(const relabel_map_spec &spec, const PoolArgs &a, int64_t batch, int optin_bytes,
                       cudaStream_t stream, bool *launched);

}  // namespace cuda
}  // namespace relabel
