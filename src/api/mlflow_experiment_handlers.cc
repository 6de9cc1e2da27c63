// MLflow experiments/ endpoints: parse -> TrackingService -> render.

#include "api/mlflow_handlers.h"
#include "api/mlflow_json.h"
#include "api/request_fields.h"

namespace cairn::api::mlflow {
namespace {

const std::vector<std::string_view> kViewTypes = {"ACTIVE_ONLY", "DELETED_ONLY", "ALL"};

store::ViewType ToViewType(const std::optional<std::string>& name) {
  if (name == "DELETED_ONLY") return store::ViewType::kDeletedOnly;
  if (name == "ALL") return store::ViewType::kAll;
  return store::ViewType::kActiveOnly;
}

std::string Empty() { return "{}"; }

std::string RenderExperiment(const store::Experiment& e) {
  JsonWriter w;
  w.BeginObject();
  w.Key("experiment");
  WriteExperiment(w, e);
  w.EndObject();
  return w.Take();
}

}  // namespace

Result<std::string> CreateExperiment(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  tracking::CreateExperimentRequest r;
  CAIRN_ASSIGN_OR_RETURN(r.name, f.StringOrEmpty("name"));
  CAIRN_ASSIGN_OR_RETURN(r.artifact_location, f.StringOrEmpty("artifact_location"));
  CAIRN_ASSIGN_OR_RETURN(r.tags, f.KeyValueList("tags"));
  CAIRN_ASSIGN_OR_RETURN(std::string id, s.CreateExperiment(r, ActorOf(req)));
  JsonWriter w;
  w.BeginObject().Field("experiment_id", id).EndObject();
  return w.Take();
}

Result<std::string> GetExperiment(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string id, f.StringOrEmpty("experiment_id"));
  CAIRN_ASSIGN_OR_RETURN(store::Experiment e, s.GetExperiment(id));
  return RenderExperiment(e);
}

Result<std::string> GetExperimentByName(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string name, f.StringOrEmpty("experiment_name"));
  CAIRN_ASSIGN_OR_RETURN(store::Experiment e, s.GetExperimentByName(name));
  return RenderExperiment(e);
}

Result<std::string> SearchExperiments(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req, {"order_by"}));
  tracking::SearchExperimentsRequest r;
  CAIRN_ASSIGN_OR_RETURN(r.max_results, f.Int64("max_results"));
  CAIRN_ASSIGN_OR_RETURN(r.page_token, f.StringOrEmpty("page_token"));
  CAIRN_ASSIGN_OR_RETURN(r.filter, f.StringOrEmpty("filter"));
  CAIRN_ASSIGN_OR_RETURN(r.order_by, f.StringList("order_by"));
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> view, f.Enum("view_type", kViewTypes, 1));
  r.view = ToViewType(view);
  CAIRN_ASSIGN_OR_RETURN(tracking::ExperimentsPage page, s.SearchExperiments(r));
  JsonWriter w;
  w.BeginObject();
  w.Key("experiments").BeginArray();
  for (const store::Experiment& e : page.experiments) WriteExperiment(w, e);
  w.EndArray();
  if (!page.next_page_token.empty()) w.Field("next_page_token", page.next_page_token);
  w.EndObject();
  return w.Take();
}

Result<std::string> UpdateExperiment(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string id, f.StringOrEmpty("experiment_id"));
  CAIRN_ASSIGN_OR_RETURN(std::string new_name, f.StringOrEmpty("new_name"));
  CAIRN_RETURN_IF_ERROR(s.RenameExperiment(id, new_name, ActorOf(req)));
  return Empty();
}

Result<std::string> DeleteExperiment(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string id, f.StringOrEmpty("experiment_id"));
  CAIRN_RETURN_IF_ERROR(s.DeleteExperiment(id, ActorOf(req)));
  return Empty();
}

Result<std::string> RestoreExperiment(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string id, f.StringOrEmpty("experiment_id"));
  CAIRN_RETURN_IF_ERROR(s.RestoreExperiment(id, ActorOf(req)));
  return Empty();
}

Result<std::string> SetExperimentTag(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string id, f.StringOrEmpty("experiment_id"));
  store::Tag tag;
  CAIRN_ASSIGN_OR_RETURN(tag.key, f.StringOrEmpty("key"));
  CAIRN_ASSIGN_OR_RETURN(tag.value, f.StringOrEmpty("value"));
  CAIRN_RETURN_IF_ERROR(s.SetExperimentTag(id, tag, ActorOf(req)));
  return Empty();
}

Result<std::string> DeleteExperimentTag(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string id, f.StringOrEmpty("experiment_id"));
  CAIRN_ASSIGN_OR_RETURN(std::string key, f.StringOrEmpty("key"));
  CAIRN_RETURN_IF_ERROR(s.DeleteExperimentTag(id, key, ActorOf(req)));
  return Empty();
}

}  // namespace cairn::api::mlflow
