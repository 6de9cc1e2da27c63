// MLflow 3 logged-models/ endpoints and runs/outputs: parse -> TrackingService
// -> render (see mlflow_handlers.h for the routes).

#include <string_view>

#include "api/mlflow_handlers.h"
#include "api/mlflow_json.h"
#include "api/request_fields.h"
#include "tracking/validation.h"

namespace cairn::api::mlflow {
namespace {

const std::vector<std::string_view> kStatusNames = {"LOGGED_MODEL_STATUS_UNSPECIFIED",
                                                    "LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY",
                                                    "LOGGED_MODEL_UPLOAD_FAILED"};

std::string RenderModel(const store::LoggedModel& m) {
  JsonWriter w;
  w.BeginObject();
  w.Key("model");
  WriteLoggedModel(w, m);
  w.EndObject();
  return w.Take();
}

std::unexpected<Error> NoEndpoint(const http::Request& req) {
  return MakeError(ErrorCode::kEndpointNotFound,
                   "No endpoint " + std::string(http::MethodName(req.method)) + " " + req.path);
}

// A JSON array field of objects; absent or null is empty.
Result<const nlohmann::json*> ObjectArray(const RequestFields& f, std::string_view name) {
  auto it = f.json().find(std::string(name));
  if (it == f.json().end() || it->is_null()) return nullptr;
  if (!it->is_array()) {
    return std::unexpected(tracking::WrongType(name, CompactJson(*it), PythonTypeName(*it)));
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const nlohmann::json& item = (*it)[i];
    if (!item.is_object()) {
      return std::unexpected(tracking::WrongType(std::string(name) + "[" + std::to_string(i) + "]",
                                                 CompactJson(item), PythonTypeName(item)));
    }
  }
  return &*it;
}

// A string member of an object; "" when absent or null.
Result<std::string> MemberString(const nlohmann::json& obj, const char* key,
                                 const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::string();
  return JsonToString(*it, path + "." + key);
}

Result<std::vector<store::Param>> ParamsOf(const RequestFields& f) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::Tag> kv, f.KeyValueList("params"));
  std::vector<store::Param> out;
  out.reserve(kv.size());
  for (store::Tag& t : kv) out.push_back(store::Param{std::move(t.key), std::move(t.value)});
  return out;
}

Result<std::string> GetModel(tracking::TrackingService& s, const http::Request& req,
                             const std::string& model_id) {
  std::string allow = req.QueryParam("allow_deleted").value_or("false");
  for (char& c : allow) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  CAIRN_ASSIGN_OR_RETURN(store::LoggedModel m, s.GetLoggedModel(model_id, allow == "true"));
  return RenderModel(m);
}

Result<std::string> FinalizeModel(tracking::TrackingService& s, const http::Request& req,
                                  const std::string& model_id) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> status, f.Enum("status", kStatusNames, 0));
  if (!status) return std::unexpected(tracking::MissingRequired("status"));
  CAIRN_ASSIGN_OR_RETURN(store::LoggedModel m, s.FinalizeLoggedModel(model_id, *status));
  return RenderModel(m);
}

Result<std::string> SetModelTags(tracking::TrackingService& s, const http::Request& req,
                                 const std::string& model_id) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::Tag> tags, f.KeyValueList("tags"));
  CAIRN_RETURN_IF_ERROR(s.SetLoggedModelTags(model_id, tags));
  return std::string("{}");
}

Result<std::string> LogModelParams(tracking::TrackingService& s, const http::Request& req,
                                   const std::string& model_id) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::Param> params, ParamsOf(f));
  CAIRN_RETURN_IF_ERROR(s.LogLoggedModelParams(model_id, params));
  return std::string("{}");
}

}  // namespace

Result<std::string> CreateLoggedModel(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  tracking::CreateLoggedModelRequest r;
  CAIRN_ASSIGN_OR_RETURN(r.experiment_id, f.StringOrEmpty("experiment_id"));
  CAIRN_ASSIGN_OR_RETURN(r.name, f.StringOrEmpty("name"));
  CAIRN_ASSIGN_OR_RETURN(r.model_type, f.StringOrEmpty("model_type"));
  CAIRN_ASSIGN_OR_RETURN(r.source_run_id, f.StringOrEmpty("source_run_id"));
  CAIRN_ASSIGN_OR_RETURN(r.tags, f.KeyValueList("tags"));
  CAIRN_ASSIGN_OR_RETURN(r.params, ParamsOf(f));
  CAIRN_ASSIGN_OR_RETURN(store::LoggedModel m, s.CreateLoggedModel(r));
  return RenderModel(m);
}

Result<std::string> SearchLoggedModels(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req, {"experiment_ids"}));
  tracking::SearchLoggedModelsRequest r;
  CAIRN_ASSIGN_OR_RETURN(r.experiment_ids, f.StringList("experiment_ids"));
  CAIRN_ASSIGN_OR_RETURN(r.filter, f.StringOrEmpty("filter"));
  CAIRN_ASSIGN_OR_RETURN(r.max_results, f.Int64("max_results"));
  CAIRN_ASSIGN_OR_RETURN(r.page_token, f.StringOrEmpty("page_token"));
  CAIRN_ASSIGN_OR_RETURN(const nlohmann::json* order_by, ObjectArray(f, "order_by"));
  if (order_by != nullptr) {
    for (size_t i = 0; i < order_by->size(); ++i) {
      const nlohmann::json& o = (*order_by)[i];
      std::string path = "order_by[" + std::to_string(i) + "]";
      tracking::LoggedModelOrderBy ob;
      CAIRN_ASSIGN_OR_RETURN(ob.field_name, MemberString(o, "field_name", path));
      auto asc = o.find("ascending");
      if (asc != o.end() && !asc->is_null()) {
        if (!asc->is_boolean()) {
          return std::unexpected(
              tracking::WrongType(path + ".ascending", CompactJson(*asc), PythonTypeName(*asc)));
        }
        ob.ascending = asc->get<bool>();
      }
      CAIRN_ASSIGN_OR_RETURN(ob.dataset_name, MemberString(o, "dataset_name", path));
      CAIRN_ASSIGN_OR_RETURN(ob.dataset_digest, MemberString(o, "dataset_digest", path));
      r.order_by.push_back(std::move(ob));
    }
  }
  CAIRN_ASSIGN_OR_RETURN(const nlohmann::json* datasets, ObjectArray(f, "datasets"));
  if (datasets != nullptr) {
    for (size_t i = 0; i < datasets->size(); ++i) {
      CAIRN_ASSIGN_OR_RETURN(std::string name, MemberString((*datasets)[i], "dataset_name",
                                                            "datasets[" + std::to_string(i) + "]"));
      r.datasets.push_back(std::move(name));
    }
  }
  CAIRN_ASSIGN_OR_RETURN(tracking::LoggedModelsPage page, s.SearchLoggedModels(r));
  JsonWriter w;
  w.BeginObject();
  w.Key("models").BeginArray();
  for (const store::LoggedModel& m : page.models) WriteLoggedModel(w, m);
  w.EndArray();
  if (!page.next_page_token.empty()) w.Field("next_page_token", page.next_page_token);
  w.EndObject();
  return w.Take();
}

Result<std::string> LoggedModelSubresource(tracking::TrackingService& s, const http::Request& req) {
  std::string_view suffix = req.route_suffix;
  size_t slash = suffix.find('/');
  std::string model_id(suffix.substr(0, slash));
  if (model_id.empty()) return NoEndpoint(req);
  if (slash == std::string_view::npos) {
    switch (req.method) {
      case http::Method::kGet:
      case http::Method::kHead:
        return GetModel(s, req, model_id);
      case http::Method::kPatch:
        return FinalizeModel(s, req, model_id);
      case http::Method::kDelete:
        CAIRN_RETURN_IF_ERROR(s.DeleteLoggedModel(model_id));
        return std::string("{}");
      default:
        return NoEndpoint(req);
    }
  }
  std::string_view rest = suffix.substr(slash + 1);
  if (rest == "tags" && req.method == http::Method::kPatch) return SetModelTags(s, req, model_id);
  if (rest.starts_with("tags/") && req.method == http::Method::kDelete) {
    CAIRN_RETURN_IF_ERROR(s.DeleteLoggedModelTag(model_id, std::string(rest.substr(5))));
    return std::string("{}");
  }
  if (rest == "params" && req.method == http::Method::kPost) {
    return LogModelParams(s, req, model_id);
  }
  return NoEndpoint(req);
}

Result<std::string> LogOutputs(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string run_id, f.StringOrEmpty("run_id"));
  CAIRN_ASSIGN_OR_RETURN(const nlohmann::json* models, ObjectArray(f, "models"));
  if (models == nullptr) return std::unexpected(tracking::MissingRequired("models"));
  std::vector<store::LoggedModelOutput> outputs;
  for (size_t i = 0; i < models->size(); ++i) {
    const nlohmann::json& m = (*models)[i];
    std::string path = "models[" + std::to_string(i) + "]";
    store::LoggedModelOutput o;
    CAIRN_ASSIGN_OR_RETURN(o.model_id, MemberString(m, "model_id", path));
    auto step = m.find("step");
    if (step != m.end() && !step->is_null()) {
      CAIRN_ASSIGN_OR_RETURN(o.step, JsonToInt64(*step, path + ".step"));
    }
    outputs.push_back(std::move(o));
  }
  CAIRN_RETURN_IF_ERROR(s.LogOutputs(run_id, outputs));
  return std::string("{}");
}

}  // namespace cairn::api::mlflow
