#pragma once
// Cairn's native REST API, /api/v1, over the same TrackingService as the
// MLflow-compatible one. Small this round:
//   GET /api/v1/health                         -> {"status":"ok"}
//   GET /api/v1/experiments/{id}/runs?filter=&order_by=&max_results=&page_token=&view=
//       -> {"runs":[<MLflow run JSON>...], "next_page_token"?}
//       view: active_only (default) | deleted_only | all; order_by may repeat.
// Errors use the same {"error_code","message"} body and statuses.
// Thread-safe (stateless; the service is thread-safe).

#include <string>

#include "core/error.h"
#include "http/server.h"
#include "tracking/tracking_service.h"

namespace cairn::api::native {

Result<std::string> Health(tracking::TrackingService& s, const http::Request& req);
// Dispatches on the suffix after /api/v1/experiments/ ("{id}/runs").
Result<std::string> ExperimentSubresource(tracking::TrackingService& s, const http::Request& req);

}  // namespace cairn::api::native
