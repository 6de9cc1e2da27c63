#pragma once
// Where `cairn serve` processes run, as they report it (docs/ui.md,
// "Serving instances"; the sender is serve/heartbeat.h). State is in memory
// only: a restarted `cairn server` learns the instances again from their
// next heartbeat (every few seconds).
//
//   POST   /api/v1/serving/instances/heartbeat   body: ServingHeartbeat JSON (below)
//          -> {"instance_id", "state": "live" | "stopped"}
//   DELETE /api/v1/serving/instances/{id}        -> {"instance_id", "state": "stopped"}
//   GET    /api/v1/serving/instances             -> {"instances": [I]}
//   GET    /api/v1/serving/deployments           -> {"deployments": [D]}
//
// Heartbeat body:
//   {"instance_id": "a1b2...",            // 1-128 chars of [A-Za-z0-9._:-], stable per process
//    "url": "http://10.0.0.7:8080",       // http(s)://..., at most 2048 chars
//    "started_at": 1700000000000,         // ms since the epoch, >= 0
//    "interval_ms": 5000,                 // optional (5000): 100 .. 3600000
//    "state": "running",                  // optional: "running" (default) | "stopped"
//    "deployments": [{"name": "fraud", "sticky_header": "X-User"?,
//        "stats": STATS?,                 // the deployment's live traffic
//        "versions": [{"model": "fraud", "version": "3", "alias": "champion"?,
//                      "uri": "models:/fraud@champion"?,  // the target as configured
//                      "weight": 95, "shadow": false, "state": "serving",
//                      "stats": STATS?}]}]}
//   STATS = {"requests": n, "errors": n, "rate": req/s, "p50_ms": x|null, "p99_ms": x|null}
//   over the sender's last interval (requests, errors: integers >= 0; rate,
//   p50_ms, p99_ms: numbers >= 0; latencies null when there were no requests).
// Every violation is 400 INVALID_PARAMETER_VALUE naming the field
// ("deployments[0].versions[1].weight must be an integer >= 0"); malformed
// JSON is 400 BAD_REQUEST; DELETE of an unknown id 404 RESOURCE_DOES_NOT_EXIST.
//
// Instance state (I.state): "stopped" after a heartbeat with state stopped or
// a DELETE; "lost" when no heartbeat came for 3 of its intervals; else
// "live". Instances not heard from for an hour are forgotten. I is
//   {"instance_id","url","state","started_at","first_seen","last_heartbeat",
//    "interval_ms","deployments":[as sent]}   (times: ms since the epoch)
//
// D groups every instance's deployment of one name:
//   {"name","state" (live if any instance serving it is live, else lost or stopped),
//    "rate","requests","errors","p50_ms","p99_ms",   // last interval, live instances only
//    "traffic":[{"model","version","alias","uri","weight","share","shadow","state",
//                "rate","requests","errors","p50_ms","p99_ms","instances"}],
//    "instances":[{"instance_id","url","state","last_heartbeat"}],
//    "history":[{"ts","rate","requests","errors","p50_ms","p99_ms"}]}  // oldest first
// Across instances, rate / requests / errors add up; p50 is the mean of the
// instances' p50 weighted by their requests, p99 the largest instance p99
// (an upper bound: instances send percentiles, not histograms). Weights
// come from the live instance heard from last (instances of one deployment
// normally share a deployment file); `share` is weight / sum of live weights.
// History: one point per bucket of the longest interval among the
// deployment's instances, the last kHistory buckets, each instance's last
// heartbeat in a bucket counted once.
//
// Thread safety: ServingInstanceRegistry is thread-safe (one mutex, held
// for in-memory work only). The clock must outlive it.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "http/server.h"

namespace cairn::api {

struct ServingStats {
  int64_t requests = 0;
  int64_t errors = 0;
  double rate = 0;
  std::optional<double> p50_ms;
  std::optional<double> p99_ms;
};

struct ServingVersionReport {
  std::string model;
  std::string version;
  std::string alias;  // "" none
  std::string uri;    // the target's model URI ("" not sent)
  int64_t weight = 0;
  bool shadow = false;
  std::string state;
  ServingStats stats;
};

struct ServingDeploymentReport {
  std::string name;
  std::string sticky_header;  // "" none
  ServingStats stats;
  std::vector<ServingVersionReport> versions;
};

struct ServingHeartbeat {
  std::string instance_id;
  std::string url;
  int64_t started_at = 0;
  int64_t interval_ms = 5000;
  bool stopped = false;
  std::vector<ServingDeploymentReport> deployments;
};

// The body above; kBadRequest for malformed JSON, kInvalidArgument naming
// the first bad field.
Result<ServingHeartbeat> ParseServingHeartbeat(std::string_view body);

class ServingInstanceRegistry {
 public:
  static constexpr size_t kHistory = 60;             // heartbeats kept per instance
  static constexpr int64_t kLostAfterIntervals = 3;  // missed intervals before "lost"
  static constexpr int64_t kForgetAfterMs = 3600 * 1000;
  static constexpr size_t kMaxInstances = 10000;  // beyond: the longest silent one is forgotten

  explicit ServingInstanceRegistry(const Clock& clock) : clock_(clock) {}

  // Records a heartbeat received now; returns the instance's state afterwards.
  std::string Heartbeat(ServingHeartbeat heartbeat);
  // Marks an instance stopped; kNotFound if unknown.
  Status MarkStopped(const std::string& instance_id);

  std::string InstancesJson() const;
  std::string DeploymentsJson() const;

 private:
  struct Point {
    int64_t ts = 0;                                                 // server time of the heartbeat
    std::vector<std::pair<std::string, ServingStats>> deployments;  // name -> live stats
  };
  struct Instance {
    ServingHeartbeat last;
    int64_t first_seen = 0;
    int64_t last_seen = 0;
    bool stopped = false;
    std::deque<Point> history;
  };
  std::string StateOf(const Instance& instance, int64_t now) const;
  void ForgetOldLocked(int64_t now);

  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, Instance> instances_;  // by instance_id; guarded by mu_
};

// Mounts the routes above over `registry` (shared with the handlers).
void MountServingInstanceRoutes(http::Router& router,
                                std::shared_ptr<ServingInstanceRegistry> registry);
// The same over a registry of its own on the system clock (what App mounts).
void MountServingInstanceRoutes(http::Router& router);

}  // namespace cairn::api
