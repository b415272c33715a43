#include "validate.h"

#include <cmath>

#include "common.h"
#include "errors.h"

namespace relabel {

namespace {
constexpr int32_t kMaxMapSide = 4096;
constexpr int32_t kMaxOutSize = 256;
constexpr int32_t kMaxThreads = 1024;

int64_t align_up(int64_t value, int64_t alignment) { return (value + alignment - 1) / alignment * alignment; }
}  // namespace

size_t dtype_size(int32_t dtype) {
  switch (dtype) {
    case RELABEL_F32:
    case RELABEL_I32:
      return 4;
    case RELABEL_F16:
    case RELABEL_BF16:
    case RELABEL_U16:
      return 2;
    case RELABEL_U8:
      return 1;
    default:
      return 0;
  }
}

const char *dtype_name(int32_t dtype) {
  switch (dtype) {
    case RELABEL_F32: return "float32";
    case RELABEL_F16: return "float16";
    case RELABEL_BF16: return "bfloat16";
    case RELABEL_U16: return "uint16";
    case RELABEL_I32: return "int32";
    case RELABEL_U8: return "uint8";
    default: return "unknown";
  }
}

int32_t check_map_spec(const relabel_map_spec *spec) {
  if (spec == nullptr) return fail(RELABEL_ERR_ARGUMENT, "spec is NULL");
  if (spec->classes < 1) return fail(RELABEL_ERR_ARGUMENT, "classes must be >= 1, got %d", spec->classes);
  if (spec->k < 1 || spec->k > RELABEL_MAX_K)
    return fail(RELABEL_ERR_ARGUMENT, "k must be in [1, %d], got %d", RELABEL_MAX_K, spec->k);
  if (spec->k > spec->classes)
    return fail(RELABEL_ERR_ARGUMENT, "k (%d) must be <= classes (%d)", spec->k, spec->classes);
  if (spec->height < 1 || spec->height > kMaxMapSide)
    return fail(RELABEL_ERR_ARGUMENT, "map height must be in [1, %d], got %d", kMaxMapSide, spec->height);
  if (spec->width < 1 || spec->width > kMaxMapSide)
    return fail(RELABEL_ERR_ARGUMENT, "map width must be in [1, %d], got %d", kMaxMapSide, spec->width);
  if (spec->score_dtype != RELABEL_F32 && spec->score_dtype != RELABEL_F16 && spec->score_dtype != RELABEL_U8)
    return fail(RELABEL_ERR_ARGUMENT, "score dtype must be float32, float16 or uint8, got %s (%d)",
                dtype_name(spec->score_dtype), spec->score_dtype);
  if (spec->index_dtype != RELABEL_U16 && spec->index_dtype != RELABEL_I32)
    return fail(RELABEL_ERR_ARGUMENT, "index dtype must be uint16 or int32, got %s (%d)",
                dtype_name(spec->index_dtype), spec->index_dtype);
  if (spec->index_dtype == RELABEL_U16 && spec->classes > 65535)
    return fail(RELABEL_ERR_ARGUMENT, "uint16 class ids cannot hold classes = %d (> 65535): use int32",
                spec->classes);
  return RELABEL_OK;
}

int32_t check_pool_params(const relabel_pool_params *params) {
  if (params == nullptr) return fail(RELABEL_ERR_ARGUMENT, "params is NULL");
  if (params->out_size < 1 || params->out_size > kMaxOutSize)
    return fail(RELABEL_ERR_ARGUMENT, "output size must be in [1, %d], got %d", kMaxOutSize, params->out_size);
  if (params->mode != RELABEL_MODE_LOGITS && params->mode != RELABEL_MODE_PROBS)
    return fail(RELABEL_ERR_ARGUMENT, "mode must be logits (0) or probs (1), got %d", params->mode);
  if (params->box_order != RELABEL_BOX_XYXY && params->box_order != RELABEL_BOX_OFFICIAL)
    return fail(RELABEL_ERR_ARGUMENT, "box order must be correct (0) or official (1), got %d", params->box_order);
  if (params->softmax != 0 && params->softmax != 1)
    return fail(RELABEL_ERR_ARGUMENT, "softmax must be 0 or 1, got %d", params->softmax);
  if (!(params->temperature > 0.0f) || !std::isfinite(params->temperature))
    return fail(RELABEL_ERR_ARGUMENT, "temperature must be finite and > 0, got %g",
                static_cast<double>(params->temperature));
  if (params->num_threads < 1 || params->num_threads > kMaxThreads)
    return fail(RELABEL_ERR_ARGUMENT, "num_threads must be in [1, %d], got %d", kMaxThreads, params->num_threads);
  return RELABEL_OK;
}

relabel_record_layout record_layout(const relabel_map_spec &spec) {
  const int64_t entries = static_cast<int64_t>(spec.k) * spec.height * spec.width;
  relabel_record_layout layout;
  layout.scores_offset = 0;
  layout.indices_offset = align_up(entries * static_cast<int64_t>(dtype_size(spec.score_dtype)), 16);
  const int64_t end = layout.indices_offset + entries * static_cast<int64_t>(dtype_size(spec.index_dtype));
  layout.quant_offset = spec.score_dtype == RELABEL_U8 ? align_up(end, 16) : -1;
  layout.record_size = align_up(spec.score_dtype == RELABEL_U8 ? layout.quant_offset + 8 : end, 64);
  return layout;
}

int32_t check_dense_scores(const relabel_map_spec *spec) {
  if (spec->score_dtype == RELABEL_U8)
    return fail(RELABEL_ERR_ARGUMENT,
                "uint8 scores carry a per-record scale and offset: pool them from records with label_pool_gather");
  return RELABEL_OK;
}

int32_t check_pool_buffers(const void *scores_or_records, const void *indices, int64_t batch, const float *boxes,
                           float *out, bool gather, int64_t num_records, const int64_t *record_indices) {
  if (batch < 0) return fail(RELABEL_ERR_ARGUMENT, "batch must be >= 0, got %lld", static_cast<long long>(batch));
  if (gather && num_records < 0)
    return fail(RELABEL_ERR_ARGUMENT, "num_records must be >= 0, got %lld", static_cast<long long>(num_records));
  if (batch == 0) return RELABEL_OK;
  if (gather) {
    if (scores_or_records == nullptr && num_records > 0) return fail(RELABEL_ERR_ARGUMENT, "records is NULL");
    if (record_indices == nullptr) return fail(RELABEL_ERR_ARGUMENT, "record_indices is NULL");
  } else {
    if (scores_or_records == nullptr) return fail(RELABEL_ERR_ARGUMENT, "scores is NULL");
    if (indices == nullptr) return fail(RELABEL_ERR_ARGUMENT, "indices is NULL");
  }
  if (boxes == nullptr) return fail(RELABEL_ERR_ARGUMENT, "boxes is NULL");
  if (out == nullptr) return fail(RELABEL_ERR_ARGUMENT, "out is NULL");
  return RELABEL_OK;
}

int32_t check_boxes(const float *boxes, int64_t batch) {
  static const char *const names[4] = {"x1", "y1", "x2", "y2"};
  for (int64_t i = 0; i < batch * 4; ++i) {
    const float v = boxes[i];
    if (!std::isfinite(v))
      return fail(RELABEL_ERR_ARGUMENT, "boxes[%lld].%s is not finite (%g)", static_cast<long long>(i / 4),
                  names[i % 4], static_cast<double>(v));
    if (std::fabs(v) > kMaxBoxCoordinate)
      return fail(RELABEL_ERR_ARGUMENT, "boxes[%lld].%s = %g is outside [-%g, %g] (boxes are normalized to the image)",
                  static_cast<long long>(i / 4), names[i % 4], static_cast<double>(v),
                  static_cast<double>(kMaxBoxCoordinate), static_cast<double>(kMaxBoxCoordinate));
  }
  return RELABEL_OK;
}

int32_t check_record_indices(const int64_t *record_indices, int64_t batch, int64_t num_records) {
  for (int64_t i = 0; i < batch; ++i) {
    if (record_indices[i] < 0 || record_indices[i] >= num_records)
      return fail(RELABEL_ERR_ARGUMENT, "record_indices[%lld] = %lld is outside [0, %lld)", static_cast<long long>(i),
                  static_cast<long long>(record_indices[i]), static_cast<long long>(num_records));
  }
  return RELABEL_OK;
}

int32_t check_topk_args(const void *dense, int32_t dense_dtype, int64_t batch, int32_t classes, int32_t height,
                        int32_t width, int32_t k, const void *scores, int32_t score_dtype, const void *indices,
                        int32_t index_dtype) {
  if (dense_dtype != RELABEL_F32 && dense_dtype != RELABEL_F16 && dense_dtype != RELABEL_BF16)
    return fail(RELABEL_ERR_ARGUMENT, "dense dtype must be float32, float16 or bfloat16, got %s (%d)",
                dtype_name(dense_dtype), dense_dtype);
  if (batch < 0) return fail(RELABEL_ERR_ARGUMENT, "batch must be >= 0, got %lld", static_cast<long long>(batch));
  if (classes < 1) return fail(RELABEL_ERR_ARGUMENT, "classes must be >= 1, got %d", classes);
  if (height < 1 || width < 1)
    return fail(RELABEL_ERR_ARGUMENT, "height and width must be >= 1, got %dx%d", height, width);
  if (k < 1 || k > RELABEL_MAX_K) return fail(RELABEL_ERR_ARGUMENT, "k must be in [1, %d], got %d", RELABEL_MAX_K, k);
  if (k > classes) return fail(RELABEL_ERR_ARGUMENT, "k (%d) must be <= classes (%d)", k, classes);
  if (score_dtype != RELABEL_F32 && score_dtype != RELABEL_F16)
    return fail(RELABEL_ERR_ARGUMENT, "score dtype must be float32 or float16, got %s (%d)", dtype_name(score_dtype),
                score_dtype);
  if (index_dtype != RELABEL_U16 && index_dtype != RELABEL_I32)
    return fail(RELABEL_ERR_ARGUMENT, "index dtype must be uint16 or int32, got %s (%d)", dtype_name(index_dtype),
                index_dtype);
  if (index_dtype == RELABEL_U16 && classes > 65535)
    return fail(RELABEL_ERR_ARGUMENT, "uint16 class ids cannot hold classes = %d (> 65535): use int32", classes);
  if (batch > 0 && (dense == nullptr || scores == nullptr || indices == nullptr))
    return fail(RELABEL_ERR_ARGUMENT, "dense, scores and indices must not be NULL");
  return RELABEL_OK;
}

}  // namespace relabel
