// MLflow 3 logged-models/ endpoints. Cairn keeps no logged models yet (see
// mlflow_handlers.h); the search answers a valid empty page.

#include "api/mlflow_handlers.h"
#include "api/request_fields.h"

namespace cairn::api::mlflow {

Result<std::string> SearchLoggedModels(tracking::TrackingService&, const http::Request& req) {
  // Parse anyway, so a malformed request gets the same errors as elsewhere.
  CAIRN_ASSIGN_OR_RETURN(RequestFields f, RequestFields::FromRequest(req, {"experiment_ids"}));
  CAIRN_RETURN_IF_ERROR(f.StringList("experiment_ids"));
  CAIRN_RETURN_IF_ERROR(f.StringOrEmpty("filter"));
  CAIRN_ASSIGN_OR_RETURN(std::optional<int64_t> max_results, f.Int64("max_results"));
  if (max_results && *max_results < 1) {
    return InvalidArgument("Invalid value " + std::to_string(*max_results) +
                           " for parameter 'max_results' supplied. It must be a positive integer");
  }
  return std::string(R"({"models":[]})");
}

}  // namespace cairn::api::mlflow
