// Audit of issue 5's "a remote that is unreachable mid-push (resumable,
// nothing corrupt)" against a real Cairn server: the server goes away in
// the middle of a push (its App is stopped after the first objects were
// stored), the push fails with kUnavailable, every object the server kept
// is whole, the folder's manifest is not among them; a server started again
// on the same object folder (another port) receives the rest from a second
// push, which sends only what is missing, and a fresh cache fetches the
// data back byte for byte. (remote_test.cc covers the folder remote with an
// injected failure and a server that is down from the start.)

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/hash.h"
#include "data/cache.h"
#include "data/cache_test_util.h"
#include "data/data_test_util.h"
#include "data/remote.h"
#include "data/transfer.h"
#include "support/live_server.h"

namespace cairn::data {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;

// Forwards to a server remote; after `allowed` successful Puts it stops the
// server (from the pushing thread, as a crash or a network cut would look
// to the client), so later requests meet a closed port.
class StopsServerAfter final : public Remote {
 public:
  StopsServerAfter(Remote& inner, int allowed, std::function<void()> stop)
      : inner_(inner), allowed_(allowed), stop_(std::move(stop)) {}
  const std::string& url() const override { return inner_.url(); }
  Result<std::vector<std::string>> Missing(const std::vector<std::string>& d) override {
    return inner_.Missing(d);
  }
  Status Put(std::string_view digest, const std::string& path) override {
    Status st = inner_.Put(digest, path);
    if (st && ++puts_ == allowed_) {
      std::lock_guard<std::mutex> guard(mu_);
      stop_();
    }
    return st;
  }
  Result<std::string> Get(std::string_view digest, const std::string& dest) override {
    return inner_.Get(digest, dest);
  }
  Status Flush() override { return inner_.Flush(); }

 private:
  Remote& inner_;
  int allowed_;
  std::function<void()> stop_;
  std::mutex mu_;
  std::atomic<int> puts_{0};
};

// Every object file under `objects`, by digest (the folder/name layout).
std::map<std::string, fs::path> ObjectsIn(const fs::path& objects) {
  std::map<std::string, fs::path> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(objects, ec);
       it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file()) continue;
    const fs::path p = it->path();
    found[p.parent_path().filename().string() + p.filename().string()] = p;
  }
  return found;
}

TEST(ServerRemoteAudit, ServerLostMidPushLeavesWholeObjectsAndTheNextPushResumes) {
  // A folder of 40 files (one manifest plus 40 objects) and a file.
  testing::TestRepo src;
  std::map<std::string, std::string> files;
  for (int i = 0; i < 40; ++i) {
    files["data/raw/part-" + std::to_string(i) + ".csv"] =
        "id,value\n" + std::to_string(i) + "," + std::string(2000 + i * 37, 'a' + i % 26) + "\n";
  }
  files["model.bin"] = "weights v1";
  for (const auto& [path, bytes] : files) src.Write(path, bytes);
  std::vector<Pointer> roots;
  for (const char* rp : {"data/raw", "model.bin"}) {
    auto p = src.cache->Commit(rp, LinkMode::kCopy);
    ASSERT_TRUE(p) << p.error().ToString();
    Pointer pointer = *p;
    pointer.path = rp;
    roots.push_back(pointer);
  }
  const std::string manifest_digest = roots[0].digest;
  constexpr uint64_t kObjects = 42;  // 40 files, the manifest, model.bin

  // The server's objects live in a folder that outlives each server.
  TempDir store;
  const fs::path artifacts = store.path() / "artifacts";
  auto configure = [&](api::AppConfig& cfg) {
    cfg.artifacts_destination = "file://" + artifacts.string();
  };
  auto first = test::LiveServer::Start("cairn-remote-audit", configure);
  ASSERT_TRUE(first) << first.error().ToString();
  std::unique_ptr<test::LiveServer> server = std::move(*first);
  auto remote = OpenRemote(server->uri());
  ASSERT_TRUE(remote) << remote.error().ToString();

  StopsServerAfter cut(**remote, 5, [&] { server.reset(); });
  TransferOptions options;
  options.jobs = 2;
  auto pushed = Push(*src.cache, cut, roots, options);
  ASSERT_FALSE(pushed) << "the push should fail once the server is gone";
  EXPECT_EQ(pushed.error().code(), ErrorCode::kUnavailable) << pushed.error().ToString();

  // What the server kept is whole (each object's bytes hash to its name),
  // fewer than all, and never the manifest (files go first).
  const fs::path objects = artifacts / "data-objects" / "objects";
  auto kept = ObjectsIn(objects);
  EXPECT_GE(kept.size(), 5u);
  EXPECT_LT(kept.size(), kObjects);
  EXPECT_FALSE(kept.contains(manifest_digest));
  for (const auto& [digest, path] : kept) {
    EXPECT_EQ(Sha256Hex(ReadFile(path)), digest) << path;
  }

  // Back on another port, same objects: the second push sends the rest only.
  auto second = test::LiveServer::Start("cairn-remote-audit", configure);
  ASSERT_TRUE(second) << second.error().ToString();
  server = std::move(*second);
  auto again_remote = OpenRemote(server->uri());
  ASSERT_TRUE(again_remote) << again_remote.error().ToString();
  auto resumed = Push(*src.cache, **again_remote, roots, options);
  ASSERT_TRUE(resumed) << resumed.error().ToString();
  EXPECT_EQ(resumed->already, kept.size());
  EXPECT_EQ(resumed->transferred, kObjects - kept.size());
  EXPECT_EQ(ObjectsIn(objects).size(), kObjects);
  EXPECT_TRUE(ObjectsIn(objects).contains(manifest_digest));

  // A fresh cache gets every byte back.
  testing::TestRepo dst;
  auto fetched = Fetch(*dst.cache, **again_remote, roots, options);
  ASSERT_TRUE(fetched) << fetched.error().ToString();
  EXPECT_EQ(fetched->transferred, kObjects);
  for (const Pointer& root : roots) {
    auto st = dst.cache->Checkout(root.path, root, LinkMode::kCopy, /*force=*/false);
    ASSERT_TRUE(st) << st.error().ToString();
  }
  for (const auto& [path, bytes] : files) EXPECT_EQ(ReadFile(dst.Abs(path)), bytes) << path;
}

}  // namespace
}  // namespace cairn::data
