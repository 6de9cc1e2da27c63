#pragma once
// Migration 4: monitors, their windows, results, predictions, labels and
// alert incidents (store/monitor_store.h, docs/monitoring.md). Kept in a
// header so the constexpr migration table (migrations.cc) can use it.
//
// Design notes:
// - Ids the webhook payloads and the scheduler name (monitors, windows,
//   alerts) are never reused (@ID_PK_NEVER_REUSED@): a stale worker that
//   completes window 12 after its monitor was deleted and recreated must not
//   hit another monitor's window.
// - Children follow their parent: windows, results, predictions and alerts
//   are deleted with the monitor (ON DELETE CASCADE; the store also deletes
//   them explicitly). monitors.webhook_id is set to NULL when the webhook
//   goes away underneath (its registered model was deleted).
// - "Processed once": monitor_windows_scheduled is a partial unique index on
//   (monitor_id, start_ms) for scheduled windows only (manual = 0): the
//   target of ClaimWindow's INSERT ... ON CONFLICT DO NOTHING. Manual windows
//   are never unique. SQLite and PostgreSQL both accept partial indexes as
//   conflict targets.
// - monitor_results' primary key (monitor_id, statistic, feature,
//   window_start, window_id) makes a series read (one statistic of one
//   feature over time) an index range scan in window order; window_id in the
//   key keeps a manual window that starts with a scheduled one apart. NaN is
//   value 0 with is_nan = 1, as in the metrics tables (SQLite turns a bound
//   NaN into NULL).
// - monitor_predictions has no key of its own (a window may log a request id
//   twice); (window_id, request_id, row) serves a window's join with labels
//   and the cascade, (request_id, row) the labels' lookup of predictions.
//   score is NULL when has_score = 0.
// - monitor_labels are kept per model and survive monitors: labels that
//   arrive before their predictions are joined once those are stored.
// - monitor_alerts_open: at most one firing incident per (monitor, rule,
//   feature). value is NULL for NaN.
// - perf_dirty windows are found through a partial index (few rows).
//   perf_dirty_seq counts the marks (LogLabels, CompleteWindow) and is never
//   reset: UpdateWindowPerformance clears perf_dirty only while the sequence
//   is the one its caller read before reading the labels, so labels logged
//   during a recomputation keep the window dirty.
#include <string_view>

namespace cairn::store::sql {

inline constexpr std::string_view kMonitorSchemaV4 = R"sql(
CREATE TABLE monitors (
  id @ID_PK_NEVER_REUSED@,
  name @TEXT@ NOT NULL,
  model_name @TEXT@ NOT NULL,
  spec_json @TEXT@ NOT NULL DEFAULT '',
  webhook_id BIGINT REFERENCES webhooks (webhook_id) ON DELETE SET NULL,
  active SMALLINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL DEFAULT 0,
  last_fired_at BIGINT NOT NULL DEFAULT 0,
  CONSTRAINT monitors_name_key UNIQUE (name)
);
CREATE INDEX monitors_by_model ON monitors (model_name);
CREATE INDEX monitors_by_webhook ON monitors (webhook_id);
CREATE TABLE monitor_windows (
  id @ID_PK_NEVER_REUSED@,
  monitor_id BIGINT NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
  start_ms BIGINT NOT NULL,
  end_ms BIGINT NOT NULL,
  manual SMALLINT NOT NULL DEFAULT 0,
  status @TEXT@ NOT NULL DEFAULT 'running',
  owner @TEXT@ NOT NULL DEFAULT '',
  claimed_at BIGINT NOT NULL DEFAULT 0,
  finished_at BIGINT NOT NULL DEFAULT 0,
  rows BIGINT NOT NULL DEFAULT 0,
  error @TEXT@ NOT NULL DEFAULT '',
  report_json @TEXT@ NOT NULL DEFAULT '',
  perf_dirty SMALLINT NOT NULL DEFAULT 0,
  perf_dirty_seq BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX monitor_windows_scheduled ON monitor_windows (monitor_id, start_ms)
  WHERE manual = 0;
CREATE INDEX monitor_windows_by_start ON monitor_windows (monitor_id, start_ms);
CREATE INDEX monitor_windows_by_status ON monitor_windows (monitor_id, status, end_ms);
CREATE INDEX monitor_windows_dirty ON monitor_windows (monitor_id, start_ms) WHERE perf_dirty = 1;
CREATE TABLE monitor_results (
  monitor_id BIGINT NOT NULL,
  window_id BIGINT NOT NULL REFERENCES monitor_windows (id) ON DELETE CASCADE,
  window_start BIGINT NOT NULL,
  window_end BIGINT NOT NULL,
  feature @TEXT@ NOT NULL,
  statistic @TEXT@ NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  is_nan SMALLINT NOT NULL,
  PRIMARY KEY (monitor_id, statistic, feature, window_start, window_id)
) @WITHOUT_ROWID@;
CREATE INDEX monitor_results_by_window ON monitor_results (window_id, feature, statistic);
CREATE TABLE monitor_predictions (
  window_id BIGINT NOT NULL REFERENCES monitor_windows (id) ON DELETE CASCADE,
  monitor_id BIGINT NOT NULL,
  request_id @TEXT@ NOT NULL,
  row INTEGER NOT NULL,
  prediction @TEXT@ NOT NULL,
  score DOUBLE PRECISION,
  has_score SMALLINT NOT NULL
);
CREATE INDEX monitor_predictions_by_window ON monitor_predictions (window_id, request_id, row);
CREATE INDEX monitor_predictions_by_request ON monitor_predictions (request_id, row);
CREATE TABLE monitor_labels (
  model_name @TEXT@ NOT NULL,
  request_id @TEXT@ NOT NULL,
  row INTEGER NOT NULL,
  label @TEXT@ NOT NULL,
  logged_at BIGINT NOT NULL,
  PRIMARY KEY (model_name, request_id, row)
) @WITHOUT_ROWID@;
CREATE TABLE monitor_alerts (
  id @ID_PK_NEVER_REUSED@,
  monitor_id BIGINT NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
  rule @TEXT@ NOT NULL,
  feature @TEXT@ NOT NULL,
  statistic @TEXT@ NOT NULL,
  status @TEXT@ NOT NULL DEFAULT 'firing',
  value DOUBLE PRECISION,
  fired_at BIGINT NOT NULL DEFAULT 0,
  fired_window_start BIGINT NOT NULL DEFAULT 0,
  resolved_at BIGINT NOT NULL DEFAULT 0,
  resolved_window_start BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX monitor_alerts_open ON monitor_alerts (monitor_id, rule, feature)
  WHERE status = 'firing';
CREATE INDEX monitor_alerts_by_monitor ON monitor_alerts (monitor_id, status, id);
)sql";

}  // namespace cairn::store::sql
