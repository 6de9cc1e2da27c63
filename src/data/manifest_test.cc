#include "data/manifest.h"

#include <gtest/gtest.h>

#include "core/hash.h"
#include "data/data_test_util.h"

namespace cairn::data {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteFile;

constexpr char kHelloSha[] = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
constexpr char kRunShSha[] = "299001868fb8c02fd431c336c6d058f5558c5dff5b5af5e6fe04b870a6a9cbba";
constexpr char kCsvSha[] = "81bf9fa83c6f7f151bd491a98cd7d933de3965289e3ebd77c6c425f7eaa16392";

// The canonical manifest of the small tree below, written out by hand from
// docs/pipelines.md, and its SHA-256 (computed with Python's hashlib).
constexpr char kSmallTreeJson[] =
    R"({"format":"cairn-manifest","version":1,"files":[)"
    R"({"path":"a.txt","digest":"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03","size":6,"exec":false},)"
    R"({"path":"run.sh","digest":"299001868fb8c02fd431c336c6d058f5558c5dff5b5af5e6fe04b870a6a9cbba","size":18,"exec":true},)"
    R"({"path":"sub/b.csv","digest":"81bf9fa83c6f7f151bd491a98cd7d933de3965289e3ebd77c6c425f7eaa16392","size":8,"exec":false}]})";
constexpr char kSmallTreeDigest[] =
    "05056c845da2d247c55f9f172501dac1a3ef0cdb721474a1f7584b9a24ba0123";

void MakeSmallTree(const fs::path& dir) {
  WriteFile(dir / "sub/b.csv", "x,y\n1,2\n");
  WriteFile(dir / "run.sh", "#!/bin/sh\necho hi\n", /*exec=*/true);
  WriteFile(dir / "a.txt", "hello\n");
  fs::create_directories(dir / "empty");  // not recorded
}

TEST(BuildManifest, SmallTreeCanonicalBytesAndDigest) {
  TempDir t;
  MakeSmallTree(t.path() / "data");
  HashOptions opt;
  auto m = BuildManifest(t.path() / "data", opt);
  ASSERT_TRUE(m) << m.error().ToString();
  ASSERT_EQ(m->files.size(), 3u);
  EXPECT_EQ(m->files[0], (ManifestEntry{"a.txt", kHelloSha, 6, false}));
  EXPECT_EQ(m->files[1], (ManifestEntry{"run.sh", kRunShSha, 18, true}));
  EXPECT_EQ(m->files[2], (ManifestEntry{"sub/b.csv", kCsvSha, 8, false}));
  EXPECT_EQ(m->TotalSize(), 32u);
  EXPECT_EQ(CanonicalManifestJson(*m), kSmallTreeJson);
  EXPECT_EQ(ManifestDigest(*m), kSmallTreeDigest);
}

TEST(BuildManifest, DigestStableAcrossLocationsAndTimes) {
  TempDir t;
  MakeSmallTree(t.path() / "one");
  MakeSmallTree(t.path() / "elsewhere/two");
  testing::AgeFile(t.path() / "elsewhere/two/a.txt", 1000);
  HashOptions opt;
  auto a = BuildManifest(t.path() / "one", opt);
  auto b = BuildManifest(t.path() / "elsewhere/two", opt);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(ManifestDigest(*a), ManifestDigest(*b));
  EXPECT_EQ(ManifestDigest(*a), kSmallTreeDigest);
  // Any change to content, name or exec bit changes the digest.
  WriteFile(t.path() / "one/a.txt", "hello!");
  auto c = BuildManifest(t.path() / "one", opt);
  ASSERT_TRUE(c);
  EXPECT_NE(ManifestDigest(*c), kSmallTreeDigest);
  Manifest flipped = *b;
  flipped.files[0].exec = true;
  EXPECT_NE(ManifestDigest(flipped), kSmallTreeDigest);
}

TEST(BuildManifest, SymlinkInsideIsRefusedByName) {
  TempDir t;
  MakeSmallTree(t.path() / "data");
  fs::create_symlink("../a.txt", t.path() / "data/sub/link.txt");
  HashOptions opt;
  auto m = BuildManifest(t.path() / "data", opt);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(m.error().message().find("'sub/link.txt' is a symbolic link"), std::string::npos)
      << m.error().message();
}

TEST(CanonicalManifestJson, SortsByByteOrderAndEscapes) {
  Manifest m;
  const std::string d(64, 'a');
  m.files = {{"b", d, 1, false},
             {"a/b", d, 2, false},
             {"a.b", d, 3, false},
             {"B", d, 4, false},
             {"q\"\\\n\x01.txt", d, 5, false},
             {"\xc3\xa9t\xc3\xa9", d, 6, false}};
  std::string json = CanonicalManifestJson(m);
  const std::string dg = R"(","digest":")" + d + R"(","size":)";
  EXPECT_EQ(json, R"({"format":"cairn-manifest","version":1,"files":[)"
                  R"({"path":"B)" +
                      dg +
                      R"(4,"exec":false},)"
                      R"({"path":"a.b)" +
                      dg +
                      R"(3,"exec":false},)"
                      R"({"path":"a/b)" +
                      dg +
                      R"(2,"exec":false},)"
                      R"({"path":"b)" +
                      dg +
                      R"(1,"exec":false},)"
                      R"({"path":"q\"\\\n\u0001.txt)" +
                      dg +
                      R"(5,"exec":false},)"
                      "{\"path\":\"\xc3\xa9t\xc3\xa9" +
                      dg + R"(6,"exec":false}]})");
  // The input order does not matter.
  Manifest reversed = m;
  std::reverse(reversed.files.begin(), reversed.files.end());
  EXPECT_EQ(CanonicalManifestJson(reversed), json);
  EXPECT_EQ(ManifestDigest(m), Sha256Hex(json));
}

TEST(ParseManifest, RoundTrip) {
  auto m = ParseManifest(kSmallTreeJson);
  ASSERT_TRUE(m) << m.error().ToString();
  ASSERT_EQ(m->files.size(), 3u);
  EXPECT_EQ(m->files[1], (ManifestEntry{"run.sh", kRunShSha, 18, true}));
  EXPECT_EQ(CanonicalManifestJson(*m), kSmallTreeJson);
  Manifest empty;
  EXPECT_EQ(CanonicalManifestJson(empty), R"({"format":"cairn-manifest","version":1,"files":[]})");
  auto e = ParseManifest(CanonicalManifestJson(empty));
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->files.empty());
  // Escaped names come back as the same bytes.
  Manifest odd;
  odd.files = {{"q\"\\\n\x01.txt", std::string(64, '0'), 0, false}};
  auto back = ParseManifest(CanonicalManifestJson(odd));
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(*back, odd);
}

TEST(ParseManifest, RejectsInvalidDocumentsWithAReason) {
  const std::string d(64, 'a');
  auto entry = [&](const std::string& path, const std::string& extra = "") {
    return R"({"path":")" + path + R"(","digest":")" + d + R"(","size":1,"exec":false)" + extra +
           "}";
  };
  auto doc = [](const std::string& files) {
    return R"({"format":"cairn-manifest","version":1,"files":[)" + files + "]}";
  };
  struct Case {
    std::string text;
    std::string fragment;
  } cases[] = {
      {"not json", "not valid JSON"},
      {"[]", "not a JSON object"},
      {R"({"format":"other","version":1,"files":[]})", "'format'"},
      {R"({"format":"cairn-manifest","version":2,"files":[]})", "version 2 is not supported"},
      {R"({"format":"cairn-manifest","version":1,"files":{}})", "'files' must be a list"},
      {R"({"format":"cairn-manifest","version":1,"files":[],"extra":1})", "unknown key 'extra'"},
      {doc(entry("a", R"(,"mode":1)")), "files[0] has an unknown key 'mode'"},
      {doc(entry("../a")), "files[0].path"},
      {doc(entry("/abs")), "files[0].path"},
      {doc(entry("b") + "," + entry("a")), "files[1].path 'a' is out of order"},
      {doc(entry("a") + "," + entry("a")), "out of order or repeated"},
      {doc(entry("a") + "," + entry("a/b")), "'a' is listed as a file and as a folder"},
      {doc(R"({"path":"a","digest":"ABC","size":1,"exec":false})"), "files[0].digest"},
      {doc(R"({"path":"a","digest":")" + d + R"(","size":-1,"exec":false})"),
       "files[0].size must be a non-negative integer"},
      {doc(R"({"path":"a","digest":")" + d + R"(","size":1.5,"exec":false})"), "files[0].size"},
      {doc(R"({"path":"a","digest":")" + d + R"(","size":1,"exec":"no"})"), "files[0].exec"},
  };
  for (const auto& c : cases) {
    auto r = ParseManifest(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(c.fragment), std::string::npos)
        << c.text << " -> " << r.error().message();
  }
}

}  // namespace
}  // namespace cairn::data
