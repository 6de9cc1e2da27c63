// MLflow metrics/ endpoints: parse -> TrackingService -> render.

#include "api/mlflow_handlers.h"
#include "api/mlflow_json.h"
#include "api/request_fields.h"

namespace cairn::api::mlflow {

Result<std::string> GetMetricHistory(tracking::TrackingService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req));
  tracking::MetricHistoryRequest r;
  CAIRN_ASSIGN_OR_RETURN(r.run_id, f.StringOrEmpty("run_id"));
  if (r.run_id.empty()) {
    CAIRN_ASSIGN_OR_RETURN(r.run_id, f.StringOrEmpty("run_uuid"));
  }
  CAIRN_ASSIGN_OR_RETURN(r.metric_key, f.StringOrEmpty("metric_key"));
  CAIRN_ASSIGN_OR_RETURN(r.max_results, f.Int64("max_results"));
  CAIRN_ASSIGN_OR_RETURN(r.page_token, f.StringOrEmpty("page_token"));
  CAIRN_ASSIGN_OR_RETURN(tracking::MetricHistoryPage page, s.GetMetricHistory(r));
  JsonWriter w;
  w.BeginObject();
  w.Key("metrics").BeginArray();
  for (const store::Metric& m : page.metrics) WriteMetric(w, m);
  w.EndArray();
  if (!page.next_page_token.empty()) w.Field("next_page_token", page.next_page_token);
  w.EndObject();
  return w.Take();
}

Result<std::string> GetMetricHistoryBulkInterval(tracking::TrackingService& s,
                                                 const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req, {"run_ids"}));
  tracking::BulkIntervalRequest r;
  CAIRN_ASSIGN_OR_RETURN(r.run_ids, f.StringList("run_ids"));
  CAIRN_ASSIGN_OR_RETURN(r.metric_key, f.StringOrEmpty("metric_key"));
  CAIRN_ASSIGN_OR_RETURN(r.start_step, f.Int64("start_step"));
  CAIRN_ASSIGN_OR_RETURN(r.end_step, f.Int64("end_step"));
  CAIRN_ASSIGN_OR_RETURN(r.max_results, f.Int64("max_results"));
  CAIRN_ASSIGN_OR_RETURN(std::vector<tracking::MetricWithRunId> metrics,
                         s.GetMetricHistoryBulkInterval(r));
  JsonWriter w;
  w.BeginObject();
  w.Key("metrics").BeginArray();
  for (const tracking::MetricWithRunId& m : metrics) WriteMetricWithRunId(w, m);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace cairn::api::mlflow
