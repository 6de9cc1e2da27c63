#include "cli/command.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <limits>

#include "core/config.h"

namespace cairn::cli {

void AddClientFlags(CLI::App& group, ClientFlags& flags) {
  group.add_option("--tracking-uri", flags.tracking_uri,
                   "Tracking server (default: $CAIRN_TRACKING_URI, $MLFLOW_TRACKING_URI, " +
                       std::string(kDefaultTrackingUri) + ")");
  group.add_option("--user", flags.user,
                   "Who is acting (sent as X-Cairn-User, the actor of the server's audit log; "
                   "default: $CAIRN_USER)");
  group.add_flag("--json", flags.json, "Print the server's JSON objects instead of tables");
  group.fallthrough();
}

client::ClientOptions MakeClientOptions(const ClientFlags& flags) {
  client::ClientOptions options;
  options.user = flags.user;
  return options;
}

Result<client::TrackingClient> MakeClient(const ClientFlags& flags) {
  return client::TrackingClient::Create(ResolveTrackingUri(flags.tracking_uri),
                                        MakeClientOptions(flags));
}

int ReportError(const Error& e) {
  std::cerr << "error: " << MlflowErrorCodeFor(e.code()) << ": " << e.message() << std::endl;
  return kExitError;
}

void PrintJson(const nlohmann::json& j) {
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  std::cout.flush();
}

std::string FormatMillis(int64_t ms) {
  if (ms == 0) return "";
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

Result<store::Tag> ParseKeyValue(const std::string& kv) {
  auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) {
    return InvalidArgument("'" + kv + "' is not key=value");
  }
  return store::Tag{kv.substr(0, eq), kv.substr(eq + 1)};
}

std::optional<std::pair<std::string, std::string>> SplitColumnValue(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) return std::nullopt;
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

Result<double> ParseDouble(const std::string& text) {
  std::string lower;
  for (char c : text)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (lower == "inf" || lower == "+inf" || lower == "infinity") {
    return std::numeric_limits<double>::infinity();
  }
  if (lower == "-inf" || lower == "-infinity") return -std::numeric_limits<double>::infinity();
  double v = 0;
  const char* begin = text.data();
  if (!text.empty() && text[0] == '+') ++begin;
  auto [p, ec] = std::from_chars(begin, text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) {
    return InvalidArgument("'" + text + "' is not a number");
  }
  return v;
}

Result<store::Experiment> ResolveExperiment(client::TrackingClient& client,
                                            const std::string& id_or_name) {
  bool digits =
      !id_or_name.empty() && id_or_name.find_first_not_of("0123456789") == std::string::npos;
  if (digits) {
    auto by_id = client.GetExperiment(id_or_name);
    if (by_id || by_id.error().code() != ErrorCode::kNotFound) return by_id;
    auto by_name = client.GetExperimentByName(id_or_name);
    if (by_name) return by_name;
    return by_id;  // the id's "not found" message
  }
  return client.GetExperimentByName(id_or_name);
}

std::string RedactUri(const std::string& uri) {
  auto scheme_end = uri.find("://");
  if (scheme_end == std::string::npos) return uri;
  auto at = uri.find('@', scheme_end + 3);
  auto slash = uri.find('/', scheme_end + 3);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return uri;
  auto colon = uri.find(':', scheme_end + 3);
  if (colon == std::string::npos || colon > at) return uri;
  return uri.substr(0, colon + 1) + "***" + uri.substr(at);
}

}  // namespace cairn::cli
