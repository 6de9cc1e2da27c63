// Native /api/v1 registry endpoints: parse -> RegistryService -> render.

#include "api/native_registry_handlers.h"

#include <string_view>
#include <vector>

#include "api/registry_json.h"
#include "api/registry_request.h"
#include "api/request_fields.h"
#include "tracking/validation.h"

namespace cairn::api::native_registry {
namespace {

constexpr int64_t kDefaultMaxResults = 100;

// segs[0, end) joined by '/': the model name (MLflow forbids '/' in names, but
// matching from the end keeps a stray one from being misread as a path part).
std::string JoinHead(const std::vector<std::string>& segs, size_t end) {
  std::string out;
  for (size_t i = 0; i < end; ++i) out += (i == 0 ? "" : "/") + segs[i];
  return out;
}

std::unexpected<Error> NoEndpoint(const http::Request& req, std::string_view hint) {
  return MakeError(ErrorCode::kEndpointNotFound,
                   "No endpoint " + std::string(http::MethodName(req.method)) + " " + req.path +
                       " (" + std::string(hint) + ")");
}

Result<std::optional<int64_t>> QueryInt(const http::Request& req, std::string_view name) {
  std::optional<std::string> text = req.QueryParam(name);
  if (!text || text->empty()) return std::optional<int64_t>();
  std::optional<int64_t> v = ParseInt64Text(*text);
  if (!v) {
    return InvalidArgument(std::string(name) + " must be an integer, got '" + *text + "'");
  }
  return v;
}

Result<int64_t> MaxResults(const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<int64_t> n, QueryInt(req, "max_results"));
  return n.value_or(kDefaultMaxResults);
}

// Page tokens of the audit log are the offset of the next page.
Result<int64_t> PageOffset(const http::Request& req) {
  std::string token = req.QueryParam("page_token").value_or("");
  if (token.empty()) return 0;
  std::optional<int64_t> v = ParseInt64Text(token);
  if (!v || *v < 0) return InvalidArgument("Invalid page_token '" + token + "'");
  return *v;
}

Result<int64_t> IdFromText(std::string_view what, const std::string& text) {
  std::optional<int64_t> v = ParseInt64Text(text);
  if (!v) {
    return InvalidArgument(std::string(what) + " id must be an integer, got '" + text + "'");
  }
  return *v;
}

// A version in a body: "3" or 3; required.
Result<int64_t> BodyVersion(const RequestFields& f) {
  auto it = f.json().find("version");
  if (it == f.json().end() || it->is_null() ||
      (it->is_string() && it->get<std::string>().empty())) {
    return std::unexpected(tracking::MissingRequired("version"));
  }
  if (it->is_string()) return VersionFromText(it->get<std::string>());
  return JsonToInt64(*it, "version");
}

Result<bool> BodyBool(const RequestFields& f, std::string_view name) {
  auto it = f.json().find(name);
  if (it == f.json().end() || it->is_null()) return false;
  if (it->is_boolean()) return it->get<bool>();
  return std::unexpected(tracking::WrongType(name, CompactJson(*it), PythonTypeName(*it)));
}

Result<std::string> RenderAudit(registry::RegistryService& s, store::AuditQuery q,
                                const http::Request& req) {
  q.actor = req.QueryParam("actor").value_or("");
  CAIRN_ASSIGN_OR_RETURN(q.since, QueryInt(req, "since"));
  CAIRN_ASSIGN_OR_RETURN(q.until, QueryInt(req, "until"));
  CAIRN_ASSIGN_OR_RETURN(q.max_results, MaxResults(req));
  CAIRN_ASSIGN_OR_RETURN(q.offset, PageOffset(req));
  CAIRN_ASSIGN_OR_RETURN(store::AuditPage page, s.SearchAudit(q));
  JsonWriter w;
  w.BeginObject();
  w.Key("entries").BeginArray();
  for (const store::AuditEntry& e : page.entries) WriteAuditEntry(w, e);
  w.EndArray();
  if (page.next_offset >= 0) w.Field("next_page_token", std::to_string(page.next_offset));
  w.EndObject();
  return w.Take();
}

Result<std::string> SetAliasOf(registry::RegistryService& s, const http::Request& req,
                               const std::string& name, const std::string& alias) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromJsonBody(req.body));
  CAIRN_ASSIGN_OR_RETURN(int64_t version, BodyVersion(f));
  CAIRN_ASSIGN_OR_RETURN(std::string comment, f.StringOrEmpty("comment"));
  CAIRN_ASSIGN_OR_RETURN(registry::MutationOutcome o,
                         s.SetAlias(name, alias, version, ActorOf(req), comment));
  return RenderMutationOutcome(o);
}

Result<std::string> TransitionStageOf(registry::RegistryService& s, const http::Request& req,
                                      const std::string& name, const std::string& version_text) {
  CAIRN_ASSIGN_OR_RETURN(int64_t version, VersionFromText(version_text));
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromJsonBody(req.body));
  CAIRN_ASSIGN_OR_RETURN(std::string stage, RequiredString(f, "stage"));
  CAIRN_ASSIGN_OR_RETURN(bool archive, BodyBool(f, "archive_existing_versions"));
  CAIRN_ASSIGN_OR_RETURN(std::string comment, f.StringOrEmpty("comment"));
  CAIRN_ASSIGN_OR_RETURN(registry::MutationOutcome o,
                         s.TransitionStage(name, version, stage, archive, ActorOf(req), comment));
  return RenderMutationOutcome(o);
}

Result<std::string> SetProtectedTargetsOf(registry::RegistryService& s, const http::Request& req,
                                          const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromJsonBody(req.body));
  if (!f.Has("targets")) return std::unexpected(tracking::MissingRequired("targets"));
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> targets, f.StringList("targets"));
  CAIRN_RETURN_IF_ERROR(s.SetProtectedTargets(name, targets, ActorOf(req)));
  CAIRN_ASSIGN_OR_RETURN(store::RegisteredModel m, s.GetRegisteredModel(name));
  return RenderRegisteredModelResponse(m);
}

Result<std::string> LineageOf(registry::RegistryService& s, const std::string& name,
                              const std::string& version_text) {
  CAIRN_ASSIGN_OR_RETURN(int64_t version, VersionFromText(version_text));
  CAIRN_ASSIGN_OR_RETURN(registry::Lineage l, s.GetLineage(name, version));
  JsonWriter w;
  WriteLineage(w, l);
  return w.Take();
}

}  // namespace

Result<std::string> SearchAudit(registry::RegistryService& s, const http::Request& req) {
  store::AuditQuery q;
  q.entity_type = req.QueryParam("entity_type").value_or("");
  q.entity_id = req.QueryParam("entity_id").value_or("");
  q.model_name = req.QueryParam("model").value_or("");
  return RenderAudit(s, q, req);
}

Result<std::string> ModelSubresource(registry::RegistryService& s, const http::Request& req) {
  constexpr std::string_view kHint =
      "try /api/v1/models/{name}/audit, .../aliases/{alias}, .../aliases/{alias}/rollback, "
      ".../versions/{v}/stage, .../versions/{v}/lineage, .../protected-targets";
  std::vector<std::string> segs = SplitPath(req.route_suffix);
  const size_t n = segs.size();
  const std::string& last = segs.back();
  auto name_before = [&](size_t k) { return JoinHead(segs, n - k); };
  auto has_name = [&](size_t k) { return n > k && !name_before(k).empty(); };
  const http::Method m = req.method;

  if (m == http::Method::kGet && last == "audit" && has_name(1)) {
    store::AuditQuery q;
    q.model_name = name_before(1);
    return RenderAudit(s, q, req);
  }
  if (m == http::Method::kPut && last == "protected-targets" && has_name(1)) {
    return SetProtectedTargetsOf(s, req, name_before(1));
  }
  if (m == http::Method::kPost && n >= 4 && last == "rollback" && segs[n - 3] == "aliases" &&
      has_name(3) && !segs[n - 2].empty()) {
    CAIRN_ASSIGN_OR_RETURN(registry::MutationOutcome o,
                           s.RollbackAlias(name_before(3), segs[n - 2], ActorOf(req)));
    return RenderMutationOutcome(o);
  }
  if (m == http::Method::kPost && n >= 3 && segs[n - 2] == "aliases" && has_name(2) &&
      !last.empty()) {
    return SetAliasOf(s, req, name_before(2), last);
  }
  if (n >= 4 && segs[n - 3] == "versions" && has_name(3)) {
    if (m == http::Method::kPost && last == "stage") {
      return TransitionStageOf(s, req, name_before(3), segs[n - 2]);
    }
    if (m == http::Method::kGet && last == "lineage") {
      return LineageOf(s, name_before(3), segs[n - 2]);
    }
  }
  return NoEndpoint(req, kHint);
}

Result<std::string> ListApprovals(registry::RegistryService& s, const http::Request& req) {
  std::string model = req.QueryParam("model").value_or("");
  std::string status = req.QueryParam("status").value_or("");
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::ApprovalRequest> approvals,
                         s.ListApprovals(model, status));
  JsonWriter w;
  w.BeginObject();
  w.Key("approvals").BeginArray();
  for (const store::ApprovalRequest& a : approvals) WriteApprovalRequest(w, a);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

Result<std::string> DecideApproval(registry::RegistryService& s, const http::Request& req) {
  std::vector<std::string> segs = SplitPath(req.route_suffix);
  if (segs.size() != 2 || segs[0].empty() || (segs[1] != "approve" && segs[1] != "reject")) {
    return NoEndpoint(req, "try /api/v1/approvals/{id}/approve or .../reject");
  }
  CAIRN_ASSIGN_OR_RETURN(int64_t id, IdFromText("approval", segs[0]));
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromJsonBody(req.body));
  CAIRN_ASSIGN_OR_RETURN(std::string comment, f.StringOrEmpty("comment"));
  CAIRN_ASSIGN_OR_RETURN(registry::MutationOutcome o,
                         s.DecideApproval(id, segs[1] == "approve", comment, ActorOf(req)));
  return RenderMutationOutcome(o);
}

Result<std::string> CreateWebhook(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromJsonBody(req.body));
  store::Webhook h;
  // "model" as documented; "model_name" (the field name it is listed under) too.
  CAIRN_ASSIGN_OR_RETURN(h.model_name, f.StringOrEmpty("model"));
  if (h.model_name.empty()) {
    CAIRN_ASSIGN_OR_RETURN(h.model_name, f.StringOrEmpty("model_name"));
  }
  CAIRN_ASSIGN_OR_RETURN(h.url, RequiredString(f, "url"));
  CAIRN_ASSIGN_OR_RETURN(h.events, f.StringList("events"));
  CAIRN_ASSIGN_OR_RETURN(h.secret, f.StringOrEmpty("secret"));
  CAIRN_ASSIGN_OR_RETURN(store::Webhook created, s.CreateWebhook(h, ActorOf(req)));
  JsonWriter w;
  w.BeginObject();
  w.Key("webhook");
  WriteWebhook(w, created);
  w.EndObject();
  return w.Take();
}

Result<std::string> ListWebhooks(registry::RegistryService& s, const http::Request& req) {
  std::string model = req.QueryParam("model").value_or("");
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::Webhook> hooks, s.ListWebhooks(model));
  JsonWriter w;
  w.BeginObject();
  w.Key("webhooks").BeginArray();
  for (const store::Webhook& h : hooks) WriteWebhook(w, h);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

Result<std::string> WebhookSubresource(registry::RegistryService& s, const http::Request& req) {
  std::vector<std::string> segs = SplitPath(req.route_suffix);
  if (req.method == http::Method::kDelete && segs.size() == 1 && !segs[0].empty()) {
    CAIRN_ASSIGN_OR_RETURN(int64_t id, IdFromText("webhook", segs[0]));
    CAIRN_RETURN_IF_ERROR(s.DeleteWebhook(id, ActorOf(req)));
    return std::string("{}");
  }
  if (req.method == http::Method::kGet && segs.size() == 2 && segs[1] == "deliveries") {
    CAIRN_ASSIGN_OR_RETURN(int64_t id, IdFromText("webhook", segs[0]));
    CAIRN_ASSIGN_OR_RETURN(int64_t max_results, MaxResults(req));
    CAIRN_ASSIGN_OR_RETURN(std::vector<store::WebhookDelivery> deliveries,
                           s.ListDeliveries(id, max_results));
    JsonWriter w;
    w.BeginObject();
    w.Key("deliveries").BeginArray();
    for (const store::WebhookDelivery& d : deliveries) WriteWebhookDelivery(w, d);
    w.EndArray();
    w.EndObject();
    return w.Take();
  }
  return NoEndpoint(req,
                    "try DELETE /api/v1/webhooks/{id} or GET /api/v1/webhooks/{id}/deliveries");
}

Result<std::string> DatasetSubresource(registry::RegistryService& s, const http::Request& req) {
  std::vector<std::string> segs = SplitPath(req.route_suffix);
  if (segs.size() != 2 || segs[0].empty() || segs[1] != "model-versions") {
    return NoEndpoint(req, "try /api/v1/datasets/{digest}/model-versions");
  }
  std::string name = req.QueryParam("name").value_or("");
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::ModelVersion> versions,
                         s.VersionsUsingDataset(segs[0], name));
  return RenderModelVersionsResponse(versions);
}

}  // namespace cairn::api::native_registry
