// CPU top-k compression of dense teacher logits [B,C,H,W] in one pass over the input: for each class plane the
// H*W values are compared against each location's current k-th best (a vectorizable compare) and only the rare
// winners are inserted into that location's sorted top-k. No sort of C, no float copy of the input.
#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <vector>

#include "common.h"
#include "errors.h"
#include "parallel.h"
#include "validate.h"

namespace relabel {
namespace {

inline float load_dense(const float *p, int64_t i) { return p[i]; }
struct Bf16 {
  uint16_t bits;
};
inline float load_dense(const uint16_t *p, int64_t i) { return half_to_float(p[i]); }
inline float load_dense(const Bf16 *p, int64_t i) { return bf16_to_float(p[i].bits); }

struct Problem {
  int32_t status = RELABEL_OK;
  int64_t b = 0, c = 0, loc = 0;
  float value = 0.0f;
  bool f16_overflow = false;  // a selected score does not fit fp16 (else: a non-finite input)
};

struct Work {
  int64_t batch;
  int32_t classes, height, width, k;
  void *scores;
  int32_t score_dtype;
  void *indices;
  int32_t index_dtype;
};

// One image's locations [loc0, loc1): the k best per location, then written out.
// A run of n input values as float: the input itself, or converted into buf in one vectorizable pass.
const float *as_float(const float *p, int64_t, std::vector<float> &) { return p; }
template <typename In>
const float *as_float(const In *p, int64_t n, std::vector<float> &buf) {
  for (int64_t i = 0; i < n; ++i) buf[i] = load_dense(p, i);
  return buf.data();
}

template <typename In>
void topk_block(const In *dense, const Work &w, int64_t b, int64_t loc0, int64_t loc1, std::vector<float> &best,
                std::vector<int32_t> &best_id, std::vector<float> &threshold, std::vector<float> &plane,
                Problem &problem) {
  const int64_t hw = static_cast<int64_t>(w.height) * w.width, n = loc1 - loc0;
  const int k = w.k;
  best.assign(static_cast<size_t>(n) * k, -std::numeric_limits<float>::infinity());
  best_id.assign(static_cast<size_t>(n) * k, -1);
  threshold.assign(static_cast<size_t>(n), -std::numeric_limits<float>::infinity());
  plane.resize(static_cast<size_t>(n));
  const In *image = dense + b * w.classes * hw;
  for (int32_t c = 0; c < w.classes; ++c) {
    const float *values = as_float(image + c * hw + loc0, n, plane);
    int nonfinite = 0;
    for (int64_t i = 0; i < n; ++i) nonfinite += !is_finite(values[i]);
    if (nonfinite != 0) {
      for (int64_t i = 0; i < n; ++i) {
        if (!is_finite(values[i])) {
          problem = Problem{RELABEL_ERR_NONFINITE, b, c, loc0 + i, values[i], false};
          return;
        }
      }
    }
    for (int64_t i = 0; i < n; ++i) {
      const float v = values[i];
      if (!(v > threshold[i])) continue;  // ties keep the earlier (lower) class id
      float *bv = &best[i * k];
      int32_t *bi = &best_id[i * k];
      int p = k - 1;
      while (p > 0 && v > bv[p - 1]) {
        bv[p] = bv[p - 1];
        bi[p] = bi[p - 1];
        --p;
      }
      bv[p] = v;
      bi[p] = c;
      threshold[i] = bv[k - 1];
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < k; ++j) {
      const int64_t o = (b * k + j) * hw + loc0 + i;
      const float v = best[i * k + j];
      if (w.score_dtype == RELABEL_F16) {
        const uint16_t h = float_to_half(v);
        if ((h & 0x7c00u) == 0x7c00u) {
          problem = Problem{RELABEL_ERR_NONFINITE, b, best_id[i * k + j], loc0 + i, v, true};
          return;
        }
        static_cast<uint16_t *>(w.scores)[o] = h;
      } else {
        static_cast<float *>(w.scores)[o] = v;
      }
      if (w.index_dtype == RELABEL_U16)
        static_cast<uint16_t *>(w.indices)[o] = static_cast<uint16_t>(best_id[i * k + j]);
      else
        static_cast<int32_t *>(w.indices)[o] = best_id[i * k + j];
    }
  }
}

template <typename In>
int32_t run_topk(const In *dense, const Work &w, int threads) {
  const int64_t hw = static_cast<int64_t>(w.height) * w.width;
  // Work items: (image, chunk of locations); chunks only when there are fewer images than threads.
  const int64_t chunks_per_image =
      w.batch >= threads ? 1 : std::max<int64_t>(1, std::min<int64_t>(hw / 64, (threads + w.batch - 1) / w.batch));
  const int64_t chunk = (hw + chunks_per_image - 1) / chunks_per_image;
  const int64_t items = w.batch * chunks_per_image;
  std::vector<Problem> problems(std::max(threads, 1));
  std::vector<char> alloc_failed(std::max(threads, 1), 0);
  parallel_for(threads, items, [&](int worker, int64_t begin, int64_t end) {
    try {
      std::vector<float> best, threshold, plane;
      std::vector<int32_t> best_id;
      for (int64_t item = begin; item < end && problems[worker].status == RELABEL_OK; ++item) {
        const int64_t b = item / chunks_per_image, part = item % chunks_per_image;
        const int64_t loc0 = part * chunk, loc1 = std::min(hw, loc0 + chunk);
        if (loc0 < loc1) topk_block(dense, w, b, loc0, loc1, best, best_id, threshold, plane, problems[worker]);
      }
    } catch (const std::bad_alloc &) {
      alloc_failed[worker] = 1;
    }
  });
  for (size_t i = 0; i < problems.size(); ++i) {
    if (alloc_failed[i]) return fail(RELABEL_ERR_MEMORY, "out of memory in topk_compress");
    const Problem &p = problems[i];
    if (p.status == RELABEL_OK) continue;
    const long long y = static_cast<long long>(p.loc / w.width), x = static_cast<long long>(p.loc % w.width);
    if (p.f16_overflow)
      return fail(RELABEL_ERR_NONFINITE,
                  "score %g of class %lld at dense[b=%lld, y=%lld, x=%lld] overflows float16 (max 65504): "
                  "store float32 scores",
                  static_cast<double>(p.value), static_cast<long long>(p.c), static_cast<long long>(p.b), y, x);
    return fail(RELABEL_ERR_NONFINITE, "dense[b=%lld, c=%lld, y=%lld, x=%lld] is %s", static_cast<long long>(p.b),
                static_cast<long long>(p.c), y, x, std::isnan(p.value) ? "NaN" : "infinite");
  }
  return RELABEL_OK;
}

}  // namespace
}  // namespace relabel

using namespace relabel;

extern "C" int32_t relabel_topk_compress(const void *dense, int32_t dense_dtype, int64_t batch, int32_t classes,
                                         int32_t height, int32_t width, int32_t k, void *scores, int32_t score_dtype,
                                         void *indices, int32_t index_dtype, int32_t num_threads) {
  clear_error();
  int32_t status =
      check_topk_args(dense, dense_dtype, batch, classes, height, width, k, scores, score_dtype, indices, index_dtype);
  if (status != RELABEL_OK) return status;
  if (num_threads < 1 || num_threads > 1024)
    return fail(RELABEL_ERR_ARGUMENT, "num_threads must be in [1, 1024], got %d", num_threads);
  if (batch == 0) return RELABEL_OK;
  const Work w{batch, classes, height, width, k, scores, score_dtype, indices, index_dtype};
  switch (dense_dtype) {
    case RELABEL_F32:
      return run_topk(static_cast<const float *>(dense), w, num_threads);
    case RELABEL_F16:
      return run_topk(static_cast<const uint16_t *>(dense), w, num_threads);
    default:
      return run_topk(static_cast<const Bf16 *>(dense), w, num_threads);
  }
}
