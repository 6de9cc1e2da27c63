// `cairn drift`: a one-off drift, data-quality and (optionally) performance
// report on two dataset files, computed locally (no server).
//
//   cairn drift --reference train.csv --current today.csv [--json]
//       [--columns a,b] [--test col=psi]... [--threshold col=0.2]...
//       [--drift-share 0.5] [--target COL --prediction COL [--score COL]
//       [--task auto|classification|regression] [--positive-label 1]]
//       [--threads N] [--fail-on-drift]
//
// Both files are CSV or JSON lines (by extension, monitor/dataset.h); the
// current file is read with the reference's column kinds. Drift per column
// uses the test Evidently would choose unless --test names one
// (monitor/drift.h); quality is that of the current file; with --target and
// --prediction, performance of the prediction column against the target
// column on the current file's rows where both are present (and --score,
// the positive class's probability, when given).
//
// Output: a table (column, kind, test, score, threshold, drift), the dataset
// verdict and a quality summary; with --json one document
// {"drift": ..., "quality": ..., "performance": ... | null} whose members are
// monitor/drift.h's *ToJson renderings.
//
// Exit codes: 0 done; 3 with --fail-on-drift when the dataset drifts (the
// report is still printed); 1 for a file that is missing or malformed (the
// message names file and line) or a column that does not exist
// ("error: <CODE>: <message>" on stderr); 2 for usage errors (unknown flag,
// a malformed --test / --threshold, an unknown test or task name, --target
// without --prediction, a --drift-share outside (0, 1], negative --threads).

#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/command.h"
#include "cli/table.h"
#include "monitor/dataset.h"
#include "monitor/drift.h"

namespace cairn::cli {
namespace {

inline constexpr int kExitDrift = 3;

struct DriftFlags {
  std::string reference;
  std::string current;
  bool json = false;
  std::vector<std::string> columns;
  std::vector<std::string> tests;       // "col=name"
  std::vector<std::string> thresholds;  // "col=value"
  double drift_share = 0.5;
  std::string target;
  std::string prediction;
  std::string score;
  std::string task = "auto";
  std::string positive_label = "1";
  int threads = 0;
  bool fail_on_drift = false;
};

// A usage error: the command line itself is wrong.
int UsageError(const std::string& message) {
  std::cerr << "error: INVALID_PARAMETER_VALUE: " << message << "\n"
            << "Run with --help for more information." << std::endl;
  return kExitUsage;
}

// The options the flags select, or a usage message.
std::expected<monitor::DriftOptions, std::string> BuildDriftOptions(const DriftFlags& f) {
  monitor::DriftOptions o;
  o.columns = f.columns;
  o.drift_share = f.drift_share;
  o.threads = f.threads;
  for (const std::string& t : f.tests) {
    auto kv = SplitColumnValue(t);
    if (!kv) return std::unexpected("--test '" + t + "' is not COLUMN=TEST");
    auto test = monitor::ParseStatTest(kv->second);
    if (!test) return std::unexpected("--test " + t + ": " + test.error().message());
    o.tests[kv->first] = *test;
  }
  for (const std::string& t : f.thresholds) {
    auto kv = SplitColumnValue(t);
    if (!kv) return std::unexpected("--threshold '" + t + "' is not COLUMN=NUMBER");
    auto value = ParseDouble(kv->second);
    if (!value || !std::isfinite(*value)) {
      return std::unexpected("--threshold " + t + ": '" + kv->second + "' is not a number");
    }
    o.thresholds[kv->first] = *value;
  }
  return o;
}

// kInvalidArgument unless `column` is in `table` (`which` names the file).
Status RequireColumn(const monitor::Table& table, const std::string& column,
                     const std::string& flag, const std::string& which) {
  if (table.Find(column) != nullptr) return {};
  return InvalidArgument(flag + ": no column '" + column + "' in " + which);
}

// The performance of `prediction` against `target` on the rows of `cur`
// where both (and `score`, when given) are present.
Result<monitor::PerformanceReport> Performance(const monitor::Table& cur, const DriftFlags& f,
                                               monitor::Task task) {
  const monitor::Column* target = cur.Find(f.target);
  const monitor::Column* prediction = cur.Find(f.prediction);
  const monitor::Column* score = f.score.empty() ? nullptr : cur.Find(f.score);
  if (score != nullptr && score->kind != monitor::ColumnKind::kNumeric) {
    return InvalidArgument("--score: column '" + f.score + "' is not numeric");
  }
  std::vector<std::string> labels, predictions;
  std::vector<double> scores;
  for (int64_t row = 0; row < cur.rows; ++row) {
    if (target->IsMissing(row) || prediction->IsMissing(row)) continue;
    if (score != nullptr && score->IsMissing(row)) continue;
    labels.push_back(target->Text(row));
    predictions.push_back(prediction->Text(row));
    if (score != nullptr) scores.push_back(score->numbers[static_cast<size_t>(row)]);
  }
  monitor::PerformanceOptions options;
  options.task = task;
  options.positive_label = f.positive_label;
  return monitor::ComputePerformance(labels, predictions, scores, options);
}

std::string Percent(int64_t part, int64_t whole) {
  if (whole <= 0) return "0%";
  return FormatDouble(100.0 * static_cast<double>(part) / static_cast<double>(whole)) + "%";
}

// A metric; "n/a" for NaN (ROC AUC and log loss without --score, one class).
std::string Metric(double v) { return std::isnan(v) ? "n/a" : FormatDouble(v); }

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void PrintText(const monitor::DriftReport& d, const monitor::QualityReport& q,
               const std::optional<monitor::PerformanceReport>& p) {
  TextTable table({"column", "kind", "test", "score", "threshold", "drift"});
  for (const monitor::ColumnDrift& c : d.columns) {
    table.AddRow({c.column, std::string(monitor::ColumnKindName(c.kind)),
                  std::string(monitor::StatTestName(c.test)),
                  c.tested ? FormatDouble(c.score) : "-", FormatDouble(c.threshold),
                  !c.tested ? "not tested" : c.drifted ? "DRIFT" : "no"});
  }
  std::cout << table.Render() << "\n";
  std::cout << "dataset drift: " << (d.dataset_drift ? "YES" : "no") << " (" << d.drifted_columns
            << " of " << d.columns.size() << " columns drifted, share "
            << FormatDouble(d.drift_share) << ", threshold "
            << FormatDouble(d.drift_share_threshold) << ")\n";
  std::cout << "rows: reference " << d.reference_rows << ", current " << d.current_rows << "\n";
  if (!d.only_in_reference.empty()) {
    std::cout << "only in the reference (not compared): " << Join(d.only_in_reference) << "\n";
  }
  if (!d.only_in_current.empty()) {
    std::cout << "only in the current data (not compared): " << Join(d.only_in_current) << "\n";
  }

  std::cout << "\nquality of the current data: " << q.rows << " rows, " << q.duplicated_rows
            << " duplicated (" << Percent(q.duplicated_rows, q.rows) << ")\n";
  if (!q.missing_columns.empty()) {
    std::cout << "missing columns: " << Join(q.missing_columns) << "\n";
  }
  TextTable issues({"column", "missing", "type violations", "out of range", "new categories",
                    "constant"});
  for (const monitor::ColumnQuality& c : q.columns) {
    if (c.missing == 0 && c.type_violations == 0 && c.out_of_range == 0 &&
        c.new_categories == 0 && !c.constant) {
      continue;
    }
    auto count = [&](int64_t n) {
      return n == 0 ? std::string("0") : std::to_string(n) + " (" + Percent(n, q.rows) + ")";
    };
    issues.AddRow({c.column, count(c.missing), std::to_string(c.type_violations),
                   count(c.out_of_range), count(c.new_categories), c.constant ? "yes" : "no"});
  }
  if (issues.rows() == 0) {
    std::cout << "no missing values, type violations, out-of-range values, new categories or "
                 "constant columns\n";
  } else {
    std::cout << issues.Render();
  }

  if (p) {
    std::vector<std::pair<std::string, std::string>> fields = {
        {"task", p->task == monitor::Task::kRegression ? "regression" : "classification"},
        {"labeled rows", std::to_string(p->rows)}};
    if (p->classification) {
      const auto& m = *p->classification;
      fields.insert(fields.end(), {{"accuracy", Metric(m.accuracy)},
                                   {"precision", Metric(m.precision)},
                                   {"recall", Metric(m.recall)},
                                   {"f1", Metric(m.f1)},
                                   {"roc_auc", Metric(m.roc_auc)},
                                   {"log_loss", Metric(m.log_loss)}});
    }
    if (p->regression) {
      const auto& m = *p->regression;
      fields.insert(fields.end(), {{"mae", Metric(m.mae)},
                                   {"rmse", Metric(m.rmse)},
                                   {"r2", Metric(m.r2)}});
    }
    std::cout << "\nperformance on the current data\n" << RenderFields(fields);
  }
  std::cout.flush();
}

int RunDrift(const DriftFlags& f) {
  // Usage checks first: nothing is read when the command line is wrong.
  if (f.threads < 0) return UsageError("--threads must be 0 (all cores) or more");
  if (!(f.drift_share > 0 && f.drift_share <= 1)) {
    return UsageError("--drift-share must be in (0, 1]");
  }
  if (f.target.empty() != f.prediction.empty()) {
    return UsageError("--target and --prediction go together");
  }
  if (!f.score.empty() && f.target.empty()) {
    return UsageError("--score needs --target and --prediction");
  }
  auto task = monitor::ParseTask(f.task);
  if (!task) return UsageError("--task: " + task.error().message());
  auto options = BuildDriftOptions(f);
  if (!options) return UsageError(options.error());

  monitor::ReadOptions read;
  read.threads = f.threads;
  read.source_name = f.reference;
  auto ref = monitor::ReadDatasetFile(f.reference, read);
  if (!ref) return ReportError(ref.error());
  for (const monitor::Column& c : ref->columns) read.kinds[c.name] = c.kind;
  read.source_name = f.current;
  auto cur = monitor::ReadDatasetFile(f.current, read);
  if (!cur) return ReportError(cur.error());

  // Columns named by --test / --threshold are compared, so both files need them.
  auto check_both = [&](const std::string& column, const std::string& flag) -> Status {
    CAIRN_RETURN_IF_ERROR(RequireColumn(*ref, column, flag, "the reference " + f.reference));
    return RequireColumn(*cur, column, flag, "the current data " + f.current);
  };
  for (const auto& [column, unused] : options->tests) {
    if (auto s = check_both(column, "--test"); !s) return ReportError(s.error());
  }
  for (const auto& [column, unused] : options->thresholds) {
    if (auto s = check_both(column, "--threshold"); !s) return ReportError(s.error());
  }
  for (const auto& [column, flag] : {std::pair{f.target, "--target"},
                                     std::pair{f.prediction, "--prediction"},
                                     std::pair{f.score, "--score"}}) {
    if (column.empty()) continue;
    if (auto s = RequireColumn(*cur, column, flag, "the current data " + f.current); !s) {
      return ReportError(s.error());
    }
  }

  auto drift = monitor::ComputeDrift(*ref, *cur, *options);
  if (!drift) return ReportError(drift.error());
  monitor::QualityReport quality = monitor::ComputeQuality(*ref, *cur);
  std::optional<monitor::PerformanceReport> performance;
  if (!f.target.empty()) {
    auto p = Performance(*cur, f, *task);
    if (!p) return ReportError(p.error());
    performance = std::move(*p);
  }

  if (f.json) {
    std::string doc = "{\"drift\":" + monitor::DriftReportToJson(*drift) +
                      ",\"quality\":" + monitor::QualityReportToJson(quality) +
                      ",\"performance\":" +
                      (performance ? monitor::PerformanceReportToJson(*performance) : "null") +
                      "}";
    try {
      PrintJson(nlohmann::json::parse(doc));
    } catch (const nlohmann::json::exception& e) {
      return ReportError(Error(ErrorCode::kInternal, std::string("bad report JSON: ") + e.what()));
    }
  } else {
    PrintText(*drift, quality, performance);
  }
  return f.fail_on_drift && drift->dataset_drift ? kExitDrift : kExitOk;
}

}  // namespace

void AddDriftCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<DriftFlags>();
  CLI::App* cmd = app.add_subcommand(
      "drift", "Drift, data quality and performance of a current dataset against a reference");
  cmd->add_option("--reference", f->reference, "Reference dataset: .csv or .jsonl/.ndjson/.json")
      ->required();
  cmd->add_option("--current", f->current, "Current dataset, read with the reference's kinds")
      ->required();
  cmd->add_flag("--json", f->json, "Print {\"drift\", \"quality\", \"performance\"} as JSON");
  cmd->add_option("--columns", f->columns, "Columns to compare (default: every shared column)")
      ->delimiter(',');
  cmd->add_option("--test", f->tests,
                  "COLUMN=TEST: ks, chisquare, z, wasserstein, jensenshannon, psi (repeatable)");
  cmd->add_option("--threshold", f->thresholds, "COLUMN=VALUE: the test's threshold (repeatable)");
  cmd->add_option("--drift-share", f->drift_share,
                  "Dataset drift when drifted/compared columns >= this (default 0.5)");
  cmd->add_option("--target", f->target, "Label column of the current data (performance)");
  cmd->add_option("--prediction", f->prediction, "Prediction column of the current data");
  cmd->add_option("--score", f->score, "Positive-class probability column (ROC AUC, log loss)");
  cmd->add_option("--task", f->task, "auto, classification or regression (default auto)");
  cmd->add_option("--positive-label", f->positive_label, "Positive class (default \"1\")");
  cmd->add_option("--threads", f->threads, "Threads for reading and tests (default: all cores)");
  cmd->add_flag("--fail-on-drift", f->fail_on_drift, "Exit with 3 when the dataset drifts");
  cmd->callback([f, &action] { action = [f] { return RunDrift(*f); }; });
}

}  // namespace cairn::cli
