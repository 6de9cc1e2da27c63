#include "monitor/rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace cairn::monitor {
namespace {

// Statistics computed per feature; the others are dataset level (feature "").
const std::vector<std::string>& FeatureStatistics() {
  static const std::vector<std::string> kNames = {
      "drift_score",       "drifted",           "missing_rate", "type_violations",
      "out_of_range_rate", "new_category_rate", "constant"};
  return kNames;
}

bool IsFeatureStatistic(std::string_view name) {
  const auto& names = FeatureStatistics();
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  void SkipSpace() {
    while (i_ < s_.size() && IsSpace(s_[i_])) ++i_;
  }
  bool Done() const { return i_ >= s_.size(); }
  char Peek() const { return Done() ? '\0' : s_[i_]; }
  std::string_view TakeWhile(auto pred) {
    size_t start = i_;
    while (i_ < s_.size() && pred(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }
  bool Consume(std::string_view token) {
    if (s_.substr(i_).starts_with(token)) {
      i_ += token.size();
      return true;
    }
    return false;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

std::string_view OpText(AlertRule::Op op) {
  switch (op) {
    case AlertRule::Op::kGt:
      return ">";
    case AlertRule::Op::kGe:
      return ">=";
    case AlertRule::Op::kLt:
      return "<";
    case AlertRule::Op::kLe:
      return "<=";
    case AlertRule::Op::kEq:
      return "==";
    case AlertRule::Op::kNe:
      return "!=";
  }
  return "?";
}

std::string Joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

}  // namespace

const std::vector<std::string>& KnownStatistics() {
  static const std::vector<std::string> kNames = {
      // drift
      "drift_score", "drifted", "drift_share", "drifted_columns", "dataset_drift",
      // quality
      "missing_rate", "type_violations", "out_of_range_rate", "new_category_rate", "constant",
      "rows", "duplicate_rate",
      // performance
      "accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "mae", "rmse", "r2",
      "labeled_rows"};
  return kNames;
}

bool AlertRule::Holds(double value) const {
  if (std::isnan(value)) return false;
  switch (op) {
    case Op::kGt:
      return value > threshold;
    case Op::kGe:
      return value >= threshold;
    case Op::kLt:
      return value < threshold;
    case Op::kLe:
      return value <= threshold;
    case Op::kEq:
      return value == threshold;
    case Op::kNe:
      return value != threshold;
  }
  return false;
}

Result<AlertRule> ParseAlertRule(std::string_view text) {
  auto fail = [&](std::string what) {
    return InvalidArgument(fmt::format("alert rule '{}': {}", text, what));
  };
  AlertRule rule;
  Cursor c(text);
  c.SkipSpace();
  std::string_view statistic = c.TakeWhile(
      [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; });
  if (statistic.empty()) {
    return fail(
        "expected STATISTIC[FEATURE] OP THRESHOLD [for N windows], e.g. 'drift_share > 0.3'");
  }
  const auto& known = KnownStatistics();
  if (std::find(known.begin(), known.end(), statistic) == known.end()) {
    return fail(fmt::format("unknown statistic '{}'; known: {}", statistic, Joined(known)));
  }
  rule.statistic = std::string(statistic);
  c.SkipSpace();
  if (c.Consume("[")) {
    std::string_view feature = c.TakeWhile([](char ch) { return ch != ']'; });
    if (!c.Consume("]")) return fail("'[' without a closing ']'");
    // Trim spaces inside the brackets.
    while (!feature.empty() && IsSpace(feature.front())) feature.remove_prefix(1);
    while (!feature.empty() && IsSpace(feature.back())) feature.remove_suffix(1);
    if (feature.empty()) return fail("empty feature in []; use [*] for every feature");
    rule.feature = std::string(feature);
    c.SkipSpace();
  }
  if (IsFeatureStatistic(rule.statistic) && rule.feature.empty()) {
    return fail(fmt::format(
        "'{}' is computed per feature: name one ({}[amount]) or use {}[*] for every feature",
        rule.statistic, rule.statistic, rule.statistic));
  }
  if (!IsFeatureStatistic(rule.statistic) && !rule.feature.empty()) {
    return fail(
        fmt::format("'{}' is a dataset-level statistic: it takes no [feature]", rule.statistic));
  }
  if (c.Consume(">=")) {
    rule.op = AlertRule::Op::kGe;
  } else if (c.Consume("<=")) {
    rule.op = AlertRule::Op::kLe;
  } else if (c.Consume("==")) {
    rule.op = AlertRule::Op::kEq;
  } else if (c.Consume("!=")) {
    rule.op = AlertRule::Op::kNe;
  } else if (c.Consume(">")) {
    rule.op = AlertRule::Op::kGt;
  } else if (c.Consume("<")) {
    rule.op = AlertRule::Op::kLt;
  } else {
    return fail("expected an operator (>, >=, <, <=, ==, !=) after the statistic");
  }
  c.SkipSpace();
  std::string_view number = c.TakeWhile([](char ch) {
    return std::isdigit(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '+' ||
           ch == 'e' || ch == 'E';
  });
  if (number.empty()) return fail("expected a number after the operator");
  {
    std::string_view digits = number;
    if (digits.front() == '+') digits.remove_prefix(1);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), rule.threshold);
    if (ec != std::errc() || ptr != digits.data() + digits.size() ||
        !std::isfinite(rule.threshold)) {
      return fail(fmt::format("threshold '{}' is not a number", number));
    }
  }
  rule.text =
      fmt::format("{}{} {} {}", rule.statistic,
                  rule.feature.empty() ? "" : "[" + rule.feature + "]", OpText(rule.op), number);
  c.SkipSpace();
  if (!c.Done()) {
    std::string_view word = c.TakeWhile([](char ch) { return !IsSpace(ch); });
    if (word != "for") return fail(fmt::format("unexpected '{}' (expected 'for N windows')", word));
    c.SkipSpace();
    std::string_view n = c.TakeWhile([](char ch) { return !IsSpace(ch); });
    int windows = 0;
    auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), windows);
    if (n.empty() || ec != std::errc() || ptr != n.data() + n.size() || windows < 1 ||
        windows > 1000) {
      return fail(fmt::format("'for {}': the number of windows must be an integer 1-1000", n));
    }
    rule.windows = windows;
    c.SkipSpace();
    if (!c.Done()) {
      std::string_view unit = c.TakeWhile([](char ch) { return !IsSpace(ch); });
      if (unit != "windows" && unit != "window") {
        return fail(fmt::format("unexpected '{}' after 'for {}'", unit, n));
      }
      c.SkipSpace();
      if (!c.Done()) return fail("unexpected text after 'windows'");
    }
    rule.text += fmt::format(" for {}", windows);
  }
  return rule;
}

}  // namespace cairn::monitor
