#pragma once
// Time is injected: services take a Clock&, tests pass a FakeClock.
// Thread safety: SystemClock is stateless; FakeClock is atomic.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cairn {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch (MLflow's timestamp unit).
  virtual int64_t NowMillis() const = 0;
  // A monotonic time point for deadlines and durations.
  virtual std::chrono::steady_clock::time_point Steady() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::chrono::steady_clock::time_point Steady() const override {
    return std::chrono::steady_clock::now();
  }
  // The process-wide real clock.
  static SystemClock& Get() {
    static SystemClock clock;
    return clock;
  }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_millis = 1'700'000'000'000) : now_(now_millis) {}
  int64_t NowMillis() const override { return now_.load(); }
  std::chrono::steady_clock::time_point Steady() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_.load()));
  }
  void Advance(int64_t millis) { now_ += millis; }
  void Set(int64_t millis) { now_ = millis; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace cairn
