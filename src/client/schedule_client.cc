// ScheduleClient (see schedule_client.h): JSON calls on
// /api/v1/pipeline-schedules through HttpTransport.

#include "client/schedule_client.h"

#include <utility>

#include "client/http_transport.h"
#include "client/json_body.h"
#include "core/uri.h"

namespace cairn::client {
namespace {

using nlohmann::json;

constexpr std::string_view kPath = "/api/v1/pipeline-schedules";

Result<json> Member(json j, const char* key, bool array) {
  auto it = j.find(key);
  if (it == j.end() || (array ? !it->is_array() : !it->is_object())) {
    return UnexpectedResponse(std::string("no '") + key + "' " + (array ? "list" : "object") +
                              " in the answer");
  }
  return std::move(*it);
}

}  // namespace

struct ScheduleClient::Impl {
  std::string base;
  HttpTransport transport;

  explicit Impl(ClientConnection c)
      : base(std::move(c.base)), transport(base, std::move(c.transport)) {}

  std::string Url(const std::string& name = "", const char* what = nullptr,
                  const std::vector<std::pair<std::string, std::string>>& params = {}) const {
    std::string url = base + std::string(kPath);
    if (!name.empty()) url += "/" + PercentEncode(name, /*keep_slash=*/false);
    if (what != nullptr) url += std::string("/") + what;
    if (!params.empty()) url += "?" + QueryString(params);
    return url;
  }

  Result<json> Call(std::string_view method, const std::string& url, const std::string& body = {}) {
    CAIRN_ASSIGN_OR_RETURN(HttpResponse resp, transport.Send(method, url, body));
    CAIRN_ASSIGN_OR_RETURN(json j, ParseResponseBody(resp.body));
    if (!j.is_object()) return UnexpectedResponse("the answer is not a JSON object");
    return j;
  }
};

ScheduleClient::ScheduleClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ScheduleClient::ScheduleClient(ScheduleClient&&) noexcept = default;
ScheduleClient& ScheduleClient::operator=(ScheduleClient&&) noexcept = default;
ScheduleClient::~ScheduleClient() = default;

Result<ScheduleClient> ScheduleClient::Create(const std::string& tracking_uri,
                                              ClientOptions options) {
  CAIRN_ASSIGN_OR_RETURN(ClientConnection c, ResolveClientConnection(tracking_uri, options));
  return ScheduleClient(std::make_unique<Impl>(std::move(c)));
}

Result<json> ScheduleClient::Add(const ScheduleSpec& spec) {
  json body{{"name", spec.name},       {"cron", spec.cron}, {"repo", spec.repo},
            {"targets", spec.targets}, {"jobs", spec.jobs}, {"enabled", spec.enabled}};
  CAIRN_ASSIGN_OR_RETURN(std::string text, DumpRequestBody(body));
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Call("POST", impl_->Url(), text));
  return Member(std::move(j), "schedule", false);
}

Result<ScheduleList> ScheduleClient::List() {
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Call("GET", impl_->Url()));
  ScheduleList out;
  out.runs_enabled = j.value("runs_enabled", false);
  CAIRN_ASSIGN_OR_RETURN(out.schedules, Member(std::move(j), "schedules", true));
  return out;
}

Result<json> ScheduleClient::Get(const std::string& name, int runs) {
  std::vector<std::pair<std::string, std::string>> params;
  if (runs > 0) params.emplace_back("runs", std::to_string(runs));
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Call("GET", impl_->Url(name, nullptr, params)));
  if (!j.contains("schedule") || !j["schedule"].is_object() || !j.contains("runs") ||
      !j["runs"].is_array()) {
    return UnexpectedResponse("no 'schedule' object and 'runs' list in the answer");
  }
  return j;
}

Result<json> ScheduleClient::Runs(const std::string& name, int limit) {
  std::vector<std::pair<std::string, std::string>> params;
  if (limit > 0) params.emplace_back("limit", std::to_string(limit));
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Call("GET", impl_->Url(name, "runs", params)));
  return Member(std::move(j), "runs", true);
}

Status ScheduleClient::Delete(const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Call("DELETE", impl_->Url(name)));
  (void)j;
  return {};
}

Result<json> ScheduleClient::SetEnabled(const std::string& name, bool enabled) {
  CAIRN_ASSIGN_OR_RETURN(
      json j, impl_->Call("POST", impl_->Url(name, enabled ? "enable" : "disable"), "{}"));
  return Member(std::move(j), "schedule", false);
}

Result<json> ScheduleClient::UpdateCron(const std::string& name, const std::string& cron) {
  CAIRN_ASSIGN_OR_RETURN(json j,
                         impl_->Call("PATCH", impl_->Url(name), json{{"cron", cron}}.dump()));
  return Member(std::move(j), "schedule", false);
}

Result<json> ScheduleClient::Trigger(const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Call("POST", impl_->Url(name, "trigger"), "{}"));
  return Member(std::move(j), "run", false);
}

}  // namespace cairn::client
