// The generated bundles (ui_bundle.h, embed_files.cmake): testdata/ compiled
// in byte for byte (every byte value, an empty file, CR LF, quotes,
// backslashes, a nested path), ETags from SHA-256, exact-path lookup, the
// empty bundle of a missing folder, and the embedded web UI against ui/dist.

#include "ui_bundle/ui_bundle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/hash.h"

namespace cairn::ui_bundle {
namespace testdata {
const Bundle& TestBundle();
const Bundle& MissingFolderBundle();
}  // namespace testdata
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> Paths(const Bundle& b) {
  std::vector<std::string> out;
  for (const File& f : b.files()) out.emplace_back(f.path);
  return out;
}

// Regular files under `dir`, relative, '/'-separated, sorted.
std::vector<std::string> FilesUnder(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path().lexically_relative(dir).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(UiBundleTest, TestdataIsEmbeddedByteForByte) {
  const Bundle& b = testdata::TestBundle();
  ASSERT_EQ(Paths(b),
            (std::vector<std::string>{"assets/all-bytes.bin", "assets/empty.txt",
                                      "assets/nested/deep/a-b_c.1+2@x~.js", "index.html"}));
  const File* bin = b.Find("assets/all-bytes.bin");
  ASSERT_NE(bin, nullptr);
  ASSERT_EQ(bin->bytes.size(), 512u);
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(static_cast<unsigned char>(bin->bytes[i]), i) << i;
    EXPECT_EQ(static_cast<unsigned char>(bin->bytes[511 - i]), i) << 511 - i;
  }
  const File* index = b.Find("index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->bytes,
            "<!doctype html>\n<p>\"quoted\" \\back\\slash ?\?=trigraph \\x41BC\r\n</p>\n");
  ASSERT_NE(b.Find("assets/empty.txt"), nullptr);
  EXPECT_EQ(b.Find("assets/empty.txt")->bytes.size(), 0u);
  EXPECT_EQ(b.Find("assets/nested/deep/a-b_c.1+2@x~.js")->bytes, "export const a = 1;\n");
  EXPECT_EQ(b.total_bytes(), 512u + 0u + 20u + 65u);

  // And each equals the file on disk, with an ETag from its SHA-256.
  for (const File& f : b.files()) {
    EXPECT_EQ(f.bytes, ReadFile(fs::path(CAIRN_UI_BUNDLE_TESTDATA) / f.path)) << f.path;
    EXPECT_EQ(f.etag, "\"" + Sha256Hex(f.bytes).substr(0, 20) + "\"") << f.path;
  }
  EXPECT_EQ(b.Find("assets/empty.txt")->etag,
            "\"e3b0c44298fc1c149afb\"");  // SHA-256 of nothing
}

TEST(UiBundleTest, FindTakesExactPathsOnly) {
  const Bundle& b = testdata::TestBundle();
  EXPECT_EQ(b.Find("index.html"), &b.files().back());
  for (const char* path :
       {"", "/index.html", "./index.html", "index.html/", "INDEX.HTML", "assets", "assets/",
        "assets/nested", "assets//empty.txt", "assets/nested/../empty.txt", "index.htm"}) {
    EXPECT_EQ(b.Find(path), nullptr) << path;
  }
}

TEST(UiBundleTest, AMissingFolderGivesAnEmptyBundle) {
  const Bundle& b = testdata::MissingFolderBundle();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.files().size(), 0u);
  EXPECT_EQ(b.total_bytes(), 0u);
  EXPECT_EQ(b.Find("index.html"), nullptr);
  EXPECT_TRUE(Bundle().empty());
  EXPECT_FALSE(testdata::TestBundle().empty());
}

// The binary's UI is ui/dist as it was at build time. (A ui/dist rebuilt
// after the last `cmake --build` makes this fail until the next build.)
TEST(UiBundleTest, EmbeddedIsUiDist) {
  const fs::path dist = CAIRN_UI_DIST;
  const Bundle& b = Embedded();
  if (!fs::exists(dist / "index.html")) {
    if (!b.empty()) GTEST_SKIP() << dist << " was removed after the build";
    EXPECT_EQ(b.Find("index.html"), nullptr);
    return;
  }
  ASSERT_EQ(Paths(b), FilesUnder(dist))
      << "the embedded UI is not " << dist << ": build again (cmake --build) after npm run build";
  for (const File& f : b.files()) {
    EXPECT_EQ(f.bytes, ReadFile(dist / f.path)) << f.path;
    EXPECT_EQ(f.etag, "\"" + Sha256Hex(f.bytes).substr(0, 20) + "\"") << f.path;
  }
  ASSERT_NE(b.Find("index.html"), nullptr);
  EXPECT_NE(b.Find("index.html")->bytes.find("/assets/"), std::string_view::npos);
}

}  // namespace
}  // namespace cairn::ui_bundle
