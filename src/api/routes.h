#pragma once
// The route table: every tracking endpoint Cairn serves, in one place
// (routes.cc). Artifact routes are mounted by MountArtifactRoutes
// (artifact_handlers.h).
//
// MLflow tracking API, each under /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/,
// with the HTTP method the MLflow client uses (see mlflow's service.proto):
//   GET  experiments/get, experiments/get-by-name, experiments/search,
//        runs/get, metrics/get-history, metrics/get-history-bulk-interval
//   POST experiments/{create,search,update,delete,restore,set-experiment-tag,
//        delete-experiment-tag}, runs/{create,update,delete,restore,log-metric,
//        log-parameter,set-tag,delete-tag,log-batch,log-model,log-inputs,search}
//   GET  artifacts/list (a run's artifacts, through the server)
//   POST logged-models/search (MLflow 3; always an empty page, see mlflow_handlers.h)
// Plus /health (text "OK"), /version (text), /api/v1/health and
// GET /api/v1/experiments/{id}/runs.
//
// The service (and the artifact repository, when given) must outlive the router.

#include "blob/artifact_repository.h"
#include "http/server.h"
#include "tracking/tracking_service.h"

namespace cairn::api {

// `artifacts`: the artifact proxy's repository, for artifacts/list of
// mlflow-artifacts:/ runs; null when the server does not serve artifacts.
void MountMlflowTrackingRoutes(http::Router& router, tracking::TrackingService& service,
                               blob::ArtifactRepository* artifacts);
void MountHealthRoutes(http::Router& router);
void MountNativeRoutes(http::Router& router, tracking::TrackingService& service);

// The version string /version answers with.
const char* CairnVersion();

}  // namespace cairn::api
