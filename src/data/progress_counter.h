#pragma once
// ProgressCounter: what a long data operation (add, checkout, push, fetch)
// has done so far, for a progress display (cli/progress.h) to poll.
// Operations only add to the counters (relaxed atomics, no callbacks on the
// hot path); the display reads a Snapshot at its own pace.
//
// Thread safety: every member is safe to call from any thread.
#include <atomic>
#include <cstdint>

namespace cairn::data {

class ProgressCounter {
 public:
  struct Snapshot {
    uint64_t files_done = 0;
    uint64_t files_total = 0;
    uint64_t bytes_done = 0;
    uint64_t bytes_total = 0;
  };

  // More work became known (files and their bytes).
  void AddTotal(uint64_t files, uint64_t bytes) {
    files_total_.fetch_add(files, std::memory_order_relaxed);
    bytes_total_.fetch_add(bytes, std::memory_order_relaxed);
  }
  // Work finished.
  void Done(uint64_t files, uint64_t bytes) {
    files_done_.fetch_add(files, std::memory_order_relaxed);
    bytes_done_.fetch_add(bytes, std::memory_order_relaxed);
  }
  Snapshot Read() const {
    return {
        files_done_.load(std::memory_order_relaxed), files_total_.load(std::memory_order_relaxed),
        bytes_done_.load(std::memory_order_relaxed), bytes_total_.load(std::memory_order_relaxed)};
  }

 private:
  std::atomic<uint64_t> files_done_{0};
  std::atomic<uint64_t> files_total_{0};
  std::atomic<uint64_t> bytes_done_{0};
  std::atomic<uint64_t> bytes_total_{0};
};

}  // namespace cairn::data
