// `cairn monitors ...` and `cairn labels log` (client mode): monitoring over
// the native /api/v1 of a `cairn server` (client/monitor_client.h,
// docs/monitoring.md).
//
//   monitors create NAME --model M [--deployment D] [--reference URI] [--log-uri URI]
//            [--window 1h|1000rows] [--grace 2m] [--schedule CRON] [--task T]
//            [--positive-label L] [--prediction-column C] [--columns a,b]
//            [--test col=psi]... [--threshold col=0.2]... [--drift-share 0.5]
//            [--alert RULE]... [--alert-webhook URL] [--alert-secret S]
//   monitors list | get NAME | delete NAME
//   monitors run NAME [--current file.csv]
//   monitors report NAME [--last N]     per-feature verdicts over the last N windows
//   monitors alerts NAME [--status firing|resolved]
//   monitors profile DATASET --output FILE.profile.json   (local: no server)
//   labels log MODEL --file labels.csv   (columns request_id, label[, row])
//
// `monitors profile` reads a CSV / JSON-lines file here and writes its
// profile (monitor/dataset.h: value -> count per column, a lossless
// reference for drift and quality), then prints rows, columns and bytes
// (--json: {"dataset", "output", "rows", "bytes", "dataset_bytes",
// "columns": [{"name", "kind", "distinct", "missing"}]}). The user logs it as
// an artifact and gives it as --reference runs:/<run>/train.profile.json or
// the model version's tag cairn.reference.
//
// Every command takes --tracking-uri, --json and --user. The spec's checks
// (window, schedule, rules, tests, the model, the reference's columns) are
// the server's, so the CLI and the API say the same thing; flags that are
// not text (--threshold, --drift-share, --test's form) are checked here
// before anything is sent.
//
// References and log folders given as local paths are sent as absolute
// file:// URIs: the *server* reads them, so they must be paths the server
// can see (the same machine or a shared filesystem). URIs with a scheme
// (runs:/, mlflow-artifacts:/, file://, s3://) are sent as they are.
//
// Output: tables and fields by default; with --json the server's documents
// ({"monitor": ...}, {"monitors": [...]}, {"window": ..., "alert_changes":
// [...]}, {"windows": [...]} oldest first for report, {"alerts": [...]},
// {"logged", "unknown_request_ids"}).

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "cli/command.h"
#include "cli/table.h"
#include "client/monitor_client.h"
#include "core/config.h"
#include "monitor/dataset.h"

namespace cairn::cli {
namespace {

using nlohmann::json;

struct MonitorsFlags {
  ClientFlags client;
  std::string name;
  // create
  std::string model;
  std::string deployment;
  std::string reference;
  std::string log_uri;
  std::string window;
  std::string grace;
  std::string schedule;
  std::string task;
  std::string positive_label;
  std::string prediction_column;
  std::string columns;
  std::vector<std::string> tests;
  std::vector<std::string> thresholds;
  std::string drift_share;
  std::vector<std::string> alerts;
  std::string alert_webhook;
  std::string alert_secret;
  // run
  std::string current;
  // report
  int64_t last = 5;
  // alerts
  std::string status;
  // labels
  std::string file;
  // profile
  std::string dataset;
  std::string output;
};

Result<client::MonitorClient> MakeMonitorClient(const MonitorsFlags& f) {
  return client::MonitorClient::Create(ResolveTrackingUri(f.client.tracking_uri),
                                       MakeClientOptions(f.client));
}

Result<std::string> ReadWholeFile(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFound(what + " '" + path + "' does not exist or is not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot read " + what + " '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A URI with a scheme ("runs:/", "file://", "s3://", "mlflow-artifacts:/")
// is kept; a local path becomes an absolute file:// URI.
std::string UriOrAbsolutePath(const std::string& text) {
  size_t colon = text.find(':');
  if (colon != std::string::npos && colon > 1 && text.find('/') > colon) return text;
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(text, ec);
  if (ec) return text;
  return "file://" + abs.lexically_normal().string();
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    size_t b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

// "col=value" with a non-empty column and value.
Result<std::pair<std::string, std::string>> ColumnValue(const std::string& kv,
                                                        const std::string& flag,
                                                        const std::string& example) {
  auto split = SplitColumnValue(kv);
  if (!split) {
    return InvalidArgument(flag + " '" + kv + "' is not column=value (e.g. " + example + ")");
  }
  return *split;
}

// The spec JSON the flags describe (only what was given: the server fills
// in the defaults of docs/monitoring.md).
Result<json> SpecFromFlags(const MonitorsFlags& f) {
  json spec = {{"name", f.name}, {"model", f.model}};
  auto put = [&spec](const char* key, const std::string& v) {
    if (!v.empty()) spec[key] = v;
  };
  put("deployment", f.deployment);
  if (!f.reference.empty()) spec["reference"] = UriOrAbsolutePath(f.reference);
  if (!f.log_uri.empty()) spec["log_uri"] = UriOrAbsolutePath(f.log_uri);
  put("window", f.window);
  put("grace", f.grace);
  put("schedule", f.schedule);
  put("task", f.task);
  put("positive_label", f.positive_label);
  put("prediction_column", f.prediction_column);
  put("alert_webhook", f.alert_webhook);
  put("alert_secret", f.alert_secret);
  if (!f.columns.empty()) {
    std::vector<std::string> cols = SplitList(f.columns);
    if (cols.empty()) return InvalidArgument("--columns '" + f.columns + "' names no column");
    spec["columns"] = cols;
  }
  if (!f.tests.empty()) {
    json tests = json::object();
    for (const auto& t : f.tests) {
      CAIRN_ASSIGN_OR_RETURN(auto kv, ColumnValue(t, "--test", "amount=psi"));
      tests[kv.first] = kv.second;
    }
    spec["tests"] = std::move(tests);
  }
  if (!f.thresholds.empty()) {
    json th = json::object();
    for (const auto& t : f.thresholds) {
      CAIRN_ASSIGN_OR_RETURN(auto kv, ColumnValue(t, "--threshold", "amount=0.2"));
      auto v = ParseDouble(kv.second);
      if (!v || !std::isfinite(*v)) {
        return InvalidArgument("--threshold '" + t + "': '" + kv.second + "' is not a number");
      }
      th[kv.first] = *v;
    }
    spec["thresholds"] = std::move(th);
  }
  if (!f.drift_share.empty()) {
    auto v = ParseDouble(f.drift_share);
    if (!v || !(*v > 0 && *v <= 1)) {
      return InvalidArgument("--drift-share '" + f.drift_share + "' is not a number in (0, 1]");
    }
    spec["drift_share"] = *v;
  }
  if (!f.alerts.empty()) spec["alerts"] = f.alerts;
  if (!f.alert_secret.empty() && f.alert_webhook.empty()) {
    return InvalidArgument("--alert-secret needs --alert-webhook URL");
  }
  return spec;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

int64_t Int(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}

// A number of a JSON document; NaN for null / absent.
double Num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : std::nan("");
}

std::string Join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string Percent(double rate) {
  if (std::isnan(rate)) return "-";
  return FormatDouble(std::round(rate * 10000.0) / 100.0) + "%";
}

std::string WindowSpan(const json& w) {
  std::string s = FormatMillis(Int(w, "start")) + " .. " + FormatMillis(Int(w, "end"));
  if (w.value("manual", false)) s += " (manual)";
  return s;
}

// ---------------------------------------------------------------- create/list/get

int CreateCmd(MonitorsFlags& f) {
  auto spec = SpecFromFlags(f);
  if (!spec) return ReportError(spec.error());
  auto c = MakeMonitorClient(f);
  if (!c) return ReportError(c.error());
  auto m = c->Create(*spec);
  if (!m) return ReportError(m.error());
  if (f.client.json) {
    PrintJson(json{{"monitor", *m}});
    return kExitOk;
  }
  std::cout << "Created monitor '" << Str(*m, "name") << "' on model '" << Str(*m, "model")
            << "' (window " << Str(*m, "window")
            << (Str(*m, "schedule").empty() ? ", manual runs only"
                                            : ", schedule " + Str(*m, "schedule"))
            << ")\n";
  return kExitOk;
}

int ListCmd(MonitorsFlags& f) {
  auto c = MakeMonitorClient(f);
  if (!c) return ReportError(c.error());
  auto list = c->List();
  if (!list) return ReportError(list.error());
  if (f.client.json) {
    PrintJson(json{{"monitors", *list}});
    return kExitOk;
  }
  TextTable t({"name", "model", "deployment", "window", "schedule", "reference", "created"});
  for (const json& m : *list) {
    std::string deployment = Str(m, "deployment");
    t.AddRow({Str(m, "name"), Str(m, "model"), deployment.empty() ? Str(m, "model") : deployment,
              Str(m, "window"), Str(m, "schedule").empty() ? "-" : Str(m, "schedule"),
              Str(m, "reference").empty() ? "(model tag)" : Str(m, "reference"),
              FormatMillis(Int(m, "created_at"))});
  }
  std::cout << t.Render();
  return kExitOk;
}

std::string ListOf(const json& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end() || !it->is_array() || it->empty()) return "";
  std::vector<std::string> items;
  for (const auto& v : *it) items.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  return Join(items);
}

std::string MapOf(const json& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end() || !it->is_object() || it->empty()) return "";
  std::vector<std::string> items;
  for (const auto& [k, v] : it->items()) {
    items.push_back(k + "=" +
                    (v.is_string() ? v.get<std::string>()
                                   : (v.is_number() ? FormatDouble(v.get<double>()) : v.dump())));
  }
  return Join(items);
}

int GetCmd(MonitorsFlags& f) {
  auto c = MakeMonitorClient(f);
  if (!c) return ReportError(c.error());
  auto doc = c->Get(f.name);
  if (!doc) return ReportError(doc.error());
  if (f.client.json) {
    PrintJson(*doc);
    return kExitOk;
  }
  const json& m = (*doc)["monitor"];
  std::vector<std::pair<std::string, std::string>> fields = {
      {"name", Str(m, "name")},
      {"model", Str(m, "model")},
      {"deployment", Str(m, "deployment").empty() ? Str(m, "model") : Str(m, "deployment")},
      {"reference",
       Str(m, "reference").empty() ? "(model tag cairn.reference)" : Str(m, "reference")},
      {"log_uri", Str(m, "log_uri")},
      {"window", Str(m, "window")},
      {"grace", Str(m, "grace")},
      {"schedule", Str(m, "schedule").empty() ? "- (manual runs only)" : Str(m, "schedule")},
      {"task", Str(m, "task")},
      {"columns", ListOf(m, "columns").empty() ? "(all)" : ListOf(m, "columns")},
      {"tests", MapOf(m, "tests").empty() ? "(default choice)" : MapOf(m, "tests")},
      {"thresholds", MapOf(m, "thresholds").empty() ? "(defaults)" : MapOf(m, "thresholds")},
      {"drift_share", Str(m, "drift_share")},
      {"alerts", ListOf(m, "alerts").empty() ? "(default: drifted[*] >= 1)" : ListOf(m, "alerts")},
      {"alert_webhook", Str(m, "alert_webhook").empty() ? "-" : Str(m, "alert_webhook")},
      {"created", FormatMillis(Int(m, "created_at"))},
  };
  const json& w = (*doc)["last_window"];
  if (w.is_object()) {
    fields.emplace_back("last_window", WindowSpan(w) + ": " + Str(w, "status") + ", " +
                                           std::to_string(Int(w, "rows")) + " rows" +
                                           (Str(w, "error").empty() ? "" : ", " + Str(w, "error")));
  } else {
    fields.emplace_back("last_window", "- (none processed yet)");
  }
  std::vector<std::string> open;
  for (const json& a : (*doc)["open_alerts"]) {
    open.push_back(Str(a, "rule") +
                   (Str(a, "feature").empty() ? "" : " [" + Str(a, "feature") + "]"));
  }
  fields.emplace_back("open_alerts", open.empty() ? "none" : Join(open, "; "));
  std::cout << RenderFields(fields);
  return kExitOk;
}

int DeleteCmd(MonitorsFlags& f) {
  auto c = MakeMonitorClient(f);
  if (!c) return ReportError(c.error());
  auto s = c->Delete(f.name);
  if (!s) return ReportError(s.error());
  if (f.client.json) {
    PrintJson(json::object());
  } else {
    std::cout << "Deleted monitor '" << f.name << "'\n";
  }
  return kExitOk;
}

// ---------------------------------------------------------------- run / report

// The drift table of one report: column, kind, test, score, threshold, drifted.
std::string DriftTable(const json& drift) {
  TextTable t({"column", "kind", "test", "score", "threshold", "drifted"});
  for (const json& c : drift.value("columns", json::array())) {
    bool tested = c.value("tested", false);
    t.AddRow({Str(c, "column"), Str(c, "kind"), Str(c, "test"),
              tested ? FormatDouble(Num(c, "score")) : "not tested",
              FormatDouble(Num(c, "threshold")), c.value("drifted", false) ? "yes" : "no"});
  }
  return t.Render();
}

std::string DriftLine(const json& drift) {
  if (!drift.is_object()) return "no drift computed";
  int64_t tested = 0;
  for (const json& c : drift.value("columns", json::array())) tested += c.value("tested", false);
  return "drift share " + FormatDouble(Num(drift, "drift_share")) + " (" +
         std::to_string(Int(drift, "drifted_columns")) + " of " + std::to_string(tested) +
         " columns drifted), dataset drift: " +
         (drift.value("dataset_drift", false) ? "yes" : "no");
}

std::string QualityLine(const json& q) {
  if (!q.is_object()) return "quality: -";
  std::string s = "quality: " + std::to_string(Int(q, "rows")) + " rows, duplicates " +
                  Percent(Num(q, "duplicate_rate"));
  std::string missing_cols = ListOf(q, "missing_columns");
  if (!missing_cols.empty()) s += ", missing columns: " + missing_cols;
  std::vector<std::string> issues;
  for (const json& c : q.value("columns", json::array())) {
    std::vector<std::string> parts;
    if (Int(c, "missing") > 0) parts.push_back("missing " + Percent(Num(c, "missing_rate")));
    if (Int(c, "type_violations") > 0) {
      parts.push_back(std::to_string(Int(c, "type_violations")) + " type violations");
    }
    if (Int(c, "out_of_range") > 0) {
      parts.push_back("out of range " + Percent(Num(c, "out_of_range_rate")));
    }
    if (Int(c, "new_categories") > 0) {
      parts.push_back("new categories " + Percent(Num(c, "new_category_rate")));
    }
    if (c.value("constant", false)) parts.push_back("constant");
    if (!parts.empty()) issues.push_back(Str(c, "column") + " " + Join(parts, ", "));
  }
  s += issues.empty() ? "; no issues" : "; " + Join(issues, "; ");
  return s;
}

constexpr const char* kPerformanceStats[] = {"accuracy", "precision", "recall", "f1", "roc_auc",
                                             "log_loss", "mae",       "rmse",   "r2"};

// Performance from the window's results (labels may arrive after the report
// was written, so the results are the current numbers).
std::string PerformanceLine(const std::map<std::string, double>& stats) {
  auto rows = stats.find("labeled_rows");
  std::vector<std::string> parts;
  for (const char* name : kPerformanceStats) {
    auto it = stats.find(name);
    if (it != stats.end()) parts.push_back(std::string(name) + " " + FormatDouble(it->second));
  }
  if (parts.empty()) return "performance: no labels yet";
  return "performance: " + Join(parts, ", ") +
         (rows != stats.end() ? " (" + FormatDouble(rows->second) + " labeled rows)" : "");
}

void PrintAlertChanges(const json& changes) {
  for (const json& c : changes) {
    std::cout << (Str(c, "kind") == "fire" ? "alert fired: " : "alert resolved: ") << Str(c, "rule")
              << (Str(c, "feature").empty() ? "" : " [" + Str(c, "feature") + "]") << "\n";
  }
}

int RunCmd(MonitorsFlags& f) {
  std::optional<std::string> csv;
  if (!f.current.empty()) {
    auto text = ReadWholeFile(f.current, "current file");
    if (!text) return ReportError(text.error());
    csv = std::move(*text);
  }
  auto c = MakeMonitorClient(f);
  if (!c) return ReportError(c.error());
  auto doc = c->Run(f.name, csv);
  if (!doc) return ReportError(doc.error());
  if (f.client.json) {
    PrintJson(*doc);
    return kExitOk;
  }
  const json& w = (*doc)["window"];
  std::cout << "Window " << WindowSpan(w) << ": " << Str(w, "status") << ", " << Int(w, "rows")
            << " rows\n";
  if (!Str(w, "error").empty()) std::cout << "error: " << Str(w, "error") << "\n";
  const json& report = w.contains("report") ? w["report"] : json();
  if (report.is_object() && report.contains("drift") && report["drift"].is_object()) {
    std::cout << DriftTable(report["drift"]);
    std::cout << DriftLine(report["drift"]) << "\n";
    std::cout << QualityLine(report.value("quality", json())) << "\n";
  }
  PrintAlertChanges(doc->value("alert_changes", json::array()));
  return Str(w, "status") == "failed" ? kExitError : kExitOk;
}

constexpr std::string_view kProfileSuffix = ".profile.json";

bool HasProfileSuffix(const std::string& path) {
  if (path.size() < kProfileSuffix.size()) return false;
  std::string tail = path.substr(path.size() - kProfileSuffix.size());
  std::transform(tail.begin(), tail.end(), tail.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return tail == kProfileSuffix;
}

// Writes `bytes` to `path` through a temporary file in the same folder, so a
// failed write never leaves a truncated profile under the final name.
Status WriteFileAtomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return InvalidArgument("cannot write '" + tmp + "'");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return InvalidArgument("cannot write '" + tmp + "'");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return InvalidArgument("cannot write '" + path + "': " + ec.message());
  }
  return {};
}

int ProfileCmd(MonitorsFlags& f) {
  if (!HasProfileSuffix(f.output)) {
    return ReportError(Error(
        ErrorCode::kInvalidArgument,
        "--output '" + f.output + "' must end in .profile.json (how readers recognise a profile)"));
  }
  auto table = monitor::ReadDatasetFile(f.dataset);
  if (!table) return ReportError(table.error());
  const std::string profile = monitor::TableToProfileJson(*table);
  if (auto st = WriteFileAtomically(f.output, profile); !st) return ReportError(st.error());
  std::error_code ec;
  const auto dataset_bytes = std::filesystem::file_size(f.dataset, ec);
  json columns = json::array();
  for (const monitor::Column& c : table->columns) {
    std::set<std::string> distinct;
    int64_t missing = 0;
    for (int64_t r = 0; r < c.size(); ++r) {
      if (c.IsMissing(r)) {
        ++missing;
      } else {
        distinct.insert(c.Text(r));
      }
    }
    columns.push_back({{"name", c.name},
                       {"kind", std::string(monitor::ColumnKindName(c.kind))},
                       {"distinct", distinct.size()},
                       {"missing", missing}});
  }
  if (f.client.json) {
    PrintJson({{"dataset", f.dataset},
               {"output", f.output},
               {"rows", table->rows},
               {"bytes", profile.size()},
               {"dataset_bytes", ec ? 0 : dataset_bytes},
               {"columns", columns}});
    return kExitOk;
  }
  std::cout << "Wrote " << f.output << ": " << table->rows << " rows, " << table->columns.size()
            << " columns, " << profile.size() << " bytes";
  if (!ec) std::cout << " (the dataset: " << dataset_bytes << " bytes)";
  std::cout << "\n";
  TextTable out({"column", "kind", "distinct", "missing"});
  for (const auto& c : columns) {
    out.AddRow({c["name"].get<std::string>(), c["kind"].get<std::string>(),
                std::to_string(c["distinct"].get<size_t>()),
                std::to_string(c["missing"].get<int64_t>())});
  }
  std::cout << out.Render();
  return kExitOk;
}

int ReportCmd(MonitorsFlags& f) {
  if (f.last <= 0) return ReportError(Error(ErrorCode::kInvalidArgument, "--last must be >= 1"));
  auto c = MakeMonitorClient(f);
  if (!c) return ReportError(c.error());
  auto windows = c->Windows(f.name, {.limit = f.last});
  if (!windows) return ReportError(windows.error());
  json ordered = json::array();  // oldest first
  for (auto it = windows->rbegin(); it != windows->rend(); ++it) ordered.push_back(*it);
  // Performance numbers per window id, from the results (current even when
  // labels arrived after the report was written).
  std::map<int64_t, std::map<std::string, double>> perf;
  if (!ordered.empty()) {
    client::ResultQuery q;
    q.from = Int(ordered.front(), "start");
    auto results = c->Results(f.name, q);
    if (!results) return ReportError(results.error());
    std::set<std::string> wanted(std::begin(kPerformanceStats), std::end(kPerformanceStats));
    wanted.insert("labeled_rows");
    for (const json& r : *results) {
      if (!Str(r, "feature").empty() || !wanted.contains(Str(r, "statistic"))) continue;
      perf[Int(r, "window_id")][Str(r, "statistic")] = Num(r, "value");
    }
  }
  if (f.client.json) {
    for (json& w : ordered) {
      json p = json::object();
      for (const auto& [k, v] : perf[Int(w, "id")]) p[k] = std::isfinite(v) ? json(v) : json();
      w["performance"] = std::move(p);
    }
    PrintJson(json{{"windows", ordered}});
    return kExitOk;
  }
  if (ordered.empty()) {
    std::cout << "No windows processed yet for monitor '" << f.name << "' (cairn monitors run "
              << f.name << ")\n";
    return kExitOk;
  }
  // The feature columns: every drift column of any window, in first-seen order.
  std::vector<std::string> features;
  for (const json& w : ordered) {
    const json& r = w["report"];
    if (!r.is_object() || !r.contains("drift") || !r["drift"].is_object()) continue;
    for (const json& col : r["drift"].value("columns", json::array())) {
      std::string name = Str(col, "column");
      if (std::find(features.begin(), features.end(), name) == features.end()) {
        features.push_back(name);
      }
    }
  }
  std::vector<std::string> headers = {"window", "status", "rows"};
  headers.insert(headers.end(), features.begin(), features.end());
  headers.push_back("drift_share");
  TextTable t(headers, 32);
  for (const json& w : ordered) {
    std::vector<std::string> row = {
        FormatMillis(Int(w, "start")) + (w.value("manual", false) ? " (m)" : ""), Str(w, "status"),
        std::to_string(Int(w, "rows"))};
    std::map<std::string, std::string> cells;
    const json& r = w["report"];
    std::string share = "-";
    if (r.is_object() && r.contains("drift") && r["drift"].is_object()) {
      for (const json& col : r["drift"].value("columns", json::array())) {
        std::string cell = col.value("tested", false) ? FormatDouble(Num(col, "score")) : "n/a";
        if (col.value("drifted", false)) cell += "*";
        cells[Str(col, "column")] = cell;
      }
      share = FormatDouble(Num(r["drift"], "drift_share"));
    }
    for (const auto& feat : features) row.push_back(cells.contains(feat) ? cells[feat] : "-");
    row.push_back(share);
    t.AddRow(std::move(row));
  }
  std::cout << "Monitor '" << f.name << "': drift score per feature (p-value or distance; "
            << "* = drifted), last " << ordered.size() << " window(s)\n";
  std::cout << t.Render();
  for (const json& w : ordered) {
    std::cout << "\n" << WindowSpan(w) << ": " << Str(w, "status") << "\n";
    if (!Str(w, "error").empty()) std::cout << "  error: " << Str(w, "error") << "\n";
    const json& r = w["report"];
    if (!r.is_object()) continue;
    std::cout << "  " << DriftLine(r.value("drift", json())) << "\n";
    std::cout << "  " << QualityLine(r.value("quality", json())) << "\n";
    std::cout << "  " << PerformanceLine(perf[Int(w, "id")]) << "\n";
  }
  return kExitOk;
}

int AlertsCmd(MonitorsFlags& f) {
  auto c = MakeMonitorClient(f);
  if (!c) return ReportError(c.error());
  auto alerts = c->Alerts(f.name, f.status);
  if (!alerts) return ReportError(alerts.error());
  if (f.client.json) {
    PrintJson(json{{"alerts", *alerts}});
    return kExitOk;
  }
  TextTable t({"id", "status", "rule", "feature", "value", "fired", "resolved"});
  for (const json& a : *alerts) {
    t.AddRow({std::to_string(Int(a, "id")), Str(a, "status"), Str(a, "rule"),
              Str(a, "feature").empty() ? "-" : Str(a, "feature"), FormatDouble(Num(a, "value")),
              FormatMillis(Int(a, "fired_at")),
              Int(a, "resolved_at") > 0 ? FormatMillis(Int(a, "resolved_at")) : "-"});
  }
  std::cout << t.Render();
  return kExitOk;
}

// ---------------------------------------------------------------- labels

int LabelsLogCmd(MonitorsFlags& f) {
  auto text = ReadWholeFile(f.file, "labels file");
  if (!text) return ReportError(text.error());
  auto c = MakeMonitorClient(f);
  if (!c) return ReportError(c.error());
  auto out = c->LogLabels(f.model, *text);
  if (!out) return ReportError(out.error());
  if (f.client.json) {
    PrintJson(json{{"logged", out->logged}, {"unknown_request_ids", out->unknown_request_ids}});
    return kExitOk;
  }
  std::cout << "Logged " << out->logged << " label(s) for model '" << f.model << "'; "
            << out->unknown_request_ids
            << " for request ids no monitor has seen yet (kept, joined when their "
               "predictions are processed)\n";
  return kExitOk;
}

}  // namespace

void AddMonitorsCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<MonitorsFlags>();
  CLI::App* group = app.add_subcommand(
      "monitors", "Monitor a model's inference log for drift, data quality and performance");
  group->require_subcommand(1);
  AddClientFlags(*group, f->client);
  auto leaf = [f, &action](CLI::App* cmd, int (*run)(MonitorsFlags&)) {
    cmd->callback([f, run, &action] { action = [f, run] { return run(*f); }; });
  };

  CLI::App* create = group->add_subcommand("create", "Create a monitor");
  create->add_option("NAME", f->name, "Monitor name")->required();
  create->add_option("--model", f->model, "Registered model it watches")->required();
  create->add_option("--deployment", f->deployment,
                     "Deployment whose log it reads (default: the model)");
  create->add_option("--reference", f->reference,
                     "Reference dataset (CSV / JSON lines) or profile (*.profile.json, from "
                     "`monitors profile`): runs:/<run>/<path>, "
                     "mlflow-artifacts:/<path>, file:// or a path on the SERVER, under its "
                     "artifacts or a --monitor-data-root "
                     "(sent as an absolute file:// URI); default: the version's tag "
                     "cairn.reference");
  create->add_option("--log-uri", f->log_uri,
                     "Where the inference log is (default: mlflow-artifacts:/inference-log)");
  create->add_option("--window", f->window,
                     "Window: a duration (1h, 30m) or a count (1000rows); default 1h");
  create->add_option("--grace", f->grace, "Wait after a time window ends (default 2m)");
  create->add_option("--schedule", f->schedule,
                     "Cron (\"*/10 * * * *\", @every 30s, @hourly); default: manual runs only");
  create->add_option("--task", f->task, "classification | regression (default: from the labels)");
  create->add_option("--positive-label", f->positive_label, "Positive class (default 1)");
  create->add_option("--prediction-column", f->prediction_column,
                     "Prediction column (default prediction)");
  create->add_option("--columns", f->columns, "Compared columns, a,b,c (default: all)");
  create->add_option("--test", f->tests,
                     "Test of a column, col=ks|chisquare|z|wasserstein|jensenshannon|psi "
                     "(repeatable)");
  create->add_option("--threshold", f->thresholds, "Threshold of a column, col=0.2 (repeatable)");
  create->add_option("--drift-share", f->drift_share,
                     "Dataset drift when this share of columns drifts (default 0.5)");
  create->add_option("--alert", f->alerts,
                     "Alert rule, e.g. \"drift_share > 0.3\", \"recall < 0.8 for 2\" "
                     "(repeatable; default drifted[*] >= 1)");
  create->add_option("--alert-webhook", f->alert_webhook, "URL receiving alert webhooks");
  create->add_option("--alert-secret", f->alert_secret, "HMAC secret signing the webhooks");
  leaf(create, CreateCmd);

  leaf(group->add_subcommand("list", "List monitors"), ListCmd);

  CLI::App* get = group->add_subcommand("get", "Show a monitor, its last window and open alerts");
  get->add_option("NAME", f->name, "Monitor name")->required();
  leaf(get, GetCmd);

  CLI::App* del = group->add_subcommand("delete", "Delete a monitor with its windows and alerts");
  del->add_option("NAME", f->name, "Monitor name")->required();
  leaf(del, DeleteCmd);

  CLI::App* run = group->add_subcommand(
      "run", "Process the latest window now (or a batch file with --current)");
  run->add_option("NAME", f->name, "Monitor name")->required();
  run->add_option("--current", f->current, "A local CSV file to compare instead of the log");
  leaf(run, RunCmd);

  CLI::App* report = group->add_subcommand(
      "report", "Per-feature drift verdicts, quality and performance over time");
  report->add_option("NAME", f->name, "Monitor name")->required();
  report->add_option("--last", f->last, "The last N windows")->capture_default_str();
  leaf(report, ReportCmd);

  CLI::App* alerts = group->add_subcommand("alerts", "List a monitor's alert incidents");
  alerts->add_option("NAME", f->name, "Monitor name")->required();
  alerts->add_option("--status", f->status, "firing | resolved (default: all)")
      ->check(CLI::IsMember({"", "firing", "resolved", "all"}));
  leaf(alerts, AlertsCmd);

  CLI::App* profile = group->add_subcommand(
      "profile",
      "Write a dataset's profile (value counts per column): a compact, lossless reference "
      "(local, no server)");
  profile->add_option("DATASET", f->dataset, "The reference data: a CSV or JSON-lines file")
      ->required();
  profile->add_option("--output", f->output, "The profile to write, FILE.profile.json")->required();
  leaf(profile, ProfileCmd);
}

void AddLabelsCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<MonitorsFlags>();
  CLI::App* group = app.add_subcommand("labels", "Log ground-truth labels for monitored models");
  group->require_subcommand(1);
  AddClientFlags(*group, f->client);
  CLI::App* log = group->add_subcommand(
      "log", "Log labels (CSV: request_id,label[,row]) joined to predictions by request id");
  log->add_option("MODEL", f->model, "Registered model name")->required();
  log->add_option("--file", f->file, "CSV file with columns request_id, label and optional row")
      ->required();
  log->callback([f, &action] { action = [f] { return LabelsLogCmd(*f); }; });
}

}  // namespace cairn::cli
