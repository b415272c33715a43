/*
 * relabel.h - the C ABI of the ReLabel4J native core.
 *
 * Ops:
 *   label_pool         LabelPooling (Yun et al., CVPR 2021) of a batch of top-k label maps over crop boxes;
 *   label_pool_gather  the same, reading maps by record index from an array of fixed-size records
 *                      (an mmap'ed store on the host, or the whole store resident in device memory);
 *   topk_compress      dense teacher logits [B,C,H,W] -> the k largest per location plus their class ids.
 * Each op has a CPU implementation (relabel_*) and a CUDA twin (relabel_cuda_*) with the same semantics.
 *
 * Conventions:
 *   - All arrays are dense, C order, little-endian. Shapes are given by the arguments.
 *   - Every function returns RELABEL_OK (0) or an error status; on error, relabel_last_error() returns a
 *     message naming the argument and value (thread-local, valid until the next call on that thread), and the
 *     contents of output buffers are unspecified. No function aborts, throws or prints.
 *   - CUDA functions take device pointers (stats and flags included), run asynchronously on `stream`
 *     (a cudaStream_t; NULL is the legacy default stream) on device `device`, and validate only what can be
 *     validated without reading device memory; data-dependent problems are reported through device-side
 *     counters/flags. Without CUDA support compiled in they return RELABEL_ERR_NO_CUDA.
 *   - The library has no LibTorch dependency: tensors are passed as raw pointers.
 */
#ifndef RELABEL_RELABEL_H
#define RELABEL_RELABEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define RELABEL_API __declspec(dllexport)
#else
#define RELABEL_API __attribute__((visibility("default")))
#endif

/* Bumped on any incompatible change of this header. */
#define RELABEL_ABI_VERSION 2

/* Largest k accepted by every op (top-k maps, topk_compress). */
#define RELABEL_MAX_K 64

/* Status codes. */
#define RELABEL_OK 0
#define RELABEL_ERR_ARGUMENT 1  /* invalid shape, dtype, option or value */
#define RELABEL_ERR_NONFINITE 2 /* NaN or Inf in an input (or an fp16 overflow of an output) */
#define RELABEL_ERR_NO_CUDA 3   /* built without CUDA, or no usable device/driver */
#define RELABEL_ERR_CUDA 4      /* a CUDA runtime call or kernel launch failed */
#define RELABEL_ERR_MEMORY 5    /* host allocation failed */
#define RELABEL_ERR_BUSY 6      /* a file is locked by another open file description (relabel_file_lock) */
#define RELABEL_ERR_FAULT 7     /* reading mapped records faulted: their file was truncated under the mapping */

/* Element types. */
#define RELABEL_F32 0
#define RELABEL_F16 1  /* IEEE binary16 */
#define RELABEL_BF16 2 /* bfloat16 (topk_compress input only) */
#define RELABEL_U16 3  /* class ids when C <= 65535 */
#define RELABEL_I32 4  /* class ids */
#define RELABEL_U8 5   /* scores quantized per map record: value = offset + scale * q (label_pool_gather only) */

/* LabelPooling modes. */
#define RELABEL_MODE_LOGITS 0 /* pool logits (non-top-k classes count as 0), softmax after pooling: the reference */
#define RELABEL_MODE_PROBS 1  /* softmax over each cell's top-k, pool the distributions, renormalize */

/* Box orders. */
#define RELABEL_BOX_XYXY 0     /* (x1, y1, x2, y2) normalized to the image: the correct order (default) */
#define RELABEL_BOX_OFFICIAL 1 /* the released relabel_imagenet code: box read y/x-transposed, both axes scaled by W */

/* Device-side flags of relabel_cuda_topk_compress. */
#define RELABEL_FLAG_NONFINITE 1    /* NaN/Inf in the input (that value was skipped) */
#define RELABEL_FLAG_F16_OVERFLOW 2 /* a selected score does not fit in fp16 (written as +-Inf) */

typedef void *relabel_stream; /* cudaStream_t */

/* Geometry and dtypes of one top-k label map: scores [k,H,W] and class ids [k,H,W]. */
typedef struct relabel_map_spec {
  int32_t k;           /* 1..RELABEL_MAX_K, <= classes */
  int32_t height;      /* H >= 1 */
  int32_t width;       /* W >= 1 */
  int32_t classes;     /* C >= 1 */
  int32_t score_dtype; /* RELABEL_F32, RELABEL_F16, or RELABEL_U8 (records only: see relabel_record_layout) */
  int32_t index_dtype; /* RELABEL_U16 (C <= 65535) or RELABEL_I32 */
} relabel_map_spec;

/* LabelPooling options. */
typedef struct relabel_pool_params {
  int32_t out_size;    /* S >= 1: output [B,C,S,S]; 1 for ReLabel, S x S for dense (token) targets */
  int32_t mode;        /* RELABEL_MODE_LOGITS or RELABEL_MODE_PROBS */
  int32_t box_order;   /* RELABEL_BOX_XYXY or RELABEL_BOX_OFFICIAL */
  int32_t softmax;     /* logits mode: 0 = pooled logits, 1 = softmax(pooled / temperature) over C per position.
                          probs mode: the output is always the renormalized distribution (0 or 1 accepted). */
  float temperature;   /* > 0 and finite; logits mode: the softmax temperature; probs mode: the per-cell one */
  int32_t num_threads; /* CPU worker threads, >= 1 (ignored by CUDA) */
} relabel_pool_params;

/* Counters a LabelPooling call adds to (never resets); in device memory for CUDA calls. */
typedef struct relabel_pool_stats {
  int64_t cells;                  /* (output position, map cell) pairs with nonzero pooling weight */
  int64_t cells_top1_nonpositive; /* of those, cells whose top-1 score is <= 0 (logits mode: see docs) */
  int64_t bad_entries;            /* CUDA only: output positions (crop, bin) whose box, record index or class ids
                                     are invalid; they are written as NaN */
} relabel_pool_stats;

/*
 * Record layout of label_pool_gather (and of the label-map store's records):
 *   [scores_offset,  +k*H*W*sizeof(score)) scores [k,H,W], score_dtype
 *   [indices_offset, +k*H*W*sizeof(index)) class ids [k,H,W], index_dtype
 *   [quant_offset,   +8)                   RELABEL_U8 scores only: float32 scale, float32 offset (little-endian);
 *                                          a score is offset + scale * q. quant_offset is -1 for other dtypes.
 * scores_offset = 0; indices_offset rounds the end of the scores up to 16 bytes, quant_offset the end of the ids;
 * record_size rounds the end of the last block up to 64 bytes (one cache line), so records in a 64-byte aligned
 * array start on a cache line and every block allows 16-byte vector loads. Padding bytes are zero when written by
 * ReLabel4J.
 */
typedef struct relabel_record_layout {
  int64_t scores_offset;
  int64_t indices_offset;
  int64_t record_size;
  int64_t quant_offset;
} relabel_record_layout;

RELABEL_API const char *relabel_version(void);
/* How the library was built, e.g. "CUDA 13.0 (sm: 80-real;90-real;90-virtual), C++ GCC 12.2.0" or "CPU only". */
RELABEL_API const char *relabel_build_info(void);
RELABEL_API int32_t relabel_abi_version(void);
RELABEL_API const char *relabel_last_error(void);

/* Validates spec and fills layout. */
RELABEL_API int32_t relabel_record_layout_of(const relabel_map_spec *spec, relabel_record_layout *layout);

/*
 * LabelPooling of B maps (scores [B,k,H,W] float32/float16, indices [B,k,H,W]) over boxes [B,4] (x1,y1,x2,y2 normalized to the
 * whole image; finite, |value| <= 64), with optional flips [B] (nonzero = horizontally flipped crop: the S x S
 * output is mirrored). out: [B,C,S,S] float32. stats: optional.
 * Semantics: torchvision.ops.roi_align(dense, [b, x1*W-0.5, y1*H-0.5, x2*W-0.5, y2*H-0.5], (S,S), 1.0, -1,
 * aligned=False) where dense[c,y,x] is the score of c if c is among the top-k at (y,x), else 0 - computed
 * without materializing the dense map.
 */
RELABEL_API int32_t relabel_label_pool(const relabel_map_spec *spec, const relabel_pool_params *params,
                                       const void *scores, const void *indices, int64_t batch, const float *boxes,
                                       const uint8_t *flips, float *out, relabel_pool_stats *stats);

/* The same, crop i reading the map of record record_indices[i] (int64, in [0, num_records)) of `records`
 * (num_records records laid out as relabel_record_layout_of(spec) says, starting 16-byte aligned). */
RELABEL_API int32_t relabel_label_pool_gather(const relabel_map_spec *spec, const relabel_pool_params *params,
                                              const void *records, int64_t num_records,
                                              const int64_t *record_indices, int64_t batch, const float *boxes,
                                              const uint8_t *flips, float *out, relabel_pool_stats *stats);

/*
 * Top-k compression: dense [B,C,H,W] (RELABEL_F32, RELABEL_F16 or RELABEL_BF16) -> scores [B,k,H,W]
 * (RELABEL_F32 or RELABEL_F16, round to nearest even) and class ids [B,k,H,W] (RELABEL_U16 needs C <= 65535,
 * or RELABEL_I32), descending per location like torch.topk(dense, k, dim=1); equal values keep the lower class
 * id first. NaN/Inf in the input, or a selected value that overflows fp16, is RELABEL_ERR_NONFINITE naming the
 * element.
 */
RELABEL_API int32_t relabel_topk_compress(const void *dense, int32_t dense_dtype, int64_t batch, int32_t classes,
                                          int32_t height, int32_t width, int32_t k, void *scores,
                                          int32_t score_dtype, void *indices, int32_t index_dtype,
                                          int32_t num_threads);

/* ---- Files ---- */

/* Maps a whole file read-only into memory (a label-map store: its records feed label_pool_gather without a copy).
 * The mapping stays valid until relabel_file_unmap, even after the file is renamed or deleted. An empty file maps
 * to a NULL base and size 0. */
RELABEL_API int32_t relabel_file_map(const char *path, void **base, int64_t *size);
RELABEL_API int32_t relabel_file_unmap(void *base, int64_t size);
/* Opens `path` and takes an advisory flock(2) lock on it without waiting: mode 1 shared (a store's readers),
 * 2 exclusive (a writer producing or replacing it), 0 none. create != 0 creates the file (read-write, mode 0644)
 * and fails with RELABEL_ERR_BUSY when it exists. A lock held through another open file (of this process or
 * another) that conflicts is RELABEL_ERR_BUSY; file systems without flock support are opened without a lock. The
 * lock lasts until relabel_file_close(*fd) and follows the file through renames. */
RELABEL_API int32_t relabel_file_lock(const char *path, int32_t mode, int32_t create, int32_t *fd);
RELABEL_API int32_t relabel_file_close(int32_t fd);
/* info[0..3] = size in bytes, modification time in ns since the epoch, device, inode: of the open file fd when
 * fd >= 0, else of path. */
RELABEL_API int32_t relabel_file_stat(const char *path, int32_t fd, int64_t *info);
/* As relabel_file_map, for a file open as fd (which may be closed after: the mapping keeps the file). */
RELABEL_API int32_t relabel_file_map_fd(int32_t fd, void **base, int64_t *size);
/* Access-pattern hint for [offset, offset + length) of a mapping: 0 normal, 1 random, 2 sequential, 3 will need
 * soon (read ahead now), 4 will not need, 5 back with transparent huge pages (anonymous memory). Advisory: failures
 * are ignored. */
RELABEL_API int32_t relabel_file_advise(void *base, int64_t offset, int64_t length, int32_t advice);
/* The same hint for count ranges [offset[i], offset[i] + length) of one mapping (a batch's records): one
 * process_madvise(2) system call per 1024 ranges where the kernel allows it on the calling process (Linux >= 5.10),
 * else (or with the environment variable RELABEL_NO_PROCESS_MADVISE=1) madvise(2) per range. Offsets must be >= 0;
 * advisory otherwise. */
RELABEL_API int32_t relabel_file_advise_ranges(void *base, const int64_t *offsets, int64_t count, int64_t length,
                                              int32_t advice);

/* ---- CUDA twins (device pointers; asynchronous on stream) ---- */

/* 1 when the CUDA kernels are compiled in, else 0. */
RELABEL_API int32_t relabel_cuda_built(void);
/* Number of usable devices; RELABEL_ERR_NO_CUDA with the reason when none (no driver, no device, not built). */
RELABEL_API int32_t relabel_cuda_device_count(int32_t *count);
RELABEL_API int32_t relabel_cuda_device_name(int32_t device, char *name, int32_t capacity);

RELABEL_API int32_t relabel_cuda_label_pool(const relabel_map_spec *spec, const relabel_pool_params *params,
                                            const void *scores, const void *indices, int64_t batch,
                                            const float *boxes, const uint8_t *flips, float *out,
                                            relabel_pool_stats *stats, int32_t device, relabel_stream stream);

RELABEL_API int32_t relabel_cuda_label_pool_gather(const relabel_map_spec *spec, const relabel_pool_params *params,
                                                   const void *records, int64_t num_records,
                                                   const int64_t *record_indices, int64_t batch,
                                                   const float *boxes, const uint8_t *flips, float *out,
                                                   relabel_pool_stats *stats, int32_t device,
                                                   relabel_stream stream);

/* flags: optional device int32, OR-ed with RELABEL_FLAG_* (never cleared by the call). */
RELABEL_API int32_t relabel_cuda_topk_compress(const void *dense, int32_t dense_dtype, int64_t batch,
                                               int32_t classes, int32_t height, int32_t width, int32_t k,
                                               void *scores, int32_t score_dtype, void *indices,
                                               int32_t index_dtype, int32_t *flags, int32_t device,
                                               relabel_stream stream);

/* Minimal device memory helpers, so that callers without a CUDA library of their own (the CLI, tests) can run
 * the CUDA twins. kind: 1 host->device, 2 device->host, 3 device->device. Synchronous. */
RELABEL_API int32_t relabel_cuda_malloc(int32_t device, void **ptr, size_t bytes);
RELABEL_API int32_t relabel_cuda_free(void *ptr);
RELABEL_API int32_t relabel_cuda_memcpy(void *dst, const void *src, size_t bytes, int32_t kind);
RELABEL_API int32_t relabel_cuda_memset(void *ptr, int32_t value, size_t bytes);
RELABEL_API int32_t relabel_cuda_synchronize(int32_t device, relabel_stream stream);

#ifdef __cplusplus
}
#endif

#endif /* RELABEL_RELABEL_H */
