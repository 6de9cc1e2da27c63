#include "core/config.h"

#include <cstdlib>

namespace cairn {

std::string ResolveSetting(const std::optional<std::string>& flag,
                           std::initializer_list<std::string_view> env, std::string fallback) {
  if (flag && !flag->empty()) return *flag;
  for (std::string_view name : env) {
    if (const char* v = std::getenv(std::string(name).c_str()); v != nullptr && *v != '\0') {
      return v;
    }
  }
  return fallback;
}

std::string ResolveTrackingUri(const std::optional<std::string>& flag) {
  return ResolveSetting(flag, {"CAIRN_TRACKING_URI", "MLFLOW_TRACKING_URI"},
                        std::string(kDefaultTrackingUri));
}

}  // namespace cairn
