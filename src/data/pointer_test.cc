#include "data/pointer.h"

#include <gtest/gtest.h>

#include "data/data_test_util.h"

namespace cairn::data {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

const std::string kDigest = "9f2c" + std::string(60, '0');

Pointer DirPointer() {
  Pointer p;
  p.path = "raw";
  p.kind = PointerKind::kDir;
  p.digest = kDigest;
  p.size = 1048576;
  p.files = 12;
  return p;
}

TEST(Pointer, CanonicalTextIsExactlyAsDocumented) {
  EXPECT_EQ(FormatPointer(DirPointer()).value(),
            "# Cairn data pointer: commit this file; the data is in the cache and on remotes.\n"
            "path: raw\n"
            "kind: dir\n"
            "digest: sha256:" +
                kDigest +
                "\n"
                "size: 1048576\n"
                "files: 12\n");
  Pointer f;
  f.path = "model.bin";
  f.digest = kDigest;
  f.size = 0;
  EXPECT_EQ(FormatPointer(f).value(),
            std::string(kPointerComment) +
                "\npath: model.bin\nkind: file\ndigest: sha256:" + kDigest + "\nsize: 0\n");
}

TEST(Pointer, WriteReadRoundTrip) {
  TempDir t;
  fs::path file = t.path() / "raw.cairn";
  ASSERT_TRUE(WritePointer(file, DirPointer()));
  auto back = ReadPointer(file);
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(*back, DirPointer());
  // Rewriting gives the same bytes, and no temporary file is left behind.
  std::string first = ReadFile(file);
  ASSERT_TRUE(WritePointer(file, *back));
  EXPECT_EQ(ReadFile(file), first);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(t.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(Pointer, PathsThatNeedQuotingRoundTrip) {
  TempDir t;
  for (const char* path : {"yes", "123", "a b.csv", "x: y", "#hash", "-dash", "é.csv", "q\"uote\\s",
                           "sub/dir/file.txt", "NULL", "1e3", "tab\there"}) {
    Pointer p;
    p.path = path;
    p.digest = kDigest;
    p.size = 7;
    fs::path file = t.path() / "p.cairn";
    ASSERT_TRUE(WritePointer(file, p)) << path;
    auto back = ReadPointer(file);
    ASSERT_TRUE(back) << path << ": " << back.error().ToString() << "\n" << ReadFile(file);
    EXPECT_EQ(back->path, path) << ReadFile(file);
  }
  // Plain where that is unambiguous, quoted otherwise.
  Pointer p;
  p.digest = kDigest;
  p.path = "data.csv";
  EXPECT_NE(FormatPointer(p)->find("\npath: data.csv\n"), std::string::npos);
  p.path = "yes";
  EXPECT_NE(FormatPointer(p)->find("\npath: \"yes\"\n"), std::string::npos);
}

TEST(Pointer, AcceptsHandWrittenVariants) {
  // Comments, other key order, extra blank lines: fine when the content is valid.
  auto p = ParsePointer(
      "size: 3\n\n# note\nkind: file  # a file\ndigest: sha256:" + kDigest + "\npath: 'a.txt'\n",
      "a.txt.cairn");
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_EQ(p->path, "a.txt");
  EXPECT_EQ(p->size, 3u);
  EXPECT_EQ(p->kind, PointerKind::kFile);
  EXPECT_FALSE(p->files.has_value());
}

TEST(Pointer, EachInvalidStateIsReportedWithFileAndLine) {
  const std::string head = std::string(kPointerComment) + "\n";
  const std::string digest_line = "digest: sha256:" + kDigest + "\n";
  struct Case {
    std::string text;
    std::string message;  // the exact message
  } cases[] = {
      {head + "path: raw\nkind: dir\n" + digest_line + "size: 1\nfiles: 1\ncolor: blue\n",
       "d/raw.cairn:7: unknown key 'color' (a pointer has path, kind, digest, size, files)"},
      {head + "path: raw\nkind: dir\n" + digest_line + "size: 1\nfiles: 1\nsize: 2\n",
       "d/raw.cairn:7: key 'size' is repeated"},
      {head + "path: raw\nkind: file\n" + digest_line + "size: -5\n",
       "d/raw.cairn:5: size must be a non-negative integer, not '-5'"},
      {head + "path: raw\nkind: file\n" + digest_line + "size: 1.5\n",
       "d/raw.cairn:5: size must be a non-negative integer, not '1.5'"},
      {head + "path: raw\nkind: file\n" + digest_line + "size: \"12\"\n",
       "d/raw.cairn:5: size must be a number, not the quoted string '12'"},
      {head + "path: raw\nkind: file\n" + digest_line + "size: [1]\n",
       "d/raw.cairn:5: size must be a non-negative integer, not a list"},
      {head + "path: raw\nkind: file\n" + digest_line + "size: 99999999999999999999\n",
       "d/raw.cairn:5: size '99999999999999999999' is too large"},
      {head + "path: [a, b]\nkind: file\n" + digest_line + "size: 1\n",
       "d/raw.cairn:2: path must be a string, not a list"},
      {head + "path: raw\nkind: folder\n" + digest_line + "size: 1\n",
       "d/raw.cairn:3: kind must be 'file' or 'dir', not 'folder'"},
      {head + "path: raw\nkind: file\ndigest: md5:abc\nsize: 1\n",
       "d/raw.cairn:4: digest must be 'sha256:' followed by 64 lowercase hex characters, not "
       "'md5:abc'"},
      {head + "path: raw\nkind: file\ndigest: sha256:" + std::string(64, 'A') + "\nsize: 1\n",
       "d/raw.cairn:4: digest must be 'sha256:' followed by 64 lowercase hex characters, not "
       "'sha256:" +
           std::string(64, 'A') + "'"},
      {head + "path: raw\nkind: file\n" + digest_line + "size: 1\nfiles: 3\n",
       "d/raw.cairn:6: 'files' is only for kind: dir (this pointer is kind: file)"},
      {head + "path: raw\nkind: dir\n" + digest_line + "size: 1\n",
       "d/raw.cairn:2: missing key 'files' (required for kind: dir)"},
      {head + "path: raw\nkind: file\nsize: 1\n", "d/raw.cairn:2: missing key 'digest'"},
      {head + "path: ../escape\nkind: file\n" + digest_line + "size: 1\n",
       "d/raw.cairn:2: path '../escape' must be relative to the pointer's folder, without '..', "
       "'.' or empty parts"},
      {head + "path: /etc/passwd\nkind: file\n" + digest_line + "size: 1\n",
       "d/raw.cairn:2: path '/etc/passwd' must be relative to the pointer's folder, without "
       "'..', '.' or empty parts"},
      {head + "path: \"\"\nkind: file\n" + digest_line + "size: 1\n",
       "d/raw.cairn:2: path is empty"},
      {head + "- just\n- a list\n",
       "d/raw.cairn:2: a pointer must be a mapping of path, kind, digest, size (and files), not a "
       "list"},
      {"",
       "d/raw.cairn:1: a pointer must be a mapping of path, kind, digest, size (and files), "
       "not empty"},
  };
  for (const auto& c : cases) {
    auto r = ParsePointer(c.text, "d/raw.cairn");
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message(), c.message) << c.text;
  }
  // Broken YAML names the line of the problem.
  auto broken = ParsePointer(head + "path: raw\nkind: [file\n", "x.cairn");
  ASSERT_FALSE(broken);
  EXPECT_TRUE(broken.error().message().starts_with("x.cairn:")) << broken.error().message();
  EXPECT_NE(broken.error().message().find("invalid YAML"), std::string::npos);
}

TEST(Pointer, ReadMissingFileIsNotFound) {
  TempDir t;
  auto r = ReadPointer(t.path() / "nope.cairn");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.error().message().find("nope.cairn"), std::string::npos);
}

TEST(Pointer, WriteRefusesInvalidPointersAndLeavesOldFile) {
  TempDir t;
  fs::path file = t.path() / "raw.cairn";
  ASSERT_TRUE(WritePointer(file, DirPointer()));
  std::string before = ReadFile(file);
  Pointer bad = DirPointer();
  bad.files.reset();
  auto s = WritePointer(file, bad);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  bad = DirPointer();
  bad.digest = "xyz";
  EXPECT_FALSE(WritePointer(file, bad));
  bad = DirPointer();
  bad.path = "../up";
  EXPECT_FALSE(WritePointer(file, bad));
  EXPECT_EQ(ReadFile(file), before);
}

}  // namespace
}  // namespace cairn::data
