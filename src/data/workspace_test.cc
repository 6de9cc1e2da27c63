#include "data/workspace.h"

#include <gtest/gtest.h>

#include "data/data_test_util.h"

namespace cairn::data {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;

TEST(FindWorkspace, NearestCairnFolderWins) {
  TempDir t;
  fs::create_directories(t.path() / ".git");
  fs::create_directories(t.path() / "proj/.cairn");
  fs::create_directories(t.path() / "proj/data/raw");
  auto ws = FindWorkspace(t.path() / "proj/data/raw");
  ASSERT_TRUE(ws) << ws.error().ToString();
  EXPECT_EQ(ws->root, t.path() / "proj");
}

TEST(FindWorkspace, CairnAboveBeatsNearerGit) {
  // .cairn/ anywhere upwards wins over .git/; .git/ is only the fallback.
  TempDir t;
  fs::create_directories(t.path() / ".cairn");
  fs::create_directories(t.path() / "sub/.git");
  auto ws = FindWorkspace(t.path() / "sub");
  ASSERT_TRUE(ws);
  EXPECT_EQ(ws->root, t.path());
}

TEST(FindWorkspace, FallsBackToGitFolderOrFile) {
  TempDir t;
  fs::create_directories(t.path() / "repo/.git");
  fs::create_directories(t.path() / "repo/a/b");
  auto ws = FindWorkspace(t.path() / "repo/a/b");
  ASSERT_TRUE(ws);
  EXPECT_EQ(ws->root, t.path() / "repo");
  // A worktree's .git is a file.
  testing::WriteFile(t.path() / "wt/.git", "gitdir: /elsewhere\n");
  fs::create_directories(t.path() / "wt/x");
  auto wt = FindWorkspace(t.path() / "wt/x");
  ASSERT_TRUE(wt);
  EXPECT_EQ(wt->root, t.path() / "wt");
}

TEST(FindWorkspace, NotFoundSaysWhatToDo) {
  TempDir t;
  fs::create_directories(t.path() / "plain");
  auto ws = FindWorkspace(t.path() / "plain");
  if (ws) GTEST_SKIP() << "a .git or .cairn exists above the temp folder: " << ws->root;
  EXPECT_EQ(ws.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(ws.error().message().find("no Cairn repository at or above"), std::string::npos);
  EXPECT_NE(ws.error().message().find("cairn data init"), std::string::npos);
}

TEST(InitWorkspace, CreatesLayoutAndIsIdempotent) {
  TempDir t;
  auto ws = InitWorkspace(t.path());
  ASSERT_TRUE(ws) << ws.error().ToString();
  EXPECT_EQ(ws->root, t.path());
  EXPECT_TRUE(fs::is_directory(t.path() / ".cairn/cache"));
  EXPECT_TRUE(fs::is_directory(t.path() / ".cairn/tmp"));
  EXPECT_EQ(ReadFile(t.path() / ".cairn/.gitignore"),
            "# Written by cairn: the cache, scratch files and step logs are not for git.\n"
            "/cache/\n/tmp/\n/logs\n");
  EXPECT_NE(ReadFile(t.path() / ".cairn/config.yaml").find("remotes: {}"), std::string::npos);
  // A user's edit survives a second init.
  testing::WriteFile(t.path() / ".cairn/config.yaml", "remotes: {origin: /mnt/x}\n");
  ASSERT_TRUE(InitWorkspace(t.path()));
  EXPECT_EQ(ReadFile(t.path() / ".cairn/config.yaml"), "remotes: {origin: /mnt/x}\n");
  auto found = FindWorkspace(t.path());
  ASSERT_TRUE(found);
  EXPECT_EQ(found->root, t.path());
  EXPECT_EQ(found->StatCacheFile(), t.path() / ".cairn/tmp/hashes.db");
}

TEST(InitWorkspace, RefusesWhenCairnIsAFile) {
  TempDir t;
  testing::WriteFile(t.path() / ".cairn", "x");
  auto ws = InitWorkspace(t.path());
  ASSERT_FALSE(ws);
  EXPECT_EQ(ws.error().code(), ErrorCode::kFailedPrecondition);
}

TEST(ToRepoPath, NormalisesRelativeAndAbsolute) {
  TempDir t;
  Workspace ws{t.path()};
  fs::path cwd = t.path() / "data";
  EXPECT_EQ(ToRepoPath(ws, cwd, "raw").value(), "data/raw");
  EXPECT_EQ(ToRepoPath(ws, cwd, "./raw/").value(), "data/raw");
  EXPECT_EQ(ToRepoPath(ws, cwd, "../models//m.bin").value(), "models/m.bin");
  EXPECT_EQ(ToRepoPath(ws, cwd, (t.path() / "a/b/../c").string()).value(), "a/c");
  EXPECT_EQ(ToRepoPath(ws, t.path(), "x").value(), "x");
}

TEST(ToRepoPath, RefusesOutsideEscapesRootAndCairn) {
  TempDir t;
  Workspace ws{t.path() / "repo"};
  fs::create_directories(ws.root);
  fs::path cwd = ws.root / "data";
  struct Case {
    const char* path;
    const char* fragment;
  } cases[] = {
      {"../../elsewhere", "is outside the repository"},
      {"/etc/passwd", "is outside the repository"},
      {"../../repo2/x", "is outside the repository"},
      {"..", "is the repository root"},
      {"../.cairn", "Cairn's own folder"},
      {"../.cairn/cache/x", "Cairn's own folder"},
      {"", "empty path"},
      {"../.git/config", "inside .git/"},
  };
  for (const auto& c : cases) {
    auto r = ToRepoPath(ws, cwd, c.path);
    ASSERT_FALSE(r) << c.path << " -> " << *r;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << c.path;
    EXPECT_NE(r.error().message().find(c.fragment), std::string::npos) << r.error().message();
  }
  // The message names the path as typed.
  EXPECT_NE(ToRepoPath(ws, cwd, "../../elsewhere").error().message().find("'../../elsewhere'"),
            std::string::npos);
}

TEST(ToRepoPath, ThroughSymlinkedParent) {
  TempDir t;
  fs::create_directories(t.path() / "repo/data");
  fs::create_directory_symlink(t.path() / "repo", t.path() / "link");
  Workspace ws{t.path() / "repo"};
  EXPECT_EQ(ToRepoPath(ws, t.path() / "link/data", "raw").value(), "data/raw");
}

TEST(ValidateRepoPath, AcceptsCleanRefusesOthers) {
  EXPECT_TRUE(ValidateRepoPath("data/raw"));
  EXPECT_TRUE(ValidateRepoPath("a"));
  EXPECT_TRUE(ValidateRepoPath("sub/.cairn"));  // only the root's .cairn is reserved
  for (const char* bad :
       {"", "/abs", "a//b", "a/./b", "a/../b", "..", "a/", ".cairn", ".git/HEAD", ".cairn/tmp"}) {
    auto s = ValidateRepoPath(bad);
    EXPECT_FALSE(s) << bad;
    if (!s) {
      EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
    }
  }
  EXPECT_TRUE(IsCleanRelativePath("a/b.c"));
  EXPECT_FALSE(IsCleanRelativePath("a/../b"));
}

}  // namespace
}  // namespace cairn::data
