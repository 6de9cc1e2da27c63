// Monitoring endpoints: parse -> MonitorService -> render (see monitor_handlers.h).

#include "api/monitor_handlers.h"

#include <climits>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>

#include "api/request_fields.h"
#include "core/metrics.h"
#include "monitor/dataset.h"
#include "monitor/drift.h"

namespace cairn::api {
namespace {

using nlohmann::json;

constexpr int kDefaultWindowLimit = 100;
constexpr int kDefaultAlertLimit = 1000;

std::unexpected<Error> NoEndpoint(const http::Request& req) {
  return MakeError(ErrorCode::kEndpointNotFound,
                   "No endpoint " + std::string(http::MethodName(req.method)) + " " + req.path +
                       " (try /api/v1/monitors, /api/v1/monitors/{name}, "
                       "/api/v1/monitors/{name}/run|windows|results|alerts)");
}

// A number as JSON, NaN and infinities as null (they have no JSON form).
json Number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// Parses text the service or a report wrote; null for "" or text that is not JSON.
json ParseOrNull(const std::string& text) {
  if (text.empty()) return nullptr;
  try {
    return json::parse(text);
  } catch (const json::exception&) {
    return nullptr;
  }
}

Result<int64_t> QueryInt(const http::Request& req, std::string_view name, int64_t fallback) {
  std::optional<std::string> text = req.QueryParam(name);
  if (!text || text->empty()) return fallback;
  std::optional<int64_t> v = ParseInt64Text(*text);
  if (!v) {
    return InvalidArgument("Parameter '" + std::string(name) + "' must be an integer, got '" +
                           *text + "'");
  }
  return *v;
}

json MonitorJson(const monitor::MonitorInfo& info) {
  json m = ParseOrNull(monitor::MonitorSpecToJson(info.spec));
  if (!m.is_object()) m = json::object();
  const store::Monitor& s = info.monitor;
  m["id"] = s.id;
  m["name"] = s.name;
  m["model"] = s.model_name;
  m["webhook_id"] = s.webhook_id;
  m["active"] = s.active;
  m["created_at"] = s.created_at;
  m["updated_at"] = s.updated_at;
  m["last_fired_at"] = s.last_fired_at;
  return m;
}

json WindowJson(const store::MonitorWindow& w) {
  return json{{"id", w.id},
              {"start", w.start_ms},
              {"end", w.end_ms},
              {"manual", w.manual},
              {"status", w.status},
              {"rows", w.rows},
              {"error", w.error},
              {"claimed_at", w.claimed_at},
              {"finished_at", w.finished_at},
              {"perf_dirty", w.perf_dirty},
              {"report", ParseOrNull(w.report_json)}};
}

json ResultJson(const store::MonitorResult& r) {
  return json{{"window_id", r.window_id},   {"window_start", r.window_start},
              {"window_end", r.window_end}, {"feature", r.feature},
              {"statistic", r.statistic},   {"value", Number(r.value)}};
}

json AlertJson(const store::MonitorAlert& a) {
  return json{{"id", a.id},
              {"rule", a.rule},
              {"feature", a.feature},
              {"statistic", a.statistic},
              {"status", a.status},
              {"value", Number(a.value)},
              {"fired_at", a.fired_at},
              {"fired_window_start", a.fired_window_start},
              {"resolved_at", a.resolved_at},
              {"resolved_window_start", a.resolved_window_start}};
}

json AlertChangeJson(const store::AlertChange& c) {
  return json{{"kind", c.kind == store::AlertChange::Kind::kFire ? "fire" : "resolve"},
              {"alert_id", c.alert_id},
              {"rule", c.rule},
              {"feature", c.feature},
              {"statistic", c.statistic},
              {"value", Number(c.value)}};
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Parses a JSON request body (an empty body is {}); kBadRequest otherwise.
Result<json> BodyObject(const http::Request& req) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  try {
    json j = json::parse(req.body);
    if (!j.is_object()) return BadRequest("The request body must be a JSON object");
    return j;
  } catch (const json::exception& e) {
    return BadRequest(std::string("Malformed JSON in request body: ") + e.what());
  }
}

// ------------------------------------------------------------- monitors

Result<std::string> CreateMonitor(monitor::MonitorService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(monitor::MonitorSpec spec, monitor::MonitorSpecFromJson(req.body));
  CAIRN_ASSIGN_OR_RETURN(monitor::MonitorInfo info, s.Create(spec));
  return Dump(json{{"monitor", MonitorJson(info)}});
}

Result<std::string> ListMonitors(monitor::MonitorService& s) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<monitor::MonitorInfo> all, s.List());
  json arr = json::array();
  for (const auto& m : all) arr.push_back(MonitorJson(m));
  return Dump(json{{"monitors", std::move(arr)}});
}

Result<std::string> GetMonitor(monitor::MonitorService& s, const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(monitor::MonitorInfo info, s.Get(name));
  store::MonitorStore& st = s.store();
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::MonitorWindow> last,
                         st.ListWindows(info.monitor.id, 0, INT64_MAX, 1));
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::MonitorAlert> open,
                         st.ListAlerts(info.monitor.id, "firing", kDefaultAlertLimit));
  json alerts = json::array();
  for (const auto& a : open) alerts.push_back(AlertJson(a));
  return Dump(json{{"monitor", MonitorJson(info)},
                   {"last_window", last.empty() ? json(nullptr) : WindowJson(last.front())},
                   {"open_alerts", std::move(alerts)}});
}

Result<std::string> DeleteMonitor(monitor::MonitorService& s, const std::string& name) {
  CAIRN_RETURN_IF_ERROR(s.Delete(name));
  return std::string("{}");
}

Result<std::string> RunMonitor(monitor::MonitorService& s, const http::Request& req,
                               const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(json body, BodyObject(req));
  std::optional<std::string> csv;
  if (auto it = body.find("current_csv"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) {
      return InvalidArgument("Parameter 'current_csv' must be a string (the CSV text)");
    }
    csv = it->get<std::string>();
  }
  CAIRN_ASSIGN_OR_RETURN(monitor::WindowOutcome o, s.RunNow(name, std::move(csv)));
  json changes = json::array();
  for (const auto& c : o.alert_changes) changes.push_back(AlertChangeJson(c));
  return Dump(json{{"window", WindowJson(o.window)}, {"alert_changes", std::move(changes)}});
}

Result<std::string> ListWindows(monitor::MonitorService& s, const http::Request& req,
                                const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(int64_t from, QueryInt(req, "from", 0));
  CAIRN_ASSIGN_OR_RETURN(int64_t to, QueryInt(req, "to", INT64_MAX));
  CAIRN_ASSIGN_OR_RETURN(int64_t limit, QueryInt(req, "limit", kDefaultWindowLimit));
  if (limit <= 0 || limit > INT_MAX) {
    return InvalidArgument("Parameter 'limit' must be a positive integer, got " +
                           std::to_string(limit));
  }
  CAIRN_ASSIGN_OR_RETURN(monitor::MonitorInfo info, s.Get(name));
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::MonitorWindow> windows,
                         s.store().ListWindows(info.monitor.id, from, to, static_cast<int>(limit)));
  json arr = json::array();
  for (const auto& w : windows) arr.push_back(WindowJson(w));
  return Dump(json{{"windows", std::move(arr)}});
}

Result<std::string> ListResults(monitor::MonitorService& s, const http::Request& req,
                                const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(int64_t from, QueryInt(req, "from", 0));
  CAIRN_ASSIGN_OR_RETURN(int64_t to, QueryInt(req, "to", INT64_MAX));
  std::string feature = req.QueryParam("feature").value_or("");
  std::string statistic = req.QueryParam("statistic").value_or("");
  CAIRN_ASSIGN_OR_RETURN(monitor::MonitorInfo info, s.Get(name));
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::MonitorResult> results,
                         s.store().ListResults(info.monitor.id, feature, statistic, from, to));
  json arr = json::array();
  for (const auto& r : results) arr.push_back(ResultJson(r));
  return Dump(json{{"results", std::move(arr)}});
}

Result<std::string> ListAlerts(monitor::MonitorService& s, const http::Request& req,
                               const std::string& name) {
  std::string status = req.QueryParam("status").value_or("");
  if (status == "all" || status == "any") status.clear();
  if (!status.empty() && status != "firing" && status != "resolved") {
    return InvalidArgument("Parameter 'status' must be firing, resolved or empty, got '" + status +
                           "'");
  }
  CAIRN_ASSIGN_OR_RETURN(int64_t limit, QueryInt(req, "limit", kDefaultAlertLimit));
  if (limit <= 0 || limit > INT_MAX) {
    return InvalidArgument("Parameter 'limit' must be a positive integer, got " +
                           std::to_string(limit));
  }
  CAIRN_ASSIGN_OR_RETURN(monitor::MonitorInfo info, s.Get(name));
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::MonitorAlert> alerts,
                         s.store().ListAlerts(info.monitor.id, status, static_cast<int>(limit)));
  json arr = json::array();
  for (const auto& a : alerts) arr.push_back(AlertJson(a));
  return Dump(json{{"alerts", std::move(arr)}});
}

// Everything under /api/v1/monitors. Monitor names follow registry names
// (no '/'), so the path is {name} or {name}/{what}.
Result<std::string> MonitorsResource(monitor::MonitorService& s, const http::Request& req) {
  const http::Method m = req.method;
  if (req.route_suffix.empty()) {
    if (m == http::Method::kGet) return ListMonitors(s);
    if (m == http::Method::kPost) return CreateMonitor(s, req);
    return NoEndpoint(req);
  }
  std::vector<std::string> segs = SplitPath(req.route_suffix);
  if (segs.empty() || segs.size() > 2 || segs[0].empty()) return NoEndpoint(req);
  const std::string& name = segs[0];
  if (segs.size() == 1) {
    if (m == http::Method::kGet) return GetMonitor(s, name);
    if (m == http::Method::kDelete) return DeleteMonitor(s, name);
    return NoEndpoint(req);
  }
  const std::string& what = segs[1];
  if (m == http::Method::kPost && what == "run") return RunMonitor(s, req, name);
  if (m == http::Method::kGet && what == "windows") return ListWindows(s, req, name);
  if (m == http::Method::kGet && what == "results") return ListResults(s, req, name);
  if (m == http::Method::kGet && what == "alerts") return ListAlerts(s, req, name);
  return NoEndpoint(req);
}

// --------------------------------------------------------------- labels

bool IsCsvBody(const http::Request& req) {
  std::string type = req.Header("content-type").value_or("");
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type.starts_with("text/csv") || type.starts_with("text/plain")) return true;
  size_t first = req.body.find_first_not_of(" \t\r\n");
  return first != std::string::npos && req.body[first] != '{';
}

Result<std::vector<store::Label>> LabelsFromJson(const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(json body, BodyObject(req));
  auto it = body.find("labels");
  if (it == body.end() || !it->is_array()) {
    return InvalidArgument(
        "Parameter 'labels' must be a list of {\"request_id\", \"row\", \"label\"}");
  }
  std::vector<store::Label> out;
  out.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const json& item = (*it)[i];
    const std::string where = "labels[" + std::to_string(i) + "]";
    if (!item.is_object()) return InvalidArgument("'" + where + "' must be an object");
    store::Label l;
    auto id = item.find("request_id");
    if (id == item.end() || !id->is_string() || id->get<std::string>().empty()) {
      return InvalidArgument("'" + where + ".request_id' must be a non-empty string");
    }
    l.request_id = id->get<std::string>();
    if (auto row = item.find("row"); row != item.end() && !row->is_null()) {
      CAIRN_ASSIGN_OR_RETURN(int64_t r, JsonToInt64(*row, where + ".row"));
      if (r < 0 || r > INT32_MAX) {
        return InvalidArgument("'" + where + ".row' must be a row number >= 0");
      }
      l.row = static_cast<int32_t>(r);
    }
    auto label = item.find("label");
    if (label == item.end() || label->is_null()) {
      return InvalidArgument("'" + where + ".label' is missing");
    }
    if (label->is_string()) {
      l.label = label->get<std::string>();
    } else if (label->is_number_integer() || label->is_boolean()) {
      l.label = label->dump();
    } else if (label->is_number()) {
      // Shortest text that round-trips, as the inference log writes numbers.
      l.label = label->dump();
    } else {
      return InvalidArgument("'" + where + ".label' must be a string or a number");
    }
    out.push_back(std::move(l));
  }
  return out;
}

Result<std::string> LogLabels(monitor::MonitorService& s, const http::Request& req) {
  const std::string& model = req.route_suffix;
  if (model.empty() || model.find('/') != std::string::npos) {
    return MakeError(ErrorCode::kEndpointNotFound,
                     "No endpoint POST " + req.path + " (try /api/v1/labels/{model})");
  }
  std::vector<store::Label> labels;
  if (IsCsvBody(req)) {
    CAIRN_ASSIGN_OR_RETURN(labels, s.ParseLabelsCsv(req.body));
  } else {
    CAIRN_ASSIGN_OR_RETURN(labels, LabelsFromJson(req));
  }
  CAIRN_ASSIGN_OR_RETURN(monitor::LabelsOutcome o, s.LogLabels(model, labels));
  return Dump(json{{"logged", o.logged}, {"unknown_request_ids", o.unknown_request_ids}});
}

// ---------------------------------------------------------------- drift

Result<std::string> RequiredText(const json& body, std::string_view name) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_string() || it->get<std::string>().empty()) {
    return InvalidArgument("Parameter '" + std::string(name) + "' must be the CSV text");
  }
  return it->get<std::string>();
}

Result<monitor::DriftOptions> DriftOptionsFromJson(const json& body) {
  monitor::DriftOptions o;
  if (auto it = body.find("columns"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgument("Parameter 'columns' must be a list of names");
    for (const json& c : *it) {
      if (!c.is_string()) return InvalidArgument("Parameter 'columns' must be a list of names");
      o.columns.push_back(c.get<std::string>());
    }
  }
  if (auto it = body.find("tests"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) {
      return InvalidArgument("Parameter 'tests' must be an object {column: test}");
    }
    for (const auto& [col, test] : it->items()) {
      if (!test.is_string()) {
        return InvalidArgument("Parameter 'tests." + col + "' must be a test name");
      }
      CAIRN_ASSIGN_OR_RETURN(o.tests[col], monitor::ParseStatTest(test.get<std::string>()));
    }
  }
  if (auto it = body.find("thresholds"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) {
      return InvalidArgument("Parameter 'thresholds' must be an object {column: number}");
    }
    for (const auto& [col, v] : it->items()) {
      CAIRN_ASSIGN_OR_RETURN(o.thresholds[col], JsonToDouble(v, "thresholds." + col));
    }
  }
  if (auto it = body.find("drift_share"); it != body.end() && !it->is_null()) {
    CAIRN_ASSIGN_OR_RETURN(o.drift_share, JsonToDouble(*it, "drift_share"));
    if (!(o.drift_share > 0 && o.drift_share <= 1)) {
      return InvalidArgument("Parameter 'drift_share' must be in (0, 1]");
    }
  }
  return o;
}

Result<std::string> OneOffDrift(const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(json body, BodyObject(req));
  CAIRN_ASSIGN_OR_RETURN(std::string ref_text, RequiredText(body, "reference_csv"));
  CAIRN_ASSIGN_OR_RETURN(std::string cur_text, RequiredText(body, "current_csv"));
  CAIRN_ASSIGN_OR_RETURN(monitor::DriftOptions options, DriftOptionsFromJson(body));
  monitor::ReadOptions ro;
  ro.source_name = "reference_csv";
  CAIRN_ASSIGN_OR_RETURN(monitor::Table ref, monitor::ParseCsv(ref_text, ro));
  monitor::ReadOptions co;
  co.source_name = "current_csv";
  for (const auto& c : ref.columns) co.kinds[c.name] = c.kind;
  CAIRN_ASSIGN_OR_RETURN(monitor::Table cur, monitor::ParseCsv(cur_text, co));
  CAIRN_ASSIGN_OR_RETURN(monitor::DriftReport drift, monitor::ComputeDrift(ref, cur, options));
  monitor::QualityReport quality = monitor::ComputeQuality(ref, cur);
  return "{\"drift\":" + monitor::DriftReportToJson(drift) +
         ",\"quality\":" + monitor::QualityReportToJson(quality) + "}";
}

// -------------------------------------------------------------- metrics

bool IsPerformanceStatistic(const std::string& s) {
  static const std::set<std::string> kNames = {"accuracy", "precision",   "recall", "f1",
                                               "roc_auc",  "log_loss",    "mae",    "rmse",
                                               "r2",       "labeled_rows"};
  return kNames.contains(s);
}

Result<std::string> Metrics(monitor::MonitorService& s) {
  store::MonitorStore& st = s.store();
  // Every monitor is listed, with no results until it has a done window.
  CAIRN_ASSIGN_OR_RETURN(auto latest, st.LatestResults());
  std::vector<std::pair<std::string, int64_t>> firing;
  for (const auto& [m, results] : latest) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<store::MonitorAlert> a, st.ListAlerts(m.id, "firing", 0));
    firing.emplace_back(m.name, static_cast<int64_t>(a.size()));
  }
  return RenderMonitorMetrics(latest, firing);
}

template <typename Fn>
http::Handler Bind(monitor::MonitorService& s, Fn fn) {
  return [&s, fn](http::Request& req) -> http::Response {
    Result<std::string> body = fn(s, req);
    if (!body) return http::ErrorResponse(body.error());
    return http::Response::Json(200, std::move(*body));
  };
}

}  // namespace

std::string RenderMonitorMetrics(
    const std::vector<std::pair<store::Monitor, std::vector<store::MonitorResult>>>& latest,
    const std::vector<std::pair<std::string, int64_t>>& firing) {
  MetricsRegistry reg;
  auto& score = reg.AddGauge("cairn_monitor_drift_score",
                             "Drift test score of a feature in the latest window (p-value or "
                             "distance)",
                             {"monitor", "feature"});
  auto& drifted =
      reg.AddGauge("cairn_monitor_drifted", "1 when the feature drifted in the latest window",
                   {"monitor", "feature"});
  auto& share = reg.AddGauge("cairn_monitor_drift_share",
                             "Share of drifted columns in the latest window", {"monitor"});
  auto& perf =
      reg.AddGauge("cairn_monitor_performance",
                   "Model performance in the latest window with labels", {"monitor", "metric"});
  auto& alerts = reg.AddGauge("cairn_monitor_alerts_firing", "Open alert incidents", {"monitor"});
  auto& last_end = reg.AddGauge("cairn_monitor_last_window_end_seconds",
                                "End of the latest processed window (Unix seconds)", {"monitor"});
  for (const auto& [m, results] : latest) {
    int64_t end_ms = 0;
    for (const store::MonitorResult& r : results) {
      end_ms = std::max(end_ms, r.window_end);
      if (!r.feature.empty()) {
        if (r.statistic == "drift_score") score.WithLabels({m.name, r.feature}).Set(r.value);
        if (r.statistic == "drifted") drifted.WithLabels({m.name, r.feature}).Set(r.value);
      } else if (r.statistic == "drift_share") {
        share.WithLabels({m.name}).Set(r.value);
      } else if (IsPerformanceStatistic(r.statistic)) {
        perf.WithLabels({m.name, r.statistic}).Set(r.value);
      }
    }
    if (end_ms > 0) last_end.WithLabels({m.name}).Set(static_cast<double>(end_ms) / 1000.0);
  }
  for (const auto& [name, n] : firing) alerts.WithLabels({name}).Set(static_cast<double>(n));
  return reg.Render();
}

void MountMonitorRoutes(http::Router& router, monitor::MonitorService& service) {
  for (http::Method m : {http::Method::kGet, http::Method::kPost, http::Method::kDelete}) {
    router.Add(http::Route{m, "/api/v1/monitors", /*prefix=*/true, http::BodyMode::kBuffer,
                           Bind(service, MonitorsResource)});
  }
  router.Add(http::Route{http::Method::kPost, "/api/v1/labels", /*prefix=*/true,
                         http::BodyMode::kBuffer, Bind(service, LogLabels)});
  router.Add(http::Method::kPost, "/api/v1/drift",
             Bind(service, [](monitor::MonitorService&, const http::Request& req) {
               return OneOffDrift(req);
             }));
  router.Add(http::Method::kGet, "/metrics", [&service](http::Request&) -> http::Response {
    Result<std::string> text = Metrics(service);
    if (!text) return http::ErrorResponse(text.error());
    http::Response r = http::Response::Text(200, std::move(*text));
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  });
}

}  // namespace cairn::api
