// Remotes (remote.h) and push/fetch (transfer.h): a folder remote and a Cairn
// server (a live App on port 0) between two repositories' caches.

#include "data/remote.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/hash.h"
#include "data/cache.h"
#include "data/cache_test_util.h"
#include "data/data_test_util.h"
#include "data/hashing.h"
#include "data/transfer.h"
#include "http/server.h"
#include "support/live_server.h"

namespace cairn::data {
namespace {

namespace fs = std::filesystem;
using testing::AgeFile;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

struct Repo : testing::TestRepo {
  // Commits `rp` and returns its pointer, named by its repo path (as the CLI passes roots).
  Pointer Commit(std::string_view rp) {
    auto p = cache->Commit(rp, LinkMode::kCopy);
    EXPECT_TRUE(p) << p.error().ToString();
    Pointer pointer = p ? *p : Pointer{};
    pointer.path = std::string(rp);
    return pointer;
  }
  size_t TempFiles() const {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(cache->blobs().tmp_dir())) {
      (void)e;
      ++n;
    }
    return n;
  }
};

// A source repository with a folder (3 files, one duplicated content) and a file.
struct Source : Repo {
  std::vector<Pointer> roots;
  std::map<std::string, std::string> files;  // repo path -> bytes

  Source() {
    files = {{"data/raw/a.csv", "x,y\n1,2\n"},
             {"data/raw/sub/b.csv", std::string(300000, 'b')},
             {"data/raw/sub/c.csv", "x,y\n1,2\n"},  // same bytes as a.csv: one object
             {"model.bin", "weights v1"}};
    for (const auto& [path, bytes] : files) Write(path, bytes);
    roots = {Commit("data/raw"), Commit("model.bin")};
  }
  // Objects: the manifest, 2 distinct folder files, model.bin.
  static constexpr uint64_t kObjects = 4;
};

size_t CountFiles(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_regular_file()) ++n;
  }
  return n;
}

std::unique_ptr<Remote> Open(const std::string& url) {
  auto r = OpenRemote(url);
  EXPECT_TRUE(r) << r.error().ToString();
  return r ? std::move(*r) : nullptr;
}

// Checks out every root of `src` into `dst` and compares the bytes.
void ExpectSameFiles(Source& src, Repo& dst) {
  for (const Pointer& root : src.roots) {
    auto st = dst.cache->Checkout(root.path, root, LinkMode::kCopy, /*force=*/false);
    ASSERT_TRUE(st) << st.error().ToString();
  }
  for (const auto& [path, bytes] : src.files) {
    EXPECT_EQ(ReadFile(dst.Abs(path)), bytes) << path;
  }
}

// Fails every Put after the first `allowed` (a push interrupted mid-way).
class FailingRemote final : public Remote {
 public:
  FailingRemote(Remote& inner, int allowed) : inner_(inner), allowed_(allowed) {}
  const std::string& url() const override { return inner_.url(); }
  Result<std::vector<std::string>> Missing(const std::vector<std::string>& d) override {
    return inner_.Missing(d);
  }
  Status Put(std::string_view digest, const std::string& path) override {
    if (puts_++ >= allowed_) return Unavailable("connection reset (injected)");
    return inner_.Put(digest, path);
  }
  Result<std::string> Get(std::string_view digest, const std::string& dest) override {
    return inner_.Get(digest, dest);
  }
  Status Flush() override { return inner_.Flush(); }

 private:
  Remote& inner_;
  int allowed_;
  std::atomic<int> puts_{0};
};

// Serves the bytes of another object under the name asked for (a remote
// that mixed up its files): Get reports the digest of what it wrote, so the
// fetch must refuse it although every byte came from a sound object.
class ServesOtherObject final : public Remote {
 public:
  ServesOtherObject(Remote& inner, std::string asked, std::string served)
      : inner_(inner), asked_(std::move(asked)), served_(std::move(served)) {}
  const std::string& url() const override { return inner_.url(); }
  Result<std::vector<std::string>> Missing(const std::vector<std::string>& d) override {
    return inner_.Missing(d);
  }
  Status Put(std::string_view digest, const std::string& path) override {
    return inner_.Put(digest, path);
  }
  Result<std::string> Get(std::string_view digest, const std::string& dest) override {
    return inner_.Get(digest == asked_ ? served_ : digest, dest);
  }

 private:
  Remote& inner_;
  std::string asked_;
  std::string served_;
};

// Bytes no two calls with different seeds share, larger than the size from
// which HashingWriter hashes on a thread (data/hashing.h).
std::string BigBytes(uint32_t seed) {
  std::string s(HashingWriter::kHashOnThreadFromBytes + 3 * HashingWriter::kBufferBytes + 17, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

// Flips one byte in the middle of a (read-only) object file.
void DamageMiddle(const fs::path& object) {
  ::chmod(object.c_str(), 0644);
  std::string bytes = ReadFile(object);
  ASSERT_FALSE(bytes.empty());
  bytes[bytes.size() / 2] ^= 0x01;
  WriteFile(object, bytes);
}

TEST(OpenRemote, AcceptsFoldersAndServersRefusesOthers) {
  EXPECT_EQ(Open("/tmp/x")->url(), "/tmp/x");
  EXPECT_EQ(Open("file:///tmp/x")->url(), "file:///tmp/x");
  EXPECT_EQ(Open("http://127.0.0.1:5000")->url(), "http://127.0.0.1:5000");
  for (const char* bad :
       {"", "relative/path", "s3://bucket/x", "http://", "ftp://h/x", "http://h:5000/?q=1"}) {
    auto r = OpenRemote(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(FolderRemote, PushThenFetchIntoAnEmptyCacheRestoresIdenticalBytes) {
  Source src;
  Repo dst;
  TempDir remote_dir;
  std::string url = "file://" + (remote_dir.path() / "store").string();
  auto remote = Open(url);

  uint64_t last_done = 0, last_total = 0;
  TransferOptions options;
  options.jobs = 3;
  options.progress = [&](uint64_t done, uint64_t total, uint64_t) {
    last_done = done;
    last_total = total;
  };
  auto pushed = Push(*src.cache, *remote, src.roots, options);
  ASSERT_TRUE(pushed) << pushed.error().ToString();
  EXPECT_EQ(pushed->objects, Source::kObjects);
  EXPECT_EQ(pushed->transferred, Source::kObjects);
  EXPECT_EQ(pushed->already, 0u);
  const uint64_t manifest_size = fs::file_size(src.cache->blobs().ObjectPath(src.roots[0].digest));
  EXPECT_EQ(pushed->bytes, 8u + 300000u + 10u + manifest_size);
  EXPECT_EQ(last_done, Source::kObjects);
  EXPECT_EQ(last_total, Source::kObjects);
  EXPECT_EQ(CountFiles(remote_dir.path() / "store/objects"), Source::kObjects);
  EXPECT_EQ(CountFiles(remote_dir.path() / "store/tmp"), 0u);
  // The remote uses the cache's layout.
  const std::string& model = src.roots[1].digest;
  EXPECT_EQ(ReadFile(remote_dir.path() / "store/objects" / model.substr(0, 2) / model.substr(2)),
            "weights v1");

  auto fetched = Fetch(*dst.cache, *remote, src.roots, options);
  ASSERT_TRUE(fetched) << fetched.error().ToString();
  EXPECT_EQ(fetched->objects, Source::kObjects);
  EXPECT_EQ(fetched->transferred, Source::kObjects);
  EXPECT_EQ(fetched->already, 0u);
  EXPECT_EQ(fetched->bytes, pushed->bytes);
  EXPECT_EQ(last_done, Source::kObjects);
  EXPECT_EQ(dst.TempFiles(), 0u);
  ExpectSameFiles(src, dst);
}

TEST(FolderRemote, SecondPushAndFetchTransferNothing) {
  Source src;
  Repo dst;
  TempDir remote_dir;
  auto remote = Open(remote_dir.path().string());
  ASSERT_TRUE(Push(*src.cache, *remote, src.roots));
  auto again = Push(*src.cache, *remote, src.roots);
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->transferred, 0u);
  EXPECT_EQ(again->bytes, 0u);
  EXPECT_EQ(again->already, Source::kObjects);

  ASSERT_TRUE(Fetch(*dst.cache, *remote, src.roots));
  auto refetch = Fetch(*dst.cache, *remote, src.roots);
  ASSERT_TRUE(refetch) << refetch.error().ToString();
  EXPECT_EQ(refetch->transferred, 0u);
  EXPECT_EQ(refetch->already, Source::kObjects);
}

TEST(FolderRemote, StrayTempFileOnTheRemoteIsIgnored) {
  Source src;
  Repo dst;
  TempDir remote_dir;
  const std::string& model = src.roots[1].digest;
  // What an interrupted push leaves: half an object under tmp/, never under objects/.
  WriteFile(remote_dir.path() / "tmp/put-0123456789abcdef", "weig");
  auto remote = Open(remote_dir.path().string());
  auto missing = remote->Missing({model});
  ASSERT_TRUE(missing);
  EXPECT_EQ(*missing, std::vector<std::string>{model});

  auto pushed = Push(*src.cache, *remote, src.roots);
  ASSERT_TRUE(pushed) << pushed.error().ToString();
  EXPECT_EQ(pushed->transferred, Source::kObjects);
  ASSERT_TRUE(Fetch(*dst.cache, *remote, src.roots));
  ExpectSameFiles(src, dst);
}

TEST(FolderRemote, InterruptedPushLeavesNoManifestAndResumes) {
  Source src;
  TempDir remote_dir;
  auto remote = Open(remote_dir.path().string());
  FailingRemote flaky(*remote, 1);
  TransferOptions one_job;
  one_job.jobs = 1;
  auto pushed = Push(*src.cache, flaky, src.roots, one_job);
  ASSERT_FALSE(pushed);
  EXPECT_EQ(pushed.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(pushed.error().message().find("injected"), std::string::npos);
  EXPECT_EQ(CountFiles(remote_dir.path() / "objects"), 1u);
  // Files go first, so the folder's manifest is not on the remote.
  auto manifest_missing = remote->Missing({src.roots[0].digest});
  ASSERT_TRUE(manifest_missing);
  EXPECT_EQ(manifest_missing->size(), 1u);
  // A clone fetching now sees the folder as absent, not half there.
  Repo early;
  auto early_fetch = Fetch(*early.cache, *remote, {src.roots[0]});
  ASSERT_FALSE(early_fetch);
  EXPECT_EQ(early_fetch.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(early_fetch.error().message().find("data/raw"), std::string::npos)
      << early_fetch.error().message();

  auto resumed = Push(*src.cache, *remote, src.roots);
  ASSERT_TRUE(resumed) << resumed.error().ToString();
  EXPECT_EQ(resumed->transferred, Source::kObjects - 1);
  EXPECT_EQ(resumed->already, 1u);
  Repo dst;
  ASSERT_TRUE(Fetch(*dst.cache, *remote, src.roots));
  ExpectSameFiles(src, dst);
}

TEST(FolderRemote, CorruptObjectIsRefusedOnFetchAndNotCached) {
  Source src;
  Repo dst;
  TempDir remote_dir;
  auto remote = Open(remote_dir.path().string());
  ASSERT_TRUE(Push(*src.cache, *remote, src.roots));
  const std::string model = src.roots[1].digest;
  fs::path object = remote_dir.path() / "objects" / model.substr(0, 2) / model.substr(2);
  ::chmod(object.c_str(), 0644);
  WriteFile(object, "weights v2");  // same size, other bytes

  auto fetched = Fetch(*dst.cache, *remote, src.roots);
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error().code(), ErrorCode::kDataLoss);
  EXPECT_NE(fetched.error().message().find(model), std::string::npos) << fetched.error().message();
  EXPECT_NE(fetched.error().message().find(remote_dir.path().string()), std::string::npos);
  EXPECT_EQ(dst.cache->Has(model).value_or(true), false);
  EXPECT_EQ(dst.cache->Has(Sha256Hex("weights v2")).value_or(true), false);
  EXPECT_EQ(dst.TempFiles(), 0u);
  // Everything else arrived.
  auto folder_missing = dst.cache->MissingObjects(src.roots[0]);
  ASSERT_TRUE(folder_missing);
  EXPECT_TRUE(folder_missing->empty());
}

TEST(FolderRemote, GetReportsTheDigestOfTheBytesItWroteSmallAndBig) {
  Repo src;
  src.Write("small.bin", "weights v1");
  src.Write("big.bin", BigBytes(1));
  std::vector<Pointer> roots = {src.Commit("small.bin"), src.Commit("big.bin")};
  TempDir remote_dir;
  auto remote = Open(remote_dir.path().string());
  ASSERT_TRUE(Push(*src.cache, *remote, roots));
  TempDir local;
  for (const Pointer& root : roots) {
    fs::path out = local.path() / root.digest;
    auto got = remote->Get(root.digest, out.string());
    ASSERT_TRUE(got) << got.error().ToString();
    EXPECT_EQ(*got, root.digest);
    EXPECT_TRUE(ReadFile(out) == ReadFile(src.Abs(root.path)));
  }
  // Damaged on the remote: Get is not the judge, it reports what it wrote.
  const std::string big = roots[1].digest;
  DamageMiddle(remote_dir.path() / "objects" / big.substr(0, 2) / big.substr(2));
  fs::path out = local.path() / "damaged";
  auto got = remote->Get(big, out.string());
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_NE(*got, big);
  EXPECT_EQ(*got, Sha256Hex(ReadFile(out)));
}

TEST(FolderRemote, BigObjectDamagedInTheMiddleIsRefusedWithNothingInstalled) {
  Repo src;
  const std::string bytes = BigBytes(2);
  src.Write("big.bin", bytes);
  src.Write("other.bin", BigBytes(3));
  std::vector<Pointer> roots = {src.Commit("big.bin"), src.Commit("other.bin")};
  TempDir remote_dir;
  auto remote = Open(remote_dir.path().string());
  ASSERT_TRUE(Push(*src.cache, *remote, roots));
  const std::string big = roots[0].digest;
  DamageMiddle(remote_dir.path() / "objects" / big.substr(0, 2) / big.substr(2));

  Repo dst;
  auto fetched = Fetch(*dst.cache, *remote, roots);
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error().code(), ErrorCode::kDataLoss);
  EXPECT_NE(fetched.error().message().find(big), std::string::npos) << fetched.error().message();
  EXPECT_EQ(dst.cache->Has(big).value_or(true), false);
  EXPECT_EQ(dst.TempFiles(), 0u);
  // The sound object beside it arrived whole.
  EXPECT_EQ(dst.cache->Has(roots[1].digest).value_or(false), true);
  EXPECT_TRUE(ReadFile(dst.cache->blobs().ObjectPath(roots[1].digest)) == BigBytes(3));
}

TEST(FolderRemote, ARemoteServingAnotherObjectsBytesIsRefused) {
  Source src;
  TempDir remote_dir;
  auto folder = Open(remote_dir.path().string());
  ASSERT_TRUE(Push(*src.cache, *folder, src.roots));
  const std::string model = src.roots[1].digest;
  const std::string other = Sha256Hex(src.files["data/raw/sub/b.csv"]);
  ServesOtherObject remote(*folder, model, other);

  Repo dst;
  auto fetched = Fetch(*dst.cache, remote, src.roots);
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error().code(), ErrorCode::kDataLoss);
  EXPECT_NE(fetched.error().message().find(model), std::string::npos) << fetched.error().message();
  EXPECT_NE(fetched.error().message().find("hash to " + other), std::string::npos)
      << fetched.error().message();
  EXPECT_EQ(dst.cache->Has(model).value_or(true), false);
  EXPECT_EQ(dst.TempFiles(), 0u);
}

TEST(FolderRemote, FetchFromARemoteWithoutTheObjectsNamesThePaths) {
  Source src;
  Repo dst;
  TempDir remote_dir;
  auto remote = Open((remote_dir.path() / "never-pushed").string());
  auto fetched = Fetch(*dst.cache, *remote, src.roots);
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(fetched.error().message().find("data/raw"), std::string::npos)
      << fetched.error().message();
  EXPECT_NE(fetched.error().message().find("model.bin"), std::string::npos);
  EXPECT_EQ(dst.TempFiles(), 0u);
}

TEST(FolderRemote, ObjectMissingLocallyIsReportedAfterTheOthersWerePushed) {
  Source src;
  TempDir remote_dir;
  auto remote = Open(remote_dir.path().string());
  const std::string big = Sha256Hex(src.files["data/raw/sub/b.csv"]);
  ASSERT_TRUE(src.cache->blobs().Delete(big));
  auto pushed = Push(*src.cache, *remote, src.roots);
  ASSERT_FALSE(pushed);
  EXPECT_EQ(pushed.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(pushed.error().message().find("data/raw"), std::string::npos)
      << pushed.error().message();
  EXPECT_EQ(pushed.error().message().find("model.bin"), std::string::npos);
  // model.bin and a.csv went; the folder's manifest was withheld.
  auto missing =
      remote->Missing({src.roots[1].digest, Sha256Hex("x,y\n1,2\n"), src.roots[0].digest});
  ASSERT_TRUE(missing);
  EXPECT_EQ(*missing, std::vector<std::string>{src.roots[0].digest});
}

TEST(FolderRemote, PutRefusesADamagedLocalObject) {
  TempDir local;
  TempDir remote_dir;
  WriteFile(local.path() / "obj", "not what the digest says");
  auto remote = Open(remote_dir.path().string());
  std::string digest = Sha256Hex("something else");
  auto put = remote->Put(digest, (local.path() / "obj").string());
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code(), ErrorCode::kDataLoss);
  EXPECT_EQ(CountFiles(remote_dir.path()), 0u);
  auto get = remote->Get(digest, (local.path() / "out").string());
  ASSERT_FALSE(get);
  EXPECT_EQ(get.error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(local.path() / "out"));
}

class ServerRemote : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = test::LiveServer::Start("cairn-data-remote");
    ASSERT_TRUE(server) << server.error().ToString();
    server_ = std::move(*server);
    remote_ = Open(server_->uri());
  }
  fs::path ServerObject(const std::string& digest) const {
    return fs::path(server_->dir()) / "artifacts/data-objects/objects" / digest.substr(0, 2) /
           digest.substr(2);
  }
  std::unique_ptr<test::LiveServer> server_;
  std::unique_ptr<Remote> remote_;
};

TEST_F(ServerRemote, PushThenFetchRoundTripAndSecondPushSendsNothing) {
  Source src;
  Repo dst;
  auto pushed = Push(*src.cache, *remote_, src.roots);
  ASSERT_TRUE(pushed) << pushed.error().ToString();
  EXPECT_EQ(pushed->transferred, Source::kObjects);
  EXPECT_EQ(ReadFile(ServerObject(src.roots[1].digest)), "weights v1");

  auto again = Push(*src.cache, *remote_, src.roots);
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->transferred, 0u);
  EXPECT_EQ(again->already, Source::kObjects);

  auto fetched = Fetch(*dst.cache, *remote_, src.roots);
  ASSERT_TRUE(fetched) << fetched.error().ToString();
  EXPECT_EQ(fetched->transferred, Source::kObjects);
  EXPECT_EQ(dst.TempFiles(), 0u);
  ExpectSameFiles(src, dst);
}

TEST_F(ServerRemote, CorruptObjectOnTheServerIsRefused) {
  Source src;
  Repo dst;
  ASSERT_TRUE(Push(*src.cache, *remote_, src.roots));
  const std::string model = src.roots[1].digest;
  ::chmod(ServerObject(model).c_str(), 0644);
  WriteFile(ServerObject(model), "weights v2");
  auto fetched = Fetch(*dst.cache, *remote_, {src.roots[1]});
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error().code(), ErrorCode::kDataLoss);
  EXPECT_NE(fetched.error().message().find(model), std::string::npos);
  EXPECT_NE(fetched.error().message().find(server_->uri()), std::string::npos);
  EXPECT_EQ(dst.cache->Has(model).value_or(true), false);
  EXPECT_EQ(dst.TempFiles(), 0u);
}

TEST_F(ServerRemote, BigObjectIsHashedAsItArrivesAndRefusedWhenDamaged) {
  Repo src;
  src.Write("big.bin", BigBytes(4));
  std::vector<Pointer> roots = {src.Commit("big.bin")};
  ASSERT_TRUE(Push(*src.cache, *remote_, roots));
  const std::string big = roots[0].digest;
  TempDir local;
  auto got = remote_->Get(big, (local.path() / "good").string());
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(*got, big);
  EXPECT_TRUE(ReadFile(local.path() / "good") == BigBytes(4));

  DamageMiddle(ServerObject(big));
  got = remote_->Get(big, (local.path() / "damaged").string());
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(*got, Sha256Hex(ReadFile(local.path() / "damaged")));
  EXPECT_NE(*got, big);

  Repo dst;
  auto fetched = Fetch(*dst.cache, *remote_, roots);
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error().code(), ErrorCode::kDataLoss);
  EXPECT_NE(fetched.error().message().find(big), std::string::npos) << fetched.error().message();
  EXPECT_EQ(dst.cache->Has(big).value_or(true), false);
  EXPECT_EQ(dst.TempFiles(), 0u);
}

TEST_F(ServerRemote, MissingIsBatchedBeyondAThousand) {
  std::vector<std::string> digests;
  for (int i = 0; i < 2500; ++i) digests.push_back(Sha256Hex("object " + std::to_string(i)));
  TempDir local;
  // Three objects the server has, spread over the batches.
  for (int i : {5, 1200, 2499}) {
    std::string bytes = "object " + std::to_string(i);
    WriteFile(local.path() / "o", bytes);
    ASSERT_TRUE(remote_->Put(digests[i], (local.path() / "o").string()));
  }
  auto missing = remote_->Missing(digests);
  ASSERT_TRUE(missing) << missing.error().ToString();
  ASSERT_EQ(missing->size(), 2497u);
  EXPECT_EQ((*missing)[0], digests[0]);
  EXPECT_EQ((*missing)[5], digests[6]);
  EXPECT_EQ(missing->back(), digests[2498]);
}

TEST_F(ServerRemote, AbsentObjectIsNotFoundAndLeavesNoFile) {
  TempDir local;
  std::string digest = Sha256Hex("absent");
  auto get = remote_->Get(digest, (local.path() / "out").string());
  ASSERT_FALSE(get);
  EXPECT_EQ(get.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(CountFiles(local.path()), 0u);
}

TEST(ServerRemoteAuth, SendsTheBearerTokenAndReportsTheServersRefusal) {
  // A stand-in server that records the Authorization header and refuses uploads.
  std::mutex mu;
  std::vector<std::string> seen;
  http::Router router;
  router.Add(http::Method::kPost, "/api/v1/blobs/missing", [&](http::Request& req) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(req.Header("authorization").value_or(""));
    return http::Response::Json(200, R"({"missing":[]})");
  });
  router.Add(http::Route{http::Method::kPut, "/api/v1/blobs", true, http::BodyMode::kSpoolToFile,
                         [&](http::Request& req) {
                           std::lock_guard<std::mutex> lock(mu);
                           seen.push_back(req.Header("authorization").value_or(""));
                           return http::ErrorResponse(
                               Error(ErrorCode::kPermissionDenied, "alice may not write data"));
                         }});
  http::ServerOptions options;
  options.port = 0;
  options.threads = 1;
  options.access_log = false;
  http::HttpServer server(options, std::move(router));
  auto port = server.Start();
  ASSERT_TRUE(port) << port.error().ToString();
  RemoteOptions remote_options;
  remote_options.bearer_token = "s3cret";
  auto remote = OpenRemote("http://127.0.0.1:" + std::to_string(*port), remote_options);
  ASSERT_TRUE(remote);
  auto missing = (*remote)->Missing({Sha256Hex("x")});
  ASSERT_TRUE(missing) << missing.error().ToString();
  EXPECT_TRUE(missing->empty());
  TempDir local;
  WriteFile(local.path() / "o", "x");
  auto put = (*remote)->Put(Sha256Hex("x"), (local.path() / "o").string());
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(put.error().message(), "alice may not write data");
  server.Stop();
  EXPECT_EQ(seen, (std::vector<std::string>{"Bearer s3cret", "Bearer s3cret"}));
}

TEST(ServerRemoteDown, UnreachableServerIsUnavailable) {
  // A port nothing listens on: bind one, then close it.
  auto server = test::LiveServer::Start("cairn-data-remote-down");
  ASSERT_TRUE(server);
  std::string uri = (*server)->uri();
  server->reset();
  auto remote = Open(uri);
  auto missing = remote->Missing({Sha256Hex("x")});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kUnavailable) << missing.error().ToString();
}

}  // namespace
}  // namespace cairn::data
