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

}  // namespace
}  // namespace cairn::data
