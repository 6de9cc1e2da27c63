#pragma once
// `cairn serve` tells the control plane where it runs and what it serves
// (docs/serving.md, "Heartbeats"): every `interval` a HeartbeatSender POSTs
// to <tracking_uri>/api/v1/serving/instances/heartbeat
//   {"instance_id", "url", "started_at", "interval_ms", "state": "running",
//    "deployments": [{"name", "sticky_header"?, "stats": S,
//                     "versions": [{"model", "version", "alias"?, "uri", "weight",
//                                   "shadow", "state", "stats": S}]}]}
// (the receiver and the full contract: api/serving_instances_handlers.h).
// S = {"requests", "errors", "rate", "p50_ms", "p99_ms"} over the interval
// since the previous heartbeat, taken from the ServeApp's metrics
// (InferenceStatsWindow below): errors are answers with a status >= 500;
// the deployment's S covers its live traffic, a version's S its own role.
//
// The first heartbeat goes at Start, the last at Stop with "state":
// "stopped". A failed heartbeat (server down, 4xx) is logged at debug and
// never touches serving; the next one is sent on time.
//
// Thread safety: Start/Stop from one thread; the sender's own thread reads
// the ModelManager (thread-safe) and the metric families (atomic reads).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/metrics.h"
#include "serve/model_manager.h"

namespace cairn::serve {

struct HeartbeatOptions {
  // 0 (or a tracking URI that is not http(s)://) turns heartbeats off.
  std::chrono::milliseconds interval{5000};
  // The URL others reach this process at; "" = http://<host>:<bound port>
  // (the machine's host name when bound to 0.0.0.0 or ::).
  std::string advertise_url;
};

struct IntervalStats {
  int64_t requests = 0;
  int64_t errors = 0;            // status >= 500
  double rate = 0;               // requests / interval seconds
  std::optional<double> p50_ms;  // none when no requests
  std::optional<double> p99_ms;
};

// Per-interval request statistics from cairn_inference_requests_total and
// cairn_inference_request_seconds: each Take() answers the change since the
// previous Take() (the first one: since the families were created).
// Percentiles are interpolated within histogram buckets (as Prometheus'
// histogram_quantile). Not thread-safe: one caller.
class InferenceStatsWindow {
 public:
  InferenceStatsWindow(Family<Counter>* requests_total, Family<Histogram>* request_seconds)
      : requests_total_(requests_total), request_seconds_(request_seconds) {}

  // (deployment, model, version, role "live" | "shadow")
  using VersionKey = std::tuple<std::string, std::string, std::string, std::string>;
  struct Window {
    std::map<VersionKey, IntervalStats> versions;
    std::map<std::string, IntervalStats> deployments;  // live role, all versions
  };
  Window Take(double seconds);

  // The q-quantile (0..1) of a histogram's non-cumulative bucket counts
  // (bounds.size() + 1 of them, the last is +Inf), in the bounds' unit; none
  // when the counts are all zero.
  static std::optional<double> Quantile(const std::vector<double>& bounds,
                                        const std::vector<uint64_t>& counts, double q);

 private:
  struct Seen {
    std::vector<uint64_t> cumulative;  // histogram, per bucket
    double requests = 0;
    double errors = 0;
  };
  Family<Counter>* requests_total_;
  Family<Histogram>* request_seconds_;
  std::map<VersionKey, Seen> seen_;
};

class HeartbeatSender {
 public:
  // `tracking_uri`: http(s)://... ; `url`: what is advertised; `user`:
  // X-Cairn-User ("" none).
  HeartbeatSender(std::string tracking_uri, std::string url, std::string user,
                  std::chrono::milliseconds interval, const ModelManager& manager,
                  Family<Counter>* requests_total, Family<Histogram>* request_seconds);
  ~HeartbeatSender();  // Stop()
  HeartbeatSender(const HeartbeatSender&) = delete;
  HeartbeatSender& operator=(const HeartbeatSender&) = delete;

  void Start();  // sends the first heartbeat from its thread, then every interval
  void Stop();   // joins the thread, then sends the final (stopped) heartbeat; idempotent

  const std::string& instance_id() const { return instance_id_; }
  const std::string& url() const { return url_; }
  // The next heartbeat's body (takes an interval of statistics).
  std::string NextBody(bool stopped);
  // Heartbeats the server accepted (2xx) and refused or missed, so far.
  uint64_t sent() const { return sent_.load(); }
  uint64_t failed() const { return failed_.load(); }

 private:
  void Run();
  void SendOne(bool stopped);

  struct Transport;
  const std::string tracking_uri_;
  const std::string url_;
  const std::string instance_id_;
  const int64_t started_at_;
  const std::chrono::milliseconds interval_;
  const ModelManager& manager_;
  std::unique_ptr<Transport> transport_;
  InferenceStatsWindow window_;  // used by the sending thread, then by Stop
  std::chrono::steady_clock::time_point last_take_;
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> failed_{0};

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  bool stopped_ = false;   // Stop ran (the controlling thread only)
  std::thread thread_;
};

}  // namespace cairn::serve
