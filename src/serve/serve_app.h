#pragma once
// ServeApp: the `cairn serve` process without its command line. Owns the
// metrics registry, the ModelManager, the inference log and the HTTP server
// with the data plane's routes (table in docs/serving.md).
//
// Request handling (OIP infer and /invocations):
//   parse (oip_json / mlflow_scoring) -> ModelManager::Route -> Conform*Input
//   against the routed version's signature -> LoadedVersion::Submit; the
//   answer is written when the batcher calls back (the HTTP route is
//   asynchronous: no io thread waits on a model). Shadows get a copy after
//   the live answer; their answers are logged, never returned.
// Errors:
//   OIP routes answer {"error": "..."}; /invocations answers MLflow's
//   {"error_code": ..., "message": ...}; statuses:
//     malformed JSON / bad tensors / signature mismatch 400,
//     unknown model or version 404, body over --max-body-mb 413,
//     unsupported Content-Type on /invocations 415 (text/plain, as MLflow),
//     queue full 429 + Retry-After: 1, stopping or worker died 503 (+ Retry-After: 1),
//     deadline passed 504, model failure 500.
// Metrics (beside the ModelManager's):
//   cairn_inference_requests_total{deployment,model,version,role,code}
//   cairn_inference_request_seconds{deployment,model,version,role}  histogram (LatencyBuckets)
//   cairn_inference_log_records_total, cairn_inference_log_dropped_total
//   cairn_inference_log_uploads_total, cairn_inference_log_upload_failures_total
//   cairn_http_requests_total{route,code}  (every route, incl. 404s; route is the pattern)
//
// Inference log shipping (`inference_log_uri`):
//   "" : segments stay in the log's root folder.
//   mlflow-artifacts:/<path> (or a proxy http(s) URL): every closed segment is
//     PUT to <source.tracking_uri>/api/2.0/mlflow-artifacts/artifacts/<path>/
//     <deployment>/<date>/<file>.jsonl on the log's writer thread (never on a
//     request thread) and deleted locally after a 2xx. A failed upload is
//     logged (once a minute at most) and counted; the file stays and is
//     retried at the next segment close (oldest first, stopping at the first
//     failure) and at Stop(). At most kMaxPendingUploads files are remembered;
//     older ones stay on disk, unsent. The root defaults to a fresh temp
//     folder under source.cache_dir when `inference_log` has no root.
//   file://<dir> or a path: that folder is the log's root (kInvalidArgument
//     if inference_log->root names another one).
//   Other schemes: kUnimplemented. A proxy URI without source.tracking_uri:
//     kInvalidArgument.
//   A URI with no `inference_log` options turns the log on with defaults.
//
// Thread safety: Start/Stop from one thread; handlers run on the HTTP
// server's io threads and the batchers' workers.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "http/server.h"
#include "serve/deployment.h"
#include "serve/heartbeat.h"
#include "serve/model_manager.h"
#include "serving/inference_log.h"

namespace cairn::serve {

struct ServeConfig {
  http::ServerOptions http;  // host, port (0 = free port), threads, max_body_bytes
  std::vector<DeploymentSpec> deployments;
  RegistrySourceOptions source;
  ManagerOptions manager;
  std::optional<serving::InferenceLogOptions> inference_log;  // none: no log
  std::string inference_log_uri;  // where closed segments go (see above); "" = stay local
  std::string version = "dev";  // for /version and OIP server metadata
  // Heartbeats to source.tracking_uri (serve/heartbeat.h), started by Start
  // once the port is bound, ended by Stop with a final "stopped" heartbeat.
  HeartbeatOptions heartbeat;
};

class ServeApp {
 public:
  // Loads every deployment (ModelManager::Start) and opens the inference log;
  // does not listen yet.
  static Result<std::unique_ptr<ServeApp>> Open(ServeConfig config);
  ~ServeApp();
  ServeApp(const ServeApp&) = delete;
  ServeApp& operator=(const ServeApp&) = delete;

  Result<int> Start();  // listens; returns the bound port
  // Drains: stop accepting, finish in-flight requests, stop batchers, flush the log.
  void Stop();
  void Wait();

  ModelManager& manager();
  MetricsRegistry& metrics();
  serving::InferenceLog* inference_log();  // null when off
  // The heartbeat sender (null when heartbeats are off or before Start).
  const HeartbeatSender* heartbeat() const;
  // The log's root folder ("" when off): where segments are written (and,
  // with an upload URI, staged until uploaded).
  const std::string& inference_log_root() const;

  static constexpr size_t kMaxPendingUploads = 1000;

 private:
  ServeApp() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::serve
