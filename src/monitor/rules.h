#pragma once
// Alert rules: `STATISTIC[FEATURE] OP THRESHOLD [for N [windows]]`
// (docs/monitoring.md). "drift_share > 0.3", "recall < 0.8 for 2",
// "drifted[*] >= 1", "missing_rate[amount] > 0.1".

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace cairn::monitor {

struct AlertRule {
  std::string text;       // as written, normalized spacing ("recall < 0.8 for 2")
  std::string statistic;  // one of the statistics of docs/monitoring.md
  std::string feature;    // "" dataset level, "*" every feature, else one feature
  enum class Op { kGt, kGe, kLt, kLe, kEq, kNe } op = Op::kGt;
  double threshold = 0;
  int windows = 1;        // consecutive windows the condition must hold

  bool Holds(double value) const;  // NaN never holds
};

// kInvalidArgument naming what is wrong ("alert rule 'recal < 0.8': unknown
// statistic 'recal'; known: ..."). Statistics must be known names.
Result<AlertRule> ParseAlertRule(std::string_view text);

// Every statistic name a rule may use.
const std::vector<std::string>& KnownStatistics();

}  // namespace cairn::monitor
