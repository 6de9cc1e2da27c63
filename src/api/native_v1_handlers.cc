// Native /api/v1 endpoints: parse -> TrackingService -> render. The runs
// page, an experiment's columns and several runs at once; series, artifact
// content and pipeline runs are in their own files (see the header).

#include "api/native_v1_handlers.h"

#include "api/mlflow_json.h"
#include "api/request_fields.h"

namespace cairn::api::native {

Result<std::string> Health(tracking::TrackingService&, const http::Request&) {
  return std::string(R"({"status":"ok"})");
}

namespace {

// "true"/"1" or "false"/"0"; absent is false.
Result<bool> QueryBool(const http::Request& req, std::string_view name) {
  auto v = req.QueryParam(name);
  if (!v || *v == "false" || *v == "0") return false;
  if (*v == "true" || *v == "1") return true;
  return InvalidArgument(std::string(name) + " must be true or false, got '" + *v + "'");
}

// column=params.lr&column=metrics.loss&column=tags.team -> the keys to load.
// attributes.* are accepted (attributes are always there) and load nothing.
Result<std::optional<store::RunColumns>> ParseColumns(const std::vector<std::string>& columns) {
  if (columns.empty()) return std::optional<store::RunColumns>();
  if (columns.size() > kMaxColumns) {
    return InvalidArgument("at most " + std::to_string(kMaxColumns) + " column parameters, got " +
                           std::to_string(columns.size()));
  }
  store::RunColumns out;
  for (const std::string& c : columns) {
    size_t dot = c.find('.');
    std::string_view kind =
        dot == std::string::npos ? std::string_view(c) : std::string_view(c).substr(0, dot);
    std::string key = dot == std::string::npos ? std::string() : c.substr(dot + 1);
    if (dot == std::string::npos || key.empty()) {
      return InvalidArgument("column '" + c +
                             "' must be params.<key>, metrics.<key>, tags.<key> or "
                             "attributes.<name>");
    }
    if (kind == "params" || kind == "param") {
      out.params.push_back(std::move(key));
    } else if (kind == "metrics" || kind == "metric") {
      out.metrics.push_back(std::move(key));
    } else if (kind == "tags" || kind == "tag") {
      out.tags.push_back(std::move(key));
    } else if (kind == "attributes" || kind == "attribute") {
      bool known = false;
      for (const char* a : kRunAttributes) known = known || key == a;
      if (!known) return InvalidArgument("column '" + c + "' names no run attribute");
    } else {
      return InvalidArgument("column '" + c +
                             "' must start with params., metrics., tags. or attributes.");
    }
  }
  return std::optional<store::RunColumns>(std::move(out));
}

Result<std::string> SearchExperimentRuns(tracking::TrackingService& s, const http::Request& req,
                                         const std::string& experiment_id) {
  tracking::SearchRunsRequest r;
  r.experiment_ids = {experiment_id};
  // The experiment must exist: an unknown id is a 404, not an empty list.
  CAIRN_RETURN_IF_ERROR(s.GetExperiment(experiment_id));
  r.filter = req.QueryParam("filter").value_or("");
  r.order_by = req.QueryParams("order_by");
  r.page_token = req.QueryParam("page_token").value_or("");
  if (auto m = req.QueryParam("max_results")) {
    auto n = ParseInt64Text(*m);
    if (!n) return InvalidArgument("max_results must be an integer, got '" + *m + "'");
    if (*n > kMaxRunsPerPage) {
      return InvalidArgument("max_results must be at most " + std::to_string(kMaxRunsPerPage) +
                             ", got " + *m);
    }
    r.max_results = *n;
  }
  if (auto o = req.QueryParam("offset")) {
    auto n = ParseInt64Text(*o);
    if (!n) return InvalidArgument("offset must be an integer, got '" + *o + "'");
    r.offset = *n;
  }
  CAIRN_ASSIGN_OR_RETURN(r.count_total, QueryBool(req, "count"));
  CAIRN_ASSIGN_OR_RETURN(r.columns, ParseColumns(req.QueryParams("column")));
  std::string view = req.QueryParam("view").value_or("active_only");
  if (view == "active_only") {
    r.view = store::ViewType::kActiveOnly;
  } else if (view == "deleted_only") {
    r.view = store::ViewType::kDeletedOnly;
  } else if (view == "all") {
    r.view = store::ViewType::kAll;
  } else {
    return InvalidArgument("view must be one of active_only, deleted_only, all; got '" + view +
                           "'");
  }
  CAIRN_ASSIGN_OR_RETURN(tracking::RunsPage page, s.SearchRuns(r));
  JsonWriter w;
  w.BeginObject();
  w.Key("runs").BeginArray();
  for (const store::Run& run : page.runs) WriteRun(w, run);
  w.EndArray();
  if (!page.next_page_token.empty()) w.Field("next_page_token", page.next_page_token);
  if (page.total) w.Field("total", *page.total);
  w.EndObject();
  return w.Take();
}

void WriteStrings(JsonWriter& w, std::string_view field, const std::vector<std::string>& items) {
  w.Key(field).BeginArray();
  for (const std::string& s : items) w.String(s);
  w.EndArray();
}

Result<std::string> ExperimentColumns(tracking::TrackingService& s,
                                      const std::string& experiment_id) {
  CAIRN_ASSIGN_OR_RETURN(store::ExperimentColumns cols, s.GetExperimentColumns(experiment_id));
  JsonWriter w;
  w.BeginObject();
  w.Key("attributes").BeginArray();
  for (const char* a : kRunAttributes) w.String(a);
  w.EndArray();
  WriteStrings(w, "params", cols.params);
  WriteStrings(w, "metrics", cols.metrics);
  WriteStrings(w, "tags", cols.tags);
  w.EndObject();
  return w.Take();
}

}  // namespace

Result<std::string> ExperimentSubresource(tracking::TrackingService& s, const http::Request& req) {
  std::string_view suffix = req.route_suffix;
  size_t slash = suffix.find('/');
  if (slash != std::string_view::npos) {
    std::string id(suffix.substr(0, slash));
    std::string_view what = suffix.substr(slash + 1);
    if (what == "runs") return SearchExperimentRuns(s, req, id);
    if (what == "columns") return ExperimentColumns(s, id);
  }
  return MakeError(ErrorCode::kEndpointNotFound,
                   "No endpoint GET " + req.path +
                       " (try /api/v1/experiments/{id}/runs or /api/v1/experiments/{id}/columns)");
}

Result<std::string> GetRuns(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req, {"run_ids"}));
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> ids, f.StringList("run_ids"));
  if (ids.empty()) return InvalidArgument("run_ids must name at least one run");
  if (ids.size() > kMaxRunsPerRequest) {
    return InvalidArgument("run_ids may name at most " + std::to_string(kMaxRunsPerRequest) +
                           " runs, got " + std::to_string(ids.size()));
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("runs").BeginArray();
  for (const std::string& id : ids) {
    // The store's kNotFound names the run: "Run with id=<id> not found".
    CAIRN_ASSIGN_OR_RETURN(store::Run run, s.GetRun(id));
    WriteRun(w, run);
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace cairn::api::native
