#include "store/sql/sql_monitor_store.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "store/sql/store_helpers.h"
#include "store/sql/txn.h"

namespace cairn::store::sql {
namespace {

// ---- columns (read by the Read*Row functions in this order) ----

#define CAIRN_MONITOR_COLUMNS                                                            \
  "mo.id, mo.name, mo.model_name, mo.spec_json, coalesce(mo.webhook_id, 0), mo.active, " \
  "mo.created_at, mo.updated_at, mo.last_fired_at FROM monitors mo"
#define CAIRN_WINDOW_COLUMNS                                                                 \
  "id, monitor_id, start_ms, end_ms, manual, status, owner, claimed_at, finished_at, rows, " \
  "error, report_json, perf_dirty, perf_dirty_seq FROM monitor_windows"
#define CAIRN_RESULT_COLUMNS \
  "window_id, window_start, window_end, feature, statistic, value, is_nan FROM monitor_results"
#define CAIRN_ALERT_COLUMNS                                                                 \
  "id, monitor_id, rule, feature, statistic, status, value, fired_at, fired_window_start, " \
  "resolved_at, resolved_window_start FROM monitor_alerts"

constexpr BulkInsert kUpsertResults{
    "INSERT INTO monitor_results (monitor_id, window_id, window_start, window_end, feature, "
    "statistic, value, is_nan) VALUES",
    8,
    "ON CONFLICT (monitor_id, statistic, feature, window_start, window_id) DO UPDATE SET "
    "window_end = excluded.window_end, value = excluded.value, is_nan = excluded.is_nan"};
constexpr BulkInsert kInsertPredictions{
    "INSERT INTO monitor_predictions (window_id, monitor_id, request_id, row, prediction, score, "
    "has_score) VALUES",
    7, ""};
constexpr BulkInsert kUpsertLabels{
    "INSERT INTO monitor_labels (model_name, request_id, row, label, logged_at) VALUES", 5,
    "ON CONFLICT (model_name, request_id, row) DO UPDATE SET label = excluded.label, "
    "logged_at = excluded.logged_at"};

constexpr std::string_view kEventFired = "monitor.alert.fired";
constexpr std::string_view kEventResolved = "monitor.alert.resolved";

// Bound for "no limit" (both engines take a BIGINT LIMIT).
constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();
// Keeps IN lists far below both engines' parameter limits.
constexpr size_t kChunk = 200;

int64_t LimitOf(int limit) { return limit > 0 ? limit : kNoLimit; }

std::unexpected<Error> MonitorNotFound(std::string_view name) {
  return NotFound("Monitor '" + std::string(name) + "' not found");
}
std::unexpected<Error> MonitorIdNotFound(int64_t id) {
  return NotFound("Monitor with id " + std::to_string(id) + " not found");
}
std::unexpected<Error> MonitorExists(std::string_view name) {
  return AlreadyExists("Monitor '" + std::string(name) + "' already exists");
}
std::unexpected<Error> WindowNotFound(int64_t id) {
  return NotFound("Monitor window " + std::to_string(id) + " not found");
}

// Row lock for the rest of the transaction (PostgreSQL); SQLite's single
// writer connection serializes write transactions already.
std::string_view ForUpdate(const Connection& c) {
  return c.dialect() == Dialect::kPostgres ? " FOR UPDATE" : "";
}

Monitor ReadMonitorRow(const Statement& s) {
  Monitor m;
  m.id = s.Int(0);
  m.name = s.TextCopy(1);
  m.model_name = s.TextCopy(2);
  m.spec_json = s.TextCopy(3);
  m.webhook_id = s.Int(4);
  m.active = s.Int(5) != 0;
  m.created_at = s.Int(6);
  m.updated_at = s.Int(7);
  m.last_fired_at = s.Int(8);
  return m;
}

MonitorWindow ReadWindowRow(const Statement& s) {
  MonitorWindow w;
  w.id = s.Int(0);
  w.monitor_id = s.Int(1);
  w.start_ms = s.Int(2);
  w.end_ms = s.Int(3);
  w.manual = s.Int(4) != 0;
  w.status = s.TextCopy(5);
  w.owner = s.TextCopy(6);
  w.claimed_at = s.Int(7);
  w.finished_at = s.Int(8);
  w.rows = s.Int(9);
  w.error = s.TextCopy(10);
  w.report_json = s.TextCopy(11);
  w.perf_dirty = s.Int(12) != 0;
  w.perf_dirty_seq = s.Int(13);
  return w;
}

MonitorResult ReadResultRow(const Statement& s) {
  MonitorResult r;
  r.window_id = s.Int(0);
  r.window_start = s.Int(1);
  r.window_end = s.Int(2);
  r.feature = s.TextCopy(3);
  r.statistic = s.TextCopy(4);
  r.value = s.Int(6) != 0 ? std::nan("") : s.Double(5);
  return r;
}

MonitorAlert ReadAlertRow(const Statement& s) {
  MonitorAlert a;
  a.id = s.Int(0);
  a.monitor_id = s.Int(1);
  a.rule = s.TextCopy(2);
  a.feature = s.TextCopy(3);
  a.statistic = s.TextCopy(4);
  a.status = s.TextCopy(5);
  a.value = s.IsNull(6) ? std::nan("") : s.Double(6);
  a.fired_at = s.Int(7);
  a.fired_window_start = s.Int(8);
  a.resolved_at = s.Int(9);
  a.resolved_window_start = s.Int(10);
  return a;
}

// NaN as NULL (SQLite would store a bound NaN as NULL anyway).
Value NullableDouble(double v) { return std::isnan(v) ? Value::Null() : Value::Double(v); }

// The payload with the first `"alert_id":0` (a whole number 0) replaced by
// `"alert_id":<id>`; unchanged when there is none.
std::string FillAlertId(std::string payload, int64_t id) {
  constexpr std::string_view kKey = "\"alert_id\":0";
  for (size_t pos = payload.find(kKey); pos != std::string::npos;
       pos = payload.find(kKey, pos + 1)) {
    size_t after = pos + kKey.size();
    bool whole = after == payload.size() ||
                 !(std::isdigit(static_cast<unsigned char>(payload[after])) ||
                   payload[after] == '.' || payload[after] == 'e' || payload[after] == 'E');
    if (whole) {
      payload.replace(pos, kKey.size(), "\"alert_id\":" + std::to_string(id));
      break;
    }
  }
  return payload;
}

// What the alert and result writers need to know of a window.
struct WindowKey {
  int64_t id = 0;
  int64_t monitor_id = 0;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

Result<int64_t> MonitorWebhookId(Connection& c, int64_t monitor_id) {
  CAIRN_ASSIGN_OR_RETURN(auto s,
                         c.Prepare("SELECT coalesce(webhook_id, 0) FROM monitors WHERE id = ?"));
  s->BindAll(monitor_id);
  CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return MonitorIdNotFound(monitor_id);
  return s->Int(0);
}

// One pending delivery to the monitor's webhook, if it still exists and is
// active.
Status EnqueueDelivery(Connection& c, int64_t webhook_id, std::string_view event,
                       const std::string& payload, int64_t time) {
  if (webhook_id == 0) return {};
  CAIRN_ASSIGN_OR_RETURN(
      auto s,
      c.Prepare("INSERT INTO webhook_deliveries (webhook_id, event, payload, status, attempts, "
                "next_attempt_at, last_http_status, last_error, created_at, delivered_at) "
                "SELECT webhook_id, CAST(? AS TEXT), CAST(? AS TEXT), 'pending', 0, "
                "CAST(? AS BIGINT), 0, '', CAST(? AS BIGINT), 0 FROM webhooks "
                "WHERE webhook_id = ? AND active = 1"));
  s->BindAll(event, payload, time, time, webhook_id);
  CAIRN_RETURN_IF_ERROR(s->Exec());
  return {};
}

// Opens and resolves incidents of window `w` at `time`, with their
// deliveries. A fire for a (rule, feature) already firing and a resolve of
// an incident that is not firing change nothing.
Status ApplyAlertChanges(Connection& c, const WindowKey& w, const std::vector<AlertChange>& alerts,
                         int64_t time) {
  if (alerts.empty()) return {};
  CAIRN_ASSIGN_OR_RETURN(int64_t webhook_id, MonitorWebhookId(c, w.monitor_id));
  for (const AlertChange& a : alerts) {
    if (a.kind == AlertChange::Kind::kFire) {
      int64_t id = 0;
      {
        CAIRN_ASSIGN_OR_RETURN(
            auto s,
            c.Prepare("INSERT INTO monitor_alerts (monitor_id, rule, feature, statistic, status, "
                      "value, fired_at, fired_window_start, resolved_at, resolved_window_start) "
                      "VALUES (?, ?, ?, ?, 'firing', ?, ?, ?, 0, 0) "
                      "ON CONFLICT (monitor_id, rule, feature) WHERE status = 'firing' "
                      "DO NOTHING RETURNING id"));
        s->BindAll(w.monitor_id, a.rule, a.feature, a.statistic, NullableDouble(a.value), time,
                   w.start_ms);
        CAIRN_ASSIGN_OR_RETURN(bool inserted, s->Next());
        if (!inserted) continue;  // already firing: one incident, one alert
        id = s->Int(0);
      }
      const std::string payload = FillAlertId(a.payload_json, id);
      CAIRN_RETURN_IF_ERROR(EnqueueDelivery(c, webhook_id, kEventFired, payload, time));
    } else {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("UPDATE monitor_alerts SET status = 'resolved', resolved_at = ?, "
                            "resolved_window_start = ? WHERE id = ? AND monitor_id = ? AND "
                            "status = 'firing'"));
      s->BindAll(time, w.start_ms, a.alert_id, w.monitor_id);
      CAIRN_ASSIGN_OR_RETURN(int64_t changed, s->Exec());
      if (changed == 0) continue;
      CAIRN_RETURN_IF_ERROR(EnqueueDelivery(c, webhook_id, kEventResolved, a.payload_json, time));
    }
  }
  return {};
}

// Upserts results of window `w` (its id, start and end win over the
// results' own). Several results with one (feature, statistic): the last.
Status UpsertResults(Connection& c, const WindowKey& w, const std::vector<MonitorResult>& results) {
  if (results.empty()) return {};
  std::map<std::pair<std::string_view, std::string_view>, size_t> last;
  for (size_t i = 0; i < results.size(); ++i) {
    last[{results[i].feature, results[i].statistic}] = i;
  }
  std::vector<Value> rows;
  rows.reserve(last.size() * kUpsertResults.columns);
  for (const auto& [key, i] : last) {
    const MonitorResult& r = results[i];
    const bool nan = std::isnan(r.value);
    rows.insert(rows.end(), {Value::Int(w.monitor_id), Value::Int(w.id), Value::Int(w.start_ms),
                             Value::Int(w.end_ms), Value::Text(r.feature), Value::Text(r.statistic),
                             Value::Double(nan ? 0.0 : r.value), Value::Int(nan ? 1 : 0)});
  }
  return c.InsertRows(kUpsertResults, rows);
}

Status InsertPredictions(Connection& c, const WindowKey& w,
                         const std::vector<StoredPrediction>& predictions) {
  if (predictions.empty()) return {};
  std::vector<Value> rows;
  rows.reserve(predictions.size() * kInsertPredictions.columns);
  for (const StoredPrediction& p : predictions) {
    rows.insert(rows.end(),
                {Value::Int(w.id), Value::Int(w.monitor_id), Value::Text(p.request_id),
                 Value::Int(p.row), Value::Text(p.prediction),
                 p.score ? NullableDouble(*p.score) : Value::Null(), Value::Int(p.score ? 1 : 0)});
  }
  return c.InsertRows(kInsertPredictions, rows);
}

Result<MonitorWindow> LoadWindow(Connection& c, int64_t window_id) {
  CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT " CAIRN_WINDOW_COLUMNS " WHERE id = ?"));
  s->BindAll(window_id);
  CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return WindowNotFound(window_id);
  return ReadWindowRow(*s);
}

// The window for an update that found it in another state than expected:
// kNotFound when it is gone, else kFailedPrecondition naming its status.
std::unexpected<Error> WindowStateError(Connection& c, int64_t window_id, std::string_view want) {
  auto w = LoadWindow(c, window_id);
  if (!w) return std::unexpected(w.error());
  return FailedPrecondition("Monitor window " + std::to_string(window_id) + " is " + w->status +
                            ", not " + std::string(want));
}

Result<Monitor> LoadMonitorByName(Connection& c, const std::string& name, bool lock) {
  std::string sql = "SELECT " CAIRN_MONITOR_COLUMNS " WHERE mo.name = ?";
  if (lock) sql += ForUpdate(c);
  CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(sql));
  s->BindAll(name);
  CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return MonitorNotFound(name);
  return ReadMonitorRow(*s);
}

Status ExecWithId(Connection& c, std::string_view sql, int64_t id) {
  CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(sql));
  s->BindAll(id);
  CAIRN_RETURN_IF_ERROR(s->Exec());
  return {};
}

}  // namespace

SqlMonitorStore::SqlMonitorStore(Database& db, const Clock& clock) : db_(db), clock_(clock) {}
SqlMonitorStore::~SqlMonitorStore() = default;

// --------------------------------------------------------------- monitors

Result<Monitor> SqlMonitorStore::CreateMonitor(const Monitor& m,
                                               const std::optional<Webhook>& webhook) {
  if (m.name.empty()) return InvalidArgument("Monitor name must not be empty");
  if (m.model_name.empty()) return InvalidArgument("Monitor model name must not be empty");
  const int64_t now = clock_.NowMillis();
  const int64_t created = m.created_at != 0 ? m.created_at : now;
  const int64_t updated = m.updated_at != 0 ? m.updated_at : created;
  return WithWriteTxn(db_, [&](Connection& c) -> Result<Monitor> {
    {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT 1 FROM monitors WHERE name = ?"));
      s->BindAll(m.name);
      CAIRN_ASSIGN_OR_RETURN(bool taken, s->Next());
      if (taken) return MonitorExists(m.name);
    }
    Value webhook_id = Value::Null();
    if (webhook) {
      // Linked to the registered model when there is one (deleting the
      // model deletes the webhook; the monitor's webhook_id becomes NULL).
      Value model = Value::Null();
      {
        CAIRN_ASSIGN_OR_RETURN(auto s,
                               c.Prepare("SELECT model_id FROM registered_models WHERE name = ?"));
        s->BindAll(m.model_name);
        CAIRN_ASSIGN_OR_RETURN(bool found, s->Next());
        if (found) model = Value::Int(s->Int(0));
      }
      {
        CAIRN_ASSIGN_OR_RETURN(
            auto s, c.Prepare("INSERT INTO webhooks (model_id, url, secret, active, creation_time) "
                              "VALUES (?, ?, ?, ?, ?) RETURNING webhook_id"));
        s->BindAll(model, webhook->url, webhook->secret, webhook->active ? 1 : 0,
                   webhook->creation_time != 0 ? webhook->creation_time : created);
        CAIRN_ASSIGN_OR_RETURN(bool got, s->Next());
        if (!got) return Internal("creating a monitor's webhook returned no id");
        webhook_id = Value::Int(s->Int(0));
      }
      std::set<std::string_view> events(webhook->events.begin(), webhook->events.end());
      if (events.empty()) events = {kEventFired, kEventResolved};
      for (std::string_view e : events) {
        CAIRN_ASSIGN_OR_RETURN(
            auto s, c.Prepare("INSERT INTO webhook_events (webhook_id, event) VALUES (?, ?)"));
        s->BindAll(webhook_id, e);
        CAIRN_RETURN_IF_ERROR(s->Exec());
      }
    }
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("INSERT INTO monitors (name, model_name, spec_json, webhook_id, "
                            "active, created_at, updated_at, last_fired_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
      s->BindAll(m.name, m.model_name, m.spec_json, webhook_id, m.active ? 1 : 0, created, updated,
                 m.last_fired_at);
      auto inserted = s->Exec();
      if (!inserted) {
        // A concurrent create of the same name (PostgreSQL) lands here.
        if (inserted.error().code() == ErrorCode::kAlreadyExists) return MonitorExists(m.name);
        return std::unexpected(inserted.error());
      }
    }
    return LoadMonitorByName(c, m.name, false);
  });
}

Result<Monitor> SqlMonitorStore::GetMonitor(const std::string& name) {
  return WithReadTxn(db_, [&](Connection& c) { return LoadMonitorByName(c, name, false); });
}

Result<std::vector<Monitor>> SqlMonitorStore::ListMonitors() {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<Monitor>> {
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT " CAIRN_MONITOR_COLUMNS " ORDER BY mo.name"));
    std::vector<Monitor> out;
    CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { out.push_back(ReadMonitorRow(*s)); }));
    return out;
  });
}

Status SqlMonitorStore::DeleteMonitor(const std::string& name) {
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    CAIRN_ASSIGN_OR_RETURN(Monitor m, LoadMonitorByName(c, name, true));
    // Children first, explicitly: the foreign keys would cascade too, but
    // this does not depend on the engine's foreign key enforcement.
    CAIRN_RETURN_IF_ERROR(ExecWithId(c, "DELETE FROM monitor_alerts WHERE monitor_id = ?", m.id));
    CAIRN_RETURN_IF_ERROR(ExecWithId(c,
                                     "DELETE FROM monitor_predictions WHERE window_id IN "
                                     "(SELECT id FROM monitor_windows WHERE monitor_id = ?)",
                                     m.id));
    CAIRN_RETURN_IF_ERROR(ExecWithId(c, "DELETE FROM monitor_results WHERE monitor_id = ?", m.id));
    CAIRN_RETURN_IF_ERROR(ExecWithId(c, "DELETE FROM monitor_windows WHERE monitor_id = ?", m.id));
    CAIRN_RETURN_IF_ERROR(ExecWithId(c, "DELETE FROM monitors WHERE id = ?", m.id));
    if (m.webhook_id != 0) {
      CAIRN_RETURN_IF_ERROR(
          ExecWithId(c, "DELETE FROM webhook_deliveries WHERE webhook_id = ?", m.webhook_id));
      CAIRN_RETURN_IF_ERROR(
          ExecWithId(c, "DELETE FROM webhook_events WHERE webhook_id = ?", m.webhook_id));
      CAIRN_RETURN_IF_ERROR(
          ExecWithId(c, "DELETE FROM webhooks WHERE webhook_id = ?", m.webhook_id));
    }
    return {};
  });
}

Result<bool> SqlMonitorStore::MarkFired(int64_t monitor_id, int64_t expected, int64_t fired_at) {
  return WithWriteTxn(db_, [&](Connection& c) -> Result<bool> {
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s,
          c.Prepare("UPDATE monitors SET last_fired_at = ? WHERE id = ? AND last_fired_at = ?"));
      s->BindAll(fired_at, monitor_id, expected);
      CAIRN_ASSIGN_OR_RETURN(int64_t changed, s->Exec());
      if (changed != 0) return true;
    }
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT 1 FROM monitors WHERE id = ?"));
    s->BindAll(monitor_id);
    CAIRN_ASSIGN_OR_RETURN(bool exists, s->Next());
    if (!exists) return MonitorIdNotFound(monitor_id);
    return false;
  });
}

// ---------------------------------------------------------------- windows

Result<std::optional<int64_t>> SqlMonitorStore::ClaimWindow(int64_t monitor_id, int64_t start_ms,
                                                            int64_t end_ms, bool manual,
                                                            const std::string& owner, int64_t now,
                                                            int64_t lease_ms) {
  return WithWriteTxn(db_, [&](Connection& c) -> Result<std::optional<int64_t>> {
    {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT 1 FROM monitors WHERE id = ?"));
      s->BindAll(monitor_id);
      CAIRN_ASSIGN_OR_RETURN(bool exists, s->Next());
      if (!exists) return MonitorIdNotFound(monitor_id);
    }
    {
      // Scheduled windows: the partial unique index decides who inserts.
      CAIRN_ASSIGN_OR_RETURN(
          auto s,
          c.Prepare(manual ? "INSERT INTO monitor_windows (monitor_id, start_ms, end_ms, manual, "
                             "status, owner, claimed_at) VALUES (?, ?, ?, 1, 'running', ?, ?) "
                             "RETURNING id"
                           : "INSERT INTO monitor_windows (monitor_id, start_ms, end_ms, manual, "
                             "status, owner, claimed_at) VALUES (?, ?, ?, 0, 'running', ?, ?) "
                             "ON CONFLICT (monitor_id, start_ms) WHERE manual = 0 DO NOTHING "
                             "RETURNING id"));
      s->BindAll(monitor_id, start_ms, end_ms, owner, now);
      CAIRN_ASSIGN_OR_RETURN(bool inserted, s->Next());
      if (inserted) return std::optional<int64_t>(s->Int(0));
      if (manual) return Internal("claiming a manual window returned no id");
    }
    // The window exists: take it over only from a claim older than the
    // lease. One statement, so concurrent takeovers have one winner.
    CAIRN_ASSIGN_OR_RETURN(
        auto s, c.Prepare("UPDATE monitor_windows SET owner = ?, claimed_at = ?, end_ms = ? "
                          "WHERE monitor_id = ? AND start_ms = ? AND manual = 0 AND "
                          "status = 'running' AND claimed_at < ? RETURNING id"));
    s->BindAll(owner, now, end_ms, monitor_id, start_ms, now - lease_ms);
    CAIRN_ASSIGN_OR_RETURN(bool taken, s->Next());
    if (taken) return std::optional<int64_t>(s->Int(0));
    return std::optional<int64_t>();
  });
}

Status SqlMonitorStore::CompleteWindow(const WindowCompletion& wc) {
  if (wc.status != "done" && wc.status != "empty" && wc.status != "failed") {
    return InvalidArgument("Monitor window status must be done, empty or failed, not '" +
                           wc.status + "'");
  }
  const int64_t time = wc.finished_at != 0 ? wc.finished_at : clock_.NowMillis();
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    WindowKey w;
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("UPDATE monitor_windows SET status = ?, rows = ?, error = ?, "
                            "report_json = ?, finished_at = ?, perf_dirty = 0 "
                            "WHERE id = ? AND status = 'running' "
                            "RETURNING id, monitor_id, start_ms, end_ms"));
      s->BindAll(wc.status, wc.rows, wc.error, wc.report_json, time, wc.window_id);
      CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
      if (!row) return WindowStateError(c, wc.window_id, "running");
      w = {s->Int(0), s->Int(1), s->Int(2), s->Int(3)};
    }
    CAIRN_RETURN_IF_ERROR(UpsertResults(c, w, wc.results));
    CAIRN_RETURN_IF_ERROR(InsertPredictions(c, w, wc.predictions));
    CAIRN_RETURN_IF_ERROR(ApplyAlertChanges(c, w, wc.alerts, time));
    if (wc.status == "done" && !wc.predictions.empty()) {
      // Labels that arrived before their predictions: the window's
      // performance is due as soon as it is stored.
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("UPDATE monitor_windows SET perf_dirty = 1, "
                            "perf_dirty_seq = perf_dirty_seq + 1 WHERE id = ? AND EXISTS "
                            "(SELECT 1 FROM monitor_predictions p "
                            "JOIN monitors mo ON mo.id = p.monitor_id "
                            "JOIN monitor_labels l ON l.model_name = mo.model_name AND "
                            "l.request_id = p.request_id AND l.row = p.row "
                            "WHERE p.window_id = ?)"));
      s->BindAll(w.id, w.id);
      CAIRN_RETURN_IF_ERROR(s->Exec());
    }
    return {};
  });
}

Result<std::optional<MonitorWindow>> SqlMonitorStore::LastScheduledWindow(int64_t monitor_id) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::optional<MonitorWindow>> {
    CAIRN_ASSIGN_OR_RETURN(auto s,
                           c.Prepare("SELECT " CAIRN_WINDOW_COLUMNS " WHERE monitor_id = ? AND "
                                     "manual = 0 ORDER BY start_ms DESC LIMIT 1"));
    s->BindAll(monitor_id);
    CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
    if (!row) return std::optional<MonitorWindow>();
    return std::optional<MonitorWindow>(ReadWindowRow(*s));
  });
}

Result<std::vector<MonitorWindow>> SqlMonitorStore::ListWindows(int64_t monitor_id, int64_t from,
                                                                int64_t to, int limit) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<MonitorWindow>> {
    CAIRN_ASSIGN_OR_RETURN(
        auto s, c.Prepare("SELECT " CAIRN_WINDOW_COLUMNS " WHERE monitor_id = ? AND start_ms >= ? "
                          "AND start_ms < ? ORDER BY start_ms DESC, id DESC LIMIT ?"));
    s->BindAll(monitor_id, from, to, LimitOf(limit));
    std::vector<MonitorWindow> out;
    CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { out.push_back(ReadWindowRow(*s)); }));
    return out;
  });
}

Result<MonitorWindow> SqlMonitorStore::GetWindow(int64_t window_id) {
  return WithReadTxn(db_, [&](Connection& c) { return LoadWindow(c, window_id); });
}

// ---------------------------------------------------------------- results

Result<std::vector<MonitorResult>> SqlMonitorStore::ListResults(int64_t monitor_id,
                                                                const std::string& feature,
                                                                const std::string& statistic,
                                                                int64_t from, int64_t to) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<MonitorResult>> {
    std::string sql = "SELECT " CAIRN_RESULT_COLUMNS
                      " WHERE monitor_id = ? AND window_start >= ? AND window_start < ?";
    if (!statistic.empty()) sql += " AND statistic = ?";
    if (!feature.empty()) sql += " AND feature = ?";
    sql += " ORDER BY window_start, feature, statistic, window_id";
    // At most four distinct texts: safe to cache.
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(sql));
    int i = 0;
    s->Bind(i++, Value::Int(monitor_id));
    s->Bind(i++, Value::Int(from));
    s->Bind(i++, Value::Int(to));
    if (!statistic.empty()) s->Bind(i++, Value::Text(statistic));
    if (!feature.empty()) s->Bind(i++, Value::Text(feature));
    std::vector<MonitorResult> out;
    CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { out.push_back(ReadResultRow(*s)); }));
    return out;
  });
}

Result<std::vector<std::pair<Monitor, std::vector<MonitorResult>>>>
SqlMonitorStore::LatestResults() {
  using Out = std::vector<std::pair<Monitor, std::vector<MonitorResult>>>;
  return WithReadTxn(db_, [&](Connection& c) -> Result<Out> {
    Out out;
    {
      CAIRN_ASSIGN_OR_RETURN(auto s,
                             c.Prepare("SELECT " CAIRN_MONITOR_COLUMNS " ORDER BY mo.name"));
      CAIRN_RETURN_IF_ERROR(ForEachRow(
          *s, [&] { out.emplace_back(ReadMonitorRow(*s), std::vector<MonitorResult>{}); }));
    }
    for (auto& [monitor, results] : out) {
      int64_t window_id = 0;
      {
        CAIRN_ASSIGN_OR_RETURN(auto s,
                               c.Prepare("SELECT id FROM monitor_windows WHERE monitor_id = ? AND "
                                         "status = 'done' ORDER BY end_ms DESC, id DESC LIMIT 1"));
        s->BindAll(monitor.id);
        CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
        if (!row) continue;
        window_id = s->Int(0);
      }
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT " CAIRN_RESULT_COLUMNS
                                               " WHERE window_id = ? ORDER BY feature, statistic"));
      s->BindAll(window_id);
      CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { results.push_back(ReadResultRow(*s)); }));
    }
    return out;
  });
}

Status SqlMonitorStore::UpdateWindowPerformance(int64_t window_id,
                                                const std::vector<MonitorResult>& results,
                                                const std::vector<AlertChange>& alerts,
                                                int64_t now, int64_t seen_seq,
                                                const std::string& report_json) {
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    WindowKey w;
    {
      // The dirty mark is cleared only when no label marked the window
      // since the caller read seen_seq (one statement: a concurrent
      // LogLabels either committed before it, and the sequence differs, or
      // marks the window again after it).
      CAIRN_ASSIGN_OR_RETURN(
          auto s,
          c.Prepare(report_json.empty()
                        ? "UPDATE monitor_windows SET perf_dirty = CASE WHEN perf_dirty_seq = ? "
                          "THEN 0 ELSE perf_dirty END WHERE id = ? AND status = 'done' "
                          "RETURNING id, monitor_id, start_ms, end_ms"
                        : "UPDATE monitor_windows SET perf_dirty = CASE WHEN perf_dirty_seq = ? "
                          "THEN 0 ELSE perf_dirty END, report_json = ? WHERE id = ? AND "
                          "status = 'done' RETURNING id, monitor_id, start_ms, end_ms"));
      if (report_json.empty()) {
        s->BindAll(seen_seq, window_id);
      } else {
        s->BindAll(seen_seq, report_json, window_id);
      }
      CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
      if (!row) return WindowStateError(c, window_id, "done");
      w = {s->Int(0), s->Int(1), s->Int(2), s->Int(3)};
    }
    CAIRN_RETURN_IF_ERROR(UpsertResults(c, w, results));
    return ApplyAlertChanges(c, w, alerts, now);
  });
}

// ------------------------------------------------------- labels and joins

Result<int64_t> SqlMonitorStore::LogLabels(const std::string& model_name,
                                           const std::vector<Label>& labels, int64_t now) {
  if (labels.empty()) return 0;
  // One row per (request_id, row): the last one given wins.
  std::map<std::pair<std::string_view, int32_t>, size_t> unique;
  for (size_t i = 0; i < labels.size(); ++i) unique[{labels[i].request_id, labels[i].row}] = i;
  return WithWriteTxn(db_, [&](Connection& c) -> Result<int64_t> {
    {
      std::vector<Value> rows;
      rows.reserve(unique.size() * kUpsertLabels.columns);
      for (const auto& [key, i] : unique) {
        rows.insert(rows.end(),
                    {Value::Text(model_name), Value::Text(labels[i].request_id),
                     Value::Int(labels[i].row), Value::Text(labels[i].label), Value::Int(now)});
      }
      CAIRN_RETURN_IF_ERROR(c.InsertRows(kUpsertLabels, rows));
    }
    // Stored predictions of this model's monitors for these request ids.
    std::vector<std::string_view> request_ids;
    for (const auto& [key, i] : unique) {
      if (request_ids.empty() || request_ids.back() != key.first) request_ids.push_back(key.first);
    }
    std::set<std::pair<std::string, int32_t>> matched;
    std::set<int64_t> windows;
    for (size_t first = 0; first < request_ids.size(); first += kChunk) {
      const size_t n = std::min(kChunk, request_ids.size() - first);
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("SELECT p.window_id, p.request_id, p.row FROM monitor_predictions p "
                            "JOIN monitors mo ON mo.id = p.monitor_id WHERE mo.model_name = ? "
                            "AND " +
                                InListCondition("p.request_id", n, false),
                            n == kChunk));
      s->Bind(0, Value::Text(model_name));
      for (size_t i = 0; i < n; ++i) {
        s->Bind(static_cast<int>(i + 1), Value::Text(request_ids[first + i]));
      }
      CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] {
        const int32_t row = static_cast<int32_t>(s->Int(2));
        if (unique.count({s->Text(1), row}) == 0) return;  // another row of the request
        matched.emplace(s->TextCopy(1), row);
        windows.insert(s->Int(0));
      }));
    }
    const std::vector<int64_t> window_ids(windows.begin(), windows.end());
    for (size_t first = 0; first < window_ids.size(); first += kChunk) {
      const size_t n = std::min(kChunk, window_ids.size() - first);
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("UPDATE monitor_windows SET perf_dirty = 1, "
                            "perf_dirty_seq = perf_dirty_seq + 1 WHERE status = 'done' AND " +
                                InListCondition("id", n, false),
                            n == kChunk));
      for (size_t i = 0; i < n; ++i)
        s->Bind(static_cast<int>(i), Value::Int(window_ids[first + i]));
      CAIRN_RETURN_IF_ERROR(s->Exec());
    }
    return static_cast<int64_t>(unique.size() - matched.size());
  });
}

Result<std::vector<LabeledPrediction>> SqlMonitorStore::LabeledPredictions(
    int64_t window_id, const std::string& model_name) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<LabeledPrediction>> {
    CAIRN_RETURN_IF_ERROR(LoadWindow(c, window_id));
    CAIRN_ASSIGN_OR_RETURN(
        auto s, c.Prepare("SELECT p.request_id, p.row, p.prediction, p.has_score, p.score, l.label "
                          "FROM monitor_predictions p JOIN monitor_labels l ON "
                          "l.model_name = ? AND l.request_id = p.request_id AND l.row = p.row "
                          "WHERE p.window_id = ? ORDER BY p.request_id, p.row"));
    s->BindAll(model_name, window_id);
    std::vector<LabeledPrediction> out;
    CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] {
      LabeledPrediction lp;
      lp.prediction.request_id = s->TextCopy(0);
      lp.prediction.row = static_cast<int32_t>(s->Int(1));
      lp.prediction.prediction = s->TextCopy(2);
      if (s->Int(3) != 0) lp.prediction.score = s->IsNull(4) ? std::nan("") : s->Double(4);
      lp.label = s->TextCopy(5);
      out.push_back(std::move(lp));
    }));
    return out;
  });
}

Result<std::vector<MonitorWindow>> SqlMonitorStore::DirtyWindows(int64_t monitor_id, int limit) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<MonitorWindow>> {
    CAIRN_ASSIGN_OR_RETURN(
        auto s, c.Prepare("SELECT " CAIRN_WINDOW_COLUMNS " WHERE monitor_id = ? AND perf_dirty = 1 "
                          "AND status = 'done' ORDER BY start_ms, id LIMIT ?"));
    s->BindAll(monitor_id, LimitOf(limit));
    std::vector<MonitorWindow> out;
    CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { out.push_back(ReadWindowRow(*s)); }));
    return out;
  });
}

// ----------------------------------------------------------------- alerts

Result<std::vector<MonitorAlert>> SqlMonitorStore::ListAlerts(int64_t monitor_id,
                                                              const std::string& status,
                                                              int limit) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<MonitorAlert>> {
    CAIRN_ASSIGN_OR_RETURN(
        auto s, c.Prepare(status.empty()
                              ? "SELECT " CAIRN_ALERT_COLUMNS
                                " WHERE monitor_id = ? ORDER BY id DESC LIMIT ?"
                              : "SELECT " CAIRN_ALERT_COLUMNS
                                " WHERE monitor_id = ? AND status = ? ORDER BY id DESC LIMIT ?"));
    if (status.empty()) {
      s->BindAll(monitor_id, LimitOf(limit));
    } else {
      s->BindAll(monitor_id, status, LimitOf(limit));
    }
    std::vector<MonitorAlert> out;
    CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { out.push_back(ReadAlertRow(*s)); }));
    return out;
  });
}

}  // namespace cairn::store::sql
