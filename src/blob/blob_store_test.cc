#include "blob/blob_store.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <fcntl.h>

#include <csignal>
#include <mutex>
#include <thread>
#include <vector>

#include "blob/blob_test_util.h"
#include "blob/local/local_blob_store.h"
#include "core/hash.h"

namespace cairn::blob {
namespace {

using testing::CountFiles;
using testing::PathExists;
using testing::ReadFile;
using testing::ScratchDir;
using testing::StatOf;
using testing::WriteFile;

// sha256("hello")
constexpr char kHelloDigest[] = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

class LocalBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = LocalBlobStore::OpenAt(dir_ / "store");
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = std::move(*store);
  }
  std::string Objects() const { return dir_ / "store/objects"; }
  std::string Tmp() const { return dir_ / "store/tmp"; }

  ScratchDir dir_;
  std::unique_ptr<LocalBlobStore> store_;
};

TEST(DigestTest, ValidatesShape) {
  EXPECT_TRUE(IsValidDigest(kHelloDigest));
  EXPECT_FALSE(IsValidDigest(""));
  EXPECT_FALSE(IsValidDigest(std::string(kHelloDigest).substr(1)));
  std::string upper = kHelloDigest;
  upper[0] = 'A';
  EXPECT_FALSE(IsValidDigest(upper));
  std::string traversal = "../" + std::string(kHelloDigest).substr(3);
  EXPECT_FALSE(IsValidDigest(traversal));
  EXPECT_EQ(ValidateDigest("xyz").error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(LocalBlobStoreTest, PutBytesRoundTrip) {
  auto digest = store_->PutBytes("hello");
  ASSERT_TRUE(digest) << digest.error().ToString();
  EXPECT_EQ(*digest, kHelloDigest);
  EXPECT_EQ(*store_->Exists(*digest), true);
  EXPECT_EQ(*store_->Size(*digest), 5u);
  EXPECT_EQ(*store_->ReadAll(*digest), "hello");

  // Sharded layout, read-only object, nothing left in tmp/.
  std::string object = Objects() + "/2c/" + std::string(kHelloDigest).substr(2);
  EXPECT_EQ(*store_->Path(*digest), object);
  EXPECT_EQ(ReadFile(object), "hello");
  EXPECT_EQ(StatOf(object).st_mode & 0777, 0444u);
  EXPECT_EQ(CountFiles(Tmp()), 0);
}

TEST_F(LocalBlobStoreTest, EmptyObject) {
  auto digest = store_->PutBytes("");
  ASSERT_TRUE(digest);
  EXPECT_EQ(*digest, Sha256Hex(""));
  EXPECT_EQ(*store_->Size(*digest), 0u);
  EXPECT_EQ(*store_->ReadAll(*digest), "");
}

TEST_F(LocalBlobStoreTest, ReaderStreamsInChunks) {
  std::string content(300000, 'x');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
  auto digest = store_->PutBytes(content);
  ASSERT_TRUE(digest);
  auto reader = store_->Open(*digest);
  ASSERT_TRUE(reader);
  EXPECT_EQ((*reader)->size(), content.size());
  std::string got;
  char buf[4096];
  for (;;) {
    auto n = (*reader)->Read(buf, sizeof(buf));
    ASSERT_TRUE(n);
    if (*n == 0) break;
    got.append(buf, *n);
  }
  EXPECT_EQ(got, content);
}

TEST_F(LocalBlobStoreTest, PutFileCopiesAndKeepsSource) {
  std::string src = dir_ / "src.bin";
  WriteFile(src, "some model bytes");
  auto digest = store_->PutFile(src);
  ASSERT_TRUE(digest) << digest.error().ToString();
  EXPECT_EQ(*digest, Sha256Hex("some model bytes"));
  EXPECT_EQ(ReadFile(src), "some model bytes");
  EXPECT_NE(StatOf(src).st_ino, StatOf(store_->ObjectPath(*digest)).st_ino);  // a copy
  EXPECT_EQ(ReadFile(store_->ObjectPath(*digest)), "some model bytes");
}

TEST_F(LocalBlobStoreTest, SameContentTwiceIsOneObject) {
  std::string src = dir_ / "src.txt";
  WriteFile(src, "hello");
  auto a = store_->PutBytes("hello");
  auto b = store_->PutFile(src);
  auto c = store_->PutBytes("hello");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*b, *c);
  EXPECT_EQ(CountFiles(Objects()), 1);
  EXPECT_EQ(CountFiles(Tmp()), 0);
  ASSERT_TRUE(store_->PutBytes("other"));
  EXPECT_EQ(CountFiles(Objects()), 2);
}

TEST_F(LocalBlobStoreTest, TakeOnSameFilesystemLinksTheSourceInode) {
  std::string src = dir_ / "store/spool-file";  // same filesystem as objects/
  WriteFile(src, "spooled upload");
  ino_t inode = StatOf(src).st_ino;
  auto digest = store_->PutFileTake(src);
  ASSERT_TRUE(digest) << digest.error().ToString();
  EXPECT_FALSE(PathExists(src));
  struct stat st = StatOf(store_->ObjectPath(*digest));
  EXPECT_EQ(st.st_ino, inode);  // moved, not copied
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  EXPECT_EQ(*store_->ReadAll(*digest), "spooled upload");
}

TEST_F(LocalBlobStoreTest, TakeOfKnownContentDropsTheSource) {
  auto first = store_->PutBytes("dup");
  ASSERT_TRUE(first);
  ino_t object_inode = StatOf(store_->ObjectPath(*first)).st_ino;
  std::string src = dir_ / "store/another";
  WriteFile(src, "dup");
  auto second = store_->PutFileTake(src);
  ASSERT_TRUE(second);
  EXPECT_EQ(*first, *second);
  EXPECT_FALSE(PathExists(src));
  EXPECT_EQ(StatOf(store_->ObjectPath(*first)).st_ino, object_inode);  // untouched
  EXPECT_EQ(CountFiles(Objects()), 1);
}

TEST_F(LocalBlobStoreTest, MissingSourceIsNotFoundAndWritesNothing) {
  std::string src = dir_ / "gone.txt";
  WriteFile(src, "soon gone");
  ASSERT_EQ(::unlink(src.c_str()), 0);  // the source disappears before the put
  for (auto result : {store_->PutFile(src), store_->PutFileTake(src)}) {
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), ErrorCode::kNotFound);
    EXPECT_NE(result.error().message().find(src), std::string::npos);
  }
  EXPECT_EQ(CountFiles(Objects()), 0);
  EXPECT_EQ(CountFiles(Tmp()), 0);
}

TEST_F(LocalBlobStoreTest, DirectorySourceIsRefused) {
  auto result = store_->PutFile(dir_.path());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CountFiles(Objects()), 0);
}

// A write that fails half way (file size limit: EFBIG after 4 KiB) leaves no
// partial object and no temp file.
TEST_F(LocalBlobStoreTest, FailingWriteLeavesNoPartialObject) {
  std::string src = dir_ / "big.bin";
  WriteFile(src, std::string(256 * 1024, 'z'));
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto copied = store_->PutFile(src);
  auto bytes = store_->PutBytes(std::string(64 * 1024, 'q'));
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);

  ASSERT_FALSE(copied);
  EXPECT_EQ(copied.error().code(), ErrorCode::kResourceExhausted) << copied.error().ToString();
  ASSERT_FALSE(bytes);
  EXPECT_EQ(CountFiles(Objects()), 0);
  EXPECT_EQ(CountFiles(Tmp()), 0);
  EXPECT_EQ(ReadFile(src).size(), 256u * 1024);  // source untouched
  // And the store still works afterwards.
  EXPECT_TRUE(store_->PutFile(src));
}

TEST_F(LocalBlobStoreTest, InvalidDigestsAreRefusedEverywhere) {
  for (std::string bad : {std::string("../../etc/passwd"), std::string("abc"),
                          std::string(64, 'G'), std::string(kHelloDigest).substr(0, 63) + "/"}) {
    EXPECT_EQ(store_->Open(bad).error().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(store_->Exists(bad).error().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(store_->Size(bad).error().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(store_->Path(bad).error().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(store_->Delete(bad).error().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST_F(LocalBlobStoreTest, AbsentObjectIsNotFound) {
  EXPECT_EQ(*store_->Exists(kHelloDigest), false);
  EXPECT_EQ(store_->Open(kHelloDigest).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->Size(kHelloDigest).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->Path(kHelloDigest).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->Delete(kHelloDigest).error().code(), ErrorCode::kNotFound);
}

TEST_F(LocalBlobStoreTest, DeleteRemovesTheObject) {
  ASSERT_TRUE(store_->PutBytes("hello"));
  ASSERT_TRUE(store_->Delete(kHelloDigest));
  EXPECT_EQ(*store_->Exists(kHelloDigest), false);
  EXPECT_EQ(CountFiles(Objects()), 0);
}

TEST_F(LocalBlobStoreTest, ConcurrentPutsOfIdenticalContent) {
  std::string content(200000, 'c');
  constexpr int kThreads = 8;
  constexpr int kPerThread = 10;
  std::vector<std::string> digests(kThreads * kPerThread);
  std::vector<std::string> errors;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Result<std::string> r = InvalidArgument("unset");
        if (i % 3 == 0) {
          r = store_->PutBytes(content);
        } else {
          std::string src = dir_ / ("store/src-" + std::to_string(t) + "-" + std::to_string(i));
          WriteFile(src, content);
          r = (i % 3 == 1) ? store_->PutFileTake(src) : store_->PutFile(src);
        }
        std::lock_guard lock(mu);
        if (r) {
          digests[t * kPerThread + i] = *r;
        } else {
          errors.push_back(r.error().ToString());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(errors.empty()) << errors.front();
  for (const auto& d : digests) EXPECT_EQ(d, Sha256Hex(content));
  EXPECT_EQ(CountFiles(Objects()), 1);
  EXPECT_EQ(CountFiles(Tmp()), 0);
  EXPECT_EQ(*store_->ReadAll(Sha256Hex(content)), content);
}

TEST_F(LocalBlobStoreTest, OpenRemovesStaleTempFilesOnly) {
  std::string stale = Tmp() + "/put-stale";
  std::string fresh = Tmp() + "/put-fresh";
  WriteFile(stale, "left by a crash");
  WriteFile(fresh, "being written right now");
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = ::time(nullptr) - 3 * 24 * 3600;
  times[0].tv_nsec = times[1].tv_nsec = 0;
  ASSERT_EQ(::utimensat(AT_FDCWD, stale.c_str(), times, 0), 0);
  auto reopened = LocalBlobStore::OpenAt(dir_ / "store");
  ASSERT_TRUE(reopened);
  EXPECT_FALSE(PathExists(stale));
  EXPECT_TRUE(PathExists(fresh));
}

}  // namespace
}  // namespace cairn::blob
