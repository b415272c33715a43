// Native tests of librelabel, run by ctest. Each suite is one ctest test:
//   conversions     fp16/bf16 conversions against the compiler's _Float16 (exhaustive / dense sampling)
//   labelpool_cpu   every case of shared/fixtures/labelpool: pooled 1x1, softmax and probs targets, S x S and
//                   flipped outputs, official box order, fp16 scores / uint16 ids, gather from records, threads
//   topk_cpu        every case of shared/fixtures/topk (fp32 and fp16 outputs), fp16/bf16 inputs, ties
//   errors          argument validation and data errors, with their messages
//   files           file locks (shared/exclusive, create), stat, mapping an open file and seeing it truncated
//   labelpool_cuda  the CUDA twins on the same fixtures, also against the CPU results
//   topk_cuda
//   cuda_small      every CUDA kernel path on small inputs vs the CPU library (what compute-sanitizer runs)
// The CUDA suites exit 77 (ctest: skipped) with the reason when there is no usable device; fixture suites exit
// 77 when the fixtures are absent, or fail (exit 1) when RELABEL_REQUIRE_FIXTURES is set (to anything but "" or
// "0"; CI sets it: a build whose goldens were never compared must not pass).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "../src/common.h"
#include "npy.h"
#include "relabel/relabel.h"

namespace {

constexpr int kSkip = 77;
int failures = 0;

#define EXPECT(cond, ...)                                        \
  do {                                                           \
    if (!(cond)) {                                               \
      ++failures;                                                \
      std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                                  \
      std::printf("\n");                                         \
    }                                                            \
  } while (0)

std::string fixtures_root() {
  const char *env = std::getenv("RELABEL_FIXTURES");
  return env != nullptr ? env : RELABEL_FIXTURES_DEFAULT;
}

// A fixture suite without its fixtures: skipped with the reason, or failed where fixtures are required.
int missing_fixtures(const std::string &group) {
  const char *req = std::getenv("RELABEL_REQUIRE_FIXTURES");
  if (req != nullptr && req[0] != '\0' && std::string(req) != "0") {
    std::printf("FAIL: no fixtures under %s/%s, and RELABEL_REQUIRE_FIXTURES=%s requires them\n",
                fixtures_root().c_str(), group.c_str(), req);
    ++failures;
    return 1;
  }
  std::printf("SKIPPED: no fixtures under %s/%s\n", fixtures_root().c_str(), group.c_str());
  return kSkip;
}

std::vector<std::string> case_dirs(const std::string &group) {
  std::vector<std::string> dirs;
  const std::string root = fixtures_root() + "/" + group;
  if (DIR *d = opendir(root.c_str())) {
    while (dirent *e = readdir(d)) {
      const std::string name = e->d_name;
      if (name[0] != '.' && npy::exists(root + "/" + name + "/scores.npy")) dirs.push_back(root + "/" + name);
      if (name[0] != '.' && npy::exists(root + "/" + name + "/dense.npy")) dirs.push_back(root + "/" + name);
    }
    closedir(d);
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

// |got - want| <= rtol * |want| + atol for every element; prints the worst offender.
bool close(const std::string &what, const std::vector<float> &got, const std::vector<float> &want, float rtol,
           float atol) {
  if (got.size() != want.size()) {
    ++failures;
    std::printf("FAIL %s: size %zu != %zu\n", what.c_str(), got.size(), want.size());
    return false;
  }
  size_t bad = 0, worst = 0;
  double worst_excess = -1;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    const double allowed = rtol * std::fabs(want[i]) + atol;
    if (!(err <= allowed)) {
      ++bad;
      if (err - allowed > worst_excess || std::isnan(err)) worst_excess = err - allowed, worst = i;
    }
  }
  if (bad > 0) {
    ++failures;
    std::printf("FAIL %s: %zu of %zu elements off; worst [%zu] got %.9g want %.9g\n", what.c_str(), bad, got.size(),
                worst, got[worst], want[worst]);
    return false;
  }
  return true;
}

float max_abs(const std::vector<float> &v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

// ---- device helpers (used only by the CUDA suites) ----
struct DeviceBuffer {
  void *ptr = nullptr;
  size_t bytes = 0;
  DeviceBuffer(const void *host, size_t n) : bytes(n) {
    if (relabel_cuda_malloc(0, &ptr, n) != RELABEL_OK) throw std::runtime_error(relabel_last_error());
    if (host != nullptr && n > 0 && relabel_cuda_memcpy(ptr, host, n, 1) != RELABEL_OK)
      throw std::runtime_error(relabel_last_error());
    if (host == nullptr && relabel_cuda_memset(ptr, 0, n) != RELABEL_OK) throw std::runtime_error(relabel_last_error());
  }
  ~DeviceBuffer() { relabel_cuda_free(ptr); }
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  template <typename T>
  std::vector<T> download(size_t count) const {
    std::vector<T> v(count);
    if (relabel_cuda_memcpy(v.data(), ptr, count * sizeof(T), 2) != RELABEL_OK)
      throw std::runtime_error(relabel_last_error());
    return v;
  }
};

bool cuda_usable(std::string &why) {
  int32_t count = 0;
  if (relabel_cuda_device_count(&count) != RELABEL_OK) {
    why = relabel_last_error();
    return false;
  }
  return true;
}

// ---- LabelPooling on CPU or CUDA, same host-side signature ----
struct PoolInput {
  relabel_map_spec spec;
  const void *scores;
  size_t score_bytes;
  const void *indices;
  size_t index_bytes;
  int64_t batch;
  const float *boxes;
  const uint8_t *flips;  // may be NULL
};

std::vector<float> run_pool(bool cuda, const PoolInput &in, const relabel_pool_params &p,
                            relabel_pool_stats *stats = nullptr) {
  const size_t out_n = static_cast<size_t>(in.batch) * in.spec.classes * p.out_size * p.out_size;
  if (!cuda) {
    std::vector<float> out(out_n, -7.0f);
    const int32_t st = relabel_label_pool(&in.spec, &p, in.scores, in.indices, in.batch, in.boxes, in.flips,
                                          out.data(), stats);
    if (st != RELABEL_OK) throw std::runtime_error(relabel_last_error());
    return out;
  }
  DeviceBuffer s(in.scores, in.score_bytes), i(in.indices, in.index_bytes), b(in.boxes, in.batch * 4 * sizeof(float));
  DeviceBuffer f(in.flips, in.flips ? in.batch : 1), o(nullptr, out_n * sizeof(float)),
      st(nullptr, sizeof(relabel_pool_stats));
  const int32_t status = relabel_cuda_label_pool(&in.spec, &p, s.ptr, i.ptr, in.batch, static_cast<float *>(b.ptr),
                                                 in.flips ? static_cast<uint8_t *>(f.ptr) : nullptr,
                                                 static_cast<float *>(o.ptr),
                                                 static_cast<relabel_pool_stats *>(st.ptr), 0, nullptr);
  if (status != RELABEL_OK) throw std::runtime_error(relabel_last_error());
  if (relabel_cuda_synchronize(0, nullptr) != RELABEL_OK) throw std::runtime_error(relabel_last_error());
  if (stats != nullptr) {
    const auto host = st.download<relabel_pool_stats>(1);
    *stats = host[0];
  }
  return o.download<float>(out_n);
}

std::vector<float> run_gather(bool cuda, const relabel_map_spec &spec, const std::vector<char> &records,
                              int64_t num_records, const std::vector<int64_t> &rec_idx, const float *boxes,
                              const uint8_t *flips, const relabel_pool_params &p) {
  const int64_t batch = static_cast<int64_t>(rec_idx.size());
  const size_t out_n = static_cast<size_t>(batch) * spec.classes * p.out_size * p.out_size;
  if (!cuda) {
    std::vector<float> out(out_n);
    if (relabel_label_pool_gather(&spec, &p, records.data(), num_records, rec_idx.data(), batch, boxes, flips,
                                  out.data(), nullptr) != RELABEL_OK)
      throw std::runtime_error(relabel_last_error());
    return out;
  }
  DeviceBuffer r(records.data(), records.size()), ri(rec_idx.data(), rec_idx.size() * 8),
      b(boxes, batch * 4 * sizeof(float)), f(flips, flips ? batch : 1), o(nullptr, out_n * sizeof(float));
  if (relabel_cuda_label_pool_gather(&spec, &p, r.ptr, num_records, static_cast<int64_t *>(ri.ptr), batch,
                                     static_cast<float *>(b.ptr), flips ? static_cast<uint8_t *>(f.ptr) : nullptr,
                                     static_cast<float *>(o.ptr), nullptr, 0, nullptr) != RELABEL_OK)
    throw std::runtime_error(relabel_last_error());
  if (relabel_cuda_synchronize(0, nullptr) != RELABEL_OK) throw std::runtime_error(relabel_last_error());
  return o.download<float>(out_n);
}

relabel_pool_params params(int out_size, int mode, int softmax, int box_order = RELABEL_BOX_XYXY, int threads = 1) {
  relabel_pool_params p;
  p.out_size = out_size;
  p.mode = mode;
  p.box_order = box_order;
  p.softmax = softmax;
  p.temperature = 1.0f;
  p.num_threads = threads;
  return p;
}

// ---- suites ----

int suite_conversions() {
  // half -> float: all 65536 bit patterns.
  for (uint32_t h = 0; h < 65536; ++h) {
    _Float16 ref;
    const uint16_t bits = static_cast<uint16_t>(h);
    std::memcpy(&ref, &bits, 2);
    const float want = static_cast<float>(ref), got = relabel::half_to_float(bits);
    if (std::isnan(want)) {
      EXPECT(std::isnan(got), "half %04x: got %g, want NaN", h, got);
    } else {
      EXPECT(relabel::float_bits(got) == relabel::float_bits(want), "half %04x: got %a, want %a", h, got, want);
    }
  }
  // float -> half (round to nearest even): every 97th bit pattern plus all patterns near the half range edges.
  auto check = [](uint32_t bits) {
    const float f = relabel::bits_float(bits);
    const _Float16 ref = static_cast<_Float16>(f);
    uint16_t want;
    std::memcpy(&want, &ref, 2);
    const uint16_t got = relabel::float_to_half(f);
    if (std::isnan(f)) {
      EXPECT((got & 0x7c00u) == 0x7c00u && (got & 0x3ffu) != 0, "float %08x: got %04x, want NaN", bits, got);
    } else {
      EXPECT(got == want, "float %08x (%a): got %04x, want %04x", bits, f, got, want);
    }
  };
  for (uint64_t bits = 0; bits <= 0xffffffffull; bits += 97) check(static_cast<uint32_t>(bits));
  for (uint32_t e : {0x33000000u, 0x33800000u, 0x38800000u, 0x477fe000u, 0x477ff000u, 0x47800000u})
    for (uint32_t d = 0; d < 20000; ++d) check(e - 10000 + d), check((e - 10000 + d) | 0x80000000u);
  for (uint32_t b = 0; b < 65536; ++b) {
    const float got = relabel::bf16_to_float(static_cast<uint16_t>(b));
    EXPECT(relabel::float_bits(got) == (b << 16), "bf16 %04x", b);
  }
  // The per-cell RoIAlign weight the v2 CUDA kernel computes in parallel (axis_weight) is bit-identical to the
  // serial sums of accumulate_axis_weights, over random boxes (inside, partly and fully outside, tiny, huge,
  // inverted), map sizes 1..40 and output sizes 1..9.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> coord(-2.5f, 3.5f);
  int compared = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    const int size = 1 + static_cast<int>(rng() % 40), other = 1 + static_cast<int>(rng() % 40);
    const int out_size = 1 + static_cast<int>(rng() % 9);
    float box[4] = {coord(rng), coord(rng), coord(rng), coord(rng)};
    if (trial % 7 == 0) box[2] = box[0] + 1e-3f * coord(rng);  // sub-cell and zero-size
    if (trial % 11 == 0) box[0] = -40.0f, box[2] = 50.0f;        // huge
    const int32_t order = trial % 5 == 0 ? RELABEL_BOX_OFFICIAL : RELABEL_BOX_XYXY;
    const relabel::RoiGeometry g = relabel::roi_geometry(box, order, other, size, out_size);
    std::vector<float> w(static_cast<size_t>(size));
    for (int bin = 0; bin < out_size; ++bin) {
      std::fill(w.begin(), w.end(), 0.0f);
      relabel::accumulate_axis_weights(g.start_x, g.bin_w, g.grid_w, bin, size, w.data());
      for (int cell = 0; cell < size; ++cell) {
        const float got = relabel::axis_weight(g.start_x, g.bin_w, g.grid_w, bin, size, cell);
        EXPECT(relabel::float_bits(got) == relabel::float_bits(w[cell]),
               "axis_weight(start %a, bin size %a, grid %d, bin %d, size %d, cell %d) = %a, serial sum %a",
               g.start_x, g.bin_w, g.grid_w, bin, size, cell, got, w[cell]);
        ++compared;
      }
    }
  }
  std::printf("axis_weight: %d weights bit-identical to accumulate_axis_weights\n", compared);
  return 0;
}

struct LabelpoolCase {
  std::string dir;
  npy::Array scores, indices, boxes;
  relabel_map_spec spec;
  int64_t n;
};

LabelpoolCase load_labelpool(const std::string &dir) {
  LabelpoolCase c;
  c.dir = dir;
  c.scores = npy::load(dir + "/scores.npy");
  c.indices = npy::load(dir + "/indices.npy");
  c.boxes = npy::load(dir + "/boxes_xyxy.npy");
  const npy::Array pooled = npy::load(dir + "/pooled_1x1.npy");
  c.n = c.scores.shape[0];
  c.spec.k = static_cast<int32_t>(c.scores.shape[1]);
  c.spec.height = static_cast<int32_t>(c.scores.shape[2]);
  c.spec.width = static_cast<int32_t>(c.scores.shape[3]);
  c.spec.classes = static_cast<int32_t>(pooled.shape[1]);
  c.spec.score_dtype = RELABEL_F32;
  c.spec.index_dtype = RELABEL_I32;
  return c;
}

std::vector<float> golden(const std::string &path) { return npy::load(path).vec<float>(); }

// Runs every fixture comparison on one backend.
void check_labelpool_case(const LabelpoolCase &c, bool cuda, float rtol) {
  const std::string tag = c.dir.substr(c.dir.rfind('/') + 1) + (cuda ? " [cuda]" : " [cpu]");
  PoolInput in{c.spec, c.scores.data.data(), c.scores.data.size(), c.indices.data.data(), c.indices.data.size(),
               c.n, c.boxes.as<float>(), nullptr};
  const auto pooled_want = golden(c.dir + "/pooled_1x1.npy");
  const float atol = rtol * max_abs(pooled_want);
  relabel_pool_stats stats{0, 0, 0};
  const auto pooled = run_pool(cuda, in, params(1, RELABEL_MODE_LOGITS, 0), &stats);
  close(tag + " pooled_1x1", pooled, pooled_want, rtol, atol);
  EXPECT(stats.cells > 0 && stats.cells_top1_nonpositive <= stats.cells, "%s stats cells=%lld nonpositive=%lld",
         tag.c_str(), static_cast<long long>(stats.cells), static_cast<long long>(stats.cells_top1_nonpositive));
  close(tag + " targets_softmax", run_pool(cuda, in, params(1, RELABEL_MODE_LOGITS, 1)),
        golden(c.dir + "/targets_softmax.npy"), rtol, 1e-7f);
  close(tag + " targets_probs", run_pool(cuda, in, params(1, RELABEL_MODE_PROBS, 1)),
        golden(c.dir + "/targets_probs.npy"), rtol, 1e-7f);
  if (npy::exists(c.dir + "/pooled_official.npy")) {
    close(tag + " pooled_official", run_pool(cuda, in, params(1, RELABEL_MODE_LOGITS, 0, RELABEL_BOX_OFFICIAL)),
          golden(c.dir + "/pooled_official.npy"), rtol, atol);
    close(tag + " targets_official", run_pool(cuda, in, params(1, RELABEL_MODE_LOGITS, 1, RELABEL_BOX_OFFICIAL)),
          golden(c.dir + "/targets_official.npy"), rtol, 1e-7f);
  }
  for (int s = 2; s <= 16; ++s) {
    const std::string name = c.dir + "/pooled_" + std::to_string(s) + "x" + std::to_string(s);
    if (!npy::exists(name + ".npy")) continue;
    close(tag + " pooled SxS S=" + std::to_string(s), run_pool(cuda, in, params(s, RELABEL_MODE_LOGITS, 0)),
          golden(name + ".npy"), rtol, atol);
    const std::vector<uint8_t> flips(static_cast<size_t>(c.n), 1);
    PoolInput flipped = in;
    flipped.flips = flips.data();
    close(tag + " pooled SxS hflip S=" + std::to_string(s), run_pool(cuda, flipped, params(s, RELABEL_MODE_LOGITS, 0)),
          golden(name + "_hflip.npy"), rtol, atol);
  }
  // fp16 scores and uint16 ids: within fp16 rounding of the scores.
  std::vector<uint16_t> s16(static_cast<size_t>(c.scores.numel())), i16(static_cast<size_t>(c.indices.numel()));
  for (size_t i = 0; i < s16.size(); ++i) s16[i] = relabel::float_to_half(c.scores.as<float>()[i]);
  for (size_t i = 0; i < i16.size(); ++i) i16[i] = static_cast<uint16_t>(c.indices.as<int32_t>()[i]);
  PoolInput half = in;
  half.spec.score_dtype = RELABEL_F16;
  half.spec.index_dtype = RELABEL_U16;
  half.scores = s16.data();
  half.score_bytes = s16.size() * 2;
  half.indices = i16.data();
  half.index_bytes = i16.size() * 2;
  const float fp16_atol = 1e-3f * max_abs(c.scores.vec<float>());
  close(tag + " pooled_1x1 fp16 scores", run_pool(cuda, half, params(1, RELABEL_MODE_LOGITS, 0)), pooled_want, 0.0f,
        fp16_atol);
  close(tag + " targets_softmax fp16 scores", run_pool(cuda, half, params(1, RELABEL_MODE_LOGITS, 1)),
        golden(c.dir + "/targets_softmax.npy"), 2e-3f, 1e-6f);

  // Gather: the maps as records, shuffled, read back through record indices.
  relabel_record_layout layout;
  EXPECT(relabel_record_layout_of(&half.spec, &layout) == RELABEL_OK, "%s", relabel_last_error());
  const int64_t entries = static_cast<int64_t>(c.spec.k) * c.spec.height * c.spec.width;
  std::vector<int64_t> order(static_cast<size_t>(c.n));
  for (int64_t i = 0; i < c.n; ++i) order[i] = (i * 7 + 3) % c.n;  // a permutation when gcd(7, n) == 1
  std::vector<char> records(static_cast<size_t>(c.n * layout.record_size), 0);
  std::vector<int64_t> rec_of_crop(static_cast<size_t>(c.n));
  for (int64_t crop = 0; crop < c.n; ++crop) {
    const int64_t slot = order[crop];
    rec_of_crop[crop] = slot;
    char *rec = records.data() + slot * layout.record_size;
    std::memcpy(rec + layout.scores_offset, s16.data() + crop * entries, entries * 2);
    std::memcpy(rec + layout.indices_offset, i16.data() + crop * entries, entries * 2);
  }
  const auto direct = run_pool(cuda, half, params(1, RELABEL_MODE_LOGITS, 1));
  const auto gathered =
      run_gather(cuda, half.spec, records, c.n, rec_of_crop, c.boxes.as<float>(), nullptr, params(1, RELABEL_MODE_LOGITS, 1));
  close(tag + " gather == label_pool", gathered, direct, cuda ? 1e-5f : 0.0f, cuda ? 1e-8f : 0.0f);

  // uint8 records: each map quantized with its own scale and offset; pooling them equals pooling the
  // dequantized floats (computed here with the same arithmetic) through label_pool.
  relabel_map_spec q8 = half.spec;
  q8.score_dtype = RELABEL_U8;
  relabel_record_layout ql;
  EXPECT(relabel_record_layout_of(&q8, &ql) == RELABEL_OK && ql.quant_offset >= ql.indices_offset + entries * 2 &&
             ql.quant_offset % 16 == 0 && ql.record_size % 64 == 0,
         "uint8 layout %lld %lld %lld", static_cast<long long>(ql.indices_offset), static_cast<long long>(ql.quant_offset),
         static_cast<long long>(ql.record_size));
  std::vector<char> qrecords(static_cast<size_t>(c.n * ql.record_size), 0);
  std::vector<float> dequantized(static_cast<size_t>(c.n * entries));
  for (int64_t crop = 0; crop < c.n; ++crop) {
    const float *src = c.scores.as<float>() + crop * entries;
    const float lo = *std::min_element(src, src + entries), hi = *std::max_element(src, src + entries);
    const float scale = (hi - lo) / 255.0f, offset = lo;
    char *rec = qrecords.data() + crop * ql.record_size;
    for (int64_t e = 0; e < entries; ++e) {
      const uint8_t q = static_cast<uint8_t>(std::lround(scale > 0 ? (src[e] - lo) / scale : 0.0f));
      rec[ql.scores_offset + e] = static_cast<char>(q);
      dequantized[crop * entries + e] = relabel::load_score(&q, 0, relabel::Dequant{scale, offset});
    }
    std::memcpy(rec + ql.indices_offset, i16.data() + crop * entries, entries * 2);
    const float block[2] = {scale, offset};
    std::memcpy(rec + ql.quant_offset, block, sizeof block);
  }
  std::vector<int64_t> identity(static_cast<size_t>(c.n));
  for (int64_t i = 0; i < c.n; ++i) identity[i] = i;
  PoolInput deq = in;
  deq.spec.index_dtype = RELABEL_U16;
  deq.scores = dequantized.data();
  deq.score_bytes = dequantized.size() * 4;
  deq.indices = i16.data();
  deq.index_bytes = i16.size() * 2;
  for (int mode : {RELABEL_MODE_LOGITS, RELABEL_MODE_PROBS}) {
    const auto via_floats = run_pool(cuda, deq, params(2, mode, 1));
    const auto via_u8 = run_gather(cuda, q8, qrecords, c.n, identity, c.boxes.as<float>(), nullptr, params(2, mode, 1));
    close(tag + " uint8 records == dequantized floats, mode " + std::to_string(mode), via_u8, via_floats,
          cuda ? 1e-5f : 0.0f, cuda ? 1e-8f : 0.0f);
  }
  // The quantization error stays within half a step of each map's range.
  const float step = 16.0f / 255.0f;
  close(tag + " uint8 records vs fp32 golden", run_gather(cuda, q8, qrecords, c.n, identity, c.boxes.as<float>(),
                                                          nullptr, params(1, RELABEL_MODE_LOGITS, 0)),
        pooled_want, 0.0f, step);
}

int suite_labelpool(bool cuda) {
  std::string why;
  if (cuda && !cuda_usable(why)) {
    std::printf("SKIPPED: CUDA LabelPooling tests need a GPU: %s\n", why.c_str());
    return kSkip;
  }
  const auto dirs = case_dirs("labelpool");
  if (dirs.empty()) return missing_fixtures("labelpool");
  for (const auto &dir : dirs) {
    const LabelpoolCase c = load_labelpool(dir);
    std::printf("case %s: n=%lld k=%d %dx%d C=%d\n", dir.c_str(), static_cast<long long>(c.n), c.spec.k,
                c.spec.height, c.spec.width, c.spec.classes);
    check_labelpool_case(c, cuda, 1e-5f);
    PoolInput in{c.spec, c.scores.data.data(), c.scores.data.size(), c.indices.data.data(), c.indices.data.size(),
                 c.n, c.boxes.as<float>(), nullptr};
    if (cuda) {  // the twins agree
      for (int mode : {RELABEL_MODE_LOGITS, RELABEL_MODE_PROBS})
        close(dir + " cuda vs cpu mode " + std::to_string(mode), run_pool(true, in, params(3, mode, 1)),
              run_pool(false, in, params(3, mode, 1)), 1e-5f, 1e-7f);
    } else {  // threads change nothing, bit for bit
      const auto one = run_pool(false, in, params(2, RELABEL_MODE_LOGITS, 1, RELABEL_BOX_XYXY, 1));
      const auto three = run_pool(false, in, params(2, RELABEL_MODE_LOGITS, 1, RELABEL_BOX_XYXY, 3));
      close(dir + " 3 threads == 1 thread", three, one, 0.0f, 0.0f);
    }
  }
  return 0;
}

// Reference top-k by full sort (stable: equal values keep the lower class id first).
void reference_topk(const std::vector<float> &dense, int64_t n, int c, int64_t hw, int k, std::vector<float> &vals,
                    std::vector<int32_t> &ids) {
  vals.assign(static_cast<size_t>(n * k * hw), 0);
  ids.assign(static_cast<size_t>(n * k * hw), 0);
  std::vector<int32_t> order(c);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t l = 0; l < hw; ++l) {
      for (int i = 0; i < c; ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](int32_t x, int32_t y) {
        return dense[(b * c + x) * hw + l] > dense[(b * c + y) * hw + l];
      });
      for (int j = 0; j < k; ++j) {
        vals[(b * k + j) * hw + l] = dense[(b * c + order[j]) * hw + l];
        ids[(b * k + j) * hw + l] = order[j];
      }
    }
}

struct TopkOut {
  std::vector<char> scores, indices;
};

TopkOut run_topk(bool cuda, const void *dense, size_t dense_bytes, int32_t dense_dtype, int64_t n, int c, int h, int w,
                 int k, int32_t score_dtype, int32_t index_dtype, int32_t *flags_out = nullptr) {
  const size_t count = static_cast<size_t>(n) * k * h * w;
  TopkOut o;
  o.scores.resize(count * (score_dtype == RELABEL_F16 ? 2 : 4));
  o.indices.resize(count * (index_dtype == RELABEL_U16 ? 2 : 4));
  if (!cuda) {
    if (relabel_topk_compress(dense, dense_dtype, n, c, h, w, k, o.scores.data(), score_dtype, o.indices.data(),
                              index_dtype, 2) != RELABEL_OK)
      throw std::runtime_error(relabel_last_error());
    return o;
  }
  DeviceBuffer d(dense, dense_bytes), s(nullptr, o.scores.size()), i(nullptr, o.indices.size()), f(nullptr, 4);
  if (relabel_cuda_topk_compress(d.ptr, dense_dtype, n, c, h, w, k, s.ptr, score_dtype, i.ptr, index_dtype,
                                 static_cast<int32_t *>(f.ptr), 0, nullptr) != RELABEL_OK)
    throw std::runtime_error(relabel_last_error());
  if (relabel_cuda_synchronize(0, nullptr) != RELABEL_OK) throw std::runtime_error(relabel_last_error());
  o.scores = s.download<char>(o.scores.size());
  o.indices = i.download<char>(o.indices.size());
  const int32_t flags = f.download<int32_t>(1)[0];
  if (flags_out != nullptr) *flags_out = flags;
  return o;
}

int suite_topk(bool cuda) {
  std::string why;
  if (cuda && !cuda_usable(why)) {
    std::printf("SKIPPED: CUDA topk tests need a GPU: %s\n", why.c_str());
    return kSkip;
  }
  const auto dirs = case_dirs("topk");
  if (dirs.empty()) return missing_fixtures("topk");
  for (const auto &dir : dirs) {
    const npy::Array dense = npy::load(dir + "/dense.npy"), want_idx = npy::load(dir + "/topk_indices.npy");
    const npy::Array want_f32 = npy::load(dir + "/topk_scores.npy"), want_f16 = npy::load(dir + "/topk_scores_fp16.npy");
    const int64_t n = dense.shape[0];
    const int c = static_cast<int>(dense.shape[1]), h = static_cast<int>(dense.shape[2]),
              w = static_cast<int>(dense.shape[3]), k = static_cast<int>(want_idx.shape[1]);
    std::printf("case %s: n=%lld C=%d k=%d %dx%d\n", dir.c_str(), static_cast<long long>(n), c, k, h, w);
    const std::string tag = dir + (cuda ? " [cuda]" : " [cpu]");
    const TopkOut f32 = run_topk(cuda, dense.data.data(), dense.data.size(), RELABEL_F32, n, c, h, w, k, RELABEL_F32,
                                 RELABEL_I32);
    EXPECT(f32.scores == want_f32.data, "%s: fp32 scores differ from torch.topk", tag.c_str());
    EXPECT(f32.indices == want_idx.data, "%s: int32 indices differ from torch.topk", tag.c_str());
    const TopkOut f16 = run_topk(cuda, dense.data.data(), dense.data.size(), RELABEL_F32, n, c, h, w, k, RELABEL_F16,
                                 RELABEL_U16);
    EXPECT(f16.scores == want_f16.data, "%s: fp16 scores differ from torch.topk(...).half()", tag.c_str());
    std::vector<int32_t> idx32(want_idx.vec<int32_t>());
    std::vector<uint16_t> idx16(idx32.begin(), idx32.end());
    EXPECT(std::memcmp(f16.indices.data(), idx16.data(), idx16.size() * 2) == 0, "%s: uint16 indices differ",
           tag.c_str());
    // fp16 and bf16 inputs (ties are frequent): against a stable full sort of the same values.
    for (int32_t dt : {RELABEL_F16, RELABEL_BF16}) {
      std::vector<uint16_t> in(static_cast<size_t>(dense.numel()));
      std::vector<float> as_float(in.size());
      for (size_t i = 0; i < in.size(); ++i) {
        const float v = dense.as<float>()[i];
        in[i] = dt == RELABEL_F16 ? relabel::float_to_half(v) : static_cast<uint16_t>(relabel::float_bits(v) >> 16);
        as_float[i] = dt == RELABEL_F16 ? relabel::half_to_float(in[i]) : relabel::bf16_to_float(in[i]);
      }
      std::vector<float> rv;
      std::vector<int32_t> ri;
      reference_topk(as_float, n, c, static_cast<int64_t>(h) * w, k, rv, ri);
      const TopkOut o = run_topk(cuda, in.data(), in.size() * 2, dt, n, c, h, w, k, RELABEL_F32, RELABEL_I32);
      EXPECT(std::memcmp(o.scores.data(), rv.data(), rv.size() * 4) == 0, "%s: %s input scores", tag.c_str(),
             dt == RELABEL_F16 ? "fp16" : "bf16");
      EXPECT(std::memcmp(o.indices.data(), ri.data(), ri.size() * 4) == 0, "%s: %s input ids (tie order)",
             tag.c_str(), dt == RELABEL_F16 ? "fp16" : "bf16");
    }
    // Larger k than the fixture (generic kernel path on CUDA) against the reference.
    const int big_k = std::min(c, 20);
    std::vector<float> rv;
    std::vector<int32_t> ri;
    reference_topk(dense.vec<float>(), n, c, static_cast<int64_t>(h) * w, big_k, rv, ri);
    const TopkOut big = run_topk(cuda, dense.data.data(), dense.data.size(), RELABEL_F32, n, c, h, w, big_k,
                                 RELABEL_F32, RELABEL_I32);
    EXPECT(std::memcmp(big.scores.data(), rv.data(), rv.size() * 4) == 0, "%s: k=%d scores", tag.c_str(), big_k);
    EXPECT(std::memcmp(big.indices.data(), ri.data(), ri.size() * 4) == 0, "%s: k=%d ids", tag.c_str(), big_k);
  }
  if (cuda) {  // NaN/Inf and fp16 overflow raise the device flags
    std::vector<float> d(2 * 4 * 3, 1.0f);
    d[5] = NAN;
    int32_t flags = 0;
    run_topk(true, d.data(), d.size() * 4, RELABEL_F32, 2, 4, 1, 3, 2, RELABEL_F32, RELABEL_I32, &flags);
    EXPECT(flags & RELABEL_FLAG_NONFINITE, "NaN input: flags = %d", flags);
    std::fill(d.begin(), d.end(), 1.0f);
    d[0] = 1e6f;
    flags = 0;
    run_topk(true, d.data(), d.size() * 4, RELABEL_F32, 2, 4, 1, 3, 2, RELABEL_F16, RELABEL_I32, &flags);
    EXPECT(flags == RELABEL_FLAG_F16_OVERFLOW, "fp16 overflow: flags = %d", flags);
  }
  return 0;
}

bool message_has(const char *needle) { return std::strstr(relabel_last_error(), needle) != nullptr; }

int suite_errors() {
  relabel_map_spec spec{5, 15, 15, 1000, RELABEL_F32, RELABEL_I32};
  relabel_pool_params p = params(1, RELABEL_MODE_LOGITS, 1);
  std::vector<float> scores(5 * 225, 1.0f), out(1000);
  std::vector<int32_t> ids(5 * 225);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i / 225);
  float box[4] = {0.1f, 0.1f, 0.9f, 0.9f};
  auto pool = [&](const relabel_map_spec &s, const relabel_pool_params &pp) {
    return relabel_label_pool(&s, &pp, scores.data(), ids.data(), 1, box, nullptr, out.data(), nullptr);
  };
  EXPECT(pool(spec, p) == RELABEL_OK, "%s", relabel_last_error());
  relabel_map_spec bad = spec;
  bad.k = 0;
  EXPECT(pool(bad, p) == RELABEL_ERR_ARGUMENT && message_has("k must be in [1, 64], got 0"), "%s", relabel_last_error());
  bad = spec, bad.classes = 4;
  EXPECT(pool(bad, p) == RELABEL_ERR_ARGUMENT && message_has("k (5) must be <= classes (4)"), "%s", relabel_last_error());
  bad = spec, bad.index_dtype = RELABEL_U16, bad.classes = 70000;
  EXPECT(pool(bad, p) == RELABEL_ERR_ARGUMENT && message_has("uint16 class ids cannot hold classes = 70000"), "%s",
         relabel_last_error());
  bad = spec, bad.score_dtype = RELABEL_BF16;
  EXPECT(pool(bad, p) == RELABEL_ERR_ARGUMENT &&
             message_has("score dtype must be float32, float16 or uint8, got bfloat16"),
         "%s", relabel_last_error());
  bad = spec, bad.score_dtype = RELABEL_U8;
  EXPECT(pool(bad, p) == RELABEL_ERR_ARGUMENT && message_has("uint8 scores carry a per-record scale"), "%s",
         relabel_last_error());
  relabel_pool_params bp = p;
  bp.temperature = 0.0f;
  EXPECT(pool(spec, bp) == RELABEL_ERR_ARGUMENT && message_has("temperature must be finite and > 0, got 0"), "%s",
         relabel_last_error());
  bp = p, bp.out_size = 0;
  EXPECT(pool(spec, bp) == RELABEL_ERR_ARGUMENT && message_has("output size must be in [1, 256], got 0"), "%s",
         relabel_last_error());
  box[2] = NAN;
  EXPECT(pool(spec, p) == RELABEL_ERR_ARGUMENT && message_has("boxes[0].x2 is not finite"), "%s", relabel_last_error());
  box[2] = 100.0f;
  EXPECT(pool(spec, p) == RELABEL_ERR_ARGUMENT && message_has("boxes[0].x2 = 100 is outside [-64, 64]"), "%s",
         relabel_last_error());
  box[2] = 0.9f;
  ids[3 * 225 + 17] = 1000;  // class id out of range, k=3, y=1, x=2
  EXPECT(pool(spec, p) == RELABEL_ERR_ARGUMENT && message_has("class id 1000 of map 0 at (k=3, y=1, x=2)"), "%s",
         relabel_last_error());
  ids[3 * 225 + 17] = 3;
  // Gather: a record index out of range.
  relabel_record_layout layout;
  relabel_record_layout_of(&spec, &layout);
  EXPECT(layout.indices_offset == 4512 && layout.record_size == 9024 && layout.quant_offset == -1, "layout %lld %lld",
         static_cast<long long>(layout.indices_offset), static_cast<long long>(layout.record_size));
  std::vector<char> records(static_cast<size_t>(layout.record_size));
  const int64_t rec = 1;
  EXPECT(relabel_label_pool_gather(&spec, &p, records.data(), 1, &rec, 1, box, nullptr, out.data(), nullptr) ==
                 RELABEL_ERR_ARGUMENT &&
             message_has("record_indices[0] = 1 is outside [0, 1)"),
         "%s", relabel_last_error());
  // topk: NaN, Inf, fp16 overflow, bad k.
  std::vector<float> dense(2 * 8 * 3 * 4, 0.5f);
  std::vector<float> ts(2 * 3 * 12);
  std::vector<int32_t> ti(2 * 3 * 12);
  dense[(1 * 8 + 6) * 12 + 2 * 4 + 1] = NAN;
  EXPECT(relabel_topk_compress(dense.data(), RELABEL_F32, 2, 8, 3, 4, 3, ts.data(), RELABEL_F32, ti.data(), RELABEL_I32,
                               1) == RELABEL_ERR_NONFINITE &&
             message_has("dense[b=1, c=6, y=2, x=1] is NaN"),
         "%s", relabel_last_error());
  dense[(1 * 8 + 6) * 12 + 2 * 4 + 1] = INFINITY;
  EXPECT(relabel_topk_compress(dense.data(), RELABEL_F32, 2, 8, 3, 4, 3, ts.data(), RELABEL_F32, ti.data(), RELABEL_I32,
                               2) == RELABEL_ERR_NONFINITE &&
             message_has("is infinite"),
         "%s", relabel_last_error());
  dense[(1 * 8 + 6) * 12 + 2 * 4 + 1] = 70000.0f;
  EXPECT(relabel_topk_compress(dense.data(), RELABEL_F32, 2, 8, 3, 4, 3, ts.data(), RELABEL_F16, ti.data(), RELABEL_I32,
                               1) == RELABEL_ERR_NONFINITE &&
             message_has("overflows float16"),
         "%s", relabel_last_error());
  EXPECT(relabel_topk_compress(dense.data(), RELABEL_F32, 2, 8, 3, 4, 9, ts.data(), RELABEL_F32, ti.data(), RELABEL_I32,
                               1) == RELABEL_ERR_ARGUMENT &&
             message_has("k (9) must be <= classes (8)"),
         "%s", relabel_last_error());
  EXPECT(relabel_topk_compress(dense.data(), RELABEL_I32, 2, 8, 3, 4, 3, ts.data(), RELABEL_F32, ti.data(), RELABEL_I32,
                               1) == RELABEL_ERR_ARGUMENT &&
             message_has("dense dtype must be float32, float16 or bfloat16, got int32"),
         "%s", relabel_last_error());
  // CUDA entry points: validated before touching a device; without a device they say why.
  int32_t count = -1;
  const int32_t st = relabel_cuda_device_count(&count);
  EXPECT((st == RELABEL_OK && count > 0) || (st == RELABEL_ERR_NO_CUDA && count == 0 && relabel_last_error()[0]),
         "device count status %d count %d", st, count);
  bad = spec, bad.k = 0;
  EXPECT(relabel_cuda_label_pool(&bad, &p, scores.data(), ids.data(), 1, box, nullptr, out.data(), nullptr, 0,
                                 nullptr) != RELABEL_OK,
         "cuda label_pool accepted k=0");
  return 0;
}

// A gather whose records' file is truncated under the mapping (another program's `truncate`): the read of a lost
// page faults (SIGBUS); the op fails with RELABEL_ERR_FAULT and the process goes on. Records on the pages that remain,
// and gathers after the fault, on every thread count, still work.
int gather_from_truncated_file(const std::string &path) {
  const relabel_map_spec spec{1, 4, 4, 10, RELABEL_F32, RELABEL_I32};
  relabel_record_layout layout;
  EXPECT(relabel_record_layout_of(&spec, &layout) == RELABEL_OK, "%s", relabel_last_error());
  const int64_t n = 256, cells = 16;
  std::vector<char> bytes(n * layout.record_size, 0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < cells; ++c) {
      const float score = 1.0f + static_cast<float>(c);
      const int32_t id = static_cast<int32_t>((r + c) % 10);
      std::memcpy(&bytes[r * layout.record_size + layout.scores_offset + c * 4], &score, 4);
      std::memcpy(&bytes[r * layout.record_size + layout.indices_offset + c * 4], &id, 4);
    }
  FILE *f = fopen(path.c_str(), "wb");
  const bool written = f != nullptr && fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (f != nullptr) fclose(f);
  void *base = nullptr;
  int64_t size = 0;
  if (!written || relabel_file_map(path.c_str(), &base, &size) != RELABEL_OK || size != n * layout.record_size) {
    std::printf("FAIL: writing and mapping %s: %s\n", path.c_str(), relabel_last_error());
    return 1;
  }
  const float box[4] = {0.0f, 0.0f, 1.0f, 1.0f};
  std::vector<float> boxes, out(8 * 10);
  for (int i = 0; i < 8; ++i) boxes.insert(boxes.end(), box, box + 4);
  const int64_t early[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  const int64_t late[8] = {0, 1, 2, 250, 4, 5, 255, 7};  // records past the cut, on two workers
  for (int threads : {1, 2, 4}) {
    relabel_pool_params p = params(1, RELABEL_MODE_LOGITS, 1, RELABEL_BOX_XYXY, threads);
    EXPECT(relabel_label_pool_gather(&spec, &p, base, n, late, 8, boxes.data(), nullptr, out.data(), nullptr) ==
               RELABEL_OK, "before the cut: %s", relabel_last_error());
  }
  EXPECT(truncate(path.c_str(), 4096) == 0, "truncate failed");
  for (int threads : {1, 2, 4}) {
    relabel_pool_params p = params(1, RELABEL_MODE_LOGITS, 1, RELABEL_BOX_XYXY, threads);
    const int32_t status =
        relabel_label_pool_gather(&spec, &p, base, n, late, 8, boxes.data(), nullptr, out.data(), nullptr);
    EXPECT(status == RELABEL_ERR_FAULT && std::string(relabel_last_error()).find("truncated") != std::string::npos,
           "threads %d: status %d, %s", threads, status, relabel_last_error());
    EXPECT(relabel_label_pool_gather(&spec, &p, base, n, early, 8, boxes.data(), nullptr, out.data(), nullptr) ==
               RELABEL_OK, "threads %d: records before the cut after a fault: %s", threads, relabel_last_error());
  }
  relabel_file_unmap(base, size);
  unlink(path.c_str());
  return 0;
}

// relabel_file_advise_ranges: arguments checked; WILLNEED brings the advised pages of an evicted file into the page
// cache, through process_madvise where the kernel allows it and through madvise per range when told not to use it.
int advise_ranges(const std::string &path) {
  const long page = sysconf(_SC_PAGESIZE);
  const int64_t pages = 64;
  {
    std::vector<char> bytes(static_cast<size_t>(pages * page), 3);
    FILE *f = std::fopen(path.c_str(), "wb");
    EXPECT(f != nullptr && std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size(), "cannot write %s",
           path.c_str());
    std::fflush(f);
    fsync(fileno(f));
    std::fclose(f);
  }
  void *base = nullptr;
  int64_t size = 0;
  EXPECT(relabel_file_map(path.c_str(), &base, &size) == RELABEL_OK && size == pages * page, "%s",
         relabel_last_error());
  const int64_t bad[] = {0, -1};
  EXPECT(relabel_file_advise_ranges(base, bad, 2, 100, 3) == RELABEL_ERR_ARGUMENT &&
             std::string(relabel_last_error()).find("offsets[1] = -1 is negative") != std::string::npos,
         "%s", relabel_last_error());
  EXPECT(relabel_file_advise_ranges(base, bad, 1, 100, 6) == RELABEL_ERR_ARGUMENT, "advice 6 accepted");
  EXPECT(relabel_file_advise_ranges(base, nullptr, 0, 100, 3) == RELABEL_OK, "%s", relabel_last_error());
  std::vector<unsigned char> resident(static_cast<size_t>(pages));
  auto in_cache = [&](int64_t p) {
    EXPECT(mincore(base, static_cast<size_t>(size), resident.data()) == 0, "mincore failed");
    return (resident[static_cast<size_t>(p)] & 1) != 0;
  };
  for (const char *way : {"process_madvise", "madvise per range"}) {
    if (std::string(way) != "process_madvise") setenv("RELABEL_NO_PROCESS_MADVISE", "1", 1);
    // Evict the file's clean pages, then advise three ranges (unaligned starts, one crossing a page boundary).
    const int fd = open(path.c_str(), O_RDONLY);
    EXPECT(fd >= 0 && posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0, "fadvise failed");
    ::close(fd);
    if (in_cache(3) || in_cache(20) || in_cache(41)) {
      std::printf("  files: advise_ranges (%s): SKIPPED the page-cache check: %s keeps its pages after "
                  "POSIX_FADV_DONTNEED (tmpfs or similar)\n", way, path.c_str());
      continue;
    }
    const int64_t offsets[] = {3 * page + 10, 20 * page + page - 50, 41 * page};
    EXPECT(relabel_file_advise_ranges(base, offsets, 3, 100, 3) == RELABEL_OK, "%s", relabel_last_error());
    bool loaded = false;
    for (int wait = 0; wait < 200 && !loaded; ++wait) {
      loaded = in_cache(3) && in_cache(20) && in_cache(21) && in_cache(41);
      if (!loaded) usleep(10000);
    }
    EXPECT(loaded, "%s: the advised pages 3, 20, 21 and 41 are not in the page cache 2 s after WILLNEED", way);
  }
  unsetenv("RELABEL_NO_PROCESS_MADVISE");
  EXPECT(static_cast<const char *>(base)[20 * page + 7] == 3, "mapped bytes differ after the hint");
  relabel_file_unmap(base, size);
  unlink(path.c_str());
  return 0;
}

int suite_files() {
  char dir[] = "/tmp/relabel_files_XXXXXX";
  EXPECT(mkdtemp(dir) != nullptr, "mkdtemp failed");
  const std::string path = std::string(dir) + "/a.rlm";
  int32_t w = -1, r1 = -1, r2 = -1, x = -1;
  EXPECT(relabel_file_lock(path.c_str(), 2, 1, &w) == RELABEL_OK && w >= 0, "%s", relabel_last_error());
  std::vector<char> bytes(3 * 4096, 7);
  EXPECT(write(w, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()), "write failed");
  // Created exclusively: a second create is busy; a reader is refused while the writer holds it.
  EXPECT(relabel_file_lock(path.c_str(), 2, 1, &x) == RELABEL_ERR_BUSY && x == -1, "%s", relabel_last_error());
  EXPECT(relabel_file_lock(path.c_str(), 1, 0, &r1) == RELABEL_ERR_BUSY, "%s", relabel_last_error());
  EXPECT(relabel_file_close(w) == RELABEL_OK, "%s", relabel_last_error());
  // Readers share; a writer is refused until both are gone.
  EXPECT(relabel_file_lock(path.c_str(), 1, 0, &r1) == RELABEL_OK, "%s", relabel_last_error());
  EXPECT(relabel_file_lock(path.c_str(), 1, 0, &r2) == RELABEL_OK, "%s", relabel_last_error());
  EXPECT(relabel_file_lock(path.c_str(), 2, 0, &x) == RELABEL_ERR_BUSY &&
             std::string(relabel_last_error()).find("is locked by another open file") != std::string::npos,
         "%s", relabel_last_error());
  int64_t info[4] = {0, 0, 0, 0}, by_path[4] = {0, 0, 0, 0};
  EXPECT(relabel_file_stat(nullptr, r1, info) == RELABEL_OK && info[0] == 3 * 4096 && info[1] > 0, "%s",
         relabel_last_error());
  EXPECT(relabel_file_stat(path.c_str(), -1, by_path) == RELABEL_OK && by_path[2] == info[2] && by_path[3] == info[3],
         "stat by path and by descriptor disagree");
  void *base = nullptr;
  int64_t size = 0;
  EXPECT(relabel_file_map_fd(r1, &base, &size) == RELABEL_OK && size == 3 * 4096 && base != nullptr, "%s",
         relabel_last_error());
  EXPECT(base != nullptr && static_cast<const char *>(base)[5000] == 7, "mapped bytes differ");
  // Access hints: every code in [0, 5] is accepted (advisory: an unaligned start is rounded down to its page), and
  // the mapping reads the same after them; others are refused with the range.
  for (int32_t advice = 0; advice <= 5; ++advice)
    EXPECT(relabel_file_advise(base, 100, 5000, advice) == RELABEL_OK, "advice %d: %s", advice, relabel_last_error());
  EXPECT(static_cast<const char *>(base)[8000] == 7, "mapped bytes differ after the hints");
  EXPECT(relabel_file_advise(base, 0, 4096, 6) == RELABEL_ERR_ARGUMENT &&
             std::string(relabel_last_error()).find("advice must be in [0, 5], got 6") != std::string::npos,
         "%s", relabel_last_error());
  // Another program truncates the file: the descriptor's size says so (touching the lost pages would fault).
  EXPECT(truncate(path.c_str(), 4096) == 0, "truncate failed");
  EXPECT(relabel_file_stat(nullptr, r1, info) == RELABEL_OK && info[0] == 4096, "size %lld after truncation",
         static_cast<long long>(info[0]));
  relabel_file_unmap(base, size);
  relabel_file_close(r1);
  relabel_file_close(r2);
  EXPECT(gather_from_truncated_file(std::string(dir) + "/records.bin") == 0, "gather from a truncated file");
  EXPECT(advise_ranges(std::string(dir) + "/advised.bin") == 0, "advise ranges");
  EXPECT(relabel_file_lock(path.c_str(), 2, 0, &x) == RELABEL_OK, "%s", relabel_last_error());
  relabel_file_close(x);
  EXPECT(relabel_file_lock((std::string(dir) + "/missing").c_str(), 1, 0, &x) == RELABEL_ERR_ARGUMENT &&
             std::string(relabel_last_error()).find("No such file") != std::string::npos,
         "%s", relabel_last_error());
  unlink(path.c_str());
  rmdir(dir);
  return 0;
}

}  // namespace


// ---- cuda_small: every CUDA kernel path on small inputs, against the CPU library ----
// What compute-sanitizer runs (bench/gpu/check.sh: memcheck, racecheck, synccheck, initcheck), once per kernel
// generation (RELABEL_KERNELS=v1|v2): small enough to run in seconds under the tools, and covering every template
// path: fp32/fp16/uint8 scores, int32/uint16 ids, k in registers and not, S = 1 and S > 1 with flips, softmax,
// pooled logits and probs, both box orders, the global-memory accumulator (C = 65535), bad crops (NaN rows and
// bad_entries), stats; top-k for k = 1..20 over fp32/fp16/bf16, maps of 1, 54 and 289 cells, NaN input.
struct SmallMaps {
  relabel_map_spec spec;
  std::vector<float> s32;
  std::vector<uint16_t> s16, i16;
  std::vector<int32_t> i32;
  std::vector<float> boxes;
  std::vector<uint8_t> flips;
};

SmallMaps small_maps(int64_t n, int k, int h, int w, int c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(1.0f, 3.0f);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  SmallMaps m;
  m.spec = relabel_map_spec{k, h, w, c, RELABEL_F32, RELABEL_I32};
  const int64_t hw = static_cast<int64_t>(h) * w;
  m.s32.resize(n * k * hw);
  m.i32.resize(n * k * hw);
  std::vector<float> cell(k);
  std::vector<int32_t> pick;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t l = 0; l < hw; ++l) {
      for (auto &v : cell) v = normal(rng);
      std::sort(cell.begin(), cell.end(), std::greater<float>());
      pick.clear();
      while (static_cast<int>(pick.size()) < k) {
        const int32_t id = static_cast<int32_t>(rng() % c);
        if (std::find(pick.begin(), pick.end(), id) == pick.end()) pick.push_back(id);
      }
      for (int j = 0; j < k; ++j) m.s32[(b * k + j) * hw + l] = cell[j], m.i32[(b * k + j) * hw + l] = pick[j];
    }
  for (float v : m.s32) m.s16.push_back(relabel::float_to_half(v));
  for (int32_t v : m.i32) m.i16.push_back(static_cast<uint16_t>(v));
  for (int64_t b = 0; b < n; ++b) {
    float x0 = u(rng) * 0.8f, y0 = u(rng) * 0.8f, x1 = x0 + 0.05f + u(rng) * 0.6f, y1 = y0 + 0.05f + u(rng) * 0.6f;
    switch (b % 6) {
      case 1: x0 = -0.4f, x1 = 1.3f; break;                  // partly outside
      case 2: x0 = 1.5f, x1 = 2.5f; break;                   // outside: uniform target
      case 3: x1 = x0, y1 = y0 + 0.2f; break;                // zero width
      case 4: std::swap(x0, x1), std::swap(y0, y1); break;   // inverted
      case 5: x1 = x0 + 0.3f / static_cast<float>(w); break; // sub-cell
    }
    m.boxes.insert(m.boxes.end(), {x0, y0, x1, y1});
    m.flips.push_back(static_cast<uint8_t>(b % 3 == 1));
  }
  return m;
}

// The records of maps m (fp16 or uint8 scores, uint16 ids), for gather.
std::vector<char> small_records(const SmallMaps &m, int64_t n, int32_t score_dtype, relabel_map_spec *spec) {
  *spec = m.spec;
  spec->score_dtype = score_dtype;
  spec->index_dtype = RELABEL_U16;
  relabel_record_layout layout;
  if (relabel_record_layout_of(spec, &layout) != RELABEL_OK) throw std::runtime_error(relabel_last_error());
  const int64_t entries = static_cast<int64_t>(m.spec.k) * m.spec.height * m.spec.width;
  std::vector<char> rec(static_cast<size_t>(n * layout.record_size), 0);
  for (int64_t r = 0; r < n; ++r) {
    char *p = rec.data() + r * layout.record_size;
    std::memcpy(p + layout.indices_offset, m.i16.data() + r * entries, entries * 2);
    if (score_dtype == RELABEL_F16) {
      std::memcpy(p + layout.scores_offset, m.s16.data() + r * entries, entries * 2);
      continue;
    }
    const float *src = m.s32.data() + r * entries;
    const float lo = *std::min_element(src, src + entries), hi = *std::max_element(src, src + entries);
    const float block[2] = {(hi - lo) / 255.0f, lo};
    for (int64_t e = 0; e < entries; ++e)
      p[layout.scores_offset + e] = static_cast<char>(std::lround(block[0] > 0 ? (src[e] - lo) / block[0] : 0.0f));
    std::memcpy(p + layout.quant_offset, block, sizeof block);
  }
  return rec;
}

void small_pool_cases(const std::string &gen) {
  struct Geometry {
    int64_t n;
    int k, h, w, c;
  };
  // k=5 (registers), k=12 (v2's memory path); C=37, 1000; a non-square map; C=65535 (global accumulator).
  for (const Geometry g : {Geometry{12, 5, 7, 7, 37}, Geometry{7, 12, 5, 9, 1000}, Geometry{6, 1, 15, 15, 1000},
                           Geometry{3, 5, 6, 6, 65535}}) {
    const SmallMaps m = small_maps(g.n, g.k, g.h, g.w, g.c, static_cast<uint32_t>(g.c + g.k));
    const float scale = max_abs(m.s32);
    for (const bool half : {false, true}) {
      PoolInput in{m.spec, nullptr, 0, nullptr, 0, g.n, m.boxes.data(), m.flips.data()};
      if (half) {
        in.spec.score_dtype = RELABEL_F16, in.spec.index_dtype = RELABEL_U16;
        in.scores = m.s16.data(), in.score_bytes = m.s16.size() * 2, in.indices = m.i16.data();
        in.index_bytes = m.i16.size() * 2;
      } else {
        in.scores = m.s32.data(), in.score_bytes = m.s32.size() * 4, in.indices = m.i32.data();
        in.index_bytes = m.i32.size() * 4;
      }
      struct Mode {
        int S, mode, softmax, order;
        float temperature;
      };
      for (const Mode md : {Mode{1, RELABEL_MODE_LOGITS, 1, RELABEL_BOX_XYXY, 1.0f},
                            Mode{1, RELABEL_MODE_LOGITS, 0, RELABEL_BOX_OFFICIAL, 1.0f},
                            Mode{3, RELABEL_MODE_LOGITS, 0, RELABEL_BOX_XYXY, 1.0f},
                            Mode{2, RELABEL_MODE_LOGITS, 1, RELABEL_BOX_XYXY, 0.5f},
                            Mode{2, RELABEL_MODE_PROBS, 1, RELABEL_BOX_XYXY, 2.0f}}) {
        if (g.c == 65535 && md.S == 3) continue;  // keeps the sanitized run short
        relabel_pool_params p = params(md.S, md.mode, md.softmax, md.order);
        p.temperature = md.temperature;
        relabel_pool_stats cs{0, 0, 0}, gs{0, 0, 0};
        const auto want = run_pool(false, in, p, &cs);
        const auto got = run_pool(true, in, p, &gs);
        char tag[160];
        std::snprintf(tag, sizeof tag, "%s pool n=%lld k=%d %dx%d C=%d %s S=%d mode=%d softmax=%d order=%d T=%g",
                      gen.c_str(), static_cast<long long>(g.n), g.k, g.h, g.w, g.c, half ? "f16/u16" : "f32/i32",
                      md.S, md.mode, md.softmax, md.order, md.temperature);
        const bool pooled = md.softmax == 0 && md.mode == RELABEL_MODE_LOGITS;
        close(tag, got, want, 1e-5f, pooled ? 1e-6f * scale : 1e-7f);
        EXPECT(gs.cells == cs.cells && gs.cells_top1_nonpositive == cs.cells_top1_nonpositive && gs.bad_entries == 0,
               "%s: stats cuda (%lld, %lld, %lld) cpu (%lld, %lld)", tag, static_cast<long long>(gs.cells),
               static_cast<long long>(gs.cells_top1_nonpositive), static_cast<long long>(gs.bad_entries),
               static_cast<long long>(cs.cells), static_cast<long long>(cs.cells_top1_nonpositive));
      }
    }
    // Gather from fp16 and uint8 records, crops reading records in another order (with repeats).
    std::vector<int64_t> rec_idx(static_cast<size_t>(g.n));
    for (int64_t i = 0; i < g.n; ++i) rec_idx[i] = (i * 5 + 1) % g.n;
    for (const int32_t sd : {RELABEL_F16, RELABEL_U8}) {
      relabel_map_spec rs;
      const auto records = small_records(m, g.n, sd, &rs);
      for (const int mode : {RELABEL_MODE_LOGITS, RELABEL_MODE_PROBS}) {
        const relabel_pool_params p = params(1, mode, 1);
        close(gen + " gather " + (sd == RELABEL_U8 ? "u8" : "f16") + " C=" + std::to_string(g.c) + " mode " +
                  std::to_string(mode),
              run_gather(true, rs, records, g.n, rec_idx, m.boxes.data(), m.flips.data(), p),
              run_gather(false, rs, records, g.n, rec_idx, m.boxes.data(), m.flips.data(), p), 1e-5f, 1e-7f);
      }
    }
  }
  // Bad crops on CUDA: a NaN box, a record index out of range, a class id >= C: NaN rows, counted.
  const SmallMaps m = small_maps(4, 5, 7, 7, 37, 3);
  relabel_map_spec rs;
  auto records = small_records(m, 4, RELABEL_F16, &rs);
  std::vector<float> boxes = m.boxes;
  boxes[4 * 1 + 2] = std::nanf("");
  const std::vector<int64_t> rec_idx = {0, 1, 9, 3};
  relabel_record_layout layout;
  relabel_record_layout_of(&rs, &layout);
  reinterpret_cast<uint16_t *>(records.data() + 3 * layout.record_size + layout.indices_offset)[0] = 37;
  for (int32_t cell = 0; cell < 49; ++cell)  // the bad id in every cell's top-1: sampled by any box
    reinterpret_cast<uint16_t *>(records.data() + 3 * layout.record_size + layout.indices_offset)[cell] = 37;
  const relabel_pool_params p = params(1, RELABEL_MODE_LOGITS, 1);
  DeviceBuffer r(records.data(), records.size()), ri(rec_idx.data(), rec_idx.size() * 8),
      b(boxes.data(), boxes.size() * 4), o(nullptr, 4 * 37 * 4), st(nullptr, sizeof(relabel_pool_stats));
  EXPECT(relabel_cuda_label_pool_gather(&rs, &p, r.ptr, 4, static_cast<int64_t *>(ri.ptr), 4,
                                        static_cast<float *>(b.ptr), nullptr, static_cast<float *>(o.ptr),
                                        static_cast<relabel_pool_stats *>(st.ptr), 0, nullptr) == RELABEL_OK,
         "%s", relabel_last_error());
  EXPECT(relabel_cuda_synchronize(0, nullptr) == RELABEL_OK, "%s", relabel_last_error());
  const auto out = o.download<float>(4 * 37);
  const auto stats = st.download<relabel_pool_stats>(1)[0];
  for (int crop = 0; crop < 4; ++crop) {
    const bool want_nan = crop != 0;
    EXPECT(std::isnan(out[crop * 37 + 5]) == want_nan, "%s bad crops: crop %d NaN=%d, want %d", gen.c_str(), crop,
           static_cast<int>(std::isnan(out[crop * 37 + 5])), static_cast<int>(want_nan));
  }
  EXPECT(stats.bad_entries == 3, "%s bad crops: bad_entries %lld, want 3", gen.c_str(),
         static_cast<long long>(stats.bad_entries));
}

void small_topk_cases(const std::string &gen) {
  struct Shape {
    int64_t n;
    int c, h, w;
  };
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (const Shape sh : {Shape{2, 37, 6, 9}, Shape{3, 300, 1, 1}, Shape{1, 50, 17, 17}, Shape{2, 1000, 15, 15}}) {
    const int64_t count = sh.n * sh.c * sh.h * sh.w;
    std::vector<float> dense(count);
    for (auto &v : dense) v = std::round(normal(rng) * 2.0f) / 2.0f;  // ties in every dtype
    std::vector<uint16_t> d16(count), b16(count);
    for (int64_t i = 0; i < count; ++i) {
      d16[i] = relabel::float_to_half(dense[i]);
      b16[i] = static_cast<uint16_t>(relabel::float_bits(dense[i]) >> 16);  // exact: values are multiples of 1/2
    }
    for (const int32_t dt : {RELABEL_F32, RELABEL_F16, RELABEL_BF16}) {
      const void *in = dt == RELABEL_F32 ? static_cast<const void *>(dense.data()) : dt == RELABEL_F16 ? d16.data()
                                                                                                       : b16.data();
      const size_t bytes = static_cast<size_t>(count) * (dt == RELABEL_F32 ? 4 : 2);
      for (const int k : {1, 5, 7, 12, 20}) {
        if (k > sh.c || (sh.c == 1000 && k != 5)) continue;
        const int32_t sdt = k % 2 ? RELABEL_F16 : RELABEL_F32, idt = k % 2 ? RELABEL_U16 : RELABEL_I32;
        int32_t flags = -1;
        const TopkOut want = run_topk(false, in, bytes, dt, sh.n, sh.c, sh.h, sh.w, k, sdt, idt);
        const TopkOut got = run_topk(true, in, bytes, dt, sh.n, sh.c, sh.h, sh.w, k, sdt, idt, &flags);
        const std::string tag = gen + " topk " + std::to_string(sh.n) + "x" + std::to_string(sh.c) + "x" +
                                std::to_string(sh.h) + "x" + std::to_string(sh.w) + " dtype " + std::to_string(dt) +
                                " k=" + std::to_string(k);
        EXPECT(got.scores == want.scores, "%s: scores differ from the CPU", tag.c_str());
        EXPECT(got.indices == want.indices, "%s: ids differ from the CPU", tag.c_str());
        EXPECT(flags == 0, "%s: flags %d", tag.c_str(), flags);
      }
    }
  }
  // NaN and Inf inputs raise RELABEL_FLAG_NONFINITE (and are skipped).
  std::vector<float> dense(2 * 40 * 3 * 3, 1.0f);
  dense[7] = std::nanf("");
  dense[100] = INFINITY;
  int32_t flags = 0;
  run_topk(true, dense.data(), dense.size() * 4, RELABEL_F32, 2, 40, 3, 3, 5, RELABEL_F32, RELABEL_I32, &flags);
  EXPECT(flags & RELABEL_FLAG_NONFINITE, "%s topk NaN/Inf: flags %d", gen.c_str(), flags);
}

int suite_cuda_small() {
  std::string why;
  if (!cuda_usable(why)) {
    std::printf("SKIPPED: the small CUDA suite needs a GPU: %s\n", why.c_str());
    return kSkip;
  }
  const char *env = std::getenv("RELABEL_KERNELS");
  const std::string gen = std::string("[") + (env && *env ? env : "v1") + "]";
  try {
    small_pool_cases(gen);
    small_topk_cases(gen);
  } catch (const std::exception &e) {
    ++failures;
    std::printf("FAIL %s: %s\n", gen.c_str(), e.what());
  }
  return 0;
}

int main(int argc, char **argv) {
  const std::map<std::string, std::function<int()>> suites = {
      {"conversions", suite_conversions},
      {"labelpool_cpu", [] { return suite_labelpool(false); }},
      {"labelpool_cuda", [] { return suite_labelpool(true); }},
      {"topk_cpu", [] { return suite_topk(false); }},
      {"topk_cuda", [] { return suite_topk(true); }},
      {"cuda_small", suite_cuda_small},
      {"errors", suite_errors},
      {"files", suite_files},
  };
  if (argc != 2 || suites.count(argv[1]) == 0) {
    std::printf("usage: relabel_tests SUITE\nsuites:");
    for (const auto &s : suites) std::printf(" %s", s.first.c_str());
    std::printf("\n");
    return 2;
  }
  std::printf("librelabel %s, CUDA built: %d, fixtures: %s\n", relabel_version(), relabel_cuda_built(),
              fixtures_root().c_str());
  int rc;
  try {
    rc = suites.at(argv[1])();
  } catch (const std::exception &e) {
    std::printf("FAIL: exception: %s\n", e.what());
    return 1;
  }
  if (rc == kSkip) return kSkip;
  if (rc != 0 && failures == 0) ++failures;  // a suite that returned a failure without counting one
  std::printf("%s: %s (%d failure%s)\n", argv[1], failures ? "FAILED" : "passed", failures, failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}
