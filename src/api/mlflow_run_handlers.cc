// MLflow runs/ endpoints: parse -> TrackingService -> render.

#include "api/log_batch_parser.h"
#include "api/mlflow_handlers.h"
#include "api/mlflow_json.h"
#include "api/request_fields.h"
#include "tracking/validation.h"

namespace cairn::api::mlflow {
namespace {

const std::vector<std::string_view> kStatuses = {"RUNNING", "SCHEDULED", "FINISHED", "FAILED",
                                                 "KILLED"};
const std::vector<std::string_view> kViewTypes = {"ACTIVE_ONLY", "DELETED_ONLY", "ALL"};

std::string Empty() { return "{}"; }

// run_id, or its older alias run_uuid.
Result<std::string> RunIdOf(const RequestFields& f) {
  CAIRN_ASSIGN_OR_RETURN(std::string id, f.StringOrEmpty("run_id"));
  if (!id.empty()) return id;
  return f.StringOrEmpty("run_uuid");
}

std::string RenderRun(const store::Run& run,
                      const std::vector<store::LoggedModelOutput>* outputs = nullptr) {
  JsonWriter w;
  w.BeginObject();
  w.Key("run");
  WriteRun(w, run, outputs);
  w.EndObject();
  return w.Take();
}

// The model-scoped fields MLflow 3 may send on a metric ("model_id",
// "dataset_name", "dataset_digest"). Absent model_id: not a model metric.
Result<std::optional<store::LoggedModelMetric>> ModelMetricFields(const nlohmann::json& m,
                                                                  const std::string& path) {
  if (!m.is_object()) return std::optional<store::LoggedModelMetric>();
  auto field = [&](const char* name, std::string& out) -> Status {
    auto it = m.find(name);
    if (it == m.end() || it->is_null()) return {};
    CAIRN_ASSIGN_OR_RETURN(out, JsonToString(*it, path.empty() ? name : path + "." + name));
    return {};
  };
  store::LoggedModelMetric mm;
  CAIRN_RETURN_IF_ERROR(field("model_id", mm.model_id));
  if (mm.model_id.empty()) return std::optional<store::LoggedModelMetric>();
  CAIRN_RETURN_IF_ERROR(field("dataset_name", mm.dataset_name));
  CAIRN_RETURN_IF_ERROR(field("dataset_digest", mm.dataset_digest));
  return std::optional<store::LoggedModelMetric>(std::move(mm));
}

// Fills key/value/timestamp/step of a model metric from the parsed metric.
store::LoggedModelMetric WithValue(store::LoggedModelMetric mm, const store::Metric& m) {
  mm.key = m.key;
  mm.value = m.value;
  mm.timestamp = m.timestamp;
  mm.step = m.step;
  return mm;
}

// The hot parsers skip model fields; bodies that carry any are read again
// (cold path: only MLflow 3's log_model sends them).
bool MentionsModelId(std::string_view body) {
  return body.find("\"model_id\"") != std::string_view::npos;
}

}  // namespace

Result<std::string> CreateRun(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  tracking::CreateRunRequest r;
  CAIRN_ASSIGN_OR_RETURN(r.experiment_id, f.StringOrEmpty("experiment_id"));
  CAIRN_ASSIGN_OR_RETURN(r.user_id, f.StringOrEmpty("user_id"));
  CAIRN_ASSIGN_OR_RETURN(r.run_name, f.StringOrEmpty("run_name"));
  CAIRN_ASSIGN_OR_RETURN(r.start_time, f.Int64("start_time"));
  CAIRN_ASSIGN_OR_RETURN(r.tags, f.KeyValueList("tags"));
  CAIRN_ASSIGN_OR_RETURN(store::Run run, s.CreateRun(r, ActorOf(req)));
  return RenderRun(run);
}

Result<std::string> GetRun(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string run_id, RunIdOf(f));
  CAIRN_ASSIGN_OR_RETURN(store::Run run, s.GetRun(run_id));
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::LoggedModelOutput> outputs, s.GetRunOutputs(run_id));
  return RenderRun(run, &outputs);
}

Result<std::string> UpdateRun(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  tracking::UpdateRunRequest r;
  CAIRN_ASSIGN_OR_RETURN(r.run_id, RunIdOf(f));
  CAIRN_ASSIGN_OR_RETURN(r.status, f.Enum("status", kStatuses, 1));
  CAIRN_ASSIGN_OR_RETURN(r.end_time, f.Int64("end_time"));
  CAIRN_ASSIGN_OR_RETURN(r.run_name, f.String("run_name"));
  CAIRN_ASSIGN_OR_RETURN(store::RunInfo info, s.UpdateRun(r, ActorOf(req)));
  JsonWriter w;
  w.BeginObject();
  w.Key("run_info");
  WriteRunInfo(w, info);
  w.EndObject();
  return w.Take();
}

Result<std::string> DeleteRun(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string run_id, RunIdOf(f));
  CAIRN_RETURN_IF_ERROR(s.DeleteRun(run_id, ActorOf(req)));
  return Empty();
}

Result<std::string> RestoreRun(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string run_id, RunIdOf(f));
  CAIRN_RETURN_IF_ERROR(s.RestoreRun(run_id, ActorOf(req)));
  return Empty();
}

Result<std::string> LogMetric(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(LogMetricBody body, ParseLogMetricBody(req.body));
  if (MentionsModelId(req.body)) {
    CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromJsonBody(req.body));
    CAIRN_ASSIGN_OR_RETURN(std::optional<store::LoggedModelMetric> mm,
                           ModelMetricFields(f.json(), ""));
    if (mm) {
      CAIRN_RETURN_IF_ERROR(s.LogBatchWithModelMetrics(body.run_id, {body.metric}, {}, {},
                                                       {WithValue(*mm, body.metric)}));
      return Empty();
    }
  }
  CAIRN_RETURN_IF_ERROR(s.LogMetric(body.run_id, body.metric));
  return Empty();
}

Result<std::string> LogParam(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string run_id, RunIdOf(f));
  store::Param p;
  CAIRN_ASSIGN_OR_RETURN(p.key, f.StringOrEmpty("key"));
  CAIRN_ASSIGN_OR_RETURN(p.value, f.StringOrEmpty("value"));
  CAIRN_RETURN_IF_ERROR(s.LogParam(run_id, p));
  return Empty();
}

Result<std::string> SetTag(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string run_id, RunIdOf(f));
  store::Tag t;
  CAIRN_ASSIGN_OR_RETURN(t.key, f.StringOrEmpty("key"));
  CAIRN_ASSIGN_OR_RETURN(t.value, f.StringOrEmpty("value"));
  CAIRN_RETURN_IF_ERROR(s.SetTag(run_id, t));
  return Empty();
}

Result<std::string> DeleteTag(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string run_id, RunIdOf(f));
  CAIRN_ASSIGN_OR_RETURN(std::string key, f.StringOrEmpty("key"));
  CAIRN_RETURN_IF_ERROR(s.DeleteTag(run_id, key));
  return Empty();
}

Result<std::string> LogBatch(tracking::TrackingService& s, const http::Request& req) {
  if (req.body.size() > kMaxLogBatchBodyBytes) {
    return InvalidArgument(
        "Batched logging API requests must be at most " + std::to_string(kMaxLogBatchBodyBytes) +
        " bytes, got a request of size " + std::to_string(req.body.size()) + ".");
  }
  CAIRN_ASSIGN_OR_RETURN(LogBatchBody body, ParseLogBatchBody(req.body));
  if (MentionsModelId(req.body)) {
    CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromJsonBody(req.body));
    std::vector<store::LoggedModelMetric> model_metrics;
    auto metrics = f.json().find("metrics");
    if (metrics != f.json().end() && metrics->is_array() &&
        metrics->size() == body.metrics.size()) {
      for (size_t i = 0; i < metrics->size(); ++i) {
        CAIRN_ASSIGN_OR_RETURN(
            std::optional<store::LoggedModelMetric> mm,
            ModelMetricFields((*metrics)[i], "metrics[" + std::to_string(i) + "]"));
        if (mm) model_metrics.push_back(WithValue(std::move(*mm), body.metrics[i]));
      }
    }
    CAIRN_RETURN_IF_ERROR(s.LogBatchWithModelMetrics(body.run_id, body.metrics, body.params,
                                                     body.tags, model_metrics));
    return Empty();
  }
  CAIRN_RETURN_IF_ERROR(s.LogBatch(body.run_id, body.metrics, body.params, body.tags));
  return Empty();
}

Result<std::string> LogModel(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string run_id, RunIdOf(f));
  CAIRN_ASSIGN_OR_RETURN(std::string model_json, f.StringOrEmpty("model_json"));
  CAIRN_RETURN_IF_ERROR(s.LogModel(run_id, model_json));
  return Empty();
}

Result<std::string> LogInputs(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  CAIRN_ASSIGN_OR_RETURN(std::string run_id, f.StringOrEmpty("run_id"));
  std::vector<store::DatasetInput> inputs;
  const nlohmann::json& j = f.json();
  auto it = j.find("datasets");
  if (it != j.end() && !it->is_null()) {
    if (!it->is_array()) {
      return std::unexpected(
          tracking::WrongType("datasets", CompactJson(*it), PythonTypeName(*it)));
    }
    for (size_t i = 0; i < it->size(); ++i) {
      const nlohmann::json& item = (*it)[i];
      std::string path = "datasets[" + std::to_string(i) + "]";
      if (!item.is_object()) {
        return std::unexpected(tracking::WrongType(path, CompactJson(item), PythonTypeName(item)));
      }
      store::DatasetInput in;
      auto tags = item.find("tags");
      if (tags != item.end() && !tags->is_null()) {
        if (!tags->is_array()) {
          return std::unexpected(
              tracking::WrongType(path + ".tags", CompactJson(*tags), PythonTypeName(*tags)));
        }
        for (size_t k = 0; k < tags->size(); ++k) {
          const nlohmann::json& t = (*tags)[k];
          std::string tp = path + ".tags[" + std::to_string(k) + "]";
          if (!t.is_object()) {
            return std::unexpected(tracking::WrongType(tp, CompactJson(t), PythonTypeName(t)));
          }
          store::Tag tag;
          if (t.contains("key") && !t["key"].is_null()) {
            CAIRN_ASSIGN_OR_RETURN(tag.key, JsonToString(t["key"], tp + ".key"));
          }
          if (t.contains("value") && !t["value"].is_null()) {
            CAIRN_ASSIGN_OR_RETURN(tag.value, JsonToString(t["value"], tp + ".value"));
          }
          in.tags.push_back(std::move(tag));
        }
      }
      auto ds = item.find("dataset");
      if (ds == item.end() || ds->is_null()) {
        return std::unexpected(tracking::MissingRequired(path + ".dataset"));
      }
      if (!ds->is_object()) {
        return std::unexpected(
            tracking::WrongType(path + ".dataset", CompactJson(*ds), PythonTypeName(*ds)));
      }
      auto field = [&](const char* name, std::string& out) -> Status {
        auto v = ds->find(name);
        if (v == ds->end() || v->is_null()) return {};
        CAIRN_ASSIGN_OR_RETURN(out, JsonToString(*v, path + ".dataset." + name));
        return {};
      };
      CAIRN_RETURN_IF_ERROR(field("name", in.dataset.name));
      CAIRN_RETURN_IF_ERROR(field("digest", in.dataset.digest));
      CAIRN_RETURN_IF_ERROR(field("source_type", in.dataset.source_type));
      CAIRN_RETURN_IF_ERROR(field("source", in.dataset.source));
      CAIRN_RETURN_IF_ERROR(field("schema", in.dataset.schema));
      CAIRN_RETURN_IF_ERROR(field("profile", in.dataset.profile));
      inputs.push_back(std::move(in));
    }
  }
  // "models" (logged-model inputs, MLflow 3) are accepted and not recorded.
  CAIRN_RETURN_IF_ERROR(s.LogInputs(run_id, inputs));
  return Empty();
}

Result<std::string> SearchRuns(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::FromRequest(req, {"experiment_ids", "order_by"}));
  tracking::SearchRunsRequest r;
  CAIRN_ASSIGN_OR_RETURN(r.experiment_ids, f.StringList("experiment_ids"));
  CAIRN_ASSIGN_OR_RETURN(r.filter, f.StringOrEmpty("filter"));
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> view, f.Enum("run_view_type", kViewTypes, 1));
  r.view = view == "DELETED_ONLY" ? store::ViewType::kDeletedOnly
           : view == "ALL"        ? store::ViewType::kAll
                                  : store::ViewType::kActiveOnly;
  CAIRN_ASSIGN_OR_RETURN(r.max_results, f.Int64("max_results"));
  CAIRN_ASSIGN_OR_RETURN(r.order_by, f.StringList("order_by"));
  CAIRN_ASSIGN_OR_RETURN(r.page_token, f.StringOrEmpty("page_token"));
  CAIRN_ASSIGN_OR_RETURN(tracking::RunsPage page, s.SearchRuns(r));
  JsonWriter w;
  w.BeginObject();
  w.Key("runs").BeginArray();
  for (const store::Run& run : page.runs) WriteRun(w, run);
  w.EndArray();
  if (!page.next_page_token.empty()) w.Field("next_page_token", page.next_page_token);
  w.EndObject();
  return w.Take();
}

}  // namespace cairn::api::mlflow
