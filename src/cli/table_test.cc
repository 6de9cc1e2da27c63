#include "cli/table.h"

#include <gtest/gtest.h>

namespace cairn::cli {
namespace {

TEST(TextTableTest, AlignsColumnsToTheWidestCell) {
  TextTable t({"run_id", "status", "metrics.acc"});
  t.AddRow({"abc", "FINISHED", "0.9"});
  t.AddRow({"abcdefgh", "RUNNING", ""});
  EXPECT_EQ(t.Render(),
            "run_id    status    metrics.acc\n"
            "--------  --------  -----------\n"
            "abc       FINISHED  0.9\n"
            "abcdefgh  RUNNING\n");
  EXPECT_EQ(t.rows(), 2u);
}

TEST(TextTableTest, TruncatesLongCellsAndPadsShortRows) {
  TextTable t({"a", "b"}, 8);
  t.AddRow({"0123456789abc"});
  t.AddRow({"x\ny", "1", "dropped"});
  EXPECT_EQ(t.Render(),
            "a         b\n"
            "--------  -\n"
            "01234...\n"
            "x y       1\n");
}

TEST(TextTableTest, WidthCountsCodePointsNotBytes) {
  EXPECT_EQ(DisplayWidth("héllo"), 5u);
  TextTable t({"name", "n"});
  t.AddRow({"héllo", "1"});
  t.AddRow({"ab", "2"});
  EXPECT_EQ(t.Render(),
            "name   n\n"
            "-----  -\n"
            "héllo  1\n"
            "ab     2\n");
}

TEST(RenderFieldsTest, PadsKeys) {
  EXPECT_EQ(RenderFields({{"run_id", "r1"}, {"status", "FINISHED"}, {"end_time", ""}}),
            "run_id:    r1\n"
            "status:    FINISHED\n"
            "end_time:\n");
}

}  // namespace
TEST(FormatBytesTest, BinaryUnitsWithOneDecimal) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1024), "1.0 KiB");
  EXPECT_EQ(FormatBytes(3565158), "3.4 MiB");
  EXPECT_EQ(FormatBytes(uint64_t{1} << 40), "1.0 TiB");
}

}  // namespace cairn::cli
