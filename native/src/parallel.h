// Splits [0, n) into contiguous chunks over up to `threads` std::threads (the calling thread takes the first).
// No OpenMP: the library must not bring its own OpenMP runtime next to LibTorch's.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace relabel {

// fn(worker, begin, end) runs once per chunk; returns the number of workers used.
template <typename Fn>
int parallel_for(int threads, int64_t n, Fn &&fn) {
  const int workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n)));
  if (workers == 1) {
    fn(0, int64_t{0}, n);
    return 1;
  }
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  const int64_t chunk = n / workers, extra = n % workers;
  int64_t begin = 0;
  std::vector<std::pair<int64_t, int64_t>> ranges(workers);
  for (int w = 0; w < workers; ++w) {
    const int64_t end = begin + chunk + (w < extra ? 1 : 0);
    ranges[w] = {begin, end};
    begin = end;
  }
  for (int w = 1; w < workers; ++w) pool.emplace_back([&fn, &ranges, w] { fn(w, ranges[w].first, ranges[w].second); });
  fn(0, ranges[0].first, ranges[0].second);
  for (auto &t : pool) t.join();
  return workers;
}

}  // namespace relabel
