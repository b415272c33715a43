// CPU LabelPooling: RoIAlign of sparse top-k label maps without materializing the dense [C,H,W] map.
// Per crop: the separable bilinear weights of each output bin over the H x W cells are computed once
// (common.h), then only the k entries of each cell with nonzero weight are accumulated into a sparse per-class
// accumulator; the softmax fills the classes no cell touched with one shared value.
#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <vector>

#include "common.h"
#include "errors.h"
#include "fault_guard.h"
#include "parallel.h"
#include "validate.h"

namespace relabel {
namespace {

// Where the maps of a batch live: map m's scores at scores + m * score_stride (bytes), ids and (uint8 scores) the
// quantization block likewise.
struct MapSource {
  const char *scores;
  int64_t score_stride;
  const char *indices;
  int64_t index_stride;
  const char *quant;  // NULL unless the scores are uint8
  int64_t quant_stride;
  const int64_t *record_indices;  // crop i reads map record_indices[i]; NULL: map i
};

// A class id outside [0, C) found by a worker; reported by the calling thread.
struct BadClass {
  bool found = false;
  int64_t crop = 0, value = 0;
  int j = 0, y = 0, x = 0;
};

// Per-worker scratch. The accumulator is dense over C and kept all-zero between output positions; the classes
// an output position touched are listed once (a class is appended on its first add, found by its stamp), so
// adding is branch-free and resetting costs one store per touched class.
class Scratch {
 public:
  Scratch(const relabel_map_spec &spec, int out_size, bool probs)
      : acc_(spec.classes, 0.0f), stamp_(spec.classes, 0u), touched_(spec.classes + 1), values_(spec.classes),
        wy_(static_cast<size_t>(out_size) * spec.height), wx_(static_cast<size_t>(out_size) * spec.width) {
    if (spec.score_dtype != RELABEL_F32) scores_.resize(static_cast<size_t>(spec.k) * spec.height * spec.width);
    if (probs) {
      probs_.resize(static_cast<size_t>(spec.k) * spec.height * spec.width);
      prob_sum_.resize(static_cast<size_t>(spec.height) * spec.width);
    }
    if (out_size > 1) row_.resize(static_cast<size_t>(out_size) * spec.classes);
  }

  // Starts a new output position; returns its stamp generation.
  uint32_t begin() {
    count_ = 0;
    if (++generation_ == 0) {  // wrapped: forget every stamp
      std::fill(stamp_.begin(), stamp_.end(), 0u);
      generation_ = 1;
    }
    return generation_;
  }

  // The hot loop keeps these in locals (stores through the float/int arrays would otherwise force reloads of
  // the members): acc[cls] += v; touched[n] = cls; n += stamp[cls] != generation; stamp[cls] = generation.
  uint32_t *stamp() { return stamp_.data(); }
  int32_t *touched_buffer() { return touched_.data(); }
  void set_count(int32_t n) { count_ = n; }

  int32_t count() const { return count_; }
  const int32_t *touched() const { return touched_.data(); }
  float *acc() { return acc_.data(); }
  float *values() { return values_.data(); }  // per touched class, in touched order
  std::vector<float> &wy() { return wy_; }
  std::vector<float> &wx() { return wx_; }
  float *scores() { return scores_.data(); }
  float *probs() { return probs_.data(); }
  float *prob_sum() { return prob_sum_.data(); }
  float *row(int pw, int classes) { return row_.data() + static_cast<size_t>(pw) * classes; }

 private:
  std::vector<float> acc_;
  std::vector<uint32_t> stamp_;
  std::vector<int32_t> touched_;
  std::vector<float> values_;
  int32_t count_ = 0;
  uint32_t generation_ = 0;
  std::vector<float> wy_, wx_, scores_, probs_, prob_sum_, row_;
};

void fill_vector(float *dst, int32_t n, float value) {
  for (int32_t i = 0; i < n; ++i) dst[i] = value;  // vectorized (std::fill_n of a float is not, here)
}

// Sum in 8 fixed lanes (a deterministic order the compiler can vectorize), then the lanes in order.
float lane_sum(const float *v, int32_t n) {
  float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int32_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) lanes[l] += v[i + l];
  for (int l = 0; i < n; ++i, ++l) lanes[l] += v[i];
  float sum = 0.0f;
  for (float x : lanes) sum += x;
  return sum;
}

// Writes one output position as a contiguous C-vector dst from the accumulator, and re-zeroes the accumulator.
void finalize(Scratch &s, const relabel_pool_params &p, int32_t classes, float count, float prob_total, float *dst) {
  const int32_t n = s.count();
  const int32_t *touched = s.touched();
  float *acc = s.acc(), *v = s.values();
  for (int32_t i = 0; i < n; ++i) {
    v[i] = acc[touched[i]];
    acc[touched[i]] = 0.0f;
  }
  float fill;
  if (p.mode == RELABEL_MODE_PROBS) {
    if (!(prob_total > 0.0f)) {  // the box samples no cell: uniform
      fill_vector(dst, classes, 1.0f / static_cast<float>(classes));
      return;
    }
    fill = 0.0f;
    for (int32_t i = 0; i < n; ++i) v[i] = v[i] / prob_total;
  } else if (!p.softmax) {
    fill = 0.0f;
    for (int32_t i = 0; i < n; ++i) v[i] = v[i] / count;
  } else {
    const float inv_t = 1.0f / p.temperature;
    for (int32_t i = 0; i < n; ++i) v[i] = v[i] / count;
    float max_value = n < classes ? 0.0f : -std::numeric_limits<float>::infinity();
    for (int32_t i = 0; i < n; ++i) max_value = std::max(max_value, v[i]);
    const float fill_term = softmax_term(0.0f, max_value, inv_t);
    for (int32_t i = 0; i < n; ++i) v[i] = softmax_term(v[i], max_value, inv_t);
    const float z = lane_sum(v, n) + static_cast<float>(classes - n) * fill_term;
    const float inv_z = 1.0f / z;
    for (int32_t i = 0; i < n; ++i) v[i] *= inv_z;
    fill = fill_term * inv_z;
  }
  fill_vector(dst, classes, fill);
  for (int32_t i = 0; i < n; ++i) dst[touched[i]] = v[i];
}

// Per-cell softmax over the cell's top-k (probs mode), for the cells in rows [r0, r1) x cols [c0, c1).
void cell_probs(const float *scores, const relabel_map_spec &spec, float inv_t, int r0, int r1, int c0, int c1,
                float *probs, float *prob_sum) {
  const int64_t hw = static_cast<int64_t>(spec.height) * spec.width;
  for (int r = r0; r < r1; ++r) {
    for (int c = c0; c < c1; ++c) {
      const int64_t cell = static_cast<int64_t>(r) * spec.width + c;
      float m = scores[cell];
      for (int j = 1; j < spec.k; ++j) m = std::max(m, scores[j * hw + cell]);
      float sum = 0.0f;
      for (int j = 0; j < spec.k; ++j) {
        const float e = softmax_term(scores[j * hw + cell], m, inv_t);
        probs[j * hw + cell] = e;
        sum += e;
      }
      float total = 0.0f;
      for (int j = 0; j < spec.k; ++j) {
        probs[j * hw + cell] /= sum;
        total += probs[j * hw + cell];
      }
      prob_sum[cell] = total;
    }
  }
}

// The scores of the cells in rows [r0, r1) x cols [c0, c1) as float, in the map's [k,H,W] layout: the map itself
// for float scores, else converted into buf (contiguous runs, so the conversion vectorizes).
const float *scores_as_float(const float *scores, Dequant, const relabel_map_spec &, int, int, int, int, float *) {
  return scores;
}
template <typename ScoreT>
const float *scores_as_float(const ScoreT *scores, Dequant dq, const relabel_map_spec &spec, int r0, int r1, int c0,
                             int c1, float *buf) {
  const int64_t hw = static_cast<int64_t>(spec.height) * spec.width;
  for (int j = 0; j < spec.k; ++j)
    for (int r = r0; r < r1; ++r) {
      const int64_t row = j * hw + static_cast<int64_t>(r) * spec.width;
      for (int c = c0; c < c1; ++c) buf[row + c] = load_score(scores, row + c, dq);
    }
  return buf;
}

// The [lo, hi) range of nonzero entries of w[0, n).
void nonzero_range(const float *w, int n, int &lo, int &hi) {
  lo = 0;
  while (lo < n && w[lo] == 0.0f) ++lo;
  hi = n;
  while (hi > lo && w[hi - 1] == 0.0f) --hi;
}

template <typename ScoreT, typename IndexT>
bool pool_crops(const relabel_map_spec &spec, const relabel_pool_params &p, const MapSource &src,
                const float *boxes, const uint8_t *flips, float *out, int64_t begin, int64_t end, Scratch &s,
                relabel_pool_stats &stats, BadClass &bad) {
  const int H = spec.height, W = spec.width, K = spec.k, C = spec.classes, S = p.out_size;
  const int64_t hw = static_cast<int64_t>(H) * W, ss = static_cast<int64_t>(S) * S;
  const bool probs = p.mode == RELABEL_MODE_PROBS;
  const float inv_t = 1.0f / p.temperature;
  int64_t cells = 0, nonpositive = 0;
  for (int64_t b = begin; b < end; ++b) {
    const int64_t map = src.record_indices ? src.record_indices[b] : b;
    const ScoreT *sc = reinterpret_cast<const ScoreT *>(src.scores + map * src.score_stride);
    const IndexT *id = reinterpret_cast<const IndexT *>(src.indices + map * src.index_stride);
    const RoiGeometry g = roi_geometry(boxes + 4 * b, p.box_order, H, W, S);
    std::fill(s.wy().begin(), s.wy().end(), 0.0f);
    std::fill(s.wx().begin(), s.wx().end(), 0.0f);
    for (int ph = 0; ph < S; ++ph) accumulate_axis_weights(g.start_y, g.bin_h, g.grid_h, ph, H, &s.wy()[ph * H]);
    for (int pw = 0; pw < S; ++pw) accumulate_axis_weights(g.start_x, g.bin_w, g.grid_w, pw, W, &s.wx()[pw * W]);
    // The window of cells any bin samples, its scores as float, and in probs mode each cell's distribution.
    int win_r0 = H, win_r1 = 0, win_c0 = W, win_c1 = 0;
    for (int bin = 0; bin < S; ++bin) {
      int lo, hi;
      nonzero_range(&s.wy()[bin * H], H, lo, hi);
      if (lo < hi) win_r0 = std::min(win_r0, lo), win_r1 = std::max(win_r1, hi);
      nonzero_range(&s.wx()[bin * W], W, lo, hi);
      if (lo < hi) win_c0 = std::min(win_c0, lo), win_c1 = std::max(win_c1, hi);
    }
    const Dequant dq = load_dequant(src.quant, src.quant_stride, map);
    const float *f = scores_as_float(sc, dq, spec, win_r0, win_r1, win_c0, win_c1, s.scores());
    if (probs) cell_probs(f, spec, inv_t, win_r0, win_r1, win_c0, win_c1, s.probs(), s.prob_sum());
    const bool flip = flips != nullptr && flips[b] != 0;
    float *out_b = out + b * static_cast<int64_t>(C) * ss;
    for (int ph = 0; ph < S; ++ph) {
      const float *wy = &s.wy()[ph * H];
      int r0, r1;
      nonzero_range(wy, H, r0, r1);
      for (int pw = 0; pw < S; ++pw) {
        const float *wx = &s.wx()[pw * W];
        int c0, c1;
        nonzero_range(wx, W, c0, c1);
        const uint32_t generation = s.begin();
        float *acc = s.acc();
        uint32_t *stamp = s.stamp();
        int32_t *touched = s.touched_buffer();
        int32_t n = 0;
        float prob_total = 0.0f;
        for (int r = r0; r < r1; ++r) {
          if (wy[r] == 0.0f) continue;
          for (int c = c0; c < c1; ++c) {
            if (wx[c] == 0.0f) continue;
            const float w = wy[r] * wx[c];
            const int64_t cell = static_cast<int64_t>(r) * W + c;
            ++cells;
            nonpositive += f[cell] <= 0.0f;
            const IndexT *ip = id + cell;
            const float *pp = probs ? s.probs() + cell : nullptr;
            for (int j = 0; j < K; ++j, ip += hw) {
              const uint32_t cls = static_cast<uint32_t>(*ip);  // a negative int32 id wraps to >= C
              if (cls >= static_cast<uint32_t>(C)) {
                bad = BadClass{true, map, static_cast<int64_t>(*ip), j, r, c};
                return false;
              }
              acc[cls] += w * (probs ? pp[j * hw] : f[j * hw + cell]);
              touched[n] = static_cast<int32_t>(cls);
              n += stamp[cls] != generation;
              stamp[cls] = generation;
            }
            if (probs) prob_total += w * s.prob_sum()[cell];
          }
        }
        s.set_count(n);
        // S == 1: straight into the output; else into a row buffer, transposed below.
        finalize(s, p, C, g.count, prob_total, S == 1 ? out_b : s.row(pw, C));
      }
      if (S > 1) {  // out[c, ph, pw'] for the row: contiguous runs of S floats
        float *dst = out_b + static_cast<int64_t>(ph) * S;
        for (int c = 0; c < C; ++c, dst += ss) {
          for (int pw = 0; pw < S; ++pw) dst[flip ? S - 1 - pw : pw] = s.row(pw, C)[c];
        }
      }
    }
  }
  stats.cells += cells;
  stats.cells_top1_nonpositive += nonpositive;
  return true;
}

// guard_base/guard_size: the mapped records a truncation of their file could cut (gathers); their faults end the op
// with RELABEL_ERR_FAULT. nullptr: plain memory, read unguarded.
int32_t run_pool(const relabel_map_spec &spec, const relabel_pool_params &p, const MapSource &src, int64_t batch,
                 const float *boxes, const uint8_t *flips, float *out, relabel_pool_stats *stats,
                 const void *guard_base = nullptr, int64_t guard_size = 0) {
  const int threads = static_cast<int>(std::min<int64_t>(p.num_threads, std::max<int64_t>(batch, 1)));
  std::vector<relabel_pool_stats> worker_stats(threads, relabel_pool_stats{0, 0, 0});
  std::vector<BadClass> bad(threads);
  std::vector<char> alloc_failed(threads, 0), faulted(threads, 0);
  const bool probs = p.mode == RELABEL_MODE_PROBS;
  parallel_for(threads, batch, [&](int w, int64_t begin, int64_t end) {
    try {
      Scratch scratch(spec, p.out_size, probs);
      auto run = [&](auto score_type) {
        using ScoreT = decltype(score_type);
        if (spec.index_dtype == RELABEL_I32)
          pool_crops<ScoreT, int32_t>(spec, p, src, boxes, flips, out, begin, end, scratch, worker_stats[w], bad[w]);
        else
          pool_crops<ScoreT, uint16_t>(spec, p, src, boxes, flips, out, begin, end, scratch, worker_stats[w], bad[w]);
      };
      auto dispatch = [&] {
        if (spec.score_dtype == RELABEL_F32)
          run(float{});
        else if (spec.score_dtype == RELABEL_F16)
          run(uint16_t{});
        else
          run(uint8_t{});
      };
      using Dispatch = decltype(dispatch);
      if (guard_base == nullptr)
        dispatch();
      else if (!run_guarded(guard_base, guard_size, [](void *d) { (*static_cast<Dispatch *>(d))(); }, &dispatch))
        faulted[w] = 1;
    } catch (const std::bad_alloc &) {
      alloc_failed[w] = 1;
    }
  });
  for (int w = 0; w < threads; ++w) {
    if (faulted[w])
      return fail(RELABEL_ERR_FAULT,
                  "reading the mapped label-map records faulted (SIGBUS): their file was truncated under the "
                  "mapping by another program");
    if (alloc_failed[w]) return fail(RELABEL_ERR_MEMORY, "out of memory allocating LabelPooling scratch");
    if (bad[w].found)
      return fail(RELABEL_ERR_ARGUMENT,
                  "class id %lld of map %lld at (k=%d, y=%d, x=%d) is outside [0, %d): the label map does not "
                  "match classes = %d",
                  static_cast<long long>(bad[w].value), static_cast<long long>(bad[w].crop), bad[w].j, bad[w].y,
                  bad[w].x, spec.classes, spec.classes);
  }
  if (stats != nullptr) {
    for (const auto &ws : worker_stats) {
      stats->cells += ws.cells;
      stats->cells_top1_nonpositive += ws.cells_top1_nonpositive;
    }
  }
  return RELABEL_OK;
}

int32_t check_common(const relabel_map_spec *spec, const relabel_pool_params *params) {
  int32_t status = check_map_spec(spec);
  if (status == RELABEL_OK) status = check_pool_params(params);
  return status;
}

}  // namespace
}  // namespace relabel

using namespace relabel;

extern "C" int32_t relabel_label_pool(const relabel_map_spec *spec, const relabel_pool_params *params,
                                      const void *scores, const void *indices, int64_t batch, const float *boxes,
                                      const uint8_t *flips, float *out, relabel_pool_stats *stats) {
  clear_error();
  int32_t status = check_common(spec, params);
  if (status == RELABEL_OK) status = check_dense_scores(spec);
  if (status == RELABEL_OK) status = check_pool_buffers(scores, indices, batch, boxes, out, false, 0, nullptr);
  if (status == RELABEL_OK) status = check_boxes(boxes, batch);
  if (status != RELABEL_OK || batch == 0) return status;
  const int64_t entries = static_cast<int64_t>(spec->k) * spec->height * spec->width;
  const MapSource src{static_cast<const char *>(scores), entries * static_cast<int64_t>(dtype_size(spec->score_dtype)),
                      static_cast<const char *>(indices),
                      entries * static_cast<int64_t>(dtype_size(spec->index_dtype)), nullptr, 0, nullptr};
  return run_pool(*spec, *params, src, batch, boxes, flips, out, stats);
}

extern "C" int32_t relabel_label_pool_gather(const relabel_map_spec *spec, const relabel_pool_params *params,
                                             const void *records, int64_t num_records, const int64_t *record_indices,
                                             int64_t batch, const float *boxes, const uint8_t *flips, float *out,
                                             relabel_pool_stats *stats) {
  clear_error();
  int32_t status = check_common(spec, params);
  if (status == RELABEL_OK)
    status = check_pool_buffers(records, records, batch, boxes, out, true, num_records, record_indices);
  if (status == RELABEL_OK && batch > 0) status = check_boxes(boxes, batch);
  if (status == RELABEL_OK && batch > 0) status = check_record_indices(record_indices, batch, num_records);
  if (status != RELABEL_OK || batch == 0) return status;
  const relabel_record_layout layout = record_layout(*spec);
  const char *base = static_cast<const char *>(records);
  const MapSource src{base + layout.scores_offset, layout.record_size, base + layout.indices_offset,
                      layout.record_size, layout.quant_offset >= 0 ? base + layout.quant_offset : nullptr,
                      layout.record_size, record_indices};
  return run_pool(*spec, *params, src, batch, boxes, flips, out, stats, records, num_records * layout.record_size);
}

extern "C" int32_t relabel_record_layout_of(const relabel_map_spec *spec, relabel_record_layout *layout) {
  clear_error();
  const int32_t status = check_map_spec(spec);
  if (status != RELABEL_OK) return status;
  if (layout == nullptr) return fail(RELABEL_ERR_ARGUMENT, "layout is NULL");
  *layout = record_layout(*spec);
  return RELABEL_OK;
}
