#include "client/artifact_location.h"

#include <gtest/gtest.h>

#include "client/http_transport.h"

namespace cairn::client {
namespace {

TEST(ArtifactLocationTest, MlflowArtifactsUriGoesThroughTheTrackingServer) {
  auto loc = ResolveArtifactLocation("mlflow-artifacts:/1/abc/artifacts", "http://h:5000/pre");
  ASSERT_TRUE(loc) << loc.error().ToString();
  EXPECT_EQ(loc->kind, ArtifactLocation::Kind::kProxy);
  EXPECT_EQ(loc->endpoint, "http://h:5000/pre/api/2.0/mlflow-artifacts/artifacts");
  EXPECT_EQ(loc->root, "1/abc/artifacts");
}

TEST(ArtifactLocationTest, MlflowArtifactsUriWithHostUsesThatHost) {
  auto loc =
      ResolveArtifactLocation("mlflow-artifacts://other:8080/2/r/artifacts", "https://h:5000");
  ASSERT_TRUE(loc);
  EXPECT_EQ(loc->endpoint, "https://other:8080/api/2.0/mlflow-artifacts/artifacts");
  EXPECT_EQ(loc->root, "2/r/artifacts");
}

TEST(ArtifactLocationTest, HttpProxyUriIsUsedAsGiven) {
  auto loc = ResolveArtifactLocation(
      "http://a:1/api/2.0/mlflow-artifacts/artifacts/3/r%20x/artifacts", "http://h:5000");
  ASSERT_TRUE(loc);
  EXPECT_EQ(loc->endpoint, "http://a:1/api/2.0/mlflow-artifacts/artifacts");
  EXPECT_EQ(loc->root, "3/r x/artifacts");
  EXPECT_EQ(ResolveArtifactLocation("http://a:1/other", "http://h").error().code(),
            ErrorCode::kUnimplemented);
}

TEST(ArtifactLocationTest, LocalPathsAndFileUris) {
  auto a = ResolveArtifactLocation("file:///data/art/1/r/artifacts", "http://h");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, ArtifactLocation::Kind::kLocal);
  EXPECT_EQ(a->local_dir, "/data/art/1/r/artifacts");
  auto b = ResolveArtifactLocation("/data/x", "http://h");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->kind, ArtifactLocation::Kind::kLocal);
  EXPECT_EQ(b->local_dir, "/data/x");
}

TEST(ArtifactLocationTest, ObjectStoresAreUnimplementedWithAHint) {
  auto s3 = ResolveArtifactLocation("s3://bucket/1/r/artifacts", "http://h");
  ASSERT_FALSE(s3);
  EXPECT_EQ(s3.error().code(), ErrorCode::kUnimplemented);
  EXPECT_NE(s3.error().message().find("--serve-artifacts"), std::string::npos);
  EXPECT_EQ(ResolveArtifactLocation("", "http://h").error().code(), ErrorCode::kFailedPrecondition);
}

TEST(ArtifactLocationTest, NormalizeArtifactPath) {
  EXPECT_EQ(*NormalizeArtifactPath(""), "");
  EXPECT_EQ(*NormalizeArtifactPath("."), "");
  EXPECT_EQ(*NormalizeArtifactPath("a//b/./c/"), "a/b/c");
  EXPECT_EQ(NormalizeArtifactPath("/etc").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(NormalizeArtifactPath("a/../../b").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(JoinArtifactPath("", "b"), "b");
  EXPECT_EQ(JoinArtifactPath("a", ""), "a");
  EXPECT_EQ(JoinArtifactPath("a", "b"), "a/b");
}

TEST(ClientUrlTest, JoinUrlEncodesEachSegment) {
  EXPECT_EQ(JoinUrl("http://h/x/", "1/r/artifacts/dir a/b#c?.txt"),
            "http://h/x/1/r/artifacts/dir%20a/b%23c%3F.txt");
  EXPECT_EQ(JoinUrl("http://h", "/a//b/"), "http://h/a/b");
  EXPECT_EQ(QueryString({{"path", "1/r x"}, {"k", "a&b=c"}}), "path=1%2Fr%20x&k=a%26b%3Dc");
}

}  // namespace
}  // namespace cairn::client
