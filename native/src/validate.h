// Argument checks shared by the CPU entry points and their CUDA twins, so that both reject the same inputs with
// the same messages. Each returns RELABEL_OK or a status with relabel_last_error() set.
#pragma once

#include <cstddef>
#include <cstdint>

#include "relabel/relabel.h"

namespace relabel {

// Bytes per element of a RELABEL_* dtype, 0 for an unknown code.
size_t dtype_size(int32_t dtype);
const char *dtype_name(int32_t dtype);

int32_t check_map_spec(const relabel_map_spec *spec);
int32_t check_pool_params(const relabel_pool_params *params);
relabel_record_layout record_layout(const relabel_map_spec &spec);

// label_pool (maps in plain arrays) cannot take uint8 scores: their scale lives in records.
int32_t check_dense_scores(const relabel_map_spec *spec);

// label_pool / label_pool_gather: non-null buffers for a non-empty batch, batch >= 0, num_records >= 0.
int32_t check_pool_buffers(const void *scores_or_records, const void *indices, int64_t batch, const float *boxes,
                           float *out, bool gather, int64_t num_records, const int64_t *record_indices);

// Host-side data checks (CPU entry points): every box coordinate finite and within +-kMaxBoxCoordinate, every
// record index in [0, num_records).
int32_t check_boxes(const float *boxes, int64_t batch);
int32_t check_record_indices(const int64_t *record_indices, int64_t batch, int64_t num_records);

int32_t check_topk_args(const void *dense, int32_t dense_dtype, int64_t batch, int32_t classes, int32_t height,
                        int32_t width, int32_t k, const void *scores, int32_t score_dtype, const void *indices,
                        int32_t index_dtype);

}  // namespace relabel
