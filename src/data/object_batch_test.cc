#include "data/object_batch.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

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

}  // namespace
}  // namespace cairn::data
