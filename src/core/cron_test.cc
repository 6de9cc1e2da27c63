#include "core/cron.h"

#include <gtest/gtest.h>

#include <limits>

namespace cairn {
namespace {

// 2023-11-14T22:13:20Z, a Tuesday.
constexpr int64_t kTue2213 = 1'700'000'000'000;

CronSchedule MustParse(std::string_view text) {
  auto s = CronSchedule::Parse(text);
  EXPECT_TRUE(s.has_value()) << text << ": " << (s ? "" : s.error().message());
  return s ? *s : CronSchedule{};
}

TEST(CronTest, StepsInMinuteField) {
  CronSchedule s = MustParse("*/10 * * * *");
  EXPECT_EQ(s.Next(kTue2213), 1'700'000'400'000);  // 22:20
  // Strictly after: a fire time gives the next one.
  EXPECT_EQ(s.Next(1'700'000'400'000), 1'700'001'000'000);  // 22:30
  EXPECT_EQ(s.Next(1'700'000'400'000 - 1), 1'700'000'400'000);
  EXPECT_EQ(s.text(), "*/10 * * * *");
}

TEST(CronTest, ListsRangesAndRangeSteps) {
  EXPECT_EQ(MustParse("15,45 * * * *").Next(kTue2213), 1'700'000'100'000);  // 22:15
  EXPECT_EQ(MustParse("0 9 * * 1-5").Next(kTue2213), 1'700'038'800'000);    // Wed 09:00
  // 10-50/20 = 10, 30, 50.
  CronSchedule s = MustParse("10-50/20 * * * *");
  EXPECT_EQ(s.Next(kTue2213), 1'700'000'400'000 + 10 * 60'000);           // 22:30
  EXPECT_EQ(s.Next(1'700'001'000'000), 1'700'001'000'000 + 20 * 60'000);  // 22:50
  EXPECT_EQ(s.Next(1'700'002'200'000), 1'700'002'800'000 + 10 * 60'000);  // 23:10
  // "5/20" = 5, 25, 45 (Vixie: start/step to the maximum).
  EXPECT_EQ(MustParse("5/20 * * * *").Next(kTue2213), 1'700'000'100'000 + 10 * 60'000);  // 22:25
}

TEST(CronTest, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // The 15th (a Wednesday) or any Friday.
  CronSchedule s = MustParse("0 0 15 * 5");
  EXPECT_EQ(s.Next(kTue2213), 1'700'006'400'000);           // Wed Nov 15
  EXPECT_EQ(s.Next(1'700'006'400'000), 1'700'179'200'000);  // Fri Nov 17
  EXPECT_EQ(s.Next(1'700'179'200'000), 1'700'784'000'000);  // Fri Nov 24
}

TEST(CronTest, StarPrefixedDayFieldMeansBothMustMatch) {
  // Day-of-month "*/10" (1, 11, 21, 31) begins with '*': AND with Friday.
  // The first Friday that is the 1st/11th/21st/31st is Dec 1 2023.
  EXPECT_EQ(MustParse("0 0 */10 * 5").Next(kTue2213), 1'701'388'800'000);
  // Only day-of-week restricted: every Friday.
  EXPECT_EQ(MustParse("0 0 * * fri").Next(kTue2213), 1'700'179'200'000);
}

TEST(CronTest, SundayIsZeroOrSeven) {
  EXPECT_EQ(MustParse("0 0 * * 7").Next(kTue2213), 1'700'352'000'000);  // Sun Nov 19
  EXPECT_EQ(MustParse("0 0 * * 0").Next(kTue2213), 1'700'352'000'000);
  EXPECT_EQ(MustParse("0 0 * * SUN").Next(kTue2213), 1'700'352'000'000);
}

TEST(CronTest, MonthsAndLeapDays) {
  EXPECT_EQ(MustParse("0 0 1 jan *").Next(kTue2213), 1'704'067'200'000);  // 2024-01-01
  EXPECT_EQ(MustParse("0 0 29 2 *").Next(kTue2213), 1'709'164'800'000);   // 2024-02-29
  EXPECT_EQ(MustParse("59 23 31 12 *").Next(kTue2213), 1'704'067'140'000);
  // Never fires: February 30th.
  EXPECT_EQ(MustParse("0 0 30 2 *").Next(kTue2213), std::numeric_limits<int64_t>::max());
}

TEST(CronTest, Shorthands) {
  EXPECT_EQ(MustParse("@hourly").Next(kTue2213), 1'700'002'800'000);  // 23:00
  EXPECT_EQ(MustParse("@daily").Next(kTue2213), 1'700'006'400'000);   // Nov 15 00:00
  EXPECT_EQ(MustParse("@weekly").Next(kTue2213), 1'700'352'000'000);  // Sun Nov 19
  CronSchedule every = MustParse("@every 30s");
  EXPECT_EQ(every.Next(kTue2213), 1'700'000'010'000);
  EXPECT_EQ(every.Next(1'700'000'010'000), 1'700'000'040'000);
  EXPECT_EQ(MustParse("@every 1h30m").Next(0), 5'400'000);
}

TEST(CronTest, ParseErrorsNameFieldAndValue) {
  auto hour = CronSchedule::Parse("0 25 * * *");
  ASSERT_FALSE(hour.has_value());
  EXPECT_EQ(hour.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(hour.error().message(), "cron field 2 (hour) '25' is out of range 0-23");

  auto count = CronSchedule::Parse("* * * *");
  ASSERT_FALSE(count.has_value());
  EXPECT_NE(count.error().message().find("4 fields"), std::string::npos);

  auto step = CronSchedule::Parse("*/0 * * * *");
  ASSERT_FALSE(step.has_value());
  EXPECT_NE(step.error().message().find("field 1 (minute)"), std::string::npos);

  auto reversed = CronSchedule::Parse("0 0 * * 5-1");
  ASSERT_FALSE(reversed.has_value());
  EXPECT_NE(reversed.error().message().find("field 5 (day-of-week) '5-1'"), std::string::npos);

  auto word = CronSchedule::Parse("0 0 * foo *");
  ASSERT_FALSE(word.has_value());
  EXPECT_NE(word.error().message().find("field 4 (month) 'foo'"), std::string::npos);

  auto month = CronSchedule::Parse("0 0 1 13 *");
  ASSERT_FALSE(month.has_value());
  EXPECT_NE(month.error().message().find("out of range 1-12"), std::string::npos);

  EXPECT_FALSE(CronSchedule::Parse("@sometimes").has_value());
  EXPECT_FALSE(CronSchedule::Parse("").has_value());
  EXPECT_FALSE(CronSchedule::Parse("@every 500ms").has_value());
  EXPECT_FALSE(CronSchedule::Parse("@every").has_value());
  EXPECT_FALSE(CronSchedule::Parse("0,,5 * * * *").has_value());
}

TEST(DurationTest, Units) {
  EXPECT_EQ(ParseDurationMs("90s").value(), 90'000);
  EXPECT_EQ(ParseDurationMs("5m").value(), 300'000);
  EXPECT_EQ(ParseDurationMs("1h").value(), 3'600'000);
  EXPECT_EQ(ParseDurationMs("2d").value(), 172'800'000);
  EXPECT_EQ(ParseDurationMs("250ms").value(), 250);
  EXPECT_EQ(ParseDurationMs("1h30m").value(), 5'400'000);
  EXPECT_EQ(ParseDurationMs("0s").value(), 0);
}

TEST(DurationTest, Errors) {
  for (std::string_view bad : {"", "-5s", "5", "5x", "h", "1h-", "1.2.3s"}) {
    auto r = ParseDurationMs(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace cairn
