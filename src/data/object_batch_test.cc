#include "data/object_batch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/hash.h"
#include "data/data_test_util.h"

namespace cairn::data {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

size_t FilesUnder(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

TEST(ObjectBatch, InstallsStagedFilesUnderTheirDigestAndKeepsExistingObjects) {
  TempDir t;
  ObjectBatch batch(t.path().string());
  ASSERT_TRUE(batch.EnsureLayout());
  const std::string a = Sha256Hex("alpha"), b = Sha256Hex("beta");
  // "beta" is already in the store (another process won): its object is kept.
  WriteFile(batch.ObjectPath(b), "beta");
  for (const auto& [digest, content] : {std::pair{a, "alpha"}, std::pair{b, "beta"}}) {
    auto temp = batch.TempPath(digest);
    ASSERT_TRUE(temp) << temp.error().ToString();
    EXPECT_EQ(fs::path(*temp).parent_path(), fs::path(batch.ObjectPath(digest)).parent_path());
    EXPECT_EQ(fs::path(*temp).filename().string().rfind(".put-", 0), 0u) << *temp;
    WriteFile(*temp, content);
    EXPECT_TRUE(batch.Stage(*temp, digest));
  }
  EXPECT_FALSE(batch.Stage(t.path() / "objects/x", a));  // staged once per digest
  EXPECT_TRUE(batch.Staged(a));
  EXPECT_EQ(batch.size(), 2u);
  EXPECT_FALSE(fs::exists(batch.ObjectPath(a)));  // nothing visible before Install
  ASSERT_TRUE(batch.Install(2));
  EXPECT_EQ(batch.installed(), 1u);
  EXPECT_EQ(batch.size(), 0u);
  EXPECT_EQ(ReadFile(batch.ObjectPath(a)), "alpha");
  EXPECT_EQ(ReadFile(batch.ObjectPath(b)), "beta");
  EXPECT_EQ(FilesUnder(t.path() / "objects"), 2u);  // no temp file left
}

TEST(ObjectBatch, DestroyingWithoutInstallRemovesTheTempFiles) {
  TempDir t;
  const std::string a = Sha256Hex("alpha");
  {
    ObjectBatch batch(t.path().string());
    ASSERT_TRUE(batch.EnsureLayout());
    auto temp = batch.TempPath(a);
    ASSERT_TRUE(temp);
    WriteFile(*temp, "alpha");
    ASSERT_TRUE(batch.Stage(*temp, a));
    EXPECT_EQ(FilesUnder(t.path() / "objects"), 1u);
  }  // an error path: Install never ran
  EXPECT_EQ(FilesUnder(t.path() / "objects"), 0u);
}

// Each durability step and new name, in order.
struct Steps {
  std::vector<std::pair<std::string, std::string>> log;
  void Attach(ObjectBatch& batch) {
    batch.set_trace([this](std::string_view step, const std::string& path) {
      log.emplace_back(std::string(step), path);
    });
  }
  // Index of the first entry (step, path); -1 when absent.
  int Find(std::string_view step, const std::string& path) const {
    for (size_t i = 0; i < log.size(); ++i) {
      if (log[i].first == step && log[i].second == path) return static_cast<int>(i);
    }
    return -1;
  }
  size_t Count(std::string_view step) const {
    size_t n = 0;
    for (const auto& [s, p] : log) n += s == step ? 1 : 0;
    return n;
  }
};

// A digest of `content` staged as a temp file in `batch`; returns the temp path.
std::string StageContent(ObjectBatch& batch, const std::string& content) {
  const std::string digest = Sha256Hex(content);
  auto temp = batch.TempPath(digest);
  EXPECT_TRUE(temp) << temp.error().ToString();
  WriteFile(*temp, content);
  EXPECT_TRUE(batch.Stage(*temp, digest));
  return *temp;
}

// An existing store (objects/ already there) whose batch traces its steps.
class TracedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(t.path() / "objects");
    ASSERT_TRUE(batch.EnsureLayout());
    steps.Attach(batch);
  }
  TempDir t;
  ObjectBatch batch{t.path().string()};
  Steps steps;
};

TEST_F(TracedStoreTest, SmallBatchFlushesEachFileBeforeItsNameAndTheShardFoldersAfter) {
  std::vector<std::pair<std::string, std::string>> staged;  // digest, temp
  for (const std::string content : {"one", "two", "three"}) {
    staged.emplace_back(Sha256Hex(content), StageContent(batch, content));
  }
  ASSERT_TRUE(batch.Install(2));
  EXPECT_EQ(batch.last_flush_mode(), ObjectBatch::FlushMode::kPerFile);
  EXPECT_EQ(batch.installed(), 3u);
  EXPECT_EQ(steps.Count("syncfs"), 0u);
  for (const auto& [digest, temp] : staged) {
    const std::string object = batch.ObjectPath(digest);
    const std::string shard = fs::path(object).parent_path().string();
    int flushed = steps.Find("fdatasync", temp);
    int renamed = steps.Find("rename", object);
    int dir_flushed = steps.Find("fsync-dir", shard);
    ASSERT_GE(flushed, 0) << temp;
    ASSERT_GE(renamed, 0) << object;
    ASSERT_GE(dir_flushed, 0) << shard;
    EXPECT_LT(flushed, renamed) << "data before name: " << object;
    EXPECT_LT(renamed, dir_flushed) << "the name flushed after it exists: " << object;
  }
  // The shard folders are new: their names in objects/ are flushed last.
  EXPECT_EQ(steps.log.back(),
            std::make_pair(std::string("fsync-dir"), (t.path() / "objects").string()));
  EXPECT_EQ(ReadFile(batch.ObjectPath(Sha256Hex("two"))), "two");
}

TEST(ObjectBatch, LargeBatchFlushesTheFileSystemOnceBeforeAndOnceAfterTheRenames) {
  TempDir t;
  ObjectBatch batch(t.path().string());
  ASSERT_TRUE(batch.EnsureLayout());
  Steps steps;
  steps.Attach(batch);
  const size_t n = ObjectBatch::kPerFileMaxObjects + 1;
  for (size_t i = 0; i < n; ++i) StageContent(batch, "object " + std::to_string(i));
  ASSERT_TRUE(batch.Install(2));
  EXPECT_EQ(batch.last_flush_mode(), ObjectBatch::FlushMode::kSyncFs);
  EXPECT_EQ(batch.installed(), n);
  ASSERT_EQ(steps.log.size(), n + 2);
  EXPECT_EQ(steps.log.front().first, "syncfs");
  EXPECT_EQ(steps.log.back().first, "syncfs");
  EXPECT_EQ(steps.Count("rename"), n);
  EXPECT_EQ(steps.Count("fdatasync"), 0u);
  EXPECT_EQ(FilesUnder(t.path() / "objects"), n);
}

TEST(ObjectBatch, ANewStoreIsFlushedWholeSoItsFoldersAreDurableToo) {
  TempDir t;
  ObjectBatch batch((t.path() / "new" / "store").string());
  ASSERT_TRUE(batch.EnsureLayout());  // creates new/store/objects
  Steps steps;
  steps.Attach(batch);
  StageContent(batch, "only");
  ASSERT_TRUE(batch.Install(1));
  EXPECT_EQ(batch.last_flush_mode(), ObjectBatch::FlushMode::kPerFile);
  ASSERT_FALSE(steps.log.empty());
  EXPECT_EQ(steps.log.front().first, "fdatasync");
  EXPECT_EQ(steps.log.back(),
            std::make_pair(std::string("syncfs"), (t.path() / "new/store/objects").string()));
}

TEST(ObjectBatch, ExistsSkipsTheLookupOnlyInShardFoldersItCreated) {
  TempDir t;
  const std::string a = Sha256Hex("alpha");
  // Another process installed "alpha" before this batch looked.
  WriteFile(t.path() / "objects" / a.substr(0, 2) / a.substr(2), "alpha");
  ObjectBatch batch(t.path().string());
  ASSERT_TRUE(batch.EnsureLayout());
  ASSERT_TRUE(batch.NewTemp(a));
  EXPECT_TRUE(batch.Exists(a).value());  // an existing shard folder is looked in
  // A digest in a shard folder this batch creates: nothing is there yet.
  std::string b;
  for (int i = 0; b.empty() || b.substr(0, 2) == a.substr(0, 2); ++i) {
    b = Sha256Hex("beta" + std::to_string(i));
  }
  auto temp = batch.NewTemp(b);
  ASSERT_TRUE(temp) << temp.error().ToString();
  EXPECT_EQ(fs::path(temp->path).parent_path(), fs::path(batch.ObjectPath(b)).parent_path());
  EXPECT_EQ(temp->name, fs::path(temp->path).filename().string());
  EXPECT_FALSE(batch.Exists(b).value());
  // The file made through the open shard folder is the temp path.
  int fd = ::openat(temp->dir_fd, temp->name.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0444);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "beta", 4), 4);
  ::close(fd);
  EXPECT_EQ(ReadFile(temp->path), "beta");
  ASSERT_TRUE(batch.Stage(temp->path, b));
  ASSERT_TRUE(batch.Install(1));
  // Installed: the shard folder is not empty any more, and Exists says so.
  EXPECT_TRUE(batch.Exists(b).value());
  EXPECT_EQ(ReadFile(batch.ObjectPath(b)), "beta");
  EXPECT_FALSE(batch.Exists(Sha256Hex("gamma")).value());
  EXPECT_FALSE(batch.Exists("zz"));  // not a digest
}

TEST_F(TracedStoreTest, LinkDurableNamesTheOpenFileAfterOneFlushAndInstallFlushesTheName) {
  const fs::path file = t.path() / "work" / "data.bin";
  WriteFile(file, "payload");
  const std::string digest = Sha256Hex("payload");
  auto first = batch.FlushOnce();
  ASSERT_TRUE(first) << first.error().ToString();
  auto again = batch.FlushOnce();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(steps.Count("syncfs"), 1u);  // one flush for the whole command
  int fd = ::open(file.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(batch.FlushFile(fd, file.string()));
  EXPECT_GE(steps.Find("fsync", file.string()), 0);
  auto linked = batch.LinkDurable(fd, digest);
  ASSERT_TRUE(linked) << linked.error().ToString();
  EXPECT_TRUE(*linked);
  auto twice = batch.LinkDurable(fd, digest);  // the name exists: kept, not replaced
  ASSERT_TRUE(twice);
  EXPECT_FALSE(*twice);
  ::close(fd);
  struct stat ws, obj;
  ASSERT_EQ(::stat(file.c_str(), &ws), 0);
  ASSERT_EQ(::stat(batch.ObjectPath(digest).c_str(), &obj), 0);
  EXPECT_EQ(ws.st_ino, obj.st_ino);  // exactly the inode that was opened
  EXPECT_EQ(batch.installed(), 1u);
  steps.log.clear();
  ASSERT_TRUE(batch.Install(1));  // nothing staged, but a name to flush
  // FlushOnce ran: the objects linked after it are covered by a second
  // file-system flush (their mode and link count changed after the first).
  EXPECT_EQ(batch.last_flush_mode(), ObjectBatch::FlushMode::kSyncFs);
  EXPECT_EQ(steps.log, (std::vector<std::pair<std::string, std::string>>{
                           {"syncfs", (t.path() / "objects").string()}}));
  EXPECT_EQ(steps.Count("rename"), 0u);
  steps.log.clear();
  ASSERT_TRUE(batch.Install(1));  // flushed already: nothing more
  EXPECT_TRUE(steps.log.empty());
}

TEST_F(TracedStoreTest, AFewFilesFlushedOneByOneAreLinkedAndTheirShardFoldersFlushed) {
  const fs::path file = t.path() / "work" / "one.bin";
  WriteFile(file, "one");
  const std::string digest = Sha256Hex("one");
  int fd = ::open(file.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(batch.FlushFile(fd, file.string()));
  auto linked = batch.LinkDurable(fd, digest);
  ::close(fd);
  ASSERT_TRUE(linked && *linked);
  ASSERT_TRUE(batch.Install(1));
  EXPECT_EQ(batch.last_flush_mode(), ObjectBatch::FlushMode::kPerFile);
  const std::string object = batch.ObjectPath(digest);
  const std::string shard = fs::path(object).parent_path().string();
  EXPECT_EQ(steps.log, (std::vector<std::pair<std::string, std::string>>{
                           {"fsync", file.string()},
                           {"link", object},
                           {"fsync-dir", shard},
                           {"fsync-dir", (t.path() / "objects").string()}}));
  EXPECT_EQ(ReadFile(object), "one");
}

TEST(ObjectBatch, DurableAfterFlushAllowsForTheTimestampGranularity) {
  const int64_t flushed = 1'700'000'000'123'456'789;
  EXPECT_TRUE(ObjectBatch::DurableAfterFlush(flushed - 1'000'000'000 + 7, flushed));
  EXPECT_TRUE(ObjectBatch::DurableAfterFlush(flushed - 100'000'000, flushed));
  // Within a coarse clock tick or two: maybe written after the flush started.
  EXPECT_FALSE(ObjectBatch::DurableAfterFlush(flushed - 1'000'000, flushed));
  EXPECT_FALSE(ObjectBatch::DurableAfterFlush(flushed, flushed));
  EXPECT_FALSE(ObjectBatch::DurableAfterFlush(flushed + 5'000'000, flushed));
  // A whole-second stamp may be a truncated one: 2 s of doubt.
  EXPECT_FALSE(ObjectBatch::DurableAfterFlush(1'699'999'999'000'000'000, flushed));
  EXPECT_TRUE(ObjectBatch::DurableAfterFlush(1'699'999'997'000'000'000, flushed));
  EXPECT_FALSE(ObjectBatch::DurableAfterFlush(0, flushed));  // unknown
}

TEST(ObjectBatch, EnsureLayoutMarksTheObjectsFolderAsTopOfHierarchy) {
  TempDir t;
  ObjectBatch batch(t.path().string());
  ASSERT_TRUE(batch.EnsureLayout());
  int fd = ::open((t.path() / "objects").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  int flags = 0;
  int rc = ::ioctl(fd, FS_IOC_GETFLAGS, &flags);
  ::close(fd);
  if (rc != 0) GTEST_SKIP() << "the test folder's file system has no inode flags";
  if (!MarkTopOfHierarchy(t.path().string())) {
    GTEST_SKIP() << "the test folder's file system has no FS_TOPDIR_FL";
  }
  EXPECT_NE(flags & FS_TOPDIR_FL, 0) << "objects/ should spread its shard folders";
}

}  // namespace
}  // namespace cairn::data
