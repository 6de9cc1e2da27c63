#pragma once
// Compiles search queries (store/query.h) into one SQL statement with bound
// parameters. User text - values and keys alike - only ever travels as a
// bind; the SQL text depends on the query's shape alone (which entities,
// comparators, list lengths), never on its strings.
//
// Runs: SELECT r.run_id FROM runs r ... ORDER BY ... LIMIT ? OFFSET ?,
// fetching max_results + 1 rows so the caller can tell whether a next page
// exists. Metric filters become inner joins on latest_metrics (a run without
// the metric cannot match), so a filter + order on one metric is a single
// index range walk; orderings on absent values sort last in both directions
// (a NaN metric sorts after numbers, before missing).
//
// Errors: kInvalidArgument for an unsupported key, comparator or operand
// type, naming it.
//
// Pure: no I/O, thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/query.h"
#include "store/sql/driver.h"

namespace cairn::store::sql {

// An owned bind value (a plain struct: g++ 12 warns falsely on moved
// variants holding strings).
struct BoundValue {
  Value::Kind kind = Value::Kind::kNull;
  int64_t i = 0;
  double d = 0;
  std::string s;

  static BoundValue Int(int64_t v) { return {Value::Kind::kInt, v, 0, {}}; }
  static BoundValue Double(double v) { return {Value::Kind::kDouble, 0, v, {}}; }
  static BoundValue Text(std::string v) { return {Value::Kind::kText, 0, 0, std::move(v)}; }
  bool operator==(const BoundValue&) const = default;
};

struct CompiledQuery {
  std::string sql;
  std::vector<BoundValue> binds;
  // True when the query cannot match anything (e.g. no usable experiment
  // id); callers may skip running it.
  bool matches_nothing = false;

  // Binds every value to `stmt` (which must have been prepared from `sql`).
  // The statement borrows the strings of this object.
  void BindTo(Statement& stmt) const;
};

// Columns selected by the experiment search, in this order.
inline constexpr std::string_view kExperimentColumns =
    "e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, "
    "e.last_update_time";

struct RunSearchOptions {
  // Restrict to runs that have a (non-NaN) value of the first order_by
  // metric. Such runs sort before all others, so when this query fills the
  // page (returns max_results + 1 rows) the page is the same as the full
  // query's, at the price of one index range walk instead of a sort of
  // every run in scope. See MetricOrderFastPath().
  bool require_first_order_metric = false;
  // SELECT COUNT(*) of the runs the filter matches instead of a page of
  // ids: no ORDER BY, LIMIT or OFFSET. Pass a query without order_by (its
  // joins would change nothing but the cost).
  bool count_only = false;
};

// The run search selects run ids only (SELECT r.run_id ...), so scans need
// nothing but covering indexes; the caller loads the page's runs by id.
Result<CompiledQuery> CompileRunSearch(const RunQuery& q, Dialect dialect,
                                       const RunSearchOptions& options = {});

// True when `q` orders first by a metric that no filter already requires:
// the case where RunSearchOptions::require_first_order_metric pays off.
bool MetricOrderFastPath(const RunQuery& q);
Result<CompiledQuery> CompileExperimentSearch(const ExperimentQuery& q, Dialect dialect);

// Parses a decimal experiment id ("0", "42"); nullopt for anything else.
std::optional<int64_t> ParseExperimentId(std::string_view id);

}  // namespace cairn::store::sql
