#include "data/data_ops.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

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

int64_t MtimeNs(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

TEST(AddPaths, WritesPointerAndGitignore) {
  Repo r;
  r.Write("data/raw/a.csv", "1,2\n");
  r.Write("data/raw/b.csv", "3,4\n");
  auto added = AddPaths(*r.cache, {"data/raw"}, LinkMode::kHardlink);
  ASSERT_TRUE(added) << added.error().ToString();
  ASSERT_EQ(added->size(), 1u);
  const AddResult& a = (*added)[0];
  EXPECT_TRUE(a.changed);
  EXPECT_EQ(a.pointer_file, "data/raw.cairn");
  EXPECT_EQ(a.pointer.path, "raw");
  EXPECT_EQ(a.pointer.files, 2u);
  EXPECT_EQ(a.pointer.size, 8u);
  auto read = ReadPointer(r.Abs("data/raw.cairn"));
  ASSERT_TRUE(read) << read.error().ToString();
  EXPECT_EQ(*read, a.pointer);
  EXPECT_EQ(ReadFile(r.Abs("data/.gitignore")), "/raw\n");
}

TEST(AddPaths, ReAddOfThousandFilesHashesAndWritesNothing) {
  Repo r;
  for (int i = 0; i < 1000; ++i) r.Write("big/f" + std::to_string(i), std::to_string(i));
  auto first = AddPaths(*r.cache, {"big"}, LinkMode::kHardlink);
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ((*first)[0].stats.hash.hashed, 1000u);
  int64_t pointer_mtime = MtimeNs(r.Abs("big.cairn"));
  int64_t ignore_mtime = MtimeNs(r.Abs(".gitignore"));
  ::usleep(20'000);
  auto second = AddPaths(*r.cache, {"big"}, LinkMode::kHardlink);
  ASSERT_TRUE(second);
  EXPECT_FALSE((*second)[0].changed);
  EXPECT_EQ((*second)[0].stats.hash.hashed, 0u);
  EXPECT_EQ((*second)[0].stats.hash.from_cache, 1000u);
  EXPECT_EQ((*second)[0].stats.objects_added, 0u);
  EXPECT_EQ(MtimeNs(r.Abs("big.cairn")), pointer_mtime);
  EXPECT_EQ(MtimeNs(r.Abs(".gitignore")), ignore_mtime);
  EXPECT_EQ(ReadFile(r.Abs(".gitignore")), "/big\n");
}

TEST(AddPaths, ExistingGitignoreKeepsItsLinesAndGetsOneEntry) {
  Repo r;
  r.Write("data/.gitignore", "*.log\n# keep\n/other");
  r.Write("data/raw.csv", "x");
  ASSERT_TRUE(AddPaths(*r.cache, {"data/raw.csv"}, LinkMode::kCopy));
  EXPECT_EQ(ReadFile(r.Abs("data/.gitignore")), "*.log\n# keep\n/other\n/raw.csv\n");
  r.Replace("data/raw.csv", "y");
  auto again = AddPaths(*r.cache, {"data/raw.csv"}, LinkMode::kCopy);
  ASSERT_TRUE(again);
  EXPECT_TRUE((*again)[0].changed);
  EXPECT_EQ(ReadFile(r.Abs("data/.gitignore")), "*.log\n# keep\n/other\n/raw.csv\n");
}

TEST(AddPaths, FailureWritesNoPointerAndNoGitignore) {
  Repo r;
  r.Write("d/good.csv", "ok");
  ASSERT_EQ(::mkfifo(r.Abs("d/pipe").c_str(), 0644), 0);
  auto added = AddPaths(*r.cache, {"d"}, LinkMode::kHardlink);
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(added.error().message().find("pipe"), std::string::npos) << added.error().message();
  EXPECT_FALSE(fs::exists(r.Abs("d.cairn")));
  EXPECT_FALSE(fs::exists(r.Abs(".gitignore")));

  fs::remove(r.Abs("d/pipe"));
  fs::create_symlink("good.csv", r.Abs("d/alias"));
  auto sym = AddPaths(*r.cache, {"d"}, LinkMode::kHardlink);
  ASSERT_FALSE(sym);
  EXPECT_NE(sym.error().message().find("alias"), std::string::npos) << sym.error().message();
  EXPECT_FALSE(fs::exists(r.Abs("d.cairn")));
  EXPECT_FALSE(fs::exists(r.Abs(".gitignore")));
}

TEST(AddPaths, RefusesBadTargets) {
  Repo r;
  r.Write("d/x.csv", "x");
  ASSERT_TRUE(AddPaths(*r.cache, {"d"}, LinkMode::kCopy));
  auto inside = AddPaths(*r.cache, {"d/x.csv"}, LinkMode::kCopy);
  ASSERT_FALSE(inside);
  EXPECT_EQ(inside.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(inside.error().message().find("inside the tracked folder 'd'"), std::string::npos);

  r.Write("top/sub/y", "y");
  ASSERT_TRUE(AddPaths(*r.cache, {"top/sub"}, LinkMode::kCopy));
  auto containing = AddPaths(*r.cache, {"top"}, LinkMode::kCopy);
  ASSERT_FALSE(containing);
  EXPECT_NE(containing.error().message().find("contains the tracked path 'top/sub'"),
            std::string::npos);

  for (const char* bad : {".git", ".cairn", ".cairn/cache", "../x", "/abs"}) {
    auto e = AddPaths(*r.cache, {bad}, LinkMode::kCopy);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  auto missing = AddPaths(*r.cache, {"nope"}, LinkMode::kCopy);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);

  fs::create_symlink("d", r.Abs("link"));
  auto sym = AddPaths(*r.cache, {"link"}, LinkMode::kCopy);
  ASSERT_FALSE(sym);
  EXPECT_NE(sym.error().message().find("symlink"), std::string::npos);

  auto pointer = AddPaths(*r.cache, {"d.cairn"}, LinkMode::kCopy);
  ASSERT_FALSE(pointer);

  // An invalid existing pointer is reported, never rewritten.
  r.Write("e.csv", "e");
  WriteFile(r.Abs("e.csv.cairn"), "path: e.csv\nkind: file\nbogus: 1\n");
  auto invalid = AddPaths(*r.cache, {"e.csv"}, LinkMode::kCopy);
  ASSERT_FALSE(invalid);
  EXPECT_NE(invalid.error().message().find("e.csv.cairn:3"), std::string::npos)
      << invalid.error().message();
}

TEST(FindPointers, FindsNestedSkipsTrackedFoldersAndReportsBadOnes) {
  Repo r;
  r.Write("a/b/c.csv", "c");
  r.Write("z.txt", "z");
  r.Write("tracked/data.csv", "d");
  ASSERT_TRUE(AddPaths(*r.cache, {"a/b/c.csv", "z.txt", "tracked"}, LinkMode::kCopy));
  // Inside a tracked folder a *.cairn file is data, never read as a pointer.
  r.Write("tracked/inner.cairn", "not a pointer, just data");
  auto found = FindPointers(r.ws);
  ASSERT_TRUE(found) << found.error().ToString();
  ASSERT_EQ(found->size(), 3u);
  EXPECT_EQ((*found)[0].repo_path, "a/b/c.csv");
  EXPECT_EQ((*found)[0].pointer_file, "a/b/c.csv.cairn");
  EXPECT_EQ((*found)[1].repo_path, "tracked");
  EXPECT_EQ((*found)[2].repo_path, "z.txt");

  auto sel = SelectPointers(r.ws, {"a"});
  ASSERT_TRUE(sel);
  ASSERT_EQ(sel->size(), 1u);
  EXPECT_EQ((*sel)[0].repo_path, "a/b/c.csv");
  auto by_pointer = SelectPointers(r.ws, {"z.txt.cairn", "tracked"});
  ASSERT_TRUE(by_pointer);
  EXPECT_EQ(by_pointer->size(), 2u);
  auto unknown = SelectPointers(r.ws, {"nothing/here"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(unknown.error().message().find("nothing/here"), std::string::npos);

  WriteFile(r.Abs("q/broken.cairn"),
            "path: broken\nkind: maybe\ndigest: sha256:" + std::string(64, 'a') + "\nsize: 1\n");
  auto bad = FindPointers(r.ws);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("q/broken.cairn:2"), std::string::npos)
      << bad.error().message();
}

TEST(DataStatus, ReportsWorkspaceAndCacheState) {
  Repo r;
  r.Write("u.txt", "u");
  r.Write("m.txt", "m");
  r.Write("gone.txt", "g");
  r.Write("d/x", "x");
  ASSERT_TRUE(AddPaths(*r.cache, {"u.txt", "m.txt", "gone.txt", "d"}, LinkMode::kHardlink));
  r.Replace("m.txt", "modified");
  fs::remove(r.Abs("gone.txt"));
  ASSERT_TRUE(r.cache->blobs().Delete(Sha256Hex("x")));
  auto st = DataStatus(*r.cache, {});
  ASSERT_TRUE(st) << st.error().ToString();
  ASSERT_EQ(st->size(), 4u);
  EXPECT_EQ((*st)[0].tracked.repo_path, "d");
  EXPECT_EQ((*st)[0].workspace, PathState::kUnchanged);
  EXPECT_FALSE((*st)[0].in_cache);
  EXPECT_EQ((*st)[1].tracked.repo_path, "gone.txt");
  EXPECT_EQ((*st)[1].workspace, PathState::kMissing);
  EXPECT_TRUE((*st)[1].in_cache);
  EXPECT_EQ((*st)[2].workspace, PathState::kModified);
  EXPECT_EQ((*st)[3].workspace, PathState::kUnchanged);
  EXPECT_TRUE((*st)[3].in_cache);

  auto one = DataStatus(*r.cache, {"u.txt"});
  ASSERT_TRUE(one);
  ASSERT_EQ(one->size(), 1u);
}

TEST(CheckoutPaths, RestoresEverythingSelected) {
  Repo r;
  r.Write("a.txt", "a");
  r.Write("d/b.txt", "b");
  ASSERT_TRUE(AddPaths(*r.cache, {"a.txt", "d"}, LinkMode::kHardlink));
  fs::remove(r.Abs("a.txt"));
  fs::remove_all(r.Abs("d"));
  auto out = CheckoutPaths(*r.cache, {}, LinkMode::kHardlink, false);
  ASSERT_TRUE(out) << out.error().ToString();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].stats.written, 1u);
  EXPECT_EQ(ReadFile(r.Abs("a.txt")), "a");
  EXPECT_EQ(ReadFile(r.Abs("d/b.txt")), "b");

  r.Replace("a.txt", "unsaved");
  auto refused = CheckoutPaths(*r.cache, {"a.txt"}, LinkMode::kHardlink, false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ReadFile(r.Abs("a.txt")), "unsaved");
}

TEST(CollectGarbage, RemovesOnlyUnreachableObjects) {
  Repo r;
  r.Write("d/keep.txt", "keep");
  r.Write("d/v.txt", "version 1");
  auto v1 = AddPaths(*r.cache, {"d"}, LinkMode::kHardlink);
  ASSERT_TRUE(v1);
  Pointer old_pointer = (*v1)[0].pointer;
  r.Replace("d/v.txt", "version 2");
  ASSERT_TRUE(AddPaths(*r.cache, {"d"}, LinkMode::kHardlink));
  // A stale temp file in the cache's tmp/.
  fs::path temp = r.ws.CacheDir() / "tmp" / "put-stale";
  WriteFile(temp, "junk");
  AgeFile(temp, 7200);

  auto dry = CollectGarbage(*r.cache, {}, /*dry_run=*/true);
  ASSERT_TRUE(dry) << dry.error().ToString();
  EXPECT_EQ(dry->objects_removed, 2u);  // old v.txt and old manifest
  EXPECT_EQ(dry->objects_kept, 3u);
  EXPECT_EQ(dry->temp_files_removed, 1u);
  EXPECT_TRUE(fs::exists(r.cache->blobs().ObjectPath(Sha256Hex("version 1"))));
  EXPECT_TRUE(fs::exists(temp));

  // With the old version as an extra root, nothing goes.
  auto rooted = CollectGarbage(*r.cache, {old_pointer}, true);
  ASSERT_TRUE(rooted);
  EXPECT_EQ(rooted->objects_removed, 0u);

  auto old_manifest = r.cache->LoadManifest(old_pointer.digest);
  ASSERT_TRUE(old_manifest);
  const uint64_t manifest_bytes = CanonicalManifestJson(*old_manifest).size();
  auto gc = CollectGarbage(*r.cache, {}, false);
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->objects_removed, 2u);
  EXPECT_EQ(gc->bytes_removed, 9u + manifest_bytes);
  EXPECT_FALSE(fs::exists(r.cache->blobs().ObjectPath(Sha256Hex("version 1"))));
  EXPECT_FALSE(fs::exists(r.cache->blobs().ObjectPath(old_pointer.digest)));
  EXPECT_TRUE(fs::exists(r.cache->blobs().ObjectPath(Sha256Hex("version 2"))));
  EXPECT_TRUE(fs::exists(r.cache->blobs().ObjectPath(Sha256Hex("keep"))));
  EXPECT_FALSE(fs::exists(temp));
  auto status = DataStatus(*r.cache, {});
  ASSERT_TRUE(status);
  EXPECT_TRUE((*status)[0].in_cache);
  EXPECT_EQ((*status)[0].workspace, PathState::kUnchanged);

  // A root whose manifest was never pulled keeps nothing and is no error.
  Pointer never = old_pointer;
  auto again = CollectGarbage(*r.cache, {never}, false);
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->objects_removed, 0u);
}

// A run cache entry as the pipeline runner writes it (pipeline/plan.h),
// spelled out here: data must not depend on pipeline.
std::string RunEntryJson(const std::vector<Pointer>& outs, const std::vector<Pointer>& metrics) {
  auto paths = [](const std::vector<Pointer>& ps) {
    std::string out = "[";
    for (const auto& p : ps) {
      if (out.size() > 1) out += ",";
      out += R"({"path":")" + p.path + R"(","kind":")" + std::string(PointerKindName(p.kind)) +
             R"(","digest":")" + p.digest + R"(","size":)" + std::to_string(p.size);
      if (p.files) out += R"(,"files":)" + std::to_string(*p.files);
      out += "}";
    }
    return out + "]";
  };
  return R"({"format":"cairn-run","version":1,"step":"s","created_ms":1,"outs":)" + paths(outs) +
         R"(,"metrics":)" + paths(metrics) + "}\n";
}

TEST(CollectGarbage, RemovesRunCacheEntriesThatNeedRemovedObjects) {
  Repo r;
  r.Write("d/keep.txt", "keep");
  r.Write("d/v.txt", "version 1");
  r.Write("m.json", "{}");
  auto v1 = AddPaths(*r.cache, {"d", "m.json"}, LinkMode::kHardlink);
  ASSERT_TRUE(v1) << v1.error().ToString();
  const Pointer old_dir = (*v1)[0].pointer;
  const Pointer metrics = (*v1)[1].pointer;
  r.Replace("d/v.txt", "version 2");
  auto v2 = AddPaths(*r.cache, {"d"}, LinkMode::kHardlink);
  ASSERT_TRUE(v2);
  const Pointer new_dir = (*v2)[0].pointer;
  Pointer old_file{.path = "v.txt",
                   .kind = PointerKind::kFile,
                   .digest = Sha256Hex("version 1"),
                   .size = 9,
                   .files = std::nullopt};
  Pointer never{.path = "x",
                .kind = PointerKind::kFile,
                .digest = Sha256Hex("never stored"),
                .size = 12,
                .files = std::nullopt};

  const fs::path runs = r.cache->RunsDir();
  auto entry = [&](char c) { return runs / (std::string(64, c) + ".json"); };
  WriteFile(entry('a'), RunEntryJson({new_dir}, {metrics}));     // all present: kept
  WriteFile(entry('b'), RunEntryJson({old_dir}, {metrics}));     // old manifest goes
  WriteFile(entry('c'), RunEntryJson({metrics, old_file}, {}));  // an old file goes
  WriteFile(entry('d'), RunEntryJson({never}, {}));              // already missing
  WriteFile(entry('e'), "{not json");                            // not ours to judge
  WriteFile(runs / "notes.txt", "hello");

  auto dry = CollectGarbage(*r.cache, {}, /*dry_run=*/true);
  ASSERT_TRUE(dry) << dry.error().ToString();
  EXPECT_EQ(dry->objects_removed, 2u);
  EXPECT_EQ(dry->run_cache_entries_removed, 3u);
  for (char c : {'a', 'b', 'c', 'd', 'e'}) EXPECT_TRUE(fs::exists(entry(c))) << c;

  auto gc = CollectGarbage(*r.cache, {}, false);
  ASSERT_TRUE(gc) << gc.error().ToString();
  EXPECT_EQ(gc->objects_removed, 2u);
  EXPECT_EQ(gc->run_cache_entries_removed, 3u);
  EXPECT_TRUE(fs::exists(entry('a')));
  EXPECT_FALSE(fs::exists(entry('b')));
  EXPECT_FALSE(fs::exists(entry('c')));
  EXPECT_FALSE(fs::exists(entry('d')));
  EXPECT_TRUE(fs::exists(entry('e')));
  EXPECT_TRUE(fs::exists(runs / "notes.txt"));

  // Nothing left to prune.
  auto again = CollectGarbage(*r.cache, {}, false);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->objects_removed, 0u);
  EXPECT_EQ(again->run_cache_entries_removed, 0u);

  // Untracked, the folder's objects live only as long as the caller roots
  // them (cairn.lock's outs), and its run cache entry with them.
  fs::remove(r.Abs("d.cairn"));
  auto rooted = CollectGarbage(*r.cache, {new_dir}, false);
  ASSERT_TRUE(rooted);
  EXPECT_EQ(rooted->objects_removed, 0u);
  EXPECT_EQ(rooted->run_cache_entries_removed, 0u);
  EXPECT_TRUE(fs::exists(entry('a')));
  auto unrooted = CollectGarbage(*r.cache, {}, false);
  ASSERT_TRUE(unrooted);
  EXPECT_EQ(unrooted->objects_removed, 3u);  // manifest, keep.txt, version 2
  EXPECT_EQ(unrooted->run_cache_entries_removed, 1u);
  EXPECT_FALSE(fs::exists(entry('a')));
}

TEST(EnsureGitIgnored, AddsOnceAndKeepsOtherLines) {
  TempDir t;
  ASSERT_TRUE(EnsureGitIgnored(t.path().string(), "raw"));
  EXPECT_EQ(ReadFile(t.path() / ".gitignore"), "/raw\n");
  ASSERT_TRUE(EnsureGitIgnored(t.path().string(), "raw"));
  EXPECT_EQ(ReadFile(t.path() / ".gitignore"), "/raw\n");
  ASSERT_TRUE(EnsureGitIgnored(t.path().string(), "we*ird"));
  EXPECT_EQ(ReadFile(t.path() / ".gitignore"), "/raw\n/we\\*ird\n");
  WriteFile(t.path() / ".gitignore", "a\r\n/raw\r\n");
  ASSERT_TRUE(EnsureGitIgnored(t.path().string(), "raw"));
  EXPECT_EQ(ReadFile(t.path() / ".gitignore"), "a\r\n/raw\r\n");
}

}  // namespace
}  // namespace cairn::data
