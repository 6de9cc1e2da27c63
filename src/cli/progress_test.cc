#include "cli/progress.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace cairn::cli {
namespace {

TEST(FormatCount, GroupsThousands) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(1000), "1,000");
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
}

TEST(FormatProgressLine, FilesBytesRateAndBarFollowingBytes) {
  ProgressSnapshot s;
  s.files_done = 4512;
  s.files_total = 10000;
  s.bytes_done = 45ull << 20;  // 45 MiB of 100: the bar follows bytes, not files
  s.bytes_total = 100ull << 20;
  std::string line = FormatProgressLine("adding", s, 2.0, 100);
  EXPECT_EQ(line,
            "adding  4,512/10,000 files  45.0 MiB/100.0 MiB  22.5 MiB/s  "
            "[#############-----------------]   45%");
}

TEST(FormatProgressLine, FilesOnlyWhenBytesAreUnknown) {
  ProgressSnapshot s;
  s.files_done = 1;
  s.files_total = 4;
  s.bytes_done = 512;
  std::string line = FormatProgressLine("pushing", s, 0.5, 80);
  // 36 columns of text, 10 of brackets and percentage: a 30-cell bar (the most), 7 of them full.
  EXPECT_EQ(line, "pushing  1/4 files  512 B  1.0 KiB/s  [#######-----------------------]   25%");
}

TEST(FormatProgressLine, NoTotalsNoTimeAndNarrowTerminals) {
  ProgressSnapshot s;
  s.files_done = 3;
  EXPECT_EQ(FormatProgressLine("checking out", s, 0.0, 80), "checking out  3 files  0 B  -");
  ProgressSnapshot one;
  one.files_done = 1;
  one.files_total = 1;
  one.bytes_done = 3ull << 30;
  one.bytes_total = 2ull << 30;  // more done than announced: capped at 100 %
  EXPECT_EQ(FormatProgressLine("adding", one, 1.5, 80),
            "adding  1/1 file  3.0 GiB/2.0 GiB  2.0 GiB/s  [##########################]  100%");
  // Too narrow for a bar: the percentage stays, then the line is cut.
  EXPECT_EQ(FormatProgressLine("adding", one, 1.5, 56),
            "adding  1/1 file  3.0 GiB/2.0 GiB  2.0 GiB/s  100%");
  EXPECT_EQ(FormatProgressLine("adding", one, 1.5, 20).size(), 20u);
}

TEST(DecideProgressMode, QuietWhenPipedUnlessForced) {
  EXPECT_EQ(DecideProgressMode(false, "xterm", nullptr), ProgressMode::kOff);
  EXPECT_EQ(DecideProgressMode(true, "xterm", nullptr), ProgressMode::kTerminal);
  EXPECT_EQ(DecideProgressMode(true, nullptr, nullptr), ProgressMode::kTerminal);
  EXPECT_EQ(DecideProgressMode(true, "dumb", nullptr), ProgressMode::kOff);
  EXPECT_EQ(DecideProgressMode(true, "xterm", "never"), ProgressMode::kOff);
  EXPECT_EQ(DecideProgressMode(false, "xterm", "always"), ProgressMode::kForced);
  EXPECT_EQ(DecideProgressMode(false, "xterm", "auto"), ProgressMode::kOff);
}

TEST(ProgressBar, DisabledNeverPolls) {
  std::atomic<int> polls{0};
  {
    ProgressBar bar(
        "adding",
        [&] {
          ++polls;
          return ProgressSnapshot{};
        },
        ProgressMode::kOff);
    EXPECT_FALSE(bar.enabled());
    std::this_thread::sleep_for(std::chrono::milliseconds(350));
  }
  EXPECT_EQ(polls.load(), 0);
}

TEST(ProgressBar, EnabledPollsAtMostTenTimesASecond) {
  std::atomic<int> polls{0};
  ProgressBar bar(
      "adding",
      [&] {
        ++polls;
        return ProgressSnapshot{};
      },
      ProgressMode::kTerminal);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  bar.Stop();
  int n = polls.load();
  // First draw after 200 ms, then every 100 ms: about 5 in 700 ms.
  EXPECT_GE(n, 1);
  EXPECT_LE(n, 7);
  bar.Stop();  // idempotent
  EXPECT_EQ(polls.load(), n);
}

}  // namespace
}  // namespace cairn::cli
