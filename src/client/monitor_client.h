#pragma once
// MonitorClient: Cairn's C++ SDK for monitoring (docs/monitoring.md, "API"):
// monitors (create, list, get, delete, run now), their windows, results and
// alerts, labels, and the one-off drift report, over the native /api/v1 of a
// `cairn server`.
//
//   CAIRN_ASSIGN_OR_RETURN(auto mc, MonitorClient::Create("http://127.0.0.1:5000"));
//   CAIRN_ASSIGN_OR_RETURN(nlohmann::json m, mc.Create({{"name", "fraud-drift"},
//                                                       {"model", "fraud"}}));
//   CAIRN_ASSIGN_OR_RETURN(nlohmann::json run, mc.Run("fraud-drift"));
//   // run["window"]["report"]["drift"]["columns"][0]["drifted"] ...
//
// Answers are the server's JSON documents (shapes in api/monitor_handlers.h),
// parsed: monitors, windows, results and alerts are nlohmann::json objects.
//
// Errors: a server error {"error_code", "message"} is a cairn::Error with
// ErrorCodeFromMlflow(error_code) and the server's message verbatim
// (unknown monitor -> kNotFound "Monitor 'x' not found"); an unreachable
// server kUnavailable; a timeout kDeadlineExceeded; an answer that is not
// the documented shape kInternal "unexpected response from the server: ...".
// A server without the monitoring API (a stock MLflow server, an older
// Cairn) answers 404 ENDPOINT_NOT_FOUND, which is returned as such.
//
// Thread safety: safe to share between threads (immutable after Create();
// each call borrows a curl handle from the transport's pool). Movable, not
// copyable.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "client/tracking_client.h"
#include "core/error.h"

namespace cairn::client {

// Filters of Windows(); times are ms since the epoch, window starts in [from, to).
struct WindowQuery {
  int64_t from = 0;
  std::optional<int64_t> to{};
  int64_t limit = 0;  // 0: the server's default (100)
};

// Filters of Results(); empty strings match every feature / statistic.
struct ResultQuery {
  std::string feature{};
  std::string statistic{};
  int64_t from = 0;
  std::optional<int64_t> to{};
};

struct LabelsLogged {
  int64_t logged = 0;
  int64_t unknown_request_ids = 0;  // labels whose request the monitors have not seen (kept)
};

class MonitorClient {
 public:
  // `tracking_uri` is http(s)://host[:port][/prefix]; kInvalidArgument for
  // anything else. Does not contact the server.
  static Result<MonitorClient> Create(const std::string& tracking_uri, ClientOptions options = {});

  MonitorClient(MonitorClient&&) noexcept;
  MonitorClient& operator=(MonitorClient&&) noexcept;
  ~MonitorClient();

  const std::string& tracking_uri() const;

  // POST monitors with the spec (docs/monitoring.md); the stored monitor.
  Result<nlohmann::json> Create(const nlohmann::json& spec);
  // The monitors, by name.
  Result<nlohmann::json> List();
  // {"monitor", "last_window" (null when none), "open_alerts"}.
  Result<nlohmann::json> Get(const std::string& name);
  Status Delete(const std::string& name);
  // Processes the latest window now, or the batch `current_csv` (CSV text);
  // {"window", "alert_changes"}.
  Result<nlohmann::json> Run(const std::string& name,
                             const std::optional<std::string>& current_csv = {});
  // Windows, newest first, each with its report.
  Result<nlohmann::json> Windows(const std::string& name, const WindowQuery& query = {});
  // Results ordered by window start, feature, statistic.
  Result<nlohmann::json> Results(const std::string& name, const ResultQuery& query = {});
  // Alerts, newest first; `status` "" (all), "firing" or "resolved".
  Result<nlohmann::json> Alerts(const std::string& name, const std::string& status = "");
  // Labels of `model` as CSV text (columns request_id, label, optional row).
  Result<LabelsLogged> LogLabels(const std::string& model, const std::string& csv);
  // The one-off report on two CSV texts: {"drift", "quality"}. `options`:
  // {"columns", "tests", "thresholds", "drift_share"} (any subset).
  Result<nlohmann::json> Drift(const std::string& reference_csv, const std::string& current_csv,
                               const nlohmann::json& options = nlohmann::json::object());

 private:
  struct Impl;
  explicit MonitorClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::client
