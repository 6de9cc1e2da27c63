#pragma once
// MLflow tracking REST handlers (/api/2.0/mlflow/... and /ajax-api/2.0/mlflow/...).
// Each handler parses the request into one TrackingService call and renders
// the result as MLflow's JSON response body; it holds no business rule. An
// error is returned as cairn::Error and rendered by the route table as
// MLflow's {"error_code", "message"} with the mapped status.
//
// Thread-safe: handlers are stateless; the service is thread-safe.
//
// One file per resource: mlflow_experiment_handlers.cc,
// mlflow_run_handlers.cc, mlflow_metric_handlers.cc,
// mlflow_run_artifact_handlers.cc, mlflow_logged_model_handlers.cc.

#include <string>

#include "blob/artifact_repository.h"
#include "core/error.h"
#include "http/server.h"
#include "tracking/tracking_service.h"

namespace cairn::api::mlflow {

// A handler returns the JSON body of a 200 response, or the error to render.
using JsonHandler = Result<std::string> (*)(tracking::TrackingService&, const http::Request&);

// experiments/
Result<std::string> CreateExperiment(tracking::TrackingService& s, const http::Request& req);
Result<std::string> GetExperiment(tracking::TrackingService& s, const http::Request& req);
Result<std::string> GetExperimentByName(tracking::TrackingService& s, const http::Request& req);
Result<std::string> SearchExperiments(tracking::TrackingService& s, const http::Request& req);
Result<std::string> UpdateExperiment(tracking::TrackingService& s, const http::Request& req);
Result<std::string> DeleteExperiment(tracking::TrackingService& s, const http::Request& req);
Result<std::string> RestoreExperiment(tracking::TrackingService& s, const http::Request& req);
Result<std::string> SetExperimentTag(tracking::TrackingService& s, const http::Request& req);
Result<std::string> DeleteExperimentTag(tracking::TrackingService& s, const http::Request& req);

// runs/
Result<std::string> CreateRun(tracking::TrackingService& s, const http::Request& req);
Result<std::string> GetRun(tracking::TrackingService& s, const http::Request& req);
Result<std::string> UpdateRun(tracking::TrackingService& s, const http::Request& req);
Result<std::string> DeleteRun(tracking::TrackingService& s, const http::Request& req);
Result<std::string> RestoreRun(tracking::TrackingService& s, const http::Request& req);
Result<std::string> LogMetric(tracking::TrackingService& s, const http::Request& req);
Result<std::string> LogParam(tracking::TrackingService& s, const http::Request& req);
Result<std::string> SetTag(tracking::TrackingService& s, const http::Request& req);
Result<std::string> DeleteTag(tracking::TrackingService& s, const http::Request& req);
Result<std::string> LogBatch(tracking::TrackingService& s, const http::Request& req);
Result<std::string> LogModel(tracking::TrackingService& s, const http::Request& req);
Result<std::string> LogInputs(tracking::TrackingService& s, const http::Request& req);
Result<std::string> SearchRuns(tracking::TrackingService& s, const http::Request& req);

// metrics/
Result<std::string> GetMetricHistory(tracking::TrackingService& s, const http::Request& req);
Result<std::string> GetMetricHistoryBulkInterval(tracking::TrackingService& s,
                                                 const http::Request& req);

// artifacts/list: GET ?run_id=&path= lists the direct children of <path> under
// the run's artifact root: {"root_uri": <artifact_uri>, "files": [{"path":
// "<path relative to the run root>", "is_dir": bool, "file_size": N (files)}]}.
// Serves runs whose artifact_uri is mlflow-artifacts:/... (through `artifacts`,
// the proxy's repository; null when the server does not serve artifacts) or a
// local file:// path. A path that is absolute or climbs ("..") is 400
// INVALID_PARAMETER_VALUE; other stores (s3://) are 501: clients list those
// directly.
Result<std::string> ListRunArtifacts(tracking::TrackingService& s,
                                     blob::ArtifactRepository* artifacts, const http::Request& req);

// MLflow 3 logged models (mlflow_logged_model_handlers.cc):
//   POST   logged-models                          create -> {"model": LoggedModel}
//   POST   logged-models/search                   {"models": [...], "next_page_token"}
//   GET    logged-models/{id}[?allow_deleted=true] {"model": ...}
//   PATCH  logged-models/{id}                     finalize {"status"} -> {"model": ...}
//   DELETE logged-models/{id}                     {}
//   PATCH  logged-models/{id}/tags                {"tags": [...]} -> {}
//   DELETE logged-models/{id}/tags/{key}          {}
//   POST   logged-models/{id}/params              {"params": [...]} -> {}
//   POST   runs/outputs                           {"run_id", "models": [{"model_id","step"}]} -> {}
// The {id} routes are one prefix route; LoggedModelSubresource splits
// Request::route_suffix ("<id>[/tags[/<key>]|/params]") and answers 404
// ENDPOINT_NOT_FOUND for any other shape or method.
Result<std::string> CreateLoggedModel(tracking::TrackingService& s, const http::Request& req);
Result<std::string> SearchLoggedModels(tracking::TrackingService& s, const http::Request& req);
Result<std::string> LoggedModelSubresource(tracking::TrackingService& s, const http::Request& req);
Result<std::string> LogOutputs(tracking::TrackingService& s, const http::Request& req);

// MLflow's limit on a log-batch request body, in bytes.
inline constexpr size_t kMaxLogBatchBodyBytes = 1'000'000;

}  // namespace cairn::api::mlflow
