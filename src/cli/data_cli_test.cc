// `cairn data init|add|status|checkout|gc|remote`: runs the built binary
// (CAIRN_BINARY) in temporary git repositories, as a user would, and asserts
// on what it prints, its exit code and the files it leaves.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/hash.h"
#include "data/pointer.h"
#include "data/repo_lock.h"
#include "data/workspace.h"
#include "pipeline/lock.h"
#include "pipeline/plan.h"
#include "support/subprocess.h"
#include "support/temp_files.h"

namespace cairn::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Outcome = test::CommandOutcome;

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string ReadFile(const fs::path& path) { return test::ReadFile(path); }

struct stat Stat(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

class DataCliTest : public testing::Test {
 protected:
  void SetUp() override {
    tmp_ = test::MakeTempDir("cairn-data-cli");
    repo_ = tmp_ + "/repo";
    out_dir_ = tmp_ + "/out";
    fs::create_directories(repo_);
    fs::create_directories(out_dir_);
    Outcome git = Shell("git init -q && git config user.name t && git config user.email t@e");
    ASSERT_EQ(git.exit_code, 0) << git.err;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }

  Outcome Shell(const std::string& script, const std::string& cwd = "") {
    return test::RunCommand("/bin/sh", {"-c", "cd \"$0\" && " + script, cwd.empty() ? repo_ : cwd},
                            out_dir_);
  }

  // `cairn args...` run from `cwd` (default: the repository root).
  Outcome Cairn(const std::vector<std::string>& args, const std::string& cwd = "") {
    std::vector<std::string> argv = {"-c", "cd \"$1\" && shift && exec \"$@\"", "sh",
                                     cwd.empty() ? repo_ : cwd, CAIRN_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::RunCliCommand("/bin/sh", argv, out_dir_);
  }

  // Writes a file and backdates it past the stat cache's racy window.
  void Put(const std::string& rel, const std::string& text) {
    WriteFile(repo_ + "/" + rel, text);
    Age(rel);
  }
  void Age(const std::string& rel) {
    ASSERT_EQ(Shell("touch -h -d '1 minute ago' '" + rel + "'").exit_code, 0);
  }
  // Replaces a tracked (maybe hard-linked, read-only) file without writing
  // through the link into the cache.
  void Replace(const std::string& rel, const std::string& text) {
    fs::remove(repo_ + "/" + rel);
    Put(rel, text);
  }
  std::string Object(const std::string& digest) const {
    return repo_ + "/.cairn/cache/objects/" + digest.substr(0, 2) + "/" + digest.substr(2);
  }

  std::string tmp_, repo_, out_dir_;
};

TEST_F(DataCliTest, OutsideAnyRepositorySaysHowToMakeOne) {
  fs::create_directories(tmp_ + "/plain");
  if (data::FindWorkspace(tmp_ + "/plain")) GTEST_SKIP() << "a repository exists above " << tmp_;
  Outcome o = Cairn({"data", "status"}, tmp_ + "/plain");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("error: "), std::string::npos);
  EXPECT_NE(o.err.find("git init"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("cairn data init"), std::string::npos) << o.err;

  Outcome init = Cairn({"data", "init"}, tmp_ + "/plain");
  EXPECT_EQ(init.exit_code, 0) << init.err;
  EXPECT_TRUE(fs::exists(tmp_ + "/plain/.cairn/config.yaml"));
}

TEST_F(DataCliTest, InitAtTheGitRootIsIdempotent) {
  fs::create_directories(repo_ + "/sub/dir");
  Outcome o = Cairn({"data", "init"}, repo_ + "/sub/dir");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out.rfind("Initialized Cairn data repository in " + repo_ + "/.cairn\n", 0), 0u)
      << o.out;
  EXPECT_TRUE(fs::exists(repo_ + "/.cairn/.gitignore"));
  EXPECT_FALSE(fs::exists(repo_ + "/sub/dir/.cairn"));
  WriteFile(repo_ + "/.cairn/config.yaml", "remotes: {}\njobs: 2\n");
  Outcome again = Cairn({"data", "init"});
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("already initialized"), std::string::npos);
  EXPECT_EQ(ReadFile(repo_ + "/.cairn/config.yaml"), "remotes: {}\njobs: 2\n");
}

TEST_F(DataCliTest, AddFolderWritesPointerAndGitignoreThenIsUnchanged) {
  Put("data/raw/a.csv", "1,2\n");
  Put("data/raw/b.csv", "3,4\n");
  Outcome o = Cairn({"data", "add", "data/raw"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "added data/raw (dir, 2 files, 8 B) -> data/raw.cairn\n");
  auto pointer = data::ReadPointer(repo_ + "/data/raw.cairn");
  ASSERT_TRUE(pointer) << pointer.error().message();
  EXPECT_EQ(pointer->path, "raw");
  EXPECT_EQ(pointer->files, 2u);
  EXPECT_EQ(ReadFile(repo_ + "/data/.gitignore"), "/raw\n");
  // Hard links into the cache, read-only.
  struct stat ws = Stat(repo_ + "/data/raw/a.csv");
  EXPECT_EQ(ws.st_ino, Stat(Object(Sha256Hex("1,2\n"))).st_ino);
  EXPECT_EQ(ws.st_mode & 0777, 0444u);
  // git sees the pointer, not the data.
  Outcome git = Shell("git status --porcelain --untracked-files=all");
  EXPECT_NE(git.out.find("data/raw.cairn"), std::string::npos) << git.out;
  EXPECT_EQ(git.out.find("data/raw/a.csv"), std::string::npos) << git.out;

  struct stat before = Stat(repo_ + "/data/raw.cairn");
  Outcome again = Cairn({"data", "add", "raw/"}, repo_ + "/data");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "unchanged data/raw (dir, 2 files, 8 B)\n");
  struct stat after = Stat(repo_ + "/data/raw.cairn");
  EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_EQ(ReadFile(repo_ + "/data/.gitignore"), "/raw\n");
}

TEST_F(DataCliTest, AddCopyLeavesWritableFileAndKeepsGitignoreLines) {
  Put("model.bin", "weights");
  WriteFile(repo_ + "/.gitignore", "*.log\n");
  Outcome o = Cairn({"data", "add", "--copy", "model.bin"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "added model.bin (file, 7 B) -> model.bin.cairn\n");
  struct stat ws = Stat(repo_ + "/model.bin");
  EXPECT_NE(ws.st_ino, Stat(Object(Sha256Hex("weights"))).st_ino);
  EXPECT_EQ(ws.st_mode & 0777, 0644u);
  EXPECT_EQ(ReadFile(repo_ + "/.gitignore"), "*.log\n/model.bin\n");
}

TEST_F(DataCliTest, AddRefusesBadPathsAndWritesNothingOnFailure) {
  Put("d/good.csv", "ok");
  ASSERT_EQ(::symlink("good.csv", (repo_ + "/d/alias").c_str()), 0);
  Outcome sym = Cairn({"data", "add", "d"});
  EXPECT_EQ(sym.exit_code, 1);
  EXPECT_NE(sym.err.find("alias"), std::string::npos) << sym.err;
  EXPECT_FALSE(fs::exists(repo_ + "/d.cairn"));
  EXPECT_FALSE(fs::exists(repo_ + "/.gitignore"));

  fs::remove(repo_ + "/d/alias");
  ASSERT_EQ(::mkfifo((repo_ + "/d/fifo").c_str(), 0644), 0);
  Outcome fifo = Cairn({"data", "add", "d"});
  EXPECT_EQ(fifo.exit_code, 1);
  EXPECT_NE(fifo.err.find("fifo"), std::string::npos) << fifo.err;
  EXPECT_FALSE(fs::exists(repo_ + "/d.cairn"));
  EXPECT_FALSE(fs::exists(repo_ + "/.gitignore"));

  WriteFile(tmp_ + "/outside.txt", "x");
  Outcome outside = Cairn({"data", "add", "../outside.txt"});
  EXPECT_EQ(outside.exit_code, 1);
  EXPECT_NE(outside.err.find("outside.txt"), std::string::npos) << outside.err;
  for (const char* bad : {".git", ".cairn", ".cairn/config.yaml"}) {
    Outcome o = Cairn({"data", "add", bad});
    EXPECT_EQ(o.exit_code, 1) << bad;
    EXPECT_NE(o.err.find("error: "), std::string::npos) << bad;
  }
  Outcome missing = Cairn({"data", "add", "nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("'nope' does not exist"), std::string::npos) << missing.err;

  Outcome usage = Cairn({"data", "add"});
  EXPECT_EQ(usage.exit_code, 2);
}

TEST_F(DataCliTest, StatusReportsStatesAndExitCode) {
  Put("u.txt", "u");
  Put("m.txt", "m");
  Put("gone.txt", "g");
  ASSERT_EQ(Cairn({"data", "add", "u.txt", "m.txt", "gone.txt"}).exit_code, 0);
  Outcome clean = Cairn({"data", "status", "--exit-code"});
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_NE(clean.out.find("3 paths: 3 unchanged, 0 modified, 0 missing, 0 not in cache"),
            std::string::npos)
      << clean.out;

  Replace("m.txt", "changed");
  fs::remove(repo_ + "/gone.txt");
  fs::remove(Object(Sha256Hex("u")));
  Outcome o = Cairn({"data", "status"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("gone.txt  missing"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("m.txt     modified"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("not in cache"), std::string::npos) << o.out;
  EXPECT_EQ(Cairn({"data", "status", "--exit-code"}).exit_code, 1);

  Outcome j = Cairn({"data", "status", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  json doc = json::parse(j.out);
  EXPECT_FALSE(doc["clean"].get<bool>());
  ASSERT_EQ(doc["paths"].size(), 3u);
  EXPECT_EQ(doc["paths"][0]["path"], "gone.txt");
  EXPECT_EQ(doc["paths"][0]["workspace"], "missing");
  EXPECT_EQ(doc["paths"][1]["workspace"], "modified");
  EXPECT_EQ(doc["paths"][2]["path"], "u.txt");
  EXPECT_EQ(doc["paths"][2]["workspace"], "unchanged");
  EXPECT_FALSE(doc["paths"][2]["in_cache"].get<bool>());
  EXPECT_EQ(doc["paths"][2]["digest"], "sha256:" + Sha256Hex("u"));
  EXPECT_EQ(doc["paths"][2]["pointer"], "u.txt.cairn");

  fs::create_directories(repo_ + "/sub");
  Outcome dot = Cairn({"data", "status", "--json", ".."}, repo_ + "/sub");
  ASSERT_EQ(dot.exit_code, 0) << dot.err;
  EXPECT_EQ(json::parse(dot.out)["paths"].size(), 3u);
  Outcome one = Cairn({"data", "status", "--json", "--exit-code", "m.txt"});
  EXPECT_EQ(one.exit_code, 1);
  EXPECT_EQ(json::parse(one.out)["paths"].size(), 1u);
  Outcome unknown = Cairn({"data", "status", "nothing"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("'nothing' is not tracked"), std::string::npos) << unknown.err;
}

TEST_F(DataCliTest, StatusUsesTheStatCache) {
  for (int i = 0; i < 200; ++i) Put("many/f" + std::to_string(i), "value " + std::to_string(i));
  ASSERT_EQ(Cairn({"data", "add", "--copy", "many"}).exit_code, 0);
  // Same size, inode and mtime, other bytes: only a hash would notice.
  ASSERT_EQ(Shell("touch -r many/f7 ../mtime-ref && "
                  "printf 'VALUE 7' | dd of=many/f7 conv=notrunc status=none && "
                  "touch -r ../mtime-ref many/f7")
                .exit_code,
            0);
  ASSERT_EQ(ReadFile(repo_ + "/many/f7"), "VALUE 7");
  Outcome o = Cairn({"data", "status", "--json"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(json::parse(o.out)["paths"][0]["workspace"], "unchanged");
  // A real change (new mtime) is seen.
  ASSERT_EQ(Shell("touch many/f7").exit_code, 0);
  Outcome changed = Cairn({"data", "status", "--json"});
  EXPECT_EQ(json::parse(changed.out)["paths"][0]["workspace"], "modified");
}

TEST_F(DataCliTest, CheckoutRestoresAndProtectsWork) {
  Put("d/a.txt", "A");
  Put("d/b.txt", "B");
  ASSERT_EQ(Cairn({"data", "add", "d"}).exit_code, 0);

  Outcome noop = Cairn({"data", "checkout", "."});
  ASSERT_EQ(noop.exit_code, 0) << noop.err;
  EXPECT_EQ(noop.out, "unchanged d\n");

  fs::remove(repo_ + "/d/a.txt");
  Outcome restored = Cairn({"data", "checkout", "d"});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_EQ(restored.out, "restored d (1 of 2 files written)\n");
  EXPECT_EQ(ReadFile(repo_ + "/d/a.txt"), "A");

  Replace("d/b.txt", "my work");
  Outcome refused = Cairn({"data", "checkout"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("b.txt"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  EXPECT_EQ(ReadFile(repo_ + "/d/b.txt"), "my work");

  Put("d/extra.txt", "x");
  Outcome extra = Cairn({"data", "checkout", "d.cairn"});
  EXPECT_EQ(extra.exit_code, 1);
  EXPECT_NE(extra.err.find("extra.txt"), std::string::npos) << extra.err;
  EXPECT_TRUE(fs::exists(repo_ + "/d/extra.txt"));

  Outcome forced = Cairn({"data", "checkout", "--force", "--copy"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(forced.out, "restored d (1 of 2 files written, 1 removed)\n");
  EXPECT_EQ(ReadFile(repo_ + "/d/b.txt"), "B");
  EXPECT_FALSE(fs::exists(repo_ + "/d/extra.txt"));
  EXPECT_EQ(Stat(repo_ + "/d/b.txt").st_mode & 0777, 0644u);
  EXPECT_EQ(Cairn({"data", "status", "--exit-code"}).exit_code, 0);
}

TEST_F(DataCliTest, GcKeepsPointersAndLockOutsAndHonoursDryRun) {
  Put("d/v.txt", "version 1");
  ASSERT_EQ(Cairn({"data", "add", "d"}).exit_code, 0);
  Replace("d/v.txt", "version 2");
  ASSERT_EQ(Cairn({"data", "add", "d"}).exit_code, 0);
  // A pipeline out recorded only in cairn.lock.
  Put("model.bin", "model bytes");
  ASSERT_EQ(Cairn({"data", "add", "model.bin"}).exit_code, 0);
  auto model = data::ReadPointer(repo_ + "/model.bin.cairn");
  ASSERT_TRUE(model);
  fs::remove(repo_ + "/model.bin.cairn");
  pipeline::LockFile lock;
  pipeline::LockedStep step;
  step.fingerprint = std::string(64, 'f');
  step.cmd = "python train.py";
  step.outs.push_back(pipeline::FromPointer("model.bin", *model));
  lock.steps["train"] = step;
  ASSERT_TRUE(pipeline::WriteLockFile(repo_ + "/cairn.lock", lock));

  Outcome dry = Cairn({"data", "gc", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(dry.out.rfind("would remove 2 objects", 0), 0u) << dry.out;
  EXPECT_TRUE(fs::exists(Object(Sha256Hex("version 1"))));

  Outcome gc = Cairn({"data", "gc"});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_EQ(gc.out.rfind("removed 2 objects", 0), 0u) << gc.out;
  EXPECT_NE(gc.out.find("kept 3 objects"), std::string::npos) << gc.out;
  EXPECT_FALSE(fs::exists(Object(Sha256Hex("version 1"))));
  EXPECT_TRUE(fs::exists(Object(Sha256Hex("version 2"))));
  EXPECT_TRUE(fs::exists(Object(Sha256Hex("model bytes"))));
  EXPECT_EQ(Cairn({"data", "status", "--exit-code"}).exit_code, 0);
}

TEST_F(DataCliTest, GcRemovesRunCacheEntriesWhoseObjectsItRemoved) {
  Put("model.bin", "model v1");
  ASSERT_EQ(Cairn({"data", "add", "model.bin"}).exit_code, 0);
  auto v1 = data::ReadPointer(repo_ + "/model.bin.cairn");
  ASSERT_TRUE(v1);
  Replace("model.bin", "model v2");
  ASSERT_EQ(Cairn({"data", "add", "model.bin"}).exit_code, 0);
  auto v2 = data::ReadPointer(repo_ + "/model.bin.cairn");
  ASSERT_TRUE(v2);
  // Two runs of a step, as the runner records them: v1's objects are about to go.
  pipeline::RunCache runs(repo_ + "/.cairn/cache/runs");
  const std::string fp1(64, '1'), fp2(64, '2');
  ASSERT_TRUE(runs.Record(fp1, {.step = "train",
                                .created_ms = 1,
                                .outs = {pipeline::FromPointer("model.bin", *v1)},
                                .metrics = {}}));
  ASSERT_TRUE(runs.Record(fp2, {.step = "train",
                                .created_ms = 2,
                                .outs = {pipeline::FromPointer("model.bin", *v2)},
                                .metrics = {}}));

  Outcome dry = Cairn({"data", "gc", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(dry.out.rfind("would remove 1 object (8 B), 1 run cache entry and 0 temp files", 0), 0u)
      << dry.out;
  EXPECT_TRUE(runs.Lookup(fp1).value().has_value());

  Outcome gc = Cairn({"data", "gc"});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_EQ(gc.out.rfind("removed 1 object (8 B), 1 run cache entry and 0 temp files", 0), 0u)
      << gc.out;
  auto gone = runs.Lookup(fp1);
  ASSERT_TRUE(gone) << gone.error().ToString();
  EXPECT_FALSE(gone->has_value());
  auto kept = runs.Lookup(fp2);
  ASSERT_TRUE(kept) << kept.error().ToString();
  ASSERT_TRUE(kept->has_value());
  EXPECT_EQ((*kept)->outs[0].digest, Sha256Hex("model v2"));

  Outcome again = Cairn({"data", "gc"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("0 run cache entries"), std::string::npos) << again.out;
}

TEST_F(DataCliTest, RemoteCommandsEditTheConfig) {
  Outcome add = Cairn({"data", "remote", "add", "store", tmp_ + "/remote", "--default"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_EQ(add.out, "added remote store -> " + tmp_ + "/remote (default)\n");
  fs::create_directories(repo_ + "/sub");
  Outcome rel = Cairn({"data", "remote", "add", "rel", "../share"}, repo_ + "/sub");
  ASSERT_EQ(rel.exit_code, 0) << rel.err;
  ASSERT_EQ(Cairn({"data", "remote", "add", "srv", "http://127.0.0.1:5000"}).exit_code, 0);

  Outcome list = Cairn({"data", "remote", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json doc = json::parse(list.out);
  EXPECT_EQ(doc["default"], "store");
  ASSERT_EQ(doc["remotes"].size(), 3u);
  EXPECT_EQ(doc["remotes"][0]["name"], "rel");
  EXPECT_EQ(doc["remotes"][0]["url"], repo_ + "/share");
  EXPECT_EQ(doc["remotes"][2]["name"], "store");
  EXPECT_TRUE(doc["remotes"][2]["default"].get<bool>());

  Outcome table = Cairn({"data", "remote", "list"});
  EXPECT_NE(table.out.find("srv    http://127.0.0.1:5000"), std::string::npos) << table.out;

  Outcome dup = Cairn({"data", "remote", "add", "store", "/elsewhere"});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_NE(dup.err.find("already exists"), std::string::npos);
  Outcome bad_url = Cairn({"data", "remote", "add", "x", "s3://bucket"});
  EXPECT_EQ(bad_url.exit_code, 1);
  EXPECT_NE(bad_url.err.find("s3://bucket"), std::string::npos);
  Outcome bad_name = Cairn({"data", "remote", "add", ".x", "/y"});
  EXPECT_EQ(bad_name.exit_code, 1);
  Outcome unknown = Cairn({"data", "remote", "default", "nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("known: rel, srv, store"), std::string::npos) << unknown.err;

  ASSERT_EQ(Cairn({"data", "remote", "default", "srv"}).exit_code, 0);
  Outcome removed = Cairn({"data", "remote", "remove", "srv"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(removed.out, "removed remote srv (it was the default)\n");
  std::string config = ReadFile(repo_ + "/.cairn/config.yaml");
  EXPECT_EQ(config, "# Cairn repository settings: commit this file.\nremotes:\n  rel: " + repo_ +
                        "/share\n  store: " + tmp_ + "/remote\n");
  EXPECT_EQ(Cairn({"data", "remote", "remove", "srv"}).exit_code, 1);
}

TEST_F(DataCliTest, WritersRefuseALockedRepository) {
  Put("f.txt", "f");
  auto ws = data::InitWorkspace(repo_);
  ASSERT_TRUE(ws);
  auto lock = data::RepoLock::Acquire(*ws, "cairn repro", false);
  ASSERT_TRUE(lock) << lock.error().message();
  Outcome o = Cairn({"data", "add", "--no-wait", "f.txt"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("locked by pid " + std::to_string(::getpid()) + " (cairn repro)"),
            std::string::npos)
      << o.err;
  EXPECT_FALSE(fs::exists(repo_ + "/f.txt.cairn"));
  // Readers do not take the lock.
  EXPECT_EQ(Cairn({"data", "status"}).exit_code, 0);
  lock->reset();
  EXPECT_EQ(Cairn({"data", "add", "--no-wait", "f.txt"}).exit_code, 0);
}

// Every regular file under `dir` (recursively), by path relative to it.
std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Asserts that every object under <root>/objects holds the bytes its name
// says, and returns how many there are.
size_t VerifyObjects(const std::string& root) {
  size_t n = 0;
  for (const std::string& rel : FilesUnder(root + "/objects")) {
    std::string digest = rel.substr(0, 2) + rel.substr(3);
    EXPECT_EQ(Sha256Hex(ReadFile(root + "/objects/" + rel)), digest) << "corrupt object " << rel;
    ++n;
  }
  return n;
}

// Writes fail with EFBIG past `bytes` (RLIMIT_FSIZE, SIGXFSZ ignored): a
// full disk as far as the command can tell, without root or a mount.
std::string WithFileSizeLimit(size_t bytes, const std::string& command) {
  return "trap '' XFSZ; exec prlimit --fsize=" + std::to_string(bytes) + " " + command;
}

TEST_F(DataCliTest, FullDiskDuringAddLeavesTheCacheConsistentAndARetryWorks) {
  if (Shell("command -v prlimit").exit_code != 0) GTEST_SKIP() << "prlimit (util-linux) missing";
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  Put("data/big.bin", big);
  Put("data/small.txt", "small\n");
  ASSERT_EQ(Cairn({"data", "init"}).exit_code, 0);

  // --copy writes every object's bytes into the cache; the 1 MiB one cannot fit.
  Outcome full =
      Shell(WithFileSizeLimit(256 << 10, std::string(CAIRN_BINARY) + " data add --copy data"));
  EXPECT_EQ(full.exit_code, 1) << full.out << full.err;
  EXPECT_NE(full.err.find("error: RESOURCE_EXHAUSTED: adding 'data': out of disk space"),
            std::string::npos)
      << full.err;
  EXPECT_NE(full.err.find("File too large"), std::string::npos) << full.err;
  EXPECT_NE(full.err.find("free space and run the command again"), std::string::npos) << full.err;
  // Nothing recorded, no object (partial or not) and no temp file left behind.
  EXPECT_FALSE(fs::exists(repo_ + "/data.cairn"));
  EXPECT_EQ(VerifyObjects(repo_ + "/.cairn/cache"), 0u);
  EXPECT_EQ(FilesUnder(repo_ + "/.cairn/cache/tmp"), std::vector<std::string>{});
  EXPECT_EQ(ReadFile(repo_ + "/data/big.bin"), big);  // the workspace is untouched

  // The lock was released (--no-wait fails on a held lock), and with space back
  // the same command succeeds.
  Outcome retry = Cairn({"data", "add", "--copy", "--no-wait", "data"});
  ASSERT_EQ(retry.exit_code, 0) << retry.err;
  EXPECT_EQ(retry.out, "added data (dir, 2 files, 1.0 MiB) -> data.cairn\n");
  EXPECT_EQ(VerifyObjects(repo_ + "/.cairn/cache"), 3u);  // two files and the manifest
  EXPECT_TRUE(fs::exists(Object(Sha256Hex(big))));
}

TEST_F(DataCliTest, FullDiskDuringPushLeavesTheRemoteConsistentAndARetryWorks) {
  if (Shell("command -v prlimit").exit_code != 0) GTEST_SKIP() << "prlimit (util-linux) missing";
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 40503u) >> 7);
  Put("data/big.bin", big);
  Put("data/small.txt", "small\n");
  ASSERT_EQ(Cairn({"data", "add", "data"}).exit_code, 0);
  const std::string remote = tmp_ + "/remote";
  ASSERT_EQ(Cairn({"data", "remote", "add", "store", remote, "--default"}).exit_code, 0);

  Outcome full = Shell(WithFileSizeLimit(256 << 10, std::string(CAIRN_BINARY) + " data push"));
  EXPECT_EQ(full.exit_code, 1) << full.out << full.err;
  EXPECT_NE(full.err.find("error: RESOURCE_EXHAUSTED: pushing object " + Sha256Hex(big)),
            std::string::npos)
      << full.err;
  EXPECT_NE(full.err.find("File too large"), std::string::npos) << full.err;
  // What was complete (at most the small file) is installed, nothing is
  // partial, the big object and the manifest are absent, no temp file stays.
  size_t before_retry = VerifyObjects(remote);
  EXPECT_LE(before_retry, 1u);
  EXPECT_FALSE(fs::exists(remote + "/objects/" + Sha256Hex(big).substr(0, 2) + "/" +
                          Sha256Hex(big).substr(2)));
  EXPECT_EQ(FilesUnder(remote + "/tmp"), std::vector<std::string>{});

  Outcome retry = Cairn({"data", "push"});
  ASSERT_EQ(retry.exit_code, 0) << retry.err;
  EXPECT_EQ(retry.out.rfind("pushed " + std::to_string(3 - before_retry) + " objects", 0), 0u)
      << retry.out;
  EXPECT_EQ(VerifyObjects(remote), 3u);
}

TEST_F(DataCliTest, ProgressIsDrawnOnlyWhenAskedOrOnATerminal) {
  for (int i = 0; i < 50; ++i) Put("data/f" + std::to_string(i), std::to_string(i));
  // Forced (as on a terminal, without its delay): the bar reaches stderr.
  Outcome forced = Shell("CAIRN_PROGRESS=always " + std::string(CAIRN_BINARY) + " data add data");
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(forced.err.find("\r\033[Kadding  "), std::string::npos) << forced.err;
  EXPECT_NE(forced.err.find(" files  "), std::string::npos) << forced.err;
  EXPECT_EQ(forced.out, "added data (dir, 50 files, 90 B) -> data.cairn\n");  // stdout stays clean
  // Piped, as every command here is: not one byte of progress.
  Replace("data/f0", "changed");
  Outcome piped = Cairn({"data", "add", "data"});
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.err, "");
  Outcome status = Cairn({"data", "checkout", "--force", "data"});
  EXPECT_EQ(status.err, "");
}

}  // namespace
}  // namespace cairn::cli
