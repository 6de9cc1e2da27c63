#pragma once
// Configuration precedence: command-line flag > CAIRN_* environment > default.
// Some settings also honour MLflow's variables (MLFLOW_TRACKING_URI) after ours.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace cairn {

// The first non-empty of: `flag`, then each environment variable in `env`
// in order, then `fallback`.
std::string ResolveSetting(const std::optional<std::string>& flag,
                           std::initializer_list<std::string_view> env, std::string fallback);

// The tracking server the CLI and client talk to:
// --tracking-uri > CAIRN_TRACKING_URI > MLFLOW_TRACKING_URI > http://127.0.0.1:5000.
std::string ResolveTrackingUri(const std::optional<std::string>& flag);

inline constexpr std::string_view kDefaultTrackingUri = "http://127.0.0.1:5000";

}  // namespace cairn
