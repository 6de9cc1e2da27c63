#pragma once
// Internal to cairn_serve: what the data plane's HTTP handlers share (the
// ServeApp's parts, the request metrics, the error -> status mapping and the
// live/shadow submission path). The handlers themselves live one file per
// resource: oip_handlers.cc (/v2...), scoring_handlers.cc (/invocations,
// /ping, /health, /version), admin_handlers.cc (/v1/deployments, /metrics).
//
// Ownership: ServeContext is owned by ServeApp::Impl and outlives the HTTP
// server and every callback (ServeApp::Stop stops the server, which waits for
// outstanding responders, then the manager, whose batchers drain, before the
// context goes).
// Thread safety: every function here is safe from any thread (io threads,
// batcher workers, admin threads).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/metrics.h"
#include "http/server.h"
#include "serve/model_manager.h"
#include "serve/serve_app.h"
#include "serving/inference_log.h"
#include "serving/runtime.h"

namespace cairn::serve::internal {

struct ServeContext {
  // Unique per context in this process (never reused): keys the per-thread
  // cache of metric children (MetricChild), which must not outlive a context.
  const uint64_t id = NextContextId();
  static uint64_t NextContextId() {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
  }

  ServeConfig config;
  MetricsRegistry* metrics = nullptr;
  ModelManager* manager = nullptr;
  serving::InferenceLog* log = nullptr;  // null when off

  Family<Counter>* requests_total = nullptr;     // deployment, model, version, role, code
  Family<Histogram>* request_seconds = nullptr;  // deployment, model, version, role
  Family<Counter>* http_requests_total = nullptr;  // route, code
  Counter* log_records_total = nullptr;
  Counter* log_dropped_total = nullptr;
  std::atomic<uint64_t> log_appended_seen{0};
  std::atomic<uint64_t> log_dropped_seen{0};

  // Admin work that may take long (SetTraffic loads models) runs on its own
  // threads, joined by ServeApp::Stop.
  // Finished ones are joined when the next one starts.
  struct AdminThread {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex threads_mu;
  std::vector<AdminThread> threads;  // guarded by threads_mu
  bool stopping = false;             // guarded by threads_mu
};

// The data plane's HTTP status for an Error is core's HttpStatusFor (400 bad
// input, 404 unknown model/version, 413 too large, 429 queue full, 503
// stopping/unavailable, 504 deadline, 500 otherwise), as for the control plane.
inline int ServeStatusFor(const Error& error) { return HttpStatusFor(error.code()); }
// Adds "Retry-After: 1" when `status` is 429 or 503.
void AddRetryAfter(http::Response& response);

// The request id: `client_id` (the OIP "id") when set, else the X-Request-Id
// header, else a new random id.
std::string RequestIdFor(const http::Request& request, std::string_view client_id);

// family->WithLabels(values) through a per-thread cache: the hot path's
// requests and latency series cost a hash lookup instead of building a label
// vector and scanning the family under its lock (three times per request).
// Only for families whose children are never Remove()d (a cached child would
// stay hidden): requests_total, request_seconds, http_requests_total.
template <typename T>
T& MetricChild(const ServeContext& ctx, Family<T>* family,
               std::initializer_list<std::string_view> values);

// Counts the answer in cairn_http_requests_total{route,code} and sends it.
void Answer(ServeContext& ctx, std::string_view route, const http::Responder& respond,
            http::Response response);

// cairn_inference_requests_total + cairn_inference_request_seconds.
void ObserveInference(ServeContext& ctx, const std::string& deployment, const std::string& model,
                      const std::string& version, bool shadow, int code, double seconds);

// Appends a record to the inference log (when on) and updates the log counters.
void AppendInferenceLog(ServeContext& ctx, serving::InferenceRecord record);
// Brings cairn_inference_log_{records,dropped}_total up to the log's own counts.
void SyncLogCounters(ServeContext& ctx);

int64_t NowMillis();

// One inference request after routing: what the live submission needs.
struct InferJob {
  std::string deployment;
  std::string request_id;
  std::string route;  // the route pattern for cairn_http_requests_total
  Routed routed;
  std::chrono::steady_clock::time_point start;
  int64_t ts_millis = 0;
};

// A job for a request that arrived now on `route`.
InferJob StartJob(std::string route);

// The value of the deployment's sticky header in `request` (nullopt when the
// deployment has none or the request lacks it).
std::optional<std::string> StickyValue(ServeContext& ctx, const http::Request& request,
                                       const std::string& deployment);

// Answers a request that failed before submission (no model ran): the
// X-Request-Id / X-Cairn-* headers, cairn_http_requests_total, and, when
// `observe` and the job was routed, the inference metrics of its live version.
void AnswerBeforeSubmit(ServeContext& ctx, const InferJob& job, const http::Responder& respond,
                        http::Response response, bool observe);

// Protocol-specific rendering of the answer.
struct InferRenderer {
  // The success body; an Error (e.g. an unknown requested output) is answered
  // through `error`.
  std::function<Result<http::Response>(const serving::ModelOutput&)> ok;
  std::function<http::Response(const Error&)> error;
};

// Submits `input` to the job's live version. The answer (rendered, with the
// X-Request-Id / X-Cairn-* headers and Retry-After where due) goes to
// `respond` from the batcher's worker (or now, when Submit refuses);
// metrics are observed and a sampled record logged. After the live answer
// was sent, each shadow gets a copy of the input; shadow answers are only
// observed and logged.
void SubmitLive(ServeContext& ctx, std::shared_ptr<InferJob> job, serving::ModelInput input,
                std::shared_ptr<const InferRenderer> render, http::Responder respond);

// Headers naming who answered.
void AddServedByHeaders(http::Response& response, const InferJob& job);

// Route registration, one per resource file.
void AddOipRoutes(ServeContext& ctx, http::Router& router);
void AddScoringRoutes(ServeContext& ctx, http::Router& router);
void AddAdminRoutes(ServeContext& ctx, http::Router& router);

}  // namespace cairn::serve::internal
