// ServeApp: wires the ModelManager, metrics, inference log and the HTTP
// server together; the shared request path (live submission, shadows,
// metrics, log) used by the protocol handlers.

#include "serve/serve_app.h"

#include <chrono>
#include <utility>

#include "core/ids.h"
#include "core/log.h"
#include "serve/serve_handlers.h"

namespace cairn::serve {
namespace internal {

int ServeStatusFor(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kBadRequest:
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kAlreadyExists:
      return 400;
    case ErrorCode::kNotFound:
    case ErrorCode::kEndpointNotFound:
      return 404;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kDeadlineExceeded:
      return 504;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kUnimplemented:
      return 501;
    case ErrorCode::kInternal:
    case ErrorCode::kDataLoss:
      return 500;
  }
  return 500;
}

void AddRetryAfter(http::Response& response) {
  if (response.status == 429 || response.status == 503) {
    response.headers.emplace_back("Retry-After", "1");
  }
}

std::string RequestIdFor(const http::Request& request, std::string_view client_id) {
  if (!client_id.empty()) return std::string(client_id);
  if (auto header = request.Header("X-Request-Id"); header && !header->empty()) {
    return *header;
  }
  return NewRunId();
}

void Answer(ServeContext& ctx, std::string_view route, const http::Responder& respond,
            http::Response response) {
  ctx.http_requests_total->WithLabels({std::string(route), std::to_string(response.status)})
      .Increment();
  respond(std::move(response));
}

void ObserveInference(ServeContext& ctx, const std::string& deployment, const std::string& model,
                      const std::string& version, bool shadow, int code, double seconds) {
  const std::string role = shadow ? "shadow" : "live";
  ctx.requests_total->WithLabels({deployment, model, version, role, std::to_string(code)})
      .Increment();
  ctx.request_seconds->WithLabels({deployment, model, version, role}).Observe(seconds);
}

void SyncLogCounters(ServeContext& ctx) {
  if (ctx.log == nullptr) return;
  auto sync = [](std::atomic<uint64_t>& seen, uint64_t now, Counter* counter) {
    uint64_t before = seen.load();
    while (now > before && !seen.compare_exchange_weak(before, now)) {
    }
    if (now > before) counter->Increment(static_cast<double>(now - before));
  };
  sync(ctx.log_appended_seen, ctx.log->appended(), ctx.log_records_total);
  sync(ctx.log_dropped_seen, ctx.log->dropped(), ctx.log_dropped_total);
}

void AppendInferenceLog(ServeContext& ctx, serving::InferenceRecord record) {
  if (ctx.log == nullptr) return;
  ctx.log->Append(std::move(record));
  SyncLogCounters(ctx);
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void AddServedByHeaders(http::Response& response, const InferJob& job) {
  response.headers.emplace_back("X-Request-Id", job.request_id);
  if (job.routed.live) {
    response.headers.emplace_back("X-Cairn-Deployment", job.deployment);
    response.headers.emplace_back("X-Cairn-Model", job.routed.live->model().model_name);
    response.headers.emplace_back("X-Cairn-Version", job.routed.live->model().version);
  }
}

namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int64_t MicrosSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

serving::InferenceRecord MakeRecord(const InferJob& job, const LoadedVersion& version,
                                    bool shadow) {
  serving::InferenceRecord record;
  record.ts_millis = job.ts_millis;
  record.request_id = job.request_id;
  record.deployment = job.deployment;
  record.model = version.model().model_name;
  record.version = version.model().version;
  record.shadow = shadow;
  return record;
}

// Sends a copy of the live input to one shadow; its answer is observed and
// (when sampled) logged, never returned.
void SubmitShadow(ServeContext& ctx, std::shared_ptr<const InferJob> job, VersionPtr shadow,
                  std::shared_ptr<const serving::ModelInput> input, bool sampled) {
  const auto start = std::chrono::steady_clock::now();
  auto finish = [&ctx, job, shadow, input, sampled, start](Result<serving::ModelOutput> result) {
    const int status = result ? 200 : ServeStatusFor(result.error());
    ObserveInference(ctx, job->deployment, shadow->model().model_name, shadow->model().version,
                     true, status, SecondsSince(start));
    if (!sampled) return;
    serving::InferenceRecord record = MakeRecord(*job, *shadow, true);
    record.latency_us = MicrosSince(start);
    record.status = status;
    record.input = input;
    if (result) {
      record.output = std::make_shared<const serving::ModelOutput>(std::move(*result));
    } else {
      record.error = result.error().message();
    }
    AppendInferenceLog(ctx, std::move(record));
  };
  Status submitted = shadow->Submit(serving::ModelInput(*input), finish);
  if (!submitted) finish(std::unexpected(submitted.error()));
}

}  // namespace

void SubmitLive(ServeContext& ctx, std::shared_ptr<InferJob> job, serving::ModelInput input,
                std::shared_ptr<const InferRenderer> render, http::Responder respond) {
  const bool sampled = ctx.log != nullptr && ctx.log->Sample();
  std::shared_ptr<const serving::ModelInput> kept;
  if (sampled || !job->routed.shadows.empty()) {
    kept = std::make_shared<const serving::ModelInput>(input);
  }
  VersionPtr live = job->routed.live;

  // Runs once, with the live answer: respond, observe, log, then shadows.
  auto finish = [&ctx, job, render, respond, kept, sampled](Result<serving::ModelOutput> result) {
    http::Response response;
    std::string error;
    if (result) {
      Result<http::Response> rendered = render->ok(*result);
      if (rendered) {
        response = std::move(*rendered);
      } else {
        error = rendered.error().message();
        response = render->error(rendered.error());
      }
    } else {
      error = result.error().message();
      response = render->error(result.error());
    }
    AddRetryAfter(response);
    AddServedByHeaders(response, *job);
    const int status = response.status;
    Answer(ctx, job->route, respond, std::move(response));

    const LoadedVersion& live_version = *job->routed.live;
    ObserveInference(ctx, job->deployment, live_version.model().model_name,
                     live_version.model().version, false, status, SecondsSince(job->start));
    if (sampled) {
      serving::InferenceRecord record = MakeRecord(*job, live_version, false);
      record.latency_us = MicrosSince(job->start);
      record.status = status;
      record.error = error;
      record.input = kept;
      if (result) {
        record.output = std::make_shared<const serving::ModelOutput>(std::move(*result));
      }
      AppendInferenceLog(ctx, std::move(record));
    }
    // Shadows only see requests the live version accepted and answered.
    if (result.has_value()) {
      for (const VersionPtr& shadow : job->routed.shadows) {
        SubmitShadow(ctx, job, shadow, kept, sampled);
      }
    }
  };
  Status submitted = live->Submit(std::move(input), finish);
  if (!submitted) finish(std::unexpected(submitted.error()));
}

namespace {

// Every path none of our routes knows: 404, or 405 with Allow when the path
// is known with other methods. Counted as route "unmatched".
http::Handler UnmatchedHandler(ServeContext& ctx, std::shared_ptr<const http::Router> known) {
  return [&ctx, known](http::Request& request) {
    std::string allowed = known->AllowedMethods(request.path);
    http::Response response;
    if (!allowed.empty()) {
      response = http::ErrorResponse(
          Error(ErrorCode::kEndpointNotFound, "method " +
                                                  std::string(http::MethodName(request.method)) +
                                                  " is not allowed for " + request.path));
      response.status = 405;
      response.headers.emplace_back("Allow", allowed);
    } else {
      response = http::ErrorResponse(
          Error(ErrorCode::kEndpointNotFound, "no endpoint " + request.path + " on cairn serve"));
    }
    ctx.http_requests_total->WithLabels({"unmatched", std::to_string(response.status)})
        .Increment();
    return response;
  };
}

}  // namespace
}  // namespace internal

struct ServeApp::Impl {
  // Declared first, destroyed last: every other part refers to it.
  MetricsRegistry metrics;
  internal::ServeContext ctx;
  std::unique_ptr<serving::InferenceLog> log;
  std::unique_ptr<ModelManager> manager;
  std::unique_ptr<http::HttpServer> server;
  std::mutex stop_mu;
  bool stopped = false;
};

Result<std::unique_ptr<ServeApp>> ServeApp::Open(ServeConfig config) {
  std::unique_ptr<ServeApp> app(new ServeApp());
  app->impl_ = std::make_unique<Impl>();
  Impl& impl = *app->impl_;
  internal::ServeContext& ctx = impl.ctx;
  ctx.metrics = &impl.metrics;
  ctx.requests_total = &impl.metrics.AddCounter(
      "cairn_inference_requests_total", "Inference requests answered, by status code",
      {"deployment", "model", "version", "role", "code"});
  ctx.request_seconds = &impl.metrics.AddHistogram(
      "cairn_inference_request_seconds", "Inference request latency, from arrival to answer",
      {"deployment", "model", "version", "role"}, LatencyBuckets());
  ctx.log_records_total = &impl.metrics
                               .AddCounter("cairn_inference_log_records_total",
                                           "Records accepted by the inference log")
                               .WithLabels({});
  ctx.log_dropped_total = &impl.metrics
                               .AddCounter("cairn_inference_log_dropped_total",
                                           "Inference log records dropped (buffer full)")
                               .WithLabels({});
  ctx.http_requests_total = &impl.metrics.AddCounter(
      "cairn_http_requests_total", "HTTP requests answered, by route pattern and status code",
      {"route", "code"});

  if (config.inference_log) {
    CAIRN_ASSIGN_OR_RETURN(impl.log, serving::InferenceLog::Open(*config.inference_log));
    ctx.log = impl.log.get();
  }
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<ModelSource> source, MakeModelSource(config.source));
  CAIRN_ASSIGN_OR_RETURN(impl.manager,
                         ModelManager::Start(config.deployments, std::move(source),
                                             config.manager, &impl.metrics));
  ctx.manager = impl.manager.get();
  ctx.config = std::move(config);

  http::Router router;
  auto known = std::make_shared<http::Router>();
  internal::AddOipRoutes(ctx, *known);
  internal::AddScoringRoutes(ctx, *known);
  internal::AddAdminRoutes(ctx, *known);
  for (const http::Route& route : known->routes()) router.Add(route);
  for (http::Method m : {http::Method::kGet, http::Method::kPost, http::Method::kPut,
                         http::Method::kDelete, http::Method::kPatch, http::Method::kOptions}) {
    router.Add(http::Route{m, "/", true, http::BodyMode::kBuffer,
                           internal::UnmatchedHandler(ctx, known), nullptr});
  }
  impl.server = std::make_unique<http::HttpServer>(ctx.config.http, std::move(router));
  return app;
}

ServeApp::~ServeApp() {
  if (impl_) Stop();
}

Result<int> ServeApp::Start() { return impl_->server->Start(); }

void ServeApp::Stop() {
  std::lock_guard lock(impl_->stop_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  // 1. No new requests; in-flight ones are answered (their batchers still run).
  if (impl_->server) impl_->server->Stop();
  // 2. Admin work in progress finishes.
  std::vector<internal::ServeContext::AdminThread> threads;
  {
    std::lock_guard threads_lock(impl_->ctx.threads_mu);
    impl_->ctx.stopping = true;
    threads.swap(impl_->ctx.threads);
  }
  for (auto& t : threads) {
    if (t.thread.joinable()) t.thread.join();
  }
  // 3. Batchers drain (shadow copies still queued run), runtimes shut down.
  if (impl_->manager) impl_->manager->Stop();
  // 4. What the log buffered is written.
  if (impl_->log) {
    impl_->log->Stop();
    internal::SyncLogCounters(impl_->ctx);
  }
}

void ServeApp::Wait() { impl_->server->Wait(); }

ModelManager& ServeApp::manager() { return *impl_->manager; }
MetricsRegistry& ServeApp::metrics() { return impl_->metrics; }
serving::InferenceLog* ServeApp::inference_log() { return impl_->log.get(); }

}  // namespace cairn::serve
