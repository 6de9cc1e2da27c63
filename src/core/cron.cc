#include "core/cron.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace cairn {
namespace {

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kDayMs = 86'400'000;

struct FieldSpec {
  const char* name;
  int min;
  int max;
  // Three-letter names accepted in place of numbers (index = value - min).
  std::array<const char*, 12> names;
  int name_count;
};

constexpr std::array<FieldSpec, 5> kFields = {{
    {"minute", 0, 59, {}, 0},
    {"hour", 0, 23, {}, 0},
    {"day-of-month", 1, 31, {}, 0},
    {"month",
     1,
     12,
     {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"},
     12},
    // 0-7, 7 being Sunday again (folded into 0 after parsing).
    {"day-of-week", 0, 7, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}, 7},
}};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? s.size() - start : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

std::vector<std::string_view> SplitWhitespace(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// One value of a field: a number or (month, day-of-week) a three-letter name.
Result<int> ParseValue(std::string_view text, size_t index, std::string_view whole) {
  const FieldSpec& f = kFields[index];
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc() && ptr == text.data() + text.size()) {
    if (value < f.min || value > f.max) {
      return InvalidArgument(fmt::format("cron field {} ({}) '{}' is out of range {}-{}", index + 1,
                                         f.name, whole, f.min, f.max));
    }
    return value;
  }
  std::string lower = Lower(text);
  for (int i = 0; i < f.name_count; ++i) {
    if (lower == f.names[i]) return f.min + i;
  }
  return InvalidArgument(fmt::format("cron field {} ({}) '{}' is not a number{}", index + 1, f.name,
                                     whole, f.name_count ? " or a name" : ""));
}

// Parses one field ("*", "5", "1-5", "1,3,5", "*/15", "10-50/10", "5/10")
// into a membership vector indexed by value.
Result<std::vector<bool>> ParseField(std::string_view text, size_t index) {
  const FieldSpec& f = kFields[index];
  std::vector<bool> set(f.max + 1, false);
  if (text.empty()) {
    return InvalidArgument(fmt::format("cron field {} ({}) is empty", index + 1, f.name));
  }
  for (std::string_view item : Split(text, ',')) {
    if (item.empty()) {
      return InvalidArgument(
          fmt::format("cron field {} ({}) '{}' has an empty list item", index + 1, f.name, text));
    }
    std::string_view range = item;
    int step = 1;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      std::string_view step_text = item.substr(slash + 1);
      auto [ptr, ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
      if (step_text.empty() || ec != std::errc() || ptr != step_text.data() + step_text.size() ||
          step < 1) {
        return InvalidArgument(fmt::format("cron field {} ({}) '{}' has a bad step '{}'", index + 1,
                                           f.name, item, step_text));
      }
    }
    int lo = f.min, hi = f.max;
    if (range == "*") {
      // the whole range
    } else if (size_t dash = range.find('-'); dash != std::string_view::npos) {
      CAIRN_ASSIGN_OR_RETURN(lo, ParseValue(range.substr(0, dash), index, item));
      CAIRN_ASSIGN_OR_RETURN(hi, ParseValue(range.substr(dash + 1), index, item));
      if (lo > hi) {
        return InvalidArgument(
            fmt::format("cron field {} ({}) '{}' is a reversed range", index + 1, f.name, item));
      }
    } else {
      CAIRN_ASSIGN_OR_RETURN(lo, ParseValue(range, index, item));
      // "5/10" means 5, 15, 25, ... up to the field's maximum (Vixie cron).
      hi = item.find('/') != std::string_view::npos ? f.max : lo;
    }
    for (int v = lo; v <= hi; v += step) set[v] = true;
  }
  return set;
}

// Days since 1970-01-01 -> civil date (proleptic Gregorian).
void CivilFromDays(int64_t z, int& year, int& month, int& day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  year = static_cast<int>(y + (month <= 2));
}

int64_t DaysFromCivil(int year, int month, int day) {
  const int64_t y = year - (month <= 2);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

Result<int64_t> ParseDurationMs(std::string_view text) {
  if (text.empty()) return InvalidArgument("duration is empty (expected e.g. 90s, 5m, 1h30m)");
  if (text.front() == '-') {
    return InvalidArgument(fmt::format("duration '{}' is negative", text));
  }
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == start) {
      return InvalidArgument(
          fmt::format("duration '{}' is not a number with a unit (ms, s, m, h, d)", text));
    }
    double number = 0;
    auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + i, number);
    if (ec != std::errc() || ptr != text.data() + i) {
      return InvalidArgument(fmt::format("duration '{}' has a bad number", text));
    }
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string unit = Lower(text.substr(unit_start, i - unit_start));
    double scale = 0;
    if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60'000;
    } else if (unit == "h") {
      scale = 3'600'000;
    } else if (unit == "d") {
      scale = 86'400'000;
    } else if (unit == "w") {
      scale = 7 * 86'400'000.0;
    } else {
      return InvalidArgument(fmt::format("duration '{}' has {} unit '{}' (use ms, s, m, h, d)",
                                         text, unit.empty() ? "no" : "an unknown", unit));
    }
    total += number * scale;
  }
  if (!std::isfinite(total) || total > 9.0e15) {
    return InvalidArgument(fmt::format("duration '{}' is too large", text));
  }
  return static_cast<int64_t>(std::llround(total));
}

Result<CronSchedule> CronSchedule::Parse(std::string_view text) {
  CronSchedule s;
  s.text_ = std::string(text);
  std::vector<std::string_view> fields = SplitWhitespace(text);
  if (fields.empty()) return InvalidArgument("cron schedule is empty");
  std::string expanded;
  if (fields[0].front() == '@') {
    std::string macro = Lower(fields[0]);
    if (macro == "@every") {
      if (fields.size() != 2) {
        return InvalidArgument(
            fmt::format("cron schedule '{}': @every takes one duration (e.g. @every 30s)", text));
      }
      CAIRN_ASSIGN_OR_RETURN(int64_t ms, ParseDurationMs(fields[1]));
      if (ms < 1000) {
        return InvalidArgument(fmt::format("cron schedule '{}': @every needs at least 1s", text));
      }
      s.every_ms_ = ms;
      return s;
    }
    if (fields.size() != 1) {
      return InvalidArgument(fmt::format("cron schedule '{}': {} takes no argument", text, macro));
    }
    if (macro == "@hourly") {
      expanded = "0 * * * *";
    } else if (macro == "@daily" || macro == "@midnight") {
      expanded = "0 0 * * *";
    } else if (macro == "@weekly") {
      expanded = "0 0 * * 0";
    } else if (macro == "@monthly") {
      expanded = "0 0 1 * *";
    } else if (macro == "@yearly" || macro == "@annually") {
      expanded = "0 0 1 1 *";
    } else {
      return InvalidArgument(fmt::format(
          "cron schedule '{}': unknown shorthand (use @hourly, @daily, @weekly, @monthly, "
          "@yearly or @every <duration>)",
          text));
    }
    fields = SplitWhitespace(expanded);
  }
  if (fields.size() != 5) {
    return InvalidArgument(
        fmt::format("cron schedule '{}' has {} fields; expected 5 (minute hour day-of-month month "
                    "day-of-week) or @hourly, @daily, @weekly, @every <duration>",
                    text, fields.size()));
  }
  CAIRN_ASSIGN_OR_RETURN(s.minute_, ParseField(fields[0], 0));
  CAIRN_ASSIGN_OR_RETURN(s.hour_, ParseField(fields[1], 1));
  CAIRN_ASSIGN_OR_RETURN(s.dom_, ParseField(fields[2], 2));
  CAIRN_ASSIGN_OR_RETURN(s.month_, ParseField(fields[3], 3));
  CAIRN_ASSIGN_OR_RETURN(s.dow_, ParseField(fields[4], 4));
  if (s.dow_[7]) s.dow_[0] = true;
  s.dow_.resize(7);
  // As Vixie cron: a day field "is a star" when it begins with '*' (so "*/2"
  // counts as unrestricted for the OR rule).
  s.dom_star_ = fields[2].front() == '*';
  s.dow_star_ = fields[4].front() == '*';
  return s;
}

int64_t CronSchedule::Next(int64_t after_ms) const {
  if (every_ms_ > 0) return (FloorDiv(after_ms, every_ms_) + 1) * every_ms_;
  if (minute_.empty()) return std::numeric_limits<int64_t>::max();  // default-constructed

  int64_t t = (FloorDiv(after_ms, kMinuteMs) + 1) * kMinuteMs;
  int64_t day = FloorDiv(t, kDayMs);
  int64_t minute_of_day = (t - day * kDayMs) / kMinuteMs;
  // 28 years cover every calendar combination (e.g. Feb 29 on a Monday).
  const int64_t last_day = day + 366 * 30;
  while (day <= last_day) {
    int year, month, dom;
    CivilFromDays(day, year, month, dom);
    if (!month_[month]) {
      int next_month = month == 12 ? 1 : month + 1;
      int next_year = month == 12 ? year + 1 : year;
      day = DaysFromCivil(next_year, next_month, 1);
      minute_of_day = 0;
      continue;
    }
    const int dow = static_cast<int>(((day % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday
    bool day_ok;
    if (dom_star_ || dow_star_) {
      day_ok = dom_[dom] && dow_[dow];
    } else {
      day_ok = dom_[dom] || dow_[dow];
    }
    if (day_ok) {
      for (int64_t m = minute_of_day; m < 24 * 60; ++m) {
        if (hour_[m / 60] && minute_[m % 60]) return day * kDayMs + m * kMinuteMs;
        if (!hour_[m / 60]) m = (m / 60) * 60 + 59;  // skip the rest of this hour
      }
    }
    ++day;
    minute_of_day = 0;
  }
  return std::numeric_limits<int64_t>::max();
}

}  // namespace cairn
