#include "data/cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <utility>

#include "core/hash.h"
#include "data/cache_test_util.h"
#include "data/data_test_util.h"

namespace cairn::data {
namespace {

namespace fs = std::filesystem;
using testing::AgeFile;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

using Repo = testing::TestRepo;

struct stat Stat(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

TEST(Cache, OpenCreatesLayoutAndRunsDir) {
  Repo r;
  EXPECT_TRUE(fs::is_directory(r.ws.CacheDir() / "objects"));
  EXPECT_TRUE(fs::exists(r.ws.StatCacheFile()));
  EXPECT_EQ(r.cache->RunsDir(), (r.ws.CacheDir() / "runs").string());
  EXPECT_TRUE(fs::is_directory(r.cache->RunsDir()));
  EXPECT_EQ(r.cache->hash_options().cache, r.cache->stat_cache());
}

TEST(Cache, OpenHonoursConfiguredCacheDir) {
  Repo r;
  TempDir elsewhere;
  DataConfig c;
  c.cache_dir = (elsewhere.path() / "c").string();
  auto cache = Cache::Open(r.ws, c);
  ASSERT_TRUE(cache);
  EXPECT_EQ((*cache)->blobs().root(), (elsewhere.path() / "c").string());
}

TEST(Cache, DescribeFileAndFolder) {
  Repo r;
  r.Write("data/a.txt", "hello");
  r.Write("data/dir/x.csv", "1,2\n");
  r.Write("data/dir/sub/run.sh", "#!/bin/sh\n", /*exec=*/true);
  auto f = r.cache->Describe("data/a.txt");
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(f->path, "a.txt");
  EXPECT_EQ(f->kind, PointerKind::kFile);
  EXPECT_EQ(f->digest, Sha256Hex("hello"));
  EXPECT_EQ(f->size, 5u);
  EXPECT_FALSE(f->files);

  auto d = r.cache->DescribeWithManifest("data/dir");
  ASSERT_TRUE(d) << d.error().ToString();
  EXPECT_EQ(d->first.path, "dir");
  EXPECT_EQ(d->first.kind, PointerKind::kDir);
  EXPECT_EQ(d->first.files, 2u);
  EXPECT_EQ(d->first.size, 14u);
  ASSERT_EQ(d->second.files.size(), 2u);
  EXPECT_EQ(d->second.files[0].path, "sub/run.sh");
  EXPECT_TRUE(d->second.files[0].exec);
  EXPECT_EQ(d->first.digest, ManifestDigest(d->second));
  // Nothing was stored.
  auto has = r.cache->Has(d->first.digest);
  ASSERT_TRUE(has);
  EXPECT_FALSE(*has);

  auto missing = r.cache->Describe("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST(Cache, SymlinkInsideFolderIsRefusedByName) {
  Repo r;
  r.Write("d/a.txt", "a");
  fs::create_symlink("a.txt", r.Abs("d/link"));
  auto c = r.cache->Commit("d", LinkMode::kHardlink);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(c.error().message().find("link"), std::string::npos) << c.error().message();
  // Nothing stored: no object besides none.
  EXPECT_TRUE(fs::is_empty(r.ws.CacheDir() / "objects"));
}

TEST(Cache, CommitHardlinkSharesInodeReadOnly) {
  Repo r;
  r.Write("model.bin", "weights");
  CommitStats stats;
  auto p = r.cache->Commit("model.bin", LinkMode::kHardlink, &stats);
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_EQ(p->digest, Sha256Hex("weights"));
  EXPECT_EQ(stats.files, 1u);
  EXPECT_EQ(stats.objects_added, 1u);
  EXPECT_EQ(stats.bytes_added, 7u);
  std::string object = r.cache->blobs().ObjectPath(p->digest);
  struct stat ws_st = Stat(r.Abs("model.bin"));
  struct stat obj_st = Stat(object);
  EXPECT_EQ(ws_st.st_ino, obj_st.st_ino);
  EXPECT_EQ(ws_st.st_mode & 0777, 0444u);
  EXPECT_EQ(ReadFile(r.Abs("model.bin")), "weights");

  // Committing again adds nothing.
  CommitStats again;
  ASSERT_TRUE(r.cache->Commit("model.bin", LinkMode::kHardlink, &again));
  EXPECT_EQ(again.objects_added, 0u);
}

TEST(Cache, CommitHardlinkRelinksAFileWhoseObjectExists) {
  Repo r;
  r.Write("a.txt", "same");
  r.Write("b.txt", "same");
  ASSERT_TRUE(r.cache->Commit("a.txt", LinkMode::kHardlink));
  CommitStats stats;
  auto p = r.cache->Commit("b.txt", LinkMode::kHardlink, &stats);
  ASSERT_TRUE(p);
  EXPECT_EQ(stats.objects_added, 0u);
  EXPECT_EQ(Stat(r.Abs("b.txt")).st_ino, Stat(r.Abs("a.txt")).st_ino);
  // The stat cache knows the relinked file: comparing hashes nothing new.
  auto state = r.cache->Compare("b.txt", *p);
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, PathState::kUnchanged);
}

TEST(Cache, CommitCopyKeepsWritableSeparateFile) {
  Repo r;
  r.Write("data.csv", "a,b\n");
  auto p = r.cache->Commit("data.csv", LinkMode::kCopy);
  ASSERT_TRUE(p);
  std::string object = r.cache->blobs().ObjectPath(p->digest);
  ASSERT_TRUE(fs::exists(object));
  struct stat ws_st = Stat(r.Abs("data.csv"));
  EXPECT_NE(ws_st.st_ino, Stat(object).st_ino);
  EXPECT_EQ(ws_st.st_mode & 0777, 0644u);
  EXPECT_EQ(ReadFile(object), "a,b\n");
}

TEST(Cache, CommitFolderStoresFilesThenManifest) {
  Repo r;
  r.Write("raw/a.csv", "a");
  r.Write("raw/b/c.csv", "c");
  r.Write("raw/b/dup.csv", "a");  // same content as a.csv
  r.Write("raw/tool", "#!/bin/sh\n", /*exec=*/true);
  CommitStats stats;
  auto p = r.cache->Commit("raw", LinkMode::kHardlink, &stats);
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_EQ(p->kind, PointerKind::kDir);
  EXPECT_EQ(p->files, 4u);
  EXPECT_EQ(stats.files, 4u);
  EXPECT_EQ(stats.objects_added, 4u);  // a, c, tool, manifest
  auto m = r.cache->LoadManifest(p->digest);
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ(m->files.size(), 4u);
  auto objects = r.cache->ObjectsOf(*p);
  ASSERT_TRUE(objects);
  std::vector<std::string> expected = {p->digest, Sha256Hex("a"), Sha256Hex("c"),
                                       Sha256Hex("#!/bin/sh\n")};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(*objects, expected);
  auto missing = r.cache->MissingObjects(*p);
  ASSERT_TRUE(missing);
  EXPECT_TRUE(missing->empty());
  // The exec file keeps its bit (copied, not adopted), the others are links.
  EXPECT_EQ(Stat(r.Abs("raw/tool")).st_mode & 0777, 0755u);
  EXPECT_EQ(Stat(r.Abs("raw/a.csv")).st_ino, Stat(r.Abs("raw/b/dup.csv")).st_ino);
  auto state = r.cache->Compare("raw", *p);
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, PathState::kUnchanged);

  // One object gone: reported; the manifest gone: just the manifest.
  ASSERT_TRUE(r.cache->blobs().Delete(Sha256Hex("c")));
  missing = r.cache->MissingObjects(*p);
  ASSERT_TRUE(missing);
  EXPECT_EQ(*missing, std::vector<std::string>{Sha256Hex("c")});
  ASSERT_TRUE(r.cache->blobs().Delete(p->digest));
  missing = r.cache->MissingObjects(*p);
  ASSERT_TRUE(missing);
  EXPECT_EQ(*missing, std::vector<std::string>{p->digest});
  auto objs = r.cache->ObjectsOf(*p);
  ASSERT_FALSE(objs);
  EXPECT_EQ(objs.error().code(), ErrorCode::kNotFound);
}

size_t TempFilesUnder(const fs::path& dir) {
  size_t temps = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    temps += e.path().filename().string().starts_with(".put-") ? 1 : 0;
  }
  return temps;
}

TEST(Cache, CommitOfManyFilesWrittenBeforeItsFlushLinksThemWithoutTempFiles) {
  Repo r;
  const size_t n = 70;  // more than ObjectBatch::kPerFileMaxObjects: one syncfs
  for (size_t i = 0; i < n; ++i)
    r.Write("many/f" + std::to_string(i), "content " + std::to_string(i));
  // Older than the flush Commit starts with, by more than a clock tick.
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  CommitStats stats;
  auto p = r.cache->Commit("many", LinkMode::kHardlink, &stats);
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_EQ(stats.objects_added, n + 1);  // and the manifest
  EXPECT_EQ(stats.objects_linked_durable, n);
  const fs::path objects = r.ws.CacheDir() / "objects";
  for (size_t i = 0; i < n; i += 13) {
    const std::string digest = Sha256Hex("content " + std::to_string(i));
    const fs::path object = objects / digest.substr(0, 2) / digest.substr(2);
    EXPECT_EQ(Stat(r.Abs("many/f" + std::to_string(i))).st_ino, Stat(object).st_ino);
    EXPECT_EQ(ReadFile(object), "content " + std::to_string(i));
  }
  EXPECT_EQ(TempFilesUnder(objects), 0u);
}

TEST(Cache, CommitOfAFewFilesFlushesEachAndLinksItUnderItsObjectName) {
  Repo r;
  r.Write("raw/a.csv", "a");
  r.Write("raw/b/c.csv", "c");
  r.Write("raw/b/dup.csv", "a");  // same content: one object, both files linked to it
  r.Write("raw/tool", "#!/bin/sh\n", /*exec=*/true);
  // Just written: each new file is flushed on its own, whatever its ctime.
  CommitStats stats;
  auto p = r.cache->Commit("raw", LinkMode::kHardlink, &stats);
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_EQ(stats.objects_added, 4u);           // a, c, tool, manifest
  EXPECT_EQ(stats.objects_linked_durable, 2u);  // a and c; the exec file is copied
  const fs::path objects = r.ws.CacheDir() / "objects";
  for (const auto& [file, content] : {std::pair{"raw/a.csv", "a"}, std::pair{"raw/b/c.csv", "c"},
                                      std::pair{"raw/b/dup.csv", "a"}}) {
    const std::string digest = Sha256Hex(content);
    const fs::path object = objects / digest.substr(0, 2) / digest.substr(2);
    EXPECT_EQ(Stat(r.Abs(file)).st_ino, Stat(object).st_ino) << file;
    EXPECT_EQ(Stat(object).st_mode & 0777, 0444u) << file;
    EXPECT_EQ(ReadFile(object), content);
  }
  EXPECT_EQ(TempFilesUnder(objects), 0u);
  auto state = r.cache->Compare("raw", *p);
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, PathState::kUnchanged);
}

TEST(Cache, SecondCommitOfThousandFilesHashesNothing) {
  Repo r;
  for (int i = 0; i < 1000; ++i) {
    r.Write("big/f" + std::to_string(i) + ".txt", "content " + std::to_string(i));
  }
  CommitStats first;
  auto p1 = r.cache->Commit("big", LinkMode::kHardlink, &first);
  ASSERT_TRUE(p1) << p1.error().ToString();
  EXPECT_EQ(first.hash.hashed, 1000u);
  EXPECT_EQ(first.objects_added, 1001u);
  CommitStats second;
  auto p2 = r.cache->Commit("big", LinkMode::kHardlink, &second);
  ASSERT_TRUE(p2);
  EXPECT_EQ(*p1, *p2);
  EXPECT_EQ(second.hash.hashed, 0u);
  EXPECT_EQ(second.hash.from_cache, 1000u);
  EXPECT_EQ(second.objects_added, 0u);
}

TEST(Cache, CompareUsesStatCacheAndDetectsChanges) {
  Repo r;
  r.Write("f.txt", "aaaa");
  auto p = r.cache->Commit("f.txt", LinkMode::kCopy);
  ASSERT_TRUE(p);
  auto same = r.cache->Compare("f.txt", *p);
  ASSERT_TRUE(same);
  EXPECT_EQ(*same, PathState::kUnchanged);

  // Same size, same inode, same mtime, other bytes: the stat cache answers,
  // which proves nothing was hashed.
  struct stat before = Stat(r.Abs("f.txt"));
  {
    std::FILE* f = std::fopen(r.Abs("f.txt").c_str(), "r+");
    ASSERT_NE(f, nullptr);
    std::fputs("bbbb", f);
    std::fclose(f);
  }
  struct timespec ts[2] = {before.st_mtim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, r.Abs("f.txt").c_str(), ts, 0), 0);
  auto cached = r.cache->Compare("f.txt", *p);
  ASSERT_TRUE(cached);
  EXPECT_EQ(*cached, PathState::kUnchanged);

  r.Write("f.txt", "changed");
  auto modified = r.cache->Compare("f.txt", *p);
  ASSERT_TRUE(modified);
  EXPECT_EQ(*modified, PathState::kModified);
  fs::remove(r.Abs("f.txt"));
  auto missing = r.cache->Compare("f.txt", *p);
  ASSERT_TRUE(missing);
  EXPECT_EQ(*missing, PathState::kMissing);
  fs::create_directories(r.Abs("f.txt"));
  auto kind = r.cache->Compare("f.txt", *p);
  ASSERT_TRUE(kind);
  EXPECT_EQ(*kind, PathState::kModified);
  EXPECT_EQ(PathStateName(PathState::kMissing), "missing");
}

TEST(Cache, CheckoutRestoresDeletedAndCachedModifications) {
  Repo r;
  r.Write("d/a.txt", "A");
  r.Write("d/s/b.txt", "B");
  auto p = r.cache->Commit("d", LinkMode::kHardlink);
  ASSERT_TRUE(p);

  // Unchanged: nothing written.
  CheckoutStats noop;
  ASSERT_TRUE(r.cache->Checkout("d", *p, LinkMode::kHardlink, false, &noop));
  EXPECT_EQ(noop.files, 2u);
  EXPECT_EQ(noop.written, 0u);

  fs::remove(r.Abs("d/s/b.txt"));
  fs::remove_all(r.Abs("d/s"));
  CheckoutStats st;
  ASSERT_TRUE(r.cache->Checkout("d", *p, LinkMode::kHardlink, false, &st));
  EXPECT_EQ(st.written, 1u);
  EXPECT_EQ(ReadFile(r.Abs("d/s/b.txt")), "B");
  EXPECT_EQ(Stat(r.Abs("d/s/b.txt")).st_ino,
            Stat(r.cache->blobs().ObjectPath(Sha256Hex("B"))).st_ino);

  // Whole folder gone.
  fs::remove_all(r.Abs("d"));
  ASSERT_TRUE(r.cache->Checkout("d", *p, LinkMode::kCopy, false));
  EXPECT_EQ(ReadFile(r.Abs("d/a.txt")), "A");
  EXPECT_EQ(Stat(r.Abs("d/a.txt")).st_mode & 0777, 0644u);
  EXPECT_NE(Stat(r.Abs("d/a.txt")).st_ino,
            Stat(r.cache->blobs().ObjectPath(Sha256Hex("A"))).st_ino);
  auto state = r.cache->Compare("d", *p);
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, PathState::kUnchanged);

  // A modification whose content is in the cache (an older version) is
  // replaced without force.
  r.Write("other.txt", "OLD");
  ASSERT_TRUE(r.cache->Commit("other.txt", LinkMode::kCopy));
  fs::remove(r.Abs("d/a.txt"));
  r.Write("d/a.txt", "OLD");
  ASSERT_TRUE(r.cache->Checkout("d", *p, LinkMode::kHardlink, false));
  EXPECT_EQ(ReadFile(r.Abs("d/a.txt")), "A");
}

TEST(Cache, CheckoutRefusesToLoseWorkWithoutForce) {
  Repo r;
  r.Write("d/a.txt", "A");
  r.Write("d/b.txt", "B");
  auto p = r.cache->Commit("d", LinkMode::kCopy);
  ASSERT_TRUE(p);

  r.Write("d/a.txt", "my edit");
  auto refused = r.cache->Checkout("d", *p, LinkMode::kCopy, false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message().find("a.txt"), std::string::npos)
      << refused.error().message();
  EXPECT_NE(refused.error().message().find("--force"), std::string::npos);
  EXPECT_EQ(ReadFile(r.Abs("d/a.txt")), "my edit");
  ASSERT_TRUE(r.cache->Checkout("d", *p, LinkMode::kCopy, true));
  EXPECT_EQ(ReadFile(r.Abs("d/a.txt")), "A");

  r.Write("d/extra.csv", "x");
  auto extra = r.cache->Checkout("d", *p, LinkMode::kCopy, false);
  ASSERT_FALSE(extra);
  EXPECT_EQ(extra.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(extra.error().message().find("d has files not in its pointer: extra.csv (use --force)"),
            std::string::npos)
      << extra.error().message();
  EXPECT_TRUE(fs::exists(r.Abs("d/extra.csv")));
  CheckoutStats st;
  ASSERT_TRUE(r.cache->Checkout("d", *p, LinkMode::kCopy, true, &st));
  EXPECT_FALSE(fs::exists(r.Abs("d/extra.csv")));
  EXPECT_EQ(st.removed, 1u);
  EXPECT_EQ(st.written, 0u);

  // A single file.
  r.Write("f.txt", "v1");
  auto fp = r.cache->Commit("f.txt", LinkMode::kCopy);
  ASSERT_TRUE(fp);
  r.Write("f.txt", "v2 unsaved");
  auto file_refused = r.cache->Checkout("f.txt", *fp, LinkMode::kCopy, false);
  ASSERT_FALSE(file_refused);
  EXPECT_NE(file_refused.error().message().find("f.txt"), std::string::npos);
  EXPECT_EQ(ReadFile(r.Abs("f.txt")), "v2 unsaved");
  ASSERT_TRUE(r.cache->Checkout("f.txt", *fp, LinkMode::kHardlink, true));
  EXPECT_EQ(ReadFile(r.Abs("f.txt")), "v1");
}

TEST(Cache, CheckoutOfMissingObjectSaysPull) {
  Repo r;
  r.Write("f.txt", "v1");
  auto p = r.cache->Commit("f.txt", LinkMode::kCopy);
  ASSERT_TRUE(p);
  ASSERT_TRUE(r.cache->blobs().Delete(p->digest));
  fs::remove(r.Abs("f.txt"));
  auto st = r.cache->Checkout("f.txt", *p, LinkMode::kCopy, false);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(st.error().message().find("cairn data pull"), std::string::npos);
  EXPECT_NE(st.error().message().find("f.txt"), std::string::npos);

  r.Write("d/x", "x");
  auto dp = r.cache->Commit("d", LinkMode::kCopy);
  ASSERT_TRUE(dp);
  ASSERT_TRUE(r.cache->blobs().Delete(dp->digest));
  auto dst = r.cache->Checkout("d", *dp, LinkMode::kCopy, false);
  ASSERT_FALSE(dst);
  EXPECT_EQ(dst.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(dst.error().message().find("manifest"), std::string::npos);
}

TEST(Cache, CheckoutRefusesAPointerWhoseSizeWasEditedByHand) {
  Repo r;
  r.Write("f.txt", "twelve bytes");
  auto p = r.cache->Commit("f.txt", LinkMode::kCopy);
  ASSERT_TRUE(p);
  fs::remove(r.Abs("f.txt"));
  {
    Pointer edited = *p;
    edited.size = 99;
    auto st = r.cache->Checkout("f.txt", edited, LinkMode::kCopy, false);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(st.error().message().find("says 99 bytes"), std::string::npos)
        << st.error().message();
    EXPECT_NE(st.error().message().find("has 12"), std::string::npos) << st.error().message();
    EXPECT_NE(st.error().message().find("edited by hand"), std::string::npos);
    EXPECT_FALSE(fs::exists(r.Abs("f.txt")));
  }
  ASSERT_TRUE(r.cache->Checkout("f.txt", *p, LinkMode::kCopy, false));
  EXPECT_EQ(ReadFile(r.Abs("f.txt")), "twelve bytes");

  r.Write("d/x", "x");
  r.Write("d/y", "yy");
  auto dp = r.cache->Commit("d", LinkMode::kCopy);
  ASSERT_TRUE(dp);
  fs::remove_all(r.Abs("d"));
  Pointer edited = *dp;
  edited.files = 5;
  auto st = r.cache->Checkout("d", edited, LinkMode::kCopy, false);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("says 5 file(s) and 3 bytes"), std::string::npos)
      << st.error().message();
  EXPECT_FALSE(fs::exists(r.Abs("d")));
}

TEST(Cache, CheckoutReplacesFolderByFileWhenSaved) {
  Repo r;
  r.Write("p", "file version");
  auto fp = r.cache->Commit("p", LinkMode::kCopy);
  ASSERT_TRUE(fp);
  fs::remove(r.Abs("p"));
  r.Write("p/inner.txt", "unsaved");
  auto refused = r.cache->Checkout("p", *fp, LinkMode::kCopy, false);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("inner.txt"), std::string::npos);
  CheckoutStats st;
  ASSERT_TRUE(r.cache->Checkout("p", *fp, LinkMode::kCopy, true, &st));
  EXPECT_EQ(ReadFile(r.Abs("p")), "file version");
  EXPECT_EQ(st.removed, 1u);
}

}  // namespace
}  // namespace cairn::data
