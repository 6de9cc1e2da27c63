#pragma once
// MonitorService: every monitoring rule (docs/monitoring.md). It validates
// and stores monitors, processes windows of the inference log against the
// reference (drift, quality, predictions kept for labels), joins labels,
// evaluates alert rules and records the changes (and their webhook
// deliveries) in the store, in the window's transaction.
//
// Inputs it reads:
// - the inference log: segments under the monitor's log URI
//   (`mlflow-artifacts:/<path>` -> the artifact repository's
//   `<path>/<deployment>/<YYYY-MM-DD>/<first-ts>-<seq>.jsonl`; a local folder
//   or file:// URI -> the same layout on disk);
// - the reference: a local path, file://, runs:/<run>/<path> (the run's
//   artifact URI joined with the path; mlflow-artifacts:/ through the
//   artifact repository), mlflow-artifacts:/<path>; loaded once per monitor
//   and cached (keyed by monitor id and updated_at);
// - local files only under MonitorServiceOptions::local_roots, when set;
// - the model: the registry's latest version of the model (its signature
//   names and types the expected columns; tag "cairn.reference" is the
//   default reference).
//
// A window's report (store::MonitorWindow::report_json) has "performance":
// null until labels join its stored predictions; each recomputation (on the
// ticks, in RunNow for manual-only monitors, and right after the window's
// completion when its labels came first) replaces that member with the
// performance report (PerformanceReportToJson) and upserts the performance
// results. A recomputation passes the window's perf_dirty_seq, read before
// the labels, so labels logged meanwhile keep the window dirty.
//
// Thread safety: all methods may be called from any thread (the scheduler
// thread and HTTP handlers at once).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "blob/artifact_repository.h"
#include "core/clock.h"
#include "core/error.h"
#include "monitor/drift.h"
#include "monitor/rules.h"
#include "store/metadata_store.h"
#include "store/monitor_store.h"

namespace cairn::monitor {

// What a user asks for (the JSON spec of docs/monitoring.md; the CLI flags
// map to it one to one). Durations are text ("1h", "2m"); window may also be
// "<N>rows".
struct MonitorSpec {
  std::string name;
  std::string model;
  std::string deployment;   // "" = model
  std::string reference;    // "" = the model version's tag cairn.reference
  std::string log_uri;      // "" = mlflow-artifacts:/inference-log
  std::string window = "1h";
  std::string grace = "2m";
  std::string schedule;     // "" = manual only
  std::string task = "auto";
  std::string positive_label = "1";
  std::string prediction_column = "prediction";
  std::vector<std::string> columns;
  std::map<std::string, std::string> tests;
  std::map<std::string, double> thresholds;
  double drift_share = 0.5;
  std::vector<std::string> alerts;  // rule texts; empty = the default rule
  std::string alert_webhook;        // "" = no webhook
  std::string alert_secret;
};

// The spec's JSON form, both ways. kInvalidArgument names the field
// ("monitor spec: 'window' must be a string like 1h or 1000rows").
Result<MonitorSpec> MonitorSpecFromJson(std::string_view json);
std::string MonitorSpecToJson(const MonitorSpec& spec);  // alert_secret omitted

// A monitor as the API shows it: the store row + the spec it was made from.
struct MonitorInfo {
  store::Monitor monitor;
  MonitorSpec spec;
};

// The outcome of processing one window.
struct WindowOutcome {
  store::MonitorWindow window;  // as stored (status, rows, report_json)
  std::vector<store::AlertChange> alert_changes;
};

struct LabelsOutcome {
  int64_t logged = 0;
  int64_t unknown_request_ids = 0;  // labels with no stored prediction yet
};

struct MonitorServiceOptions {
  int64_t lease_ms = 5 * 60 * 1000;
  int max_windows_per_tick = 100;
  std::string owner;  // "" = host:pid:random
  int threads = 0;    // for drift computations; 0 = hardware
  // Called (on the thread that processed the window) after a window's
  // completion or performance update committed a non-empty list of alert
  // changes, so the webhook deliveries it appended go out at once (cairn
  // server sets it to the webhook dispatcher's Notify()). Must be cheap and
  // thread-safe; empty: nothing is called.
  std::function<void()> on_alert_changes;
  // The local folders monitors may read files from (references given as a
  // path, file:// or runs:/ of a run whose artifacts are a local folder;
  // local inference-log folders). nullopt: any file this process can open
  // (`cairn drift`, tests). A list (`cairn server`: its local artifact
  // folders and each --monitor-data-root): a local file is read only when
  // its real path (symbolic links and ".." resolved; for a path that does
  // not exist yet, its deepest existing parent's) lies under the real path
  // of one of them; anything else is kInvalidArgument naming the URI and
  // "outside the folders", the same whether the file exists or not. Checked
  // at Create and again on every read, against the file actually opened (a
  // link swapped after Create is refused). The artifact repository
  // (mlflow-artifacts:/, runs:/ of its runs) confines its own paths.
  std::optional<std::vector<std::string>> local_roots;
};

class MonitorService {
 public:
  // `artifacts` may be null (then only local/file:// log and reference URIs work).
  MonitorService(store::MetadataStore& store, store::MonitorStore& monitors,
                 blob::ArtifactRepository* artifacts, const Clock& clock,
                 MonitorServiceOptions options = {});
  ~MonitorService();

  // Validates everything a user can get wrong (name syntax as registry
  // names; the model exists; window/grace/schedule parse; tests, thresholds,
  // rules parse; the reference loads and its columns are the model's), then
  // stores it with its webhook.
  Result<MonitorInfo> Create(const MonitorSpec& spec);
  Result<MonitorInfo> Get(const std::string& name);
  Result<std::vector<MonitorInfo>> List();
  Status Delete(const std::string& name);

  // Processes the latest window ([now - window, now), or the last N rows)
  // now, as a manual window; or, when `current_csv` is given, that batch.
  Result<WindowOutcome> RunNow(const std::string& name, std::optional<std::string> current_csv = {});

  // One scheduler tick at clock.Now(): for each active scheduled monitor
  // whose cron fired since last_fired_at (claimed with MarkFired), processes
  // every complete window after the last scheduled one (at most
  // max_windows_per_tick), then recomputes the performance of windows with
  // new labels. Returns the windows processed. Errors of one monitor are
  // logged and recorded on its window; they do not stop the others.
  Result<int> RunDue();

  Result<LabelsOutcome> LogLabels(const std::string& model, const std::vector<store::Label>& labels);
  // Parses CSV with columns request_id, label and optional row.
  Result<std::vector<store::Label>> ParseLabelsCsv(std::string_view csv);

  store::MonitorStore& store() { return monitors_; }

 private:
  struct Impl;
  store::MonitorStore& monitors_;
  std::unique_ptr<Impl> impl_;
};

// The scheduler thread of `cairn server`: calls RunDue() every `interval`.
class MonitorScheduler {
 public:
  MonitorScheduler(MonitorService& service, std::chrono::milliseconds interval = std::chrono::seconds(1));
  ~MonitorScheduler();  // stops
  void Start();
  void Stop();  // returns after the tick in progress (if any) ends; idempotent

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::monitor
