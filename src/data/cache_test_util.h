#pragma once
// Test helper for src/data: a temporary repository (InitWorkspace) with its
// cache open. Test-only (uses GoogleTest assertions).

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string_view>

#include "data/cache.h"
#include "data/data_test_util.h"
#include "data/workspace.h"

namespace cairn::data::testing {

struct TestRepo {
  TempDir dir;
  Workspace ws;
  std::unique_ptr<Cache> cache;

  TestRepo() {
    auto w = InitWorkspace(dir.path());
    EXPECT_TRUE(w) << w.error().ToString();
    ws = *w;
    auto c = Cache::Open(ws, DataConfig{});
    EXPECT_TRUE(c) << c.error().ToString();
    cache = std::move(*c);
  }
  std::filesystem::path Abs(std::string_view rp) const { return ws.Absolute(rp); }
  // Writes a workspace file with an mtime outside the stat cache's racy window.
  void Write(std::string_view rp, std::string_view content, bool exec = false) {
    WriteFile(Abs(rp), content, exec);
    AgeFile(Abs(rp));
  }
  // Replaces a (possibly hard-linked, read-only) file without touching the cache.
  void Replace(std::string_view rp, std::string_view content) {
    std::filesystem::remove(Abs(rp));
    Write(rp, content);
  }
};

}  // namespace cairn::data::testing
