// Native /api/v1 endpoints: parse -> TrackingService -> render.

#include "api/native_v1_handlers.h"

#include "api/mlflow_json.h"
#include "api/request_fields.h"

namespace cairn::api::native {

Result<std::string> Health(tracking::TrackingService&, const http::Request&) {
  return std::string(R"({"status":"ok"})");
}

namespace {

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
    r.max_results = *n;
  }
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
  w.EndObject();
  return w.Take();
}

}  // namespace

Result<std::string> ExperimentSubresource(tracking::TrackingService& s, const http::Request& req) {
  std::string_view suffix = req.route_suffix;
  size_t slash = suffix.find('/');
  if (slash != std::string_view::npos && suffix.substr(slash + 1) == "runs") {
    return SearchExperimentRuns(s, req, std::string(suffix.substr(0, slash)));
  }
  return MakeError(ErrorCode::kEndpointNotFound,
                   "No endpoint GET " + req.path + " (try /api/v1/experiments/{id}/runs)");
}

}  // namespace cairn::api::native
