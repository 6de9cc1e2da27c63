// `cairn data push|fetch|pull` run as a user runs them (the built binary,
// CAIRN_BINARY, in temporary git repositories): `data add` -> `data push` to
// a folder remote and to a live Cairn server (port 0) -> `git clone` ->
// `data pull` -> identical files; cairn.lock outs as roots; the errors.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "pipeline/lock.h"
#include "support/live_server.h"
#include "support/subprocess.h"
#include "support/temp_files.h"

namespace cairn::cli {
namespace {

namespace fs = std::filesystem;
using test::CommandOutcome;
using test::ReadFile;

void Write(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

class DataRemoteCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test::MakeTempDir("cairn-data-remote-cli");
    out_dir_ = root_ + "/out";
    fs::create_directories(out_dir_);
    origin_ = root_ + "/origin";
    clone_ = root_ + "/clone";
    fs::create_directories(origin_);
    files_ = {{"data/raw/a.csv", "id,v\n1,2\n"},
              {"data/raw/sub/b.bin", std::string(200000, 'q')},
              {"data/raw/sub/c.csv", "id,v\n1,2\n"},  // same bytes as a.csv
              {"model.bin", "weights v1"}};
    for (const auto& [path, bytes] : files_) Write(fs::path(origin_) / path, bytes);
    Git(origin_, "init -q && git config user.name t && git config user.email t@example.com");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // `cairn args...` with `dir` as the current folder.
  CommandOutcome Cairn(const std::string& dir, const std::vector<std::string>& args,
                       std::vector<std::string> env = {}) {
    std::vector<std::string> sh = {"-c", "cd \"$0\" && exec \"$@\"", dir, CAIRN_BINARY};
    sh.insert(sh.end(), args.begin(), args.end());
    return test::RunCliCommand("/bin/sh", sh, out_dir_, std::move(env));
  }
  // Runs `git <command>` (a shell line) in `dir`; fails the test on error.
  void Git(const std::string& dir, const std::string& command) {
    CommandOutcome o =
        test::RunCommand("/bin/sh", {"-c", "cd \"$0\" && git " + command, dir}, out_dir_);
    ASSERT_EQ(o.exit_code, 0) << "git " << command << ": " << o.err;
  }
  void ExpectOk(const CommandOutcome& o) { EXPECT_EQ(o.exit_code, 0) << o.out << o.err; }

  // data add, remote add, git commit in the origin.
  void TrackAndCommit(const std::string& remote_url) {
    ExpectOk(Cairn(origin_, {"data", "add", "data/raw", "model.bin"}));
    ExpectOk(Cairn(origin_, {"data", "remote", "add", "shared", remote_url, "--default"}));
    Git(origin_, "add -A && git commit -q -m v1");
  }
  void CloneAndExpectPull(const std::vector<std::string>& pull_args) {
    Git(root_, "clone -q origin clone");
    for (const auto& [path, bytes] : files_) ASSERT_FALSE(fs::exists(fs::path(clone_) / path));
    CommandOutcome pulled = Cairn(clone_, pull_args);
    ASSERT_EQ(pulled.exit_code, 0) << pulled.out << pulled.err;
    EXPECT_NE(pulled.out.find("fetched 4 objects"), std::string::npos) << pulled.out;
    EXPECT_NE(pulled.out.find("; 0 already in the cache"), std::string::npos) << pulled.out;
    EXPECT_NE(pulled.out.find("checked out 2 paths"), std::string::npos) << pulled.out;
    for (const auto& [path, bytes] : files_) {
      EXPECT_EQ(ReadFile(fs::path(clone_) / path), bytes) << path;
    }
  }

  std::string root_, out_dir_, origin_, clone_;
  std::map<std::string, std::string> files_;
};

TEST_F(DataRemoteCliTest, FolderRemoteRoundTrip) {
  std::string remote = root_ + "/remote";
  TrackAndCommit(remote);
  CommandOutcome pushed = Cairn(origin_, {"data", "push"});
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  // The manifest, a.csv (= c.csv), b.bin and model.bin; quiet when piped.
  EXPECT_TRUE(pushed.out.starts_with("pushed 4 objects (")) << pushed.out;
  EXPECT_NE(pushed.out.find(") to shared; 0 already there\n"), std::string::npos) << pushed.out;
  EXPECT_EQ(pushed.err, "");
  EXPECT_TRUE(fs::is_directory(remote + "/objects"));

  CommandOutcome again = Cairn(origin_, {"data", "push", "-j", "2"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "pushed 0 objects (0 B) to shared; 4 already there\n");

  CloneAndExpectPull({"data", "pull"});
  // Hard links to the cache by default: read-only.
  struct stat st {};
  ASSERT_EQ(::stat((fs::path(clone_) / "model.bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0222, 0u);

  // Pulling again fetches and writes nothing.
  CommandOutcome repull = Cairn(clone_, {"data", "pull"});
  ASSERT_EQ(repull.exit_code, 0) << repull.err;
  EXPECT_NE(repull.out.find("fetched 0 objects (0 B) from shared; 4 already in the cache"),
            std::string::npos)
      << repull.out;
  EXPECT_NE(repull.out.find("(0 files written)"), std::string::npos) << repull.out;
}

TEST_F(DataRemoteCliTest, ServerRemoteRoundTripWithCopies) {
  auto server = test::LiveServer::Start("cairn-data-remote-cli-server");
  ASSERT_TRUE(server) << server.error().ToString();
  TrackAndCommit((*server)->uri());
  CommandOutcome pushed = Cairn(origin_, {"data", "push", "--remote", "shared"});
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_TRUE(pushed.out.starts_with("pushed 4 objects (")) << pushed.out;
  EXPECT_TRUE(fs::is_directory((*server)->dir() + "/artifacts/data-objects/objects"));

  CloneAndExpectPull({"data", "pull", "--copy", "-j", "3"});
  struct stat st {};
  ASSERT_EQ(::stat((fs::path(clone_) / "model.bin").c_str(), &st), 0);
  EXPECT_NE(st.st_mode & 0200, 0u);  // --copy: writable
}

TEST_F(DataRemoteCliTest, FetchOfOneTargetFetchesOnlyItsObjects) {
  TrackAndCommit(root_ + "/remote");
  ExpectOk(Cairn(origin_, {"data", "push"}));
  Git(root_, "clone -q origin clone");
  CommandOutcome fetched = Cairn(clone_, {"data", "fetch", "model.bin"});
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_EQ(fetched.out, "fetched 1 object (10 B) from shared; 0 already in the cache\n");
  EXPECT_FALSE(fs::exists(fs::path(clone_) / "model.bin"));  // fetch does not check out
  CommandOutcome rest = Cairn(clone_, {"data", "fetch"});
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_TRUE(rest.out.starts_with("fetched 3 objects (")) << rest.out;
  EXPECT_NE(rest.out.find("; 1 already in the cache"), std::string::npos) << rest.out;
}

TEST_F(DataRemoteCliTest, PipelineLockOutsArePushedAndPulled) {
  // An out of a pipeline step: in the cache (via data add) and recorded only in cairn.lock.
  Write(fs::path(origin_) / "eval/score.json", "{\"auc\": 0.9}");
  ExpectOk(Cairn(origin_, {"data", "add", "eval/score.json"}));
  fs::remove(fs::path(origin_) / "eval/score.json.cairn");
  // Find the object just added (the only one in the cache so far).
  std::string digest;
  for (const auto& e : fs::recursive_directory_iterator(origin_ + "/.cairn/cache/objects")) {
    if (e.is_regular_file()) {
      digest = e.path().parent_path().filename().string() + e.path().filename().string();
    }
  }
  ASSERT_EQ(digest.size(), 64u);
  pipeline::LockFile lock;
  pipeline::LockedStep step;
  step.fingerprint = std::string(64, 'a');
  step.cmd = "python evaluate.py";
  step.outs.push_back(
      pipeline::LockedPath{"eval/score.json", data::PointerKind::kFile, digest, 12, std::nullopt});
  lock.steps["evaluate"] = step;
  ASSERT_TRUE(pipeline::WriteLockFile(origin_ + "/cairn.lock", lock));
  ExpectOk(Cairn(origin_, {"data", "remote", "add", "shared", root_ + "/remote", "--default"}));
  Git(origin_, "add .cairn cairn.lock && git commit -q -m lock");

  CommandOutcome pushed = Cairn(origin_, {"data", "push"});
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_EQ(pushed.out, "pushed 1 object (12 B) to shared; 0 already there\n");
  Git(root_, "clone -q origin clone");
  CommandOutcome pulled = Cairn(clone_, {"data", "pull"});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_NE(pulled.out.find("checked out 1 path (1 file written)"), std::string::npos)
      << pulled.out;
  EXPECT_EQ(ReadFile(fs::path(clone_) / "eval/score.json"), "{\"auc\": 0.9}");
}

TEST_F(DataRemoteCliTest, Errors) {
  ExpectOk(Cairn(origin_, {"data", "add", "model.bin"}));
  // No remote configured.
  CommandOutcome none = Cairn(origin_, {"data", "push"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_TRUE(none.err.starts_with("error: ")) << none.err;
  // An unknown remote name.
  ExpectOk(Cairn(origin_, {"data", "remote", "add", "shared", root_ + "/remote", "--default"}));
  CommandOutcome unknown = Cairn(origin_, {"data", "push", "-r", "nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("nope"), std::string::npos) << unknown.err;
  // Usage.
  EXPECT_EQ(Cairn(origin_, {"data", "push", "-j", "0"}).exit_code, 2);
  EXPECT_EQ(Cairn(origin_, {"data", "fetch", "--force"}).exit_code, 2);
  // An untracked target.
  CommandOutcome untracked = Cairn(origin_, {"data", "push", "nothing-here"});
  EXPECT_EQ(untracked.exit_code, 1);
  EXPECT_NE(untracked.err.find("nothing-here"), std::string::npos) << untracked.err;
  // Pulling what was never pushed names the path.
  Git(origin_, "add -A && git commit -q -m v1");
  Git(root_, "clone -q origin clone");
  CommandOutcome pulled = Cairn(clone_, {"data", "pull"});
  EXPECT_EQ(pulled.exit_code, 1);
  EXPECT_TRUE(pulled.err.starts_with("error: RESOURCE_DOES_NOT_EXIST: ")) << pulled.err;
  EXPECT_NE(pulled.err.find("model.bin"), std::string::npos) << pulled.err;
  // An unreachable server.
  ExpectOk(Cairn(origin_, {"data", "remote", "add", "down", "http://127.0.0.1:1"}));
  CommandOutcome down = Cairn(origin_, {"data", "push", "-r", "down"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_TRUE(down.err.starts_with("error: TEMPORARILY_UNAVAILABLE: ")) << down.err;
}

}  // namespace
}  // namespace cairn::cli
