#include "http/request_target.h"

#include <gtest/gtest.h>

namespace cairn::http {
namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

TEST(PercentDecodeTest, DecodesAndRejectsMalformed) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc", false).value(), "a b/c");
  EXPECT_EQ(PercentDecode("a+b", false).value(), "a+b");
  EXPECT_EQ(PercentDecode("a+b%2B", true).value(), "a b+");
  EXPECT_EQ(PercentDecode("%e2%82%ac", false).value(), "\xe2\x82\xac");
  for (std::string_view bad : {"%", "%2", "a%zz", "%g0", "%00", "abc%"}) {
    auto r = PercentDecode(bad, false);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kBadRequest);
  }
}

TEST(ParseTargetTest, PathAndQuery) {
  std::string path;
  Query query;
  ASSERT_TRUE(ParseTarget("/api/2.0/mlflow/runs/get?run_id=abc&x=a+b%26c&flag&&y=", path, query));
  EXPECT_EQ(path, "/api/2.0/mlflow/runs/get");
  EXPECT_EQ(query, (Query{{"run_id", "abc"}, {"x", "a b&c"}, {"flag", ""}, {"y", ""}}));

  // Reuse: a second parse overwrites and shrinks.
  ASSERT_TRUE(ParseTarget("/a%20b+c?k=v", path, query));
  EXPECT_EQ(path, "/a b+c");
  EXPECT_EQ(query, (Query{{"k", "v"}}));

  ASSERT_TRUE(ParseTarget("/plain", path, query));
  EXPECT_TRUE(query.empty());

  ASSERT_TRUE(ParseTarget("http://example.com:5000/x/y?z=1", path, query));
  EXPECT_EQ(path, "/x/y");
  EXPECT_EQ(query, (Query{{"z", "1"}}));
  ASSERT_TRUE(ParseTarget("http://example.com", path, query));
  EXPECT_EQ(path, "/");
}

TEST(ParseTargetTest, Rejects) {
  std::string path;
  Query query;
  for (std::string_view bad : {"/a%2", "/a?b=%zz", "relative/path", "", "?a=1", "/x%00y"}) {
    auto st = ParseTarget(bad, path, query);
    ASSERT_FALSE(st.has_value()) << bad;
    EXPECT_EQ(st.error().code(), ErrorCode::kBadRequest);
  }
}

}  // namespace
}  // namespace cairn::http
