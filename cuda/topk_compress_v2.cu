// CUDA top-k compression, second generation (RELABEL_KERNELS=v2, k <= 16; larger k runs v1). Same selection and tie
// rule as v1 and the CPU kernel. Built to stream the dense logits at HBM speed (docs/native-core.md, "GPU kernels"):
//  - a block takes a tile of locations of one image (the whole H x W map when it has <= 256 cells) and walks the C
//    classes in chunks staged in shared memory, double-buffered: while the block scans chunk q, chunk q + 1 is in
//    flight. When the tile is the whole map, a chunk [c0, c0 + cc) x H x W is one contiguous range of memory and is
//    copied with 16-byte cp.async (sm_80+; 16-byte loads elsewhere), only its unaligned head and tail element by
//    element; a partial tile (maps of more than 256 cells) copies rows of the tile, coalesced;
//  - each thread owns one location and one class slice (c = slice mod slices; slices = 256 / tile) and keeps its
//    running top-k in registers, reading values from shared memory (fp16 through __half2float) with a pointer
//    increment per class;
//  - with several slices, the per-slice lists are merged in parallel, one thread per location (v1: one warp).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <climits>

#include "common.h"
#include "cuda_util.h"
#include "topk.h"

namespace relabel {
namespace cuda {
namespace {

constexpr int kTopkThreads = 256;
constexpr int kBufBytes = 24 * 1024;         // one staging buffer (two per block: 48 KB, no opt-in needed)
constexpr int kChunkBytes = kBufBytes - 16;  // a chunk's bytes; 16 bytes of slack align it like its source

template <int DT>
__device__ __forceinline__ float staged_value(const unsigned char *base, int i) {
  if constexpr (DT == RELABEL_F32) {
    return reinterpret_cast<const float *>(base)[i];
  } else if constexpr (DT == RELABEL_F16) {
    return __half2float(reinterpret_cast<const __half *>(base)[i]);
  } else {
    return bf16_to_float(reinterpret_cast<const uint16_t *>(base)[i]);
  }
}

// Copies one element of E bytes (synchronously).
template <int E>
__device__ __forceinline__ void copy_element(unsigned char *dst, const unsigned char *src) {
  if constexpr (E == 4)
    *reinterpret_cast<uint32_t *>(dst) = __ldg(reinterpret_cast<const unsigned int *>(src));
  else
    *reinterpret_cast<uint16_t *>(dst) = __ldg(reinterpret_cast<const unsigned short *>(src));
}

// 16 bytes global -> shared, asynchronously where the hardware can (both addresses 16-byte aligned).
__device__ __forceinline__ void copy16_async(unsigned char *dst, const unsigned char *src) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(src) : "memory");
#else
  *reinterpret_cast<uint4 *>(dst) = __ldg(reinterpret_cast<const uint4 *>(src));
#endif
}

__device__ __forceinline__ void async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}

// Waits until at most one committed group of this thread is still in flight.
__device__ __forceinline__ void async_wait_all_but_one() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group 1;\n" ::: "memory");
#endif
}

struct TileGeometry {
  int tile;           // locations per block (the whole map when H*W <= kTopkThreads)
  int slices;         // class slices per location: kTopkThreads / tile
  int chunk_classes;  // classes staged per chunk
};

template <int DT, int KCAP, bool EXACT>
__global__ void __launch_bounds__(kTopkThreads) topk_tile_kernel(const unsigned char *__restrict__ dense, TopkArgs a,
                                                                 TileGeometry t) {
  constexpr int E = DT == RELABEL_F32 ? 4 : 2;
  extern __shared__ __align__(16) unsigned char smem[];  // 2 staging buffers of kBufBytes
  const int64_t hw = a.hw;
  const int C = a.classes, k = EXACT ? KCAP : a.k;
  const int64_t tiles = (hw + t.tile - 1) / t.tile;
  const int64_t b = blockIdx.x / tiles;
  const int64_t l0 = (blockIdx.x % tiles) * t.tile;
  const int L = static_cast<int>(hw - l0 < t.tile ? hw - l0 : t.tile);  // locations of this tile
  const int loc = threadIdx.x % t.tile, slice = threadIdx.x / t.tile;
  const bool active = loc < L && slice < t.slices;
  const bool flat = t.tile == hw;  // whole maps: a chunk of classes is one contiguous range
  const unsigned char *image = dense + static_cast<int64_t>(b) * C * hw * E;
  const int cc = t.chunk_classes, chunks = (C + cc - 1) / cc;

  float best[KCAP];
  int best_id[KCAP];
  clear_list(best, best_id);
  int flags = 0;

  // Where chunk q starts in its buffer (flat: at the source's offset modulo 16, so that 16-byte pieces align).
  auto staged_base = [&](int q) -> unsigned char * {
    unsigned char *buf = smem + (q & 1) * kBufBytes;
    if (!flat) return buf;
    const unsigned char *src = image + static_cast<int64_t>(q) * cc * hw * E;
    return buf + (reinterpret_cast<uintptr_t>(src) & 15u);
  };
  auto stage = [&](int q) {
    const int c0 = q * cc, n = C - c0 < cc ? C - c0 : cc;
    unsigned char *dst = staged_base(q);
    if (flat) {
      const unsigned char *src = image + static_cast<int64_t>(c0) * hw * E;
      const uintptr_t s0 = reinterpret_cast<uintptr_t>(src);
      const uintptr_t bytes = static_cast<uintptr_t>(n) * static_cast<uintptr_t>(hw) * E;
      const uintptr_t first = (s0 + 15u) & ~uintptr_t{15}, last = (s0 + bytes) & ~uintptr_t{15};
      if (first >= last) {  // shorter than one aligned piece: element by element
        for (uintptr_t o = threadIdx.x * E; o < bytes; o += kTopkThreads * E) copy_element<E>(dst + o, src + o);
        return;
      }
      for (uintptr_t p = first + 16u * threadIdx.x; p < last; p += 16u * kTopkThreads)
        copy16_async(dst + (p - s0), src + (p - s0));
      for (uintptr_t o = threadIdx.x * E; o < first - s0; o += kTopkThreads * E) copy_element<E>(dst + o, src + o);
      for (uintptr_t o = (last - s0) + threadIdx.x * E; o < bytes; o += kTopkThreads * E)
        copy_element<E>(dst + o, src + o);
    } else {
      for (int e = threadIdx.x; e < n * L; e += kTopkThreads) {
        const int row = e / L, col = e - row * L;
        copy_element<E>(dst + static_cast<int64_t>(e) * E, image + ((c0 + row) * hw + l0 + col) * E);
      }
    }
  };

  stage(0);
  async_commit();
  for (int q = 0; q < chunks; ++q) {
    if (q + 1 < chunks) stage(q + 1);  // into the other buffer, free since the barrier ending iteration q - 1
    async_commit();                    // (an empty group on the last chunk keeps the wait count uniform)
    async_wait_all_but_one();          // this thread's copies of chunk q are done ...
    __syncthreads();                   // ... and everyone's
    if (active) {
      const int c0 = q * cc, c1 = C - c0 < cc ? C : c0 + cc;
      int c = c0 + ((slice - c0 % t.slices) % t.slices + t.slices) % t.slices;  // first class of this slice
      const unsigned char *base = staged_base(q);
      int i = (c - c0) * L + loc;
      const int step = t.slices * L;
      for (; c < c1; c += t.slices, i += step) {
        const float v = staged_value<DT>(base, i);
        if (!is_finite(v)) {
          flags |= RELABEL_FLAG_NONFINITE;
          continue;
        }
        offer(best, best_id, k, v, c);
      }
    }
    __syncthreads();  // chunk q's buffer is overwritten by the stage() of the next iteration
  }

  if (t.slices > 1) {  // merge the slices' lists, one thread per location (the staging buffers are free now)
    float *cand_v = reinterpret_cast<float *>(smem);
    int *cand_i = reinterpret_cast<int *>(smem) + t.slices * KCAP * t.tile;
    if (active) {
#pragma unroll
      for (int j = 0; j < KCAP; ++j) {
        cand_v[(slice * KCAP + j) * t.tile + loc] = best[j];
        cand_i[(slice * KCAP + j) * t.tile + loc] = best_id[j];
      }
    }
    __syncthreads();
    if (slice == 0 && loc < L) {
      for (int s = 1; s < t.slices; ++s) {
        for (int j = 0; j < k; ++j) {
          const float v = cand_v[(s * KCAP + j) * t.tile + loc];
          const int c = cand_i[(s * KCAP + j) * t.tile + loc];
          if (c < 0) break;  // the rest of that list is placeholders
          insert(best, best_id, k, v, c, RanksBefore());
        }
      }
    }
  }
  if (slice == 0 && loc < L) {
#pragma unroll
    for (int j = 0; j < KCAP; ++j) {
      if (j >= k) break;
      write_entry(a, (b * k + j) * hw + l0 + loc, best[j], best_id[j], flags);
    }
  }
  if (flags != 0 && a.flags != nullptr) atomicOr(a.flags, flags);
}

template <int DT>
int32_t launch(const void *dense, const TopkArgs &a, const TileGeometry &t, unsigned blocks, cudaStream_t stream) {
  const unsigned char *in = static_cast<const unsigned char *>(dense);
  const size_t bytes = 2 * kBufBytes;
#define RELABEL_TOPK_V2_CASE(K) \
  case K:                       \
    topk_tile_kernel<DT, K, true><<<blocks, kTopkThreads, bytes, stream>>>(in, a, t); \
    break;
  switch (a.k) {
    RELABEL_TOPK_V2_CASE(1)
    RELABEL_TOPK_V2_CASE(2)
    RELABEL_TOPK_V2_CASE(3)
    RELABEL_TOPK_V2_CASE(4)
    RELABEL_TOPK_V2_CASE(5)
    default:
      if (a.k <= 8)
        topk_tile_kernel<DT, 8, false><<<blocks, kTopkThreads, bytes, stream>>>(in, a, t);
      else
        topk_tile_kernel<DT, 16, false><<<blocks, kTopkThreads, bytes, stream>>>(in, a, t);
  }
#undef RELABEL_TOPK_V2_CASE
  return check_launch("topk_tile_kernel");
}

}  // namespace

int32_t launch_topk_v2(const void *dense, int32_t dense_dtype, const TopkArgs &a, cudaStream_t stream,
                       bool *launched) {
  *launched = false;
  if (a.k > 16) return RELABEL_OK;  // v1's thread-per-location kernel
  const int element = dense_dtype == RELABEL_F32 ? 4 : 2;
  TileGeometry t;
  t.tile = static_cast<int>(a.hw < kTopkThreads ? a.hw : kTopkThreads);
  t.slices = kTopkThreads / t.tile;
  t.chunk_classes = kChunkBytes / (t.tile * element);
  const int64_t tiles = (a.hw + t.tile - 1) / t.tile;
  const int64_t blocks = a.locations / a.hw * tiles;
  if (blocks > INT_MAX)
    return fail(RELABEL_ERR_ARGUMENT, "batch x H x W = %lld is too large for one launch; split the batch",
                static_cast<long long>(a.locations));
  *launched = true;
  switch (dense_dtype) {
    case RELABEL_F32: return launch<RELABEL_F32>(dense, a, t, static_cast<unsigned>(blocks), stream);
    case RELABEL_F16: return launch<RELABEL_F16>(dense, a, t, static_cast<unsigned>(blocks), stream);
    default: return launch<RELABEL_BF16>(dense, a, t, static_cast<unsigned>(blocks), stream);
  }
}

}  // namespace cuda
}  // namespace relabel
