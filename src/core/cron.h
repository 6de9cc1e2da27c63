#pragma once
// Schedules: classic 5-field cron and a few shorthands, evaluated in UTC.
//
//   "*/10 * * * *"   minute hour day-of-month month day-of-week
//                    (each: "*", "5", "1-5", "1,3,5", "*/15", "10-50/10";
//                    month 1-12, day-of-week 0-7 with 0 and 7 Sunday; when
//                    both day fields are restricted a day matches either,
//                    as in Vixie cron)
//   "@hourly", "@daily", "@weekly"    the usual meanings
//   "@every 30s"     every 30 s from the epoch (also ms, m, h; >= 1 s)
//
// Parse errors are kInvalidArgument naming the field and value ("cron field
// 2 (hour) '25' is out of range 0-23").

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace cairn {

class CronSchedule {
 public:
  static Result<CronSchedule> Parse(std::string_view text);
  // The first fire time strictly after `after_ms` (ms since the epoch, UTC).
  int64_t Next(int64_t after_ms) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  int64_t every_ms_ = 0;  // "@every"
  std::vector<bool> minute_, hour_, dom_, month_, dow_;
  bool dom_star_ = true, dow_star_ = true;
};

// "90s", "5m", "1h", "2d", "250ms", "1h30m" -> milliseconds; kInvalidArgument
// otherwise (negative, unknown unit, empty).
Result<int64_t> ParseDurationMs(std::string_view text);

}  // namespace cairn
