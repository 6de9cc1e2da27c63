// MonitorScheduler (monitor/monitor_service.h): one thread that asks the
// service for due windows every interval. Stop() wakes it through a condition
// variable, so it returns as soon as the tick in progress (if any) ends.

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "monitor/monitor_service.h"

namespace cairn::monitor {

struct MonitorScheduler::Impl {
  MonitorService& service;
  std::chrono::milliseconds interval;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread thread;
  std::mutex start_stop_mu;  // serializes Start/Stop

  Impl(MonitorService& s, std::chrono::milliseconds i) : service(s), interval(i) {}

  void Tick() {
    // Last resort: nothing thrown by a library may end the thread (and the
    // process with it); the next tick tries again.
    try {
      auto n = service.RunDue();
      if (!n) {
        CAIRN_LOG_WARN("monitor scheduler: tick failed: {}", n.error().message());
      } else if (*n > 0) {
        CAIRN_LOG_INFO("monitor scheduler: processed {} window(s)", *n);
      }
    } catch (const std::exception& e) {
      CAIRN_LOG_ERROR("monitor scheduler: tick threw: {}", e.what());
    }
  }

  void Loop() {
    std::unique_lock lock(mu);
    while (!stopping) {
      lock.unlock();
      Tick();
      lock.lock();
      cv.wait_for(lock, interval, [this] { return stopping; });
    }
  }
};

MonitorScheduler::MonitorScheduler(MonitorService& service, std::chrono::milliseconds interval)
    : impl_(std::make_unique<Impl>(service, interval)) {}

MonitorScheduler::~MonitorScheduler() { Stop(); }

void MonitorScheduler::Start() {
  std::lock_guard guard(impl_->start_stop_mu);
  if (impl_->thread.joinable()) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = false;
  }
  impl_->thread = std::thread([this] { impl_->Loop(); });
}

void MonitorScheduler::Stop() {
  std::lock_guard guard(impl_->start_stop_mu);
  if (!impl_->thread.joinable()) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
}

}  // namespace cairn::monitor
