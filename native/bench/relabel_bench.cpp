// Quick benchmark harness of the native ops (the JMH suite comes with labelpool-bench). Inputs are generated
// like shared/anchors/official_labelpool.py: k=5 scores ~ sorted N(0,1)+6, distinct random class ids per cell,
// crops (y0, x0) ~ U(0, 0.5), (h, w) ~ 0.2 + U(0, 0.5). Prints one JSON line per measurement: median and min
// milliseconds per batch, crops (or images) per second, and for memory-bound ops the bytes moved.
//
// usage: relabel_bench [--op all|pool|gather|topk|bandwidth] [--batch 1024] [--threads 1] [--iters 50]
//                      [--device cpu|cuda] [--size S (label_pool: only this output size; default 1 and 7)]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "../src/common.h"
#include "relabel/relabel.h"

namespace {

struct Options {
  std::string op = "all", device = "cpu";
  int64_t batch = 1024;
  int threads = 1, iters = 50;
  std::vector<int> sizes = {1, 7};
};

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Timing {
  double median, min;
};

Timing time_it(int iters, const std::function<void()> &fn) {
  fn();  // warm-up
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    const double t0 = now_ms();
    fn();
    t.push_back(now_ms() - t0);
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t[0]};
}

void check(int32_t status) {
  if (status != RELABEL_OK) {
    std::fprintf(stderr, "relabel error %d: %s\n", status, relabel_last_error());
    std::exit(1);
  }
}

struct Maps {
  relabel_map_spec spec;
  std::vector<uint16_t> scores16, ids16;
  std::vector<float> scores32;
  std::vector<int32_t> ids32;
  std::vector<float> boxes;
};

Maps make_maps(int64_t batch, int k, int side, int classes, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> uniform;
  Maps m;
  m.spec = relabel_map_spec{k, side, side, classes, RELABEL_F16, RELABEL_U16};
  const int64_t hw = static_cast<int64_t>(side) * side, entries = batch * k * hw;
  m.scores32.resize(entries);
  m.ids32.resize(entries);
  std::vector<float> cell(k);
  std::vector<int32_t> pick;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t l = 0; l < hw; ++l) {
      for (int j = 0; j < k; ++j) cell[j] = normal(rng) + 6.0f;
      std::sort(cell.begin(), cell.end(), std::greater<float>());
      pick.clear();
      while (static_cast<int>(pick.size()) < k) {
        const int32_t c = static_cast<int32_t>(rng() % classes);
        if (std::find(pick.begin(), pick.end(), c) == pick.end()) pick.push_back(c);
      }
      for (int j = 0; j < k; ++j) {
        m.scores32[(b * k + j) * hw + l] = cell[j];
        m.ids32[(b * k + j) * hw + l] = pick[j];
      }
    }
  m.scores16.resize(entries);
  m.ids16.resize(entries);
  for (int64_t i = 0; i < entries; ++i) {
    m.scores16[i] = relabel::float_to_half(m.scores32[i]);
    m.ids16[i] = static_cast<uint16_t>(m.ids32[i]);
  }
  m.boxes.resize(batch * 4);
  for (int64_t b = 0; b < batch; ++b) {
    const float y0 = uniform(rng) * 0.5f, x0 = uniform(rng) * 0.5f;
    const float h = 0.2f + uniform(rng) * 0.5f, w = 0.2f + uniform(rng) * 0.5f;
    m.boxes[b * 4 + 0] = x0, m.boxes[b * 4 + 1] = y0, m.boxes[b * 4 + 2] = x0 + w, m.boxes[b * 4 + 3] = y0 + h;
  }
  return m;
}

// Device copies for --device cuda.
struct Dev {
  void *p = nullptr;
  Dev(const void *host, size_t n) {
    check(relabel_cuda_malloc(0, &p, n));
    if (host) check(relabel_cuda_memcpy(p, host, n, 1));
  }
  ~Dev() { relabel_cuda_free(p); }
};

relabel_pool_params pool_params(int s, bool softmax, int threads) {
  return relabel_pool_params{s, RELABEL_MODE_LOGITS, RELABEL_BOX_XYXY, softmax ? 1 : 0, 1.0f, threads};
}

void print_pool(const char *op, const Options &o, const char *dtype, int s, bool softmax, const Timing &t,
                double bytes_per_batch) {
  std::printf("{\"op\": \"%s\", \"device\": \"%s\", \"batch\": %lld, \"threads\": %d, \"scores\": \"%s\", \"S\": %d, "
              "\"softmax\": %s, \"median_ms\": %.4f, \"min_ms\": %.4f, \"crops_per_s\": %.0f, \"bytes_per_batch\": %.0f}\n",
              op, o.device.c_str(), static_cast<long long>(o.batch), o.threads, dtype, s, softmax ? "true" : "false",
              t.median, t.min, o.batch / t.median * 1e3, bytes_per_batch);
  std::fflush(stdout);
}

// Bytes a pooling batch must move at least: the output, plus the k entries of the cells each crop samples.
double pool_bytes(const Maps &m, int64_t batch, int s, size_t score_size, size_t id_size) {
  double cells = 0;
  for (int64_t b = 0; b < batch; ++b) {
    const float w = (m.boxes[b * 4 + 2] - m.boxes[b * 4]) * m.spec.width + 2,
                h = (m.boxes[b * 4 + 3] - m.boxes[b * 4 + 1]) * m.spec.height + 2;
    cells += std::min<double>(w, m.spec.width) * std::min<double>(h, m.spec.height);
  }
  return static_cast<double>(batch) * m.spec.classes * s * s * 4.0 + cells * m.spec.k * (score_size + id_size);
}

void bench_pool(const Options &o) {
  const Maps m = make_maps(o.batch, 5, 15, 1000, 1);
  for (int s : o.sizes) {
    std::vector<float> out(static_cast<size_t>(o.batch) * 1000 * s * s);
    for (bool fp16 : {true, false}) {
      relabel_map_spec spec = m.spec;
      if (!fp16) spec.score_dtype = RELABEL_F32, spec.index_dtype = RELABEL_I32;
      const void *sc = fp16 ? static_cast<const void *>(m.scores16.data()) : m.scores32.data();
      const void *id = fp16 ? static_cast<const void *>(m.ids16.data()) : m.ids32.data();
      const size_t ss = fp16 ? 2 : 4;
      const relabel_pool_params p = pool_params(s, s == 1, o.threads);
      Timing t;
      if (o.device == "cpu") {
        t = time_it(o.iters, [&] {
          check(relabel_label_pool(&spec, &p, sc, id, o.batch, m.boxes.data(), nullptr, out.data(), nullptr));
        });
      } else {
        const size_t n = m.scores32.size();
        Dev dsc(sc, n * ss), did(id, n * ss), dbox(m.boxes.data(), m.boxes.size() * 4), dout(nullptr, out.size() * 4);
        const int reps = 20;  // launches per timed sample: the amortized time of back-to-back batches
        t = time_it(o.iters, [&] {
          for (int r = 0; r < reps; ++r)
            check(relabel_cuda_label_pool(&spec, &p, dsc.p, did.p, o.batch, static_cast<float *>(dbox.p), nullptr,
                                          static_cast<float *>(dout.p), nullptr, 0, nullptr));
          check(relabel_cuda_synchronize(0, nullptr));
        });
        t.median /= reps, t.min /= reps;
      }
      print_pool("label_pool", o, fp16 ? "fp16" : "fp32", s, s == 1, t, pool_bytes(m, o.batch, s, ss, ss));
    }
  }
}

void bench_gather(const Options &o) {
  const int64_t records_n = 20000;
  const Maps m = make_maps(records_n, 5, 15, 1000, 2);
  relabel_record_layout layout;
  check(relabel_record_layout_of(&m.spec, &layout));
  const int64_t entries = 5 * 225;
  std::vector<char> records(static_cast<size_t>(records_n * layout.record_size), 0);
  for (int64_t r = 0; r < records_n; ++r) {
    std::memcpy(records.data() + r * layout.record_size + layout.scores_offset, m.scores16.data() + r * entries, entries * 2);
    std::memcpy(records.data() + r * layout.record_size + layout.indices_offset, m.ids16.data() + r * entries, entries * 2);
  }
  std::mt19937_64 rng(3);
  std::vector<int64_t> idx(o.batch);
  for (auto &i : idx) i = static_cast<int64_t>(rng() % records_n);
  std::vector<float> boxes(m.boxes.begin(), m.boxes.begin() + o.batch * 4);
  std::vector<float> out(static_cast<size_t>(o.batch) * 1000);
  const relabel_pool_params p = pool_params(1, true, o.threads);
  Timing t;
  if (o.device == "cpu") {
    t = time_it(o.iters, [&] {
      check(relabel_label_pool_gather(&m.spec, &p, records.data(), records_n, idx.data(), o.batch, boxes.data(),
                                      nullptr, out.data(), nullptr));
    });
  } else {
    Dev drec(records.data(), records.size()), didx(idx.data(), idx.size() * 8), dbox(boxes.data(), boxes.size() * 4),
        dout(nullptr, out.size() * 4);
    const int reps = 20;
    t = time_it(o.iters, [&] {
      for (int r = 0; r < reps; ++r)
        check(relabel_cuda_label_pool_gather(&m.spec, &p, drec.p, records_n, static_cast<int64_t *>(didx.p), o.batch,
                                             static_cast<float *>(dbox.p), nullptr, static_cast<float *>(dout.p),
                                             nullptr, 0, nullptr));
      check(relabel_cuda_synchronize(0, nullptr));
    });
    t.median /= reps, t.min /= reps;
  }
  print_pool("label_pool_gather", o, "fp16", 1, true, t, pool_bytes(m, o.batch, 1, 2, 2));
}

void bench_topk(const Options &o) {
  struct Shape {
    int64_t batch;
    int classes, side;
  };
  std::mt19937 rng(4);
  std::normal_distribution<float> normal;
  for (const Shape sh : {Shape{64, 1000, 15}, Shape{16, 21843, 7}}) {
    const int64_t n = sh.batch * sh.classes * sh.side * sh.side;
    std::vector<float> dense(n);
    for (auto &v : dense) v = normal(rng) * 3.0f;
    std::vector<uint16_t> dense16(n);
    for (int64_t i = 0; i < n; ++i) dense16[i] = relabel::float_to_half(dense[i]);
    const int64_t out_n = sh.batch * 5 * sh.side * sh.side;
    std::vector<uint16_t> scores(out_n);
    std::vector<int32_t> ids(out_n);
    const int32_t id_dtype = sh.classes <= 65535 ? RELABEL_U16 : RELABEL_I32;
    for (int32_t in_dtype : {RELABEL_F32, RELABEL_F16}) {
      const void *in = in_dtype == RELABEL_F32 ? static_cast<const void *>(dense.data()) : dense16.data();
      const size_t in_bytes = static_cast<size_t>(n) * (in_dtype == RELABEL_F32 ? 4 : 2);
      Timing t;
      if (o.device == "cpu") {
        t = time_it(std::max(3, o.iters / 5), [&] {
          check(relabel_topk_compress(in, in_dtype, sh.batch, sh.classes, sh.side, sh.side, 5, scores.data(),
                                      RELABEL_F16, ids.data(), id_dtype, o.threads));
        });
      } else {
        Dev din(in, in_bytes), ds(nullptr, out_n * 2), di(nullptr, out_n * 4);
        const int reps = 10;
        t = time_it(o.iters, [&] {
          for (int r = 0; r < reps; ++r)
            check(relabel_cuda_topk_compress(din.p, in_dtype, sh.batch, sh.classes, sh.side, sh.side, 5, ds.p,
                                             RELABEL_F16, di.p, id_dtype, nullptr, 0, nullptr));
          check(relabel_cuda_synchronize(0, nullptr));
        });
        t.median /= reps, t.min /= reps;
      }
      std::printf("{\"op\": \"topk_compress\", \"device\": \"%s\", \"batch\": %lld, \"classes\": %d, \"size\": %d, "
                  "\"threads\": %d, \"input\": \"%s\", \"k\": 5, \"median_ms\": %.4f, \"min_ms\": %.4f, "
                  "\"images_per_s\": %.0f, \"input_gb_per_s\": %.2f}\n",
                  o.device.c_str(), static_cast<long long>(sh.batch), sh.classes, sh.side, o.threads,
                  in_dtype == RELABEL_F32 ? "fp32" : "fp16", t.median, t.min, sh.batch / t.median * 1e3,
                  in_bytes / t.median / 1e6);
      std::fflush(stdout);
    }
  }
}

// The memory-bandwidth probe: a large array copy (read + write) on one thread.
void bench_bandwidth(const Options &o) {
  const size_t n = size_t{256} << 20;
  std::vector<char> a(n, 1), b(n, 2);
  const Timing t = time_it(std::max(3, o.iters / 10), [&] { std::memcpy(b.data(), a.data(), n); });
  std::printf("{\"op\": \"bandwidth\", \"device\": \"cpu\", \"bytes\": %zu, \"median_ms\": %.3f, \"gb_per_s\": %.2f}\n",
              2 * n, t.median, 2.0 * n / t.median / 1e6);
}

}  // namespace

int main(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--op") o.op = next();
    else if (a == "--batch") o.batch = std::stoll(next());
    else if (a == "--threads") o.threads = std::stoi(next());
    else if (a == "--iters") o.iters = std::stoi(next());
    else if (a == "--device") o.device = next();
    else if (a == "--size") o.sizes = {std::stoi(next())};
    else {
      std::fprintf(stderr,
                   "usage: relabel_bench [--op all|pool|gather|topk|bandwidth] [--batch N] [--threads N] "
                   "[--iters N] [--device cpu|cuda] [--size S]\n");
      return 2;
    }
  }
  if (o.device == "cuda") {
    int32_t count = 0;
    check(relabel_cuda_device_count(&count));
    char name[256];
    check(relabel_cuda_device_name(0, name, sizeof name));
    std::printf("{\"device_name\": \"%s\"}\n", name);
  }
  if (o.op == "all" || o.op == "bandwidth") {
    if (o.device == "cpu") bench_bandwidth(o);
  }
  if (o.op == "all" || o.op == "pool") bench_pool(o);
  if (o.op == "all" || o.op == "gather") bench_gather(o);
  if (o.op == "all" || o.op == "topk") bench_topk(o);
  return 0;
}
