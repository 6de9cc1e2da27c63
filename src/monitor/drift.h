#pragma once
// Reports over two tables: drift per column (the test Evidently would choose,
// docs/monitoring.md), data quality of the current table, and performance of
// predictions against labels. Pure computation: no I/O, no store.
//
//   CAIRN_ASSIGN_OR_RETURN(Table ref, ReadDatasetFile("train.csv"));
//   ReadOptions o; for (auto& c : ref.columns) o.kinds[c.name] = c.kind;
//   CAIRN_ASSIGN_OR_RETURN(Table cur, ReadDatasetFile("today.csv", o));
//   CAIRN_ASSIGN_OR_RETURN(DriftReport r, ComputeDrift(ref, cur, {}));
//   std::string json = DriftReportToJson(r);
//
// Columns compared: `options.columns` when given (each must exist in both
// tables: kInvalidArgument naming the column and the table otherwise), else
// every column of the reference that the current table also has (columns
// only in one table are listed in `only_in_reference` / `only_in_current`).
// A column numeric in one table and categorical in the other is compared as
// categorical (the numbers' text). Columns are independent: ComputeDrift
// runs them on `threads` threads.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "monitor/dataset.h"
#include "monitor/stats.h"

namespace cairn::monitor {

enum class StatTest { kAuto, kKs, kChiSquare, kZ, kWasserstein, kJensenShannon, kPsi };

// "ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi" ("auto").
std::string_view StatTestName(StatTest t);
Result<StatTest> ParseStatTest(std::string_view name);  // kInvalidArgument lists the names
// True for the tests whose score is a p-value (drift when score < threshold);
// the others are distances (drift when score >= threshold).
bool IsPValueTest(StatTest t);
double DefaultThreshold(StatTest t);  // 0.05 for p-value tests, 0.1 otherwise

struct DriftOptions {
  std::vector<std::string> columns;                 // empty: every shared column
  std::map<std::string, StatTest> tests;            // per column; absent or kAuto: default choice
  std::map<std::string, double> thresholds;         // per column
  double drift_share = 0.5;                         // dataset drift when share >= this
  int threads = 0;                                  // 0: hardware
};

struct ColumnDrift {
  std::string column;
  ColumnKind kind = ColumnKind::kNumeric;
  StatTest test = StatTest::kKs;
  bool tested = false;        // false when a side had no values (then drifted = false)
  double score = 0;           // p-value for p-value tests, else the distance
  double statistic = 0;       // the test statistic (KS D, chi², z, or the distance)
  double threshold = 0;
  bool drifted = false;
  int64_t reference_count = 0;  // values used (missing dropped)
  int64_t current_count = 0;
  int64_t distinct_values = 0;  // in both sides together
};

struct DriftReport {
  std::vector<ColumnDrift> columns;  // in the reference's column order
  std::vector<std::string> only_in_reference;
  std::vector<std::string> only_in_current;
  int64_t reference_rows = 0;
  int64_t current_rows = 0;
  int64_t drifted_columns = 0;
  double drift_share = 0;  // drifted / tested columns (0 when none tested)
  bool dataset_drift = false;
  double drift_share_threshold = 0.5;
};

// The test the default rule picks for a column (docs/monitoring.md).
StatTest DefaultTest(ColumnKind kind, int64_t reference_count, int64_t distinct_values);

// Evidently's binning for Jensen–Shannon and PSI (docs/monitoring.md): the
// two frequency vectors (shares summing to 1 per side). `fill_zeros`: PSI's
// replacement of empty bins.
struct Binned {
  std::vector<double> reference;
  std::vector<double> current;
};
Binned BinNumeric(std::span<const double> reference, std::span<const double> current,
                  bool fill_zeros);
Binned BinCategorical(std::span<const std::string> reference,
                      std::span<const std::string> current, bool fill_zeros);

Result<DriftReport> ComputeDrift(const Table& reference, const Table& current,
                                 const DriftOptions& options);

// ----------------------------------------------------------------- quality

struct ColumnQuality {
  std::string column;
  int64_t missing = 0;
  int64_t type_violations = 0;
  int64_t out_of_range = 0;     // numeric: outside the reference's [min, max]
  int64_t new_categories = 0;   // categorical: rows whose value the reference never had
  int64_t distinct_new_categories = 0;
  bool constant = false;        // at most one distinct present value in the current data
  double reference_min = 0, reference_max = 0;  // numeric
  // rates are over the current rows
};

struct QualityReport {
  int64_t rows = 0;
  int64_t duplicated_rows = 0;   // rows equal to an earlier row in every column
  std::vector<ColumnQuality> columns;       // every column of the current table
  std::vector<std::string> missing_columns; // expected (reference or signature) but absent
};

// `expected_columns`: the columns the model expects (its signature's names;
// empty: the reference's).
QualityReport ComputeQuality(const Table& reference, const Table& current,
                             const std::vector<std::string>& expected_columns = {});

// ------------------------------------------------------------- performance

enum class Task { kAuto, kClassification, kRegression };
Result<Task> ParseTask(std::string_view name);  // "classification", "regression", "auto"

struct PerformanceOptions {
  Task task = Task::kAuto;        // kAuto: classification unless labels are numbers with > 20 distinct values
  std::string positive_label = "1";
};

struct PerformanceReport {
  Task task = Task::kClassification;
  int64_t rows = 0;  // labeled rows used
  std::optional<stats::ClassificationMetrics> classification;
  std::optional<stats::RegressionMetrics> regression;
};

// labels / predictions as text (one per labeled row); scores: the positive
// class's probability per row when the model gave one (empty otherwise).
// kInvalidArgument for a regression task whose labels or predictions are
// not numbers (naming the first bad value).
Result<PerformanceReport> ComputePerformance(const std::vector<std::string>& labels,
                                             const std::vector<std::string>& predictions,
                                             const std::vector<double>& scores,
                                             const PerformanceOptions& options);

// ---------------------------------------------------------------- rendering

// JSON (compact) of each report, the shapes `cairn drift --json` and the
// monitor window report print:
//  drift: {"reference_rows","current_rows","drifted_columns","drift_share",
//          "dataset_drift","drift_share_threshold","columns":[{"column","kind",
//          "test","tested","score","statistic","threshold","drifted",
//          "reference_count","current_count","distinct_values"}],
//          "only_in_reference":[...],"only_in_current":[...]}
//  quality: {"rows","duplicated_rows","duplicate_rate","missing_columns":[...],
//          "columns":[{"column","missing","missing_rate","type_violations",
//          "out_of_range","out_of_range_rate","new_categories","new_category_rate",
//          "distinct_new_categories","constant"}]}
//  performance: {"task","rows", then the metrics by name ("accuracy",...,
//          "roc_auc","log_loss" or "mae","rmse","r2"); NaN as null}
std::string DriftReportToJson(const DriftReport& r);
std::string QualityReportToJson(const QualityReport& r);
std::string PerformanceReportToJson(const PerformanceReport& r);

}  // namespace cairn::monitor
