#pragma once
// Search queries as trees of typed comparisons. The tracking service parses
// MLflow's filter syntax into these; each backend compiles them to SQL with
// bound parameters (user text never becomes SQL text).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "store/types.h"

namespace cairn::store {

enum class Entity {
  kMetric,     // latest value of metric `key`
  kParam,      // param `key`
  kTag,        // tag `key`
  kAttribute,  // run attribute `key`: run_id, run_name, status, user_id, start_time,
               // end_time, artifact_uri, lifecycle_stage (experiments: name,
               // creation_time, last_update_time)
  kDataset,    // dataset attribute `key`: name, digest, context (any input of the run)
};

enum class Comparator { kEq, kNe, kLt, kLe, kGt, kGe, kLike, kILike, kIn, kNotIn, kIsNull, kIsNotNull };

// Names as they appear in filters and error messages ("metric", "NOT IN").
constexpr std::string_view EntityName(Entity e) {
  switch (e) {
    case Entity::kMetric: return "metric";
    case Entity::kParam: return "param";
    case Entity::kTag: return "tag";
    case Entity::kAttribute: return "attribute";
    case Entity::kDataset: return "dataset";
  }
  return "?";
}

constexpr std::string_view ComparatorName(Comparator c) {
  switch (c) {
    case Comparator::kEq: return "=";
    case Comparator::kNe: return "!=";
    case Comparator::kLt: return "<";
    case Comparator::kLe: return "<=";
    case Comparator::kGt: return ">";
    case Comparator::kGe: return ">=";
    case Comparator::kLike: return "LIKE";
    case Comparator::kILike: return "ILIKE";
    case Comparator::kIn: return "IN";
    case Comparator::kNotIn: return "NOT IN";
    case Comparator::kIsNull: return "IS NULL";
    case Comparator::kIsNotNull: return "IS NOT NULL";
  }
  return "?";
}

// String values for params/tags/string attributes/datasets, double for metrics,
// int64 for time attributes; a list for IN / NOT IN; monostate for IS [NOT] NULL.
using Operand = std::variant<std::monostate, std::string, double, int64_t, std::vector<std::string>>;

struct Comparison {
  Entity entity;
  std::string key;
  Comparator op;
  Operand value;
};

struct OrderBy {
  Entity entity;  // kMetric, kParam, kTag or kAttribute
  std::string key;
  bool ascending = true;
};

// Runs: all comparisons are ANDed. Default order (when order_by is empty, and
// as the tie-breaker after it): start_time DESC, run_id ASC. NULLs (a run
// without the metric/param/tag ordered on) sort last in both directions.
//
// Semantics shared by every backend:
// - a metric comparison reads the run's latest value; a run without the
//   metric never matches; a NaN value matches only != (and sorts after every
//   number, before runs without the metric);
// - param/tag comparisons other than IS NULL need the run to have the key;
//   IS NULL matches runs without it;
// - strings compare and sort by bytes; LIKE is case-sensitive, ILIKE
//   folds ASCII case; % and _ are wildcards and backslash escapes them;
// - IN with an empty list matches nothing, NOT IN with one matches every
//   run that has the key.
// The params, metrics and tags a run search loads (RunQuery::columns); each
// list names keys. Attributes and dataset inputs are always loaded.
struct RunColumns {
  std::vector<std::string> params;
  std::vector<std::string> metrics;
  std::vector<std::string> tags;
};

struct RunQuery {
  std::vector<std::string> experiment_ids;  // at least one
  std::vector<Comparison> filter;
  std::vector<OrderBy> order_by;
  ViewType view = ViewType::kActiveOnly;
  int64_t max_results = 1000;
  int64_t offset = 0;
  // When set, the page's runs carry only these keys (a runs table showing
  // a few of an experiment's thousand metrics reads only those rows).
  std::optional<RunColumns> columns;
};

struct RunPage {
  std::vector<Run> runs;
  // Offset of the next page, or -1 when this page is the last.
  int64_t next_offset = -1;
};

// Experiments: filter on attributes (name, creation_time, last_update_time)
// and tags. Default order: creation_time DESC, experiment_id ASC.
struct ExperimentQuery {
  std::vector<Comparison> filter;
  std::vector<OrderBy> order_by;
  ViewType view = ViewType::kActiveOnly;
  int64_t max_results = 1000;
  int64_t offset = 0;
};

struct ExperimentPage {
  std::vector<Experiment> experiments;
  int64_t next_offset = -1;
};

}  // namespace cairn::store
