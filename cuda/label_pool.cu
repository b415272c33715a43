// CUDA LabelPooling, first generation (RELABEL_KERNELS=v1, the default; v2 is in label_pool_v2.cu): one block per
// (crop, output bin). The block computes the bin's separable RoIAlign weights
// (common.h, the same arithmetic as the CPU kernel), accumulates the k entries of every cell with nonzero weight
// into a per-class accumulator in shared memory (in the output row itself when C does not fit), then finalizes:
// plain pooled logits, the softmax with one shared fill value for classes no cell touched (exp() only for
// nonzero entries), or the renormalized distribution of probs mode. Maps are read straight from where they
// live (a batch array, or records of a device-resident store); nothing dense is materialized.
#include <atomic>
#include <cmath>

#include "common.h"
#include "cuda_util.h"
#include "label_pool.h"
#include "validate.h"

namespace relabel {
namespace cuda {
namespace {

template <typename ScoreT, typename IndexT>
__global__ void __launch_bounds__(kBlock) label_pool_kernel(PoolArgs a) {
  extern __shared__ float smem[];
  const int S = a.out_size, H = a.height, W = a.width, C = a.classes;
  const int64_t ss = static_cast<int64_t>(S) * S, hw = static_cast<int64_t>(H) * W;
  const int64_t b = blockIdx.x / ss;
  const int bin = static_cast<int>(blockIdx.x % ss), ph = bin / S, pw = bin % S;
  const bool flip = a.flips != nullptr && a.flips[b] != 0;
  float *out = a.out + b * C * ss + static_cast<int64_t>(ph) * S + (flip ? S - 1 - pw : pw);

  float *wy = smem, *wx = smem + H, *red = smem + H + W;  // red: 32 floats of reduction scratch
  float *acc = a.acc_in_shared ? red + 32 : out;
  const int64_t acc_stride = a.acc_in_shared ? 1 : ss;

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

  for (int i = threadIdx.x; i < H + W; i += blockDim.x) smem[i] = 0.0f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) acc[c * acc_stride] = 0.0f;
  __syncthreads();
  if (threadIdx.x == 0) accumulate_axis_weights(g.start_y, g.bin_h, g.grid_h, ph, H, wy);
  if (threadIdx.x == 32) accumulate_axis_weights(g.start_x, g.bin_w, g.grid_w, pw, W, wx);
  __syncthreads();

  const bool probs = a.mode == RELABEL_MODE_PROBS;
  const int K = a.k;
  float prob_total = 0.0f;
  unsigned long long cells = 0, nonpositive = 0;
  bool bad = false;
  for (int64_t cell = threadIdx.x; cell < hw; cell += blockDim.x) {
    const int r = static_cast<int>(cell / W), c = static_cast<int>(cell % W);
    const float w = wy[r] * wx[c];
    if (w == 0.0f) continue;
    ++cells;
    if (load_score(sc, cell, dq) <= 0.0f) ++nonpositive;
    float m = 0.0f, sum = 0.0f;
    if (probs) {  // the cell's softmax over its top-k
      m = load_score(sc, cell, dq);
      for (int j = 1; j < K; ++j) m = fmaxf(m, load_score(sc, j * hw + cell, dq));
      for (int j = 0; j < K; ++j) sum += softmax_term(load_score(sc, j * hw + cell, dq), m, a.inv_temperature);
    }
    float added = 0.0f;
    for (int j = 0; j < K; ++j) {
      const int64_t e = j * hw + cell;
      const int64_t cls = static_cast<int64_t>(id[e]);
      if (cls < 0 || cls >= C) {
        bad = true;
        continue;
      }
      float v = load_score(sc, e, dq);
      if (probs) {
        v = softmax_term(v, m, a.inv_temperature) / sum;
        added += v;
      }
      atomicAdd(&acc[cls * acc_stride], w * v);
    }
    prob_total += w * added;
  }
  // Per-block totals, one atomic each (counts are small integers: exact in float reductions up to 2^24).
  const float block_bad = block_reduce(bad ? 1.0f : 0.0f, SumOp<float>(), 0.0f, red);
  if (a.stats != nullptr) {
    const float block_cells = block_reduce(static_cast<float>(cells), SumOp<float>(), 0.0f, red);
    const float block_nonpositive = block_reduce(static_cast<float>(nonpositive), SumOp<float>(), 0.0f, red);
    if (threadIdx.x == 0) {
      atomicAdd(reinterpret_cast<unsigned long long *>(&a.stats->cells), static_cast<unsigned long long>(block_cells));
      atomicAdd(reinterpret_cast<unsigned long long *>(&a.stats->cells_top1_nonpositive),
                static_cast<unsigned long long>(block_nonpositive));
      if (block_bad > 0.0f) atomicAdd(reinterpret_cast<unsigned long long *>(&a.stats->bad_entries), 1ull);
    }
  }
  __syncthreads();  // acc complete
  if (block_bad > 0.0f) {  // a class id outside [0, C): the map does not match C; make it loud
    for (int c = threadIdx.x; c < C; c += blockDim.x) out[c * ss] = nanf("");
    return;
  }

  if (probs) {
    const float total = block_reduce(prob_total, SumOp<float>(), 0.0f, red);
    for (int c = threadIdx.x; c < C; c += blockDim.x)
      out[c * ss] = total > 0.0f ? acc[c * acc_stride] / total : 1.0f / static_cast<float>(C);
    return;
  }
  if (!a.softmax) {
    for (int c = threadIdx.x; c < C; c += blockDim.x) out[c * ss] = acc[c * acc_stride] / g.count;
    return;
  }
  // Softmax with a shared fill value: entries that are exactly 0 (classes no cell touched) all get e^(-m/T).
  float local_max = -INFINITY;
  for (int c = threadIdx.x; c < C; c += blockDim.x) local_max = fmaxf(local_max, acc[c * acc_stride] / g.count);
  const float m = block_reduce(local_max, MaxOp(), -INFINITY, red);
  float z = 0.0f, zeros = 0.0f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    const float v = acc[c * acc_stride] / g.count;
    if (v != 0.0f) {
      const float e = softmax_term(v, m, a.inv_temperature);
      acc[c * acc_stride] = e;  // each entry is owned by this thread from here on
      z += e;
    } else {
      acc[c * acc_stride] = -1.0f;  // marks a fill entry (e >= 0 always)
      zeros += 1.0f;
    }
  }
  const float fill_term = softmax_term(0.0f, m, a.inv_temperature);
  const float total_z = block_reduce(z, SumOp<float>(), 0.0f, red) +
                        block_reduce(zeros, SumOp<float>(), 0.0f, red) * fill_term;
  const float inv_z = 1.0f / total_z;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    const float e = acc[c * acc_stride];
    out[c * ss] = (e >= 0.0f ? e : fill_term) * inv_z;
  }
}

// The opt-in shared memory per block of each device, looked up once.
int32_t max_shared_bytes(int32_t device, int *bytes) {
  static std::atomic<int> cache[64];
  if (device < 64 && (*bytes = cache[device].load(std::memory_order_relaxed)) > 0) return RELABEL_OK;
  const cudaError_t err = cudaDeviceGetAttribute(bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  if (err != cudaSuccess) return cuda_fail(err, "cudaDeviceGetAttribute");
  if (device < 64) cache[device].store(*bytes, std::memory_order_relaxed);
  return RELABEL_OK;
}

int32_t launch_pool(const relabel_map_spec &spec, const relabel_pool_params &p, PoolArgs a, int64_t batch,
                    int32_t device, relabel_stream stream) {
  DeviceGuard guard;
  int32_t status = guard.enter(device);
  if (status != RELABEL_OK) return status;
  a.height = spec.height;
  a.width = spec.width;
  a.k = spec.k;
  a.classes = spec.classes;
  a.out_size = p.out_size;
  a.mode = p.mode;
  a.box_order = p.box_order;
  a.softmax = p.softmax;
  a.inv_temperature = 1.0f / p.temperature;

  const int64_t blocks = batch * p.out_size * p.out_size;
  if (blocks > 0x7fffffffLL)
    return fail(RELABEL_ERR_ARGUMENT, "batch x S x S = %lld exceeds the CUDA grid limit; split the batch",
                static_cast<long long>(blocks));
  int optin = 0;
  status = max_shared_bytes(device, &optin);
  if (status != RELABEL_OK) return status;
  int generation = 1;
  status = kernel_generation(&generation);
  if (status != RELABEL_OK) return status;
  if (generation == 2) {
    bool launched = false;
    status = launch_pool_v2(spec, a, batch, optin, static_cast<cudaStream_t>(stream), &launched);
    if (status != RELABEL_OK || launched) return status;
  }
  const size_t base_bytes = static_cast<size_t>(spec.height + spec.width + 32) * sizeof(float);
  const size_t shared_bytes = base_bytes + static_cast<size_t>(spec.classes) * sizeof(float);
  a.acc_in_shared = shared_bytes <= static_cast<size_t>(optin);
  const size_t bytes = a.acc_in_shared ? shared_bytes : base_bytes;
  if (bytes > static_cast<size_t>(optin))
    return fail(RELABEL_ERR_ARGUMENT, "map %dx%d needs %zu bytes of shared memory, the device allows %d",
                spec.height, spec.width, bytes, optin);

  void (*kernel)(PoolArgs);
  const bool i32 = spec.index_dtype == RELABEL_I32;
  if (spec.score_dtype == RELABEL_F32)
    kernel = i32 ? label_pool_kernel<float, int32_t> : label_pool_kernel<float, uint16_t>;
  else if (spec.score_dtype == RELABEL_F16)
    kernel = i32 ? label_pool_kernel<uint16_t, int32_t> : label_pool_kernel<uint16_t, uint16_t>;
  else
    kernel = i32 ? label_pool_kernel<uint8_t, int32_t> : label_pool_kernel<uint8_t, uint16_t>;
  if (bytes > 48 * 1024) {
    const cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
    if (err != cudaSuccess) return cuda_fail(err, "cudaFuncSetAttribute");
  }
  kernel<<<static_cast<unsigned>(blocks), kBlock, bytes, static_cast<cudaStream_t>(stream)>>>(a);
  return check_launch("label_pool_kernel");
}

// Where the maps and crops of a call live; launch_pool fills in the geometry and options.
PoolArgs pool_args(const char *scores, int64_t score_stride, const char *indices, int64_t index_stride,
                   const char *quant, const int64_t *record_indices, int64_t num_maps, const float *boxes,
                   const uint8_t *flips, float *out, relabel_pool_stats *stats) {
  PoolArgs a{};
  a.scores = scores;
  a.score_stride = score_stride;
  a.indices = indices;
  a.index_stride = index_stride;
  a.quant = quant;
  a.quant_stride = score_stride;  // quantization blocks exist only in records: one per record_size
  a.record_indices = record_indices;
  a.num_maps = num_maps;
  a.boxes = boxes;
  a.flips = flips;
  a.out = out;
  a.stats = stats;
  return a;
}

int32_t check_common(const relabel_map_spec *spec, const relabel_pool_params *params) {
  int32_t status = check_map_spec(spec);
  if (status == RELABEL_OK) status = check_pool_params(params);
  return status;
}

}  // namespace
}  // namespace cuda
}  // namespace relabel

using namespace relabel;
using namespace relabel::cuda;

extern "C" int32_t relabel_cuda_label_pool(const relabel_map_spec *spec, const relabel_pool_params *params,
                                           const void *scores, const void *indices, int64_t batch, const float *boxes,
                                           const uint8_t *flips, float *out, relabel_pool_stats *stats,
                                           int32_t device, relabel_stream stream) {
  clear_error();
  int32_t status = check_common(spec, params);
  if (status == RELABEL_OK) status = check_dense_scores(spec);
  if (status == RELABEL_OK) status = check_pool_buffers(scores, indices, batch, boxes, out, false, 0, nullptr);
  if (status != RELABEL_OK || batch == 0) return status;
  const int64_t entries = static_cast<int64_t>(spec->k) * spec->height * spec->width;
  const PoolArgs a = pool_args(static_cast<const char *>(scores),
                               entries * static_cast<int64_t>(dtype_size(spec->score_dtype)),
                               static_cast<const char *>(indices),
                               entries * static_cast<int64_t>(dtype_size(spec->index_dtype)), nullptr, nullptr,
                               batch, boxes, flips, out, stats);
  return launch_pool(*spec, *params, a, batch, device, stream);
}

extern "C" int32_t relabel_cuda_label_pool_gather(const relabel_map_spec *spec, const relabel_pool_params *params,
                                                  const void *records, int64_t num_records,
                                                  const int64_t *record_indices, int64_t batch, const float *boxes,
                                                  const uint8_t *flips, float *out, relabel_pool_stats *stats,
                                                  int32_t device, relabel_stream stream) {
  clear_error();
  int32_t status = check_common(spec, params);
  if (status == RELABEL_OK)
    status = check_pool_buffers(records, records, batch, boxes, out, true, num_records, record_indices);
  if (status != RELABEL_OK || batch == 0) return status;
  const relabel_record_layout layout = record_layout(*spec);
  const char *base = static_cast<const char *>(records);
  const PoolArgs a = pool_args(base + layout.scores_offset, layout.record_size, base + layout.indices_offset,
                               layout.record_size, layout.quant_offset >= 0 ? base + layout.quant_offset : nullptr,
                               record_indices, num_records, boxes, flips, out, stats);
  return launch_pool(*spec, *params, a, batch, device, stream);
}
