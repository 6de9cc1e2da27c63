#include "client/registry_client.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "client/json_body.h"
#include "client/artifact_download.h"
#include "client/artifact_location.h"
#include "client/mlflow_json.h"
#include "core/uri.h"

namespace cairn::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kMlflowPrefix = "/api/2.0/mlflow/";
constexpr std::string_view kNativePrefix = "/api/v1/";

std::unexpected<Error> Unexpected(const std::string& what) { return UnexpectedResponse(what); }
Result<json> ParseBody(const std::string& body) { return ParseResponseBody(body); }
Result<std::string> Dump(const json& body) { return DumpRequestBody(body); }

Result<std::string> NextPageToken(const json& j) {
  auto it = j.find("next_page_token");
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Unexpected("'next_page_token' is not a string");
  return it->get<std::string>();
}

// One path segment, '/' included, percent-encoded.
std::string Segment(std::string_view s) { return PercentEncode(s, /*keep_slash=*/false); }

json TagsJson(const std::vector<store::Tag>& tags) {
  json arr = json::array();
  for (const auto& t : tags) arr.push_back(json{{"key", t.key}, {"value", t.value}});
  return arr;
}

// A list of objects under `key` of the answer, each parsed by `parse`.
template <typename T, typename Parse>
Result<std::vector<T>> ParseList(const json& j, const char* key, Parse parse) {
  std::vector<T> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) return Unexpected(std::string("'") + key + "' is not a list");
  for (const auto& e : *it) {
    CAIRN_ASSIGN_OR_RETURN(T v, parse(e));
    out.push_back(std::move(v));
  }
  return out;
}

const json* Field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

// Whether an answer says the server has no such endpoint at all (a stock
// MLflow server has no /api/v1): 404/405/501 without an MLflow error body,
// or ENDPOINT_NOT_FOUND.
bool NoSuchEndpoint(const HttpResponse& r) {
  if (r.status != 404 && r.status != 405 && r.status != 501) return false;
  auto e = ParseMlflowErrorBody(r.body);
  return !e || e->error_code == "ENDPOINT_NOT_FOUND";
}

}  // namespace

std::string RunIdFromSource(const std::string& source) {
  constexpr std::string_view kRuns = "runs:/";
  if (!source.starts_with(kRuns)) return "";
  std::string rest = source.substr(kRuns.size());
  auto slash = rest.find('/');
  return slash == std::string::npos ? rest : rest.substr(0, slash);
}

struct RegistryClient::Impl {
  std::string base;
  std::string user;
  HttpTransport transport;  // carries X-Cairn-User on every request
  RegistrySendFn send;      // JSON calls; by default transport.SendRaw

  Impl(ClientConnection c, RegistrySendFn s)
      : base(std::move(c.base)),
        user(std::move(c.user)),
        transport(base, std::move(c.transport)),
        send(std::move(s)) {
    if (!send) {
      // Impl lives behind a unique_ptr, so `this` outlives every move of the client.
      send = [this](const RegistryHttpRequest& r) {
        return transport.SendRaw(r.method, r.url, r.body);
      };
    }
  }

  // Sends one request; the response whatever its status (transport errors only).
  Result<HttpResponse> Send(std::string method, std::string url, const json* body) {
    RegistryHttpRequest r;
    r.method = std::move(method);
    r.url = std::move(url);
    if (body != nullptr) {
      CAIRN_ASSIGN_OR_RETURN(r.body, Dump(*body));
    }
    return send(r);
  }

  // Sends and parses a 2xx answer; an HTTP error status becomes its Error.
  Result<json> Call(std::string method, std::string url, const json* body) {
    std::string m = method, u = url;
    CAIRN_ASSIGN_OR_RETURN(HttpResponse resp, Send(std::move(method), std::move(url), body));
    CAIRN_RETURN_IF_ERROR(HttpStatusError(resp, m, u));
    return ParseBody(resp.body);
  }

  static std::string WithQuery(std::string url,
                               const std::vector<std::pair<std::string, std::string>>& params) {
    if (!params.empty()) url += "?" + QueryString(params);
    return url;
  }

  // MLflow endpoints: GET with a query string; other methods with a JSON body.
  Result<json> Mlflow(std::string_view method, std::string_view endpoint, const json& body) {
    return Call(std::string(method), base + std::string(kMlflowPrefix) + std::string(endpoint),
                &body);
  }
  Result<json> MlflowGet(std::string_view endpoint,
                         const std::vector<std::pair<std::string, std::string>>& params) {
    return Call("GET", WithQuery(base + std::string(kMlflowPrefix) + std::string(endpoint), params),
                nullptr);
  }
  // Native endpoints: `path` is already encoded segment by segment. A server
  // without the native API (a stock MLflow server) is kUnimplemented naming
  // `what`; or, when `absent` is given, *absent = true and null is returned
  // (the caller then uses MLflow's API).
  Result<json> Native(std::string_view method, const std::string& path, const json* body,
                      const std::vector<std::pair<std::string, std::string>>& params,
                      std::string_view what, bool* absent = nullptr) {
    std::string url = WithQuery(base + std::string(kNativePrefix) + path, params);
    CAIRN_ASSIGN_OR_RETURN(HttpResponse resp, Send(std::string(method), url, body));
    if (NoSuchEndpoint(resp)) {
      if (absent != nullptr) {
        *absent = true;
        return json(nullptr);
      }
      return MakeError(ErrorCode::kUnimplemented,
                       "the server at " + base + " has no Cairn registry API (" +
                           std::string(method) + " " + std::string(kNativePrefix) + path +
                           " answered " + std::to_string(resp.status) + "); " + std::string(what) +
                           " needs a `cairn server`");
    }
    CAIRN_RETURN_IF_ERROR(HttpStatusError(resp, method, url));
    return ParseBody(resp.body);
  }

  static std::string ModelPath(const std::string& name) { return "models/" + Segment(name); }

  // The artifact URI behind a version's source when it is not one already
  // (what a stock MLflow server's get-download-uri may return):
  // runs:/<run_id>/<path> -> the run's artifact_uri + path;
  // models:/<model_id> (an MLflow 3 logged model) -> its artifact_uri.
  Result<std::string> ResolveModelUri(const std::string& uri) {
    if (uri.starts_with("runs:/")) {
      CAIRN_ASSIGN_OR_RETURN(RunsUri r, ParseRunsUri(uri));
      CAIRN_ASSIGN_OR_RETURN(json j, MlflowGet("runs/get", {{"run_id", r.run_id}}));
      const json* run = Field(j, "run");
      if (run == nullptr) return Unexpected("no run in the answer");
      CAIRN_ASSIGN_OR_RETURN(store::Run parsed, ParseRun(*run));
      CAIRN_ASSIGN_OR_RETURN(std::string rel, NormalizeArtifactPath(r.path));
      std::string root = parsed.info.artifact_uri;
      while (!root.empty() && root.back() == '/') root.pop_back();
      return rel.empty() ? root : root + "/" + rel;
    }
    constexpr std::string_view kModels = "models:/";
    if (uri.starts_with(kModels) && uri.find('/', kModels.size()) == std::string::npos) {
      std::string id = uri.substr(kModels.size());
      CAIRN_ASSIGN_OR_RETURN(
          json j,
          Call("GET", base + std::string(kMlflowPrefix) + "logged-models/" + Segment(id), nullptr));
      const json* model = Field(j, "model");
      const json* info = model != nullptr ? Field(*model, "info") : nullptr;
      const json* root = info != nullptr ? Field(*info, "artifact_uri") : nullptr;
      if (root == nullptr || !root->is_string()) {
        return Unexpected("no model.info.artifact_uri for logged model " + id);
      }
      return root->get<std::string>();
    }
    return uri;
  }
};

RegistryClient::RegistryClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RegistryClient::RegistryClient(RegistryClient&&) noexcept = default;
RegistryClient& RegistryClient::operator=(RegistryClient&&) noexcept = default;
RegistryClient::~RegistryClient() = default;

namespace {

Result<ClientConnection> Connect(const std::string& tracking_uri, RegistryClientOptions options) {
  if (!options.user.empty()) options.client.user = std::move(options.user);
  return ResolveClientConnection(tracking_uri, options.client);
}

}  // namespace

Result<RegistryClient> RegistryClient::Create(const std::string& tracking_uri,
                                              RegistryClientOptions options) {
  CAIRN_ASSIGN_OR_RETURN(ClientConnection c, Connect(tracking_uri, std::move(options)));
  return RegistryClient(std::make_unique<Impl>(std::move(c), nullptr));
}

Result<RegistryClient> RegistryClient::CreateWithSender(const std::string& tracking_uri,
                                                        RegistryClientOptions options,
                                                        RegistrySendFn send) {
  if (!send) return InvalidArgument("no sender");
  CAIRN_ASSIGN_OR_RETURN(ClientConnection c, Connect(tracking_uri, std::move(options)));
  return RegistryClient(std::make_unique<Impl>(std::move(c), std::move(send)));
}

const std::string& RegistryClient::tracking_uri() const { return impl_->base; }
const std::string& RegistryClient::user() const { return impl_->user; }

// ------------------------------------------------------- registered models

Result<store::RegisteredModel> RegistryClient::CreateRegisteredModel(
    const std::string& name, const std::string& description, const std::vector<store::Tag>& tags) {
  json body{{"name", name}};
  if (!description.empty()) body["description"] = description;
  if (!tags.empty()) body["tags"] = TagsJson(tags);
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Mlflow("POST", "registered-models/create", body));
  const json* m = Field(j, "registered_model");
  if (m == nullptr) return Unexpected("no registered_model in the answer");
  return ParseRegisteredModel(*m);
}

Result<RegisteredModelDetails> RegistryClient::GetRegisteredModel(const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->MlflowGet("registered-models/get", {{"name", name}}));
  const json* m = Field(j, "registered_model");
  if (m == nullptr) return Unexpected("no registered_model in the answer");
  return ParseRegisteredModelDetails(*m);
}

namespace {

std::vector<std::pair<std::string, std::string>> SearchParams(const RegistrySearch& q) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!q.filter.empty()) params.emplace_back("filter", q.filter);
  if (q.max_results > 0) params.emplace_back("max_results", std::to_string(q.max_results));
  for (const auto& o : q.order_by) params.emplace_back("order_by", o);
  if (!q.page_token.empty()) params.emplace_back("page_token", q.page_token);
  return params;
}

// Pages through `search` until `limit` items (0: all) or the last page.
template <typename Item, typename Query, typename SearchOne>
Result<std::vector<Item>> Collect(Query query, int64_t limit, SearchOne search_one) {
  std::vector<Item> all;
  for (;;) {
    if (limit > 0) {
      int64_t left = limit - static_cast<int64_t>(all.size());
      query.max_results = query.max_results > 0 ? std::min(query.max_results, left) : left;
    }
    CAIRN_ASSIGN_OR_RETURN(auto page, search_one(query));
    for (auto& item : page.first) all.push_back(std::move(item));
    if (limit > 0 && static_cast<int64_t>(all.size()) >= limit) break;
    if (page.second.empty() || page.second == query.page_token) break;
    query.page_token = std::move(page.second);
  }
  if (limit > 0 && static_cast<int64_t>(all.size()) > limit) all.resize(limit);
  return all;
}

}  // namespace

Result<RegisteredModelSearchPage> RegistryClient::SearchRegisteredModels(
    const RegistrySearch& query) {
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->MlflowGet("registered-models/search", SearchParams(query)));
  RegisteredModelSearchPage page;
  CAIRN_ASSIGN_OR_RETURN(page.models, ParseList<RegisteredModelDetails>(
                                          j, "registered_models", ParseRegisteredModelDetails));
  CAIRN_ASSIGN_OR_RETURN(page.next_page_token, NextPageToken(j));
  return page;
}

Result<std::vector<RegisteredModelDetails>> RegistryClient::SearchAllRegisteredModels(
    RegistrySearch query, int64_t limit) {
  return Collect<RegisteredModelDetails>(
      std::move(query), limit,
      [this](const RegistrySearch& q)
          -> Result<std::pair<std::vector<RegisteredModelDetails>, std::string>> {
        CAIRN_ASSIGN_OR_RETURN(auto page, SearchRegisteredModels(q));
        return std::make_pair(std::move(page.models), std::move(page.next_page_token));
      });
}

Status RegistryClient::DeleteRegisteredModel(const std::string& name) {
  CAIRN_RETURN_IF_ERROR(impl_->Mlflow("DELETE", "registered-models/delete", json{{"name", name}}));
  return {};
}

Status RegistryClient::SetRegisteredModelTag(const std::string& name, const std::string& key,
                                             const std::string& value) {
  CAIRN_RETURN_IF_ERROR(impl_->Mlflow("POST", "registered-models/set-tag",
                                      json{{"name", name}, {"key", key}, {"value", value}}));
  return {};
}

Status RegistryClient::DeleteRegisteredModelTag(const std::string& name, const std::string& key) {
  CAIRN_RETURN_IF_ERROR(
      impl_->Mlflow("DELETE", "registered-models/delete-tag", json{{"name", name}, {"key", key}}));
  return {};
}

Result<std::vector<store::ModelVersion>> RegistryClient::GetLatestVersions(
    const std::string& name, const std::vector<std::string>& stages) {
  json body{{"name", name}};
  if (!stages.empty()) body["stages"] = stages;
  CAIRN_ASSIGN_OR_RETURN(json j,
                         impl_->Mlflow("POST", "registered-models/get-latest-versions", body));
  return ParseList<store::ModelVersion>(j, "model_versions", ParseModelVersion);
}

// ----------------------------------------------------------- model versions

Result<store::ModelVersion> RegistryClient::CreateModelVersion(
    const CreateModelVersionRequest& request) {
  json body{{"name", request.name}, {"source", request.source}};
  if (!request.run_id.empty()) body["run_id"] = request.run_id;
  if (!request.run_link.empty()) body["run_link"] = request.run_link;
  if (!request.description.empty()) body["description"] = request.description;
  if (!request.model_id.empty()) body["model_id"] = request.model_id;
  if (!request.tags.empty()) body["tags"] = TagsJson(request.tags);
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Mlflow("POST", "model-versions/create", body));
  const json* v = Field(j, "model_version");
  if (v == nullptr) return Unexpected("no model_version in the answer");
  return ParseModelVersion(*v);
}

Result<RegisterModelResult> RegistryClient::RegisterModel(const RegisterModelRequest& request) {
  if (request.name.empty()) return InvalidArgument("a registered model name is required");
  if (request.source.empty()) return InvalidArgument("a model source is required");
  RegisterModelResult out;
  auto created = CreateRegisteredModel(request.name);
  if (created) {
    out.created_registered_model = true;
  } else if (created.error().code() != ErrorCode::kAlreadyExists) {
    return std::unexpected(created.error());
  }
  CreateModelVersionRequest v;
  v.name = request.name;
  v.source = request.source;
  v.run_id = request.run_id.empty() ? RunIdFromSource(request.source) : request.run_id;
  v.tags = request.tags;
  CAIRN_ASSIGN_OR_RETURN(out.version, CreateModelVersion(v));
  return out;
}

Result<store::ModelVersion> RegistryClient::GetModelVersion(const std::string& name,
                                                            int64_t version) {
  CAIRN_ASSIGN_OR_RETURN(json j,
                         impl_->MlflowGet("model-versions/get",
                                          {{"name", name}, {"version", std::to_string(version)}}));
  const json* v = Field(j, "model_version");
  if (v == nullptr) return Unexpected("no model_version in the answer");
  return ParseModelVersion(*v);
}

Result<ModelVersionSearchPage> RegistryClient::SearchModelVersions(const RegistrySearch& query) {
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->MlflowGet("model-versions/search", SearchParams(query)));
  ModelVersionSearchPage page;
  CAIRN_ASSIGN_OR_RETURN(page.versions,
                         ParseList<store::ModelVersion>(j, "model_versions", ParseModelVersion));
  CAIRN_ASSIGN_OR_RETURN(page.next_page_token, NextPageToken(j));
  return page;
}

Result<std::vector<store::ModelVersion>> RegistryClient::SearchAllModelVersions(
    RegistrySearch query, int64_t limit) {
  return Collect<store::ModelVersion>(
      std::move(query), limit,
      [this](const RegistrySearch& q)
          -> Result<std::pair<std::vector<store::ModelVersion>, std::string>> {
        CAIRN_ASSIGN_OR_RETURN(auto page, SearchModelVersions(q));
        return std::make_pair(std::move(page.versions), std::move(page.next_page_token));
      });
}

Status RegistryClient::DeleteModelVersion(const std::string& name, int64_t version) {
  CAIRN_RETURN_IF_ERROR(impl_->Mlflow("DELETE", "model-versions/delete",
                                      json{{"name", name}, {"version", std::to_string(version)}}));
  return {};
}

Status RegistryClient::SetModelVersionTag(const std::string& name, int64_t version,
                                          const std::string& key, const std::string& value) {
  CAIRN_RETURN_IF_ERROR(impl_->Mlflow(
      "POST", "model-versions/set-tag",
      json{{"name", name}, {"version", std::to_string(version)}, {"key", key}, {"value", value}}));
  return {};
}

Result<std::string> RegistryClient::GetModelVersionDownloadUri(const std::string& name,
                                                               int64_t version) {
  CAIRN_ASSIGN_OR_RETURN(json j,
                         impl_->MlflowGet("model-versions/get-download-uri",
                                          {{"name", name}, {"version", std::to_string(version)}}));
  const json* uri = Field(j, "artifact_uri");
  if (uri == nullptr || !uri->is_string()) return Unexpected("no artifact_uri in the answer");
  return uri->get<std::string>();
}

// ------------------------------------------------------------------ aliases

Result<store::ModelVersion> RegistryClient::GetModelVersionByAlias(const std::string& name,
                                                                   const std::string& alias) {
  CAIRN_ASSIGN_OR_RETURN(
      json j, impl_->MlflowGet("registered-models/alias", {{"name", name}, {"alias", alias}}));
  const json* v = Field(j, "model_version");
  if (v == nullptr) return Unexpected("no model_version in the answer");
  return ParseModelVersion(*v);
}

Status RegistryClient::DeleteAlias(const std::string& name, const std::string& alias) {
  CAIRN_RETURN_IF_ERROR(
      impl_->Mlflow("DELETE", "registered-models/alias", json{{"name", name}, {"alias", alias}}));
  return {};
}

// ------------------------------------------------------- approvable changes

Result<ChangeOutcome> RegistryClient::SetAlias(const std::string& name, const std::string& alias,
                                               int64_t version, const std::string& comment) {
  json body{{"version", std::to_string(version)}, {"comment", comment}};
  bool absent = false;
  CAIRN_ASSIGN_OR_RETURN(
      json j, impl_->Native("POST", Impl::ModelPath(name) + "/aliases/" + Segment(alias), &body, {},
                            "set-alias", &absent));
  if (!absent) return ParseChangeOutcome(j);
  // A stock MLflow server: its own endpoint (no approvals there).
  CAIRN_RETURN_IF_ERROR(
      impl_->Mlflow("POST", "registered-models/alias",
                    json{{"name", name}, {"alias", alias}, {"version", std::to_string(version)}}));
  ChangeOutcome o;
  o.outcome = "applied";
  CAIRN_ASSIGN_OR_RETURN(o.model_version, GetModelVersion(name, version));
  return o;
}

Result<ChangeOutcome> RegistryClient::TransitionStage(const std::string& name, int64_t version,
                                                      const std::string& stage,
                                                      bool archive_existing_versions,
                                                      const std::string& comment) {
  json body{{"stage", stage},
            {"archive_existing_versions", archive_existing_versions},
            {"comment", comment}};
  bool absent = false;
  CAIRN_ASSIGN_OR_RETURN(
      json j, impl_->Native(
                  "POST", Impl::ModelPath(name) + "/versions/" + std::to_string(version) + "/stage",
                  &body, {}, "transition", &absent));
  if (!absent) return ParseChangeOutcome(j);
  CAIRN_ASSIGN_OR_RETURN(
      json mv, impl_->Mlflow("POST", "model-versions/transition-stage",
                             json{{"name", name},
                                  {"version", std::to_string(version)},
                                  {"stage", stage},
                                  {"archive_existing_versions", archive_existing_versions}}));
  const json* v = Field(mv, "model_version");
  if (v == nullptr) return Unexpected("no model_version in the answer");
  ChangeOutcome o;
  o.outcome = "applied";
  CAIRN_ASSIGN_OR_RETURN(o.model_version, ParseModelVersion(*v));
  return o;
}

Result<ChangeOutcome> RegistryClient::RollbackAlias(const std::string& name,
                                                    const std::string& alias) {
  json body = json::object();
  CAIRN_ASSIGN_OR_RETURN(
      json j,
      impl_->Native("POST", Impl::ModelPath(name) + "/aliases/" + Segment(alias) + "/rollback",
                    &body, {}, "rollback"));
  return ParseChangeOutcome(j);
}

Result<store::RegisteredModel> RegistryClient::SetProtectedTargets(
    const std::string& name, const std::vector<std::string>& targets) {
  json body{{"targets", targets}};
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Native("PUT", Impl::ModelPath(name) + "/protected-targets",
                                               &body, {}, "protecting targets"));
  const json* m = Field(j, "registered_model");
  if (m == nullptr) return Unexpected("no registered_model in the answer");
  return ParseRegisteredModel(*m);
}

// ---------------------------------------------------------------- approvals

Result<std::vector<store::ApprovalRequest>> RegistryClient::ListApprovals(
    const std::string& model, const std::string& status) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!model.empty()) params.emplace_back("model", model);
  if (!status.empty()) params.emplace_back("status", status);
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Native("GET", "approvals", nullptr, params, "approvals"));
  return ParseList<store::ApprovalRequest>(j, "approvals", ParseApprovalRequest);
}

Result<ChangeOutcome> RegistryClient::DecideApproval(int64_t id, bool approve,
                                                     const std::string& comment) {
  json body{{"comment", comment}};
  CAIRN_ASSIGN_OR_RETURN(
      json j,
      impl_->Native("POST", "approvals/" + std::to_string(id) + (approve ? "/approve" : "/reject"),
                    &body, {}, "approvals"));
  return ParseChangeOutcome(j);
}

// ------------------------------------------------- audit, webhooks, lineage

Result<AuditEntriesPage> RegistryClient::SearchAudit(const AuditSearch& q) {
  std::vector<std::pair<std::string, std::string>> params;
  std::string path = "audit";
  if (!q.model.empty()) {
    path = Impl::ModelPath(q.model) + "/audit";
  } else {
    if (!q.entity_type.empty()) params.emplace_back("entity_type", q.entity_type);
    if (!q.entity_id.empty()) params.emplace_back("entity_id", q.entity_id);
  }
  if (!q.actor.empty()) params.emplace_back("actor", q.actor);
  if (q.since) params.emplace_back("since", std::to_string(*q.since));
  if (q.until) params.emplace_back("until", std::to_string(*q.until));
  if (q.max_results > 0) params.emplace_back("max_results", std::to_string(q.max_results));
  if (!q.page_token.empty()) params.emplace_back("page_token", q.page_token);
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Native("GET", path, nullptr, params, "the audit log"));
  AuditEntriesPage page;
  CAIRN_ASSIGN_OR_RETURN(page.entries, ParseList<store::AuditEntry>(j, "entries", ParseAuditEntry));
  CAIRN_ASSIGN_OR_RETURN(page.next_page_token, NextPageToken(j));
  return page;
}

Result<std::vector<store::AuditEntry>> RegistryClient::SearchAllAudit(AuditSearch query,
                                                                      int64_t limit) {
  return Collect<store::AuditEntry>(
      std::move(query), limit,
      [this](
          const AuditSearch& q) -> Result<std::pair<std::vector<store::AuditEntry>, std::string>> {
        CAIRN_ASSIGN_OR_RETURN(auto page, SearchAudit(q));
        return std::make_pair(std::move(page.entries), std::move(page.next_page_token));
      });
}

Result<store::Webhook> RegistryClient::CreateWebhook(const CreateWebhookRequest& request) {
  json body{{"model", request.model},
            {"url", request.url},
            {"events", request.events},
            {"secret", request.secret}};
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Native("POST", "webhooks", &body, {}, "webhooks"));
  const json* w = Field(j, "webhook");
  if (w == nullptr) return Unexpected("no webhook in the answer");
  return ParseWebhook(*w);
}

Result<std::vector<store::Webhook>> RegistryClient::ListWebhooks(const std::string& model) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!model.empty()) params.emplace_back("model", model);
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Native("GET", "webhooks", nullptr, params, "webhooks"));
  return ParseList<store::Webhook>(j, "webhooks", ParseWebhook);
}

Status RegistryClient::DeleteWebhook(int64_t id) {
  CAIRN_RETURN_IF_ERROR(
      impl_->Native("DELETE", "webhooks/" + std::to_string(id), nullptr, {}, "webhooks"));
  return {};
}

Result<std::vector<store::WebhookDelivery>> RegistryClient::ListDeliveries(int64_t webhook_id,
                                                                           int64_t max_results) {
  std::vector<std::pair<std::string, std::string>> params;
  if (max_results > 0) params.emplace_back("max_results", std::to_string(max_results));
  CAIRN_ASSIGN_OR_RETURN(
      json j, impl_->Native("GET", "webhooks/" + std::to_string(webhook_id) + "/deliveries",
                            nullptr, params, "webhooks"));
  return ParseList<store::WebhookDelivery>(j, "deliveries", ParseWebhookDelivery);
}

Result<VersionLineage> RegistryClient::GetLineage(const std::string& name, int64_t version) {
  CAIRN_ASSIGN_OR_RETURN(json j, impl_->Native("GET",
                                               Impl::ModelPath(name) + "/versions/" +
                                                   std::to_string(version) + "/lineage",
                                               nullptr, {}, "lineage"));
  return ParseLineage(j);
}

Result<std::vector<store::ModelVersion>> RegistryClient::VersionsUsingDataset(
    const std::string& digest, const std::string& name) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!name.empty()) params.emplace_back("name", name);
  CAIRN_ASSIGN_OR_RETURN(
      json j, impl_->Native("GET", "datasets/" + Segment(digest) + "/model-versions", nullptr,
                            params, "dataset lineage"));
  return ParseList<store::ModelVersion>(j, "model_versions", ParseModelVersion);
}

// ---------------------------------------------------------------- downloads

Result<std::string> RegistryClient::DownloadModelVersion(const std::string& name, int64_t version,
                                                         const std::string& dst_dir) {
  CAIRN_ASSIGN_OR_RETURN(std::string uri, GetModelVersionDownloadUri(name, version));
  return DownloadArtifactUri(uri, dst_dir);
}

Result<std::string> RegistryClient::DownloadArtifactUri(const std::string& artifact_uri,
                                                        const std::string& dst_dir) {
  CAIRN_ASSIGN_OR_RETURN(std::string resolved, impl_->ResolveModelUri(artifact_uri));
  CAIRN_ASSIGN_OR_RETURN(ArtifactLocation loc, ResolveArtifactLocation(resolved, impl_->base));
  std::error_code ec;
  fs::path dst = fs::absolute(dst_dir, ec);
  if (ec) return InvalidArgument("bad destination '" + dst_dir + "': " + ec.message());
  fs::create_directories(dst, ec);
  if (ec) return Internal("cannot create '" + dst.string() + "': " + ec.message());
  int64_t files = 0;
  if (loc.kind == ArtifactLocation::Kind::kLocal) {
    if (fs::is_regular_file(loc.local_dir, ec)) {
      // A location naming a single file: fetch it as dst/<file name>.
      fs::path file(loc.local_dir);
      ArtifactLocation parent = loc;
      parent.local_dir = file.parent_path().string();
      CAIRN_RETURN_IF_ERROR(
          DownloadArtifactTree(impl_->transport, parent, file.filename().string(), dst, &files));
      return dst.string();
    }
    if (!fs::is_directory(loc.local_dir, ec)) {
      return NotFound("artifact location '" + artifact_uri + "' does not exist");
    }
  }
  CAIRN_RETURN_IF_ERROR(DownloadArtifactTree(impl_->transport, loc, "", dst, &files));
  if (files == 0) return NotFound("no files at '" + artifact_uri + "'");
  return dst.string();
}

}  // namespace cairn::client
