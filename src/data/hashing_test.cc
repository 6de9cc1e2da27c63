#include "data/hashing.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

#include "core/hash.h"
#include "data/data_test_util.h"

namespace cairn::data {
namespace {

namespace fs = std::filesystem;
using testing::AgeFile;
using testing::TempDir;
using testing::WriteFile;

constexpr char kEmptySha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbcSha[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

// `sha256sum` of a file, computed by the system tool.
std::string SystemSha256(const fs::path& p) {
  std::string cmd = "sha256sum '" + p.string() + "'";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return "";
  char buf[65] = {};
  size_t n = std::fread(buf, 1, 64, f);
  ::pclose(f);
  return std::string(buf, n);
}

std::string PseudoRandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

std::unique_ptr<StatCache> OpenCache(const TempDir& t) {
  auto cache = StatCache::Open((t.path() / "hashes.db").string());
  EXPECT_TRUE(cache) << cache.error().ToString();
  return cache ? std::move(*cache) : nullptr;
}

TEST(Sha256OfFile, KnownVectors) {
  TempDir t;
  WriteFile(t.path() / "empty", "");
  WriteFile(t.path() / "abc", "abc");
  EXPECT_EQ(Sha256OfFile((t.path() / "empty").string()).value(), kEmptySha);
  EXPECT_EQ(Sha256OfFile((t.path() / "abc").string()).value(), kAbcSha);
}

TEST(Sha256OfFile, MatchesSha256sumAcrossBufferBoundaries) {
  TempDir t;
  // Around the 1 MiB read buffer and well past it.
  for (size_t size : {size_t{1}, size_t{(1 << 20) - 1}, size_t{1 << 20}, size_t{(1 << 20) + 1},
                      size_t{5 * (1 << 20) + 123}}) {
    fs::path p = t.path() / ("f" + std::to_string(size));
    WriteFile(p, PseudoRandomBytes(size, static_cast<uint32_t>(size)));
    std::string expected = SystemSha256(p);
    ASSERT_EQ(expected.size(), 64u) << "sha256sum unavailable";
    EXPECT_EQ(Sha256OfFile(p.string()).value(), expected) << size;
  }
}

TEST(Sha256OfFile, ErrorsNameThePath) {
  TempDir t;
  auto missing = Sha256OfFile((t.path() / "nope").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("nope"), std::string::npos);
  WriteFile(t.path() / "target", "x");
  fs::create_symlink(t.path() / "target", t.path() / "link");
  auto link = Sha256OfFile((t.path() / "link").string());
  ASSERT_FALSE(link);
  EXPECT_EQ(link.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(link.error().message().find("symbolic link"), std::string::npos);
  auto dir = Sha256OfFile(t.path().string());
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().code(), ErrorCode::kInvalidArgument);
}

TEST(StatFile, ReportsSizeInodeExecAndRefusesSymlinks) {
  TempDir t;
  WriteFile(t.path() / "run.sh", "#!/bin/sh\n", /*exec=*/true);
  auto st = StatFile((t.path() / "run.sh").string());
  ASSERT_TRUE(st);
  EXPECT_EQ(st->size, 10u);
  EXPECT_TRUE(st->exec);
  struct stat raw;
  ASSERT_EQ(::stat((t.path() / "run.sh").c_str(), &raw), 0);
  EXPECT_EQ(st->inode, raw.st_ino);
  EXPECT_EQ(st->mtime_ns, raw.st_mtim.tv_sec * 1'000'000'000LL + raw.st_mtim.tv_nsec);
  fs::create_symlink(t.path() / "run.sh", t.path() / "l");
  EXPECT_EQ(StatFile((t.path() / "l").string()).error().code(), ErrorCode::kInvalidArgument);
}

TEST(StatCache, LookupMatchesOnlyWhenAllStatFieldsMatch) {
  TempDir t;
  auto cache = OpenCache(t);
  ASSERT_TRUE(cache);
  FileStat s{10, 123456789, 42, false};
  ASSERT_TRUE(cache->PutBatch({{"/a", s, kAbcSha}}));
  EXPECT_EQ(cache->Lookup("/a", s).value(), std::optional<std::string>(kAbcSha));
  FileStat other = s;
  other.size = 11;
  EXPECT_EQ(cache->Lookup("/a", other).value(), std::nullopt);
  other = s;
  other.mtime_ns += 1;
  EXPECT_EQ(cache->Lookup("/a", other).value(), std::nullopt);
  other = s;
  other.inode = 43;
  EXPECT_EQ(cache->Lookup("/a", other).value(), std::nullopt);
  EXPECT_EQ(cache->Lookup("/b", s).value(), std::nullopt);
  // Replace, and persist across reopen.
  FileStat s2{12, 5, 42, false};
  ASSERT_TRUE(cache->PutBatch({{"/a", s2, kEmptySha}}));
  cache.reset();
  cache = OpenCache(t);
  EXPECT_EQ(cache->Lookup("/a", s2).value(), std::optional<std::string>(kEmptySha));
  EXPECT_EQ(cache->Count().value(), 1);
}

TEST(StatCache, CorruptDatabaseIsRecreated) {
  TempDir t;
  WriteFile(t.path() / "hashes.db", std::string(8192, 'x'));
  auto cache = StatCache::Open((t.path() / "hashes.db").string());
  ASSERT_TRUE(cache) << cache.error().ToString();
  EXPECT_EQ((*cache)->Count().value(), 0);
}

// A tree of n small files, aged past the racy window.
std::vector<std::string> MakeTree(const fs::path& dir, int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    std::string rel = "d" + std::to_string(i % 10) + "/f" + std::to_string(i) + ".txt";
    WriteFile(dir / rel, "content of file " + std::to_string(i) + "\n");
    AgeFile(dir / rel);
    names.push_back(rel);
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(HashTree, SecondRunIsAllFromCacheAndATouchedFileIsRehashed) {
  TempDir t;
  auto cache = OpenCache(t);
  fs::path tree = t.path() / "tree";
  auto names = MakeTree(tree, 50);
  HashOptions opt;
  opt.cache = cache.get();
  opt.jobs = 2;

  HashStats s1;
  auto first = HashTree(tree, opt, &s1);
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_EQ(first->size(), 50u);
  EXPECT_EQ(s1.files, 50u);
  EXPECT_EQ(s1.hashed, 50u);
  EXPECT_EQ(s1.from_cache, 0u);
  EXPECT_EQ(s1.not_cached, 0u);
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ((*first)[i].path, names[i]);
    EXPECT_EQ((*first)[i].digest, SystemSha256(tree / names[i])) << names[i];
  }
  EXPECT_EQ(cache->Count().value(), 50);

  HashStats s2;
  auto second = HashTree(tree, opt, &s2);
  ASSERT_TRUE(second);
  EXPECT_EQ(s2.hashed, 0u);
  EXPECT_EQ(s2.from_cache, 50u);
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ((*second)[i].digest, (*first)[i].digest);

  // Same size, new content, new mtime: must be re-hashed, not served stale.
  const std::string victim = names[7];
  std::string old = testing::ReadFile(tree / victim);
  std::string changed = old;
  changed[0] = changed[0] == 'c' ? 'C' : 'c';
  WriteFile(tree / victim, changed);
  AgeFile(tree / victim, 5);  // a different mtime than the 10 s the others have
  HashStats s3;
  auto third = HashTree(tree, opt, &s3);
  ASSERT_TRUE(third);
  EXPECT_EQ(s3.hashed, 1u);
  EXPECT_EQ(s3.from_cache, 49u);
  EXPECT_EQ((*third)[7].digest, SystemSha256(tree / victim));
  EXPECT_NE((*third)[7].digest, (*first)[7].digest);
}

TEST(HashFiles, FileChangedWhileHashedIsHashedAgain) {
  TempDir t;
  fs::path f = t.path() / "growing.log";
  WriteFile(f, "first version");
  AgeFile(f);
  auto cache = OpenCache(t);
  HashOptions opt;
  opt.cache = cache.get();
  opt.after_read = [&](const std::string&, int attempt) {
    if (attempt == 1) {  // a writer appends while we hash
      std::ofstream out(f, std::ios::app);
      out << " and more";
      out.close();
      AgeFile(f, 3);
    }
  };
  HashStats s;
  auto r = HashFiles({f.string()}, opt, &s);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(s.hashed, 1u);
  EXPECT_EQ(s.rehashed, 1u);
  EXPECT_EQ((*r)[0].digest, SystemSha256(f));
  EXPECT_EQ((*r)[0].stat.size, std::string("first version and more").size());
  // What was cached is the final content, under its final stat.
  auto st = StatFile(f.string());
  ASSERT_TRUE(st);
  EXPECT_EQ(cache->Lookup(f.string(), *st).value(), std::optional<std::string>(SystemSha256(f)));
}

TEST(HashFiles, FileThatKeepsChangingIsAnError) {
  TempDir t;
  fs::path f = t.path() / "busy";
  WriteFile(f, "x");
  HashOptions opt;
  int n = 0;
  opt.after_read = [&](const std::string&, int) {
    std::ofstream out(f, std::ios::app);
    out << "y";
    ++n;
  };
  auto r = HashFiles({f.string()}, opt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("kept changing"), std::string::npos);
  EXPECT_EQ(n, 3);
}

int64_t NowNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Sets `p`'s mtime to `ns` (nanoseconds since the epoch), keeping its atime.
void SetMtimeNs(const fs::path& p, int64_t ns) {
  struct timespec ts[2];
  ts[0].tv_sec = 0;
  ts[0].tv_nsec = UTIME_OMIT;
  ts[1].tv_sec = ns / 1'000'000'000;
  ts[1].tv_nsec = ns % 1'000'000'000;
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), ts, 0), 0) << p;
}

// Rewrites `p` in place (same inode) with `content`.
void RewriteInPlace(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary | std::ios::in | std::ios::out);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

// A sub-second mtime `ago_ns` before now (never a whole second).
int64_t FineMtimeAgo(int64_t ago_ns) {
  int64_t t = NowNs() - ago_ns;
  return t % 1'000'000'000 == 0 ? t - 1 : t;
}

TEST(RacyWindowNs, FollowsTheTimestampGranularity) {
  HashOptions opt;  // racy_window_ns = 1 s
  FileStat fine;
  fine.mtime_ns = 1'700'000'000'123'456'789;
  int64_t w = RacyWindowNs(fine, opt);
  EXPECT_GE(w, 10'000'000);  // two ticks of the coarse clock, at least 10 ms
  EXPECT_LE(w, 20'000'000);
  FileStat whole;
  whole.mtime_ns = 1'700'000'000'000'000'000;  // 1 s (or FAT's 2 s) file systems
  EXPECT_EQ(RacyWindowNs(whole, opt), 2'000'000'000);
  opt.racy_window_ns = 5'000'000;  // the option bounds the fine window
  EXPECT_EQ(RacyWindowNs(fine, opt), 5'000'000);
  opt.racy_window_ns = 0;
  EXPECT_EQ(RacyWindowNs(fine, opt), 0);
  EXPECT_EQ(RacyWindowNs(whole, opt), 0);
}

TEST(HashTree, FreshFilesAreHashedButNotCached) {
  TempDir t;
  auto cache = OpenCache(t);
  fs::path tree = t.path() / "tree";
  WriteFile(tree / "fresh.txt", "just written");
  // Stamped later than the hash starts: inside the racy window whatever the clock.
  SetMtimeNs(tree / "fresh.txt", NowNs() + 3'000'000'123);
  HashOptions opt;
  opt.cache = cache.get();  // default racy window
  HashStats s1, s2;
  ASSERT_TRUE(HashTree(tree, opt, &s1));
  EXPECT_EQ(s1.hashed, 1u);
  EXPECT_EQ(s1.not_cached, 1u);
  EXPECT_EQ(cache->Count().value(), 0);
  ASSERT_TRUE(HashTree(tree, opt, &s2));
  EXPECT_EQ(s2.hashed, 1u);  // still too fresh to trust its mtime
  AgeFile(tree / "fresh.txt");
  ASSERT_TRUE(HashTree(tree, opt, &s2));
  EXPECT_EQ(s2.not_cached, 0u);
  EXPECT_EQ(cache->Count().value(), 1);
}

TEST(HashFiles, FineTimestampsAreTrustedOnceTwoTicksPassed) {
  // A file written 50 ms before `cairn data add` (as a copy right before it):
  // cached at once, so `status` right after the add hashes nothing.
  TempDir t;
  auto cache = OpenCache(t);
  fs::path f = t.path() / "recent.bin";
  WriteFile(f, "written a moment ago");
  SetMtimeNs(f, FineMtimeAgo(50'000'000));
  HashOptions opt;
  opt.cache = cache.get();
  HashStats s1, s2;
  ASSERT_TRUE(HashFiles({f.string()}, opt, &s1));
  EXPECT_EQ(s1.hashed, 1u);
  EXPECT_EQ(s1.not_cached, 0u);
  ASSERT_TRUE(HashFiles({f.string()}, opt, &s2));
  EXPECT_EQ(s2.hashed, 0u);
  EXPECT_EQ(s2.from_cache, 1u);
}

TEST(HashFiles, WholeSecondTimestampsWaitTwoSeconds) {
  TempDir t;
  auto cache = OpenCache(t);
  fs::path f = t.path() / "coarse.bin";
  WriteFile(f, "from a 1 s file system");
  int64_t now_s = NowNs() / 1'000'000'000;
  SetMtimeNs(f, (now_s - 1) * 1'000'000'000);  // 1-2 s ago, whole second
  HashOptions opt;
  opt.cache = cache.get();
  HashStats s1, s2;
  ASSERT_TRUE(HashFiles({f.string()}, opt, &s1));
  EXPECT_EQ(s1.not_cached, 1u);
  SetMtimeNs(f, (now_s - 3) * 1'000'000'000);
  ASSERT_TRUE(HashFiles({f.string()}, opt, &s2));
  EXPECT_EQ(s2.not_cached, 0u);
  EXPECT_EQ(cache->Count().value(), 1);
}

TEST(HashFiles, SameSizeRewriteWithinOneTickIsDetected) {
  // A second write in the same clock tick keeps size, mtime and inode: the
  // first hash must not have been trusted.
  for (bool whole_second : {false, true}) {
    SCOPED_TRACE(whole_second ? "whole-second mtime" : "sub-second mtime");
    TempDir t;
    auto cache = OpenCache(t);
    fs::path f = t.path() / "data.csv";
    WriteFile(f, "aaaa");
    int64_t mtime =
        whole_second ? (NowNs() / 1'000'000'000) * 1'000'000'000 : FineMtimeAgo(2'000'000);
    SetMtimeNs(f, mtime);
    HashOptions opt;
    opt.cache = cache.get();
    auto first = HashFiles({f.string()}, opt);
    ASSERT_TRUE(first);
    EXPECT_EQ((*first)[0].digest, Sha256Hex("aaaa"));
    struct stat before;
    ASSERT_EQ(::stat(f.c_str(), &before), 0);
    RewriteInPlace(f, "bbbb");
    SetMtimeNs(f, mtime);  // the same tick
    struct stat after;
    ASSERT_EQ(::stat(f.c_str(), &after), 0);
    ASSERT_EQ(after.st_ino, before.st_ino);
    ASSERT_EQ(after.st_size, before.st_size);
    HashStats s;
    auto second = HashFiles({f.string()}, opt, &s);
    ASSERT_TRUE(second);
    EXPECT_EQ((*second)[0].digest, Sha256Hex("bbbb"));
    EXPECT_EQ(s.from_cache, 0u);
  }
}

TEST(HashTree, RefusesSymlinksAndSpecialFilesByName) {
  TempDir t;
  fs::path tree = t.path() / "tree";
  WriteFile(tree / "sub/real.csv", "1");
  fs::create_symlink("real.csv", tree / "sub/alias.csv");
  HashOptions opt;
  auto r = HashTree(tree, opt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("'sub/alias.csv' is a symbolic link"), std::string::npos)
      << r.error().message();
  fs::remove(tree / "sub/alias.csv");
  ASSERT_EQ(::mkfifo((tree / "pipe").c_str(), 0644), 0);
  auto p = HashTree(tree, opt);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find("'pipe' is a special file"), std::string::npos);
}

TEST(ListTree, SortedByteOrderAndEmptyFoldersIgnored) {
  TempDir t;
  fs::path tree = t.path() / "tree";
  for (const char* rel : {"b", "a.b", "a/b", "B", "a/c/d", "_x"}) WriteFile(tree / rel, "x");
  fs::create_directories(tree / "empty/deeper");
  auto files = ListTree(tree);
  ASSERT_TRUE(files);
  EXPECT_EQ(*files, (std::vector<std::string>{"B", "_x", "a.b", "a/b", "a/c/d", "b"}));
}

TEST(HashFiles, ErrorNamesMissingFile) {
  TempDir t;
  WriteFile(t.path() / "a", "a");
  HashOptions opt;
  auto r = HashFiles({(t.path() / "a").string(), (t.path() / "gone").string()}, opt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.error().message().find("gone"), std::string::npos);
}

TEST(HashFiles, WithoutCacheHashesEverything) {
  TempDir t;
  WriteFile(t.path() / "a", "abc");
  HashOptions opt;
  HashStats s;
  auto r = HashFiles({(t.path() / "a").string(), (t.path() / "a").string()}, opt, &s);
  ASSERT_TRUE(r);
  EXPECT_EQ(s.hashed, 2u);
  EXPECT_EQ((*r)[0].digest, kAbcSha);
  EXPECT_EQ((*r)[1].digest, kAbcSha);
  EXPECT_EQ((*r)[0].stat.size, 3u);
}

TEST(HashTree, TenThousandFilesHashedOnceThenFromCache) {
  TempDir t;
  fs::path tree = t.path() / "big";
  auto names = MakeTree(tree, 10'000);
  auto cache = StatCache::Open((t.path() / "hashes.db").string());
  ASSERT_TRUE(cache);
  HashOptions opt;
  opt.cache = cache->get();
  using Clock = std::chrono::steady_clock;

  HashStats cold, warm;
  auto t0 = Clock::now();
  auto first = HashTree(tree, opt, &cold);
  auto t1 = Clock::now();
  ASSERT_TRUE(first) << first.error().ToString();
  auto second = HashTree(tree, opt, &warm);
  auto t2 = Clock::now();
  ASSERT_TRUE(second);

  EXPECT_EQ(cold.files, 10'000u);
  EXPECT_EQ(cold.hashed, 10'000u);
  EXPECT_EQ(cold.from_cache, 0u);
  EXPECT_EQ(warm.hashed, 0u);
  EXPECT_EQ(warm.from_cache, 10'000u);
  EXPECT_EQ((*cache)->Count().value(), 10'000);
  EXPECT_EQ(*first, *second);
  EXPECT_EQ((*first)[1234].digest, SystemSha256(tree / names[1234]));
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf("[ timing ] 10k files: cold %.1f ms (hashed %llu), warm %.1f ms (from cache %llu)\n",
              ms(t1 - t0), static_cast<unsigned long long>(cold.hashed), ms(t2 - t1),
              static_cast<unsigned long long>(warm.from_cache));
}

// ---------------------------------------------------------------- HashingWriter

constexpr size_t kBuf = HashingWriter::kBufferBytes;

HashingWriter::Options HashOn(uint64_t thread_from) {
  HashingWriter::Options o;
  o.hash_on_thread_from = thread_from;
  return o;
}

// The sizes the brief names: nothing, one byte, exactly one buffer, one past
// it, and several MiB (more buffers than the ring holds, not a multiple).
const std::vector<size_t> kWriterSizes = {0, 1, kBuf, kBuf + 1, (5 << 20) + 12345};

struct Written {
  std::string digest;
  std::string content;
  uint64_t bytes = 0;
  bool on_thread = false;
};

// Writes `data` through a HashingWriter into a new file of `dir`, either by
// Append in `chunk`-byte pieces or (chunk == 0) by CopyFrom a file.
Written WriteThrough(const fs::path& dir, const std::string& data, size_t chunk,
                     HashingWriter::Options options) {
  Written w;
  fs::path out = dir / "out";
  fs::remove(out);
  int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  EXPECT_GE(fd, 0);
  {
    HashingWriter writer(fd, out.string(), options);
    if (chunk == 0) {
      fs::path in = dir / "in";
      WriteFile(in, data);
      int src = ::open(in.c_str(), O_RDONLY | O_CLOEXEC);
      EXPECT_GE(src, 0);
      auto copied = writer.CopyFrom(src, in.string(), data.size());
      EXPECT_TRUE(copied) << copied.error().ToString();
      ::close(src);
    } else {
      for (size_t at = 0; at < data.size(); at += chunk) {
        auto appended = writer.Append(std::string_view(data).substr(at, chunk));
        EXPECT_TRUE(appended) << appended.error().ToString();
      }
    }
    auto digest = writer.Finish();
    EXPECT_TRUE(digest) << digest.error().ToString();
    w.digest = digest.value_or("");
    w.bytes = writer.bytes_written();
    w.on_thread = writer.hashed_on_thread();
  }
  ::close(fd);
  w.content = testing::ReadFile(out);
  return w;
}

TEST(HashingWriter, ContentAndDigestRightAtBufferBoundariesInlineAndOnAThread) {
  TempDir t;
  for (uint64_t thread_from : {uint64_t{0}, UINT64_MAX}) {
    for (size_t size : kWriterSizes) {
      const std::string data = PseudoRandomBytes(size, static_cast<uint32_t>(size + 1));
      const std::string expected = Sha256Hex(data);
      // CopyFrom (the folder remote), whole-buffer appends, and the odd
      // chunks of an HTTP body.
      for (size_t chunk : {size_t{0}, kBuf, size_t{16 * 1024 + 7}}) {
        SCOPED_TRACE("size " + std::to_string(size) + ", chunk " + std::to_string(chunk) +
                     (thread_from == 0 ? ", on a thread" : ", inline"));
        Written w = WriteThrough(t.path(), data, chunk, HashOn(thread_from));
        EXPECT_EQ(w.digest, expected);
        EXPECT_EQ(w.bytes, size);
        EXPECT_EQ(w.content.size(), size);
        EXPECT_TRUE(w.content == data);
        if (size > 0) {
          EXPECT_EQ(w.on_thread, thread_from == 0);
        }
      }
    }
  }
  EXPECT_EQ(WriteThrough(t.path(), "", 0, {}).digest, kEmptySha);
  EXPECT_EQ(WriteThrough(t.path(), "abc", 1, {}).digest, kAbcSha);
}

TEST(HashingWriter, SmallStreamsStayInlineBigOnesMoveToAThread) {
  TempDir t;
  const size_t from = HashingWriter::kHashOnThreadFromBytes;
  // A copy told its size decides at once; a stream of unknown length
  // (Append) once that many bytes were written.
  EXPECT_FALSE(WriteThrough(t.path(), std::string(kBuf - 1, 'a'), 0, {}).on_thread);
  EXPECT_FALSE(WriteThrough(t.path(), std::string(from - 1, 'a'), 0, {}).on_thread);
  EXPECT_TRUE(WriteThrough(t.path(), std::string(from, 'a'), 0, {}).on_thread);
  EXPECT_FALSE(WriteThrough(t.path(), std::string(from, 'a'), 64 * 1024, {}).on_thread);
  const std::string big = PseudoRandomBytes(from + 3 * kBuf + 5, 7);
  Written w = WriteThrough(t.path(), big, 64 * 1024, {});
  EXPECT_TRUE(w.on_thread);
  EXPECT_EQ(w.digest, Sha256Hex(big));
  EXPECT_TRUE(w.content == big);
}

TEST(HashingWriter, CopyFromStopsAtTheExpectedSize) {
  TempDir t;
  const std::string data = PseudoRandomBytes(3 * kBuf, 3);
  fs::path in = t.path() / "in";
  WriteFile(in, data);
  for (uint64_t thread_from : {uint64_t{0}, UINT64_MAX}) {
    fs::path out = t.path() / ("out" + std::to_string(thread_from == 0));
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    int src = ::open(in.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(src, 0);
    std::string digest;
    {
      HashingWriter writer(fd, out.string(), HashOn(thread_from));
      // A file longer than expected is cut; one shorter ends at its end.
      ASSERT_TRUE(writer.CopyFrom(src, in.string(), kBuf + 10));
      digest = writer.Finish().value_or("");
    }
    ::close(src);
    ::close(fd);
    EXPECT_EQ(digest, Sha256Hex(data.substr(0, kBuf + 10)));
    EXPECT_EQ(testing::ReadFile(out).size(), kBuf + 10);
  }
}

TEST(HashingWriter, WriteErrorsAreReportedWithTheFileAndEndTheWriter) {
  // /dev/full refuses every write with ENOSPC.
  for (uint64_t thread_from : {uint64_t{0}, UINT64_MAX}) {
    int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    {
      HashingWriter writer(fd, "/dev/full", HashOn(thread_from));
      ASSERT_TRUE(writer.Append("abc"));  // buffered
      auto st = writer.Append(std::string(2 * kBuf, 'x'));
      ASSERT_FALSE(st);
      EXPECT_EQ(st.error().code(), ErrorCode::kResourceExhausted);
      EXPECT_NE(st.error().message().find("/dev/full"), std::string::npos) << st.error().message();
      EXPECT_EQ(writer.bytes_written(), 0u);
      auto more = writer.Append("more");
      ASSERT_FALSE(more);
      EXPECT_EQ(more.error().code(), ErrorCode::kFailedPrecondition);
      EXPECT_FALSE(writer.Finish());
    }
    ::close(fd);
  }
  // A partial buffer fails at Finish.
  int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  HashingWriter writer(fd, "/dev/full");
  ASSERT_TRUE(writer.Append("abc"));
  auto digest = writer.Finish();
  ASSERT_FALSE(digest);
  EXPECT_EQ(digest.error().code(), ErrorCode::kResourceExhausted);
  ::close(fd);
}

TEST(HashingWriter, TwoWritersOnOneThreadKeepTheirOwnBytes) {
  TempDir t;
  fs::path a = t.path() / "a", b = t.path() / "b";
  int fa = ::open(a.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  int fb = ::open(b.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  ASSERT_GE(fa, 0);
  ASSERT_GE(fb, 0);
  std::string da, db;
  {
    HashingWriter wa(fa, a.string());
    HashingWriter wb(fb, b.string());
    for (int i = 0; i < 40; ++i) {
      std::string pa(100000, static_cast<char>('a' + i % 26));
      std::string pb(70000, static_cast<char>('A' + i % 26));
      ASSERT_TRUE(wa.Append(pa));
      ASSERT_TRUE(wb.Append(pb));
      da += pa;
      db += pb;
    }
    EXPECT_EQ(wa.Finish().value_or(""), Sha256Hex(da));
    EXPECT_EQ(wb.Finish().value_or(""), Sha256Hex(db));
  }
  ::close(fa);
  ::close(fb);
  EXPECT_TRUE(testing::ReadFile(a) == da);
  EXPECT_TRUE(testing::ReadFile(b) == db);
}

// CopyFileAndHash of `data` (a file of `dir`) with `size` expected: the
// destination's bytes and the digest returned.
Written CopyThrough(const fs::path& dir, const std::string& data, uint64_t size,
                    uint64_t thread_from) {
  Written w;
  fs::path in = dir / "in", out = dir / "out";
  fs::remove(out);
  WriteFile(in, data);
  int src = ::open(in.c_str(), O_RDONLY | O_CLOEXEC);
  int dst = ::open(out.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  EXPECT_GE(src, 0);
  EXPECT_GE(dst, 0);
  auto digest = CopyFileAndHash(src, in.string(), dst, out.string(), size, thread_from);
  EXPECT_TRUE(digest) << digest.error().ToString();
  w.digest = digest.value_or("");
  ::close(src);
  ::close(dst);
  w.content = testing::ReadFile(out);
  w.bytes = w.content.size();
  return w;
}

TEST(CopyFileAndHash, ContentAndDigestRightAtBufferBoundariesInlineAndOnAThread) {
  TempDir t;
  // Several chunks of the kernel copy, and not a multiple of them.
  std::vector<size_t> sizes = kWriterSizes;
  sizes.push_back(2 * kCopyChunkBytes + 77);
  for (uint64_t thread_from : {uint64_t{0}, UINT64_MAX, HashingWriter::kHashOnThreadFromBytes}) {
    for (size_t size : sizes) {
      SCOPED_TRACE("size " + std::to_string(size) + ", thread from " + std::to_string(thread_from));
      const std::string data = PseudoRandomBytes(size, static_cast<uint32_t>(size + 5));
      Written w = CopyThrough(t.path(), data, size, thread_from);
      EXPECT_EQ(w.digest, Sha256Hex(data));
      EXPECT_EQ(w.bytes, size);
      EXPECT_TRUE(w.content == data);
    }
  }
}

TEST(CopyFileAndHash, DigestIsOfWhatWasCopiedWhenTheSourceIsLongerOrShorter) {
  TempDir t;
  const std::string data = PseudoRandomBytes(3 * kBuf + 9, 11);
  for (uint64_t thread_from : {uint64_t{0}, UINT64_MAX}) {
    // Longer than expected: cut at the expected size.
    Written cut = CopyThrough(t.path(), data, kBuf + 3, thread_from);
    EXPECT_EQ(cut.digest, Sha256Hex(data.substr(0, kBuf + 3)));
    EXPECT_EQ(cut.bytes, kBuf + 3);
    // Shorter (the file shrank after its size was taken): what there was.
    Written shorter = CopyThrough(t.path(), data, data.size() + kBuf, thread_from);
    EXPECT_EQ(shorter.digest, Sha256Hex(data));
    EXPECT_NE(shorter.digest, Sha256Hex(data + std::string(kBuf, '\0')));
    EXPECT_TRUE(shorter.content == data);
  }
}

TEST(CopyFileAndHash, AFullDiskIsResourceExhaustedNamingBothFiles) {
  TempDir t;
  fs::path in = t.path() / "in";
  WriteFile(in, std::string(3 * kBuf, 'x'));
  for (uint64_t thread_from : {uint64_t{0}, UINT64_MAX}) {
    int src = ::open(in.c_str(), O_RDONLY | O_CLOEXEC);
    int dst = ::open("/dev/full", O_RDWR | O_CLOEXEC);
    ASSERT_GE(src, 0);
    ASSERT_GE(dst, 0);
    auto digest = CopyFileAndHash(src, in.string(), dst, "/dev/full", 3 * kBuf, thread_from);
    ::close(src);
    ::close(dst);
    ASSERT_FALSE(digest);
    EXPECT_EQ(digest.error().code(), ErrorCode::kResourceExhausted);
    EXPECT_NE(digest.error().message().find("/dev/full"), std::string::npos)
        << digest.error().message();
  }
}

}  // namespace
}  // namespace cairn::data
