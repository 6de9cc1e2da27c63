// The admin routes of `cairn serve` (what `cairn deployments` reads) and
// Prometheus metrics:
//   GET /v1/deployments               {"deployments": [<deployment>...]}
//   GET /v1/deployments/{d}           {"deployment": <deployment>}
//   PUT /v1/deployments/{d}/traffic   body per ParseTrafficJson -> {"deployment": ...}
//   GET /metrics                      Prometheus text 0.0.4
// <deployment> = {"name", "sticky_header", "targets": [{"model", "weight",
//   "shadow", "model_name", "version", "state", "last_error",
//   "failed_version", "loaded_at"}]}. Errors are MLflow-shaped
// ({"error_code", "message"}). SetTraffic loads models, so it runs on its own
// thread and answers through the Responder.

#include <string>
#include <thread>
#include <vector>

#include "core/json_writer.h"
#include "serve/deployment.h"
#include "serve/serve_handlers.h"

namespace cairn::serve::internal {
namespace {

constexpr std::string_view kPrefix = "/v1/deployments";
constexpr std::string_view kRoute = "/v1/deployments/{d}/traffic";

void WriteDeployment(JsonWriter& w, const DeploymentStatus& d) {
  w.BeginObject();
  w.Field("name", d.name);
  w.Field("sticky_header", d.sticky_header);
  w.Key("targets").BeginArray();
  for (const TargetStatus& t : d.targets) {
    w.BeginObject();
    w.Field("model", t.spec.model_uri);
    w.Field("weight", t.spec.weight);
    w.Key("shadow").Bool(t.spec.shadow);
    w.Field("model_name", t.model_name);
    w.Field("version", t.version);
    w.Field("state", t.state);
    w.Field("last_error", t.last_error);
    w.Field("failed_version", t.failed_version);
    w.Field("loaded_at", t.loaded_at_millis);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

std::string DeploymentJson(const DeploymentStatus& d) {
  JsonWriter w;
  w.BeginObject().Key("deployment");
  WriteDeployment(w, d);
  w.EndObject();
  return w.Take();
}

http::Response AdminError(const Error& error) {
  http::Response response = http::ErrorResponse(error);
  response.status = ServeStatusFor(error);
  AddRetryAfter(response);
  return response;
}

void HandleDeploymentGet(ServeContext& ctx, http::Request& request,
                         const http::Responder& respond) {
  const std::string name = request.route_suffix;
  if (name.empty() || name.find('/') != std::string::npos) {
    return Answer(ctx, "/v1/deployments/*", respond,
                  AdminError(Error(ErrorCode::kEndpointNotFound,
                                   "no endpoint " + request.path + " on cairn serve")));
  }
  auto status = ctx.manager->Status(name);
  if (!status) return Answer(ctx, "/v1/deployments/{d}", respond, AdminError(status.error()));
  Answer(ctx, "/v1/deployments/{d}", respond, http::Response::Json(200, DeploymentJson(*status)));
}

void HandleTrafficPut(ServeContext& ctx, http::Request& request, http::Responder respond) {
  std::string_view suffix = request.route_suffix;
  constexpr std::string_view kTraffic = "/traffic";
  if (!suffix.ends_with(kTraffic) || suffix.size() == kTraffic.size() ||
      suffix.substr(0, suffix.size() - kTraffic.size()).find('/') != std::string_view::npos) {
    return Answer(ctx, "/v1/deployments/*", respond,
                  AdminError(Error(ErrorCode::kEndpointNotFound,
                                   "no endpoint " + request.path + " on cairn serve")));
  }
  std::string name(suffix.substr(0, suffix.size() - kTraffic.size()));
  if (auto known = ctx.manager->Status(name); !known) {
    return Answer(ctx, kRoute, respond, AdminError(known.error()));
  }
  auto targets = ParseTrafficJson(request.body);
  if (!targets) return Answer(ctx, kRoute, respond, AdminError(targets.error()));

  std::lock_guard lock(ctx.threads_mu);
  if (ctx.stopping) {
    return Answer(ctx, kRoute, respond,
                  AdminError(Error(ErrorCode::kUnavailable, "cairn serve is shutting down")));
  }
  for (auto it = ctx.threads.begin(); it != ctx.threads.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = ctx.threads.erase(it);
    } else {
      ++it;
    }
  }
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread worker([&ctx, name, targets = std::move(*targets), respond, done]() mutable {
    Status changed = ctx.manager->SetTraffic(name, std::move(targets));
    if (!changed) {
      Answer(ctx, kRoute, respond, AdminError(changed.error()));
    } else if (auto status = ctx.manager->Status(name); !status) {
      Answer(ctx, kRoute, respond, AdminError(status.error()));
    } else {
      Answer(ctx, kRoute, respond, http::Response::Json(200, DeploymentJson(*status)));
    }
    done->store(true);
  });
  ctx.threads.push_back({std::move(worker), std::move(done)});
}

}  // namespace

void AddAdminRoutes(ServeContext& ctx, http::Router& router) {
  router.Add(http::Method::kGet, std::string(kPrefix), [&ctx](http::Request&) {
    JsonWriter w;
    w.BeginObject().Key("deployments").BeginArray();
    for (const DeploymentStatus& d : ctx.manager->Status()) WriteDeployment(w, d);
    w.EndArray().EndObject();
    ctx.http_requests_total->WithLabels({"/v1/deployments", "200"}).Increment();
    return http::Response::Json(200, w.Take());
  });
  router.AddAsync(
      http::Method::kGet, std::string(kPrefix),
      [&ctx](http::Request& request, http::Responder respond) {
        HandleDeploymentGet(ctx, request, respond);
      },
      true);
  router.AddAsync(
      http::Method::kPut, std::string(kPrefix),
      [&ctx](http::Request& request, http::Responder respond) {
        HandleTrafficPut(ctx, request, std::move(respond));
      },
      true);
  router.Add(http::Method::kGet, "/metrics", [&ctx](http::Request&) {
    SyncLogCounters(ctx);
    // Counted before rendering, so a scrape sees itself.
    ctx.http_requests_total->WithLabels({"/metrics", "200"}).Increment();
    http::Response r = http::Response::Json(200, ctx.metrics->Render());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  });
}

}  // namespace cairn::serve::internal
