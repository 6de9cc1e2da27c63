// MonitorClient (see monitor_client.h): JSON calls on /api/v1/monitors,
// /api/v1/labels and /api/v1/drift through HttpTransport.

#include "client/monitor_client.h"

#include <utility>
#include <vector>

#include "client/json_body.h"
#include "client/http_transport.h"
#include "core/uri.h"

namespace cairn::client {
namespace {

using nlohmann::json;

constexpr std::string_view kNativePrefix = "/api/v1/";

std::unexpected<Error> Unexpected(const std::string& what) { return UnexpectedResponse(what); }

Result<json> ParseBody(const std::string& body) {
  CAIRN_ASSIGN_OR_RETURN(json j, ParseResponseBody(body));
  if (!j.is_object()) return Unexpected("the answer is not a JSON object");
  return j;
}

Result<std::string> Dump(const json& body) { return DumpRequestBody(body); }

// The member `key` of an answer, of the expected kind.
Result<json> Member(json j, const char* key, bool array) {
  auto it = j.find(key);
  if (it == j.end() || (array ? !it->is_array() : !it->is_object())) {
    return Unexpected(std::string("no '") + key + "' " + (array ? "list" : "object") +
                      " in the answer");
  }
  return std::move(*it);
}

std::string Segment(std::string_view s) { return PercentEncode(s, /*keep_slash=*/false); }

}  // namespace

struct MonitorClient::Impl {
  std::string base;
  HttpTransport transport;

  explicit Impl(ClientConnection c)
      : base(std::move(c.base)), transport(base, std::move(c.transport)) {}

  std::string Url(const std::string& path,
                  const std::vector<std::pair<std::string, std::string>>& params = {}) const {
    std::string url = base + std::string(kNativePrefix) + path;
    if (!params.empty()) url += "?" + QueryString(params);
    return url;
  }

  Result<json> Call(std::string_view method, const std::string& url, const std::string& body = {}) {
    CAIRN_ASSIGN_OR_RETURN(HttpResponse resp, transport.Send(method, url, body));
    return ParseBody(resp.body);
  }
  Result<json> CallJson(std::string_view method, const std::string& url, const json& body) {
    CAIRN_ASSIGN_OR_RETURN(std::string text, Dump(body));
    return Call(method, url, text);
  }

  static std::string MonitorPath(const std::string& name, const char* what = nullptr) {
    std::string p = "monitors/" + Segment(name);
    if (what != nullptr) p += std::string("/") + what;
    return p;
  }
};

MonitorClient::MonitorClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MonitorClient::MonitorClient(MonitorClient&&) noexcept = default;
MonitorClient& MonitorClient::operator=(MonitorClient&&) noexcept = default;
MonitorClient::~MonitorClient() = default;

Result<MonitorClient> MonitorClient::Create(const std::string& tracking_uri,
                                            ClientOptions options) {
  CAIRN_ASSIGN_OR_RETURN(ClientConnection c, ResolveClientConnection(tracking_uri, options));
  return MonitorClient(std::make_unique<Impl>(std::move(c)));
}

const std::string& MonitorClient::tracking_uri() const { return impl_->base; }

Result<json> MonitorClient::Create(const json& spec) {
  if (!spec.is_object()) return InvalidArgument("a monitor spec is a JSON object");
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->CallJson("POST", impl_->Url("monitors"), spec));
  return Member(std::move(j), "monitor", false);
}

Result<json> MonitorClient::List() {
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Call("GET", impl_->Url("monitors")));
  return Member(std::move(j), "monitors", true);
}

Result<json> MonitorClient::Get(const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Call("GET", impl_->Url(Impl::MonitorPath(name))));
  if (!j.contains("monitor") || !j["monitor"].is_object()) {
    return Unexpected("no 'monitor' object in the answer");
  }
  return j;
}

Status MonitorClient::Delete(const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Call("DELETE", impl_->Url(Impl::MonitorPath(name))));
  (void)j;
  return {};
}

Result<json> MonitorClient::Run(const std::string& name,
                                const std::optional<std::string>& current_csv) {
  json body = json::object();
  if (current_csv) body["current_csv"] = *current_csv;
  CAIRN_ASSIGN_OR_RETURN(json j,
                         impl_->CallJson("POST", impl_->Url(Impl::MonitorPath(name, "run")), body));
  if (!j.contains("window") || !j["window"].is_object()) {
    return Unexpected("no 'window' object in the answer");
  }
  return j;
}

Result<json> MonitorClient::Windows(const std::string& name, const WindowQuery& query) {
  std::vector<std::pair<std::string, std::string>> params;
  if (query.from != 0) params.emplace_back("from", std::to_string(query.from));
  if (query.to) params.emplace_back("to", std::to_string(*query.to));
  if (query.limit > 0) params.emplace_back("limit", std::to_string(query.limit));
  CAIRN_ASSIGN_OR_RETURN(
      json j, impl_->Call("GET", impl_->Url(Impl::MonitorPath(name, "windows"), params)));
  return Member(std::move(j), "windows", true);
}

Result<json> MonitorClient::Results(const std::string& name, const ResultQuery& query) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!query.feature.empty()) params.emplace_back("feature", query.feature);
  if (!query.statistic.empty()) params.emplace_back("statistic", query.statistic);
  if (query.from != 0) params.emplace_back("from", std::to_string(query.from));
  if (query.to) params.emplace_back("to", std::to_string(*query.to));
  CAIRN_ASSIGN_OR_RETURN(
      json j, impl_->Call("GET", impl_->Url(Impl::MonitorPath(name, "results"), params)));
  return Member(std::move(j), "results", true);
}

Result<json> MonitorClient::Alerts(const std::string& name, const std::string& status) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!status.empty()) params.emplace_back("status", status);
  CAIRN_ASSIGN_OR_RETURN(json j,
                         impl_->Call("GET", impl_->Url(Impl::MonitorPath(name, "alerts"), params)));
  return Member(std::move(j), "alerts", true);
}

Result<LabelsLogged> MonitorClient::LogLabels(const std::string& model, const std::string& csv) {
  if (csv.find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgument("the labels file is empty (expected a header request_id,label[,row])");
  }
  // The CSV text is the body as it is: the server reads a body that is not a
  // JSON object as CSV (api/monitor_handlers.h).
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Call("POST", impl_->Url("labels/" + Segment(model)), csv));
  auto logged = j.find("logged");
  auto unknown = j.find("unknown_request_ids");
  if (logged == j.end() || !logged->is_number_integer() || unknown == j.end() ||
      !unknown->is_number_integer()) {
    return Unexpected("no 'logged' / 'unknown_request_ids' counts in the answer");
  }
  return LabelsLogged{logged->get<int64_t>(), unknown->get<int64_t>()};
}

Result<json> MonitorClient::Drift(const std::string& reference_csv, const std::string& current_csv,
                                  const json& options) {
  json body = options.is_object() ? options : json::object();
  body["reference_csv"] = reference_csv;
  body["current_csv"] = current_csv;
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->CallJson("POST", impl_->Url("drift"), body));
  if (!j.contains("drift")) return Unexpected("no 'drift' report in the answer");
  return j;
}

}  // namespace cairn::client
