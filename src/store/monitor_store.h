#pragma once
// The monitoring part of the metadata store (migration 4; design in
// docs/monitoring.md): monitors, the windows they processed, the results
// (time series per monitor, feature and statistic), the predictions kept
// for joining labels, the labels, and alert incidents. Only this layer
// writes SQL; rules (which window is due, what fires) are the monitor
// service's (monitor/monitor_service.h).
//
// Alerts reuse the registry's webhook outbox: CreateMonitor creates the
// monitor's webhook (a `webhooks` row with model_name = the monitor's
// model, events ["monitor.alert.fired", "monitor.alert.resolved"]) in the
// same transaction when one is given, and CompleteWindow appends one
// `webhook_deliveries` row per alert change to it, in the window's
// transaction. The registry's WebhookDispatcher sends them.
//
// Thread safety: safe for concurrent use from any number of threads and
// processes (replicas on one PostgreSQL).
//
// Errors: kNotFound ("Monitor 'x' not found"; unknown monitor or window
// ids too), kAlreadyExists ("Monitor 'x' already exists"), kInvalidArgument
// (empty name or model; a completion status other than done/empty/failed),
// kFailedPrecondition (see CompleteWindow, UpdateWindowPerformance),
// kUnavailable, kInternal. A `limit` <= 0 means no limit.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/registry_types.h"

namespace cairn::store {

struct Monitor {
  int64_t id = 0;
  std::string name;
  std::string model_name;
  std::string spec_json;   // the validated spec (docs/monitoring.md), as the service wrote it
  int64_t webhook_id = 0;  // 0: no alert webhook
  bool active = true;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  int64_t last_fired_at = 0;  // the schedule's last fire time (ms); 0: never
};

// One processed (or claimed) window. status: "running" (claimed), "done",
// "empty" (no rows), "failed" (error kept).
struct MonitorWindow {
  int64_t id = 0;
  int64_t monitor_id = 0;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  bool manual = false;
  std::string status;
  std::string owner;       // who claimed it (host:pid:random)
  int64_t claimed_at = 0;
  int64_t finished_at = 0;
  int64_t rows = 0;
  std::string error;
  std::string report_json;  // "" while running
  bool perf_dirty = false;  // new labels joined since its performance was computed
  // The dirty mark's sequence: incremented each time the window is marked
  // perf_dirty (LogLabels, CompleteWindow); never reset. A reader that
  // computes performance passes the value it saw to UpdateWindowPerformance,
  // which clears perf_dirty only if no mark came in between.
  int64_t perf_dirty_seq = 0;
};

struct MonitorResult {
  int64_t window_id = 0;
  int64_t window_start = 0;
  int64_t window_end = 0;
  std::string feature;  // "" for dataset-level numbers
  std::string statistic;
  double value = 0;     // NaN is stored and returned
};

// A prediction kept from a processed window, for joining labels.
struct StoredPrediction {
  std::string request_id;
  int32_t row = 0;
  std::string prediction;
  std::optional<double> score;
};

struct Label {
  std::string request_id;
  int32_t row = 0;
  std::string label;
};

// One joined row: a stored prediction with its label.
struct LabeledPrediction {
  StoredPrediction prediction;
  std::string label;
};

// status: "firing" or "resolved".
struct MonitorAlert {
  int64_t id = 0;
  int64_t monitor_id = 0;
  std::string rule;
  std::string feature;
  std::string statistic;
  std::string status = "firing";
  double value = 0;            // the value that fired it
  int64_t fired_at = 0;
  int64_t fired_window_start = 0;
  int64_t resolved_at = 0;
  int64_t resolved_window_start = 0;
};

// A change CompleteWindow applies: open a new incident or resolve one.
struct AlertChange {
  enum class Kind { kFire, kResolve };
  Kind kind = Kind::kFire;
  int64_t alert_id = 0;   // kResolve: the open incident
  std::string rule;       // kFire
  std::string feature;    // kFire
  std::string statistic;  // kFire
  double value = 0;       // kFire
  // The webhook body (docs/monitoring.md); the store fills "alert_id" in by
  // replacing the literal `"alert_id":0` with the new id for kFire.
  std::string payload_json;
};

struct WindowCompletion {
  int64_t window_id = 0;
  std::string status;  // "done", "empty", "failed"
  int64_t rows = 0;
  std::string error;
  std::string report_json;
  int64_t finished_at = 0;
  std::vector<MonitorResult> results;          // replace this window's results of the same (feature, statistic)
  std::vector<StoredPrediction> predictions;   // kept for labels
  std::vector<AlertChange> alerts;
};

class MonitorStore {
 public:
  virtual ~MonitorStore() = default;

  // ------------------------------------------------------------- monitors
  // `webhook` (optional): created with the monitor (its id stored in
  // webhook_id); events default to the two monitor events; it is linked to
  // the registered model of that name when there is one (deleting the model
  // deletes the webhook and sets the monitor's webhook_id to 0). Zero
  // created_at/updated_at are stamped with the clock. kAlreadyExists for a
  // taken name: nothing is created.
  virtual Result<Monitor> CreateMonitor(const Monitor& m, const std::optional<Webhook>& webhook) = 0;
  virtual Result<Monitor> GetMonitor(const std::string& name) = 0;
  virtual Result<std::vector<Monitor>> ListMonitors() = 0;  // by name
  // Deletes the monitor with its windows, results, predictions and alerts;
  // its webhook is deleted too (pending deliveries are dropped).
  virtual Status DeleteMonitor(const std::string& name) = 0;
  // Records the schedule's fire time. Compare-and-set: true when
  // last_fired_at was `expected` (so one replica fires a tick).
  virtual Result<bool> MarkFired(int64_t monitor_id, int64_t expected, int64_t fired_at) = 0;

  // ------------------------------------------------------------- windows
  // Claims window [start, end) of a monitor for `owner`. Returns the window
  // id when this caller now owns it: a new row (status "running"), or a
  // "running" row claimed more than `lease_ms` before `now` (taken over).
  // nullopt when it is done/empty/failed or held by a live claim. Manual
  // windows are never unique: each claim inserts a new row.
  virtual Result<std::optional<int64_t>> ClaimWindow(int64_t monitor_id, int64_t start_ms,
                                                     int64_t end_ms, bool manual,
                                                     const std::string& owner, int64_t now,
                                                     int64_t lease_ms) = 0;
  // One transaction: the window's status/report, its results, predictions,
  // alert changes (new incidents / resolved ones) and their webhook
  // deliveries. kFailedPrecondition when the window is no longer "running"
  // (someone else completed it): nothing is written. A kFire whose (rule,
  // feature) already has a firing incident, or a kResolve of an incident
  // that is not firing, changes nothing and sends nothing. A "done" window
  // whose stored predictions already have labels is left perf_dirty (its
  // performance is due; perf_dirty_seq incremented). finished_at 0: the
  // clock's time.
  virtual Status CompleteWindow(const WindowCompletion& c) = 0;
  // The latest non-manual window (by start) of a monitor, any status.
  virtual Result<std::optional<MonitorWindow>> LastScheduledWindow(int64_t monitor_id) = 0;
  // Windows with start in [from, to), newest first, at most `limit`
  // (manual ones too). With report_json.
  virtual Result<std::vector<MonitorWindow>> ListWindows(int64_t monitor_id, int64_t from,
                                                         int64_t to, int limit) = 0;
  virtual Result<MonitorWindow> GetWindow(int64_t window_id) = 0;

  // ------------------------------------------------------------- results
  // Results with window_start in [from, to), ordered by window_start then
  // feature, statistic; empty filters match all.
  virtual Result<std::vector<MonitorResult>> ListResults(int64_t monitor_id,
                                                         const std::string& feature,
                                                         const std::string& statistic,
                                                         int64_t from, int64_t to) = 0;
  // For every monitor (by name), the results of its latest done window (the
  // greatest end, manual ones too), by feature and statistic; a monitor with
  // no done window comes with no results (for /metrics).
  virtual Result<std::vector<std::pair<Monitor, std::vector<MonitorResult>>>> LatestResults() = 0;
  // Replaces the performance results of a done window, with alert changes
  // (and their webhook deliveries), in one transaction (labels arrived
  // later). Results are upserted by (feature, statistic). `seen_seq` is the
  // window's perf_dirty_seq read before the labels the results come from
  // (MonitorWindow from DirtyWindows or GetWindow): perf_dirty is cleared
  // only when the sequence is still `seen_seq`; when labels were marked in
  // between, the results are written but the window stays dirty (its
  // performance is due again). `report_json` non-empty replaces the window's
  // report (the caller's report with the performance in it); "" leaves it.
  // kFailedPrecondition when the window is not "done": nothing is written.
  virtual Status UpdateWindowPerformance(int64_t window_id, const std::vector<MonitorResult>& results,
                                         const std::vector<AlertChange>& alerts, int64_t now,
                                         int64_t seen_seq, const std::string& report_json) = 0;

  // ------------------------------------------------------ labels and joins
  // Upserts labels of `model_name`; marks done windows whose stored
  // predictions match a label perf_dirty (incrementing perf_dirty_seq).
  // Returns how many labels name a (request_id, row) that no monitor of
  // this model has a stored prediction for.
  virtual Result<int64_t> LogLabels(const std::string& model_name, const std::vector<Label>& labels,
                                    int64_t now) = 0;
  // The stored predictions of a window joined with the model's labels
  // (only rows that have a label).
  virtual Result<std::vector<LabeledPrediction>> LabeledPredictions(int64_t window_id,
                                                                     const std::string& model_name) = 0;
  // Done windows of a monitor with perf_dirty set, oldest first.
  virtual Result<std::vector<MonitorWindow>> DirtyWindows(int64_t monitor_id, int limit) = 0;

  // --------------------------------------------------------------- alerts
  // status "" = any; newest first.
  virtual Result<std::vector<MonitorAlert>> ListAlerts(int64_t monitor_id,
                                                       const std::string& status, int limit) = 0;
};

}  // namespace cairn::store
