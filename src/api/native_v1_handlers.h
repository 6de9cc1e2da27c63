#pragma once
// Cairn's native REST API, /api/v1, over the same TrackingService as the
// MLflow-compatible one. The endpoints the web UI needs are specified in
// docs/ui.md ("Native endpoints added for the UI"):
//   GET  /api/v1/health                        -> {"status":"ok"}
//   GET  /api/v1/experiments/{id}/runs?filter=&order_by=&max_results=&page_token=&view=
//        &column=&offset=&count=
//        -> {"runs":[<MLflow run JSON>...], "next_page_token"?, "total"?}
//        view: active_only (default) | deleted_only | all; order_by and column
//        may repeat; max_results <= 1000; column = params.K | metrics.K |
//        tags.K | attributes.K (at most 1000): each run's data carries only
//        those keys; offset: start at this row (not with page_token);
//        count=true: "total", the number of runs the filter matches.
//   GET  /api/v1/experiments/{id}/columns
//        -> {"attributes":[...],"params":[...],"metrics":[...],"tags":[...]}
//   POST /api/v1/runs/get {"run_ids":[1..50 ids]} -> {"runs":[...]} in that order
//   GET  /api/v1/runs/{id}/series?key=&max_points=        (native_series_handlers.cc)
//   POST /api/v1/series {"run_ids","keys","max_points"}
//   GET  /api/v1/runs/{id}/series.csv?key=
//   GET  /api/v1/runs/{id}/artifact?path=&download=1      (native_artifact_content.cc)
//   GET  /api/v1/pipeline-runs?pipeline=&max_results=&page_token=  (pipeline_run_handlers.cc)
//   GET  /api/v1/pipeline-runs/{run_id}
// Errors use the same {"error_code","message"} body and statuses: 400
// INVALID_PARAMETER_VALUE for bad parameters and paths, 404
// RESOURCE_DOES_NOT_EXIST for unknown experiments, runs and files.
// Thread-safe (stateless; the service and repository are thread-safe).

#include <string>
#include <string_view>

#include "blob/artifact_repository.h"
#include "core/error.h"
#include "http/server.h"
#include "tracking/tracking_service.h"

namespace cairn::api::native {

// The largest max_results of the runs page and the most columns it takes.
inline constexpr int64_t kMaxRunsPerPage = 1000;
inline constexpr size_t kMaxColumns = 1000;
// POST /api/v1/runs/get and /api/v1/series: at most this many runs.
inline constexpr size_t kMaxRunsPerRequest = 50;
// POST /api/v1/series: at most this many keys.
inline constexpr size_t kMaxSeriesKeys = 100;
// max_points of a series: default and largest.
inline constexpr int64_t kDefaultMaxPoints = 1000;
inline constexpr int64_t kMaxMaxPoints = 10000;

// The run attributes the runs table can show (the "attributes" of /columns).
inline constexpr const char* kRunAttributes[] = {"run_id",   "run_name",     "experiment_id",
                                                 "user_id",  "status",       "start_time",
                                                 "end_time", "artifact_uri", "lifecycle_stage"};

Result<std::string> Health(tracking::TrackingService& s, const http::Request& req);
// Dispatches on the suffix after /api/v1/experiments/ ("{id}/runs", "{id}/columns").
Result<std::string> ExperimentSubresource(tracking::TrackingService& s, const http::Request& req);
// POST /api/v1/runs/get.
Result<std::string> GetRuns(tracking::TrackingService& s, const http::Request& req);

// POST /api/v1/series.
Result<std::string> GetSeriesBatch(tracking::TrackingService& s, const http::Request& req);
// GET /api/v1/runs/{id}/{series,series.csv,artifact}. `artifacts`: the
// artifact proxy's repository (null when the server does not serve them).
http::Response RunSubresource(tracking::TrackingService& s, blob::ArtifactRepository* artifacts,
                              const http::Request& req);

// GET /api/v1/runs/{run_id}/artifact (native_artifact_content.cc): the file
// streamed with PreviewContentType, nosniff and a sandboxing CSP.
http::Response GetArtifactContent(tracking::TrackingService& s, blob::ArtifactRepository* artifacts,
                                  const http::Request& req, const std::string& run_id);
// text/plain for text-like files and for SVG and HTML (never rendered on our
// origin), application/json, text/csv, image/png|jpeg|gif, else
// application/octet-stream.
std::string PreviewContentType(std::string_view file_name);

// GET /api/v1/pipeline-runs and /api/v1/pipeline-runs/{run_id}.
Result<std::string> ListPipelineRuns(tracking::TrackingService& s, const http::Request& req);
Result<std::string> GetPipelineRun(tracking::TrackingService& s,
                                   blob::ArtifactRepository* artifacts, const http::Request& req);

}  // namespace cairn::api::native
