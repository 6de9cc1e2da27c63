#include "data/config.h"

#include <gtest/gtest.h>

#include "data/data_test_util.h"

namespace cairn::data {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

TEST(DataConfig, ParsesEveryKey) {
  auto c = ParseDataConfig(
      "# comment\n"
      "remotes:\n"
      "  shared: /mnt/share/cache\n"
      "  server: http://mlops.internal:5000\n"
      "  f: file:///srv/cache\n"
      "default: shared\n"
      "jobs: 8\n"
      "cache: /fast/cache\n",
      "config.yaml");
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->remotes.size(), 3u);
  EXPECT_EQ(c->remotes.at("server"), "http://mlops.internal:5000");
  EXPECT_EQ(c->remotes.at("f"), "file:///srv/cache");
  EXPECT_EQ(c->default_remote, "shared");
  EXPECT_EQ(c->jobs, 8);
  EXPECT_EQ(c->cache_dir, "/fast/cache");
}

TEST(DataConfig, EmptyAndWorkspaceDefaultTextParse) {
  auto empty = ParseDataConfig("", "c.yaml");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->remotes.empty());
  auto braces = ParseDataConfig("# x\nremotes: {}\n", "c.yaml");
  ASSERT_TRUE(braces) << braces.error().ToString();
  EXPECT_TRUE(braces->remotes.empty());
  EXPECT_FALSE(braces->default_remote);
  EXPECT_EQ(braces->jobs, 0);
}

TEST(DataConfig, ErrorsNameFileAndLine) {
  auto unknown = ParseDataConfig("remotes: {}\njobs: 2\ncolour: red\n", "cfg.yaml");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(unknown.error().message().find("cfg.yaml:3: unknown key 'colour'"), std::string::npos)
      << unknown.error().message();

  auto dangling = ParseDataConfig("remotes:\n  a: /x\ndefault: b\n", "cfg.yaml");
  ASSERT_FALSE(dangling);
  EXPECT_NE(dangling.error().message().find("cfg.yaml:3: default 'b' names no remote"),
            std::string::npos)
      << dangling.error().message();

  auto scheme = ParseDataConfig("remotes:\n  a: s3://bucket/x\n", "cfg.yaml");
  ASSERT_FALSE(scheme);
  EXPECT_NE(scheme.error().message().find("cfg.yaml:2:"), std::string::npos);
  EXPECT_NE(scheme.error().message().find("s3://bucket/x"), std::string::npos);

  auto jobs = ParseDataConfig("jobs: many\n", "cfg.yaml");
  ASSERT_FALSE(jobs);
  EXPECT_NE(jobs.error().message().find("cfg.yaml:1: jobs must be"), std::string::npos);

  auto quoted = ParseDataConfig("jobs: \"4\"\n", "cfg.yaml");
  EXPECT_FALSE(quoted);

  auto name = ParseDataConfig("remotes:\n  .hidden: /x\n", "cfg.yaml");
  ASSERT_FALSE(name);
  EXPECT_NE(name.error().message().find("invalid remote name '.hidden'"), std::string::npos);

  auto list = ParseDataConfig("- a\n- b\n", "cfg.yaml");
  EXPECT_FALSE(list);
}

TEST(DataConfig, FormatIsCanonicalAndRoundTrips) {
  DataConfig c;
  c.remotes["zeta"] = "https://z.example:443";
  c.remotes["alpha"] = "/srv/a b";
  c.default_remote = "zeta";
  c.jobs = 3;
  c.cache_dir = "../cache";
  std::string text = FormatDataConfig(c);
  EXPECT_EQ(text,
            "# Cairn repository settings: commit this file.\n"
            "remotes:\n"
            "  alpha: \"/srv/a b\"\n"
            "  zeta: https://z.example:443\n"
            "default: zeta\n"
            "jobs: 3\n"
            "cache: \"../cache\"\n");
  auto back = ParseDataConfig(text, "c");
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(back->remotes, c.remotes);
  EXPECT_EQ(back->default_remote, c.default_remote);
  EXPECT_EQ(back->jobs, 3);
  EXPECT_EQ(back->cache_dir, c.cache_dir);
  EXPECT_EQ(FormatDataConfig(DataConfig{}),
            "# Cairn repository settings: commit this file.\nremotes: {}\n");
}

TEST(DataConfig, LoadAndSave) {
  TempDir t;
  Workspace ws{t.path()};
  auto missing = LoadDataConfig(ws);  // no .cairn at all
  ASSERT_TRUE(missing) << missing.error().ToString();
  EXPECT_TRUE(missing->remotes.empty());

  auto init = InitWorkspace(t.path());
  ASSERT_TRUE(init);
  auto fresh = LoadDataConfig(*init);
  ASSERT_TRUE(fresh) << fresh.error().ToString();
  EXPECT_TRUE(fresh->remotes.empty());

  DataConfig c;
  c.remotes["s"] = "/tmp/somewhere";
  c.default_remote = "s";
  ASSERT_TRUE(SaveDataConfig(*init, c));
  auto loaded = LoadDataConfig(*init);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->remotes.at("s"), "/tmp/somewhere");
  EXPECT_EQ(loaded->default_remote, "s");
  EXPECT_EQ(ReadFile(init->ConfigFile()), FormatDataConfig(c));

  WriteFile(init->ConfigFile(), "remotes: {}\nbogus: 1\n");
  auto bad = LoadDataConfig(*init);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("config.yaml:2:"), std::string::npos);
}

TEST(DataConfig, ResolveRemote) {
  DataConfig c;
  auto none = c.ResolveRemote("");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(none.error().message().find("cairn data remote add"), std::string::npos);

  c.remotes["a"] = "/a";
  c.remotes["b"] = "http://h:1";
  auto no_default = c.ResolveRemote("");
  ASSERT_FALSE(no_default);
  EXPECT_EQ(no_default.error().code(), ErrorCode::kInvalidArgument);

  c.default_remote = "b";
  auto def = c.ResolveRemote("");
  ASSERT_TRUE(def);
  EXPECT_EQ(def->first, "b");
  EXPECT_EQ(def->second, "http://h:1");
  auto named = c.ResolveRemote("a");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->second, "/a");
  auto unknown = c.ResolveRemote("zz");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(unknown.error().message().find("known: a, b"), std::string::npos);
}

TEST(DataConfig, NamesAndUrls) {
  EXPECT_TRUE(IsValidRemoteName("origin"));
  EXPECT_TRUE(IsValidRemoteName("my-remote_1.x"));
  EXPECT_FALSE(IsValidRemoteName(""));
  EXPECT_FALSE(IsValidRemoteName(".x"));
  EXPECT_FALSE(IsValidRemoteName("a/b"));
  EXPECT_FALSE(IsValidRemoteName("a b"));
  EXPECT_FALSE(IsValidRemoteName(std::string(65, 'a')));
  EXPECT_TRUE(IsValidRemoteName(std::string(64, 'a')));

  EXPECT_TRUE(ValidateRemoteUrl("/mnt/share"));
  EXPECT_TRUE(ValidateRemoteUrl("file:///mnt/share"));
  EXPECT_TRUE(ValidateRemoteUrl("http://localhost:5000"));
  EXPECT_TRUE(ValidateRemoteUrl("https://mlops.example.com/prefix"));
  EXPECT_TRUE(ValidateRemoteUrl("http://[::1]:8080"));
  EXPECT_FALSE(ValidateRemoteUrl("relative/path"));
  EXPECT_FALSE(ValidateRemoteUrl("file://relative"));
  EXPECT_FALSE(ValidateRemoteUrl("s3://bucket"));
  EXPECT_FALSE(ValidateRemoteUrl("http://"));
  EXPECT_FALSE(ValidateRemoteUrl("http://h:99999"));
  EXPECT_FALSE(ValidateRemoteUrl("http://h/x?q=1"));
  EXPECT_FALSE(ValidateRemoteUrl("http://u:p@h"));
  auto e = ValidateRemoteUrl("ftp://x");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("'ftp://x'"), std::string::npos);
  EXPECT_NE(e.error().message().find("http://host[:port]"), std::string::npos);
}

TEST(DataConfig, CacheDirFor) {
  Workspace ws{fs::path("/repo")};
  EXPECT_EQ(CacheDirFor(ws, DataConfig{}), "/repo/.cairn/cache");
  DataConfig rel;
  rel.cache_dir = "../shared-cache";
  EXPECT_EQ(CacheDirFor(ws, rel), "/shared-cache");
  DataConfig abs;
  abs.cache_dir = "/fast/c";
  EXPECT_EQ(CacheDirFor(ws, abs), "/fast/c");
}

}  // namespace
}  // namespace cairn::data
