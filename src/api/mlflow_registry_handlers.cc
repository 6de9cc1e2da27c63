// MLflow registered-models/ and model-versions/ endpoints:
// parse -> RegistryService -> render.

#include "api/mlflow_registry_handlers.h"

#include "api/registry_json.h"
#include "api/registry_request.h"
#include "api/request_fields.h"
#include "tracking/validation.h"

namespace cairn::api::mlflow_registry {
namespace {

std::string Empty() { return "{}"; }

// MLflow sends versions as strings ("3"); a number is accepted too.
Result<int64_t> RequiredVersion(const RequestFields& f) {
  auto it = f.json().find("version");
  if (it != f.json().end() && it->is_number_integer()) return it->get<int64_t>();
  CAIRN_ASSIGN_OR_RETURN(std::string text, RequiredString(f, "version"));
  return VersionFromText(text);
}

// A protobuf bool: true/false, or "true"/"false" from a query string.
Result<bool> OptionalBool(const RequestFields& f, std::string_view name) {
  auto it = f.json().find(name);
  if (it == f.json().end() || it->is_null()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    if (s == "true" || s == "True") return true;
    if (s == "false" || s == "False") return false;
  }
  return std::unexpected(tracking::WrongType(name, CompactJson(*it), PythonTypeName(*it)));
}

Result<registry::SearchRequest> ParseSearch(const RequestFields& f) {
  registry::SearchRequest r;
  CAIRN_ASSIGN_OR_RETURN(r.filter, f.StringOrEmpty("filter"));
  CAIRN_ASSIGN_OR_RETURN(r.max_results, f.Int64("max_results"));
  CAIRN_ASSIGN_OR_RETURN(r.order_by, f.StringList("order_by"));
  CAIRN_ASSIGN_OR_RETURN(r.page_token, f.StringOrEmpty("page_token"));
  return r;
}

// MLflow answers registered models with their latest version per stage. A
// failure to read those after a successful change must not turn the change
// into an error: the model is then rendered without them.
std::optional<std::vector<store::ModelVersion>> LatestVersionsOf(registry::RegistryService& s,
                                                                 const std::string& name) {
  Result<std::vector<store::ModelVersion>> latest = s.GetLatestVersions(name, {});
  if (!latest) return std::nullopt;
  return std::move(*latest);
}

std::string RenderModel(registry::RegistryService& s, const store::RegisteredModel& m) {
  std::optional<std::vector<store::ModelVersion>> latest = LatestVersionsOf(s, m.name);
  return RenderRegisteredModelResponse(m, latest ? &*latest : nullptr);
}

std::string PendingMessage(const registry::MutationOutcome& o) {
  if (o.approval) return PendingApprovalMessage(*o.approval);
  return "The change requires approval: a request is pending (see `cairn models approvals list`)";
}

}  // namespace

// ------------------------------------------------------------ registered models

Result<std::string> CreateRegisteredModel(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(std::string description, f.StringOrEmpty("description"));
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::Tag> tags, f.KeyValueList("tags"));
  CAIRN_ASSIGN_OR_RETURN(store::RegisteredModel m,
                         s.CreateRegisteredModel(name, description, tags, ActorOf(req)));
  // A new model has no versions: MLflow answers without latest_versions.
  return RenderRegisteredModelResponse(m);
}

Result<std::string> GetRegisteredModel(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(store::RegisteredModel m, s.GetRegisteredModel(name));
  return RenderModel(s, m);
}

Result<std::string> RenameRegisteredModel(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(std::string new_name, RequiredString(f, "new_name"));
  CAIRN_ASSIGN_OR_RETURN(store::RegisteredModel m,
                         s.RenameRegisteredModel(name, new_name, ActorOf(req)));
  return RenderModel(s, m);
}

Result<std::string> UpdateRegisteredModel(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(std::string description, f.StringOrEmpty("description"));
  CAIRN_ASSIGN_OR_RETURN(store::RegisteredModel m,
                         s.UpdateRegisteredModel(name, description, ActorOf(req)));
  return RenderModel(s, m);
}

Result<std::string> DeleteRegisteredModel(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_RETURN_IF_ERROR(s.DeleteRegisteredModel(name, ActorOf(req)));
  return Empty();
}

Result<std::string> SearchRegisteredModels(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req, {"order_by"}));
  CAIRN_ASSIGN_OR_RETURN(registry::SearchRequest r, ParseSearch(f));
  CAIRN_ASSIGN_OR_RETURN(registry::RegisteredModelsPage page, s.SearchRegisteredModels(r));
  JsonWriter w;
  w.BeginObject();
  // The page's latest versions in one query (not one per model); if that
  // read fails the models are rendered without them, as RenderModel does.
  std::vector<std::string> names;
  for (const store::RegisteredModel& m : page.models) names.push_back(m.name);
  Result<std::vector<std::vector<store::ModelVersion>>> latest = s.GetLatestVersionsOf(names);
  w.Key("registered_models").BeginArray();
  for (size_t i = 0; i < page.models.size(); ++i) {
    WriteRegisteredModel(w, page.models[i], latest ? &(*latest)[i] : nullptr);
  }
  w.EndArray();
  if (!page.next_page_token.empty()) w.Field("next_page_token", page.next_page_token);
  w.EndObject();
  return w.Take();
}

Result<std::string> SetRegisteredModelTag(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  store::Tag tag;
  CAIRN_ASSIGN_OR_RETURN(tag.key, RequiredString(f, "key"));
  CAIRN_ASSIGN_OR_RETURN(tag.value, f.StringOrEmpty("value"));
  CAIRN_RETURN_IF_ERROR(s.SetRegisteredModelTag(name, tag, ActorOf(req)));
  return Empty();
}

Result<std::string> DeleteRegisteredModelTag(registry::RegistryService& s,
                                             const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(std::string key, RequiredString(f, "key"));
  CAIRN_RETURN_IF_ERROR(s.DeleteRegisteredModelTag(name, key, ActorOf(req)));
  return Empty();
}

Result<std::string> GetLatestVersions(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req, {"stages"}));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> stages, f.StringList("stages"));
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::ModelVersion> versions,
                         s.GetLatestVersions(name, stages));
  return RenderModelVersionsResponse(versions);
}

Result<std::string> SetAlias(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(std::string alias, RequiredString(f, "alias"));
  CAIRN_ASSIGN_OR_RETURN(int64_t version, RequiredVersion(f));
  CAIRN_ASSIGN_OR_RETURN(registry::MutationOutcome o,
                         s.SetAlias(name, alias, version, ActorOf(req)));
  if (o.pending) return FailedPrecondition(PendingMessage(o));
  return Empty();
}

Result<std::string> DeleteAlias(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(std::string alias, RequiredString(f, "alias"));
  CAIRN_RETURN_IF_ERROR(s.DeleteAlias(name, alias, ActorOf(req)));
  return Empty();
}

Result<std::string> GetVersionByAlias(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(std::string alias, RequiredString(f, "alias"));
  CAIRN_ASSIGN_OR_RETURN(store::ModelVersion v, s.GetVersionByAlias(name, alias));
  return RenderModelVersionResponse(v);
}

// ---------------------------------------------------------------- model versions

Result<std::string> CreateModelVersion(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  registry::CreateVersionRequest r;
  CAIRN_ASSIGN_OR_RETURN(r.name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(r.source, RequiredString(f, "source"));
  CAIRN_ASSIGN_OR_RETURN(r.run_id, f.StringOrEmpty("run_id"));
  CAIRN_ASSIGN_OR_RETURN(r.run_link, f.StringOrEmpty("run_link"));
  CAIRN_ASSIGN_OR_RETURN(r.description, f.StringOrEmpty("description"));
  CAIRN_ASSIGN_OR_RETURN(r.model_id, f.StringOrEmpty("model_id"));
  CAIRN_ASSIGN_OR_RETURN(r.tags, f.KeyValueList("tags"));
  CAIRN_ASSIGN_OR_RETURN(store::ModelVersion v, s.CreateModelVersion(r, ActorOf(req)));
  return RenderModelVersionResponse(v);
}

Result<std::string> GetModelVersion(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(int64_t version, RequiredVersion(f));
  CAIRN_ASSIGN_OR_RETURN(store::ModelVersion v, s.GetModelVersion(name, version));
  return RenderModelVersionResponse(v);
}

Result<std::string> UpdateModelVersion(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(int64_t version, RequiredVersion(f));
  CAIRN_ASSIGN_OR_RETURN(std::string description, f.StringOrEmpty("description"));
  CAIRN_ASSIGN_OR_RETURN(store::ModelVersion v,
                         s.UpdateModelVersion(name, version, description, ActorOf(req)));
  return RenderModelVersionResponse(v);
}

Result<std::string> DeleteModelVersion(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(int64_t version, RequiredVersion(f));
  CAIRN_RETURN_IF_ERROR(s.DeleteModelVersion(name, version, ActorOf(req)));
  return Empty();
}

Result<std::string> SearchModelVersions(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req, {"order_by"}));
  CAIRN_ASSIGN_OR_RETURN(registry::SearchRequest r, ParseSearch(f));
  CAIRN_ASSIGN_OR_RETURN(registry::ModelVersionsPage page, s.SearchModelVersions(r));
  return RenderModelVersionsResponse(page.versions, page.next_page_token);
}

Result<std::string> SetModelVersionTag(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(int64_t version, RequiredVersion(f));
  store::Tag tag;
  CAIRN_ASSIGN_OR_RETURN(tag.key, RequiredString(f, "key"));
  CAIRN_ASSIGN_OR_RETURN(tag.value, f.StringOrEmpty("value"));
  CAIRN_RETURN_IF_ERROR(s.SetModelVersionTag(name, version, tag, ActorOf(req)));
  return Empty();
}

Result<std::string> DeleteModelVersionTag(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(int64_t version, RequiredVersion(f));
  CAIRN_ASSIGN_OR_RETURN(std::string key, RequiredString(f, "key"));
  CAIRN_RETURN_IF_ERROR(s.DeleteModelVersionTag(name, version, key, ActorOf(req)));
  return Empty();
}

Result<std::string> GetDownloadUri(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(int64_t version, RequiredVersion(f));
  CAIRN_ASSIGN_OR_RETURN(std::string uri, s.GetDownloadUri(name, version));
  JsonWriter w;
  w.BeginObject().Field("artifact_uri", uri).EndObject();
  return w.Take();
}

Result<std::string> TransitionStage(registry::RegistryService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, RequiredString(f, "name"));
  CAIRN_ASSIGN_OR_RETURN(int64_t version, RequiredVersion(f));
  CAIRN_ASSIGN_OR_RETURN(std::string stage, RequiredString(f, "stage"));
  CAIRN_ASSIGN_OR_RETURN(bool archive, OptionalBool(f, "archive_existing_versions"));
  CAIRN_ASSIGN_OR_RETURN(registry::MutationOutcome o,
                         s.TransitionStage(name, version, stage, archive, ActorOf(req)));
  if (o.pending) return FailedPrecondition(PendingMessage(o));
  if (o.version) return RenderModelVersionResponse(*o.version);
  CAIRN_ASSIGN_OR_RETURN(store::ModelVersion v, s.GetModelVersion(name, version));
  return RenderModelVersionResponse(v);
}

}  // namespace cairn::api::mlflow_registry
