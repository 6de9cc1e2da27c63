#include "cli/command.h"

#include <gtest/gtest.h>

#include <cmath>

namespace cairn::cli {
namespace {

TEST(CommandHelpersTest, ParseDoubleAcceptsNumbersAndNonFinite) {
  EXPECT_DOUBLE_EQ(*ParseDouble("0.25"), 0.25);
  EXPECT_DOUBLE_EQ(*ParseDouble("-3e2"), -300.0);
  EXPECT_DOUBLE_EQ(*ParseDouble("+1"), 1.0);
  EXPECT_TRUE(std::isnan(*ParseDouble("NaN")));
  EXPECT_TRUE(std::isinf(*ParseDouble("inf")));
  EXPECT_LT(*ParseDouble("-Infinity"), 0);
  EXPECT_EQ(ParseDouble("0.2x").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(ParseDouble(""));
}

TEST(CommandHelpersTest, SplitColumnValue) {
  auto kv = SplitColumnValue("amount=psi=x");
  ASSERT_TRUE(kv);
  EXPECT_EQ(kv->first, "amount");
  EXPECT_EQ(kv->second, "psi=x");
  EXPECT_FALSE(SplitColumnValue("amount"));
  EXPECT_FALSE(SplitColumnValue("=psi"));
  EXPECT_FALSE(SplitColumnValue("amount="));
}

TEST(CommandHelpersTest, ParseKeyValue) {
  auto t = ParseKeyValue("team=fraud=yes");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->key, "team");
  EXPECT_EQ(t->value, "fraud=yes");
  EXPECT_EQ(ParseKeyValue("novalue").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(ParseKeyValue("=v"));
}

TEST(CommandHelpersTest, FormatDouble) {
  EXPECT_EQ(FormatDouble(0.5), "0.5");
  EXPECT_EQ(FormatDouble(1234567.0), "1.23457e+06");
  EXPECT_EQ(FormatDouble(std::nan("")), "NaN");
  EXPECT_EQ(FormatDouble(-HUGE_VAL), "-inf");
  EXPECT_EQ(FormatMillis(0), "");
  EXPECT_EQ(FormatMillis(1'700'000'000'000).size(), 19u);  // "YYYY-MM-DD HH:MM:SS"
}

TEST(CommandHelpersTest, RedactUriHidesOnlyThePassword) {
  EXPECT_EQ(RedactUri("postgresql://bob:s3cret@db:5432/cairn"),
            "postgresql://bob:***@db:5432/cairn");
  EXPECT_EQ(RedactUri("postgresql://bob@db:5432/cairn"), "postgresql://bob@db:5432/cairn");
  EXPECT_EQ(RedactUri("sqlite:///tmp/a@b:c.db"), "sqlite:///tmp/a@b:c.db");
  EXPECT_EQ(RedactUri("file:///x"), "file:///x");
}

TEST(CommandHelpersTest, ErrorsPrintMlflowCodeAndMessage) {
  testing::internal::CaptureStderr();
  int rc = ReportError(Error(ErrorCode::kNotFound, "Run with id=42 not found"));
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "error: RESOURCE_DOES_NOT_EXIST: Run with id=42 not found\n");
  EXPECT_EQ(rc, kExitError);
}

}  // namespace
}  // namespace cairn::cli
