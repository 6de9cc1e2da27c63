#pragma once
// ParallelFor: run fn(i) for every i in [0, n) on up to `jobs` threads (0:
// the number of cores), the calling thread being one of them. The first
// error a call returns stops the handing out of further items (calls already
// running finish) and is returned; the order in which items run is not
// specified.
//
// Thread safety: fn is called concurrently from several threads; it must be
// safe for that. ParallelFor itself shares nothing between calls.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/error.h"

namespace cairn {

template <typename Fn>
Status ParallelFor(size_t n, int jobs, Fn&& fn) {
  if (n == 0) return {};
  size_t threads = jobs > 0 ? static_cast<size_t>(jobs)
                            : std::max<size_t>(1, std::thread::hardware_concurrency());
  threads = std::min(threads, n);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::optional<Error> first_error;
  auto worker = [&] {
    while (!failed.load(std::memory_order_relaxed)) {
      const size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= n) return;
      Status s = fn(i);
      if (!s) {
        std::lock_guard lock(mu);
        if (!first_error) first_error = s.error();
        failed.store(true);
        return;
      }
    }
  };
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(threads - 1);
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
  }
  if (first_error) return std::unexpected(*first_error);
  return {};
}

}  // namespace cairn
