#pragma once
// Request parsing shared by the registry endpoints: MLflow's
// registered-models/ and model-versions/ handlers and the native /api/v1
// ones. Pure functions; thread-safe.
//
// Errors: kInvalidArgument with MLflow's wording (see each function).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/request_fields.h"
#include "core/error.h"
#include "tracking/validation.h"

namespace cairn::api {

// A string MLflow's schema marks _assert_required: absent and "" are both
// missing ("Missing value for required parameter '<name>'. ...").
inline Result<std::string> RequiredString(const RequestFields& f, std::string_view name) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> v, f.String(name));
  if (!v || v->empty()) return std::unexpected(tracking::MissingRequired(name));
  return std::move(*v);
}

// A model version number given as text ("3"):
// "Parameter 'version' must be an integer, got '<text>'." otherwise.
inline Result<int64_t> VersionFromText(const std::string& text) {
  std::optional<int64_t> v = ParseInt64Text(text);
  if (!v) return InvalidArgument("Parameter 'version' must be an integer, got '" + text + "'.");
  return *v;
}

}  // namespace cairn::api
