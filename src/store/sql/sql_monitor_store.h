#pragma once
// The monitor store (store/monitor_store.h) written once in SQL over the
// driver interface, like SqlRegistryStore: SQLite and PostgreSQL differ only
// in their drivers and the dialect points.
//
// Tables: migration 4 (store/sql/monitor_schema.h). Every mutation is one
// write transaction on Database::Writer(); reads of several statements run
// in one read-only snapshot.
//
// Races: ClaimWindow is one INSERT ... ON CONFLICT DO NOTHING on the partial
// unique index of scheduled windows, then (when the row exists) one
// conditional UPDATE that takes over a "running" claim older than the lease.
// Both are single statements, so across threads and processes exactly one
// claimer wins (SQLite serializes writers; PostgreSQL re-checks the UPDATE's
// condition on the row it waited for). CompleteWindow changes the window
// only while it is "running" and writes nothing else otherwise. The
// performance mark: LogLabels and CompleteWindow set perf_dirty and
// increment perf_dirty_seq in the transaction that stores the labels /
// predictions; UpdateWindowPerformance clears perf_dirty in one conditional
// UPDATE (only while perf_dirty_seq is the caller's seen_seq), so a marking
// transaction either committed before it (the sequence differs) or marks
// the window again after it.
//
// Webhook deliveries for alert changes go to the monitor's webhook (when it
// has one and it is active), event "monitor.alert.fired" /
// "monitor.alert.resolved", status "pending", next_attempt_at = the
// completion's time. A kFire for a (rule, feature) that already has a firing
// incident, or a kResolve of an incident that is not firing, changes nothing
// and sends nothing.
//
// Ownership: borrows the Database (owned by SqlMetadataStore) and the clock;
// both must outlive it. Thread safety: safe for concurrent use.

#include "core/clock.h"
#include "store/monitor_store.h"
#include "store/sql/driver.h"

namespace cairn::store::sql {

class SqlMonitorStore final : public MonitorStore {
 public:
  SqlMonitorStore(Database& db, const Clock& clock);
  ~SqlMonitorStore() override;

  Result<Monitor> CreateMonitor(const Monitor& m, const std::optional<Webhook>& webhook) override;
  Result<Monitor> GetMonitor(const std::string& name) override;
  Result<std::vector<Monitor>> ListMonitors() override;
  Status DeleteMonitor(const std::string& name) override;
  Result<bool> MarkFired(int64_t monitor_id, int64_t expected, int64_t fired_at) override;

  Result<std::optional<int64_t>> ClaimWindow(int64_t monitor_id, int64_t start_ms, int64_t end_ms,
                                             bool manual, const std::string& owner, int64_t now,
                                             int64_t lease_ms) override;
  Status CompleteWindow(const WindowCompletion& c) override;
  Result<std::optional<MonitorWindow>> LastScheduledWindow(int64_t monitor_id) override;
  Result<std::vector<MonitorWindow>> ListWindows(int64_t monitor_id, int64_t from, int64_t to,
                                                 int limit) override;
  Result<MonitorWindow> GetWindow(int64_t window_id) override;

  Result<std::vector<MonitorResult>> ListResults(int64_t monitor_id, const std::string& feature,
                                                 const std::string& statistic, int64_t from,
                                                 int64_t to) override;
  Result<std::vector<std::pair<Monitor, std::vector<MonitorResult>>>> LatestResults() override;
  Status UpdateWindowPerformance(int64_t window_id, const std::vector<MonitorResult>& results,
                                 const std::vector<AlertChange>& alerts, int64_t now,
                                 int64_t seen_seq, const std::string& report_json) override;

  Result<int64_t> LogLabels(const std::string& model_name, const std::vector<Label>& labels,
                            int64_t now) override;
  Result<std::vector<LabeledPrediction>> LabeledPredictions(int64_t window_id,
                                                            const std::string& model_name) override;
  Result<std::vector<MonitorWindow>> DirtyWindows(int64_t monitor_id, int limit) override;

  Result<std::vector<MonitorAlert>> ListAlerts(int64_t monitor_id, const std::string& status,
                                               int limit) override;

 private:
  Database& db_;
  const Clock& clock_;
};

}  // namespace cairn::store::sql
