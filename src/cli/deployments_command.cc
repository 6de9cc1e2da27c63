// `cairn deployments list|get|set-traffic` (client mode over the admin API
// of a running `cairn serve`; docs/serving.md):
//
//   GET /v1/deployments             -> {"deployments": [DEPLOYMENT, ...]}
//   GET /v1/deployments/{d}         -> {"deployment": DEPLOYMENT}
//   PUT /v1/deployments/{d}/traffic    (body: serve::TrafficToJson)
//                                   -> {"deployment": DEPLOYMENT}
//   DEPLOYMENT = {"name", "sticky_header", "targets": [{"model", "weight",
//     "shadow", "model_name", "version", "state", "last_error",
//     "failed_version", "loaded_at"}]}
//   errors: {"error": "message"} with status 400/404/409/500.
//
// Every command takes --url (default $CAIRN_SERVE_URL, else
// http://127.0.0.1:8080) and --json (the server's document verbatim).
// Target arguments are checked before the server is contacted.

#include <iostream>
#include <memory>
#include <optional>

#include "cli/command.h"
#include "cli/table.h"
#include "client/http_transport.h"
#include "serve/deployment.h"

namespace cairn::cli {
namespace {

using nlohmann::json;

constexpr std::string_view kDefaultServeUrl = "http://127.0.0.1:8080";

struct DeploymentsFlags {
  std::string url;  // empty: $CAIRN_SERVE_URL, else kDefaultServeUrl
  bool json = false;
  std::string name;
  std::vector<std::string> targets;  // URI=WEIGHT
  std::vector<std::string> shadows;  // URI
};

Result<std::string> ResolveServeUrl(const std::string& flag) {
  std::string url = flag;
  if (url.empty()) {
    const char* env = std::getenv("CAIRN_SERVE_URL");
    if (env != nullptr) url = env;
  }
  if (url.empty()) url = kDefaultServeUrl;
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return InvalidArgument("serve URL '" + url +
                           "' is not an http:// or https:// URL (set --url or $CAIRN_SERVE_URL)");
  }
  while (url.size() > 1 && url.back() == '/') url.pop_back();
  return url;
}

ErrorCode CodeForStatus(int status) {
  switch (status) {
    case 400:
      return ErrorCode::kInvalidArgument;
    case 401:
      return ErrorCode::kUnauthenticated;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 409:
      return ErrorCode::kFailedPrecondition;
    case 413:
      return ErrorCode::kPayloadTooLarge;
    case 429:
      return ErrorCode::kResourceExhausted;
    case 501:
      return ErrorCode::kUnimplemented;
    case 503:
      return ErrorCode::kUnavailable;
    case 504:
      return ErrorCode::kDeadlineExceeded;
    default:
      return ErrorCode::kInternal;
  }
}

// The Error of a response with status >= 400: the admin API's
// {"error": "..."}, else the HTTP server's MLflow-shaped error, else the
// status and the start of the body.
Error ResponseError(const client::HttpResponse& r, std::string_view method,
                    const std::string& url) {
  json body = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.contains("error") && body["error"].is_string()) {
    return Error(CodeForStatus(r.status), body["error"].get<std::string>());
  }
  if (auto mlflow = client::ParseMlflowErrorBody(r.body)) {
    return Error(ErrorCodeFromMlflow(mlflow->error_code, r.status), mlflow->message);
  }
  std::string prefix = r.body.substr(0, 200);
  return Error(CodeForStatus(r.status), "HTTP " + std::to_string(r.status) + " from " +
                                            std::string(method) + " " + url + ": " + prefix);
}

// Says `cairn serve` where the transport's message names the tracking server.
Error TransportError(const Error& e, const std::string& base) {
  if (e.code() != ErrorCode::kUnavailable) return e;
  const std::string head = "cannot reach the tracking server at " + base + ": ";
  const std::string tail = " (is `cairn server` running?)";
  const std::string& m = e.message();
  if (!m.starts_with(head) || !m.ends_with(tail)) return e;
  std::string detail = m.substr(head.size(), m.size() - head.size() - tail.size());
  return Error(ErrorCode::kUnavailable, "cannot reach cairn serve at " + base + ": " + detail +
                                            " (is `cairn serve` running? set --url or "
                                            "$CAIRN_SERVE_URL)");
}

// One request to the admin API; the parsed JSON document of a 2xx answer.
Result<json> Call(const std::string& base, std::string_view method, const std::string& path,
                  const std::string& body = {}) {
  client::TransportOptions options;
  options.connect_timeout_ms = 5'000;
  options.request_timeout_ms = 60'000;
  client::HttpTransport transport(base, options);
  std::string url = client::JoinUrl(base, path);
  auto r = transport.SendRaw(method, url, body);
  if (!r) return std::unexpected(TransportError(r.error(), base));
  if (r->status >= 400) return std::unexpected(ResponseError(*r, method, url));
  json doc = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Internal("unexpected answer from " + std::string(method) + " " + url +
                    " (not a JSON object): " + r->body.substr(0, 200));
  }
  return doc;
}

std::string Str(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

void AddRows(TextTable& table, const json& deployment) {
  std::string name = Str(deployment, "name");
  auto targets = deployment.find("targets");
  if (targets == deployment.end() || !targets->is_array()) {
    table.AddRow({name});
    return;
  }
  for (const json& t : *targets) {
    if (!t.is_object()) continue;
    bool shadow = t.value("shadow", false);
    std::string weight = shadow ? "-" : Str(t, "weight");
    std::string error = Str(t, "last_error");
    std::string failed = Str(t, "failed_version");
    if (!error.empty() && !failed.empty()) error = "version " + failed + ": " + error;
    table.AddRow({name, Str(t, "model"), shadow ? "shadow" : "live", weight, Str(t, "version"),
                  Str(t, "state"), error});
  }
}

TextTable NewTable() {
  return TextTable({"deployment", "model", "role", "weight", "version", "state", "last_error"}, 64);
}

// The object under `key`, or kInternal naming what the server sent.
Result<json> Member(const json& doc, const char* key, bool array) {
  auto it = doc.find(key);
  if (it == doc.end() || (array ? !it->is_array() : !it->is_object())) {
    return Internal(std::string("unexpected answer from cairn serve: no \"") + key + "\" " +
                    (array ? "array" : "object") + " in " + doc.dump().substr(0, 200));
  }
  return *it;
}

void PrintDeployment(const json& d) {
  std::string sticky = Str(d, "sticky_header");
  std::cout << RenderFields(
      {{"deployment", Str(d, "name")},
       {"sticky_header", sticky.empty() ? "(none: random by weight)" : sticky}});
  TextTable t = NewTable();
  AddRows(t, d);
  std::cout << "\n" << t.Render();
}

int List(DeploymentsFlags& f) {
  auto base = ResolveServeUrl(f.url);
  if (!base) return ReportError(base.error());
  auto doc = Call(*base, "GET", "/v1/deployments");
  if (!doc) return ReportError(doc.error());
  auto list = Member(*doc, "deployments", /*array=*/true);
  if (!list) return ReportError(list.error());
  if (f.json) {
    PrintJson(*doc);
    return kExitOk;
  }
  TextTable t = NewTable();
  for (const json& d : *list) {
    if (d.is_object()) AddRows(t, d);
  }
  std::cout << t.Render();
  return kExitOk;
}

int Get(DeploymentsFlags& f) {
  auto base = ResolveServeUrl(f.url);
  if (!base) return ReportError(base.error());
  auto doc = Call(*base, "GET", "/v1/deployments/" + f.name);
  if (!doc) return ReportError(doc.error());
  auto d = Member(*doc, "deployment", /*array=*/false);
  if (!d) return ReportError(d.error());
  if (f.json) {
    PrintJson(*doc);
    return kExitOk;
  }
  PrintDeployment(*d);
  return kExitOk;
}

int SetTraffic(DeploymentsFlags& f) {
  std::vector<serve::TargetSpec> targets;
  for (const auto& text : f.targets) {
    auto t = serve::ParseTargetArgument(text);
    if (!t) return ReportError(t.error());
    targets.push_back(std::move(*t));
  }
  for (const auto& uri : f.shadows) {
    if (uri.empty()) return ReportError(Error(ErrorCode::kInvalidArgument, "--shadow needs a URI"));
    targets.push_back({uri, 0, true});
  }
  auto base = ResolveServeUrl(f.url);
  if (!base) return ReportError(base.error());
  auto doc =
      Call(*base, "PUT", "/v1/deployments/" + f.name + "/traffic", serve::TrafficToJson(targets));
  if (!doc) return ReportError(doc.error());
  auto d = Member(*doc, "deployment", /*array=*/false);
  if (!d) return ReportError(d.error());
  if (f.json) {
    PrintJson(*doc);
    return kExitOk;
  }
  std::cout << "Updated the traffic of deployment '" << f.name << "'\n\n";
  PrintDeployment(*d);
  return kExitOk;
}

}  // namespace

void AddDeploymentsCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<DeploymentsFlags>();
  CLI::App* group = app.add_subcommand(
      "deployments", "Inspect a running `cairn serve` and change its traffic split");
  group->require_subcommand(1);
  group->add_option("--url", f->url,
                    "The `cairn serve` process (default: $CAIRN_SERVE_URL, " +
                        std::string(kDefaultServeUrl) + ")");
  group->add_flag("--json", f->json, "Print the server's JSON documents instead of tables");
  group->fallthrough();
  auto leaf = [f, &action](CLI::App* cmd, int (*run)(DeploymentsFlags&)) {
    cmd->callback([f, run, &action] { action = [f, run] { return run(*f); }; });
  };

  CLI::App* list = group->add_subcommand(
      "list", "List deployments: targets, weights, loaded versions, state, last error");
  leaf(list, List);

  CLI::App* get = group->add_subcommand("get", "Show one deployment");
  get->add_option("NAME", f->name, "Deployment name")->required();
  leaf(get, Get);

  CLI::App* set = group->add_subcommand(
      "set-traffic", "Replace a deployment's live targets (URI=WEIGHT ...) and shadows");
  set->footer(
      "Example: cairn deployments set-traffic fraud models:/fraud@champion=95 "
      "models:/fraud/4=5 --shadow models:/fraud/5");
  set->add_option("NAME", f->name, "Deployment name")->required();
  set->add_option("TARGETS", f->targets,
                  "Live targets as URI=WEIGHT (no '=': weight 1; the last '=' splits)")
      ->required();
  set->add_option("--shadow", f->shadows,
                  "A shadow target: gets a copy of live traffic, never answers (repeatable)")
      ->allow_extra_args(false);
  leaf(set, SetTraffic);
}

}  // namespace cairn::cli
