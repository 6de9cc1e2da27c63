// ServeApp: wires the ModelManager, metrics, inference log and the HTTP
// server together; the shared request path (live submission, shadows,
// metrics, log) used by the protocol handlers.

#include "serve/serve_app.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <initializer_list>
#include <unordered_map>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <utility>

#include "client/artifact_location.h"
#include "client/http_transport.h"
#include "core/ids.h"
#include "core/log.h"
#include "serve/serve_handlers.h"

namespace cairn::serve {
namespace internal {

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
  return NewRequestId();
}

namespace {

struct TransparentHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// One per thread: (family, label values) -> child, for one ServeContext at a
// time (a thread serving another context starts over).
struct MetricChildCache {
  uint64_t context_id = 0;
  std::unordered_map<std::string, void*, TransparentHash, std::equal_to<>> children;
  std::string key;  // reused
};

}  // namespace

template <typename T>
T& MetricChild(const ServeContext& ctx, Family<T>* family,
               std::initializer_list<std::string_view> values) {
  thread_local MetricChildCache cache;
  if (cache.context_id != ctx.id) {
    cache.children.clear();
    cache.context_id = ctx.id;
  }
  std::string& key = cache.key;
  key.clear();
  const auto address = reinterpret_cast<uintptr_t>(family);
  key.append(reinterpret_cast<const char*>(&address), sizeof(address));
  for (std::string_view v : values) {
    const uint32_t size = static_cast<uint32_t>(v.size());  // length-prefixed: unambiguous
    key.append(reinterpret_cast<const char*>(&size), sizeof(size));
    key.append(v);
  }
  if (auto it = cache.children.find(std::string_view(key)); it != cache.children.end()) {
    return *static_cast<T*>(it->second);
  }
  std::vector<std::string> labels;
  labels.reserve(values.size());
  for (std::string_view v : values) labels.emplace_back(v);
  T& child = family->WithLabels(labels);
  if (cache.children.size() > 4096) cache.children.clear();  // bounded: labels vary by route
  cache.children.emplace(key, &child);
  return child;
}
template Counter& MetricChild(const ServeContext&, Family<Counter>*,
                              std::initializer_list<std::string_view>);
template Histogram& MetricChild(const ServeContext&, Family<Histogram>*,
                                std::initializer_list<std::string_view>);

void Answer(ServeContext& ctx, std::string_view route, const http::Responder& respond,
            http::Response response) {
  char code[16];
  const auto [end, ec] = std::to_chars(code, code + sizeof(code), response.status);
  (void)ec;
  MetricChild(ctx, ctx.http_requests_total, {route, std::string_view(code, end - code)})
      .Increment();
  respond(std::move(response));
}

void ObserveInference(ServeContext& ctx, const std::string& deployment, const std::string& model,
                      const std::string& version, bool shadow, int code, double seconds) {
  const std::string_view role = shadow ? "shadow" : "live";
  char code_text[16];
  const auto [end, ec] = std::to_chars(code_text, code_text + sizeof(code_text), code);
  (void)ec;
  MetricChild(ctx, ctx.requests_total,
              {deployment, model, version, role, std::string_view(code_text, end - code_text)})
      .Increment();
  MetricChild(ctx, ctx.request_seconds, {deployment, model, version, role}).Observe(seconds);
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
  response.headers.reserve(response.headers.size() + 4);  // one allocation, not three
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

InferJob StartJob(std::string route) {
  InferJob job;
  job.start = std::chrono::steady_clock::now();
  job.ts_millis = NowMillis();
  job.route = std::move(route);
  return job;
}

std::optional<std::string> StickyValue(ServeContext& ctx, const http::Request& request,
                                       const std::string& deployment) {
  auto header = ctx.manager->StickyHeader(deployment);
  if (!header || header->empty()) return std::nullopt;
  return request.Header(*header);
}

void AnswerBeforeSubmit(ServeContext& ctx, const InferJob& job, const http::Responder& respond,
                        http::Response response, bool observe) {
  AddServedByHeaders(response, job);
  const int status = response.status;
  Answer(ctx, job.route, respond, std::move(response));
  if (observe && job.routed.live) {
    ObserveInference(ctx, job.deployment, job.routed.live->model().model_name,
                     job.routed.live->model().version, false, status, SecondsSince(job.start));
  }
}

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
    ctx.http_requests_total->WithLabels({"unmatched", std::to_string(response.status)}).Increment();
    return response;
  };
}

// Ships closed inference-log segments to the artifact proxy (see serve_app.h).
// Closed() runs on the log's writer thread, RetryPending() at Stop after the
// writer joined; `mu_` serializes them anyway.
class SegmentUploader {
 public:
  SegmentUploader(std::string tracking_uri, std::string endpoint, std::string root,
                  std::string user, Counter& uploads, Counter& failures)
      : endpoint_(std::move(endpoint)),
        root_(std::move(root)),
        transport_(tracking_uri, TransportFor(user)),
        uploads_(uploads),
        failures_(failures) {}

  void Closed(const std::string& relative, const std::string& local) {
    std::lock_guard lock(mu_);
    pending_.push_back({relative, local});
    while (pending_.size() > ServeApp::kMaxPendingUploads) {
      CAIRN_LOG_WARN(
          "inference log: too many segments waiting for upload; {} stays on disk, unsent",
          pending_.front().local);
      pending_.pop_front();
    }
    UploadPendingLocked();
  }

  // Segments a previous run closed but did not upload (the process stopped
  // with the server unreachable): every "*.jsonl" under the staging root,
  // oldest name first, queued to go with the next upload round.
  void AdoptLeftovers(const std::string& root) {
    std::error_code ec;
    std::vector<std::filesystem::path> found;
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec) && it->path().extension() == ".jsonl") found.push_back(it->path());
    }
    std::sort(found.begin(), found.end());
    std::lock_guard lock(mu_);
    for (const auto& path : found) {
      pending_.push_back({path.lexically_relative(root).string(), path.string()});
    }
    if (!found.empty()) {
      CAIRN_LOG_INFO("inference log: {} segment(s) from an earlier run queued for upload",
                     found.size());
    }
  }

  void RetryPending() {
    std::lock_guard lock(mu_);
    UploadPendingLocked();
    if (!pending_.empty()) {
      CAIRN_LOG_WARN("inference log: {} segment(s) not uploaded, left on disk (first: {})",
                     pending_.size(), pending_.front().local);
    }
  }

 private:
  struct Pending {
    std::string relative;
    std::string local;
  };

  static client::TransportOptions TransportFor(const std::string& user) {
    client::TransportOptions o;
    o.connect_timeout_ms = 5'000;
    o.stall_timeout_s = 30;
    if (!user.empty() && client::CheckHeaderLine("X-Cairn-User: " + user).has_value()) {
      o.extra_headers.push_back("X-Cairn-User: " + user);
    }
    return o;
  }

  // Oldest first; stops at the first failure (the server is likely down, and
  // each attempt may cost a connect timeout).
  void UploadPendingLocked() {
    while (!pending_.empty()) {
      const Pending& p = pending_.front();
      std::error_code ec;
      if (!std::filesystem::exists(p.local, ec)) {  // removed by someone else
        pending_.pop_front();
        continue;
      }
      const std::string url =
          client::JoinUrl(endpoint_, client::JoinArtifactPath(root_, p.relative));
      Status st = transport_.Upload(url, p.local);
      if (!st) {
        failures_.Increment();
        const auto now = std::chrono::steady_clock::now();
        if (!logged_ || now - last_log_ >= std::chrono::minutes(1)) {
          logged_ = true;
          last_log_ = now;
          CAIRN_LOG_ERROR("inference log: cannot upload {} to {}: {} (kept on disk, retried later)",
                          p.local, url, st.error().message());
        }
        return;
      }
      uploads_.Increment();
      std::filesystem::remove(p.local, ec);
      if (ec)
        CAIRN_LOG_WARN("inference log: uploaded {} but cannot remove it: {}", p.local,
                       ec.message());
      pending_.pop_front();
    }
  }

  const std::string endpoint_;
  const std::string root_;
  client::HttpTransport transport_;
  Counter& uploads_;
  Counter& failures_;
  std::mutex mu_;
  std::deque<Pending> pending_;  // guarded by mu_
  std::chrono::steady_clock::time_point last_log_{};
  bool logged_ = false;
};

}  // namespace
}  // namespace internal

struct ServeApp::Impl {
  // Declared first, destroyed last: every other part refers to it.
  MetricsRegistry metrics;
  internal::ServeContext ctx;
  // Before `log`: the log's writer calls into it until the log is destroyed.
  std::unique_ptr<internal::SegmentUploader> uploader;
  std::string log_root;
  std::unique_ptr<serving::InferenceLog> log;
  std::unique_ptr<ModelManager> manager;
  std::unique_ptr<http::HttpServer> server;
  std::unique_ptr<HeartbeatSender> heartbeat;  // after `manager`: it reads it
  std::mutex stop_mu;
  bool stopped = false;
};

Result<std::unique_ptr<ServeApp>> ServeApp::Open(ServeConfig config) {
  std::unique_ptr<ServeApp> app(new ServeApp());
  app->impl_ = std::make_unique<Impl>();
  Impl& impl = *app->impl_;
  internal::ServeContext& ctx = impl.ctx;
  ctx.metrics = &impl.metrics;
  ctx.requests_total = &impl.metrics.AddCounter("cairn_inference_requests_total",
                                                "Inference requests answered, by status code",
                                                {"deployment", "model", "version", "role", "code"});
  ctx.request_seconds = &impl.metrics.AddHistogram(
      "cairn_inference_request_seconds", "Inference request latency, from arrival to answer",
      {"deployment", "model", "version", "role"}, LatencyBuckets());
  ctx.log_records_total =
      &impl.metrics
           .AddCounter("cairn_inference_log_records_total", "Records accepted by the inference log")
           .WithLabels({});
  ctx.log_dropped_total = &impl.metrics
                               .AddCounter("cairn_inference_log_dropped_total",
                                           "Inference log records dropped (buffer full)")
                               .WithLabels({});
  ctx.http_requests_total = &impl.metrics.AddCounter(
      "cairn_http_requests_total", "HTTP requests answered, by route pattern and status code",
      {"route", "code"});

  if (!config.inference_log_uri.empty()) {
    if (!config.inference_log) config.inference_log.emplace();
    serving::InferenceLogOptions& log_options = *config.inference_log;
    std::string tracking = config.source.tracking_uri;
    while (!tracking.empty() && tracking.back() == '/') tracking.pop_back();
    auto loc = client::ResolveArtifactLocation(config.inference_log_uri, tracking);
    if (!loc) {
      return MakeError(loc.error().code(),
                       "--inference-log-uri: " + std::string(loc.error().message()));
    }
    if (loc->kind == client::ArtifactLocation::Kind::kLocal) {
      namespace fs = std::filesystem;
      if (!log_options.root.empty() && fs::path(log_options.root).lexically_normal() !=
                                           fs::path(loc->local_dir).lexically_normal()) {
        return InvalidArgument("--inference-log-uri " + config.inference_log_uri +
                               " and --inference-log " + log_options.root +
                               " name different folders");
      }
      log_options.root = loc->local_dir;
    } else {
      if (loc->endpoint.find("://") == std::string::npos) {
        return InvalidArgument("--inference-log-uri " + config.inference_log_uri +
                               " needs a tracking server (--tracking-uri)");
      }
      if (log_options.root.empty()) {
        if (config.source.cache_dir.empty()) {
          return InvalidArgument(
              "--inference-log-uri: no --inference-log folder and no cache "
              "folder to stage segments in");
        }
        std::error_code ec;
        std::filesystem::create_directories(config.source.cache_dir, ec);
        std::string tmpl = config.source.cache_dir + "/inference-log-XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr) {
          return Internal("--inference-log-uri: cannot create a staging folder under " +
                          config.source.cache_dir + ": " + std::strerror(errno));
        }
        log_options.root = tmpl;
      }
      Counter& uploads = impl.metrics
                             .AddCounter("cairn_inference_log_uploads_total",
                                         "Inference log segments uploaded to the artifact store")
                             .WithLabels({});
      Counter& failures = impl.metrics
                              .AddCounter("cairn_inference_log_upload_failures_total",
                                          "Failed inference log segment uploads (retried later)")
                              .WithLabels({});
      impl.uploader = std::make_unique<internal::SegmentUploader>(
          tracking.empty() ? loc->endpoint : tracking, loc->endpoint, loc->root,
          config.source.user, uploads, failures);
      internal::SegmentUploader* uploader = impl.uploader.get();
      uploader->AdoptLeftovers(log_options.root);
      log_options.on_segment_closed = [uploader](const std::string& relative,
                                                 const std::string& local) {
        uploader->Closed(relative, local);
      };
    }
  }
  if (config.inference_log) {
    impl.log_root = config.inference_log->root;
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

namespace {

// http://<host>:<port> as others reach it: the machine's name for a wildcard
// bind, brackets around an IPv6 literal.
std::string DefaultAdvertiseUrl(std::string host, int port) {
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]") {
    char name[256] = {};
    host = ::gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0' ? name : "127.0.0.1";
  }
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port);
}

}  // namespace

Result<int> ServeApp::Start() {
  Result<int> port = impl_->server->Start();
  if (!port) return port;
  const ServeConfig& config = impl_->ctx.config;
  const std::string& tracking = config.source.tracking_uri;
  const bool http_tracking =
      tracking.rfind("http://", 0) == 0 || tracking.rfind("https://", 0) == 0;
  if (config.heartbeat.interval.count() > 0 && http_tracking && !impl_->heartbeat) {
    std::string url = config.heartbeat.advertise_url.empty()
                          ? DefaultAdvertiseUrl(config.http.host, *port)
                          : config.heartbeat.advertise_url;
    impl_->heartbeat = std::make_unique<HeartbeatSender>(
        tracking, std::move(url), config.source.user, config.heartbeat.interval, *impl_->manager,
        impl_->ctx.requests_total, impl_->ctx.request_seconds);
    impl_->heartbeat->Start();
  }
  return port;
}

void ServeApp::Stop() {
  std::lock_guard lock(impl_->stop_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  // 0. The control plane hears that this instance stops (final heartbeat).
  if (impl_->heartbeat) impl_->heartbeat->Stop();
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
  // 5. Segments whose upload failed get one more try.
  if (impl_->uploader) impl_->uploader->RetryPending();
}

void ServeApp::Wait() { impl_->server->Wait(); }

ModelManager& ServeApp::manager() { return *impl_->manager; }
MetricsRegistry& ServeApp::metrics() { return impl_->metrics; }
serving::InferenceLog* ServeApp::inference_log() { return impl_->log.get(); }
const HeartbeatSender* ServeApp::heartbeat() const { return impl_->heartbeat.get(); }
const std::string& ServeApp::inference_log_root() const { return impl_->log_root; }

}  // namespace cairn::serve
