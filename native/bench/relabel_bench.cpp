// Quick benchmark harness of the native ops (the JMH suite comes with labelpool-bench). Inputs are generated
// like shared/anchors/official_labelpool.py: k=5 scores ~ sorted N(0,1)+6, distinct random class ids per cell,
// crops (y0, x0) ~ U(0, 0.5), (h, w) ~ 0.2 + U(0, 0.5). Prints one JSON line per measurement: median and min
// milliseconds per batch, crops (or images) per second, and for memory-bound ops the bytes moved.
//
// usage: relabel_bench [--op all|pool|gather|topk|bandwidth] [--batch 1024] [--threads 1] [--iters 50]
//                      [--device cpu|cuda] [--size S (label_pool: only this output size; default 1 and 7)]
//                      [--launches 100] [--save-inputs DIR]
//
// --device cuda (a build with CUDA): each kernel timed with CUDA events around --launches back-to-back launches on
// one stream (host launch path included: "events_us"), and the same launches captured in a CUDA graph and replayed
// ("graph_us": kernel time without host overhead), median of --iters repetitions, per launch; beside a
// device-to-device copy of 256 MiB (the HBM bound: "copy" row). The kernel generation is RELABEL_KERNELS (v1|v2).
// --save-inputs DIR writes the inputs as .npy (the torch anchors of bench/gpu/anchors.py time the same values).
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
#if defined(RELABEL_BENCH_CUDA)
#include <cuda_runtime.h>
#endif

namespace {

struct Options {
  std::string op = "all", device = "cpu", save_inputs;
  int64_t batch = 1024;
  int threads = 1, iters = 50, launches = 100;
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
      const Timing t = time_it(o.iters, [&] {
        check(relabel_label_pool(&spec, &p, sc, id, o.batch, m.boxes.data(), nullptr, out.data(), nullptr));
      });
      print_pool("label_pool", o, fp16 ? "fp16" : "fp32", s, s == 1, t, pool_bytes(m, o.batch, s, ss, ss));
    }
  }
}

// The fp16 maps of m as an array of n records (label_pool_gather's input).
std::vector<char> fp16_records(const Maps &m, int64_t n, const relabel_record_layout &layout) {
  const int64_t entries = static_cast<int64_t>(m.spec.k) * m.spec.height * m.spec.width;
  std::vector<char> records(static_cast<size_t>(n * layout.record_size), 0);
  for (int64_t r = 0; r < n; ++r) {
    std::memcpy(records.data() + r * layout.record_size + layout.scores_offset, m.scores16.data() + r * entries,
                entries * 2);
    std::memcpy(records.data() + r * layout.record_size + layout.indices_offset, m.ids16.data() + r * entries,
                entries * 2);
  }
  return records;
}

// The gather benchmark's store (20,000 fp16 records) and the record each of the batch's crops reads.
struct GatherInputs {
  int64_t records_n = 20000;
  Maps m;
  relabel_record_layout layout;
  std::vector<char> records;
  std::vector<int64_t> idx;
};

GatherInputs gather_inputs(const Options &o) {
  GatherInputs g;
  g.m = make_maps(g.records_n, 5, 15, 1000, 2);
  check(relabel_record_layout_of(&g.m.spec, &g.layout));
  g.records = fp16_records(g.m, g.records_n, g.layout);
  std::mt19937_64 rng(3);
  g.idx.resize(o.batch);
  for (auto &i : g.idx) i = static_cast<int64_t>(rng() % g.records_n);
  return g;
}

void bench_gather(const Options &o) {
  const GatherInputs g = gather_inputs(o);
  const int64_t records_n = g.records_n;
  const Maps &m = g.m;
  const std::vector<char> &records = g.records;
  const std::vector<int64_t> &idx = g.idx;
  std::vector<float> boxes(m.boxes.begin(), m.boxes.begin() + o.batch * 4);
  std::vector<float> out(static_cast<size_t>(o.batch) * 1000);
  const relabel_pool_params p = pool_params(1, true, o.threads);
  const Timing t = time_it(o.iters, [&] {
    check(relabel_label_pool_gather(&m.spec, &p, records.data(), records_n, idx.data(), o.batch, boxes.data(), nullptr,
                                    out.data(), nullptr));
  });
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
      const Timing t = time_it(std::max(3, o.iters / 5), [&] {
        check(relabel_topk_compress(in, in_dtype, sh.batch, sh.classes, sh.side, sh.side, 5, scores.data(), RELABEL_F16,
                                    ids.data(), id_dtype, o.threads));
      });
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


#if defined(RELABEL_BENCH_CUDA)
// ---- .npy output (--save-inputs) ----
void save_npy(const std::string &dir, const std::string &name, const char *descr, const std::vector<int64_t> &shape,
              const void *data, size_t bytes) {
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) dims += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "");
  std::string header = "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  const std::string path = dir + "/" + name;
  FILE *f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
  const unsigned char magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  const uint16_t len = static_cast<uint16_t>(header.size());
  const bool ok = std::fwrite(magic, 1, 8, f) == 8 && std::fwrite(&len, 2, 1, f) == 1 &&
                  std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
                  std::fwrite(data, 1, bytes, f) == bytes;
  if (std::fclose(f) != 0 || !ok) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

void cuda_check(cudaError_t err, const char *what) {
  if (err != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(err));
    std::exit(1);
  }
}

struct DeviceArray {
  void *p = nullptr;
  DeviceArray(const void *host, size_t n) {
    cuda_check(cudaMalloc(&p, n == 0 ? 1 : n), "cudaMalloc");
    if (host != nullptr) cuda_check(cudaMemcpy(p, host, n, cudaMemcpyHostToDevice), "cudaMemcpy");
  }
  ~DeviceArray() { cudaFree(p); }
  DeviceArray(const DeviceArray &) = delete;
  DeviceArray &operator=(const DeviceArray &) = delete;
};

struct GpuTiming {
  double events_us, graph_us;  // per launch; graph_us < 0 when the launches could not be captured
};

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// fn(stream) enqueues one launch. Events around o.launches back-to-back launches (host path included), then the
// same launches captured into a CUDA graph and replayed (kernel time only); medians over o.iters repetitions.
GpuTiming time_gpu(const Options &o, const std::function<void(cudaStream_t)> &fn) {
  cudaStream_t stream;
  cuda_check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  cudaEvent_t start, stop;
  cuda_check(cudaEventCreate(&start), "cudaEventCreate");
  cuda_check(cudaEventCreate(&stop), "cudaEventCreate");
  for (int i = 0; i < 3; ++i) fn(stream);  // warm-up
  cuda_check(cudaStreamSynchronize(stream), "warm-up");
  auto timed = [&](const std::function<void()> &body) {
    std::vector<double> us;
    for (int r = 0; r < o.iters; ++r) {
      cuda_check(cudaEventRecord(start, stream), "cudaEventRecord");
      body();
      cuda_check(cudaEventRecord(stop, stream), "cudaEventRecord");
      cuda_check(cudaEventSynchronize(stop), "cudaEventSynchronize");
      float ms = 0;
      cuda_check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
      us.push_back(ms * 1e3 / o.launches);
    }
    return median_of(us);
  };
  GpuTiming t;
  t.events_us = timed([&] {
    for (int i = 0; i < o.launches; ++i) fn(stream);
  });
  t.graph_us = -1;
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  if (cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess) {
    for (int i = 0; i < o.launches; ++i) fn(stream);
    if (cudaStreamEndCapture(stream, &graph) == cudaSuccess) {
      if (cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess) {
        cuda_check(cudaGraphLaunch(exec, stream), "cudaGraphLaunch");  // warm-up
        t.graph_us = timed([&] { cuda_check(cudaGraphLaunch(exec, stream), "cudaGraphLaunch"); });
        cudaGraphExecDestroy(exec);
      }
      cudaGraphDestroy(graph);
    }
  }
  cudaGetLastError();  // a failed capture is reported as graph_us -1, not carried into the next call
  cuda_check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaStreamDestroy(stream);
  return t;
}

const char *kernels_env() {
  const char *e = std::getenv("RELABEL_KERNELS");
  return e != nullptr && *e ? e : "v1";
}

void print_gpu(const std::string &fields, const GpuTiming &t, double bytes) {
  std::printf("{\"device\": \"cuda\", \"kernels\": \"%s\", %s, \"events_us\": %.3f, \"graph_us\": %.3f, "
              "\"bytes\": %.0f}\n",
              kernels_env(), fields.c_str(), t.events_us, t.graph_us, bytes);
  std::fflush(stdout);
}

// The HBM bound: a 256 MiB device-to-device copy (read + write).
void cuda_copy(const Options &o) {
  const size_t n = size_t{256} << 20;
  DeviceArray a(nullptr, n), b(nullptr, n);
  cuda_check(cudaMemset(a.p, 1, n), "cudaMemset");
  Options few = o;
  few.launches = 10;
  const GpuTiming t = time_gpu(few, [&](cudaStream_t s) {
    cuda_check(cudaMemcpyAsync(b.p, a.p, n, cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync");
  });
  const double us = t.graph_us > 0 ? t.graph_us : t.events_us;
  std::printf("{\"device\": \"cuda\", \"op\": \"copy\", \"bytes\": %zu, \"events_us\": %.3f, \"graph_us\": %.3f, "
              "\"gb_per_s\": %.1f}\n",
              2 * n, t.events_us, t.graph_us, 2.0 * n / (us * 1e3));
  std::fflush(stdout);
}

void cuda_pool(const Options &o) {
  const Maps m = make_maps(o.batch, 5, 15, 1000, 1);
  if (!o.save_inputs.empty()) {
    const std::vector<int64_t> shape = {o.batch, 5, 15, 15};
    save_npy(o.save_inputs, "pool_scores_f16.npy", "<f2", shape, m.scores16.data(), m.scores16.size() * 2);
    save_npy(o.save_inputs, "pool_ids_u16.npy", "<u2", shape, m.ids16.data(), m.ids16.size() * 2);
    save_npy(o.save_inputs, "pool_boxes.npy", "<f4", {o.batch, 4}, m.boxes.data(), m.boxes.size() * 4);
  }
  DeviceArray s16(m.scores16.data(), m.scores16.size() * 2), i16(m.ids16.data(), m.ids16.size() * 2),
      s32(m.scores32.data(), m.scores32.size() * 4), i32(m.ids32.data(), m.ids32.size() * 4),
      box(m.boxes.data(), m.boxes.size() * 4);
  for (int s : o.sizes) {
    DeviceArray out(nullptr, static_cast<size_t>(o.batch) * 1000 * s * s * 4);
    for (bool fp16 : {true, false}) {
      relabel_map_spec spec = m.spec;
      if (!fp16) spec.score_dtype = RELABEL_F32, spec.index_dtype = RELABEL_I32;
      const relabel_pool_params p = pool_params(s, s == 1, 1);
      const void *sc = fp16 ? s16.p : s32.p, *id = fp16 ? i16.p : i32.p;
      const GpuTiming t = time_gpu(o, [&](cudaStream_t st) {
        check(relabel_cuda_label_pool(&spec, &p, sc, id, o.batch, static_cast<float *>(box.p), nullptr,
                                      static_cast<float *>(out.p), nullptr, 0, st));
      });
      const size_t es = fp16 ? 2 : 4;
      char f[256];
      std::snprintf(f, sizeof f, "\"op\": \"label_pool\", \"batch\": %lld, \"scores\": \"%s\", \"S\": %d, \"softmax\": %s",
                    static_cast<long long>(o.batch), fp16 ? "fp16" : "fp32", s, s == 1 ? "true" : "false");
      print_gpu(f, t, pool_bytes(m, o.batch, s, es, es));
    }
  }
}

void cuda_gather(const Options &o) {
  const GatherInputs g = gather_inputs(o);
  const int64_t records_n = g.records_n;
  const Maps &m = g.m;
  const relabel_record_layout &layout = g.layout;
  const std::vector<char> &records = g.records;
  const std::vector<int64_t> &idx = g.idx;
  std::vector<float> boxes(m.boxes.begin(), m.boxes.begin() + std::min<int64_t>(o.batch, records_n) * 4);
  while (static_cast<int64_t>(boxes.size()) < o.batch * 4) boxes.insert(boxes.end(), m.boxes.begin(), m.boxes.begin() + 4);
  if (!o.save_inputs.empty()) {
    const std::vector<int64_t> shape = {records_n, 5, 15, 15};
    save_npy(o.save_inputs, "store_scores_f16.npy", "<f2", shape, m.scores16.data(), m.scores16.size() * 2);
    save_npy(o.save_inputs, "store_ids_u16.npy", "<u2", shape, m.ids16.data(), m.ids16.size() * 2);
    save_npy(o.save_inputs, "gather_records.npy", "<i8", {o.batch}, idx.data(), idx.size() * 8);
    save_npy(o.save_inputs, "gather_boxes.npy", "<f4", {o.batch, 4}, boxes.data(), boxes.size() * 4);
  }
  DeviceArray drec(records.data(), records.size()), didx(idx.data(), idx.size() * 8),
      dbox(boxes.data(), boxes.size() * 4), dout(nullptr, static_cast<size_t>(o.batch) * 1000 * 4);
  const relabel_pool_params p = pool_params(1, true, 1);
  const GpuTiming t = time_gpu(o, [&](cudaStream_t st) {
    check(relabel_cuda_label_pool_gather(&m.spec, &p, drec.p, records_n, static_cast<int64_t *>(didx.p), o.batch,
                                         static_cast<float *>(dbox.p), nullptr, static_cast<float *>(dout.p), nullptr,
                                         0, st));
  });
  char f[256];
  std::snprintf(f, sizeof f, "\"op\": \"label_pool_gather\", \"batch\": %lld, \"records\": %lld, \"record_size\": %lld, "
                "\"scores\": \"fp16\", \"S\": 1, \"softmax\": true", static_cast<long long>(o.batch),
                static_cast<long long>(records_n), static_cast<long long>(layout.record_size));
  // Bytes: the output, the records' sampled cells (as label_pool), the record indices and boxes.
  print_gpu(f, t, pool_bytes(m, o.batch, 1, 2, 2) + o.batch * 24.0);
}

void cuda_topk(const Options &o) {
  struct Shape {
    int64_t batch;
    int classes, side;
  };
  for (const Shape sh : {Shape{1024, 1000, 15}, Shape{64, 21843, 7}}) {
    const int64_t n = sh.batch * sh.classes * sh.side * sh.side;
    std::vector<uint16_t> dense16(n);
    uint64_t x = 0x9e3779b97f4a7c15ull;  // xorshift: fast enough for 230 M values; values in [-8, 8)
    for (int64_t i = 0; i < n; ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      dense16[i] = relabel::float_to_half(static_cast<float>(x >> 40) * (16.0f / 16777216.0f) - 8.0f);
    }
    const std::string shape = std::to_string(sh.batch) + "x" + std::to_string(sh.classes) + "x" +
                              std::to_string(sh.side) + "x" + std::to_string(sh.side);
    if (!o.save_inputs.empty())
      save_npy(o.save_inputs, "topk_dense_" + shape + "_f16.npy", "<f2", {sh.batch, sh.classes, sh.side, sh.side},
               dense16.data(), dense16.size() * 2);
    const int64_t out_n = sh.batch * 5 * sh.side * sh.side;
    const int32_t id_dtype = sh.classes <= 65535 ? RELABEL_U16 : RELABEL_I32;
    DeviceArray ds(nullptr, out_n * 2), di(nullptr, out_n * 4);
    for (int32_t in_dtype : {RELABEL_F16, RELABEL_F32}) {
      if (in_dtype == RELABEL_F32 && sh.batch != 1024) continue;
      std::vector<float> dense32;
      if (in_dtype == RELABEL_F32) {
        dense32.resize(n);
        for (int64_t i = 0; i < n; ++i) dense32[i] = relabel::half_to_float(dense16[i]);  // the same values
      }
      const size_t in_bytes = static_cast<size_t>(n) * (in_dtype == RELABEL_F32 ? 4 : 2);
      DeviceArray din(in_dtype == RELABEL_F32 ? static_cast<const void *>(dense32.data()) : dense16.data(), in_bytes);
      Options few = o;
      few.launches = std::max(1, std::min(o.launches, 100));
      const GpuTiming t = time_gpu(few, [&](cudaStream_t st) {
        check(relabel_cuda_topk_compress(din.p, in_dtype, sh.batch, sh.classes, sh.side, sh.side, 5, ds.p, RELABEL_F16,
                                         di.p, id_dtype, nullptr, 0, st));
      });
      char f[256];
      std::snprintf(f, sizeof f, "\"op\": \"topk_compress\", \"shape\": \"%s\", \"input\": \"%s\", \"k\": 5",
                    shape.c_str(), in_dtype == RELABEL_F32 ? "fp32" : "fp16");
      print_gpu(f, t, static_cast<double>(in_bytes) + out_n * 4.0);
    }
  }
}

int bench_cuda(const Options &o) {
  int32_t count = 0;
  check(relabel_cuda_device_count(&count));
  char name[256];
  check(relabel_cuda_device_name(0, name, sizeof name));
  std::printf("{\"device_name\": \"%s\", \"kernels\": \"%s\", \"launches\": %d, \"iters\": %d}\n", name, kernels_env(),
              o.launches, o.iters);
  if (o.op == "all" || o.op == "bandwidth") cuda_copy(o);
  if (o.op == "all" || o.op == "pool") cuda_pool(o);
  if (o.op == "all" || o.op == "gather") cuda_gather(o);
  if (o.op == "all" || o.op == "topk") cuda_topk(o);
  return 0;
}
#endif

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
    else if (a == "--launches") o.launches = std::stoi(next());
    else if (a == "--save-inputs") o.save_inputs = next();
    else {
      std::fprintf(stderr,
                   "usage: relabel_bench [--op all|pool|gather|topk|bandwidth] [--batch N] [--threads N] "
                   "[--iters N] [--device cpu|cuda] [--size S] [--launches N] [--save-inputs DIR]\n");
      return 2;
    }
  }
  if (o.device != "cpu" && o.device != "cuda") {
    std::fprintf(stderr, "--device must be cpu or cuda, got '%s'\n", o.device.c_str());
    return 2;
  }
  if (o.iters < 1 || o.launches < 1 || o.batch < 1) {
    std::fprintf(stderr, "--iters, --launches and --batch must be >= 1\n");
    return 2;
  }
  if (o.device == "cuda") {
#if defined(RELABEL_BENCH_CUDA)
    return bench_cuda(o);
#else
    std::fprintf(stderr, "relabel_bench was built without CUDA (RELABEL_CUDA=OFF or no nvcc)\n");
    return 2;
#endif
  }
  if (o.op == "all" || o.op == "bandwidth") {
    if (o.device == "cpu") bench_bandwidth(o);
  }
  if (o.op == "all" || o.op == "pool") bench_pool(o);
  if (o.op == "all" || o.op == "gather") bench_gather(o);
  if (o.op == "all" || o.op == "topk") bench_topk(o);
  return 0;
}
