// The Open Inference Protocol v2 REST routes of `cairn serve`:
//   GET  /v2, /v2/health/live, /v2/health/ready
//   GET  /v2/models/{m}[/versions/{v}], /v2/models/{m}[/versions/{v}]/ready
//   POST /v2/models/{m}[/versions/{v}]/infer
// The /v2/models routes are prefix routes; the rest of the path is parsed
// here. Errors are {"error": "..."} (WriteOipError) with ServeStatusFor.

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_writer.h"
#include "serve/serve_handlers.h"
#include "serving/model_input.h"
#include "serving/oip_json.h"

namespace cairn::serve::internal {
namespace {

constexpr std::string_view kModelsPrefix = "/v2/models";

struct OipPath {
  enum class Action { kMetadata, kReady, kInfer };
  std::string model;
  std::optional<std::string> version;
  Action action = Action::kMetadata;
  std::string route;  // pattern, for metrics
};

std::vector<std::string_view> SplitPath(std::string_view s) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t slash = s.find('/');
    parts.push_back(s.substr(0, slash));
    if (slash == std::string_view::npos) break;
    s.remove_prefix(slash + 1);
  }
  return parts;
}

// "<m>", "<m>/ready", "<m>/infer", "<m>/versions/<v>", "<m>/versions/<v>/ready",
// "<m>/versions/<v>/infer"; nullopt for anything else.
std::optional<OipPath> ParseOipPath(std::string_view suffix) {
  if (suffix.empty()) return std::nullopt;
  std::vector<std::string_view> parts = SplitPath(suffix);
  for (std::string_view p : parts) {
    if (p.empty()) return std::nullopt;
  }
  OipPath path;
  path.model = std::string(parts[0]);
  std::string base = "/v2/models/{m}";
  size_t next = 1;
  if (parts.size() >= 3 && parts[1] == "versions") {
    path.version = std::string(parts[2]);
    base += "/versions/{v}";
    next = 3;
  }
  if (next == parts.size()) {
    path.action = OipPath::Action::kMetadata;
    path.route = base;
    return path;
  }
  if (next + 1 != parts.size()) return std::nullopt;
  if (parts[next] == "ready") {
    path.action = OipPath::Action::kReady;
  } else if (parts[next] == "infer") {
    path.action = OipPath::Action::kInfer;
  } else {
    return std::nullopt;
  }
  path.route = base + "/" + std::string(parts[next]);
  return path;
}

http::Response OipErrorResponse(int status, std::string_view message) {
  http::Response response = http::Response::Json(status, serving::WriteOipError(message));
  AddRetryAfter(response);
  return response;
}

http::Response OipErrorResponse(const Error& error) {
  return OipErrorResponse(ServeStatusFor(error), error.message());
}

// The versions a deployment serves (live and shadow, loaded ones).
std::vector<std::string> ServedVersions(ServeContext& ctx, const std::string& deployment) {
  std::vector<std::string> versions;
  auto status = ctx.manager->Status(deployment);
  if (!status) return versions;
  for (const TargetStatus& t : status->targets) {
    if (t.version.empty()) continue;
    bool seen = false;
    for (const std::string& v : versions) seen = seen || v == t.version;
    if (!seen) versions.push_back(t.version);
  }
  return versions;
}

void HandleMetadata(ServeContext& ctx, const OipPath& path, const http::Responder& respond) {
  auto routed = ctx.manager->Route(path.model, path.version, std::nullopt);
  if (!routed) return Answer(ctx, path.route, respond, OipErrorResponse(routed.error()));
  serving::ModelMetadata metadata = routed->live->metadata();
  metadata.name = path.model;
  metadata.versions = path.version ? std::vector<std::string>{*path.version}
                                   : ServedVersions(ctx, path.model);
  if (metadata.platform.empty()) metadata.platform = std::string(routed->live->runtime().platform());
  // An unnamed output is answered as "predict" (docs/serving.md): say so here too.
  if (metadata.outputs.size() == 1 && metadata.outputs[0].name.empty()) {
    metadata.outputs[0].name = "predict";
  }
  Answer(ctx, path.route, respond,
         http::Response::Json(200, serving::WriteOipModelMetadata(metadata)));
}

void HandleReady(ServeContext& ctx, const OipPath& path, const http::Responder& respond) {
  auto routed = ctx.manager->Route(path.model, path.version, std::nullopt);
  if (!routed) return Answer(ctx, path.route, respond, OipErrorResponse(routed.error()));
  JsonWriter w;
  w.BeginObject();
  w.Field("name", path.model);
  w.Key("ready").Bool(true);
  w.EndObject();
  Answer(ctx, path.route, respond, http::Response::Json(200, w.Take()));
}

// The request without its inputs: what rendering the answer needs.
serving::InferRequest RequestShell(const serving::InferRequest& request) {
  serving::InferRequest shell;
  shell.id = request.id;
  shell.outputs = request.outputs;
  shell.parameters_json = request.parameters_json;
  shell.binary_data_output = request.binary_data_output;
  return shell;
}

Result<http::Response> RenderOipAnswer(const serving::InferRequest& shell,
                                       const std::string& model_name, const std::string& version,
                                       const serving::ModelOutput& output) {
  serving::InferResponse response;
  response.model_name = model_name;
  response.model_version = version;
  response.id = shell.id;
  if (shell.outputs.empty()) {
    response.outputs = output.tensors;
  } else {
    for (const serving::RequestedOutput& wanted : shell.outputs) {
      const serving::Tensor* found = nullptr;
      for (const serving::Tensor& t : output.tensors) {
        if (t.name() == wanted.name) found = &t;
      }
      if (found == nullptr) {
        std::string names;
        for (const serving::Tensor& t : output.tensors) {
          names += (names.empty() ? "" : ", ") + t.name();
        }
        return InvalidArgument("unknown output '" + wanted.name + "' (the model outputs: " +
                               names + ")");
      }
      response.outputs.push_back(*found);
    }
  }
  std::vector<bool> binary = serving::OipBinaryOutputs(shell, response);
  serving::OipResponseBody body = serving::WriteOipInferResponse(response, binary);
  http::Response http_response;
  http_response.status = 200;
  if (body.has_binary()) {
    http_response.content_type = "application/octet-stream";
    http_response.headers.emplace_back("Inference-Header-Content-Length",
                                       std::to_string(body.json_size));
  } else {
    http_response.content_type = "application/json";
  }
  http_response.body = std::move(body.body);
  return http_response;
}

void HandleInfer(ServeContext& ctx, const OipPath& path, http::Request& request,
                 const http::Responder& respond) {
  auto job = std::make_shared<InferJob>(StartJob(path.route));
  job->deployment = path.model;

  // Answers an error before submission (no model ran).
  auto fail = [&](const Error& error, bool observe) {
    if (job->request_id.empty()) job->request_id = RequestIdFor(request, "");
    AnswerBeforeSubmit(ctx, *job, respond, OipErrorResponse(error), observe);
  };

  auto routed = ctx.manager->Route(path.model, path.version, StickyValue(ctx, request, path.model));
  if (!routed) return fail(routed.error(), false);
  job->routed = std::move(*routed);

  if (auto encoding = request.Header("Content-Encoding");
      encoding && !encoding->empty() && *encoding != "identity") {
    return fail(Error(ErrorCode::kInvalidArgument,
                      "Content-Encoding '" + *encoding + "' is not supported; send identity"),
                true);
  }
  std::string_view body = request.body;
  std::string_view json = body;
  std::string_view binary;
  if (auto header = request.Header("Inference-Header-Content-Length")) {
    size_t length = 0;
    const char* first = header->data();
    const char* last = header->data() + header->size();
    auto [end, ec] = std::from_chars(first, last, length);
    if (header->empty() || ec != std::errc() || end != last) {
      return fail(Error(ErrorCode::kInvalidArgument,
                        "Inference-Header-Content-Length '" + *header + "' is not a number"),
                  true);
    }
    if (length > body.size()) {
      return fail(Error(ErrorCode::kInvalidArgument,
                        "Inference-Header-Content-Length " + *header + " is larger than the body (" +
                            std::to_string(body.size()) + " bytes)"),
                  true);
    }
    json = body.substr(0, length);
    binary = body.substr(length);
  }
  auto parsed = serving::ParseOipInferRequest(json, binary);
  if (!parsed) return fail(parsed.error(), true);
  job->request_id = RequestIdFor(request, parsed->id);
  auto shell = std::make_shared<const serving::InferRequest>(RequestShell(*parsed));

  auto input = serving::ConformOipInput(std::move(*parsed), job->routed.live->manifest().signature);
  if (!input) return fail(input.error(), true);

  auto render = std::make_shared<InferRenderer>();
  const std::string model_name = path.model;
  const std::string version = job->routed.live->model().version;
  render->ok = [shell, model_name, version](const serving::ModelOutput& output) {
    return RenderOipAnswer(*shell, model_name, version, output);
  };
  render->error = [](const Error& error) { return OipErrorResponse(error); };
  SubmitLive(ctx, std::move(job), std::move(*input), std::move(render), respond);
}

void HandleModels(ServeContext& ctx, http::Request& request, const http::Responder& respond,
                  bool post) {
  std::optional<OipPath> path = ParseOipPath(request.route_suffix);
  if (!path) {
    return Answer(ctx, "/v2/models/*", respond,
                  OipErrorResponse(404, "no endpoint " + request.path + " on cairn serve"));
  }
  const bool infer = path->action == OipPath::Action::kInfer;
  if (infer != post) {
    http::Response response = OipErrorResponse(
        405, "method " + std::string(http::MethodName(request.method)) + " is not allowed for " +
                 request.path);
    response.headers.emplace_back("Allow", infer ? "POST" : "GET, HEAD");
    return Answer(ctx, path->route, respond, std::move(response));
  }
  switch (path->action) {
    case OipPath::Action::kMetadata:
      return HandleMetadata(ctx, *path, respond);
    case OipPath::Action::kReady:
      return HandleReady(ctx, *path, respond);
    case OipPath::Action::kInfer:
      return HandleInfer(ctx, *path, request, respond);
  }
}

}  // namespace

void AddOipRoutes(ServeContext& ctx, http::Router& router) {
  router.Add(http::Method::kGet, "/v2/health/live", [&ctx](http::Request&) {
    http::Response r = http::Response::Json(200, R"({"live":true})");
    ctx.http_requests_total->WithLabels({"/v2/health/live", "200"}).Increment();
    return r;
  });
  router.Add(http::Method::kGet, "/v2/health/ready", [&ctx](http::Request&) {
    const bool ready = ctx.manager->Ready();
    http::Response r =
        http::Response::Json(ready ? 200 : 503, ready ? R"({"ready":true})" : R"({"ready":false})");
    ctx.http_requests_total->WithLabels({"/v2/health/ready", std::to_string(r.status)})
        .Increment();
    return r;
  });
  router.Add(http::Method::kGet, "/v2", [&ctx](http::Request&) {
    serving::ServerMetadata metadata;
    metadata.name = "cairn";
    metadata.version = ctx.config.version;
    metadata.extensions = {"binary_tensor_data"};
    ctx.http_requests_total->WithLabels({"/v2", "200"}).Increment();
    return http::Response::Json(200, serving::WriteOipServerMetadata(metadata));
  });
  router.AddAsync(
      http::Method::kGet, std::string(kModelsPrefix),
      [&ctx](http::Request& request, http::Responder respond) {
        HandleModels(ctx, request, respond, false);
      },
      true);
  router.AddAsync(
      http::Method::kPost, std::string(kModelsPrefix),
      [&ctx](http::Request& request, http::Responder respond) {
        HandleModels(ctx, request, respond, true);
      },
      true);
}

}  // namespace cairn::serve::internal
