#include "tracking/filter_lexer.h"

#include <gtest/gtest.h>

namespace cairn::tracking {
namespace {

TEST(FilterScannerTest, QuotedHandlesDoubledAndBackslashedQuotes) {
  FilterScanner sc(R"('it''s \'x\' a\b' rest)");
  auto text = sc.Quoted();
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(*text, R"(it's 'x' a\b)");
  EXPECT_EQ(sc.text().substr(sc.pos()), " rest");
}

TEST(FilterScannerTest, UnterminatedQuoteIsNullopt) {
  FilterScanner sc("`abc");
  EXPECT_FALSE(sc.Quoted().has_value());
  EXPECT_TRUE(sc.AtEnd());
}

TEST(FilterScannerTest, OperatorsLongestFirst) {
  FilterScanner sc("<=<>==!=>=< > =x");
  std::vector<std::string_view> ops;
  for (std::string_view op = sc.Operator(); !op.empty(); op = sc.Operator()) {
    ops.push_back(op);
    sc.SkipSpace();
  }
  EXPECT_EQ(ops, (std::vector<std::string_view>{"<=", "<>", "==", "!=", ">=", "<", ">", "="}));
  EXPECT_EQ(sc.Peek(), 'x');
}

TEST(FilterScannerTest, WordsKeysAndSpace) {
  FilterScanner sc("  tags.my-key/v:1.2 \xc3\xa9t\xc3\xa9");
  sc.SkipSpace();
  EXPECT_EQ(sc.pos(), 2u);
  EXPECT_EQ(sc.Word(/*allow_non_ascii=*/false), "tags");
  EXPECT_EQ(sc.Peek(), '.');
  sc.set_pos(sc.pos() + 1);
  EXPECT_EQ(sc.Key(), "my-key/v:1.2");
  sc.SkipSpace();
  size_t b = sc.pos();
  EXPECT_EQ(sc.Word(/*allow_non_ascii=*/false), "");
  EXPECT_EQ(sc.Word(/*allow_non_ascii=*/true), "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(sc.Since(b), "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(sc.Peek(), '\0');
}

TEST(FilterScannerTest, CaseHelpers) {
  EXPECT_EQ(AsciiUpper("Like_1"), "LIKE_1");
  EXPECT_EQ(AsciiLower("Metrics.X"), "metrics.x");
}

}  // namespace
}  // namespace cairn::tracking
