#include "core/uri.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "core/config.h"
#include "core/ids.h"

namespace cairn {
namespace {

TEST(UriTest, ParsesPostgres) {
  auto u = Uri::Parse("postgresql://bob:p%40ss@db.local:15432/cairn?sslmode=disable");
  ASSERT_TRUE(u) << u.error().ToString();
  EXPECT_EQ(u->scheme, "postgresql");
  EXPECT_EQ(u->user, "bob");
  EXPECT_EQ(u->password, "p@ss");
  EXPECT_EQ(u->host, "db.local");
  EXPECT_EQ(u->port, 15432);
  EXPECT_EQ(u->path, "/cairn");
  EXPECT_EQ(u->query.at("sslmode"), "disable");
}

TEST(UriTest, ParsesSqliteAndFile) {
  auto s = Uri::Parse("sqlite:///tmp/x/cairn.db");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->scheme, "sqlite");
  EXPECT_EQ(s->host, "");
  EXPECT_EQ(s->path, "/tmp/x/cairn.db");
  auto f = LocalPathFromUri("file:///var/a/../b");
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, "/var/b");
  EXPECT_FALSE(LocalPathFromUri("s3://bucket/x"));
}

TEST(UriTest, RejectsBadPortAndScheme) {
  EXPECT_FALSE(Uri::Parse("http://h:99999/"));
  EXPECT_FALSE(Uri::Parse("http://h:abc/"));
  EXPECT_FALSE(Uri::Parse("no-scheme-here"));
  auto bad = Uri::Parse("http://h/%zz");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST(UriTest, RunsUri) {
  auto r = ParseRunsUri("runs:/0123abcd/model/MLmodel");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->run_id, "0123abcd");
  EXPECT_EQ(r->path, "model/MLmodel");
  EXPECT_FALSE(ParseRunsUri("runs:/"));
  EXPECT_FALSE(ParseRunsUri("models:/x/1"));
}

TEST(IdsTest, RunIdsAre32Hex) {
  auto a = NewRunId();
  auto b = NewRunId();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_TRUE(IsValidId(a));
  EXPECT_FALSE(IsValidId("../etc"));
  EXPECT_FALSE(IsValidId(""));
}

TEST(IdsTest, RequestIdsAreUuid4HexAndDistinctAcrossThreads) {
  std::set<std::string> seen;
  std::mutex mu;
  auto make = [&] {
    for (int i = 0; i < 2000; ++i) {
      std::string id = NewRequestId();
      ASSERT_EQ(id.size(), 32u);
      ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
      ASSERT_EQ(id[12], '4');                                  // UUID version 4
      ASSERT_NE(std::string("89ab").find(id[16]), std::string::npos);  // RFC 4122 variant
      std::lock_guard lock(mu);
      seen.insert(std::move(id));
    }
  };
  std::thread t1(make), t2(make);
  make();
  t1.join();
  t2.join();
  EXPECT_EQ(seen.size(), 6000u);  // three threads seeded apart never repeat each other
}

TEST(ConfigTest, FlagThenEnvThenDefault) {
  ::unsetenv("CAIRN_TRACKING_URI");
  ::unsetenv("MLFLOW_TRACKING_URI");
  EXPECT_EQ(ResolveTrackingUri(std::nullopt), "http://127.0.0.1:5000");
  ::setenv("MLFLOW_TRACKING_URI", "http://m:1", 1);
  EXPECT_EQ(ResolveTrackingUri(std::nullopt), "http://m:1");
  ::setenv("CAIRN_TRACKING_URI", "http://c:2", 1);
  EXPECT_EQ(ResolveTrackingUri(std::nullopt), "http://c:2");
  EXPECT_EQ(ResolveTrackingUri(std::string("http://f:3")), "http://f:3");
  ::unsetenv("CAIRN_TRACKING_URI");
  ::unsetenv("MLFLOW_TRACKING_URI");
}

}  // namespace
}  // namespace cairn
