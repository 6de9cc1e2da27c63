#include "tracking/page_token.h"

#include <gtest/gtest.h>

namespace cairn::tracking {
namespace {

TEST(PageTokenTest, Base64RoundTrip) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  for (std::string s : {"", "a", "ab", "abc", "abcd", "\xff\x00\x10"}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, s);
  }
  EXPECT_FALSE(Base64Decode("Zg="));
  EXPECT_FALSE(Base64Decode("Z=="));
  EXPECT_FALSE(Base64Decode("Zm9v!!!!"));
  EXPECT_FALSE(Base64Decode("Zg==Zg=="));
}

TEST(PageTokenTest, MatchesMlflowTokens) {
  // Python: base64.b64encode(json.dumps({"offset": 1000}).encode())
  EXPECT_EQ(EncodePageToken(1000), "eyJvZmZzZXQiOiAxMDAwfQ==");
  auto off = DecodePageToken("eyJvZmZzZXQiOiAxMDAwfQ==");
  ASSERT_TRUE(off);
  EXPECT_EQ(*off, 1000);
  EXPECT_EQ(*DecodePageToken(EncodePageToken(3)), 3);
  EXPECT_EQ(*DecodePageToken(""), 0);
}

TEST(PageTokenTest, BadTokensAreInvalidArgument) {
  auto a = DecodePageToken("not a token");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(a.error().message(), "Invalid page token, could not base64-decode");
  auto b = DecodePageToken(Base64Encode("hello"));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message(), "Invalid page token, decoded value=hello");
  auto c = DecodePageToken(Base64Encode("{\"page\": 2}"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "Invalid page token, parsed value={\"page\": 2}");
  EXPECT_FALSE(DecodePageToken(Base64Encode("{\"offset\": -5}")));
  EXPECT_FALSE(DecodePageToken(Base64Encode("{\"offset\": \"5\"}")));
}

}  // namespace
}  // namespace cairn::tracking
