#include "api/artifact_handlers.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "blob/blob_test_util.h"
#include "blob/local/local_artifact_repository.h"
#include "core/hash.h"

namespace cairn::api {
namespace {

using blob::testing::CountFiles;
using blob::testing::PathExists;
using blob::testing::ReadFile;
using blob::testing::ScratchDir;
using blob::testing::Snapshot;
using blob::testing::WriteFile;

constexpr char kBase[] = "/api/2.0/mlflow-artifacts/artifacts";
constexpr char kAjaxBase[] = "/ajax-api/2.0/mlflow-artifacts/artifacts";

struct RawResponse {
  int status = 0;
  std::string head;  // status line + headers
  std::string body;
  std::string Header(std::string name) const {
    // Case-insensitive search for "\r\n<name>: value".
    std::string lower_head = head;
    for (char& c : lower_head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto pos = lower_head.find("\r\n" + name + ":");
    if (pos == std::string::npos) return "";
    pos += name.size() + 3;
    auto end = head.find("\r\n", pos);
    std::string value = head.substr(pos, end - pos);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    return value;
  }
};

int Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{15, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string DecodeChunked(std::string_view in) {
  std::string out;
  while (!in.empty()) {
    auto eol = in.find("\r\n");
    if (eol == std::string_view::npos) break;
    size_t size = std::stoul(std::string(in.substr(0, eol)), nullptr, 16);
    if (size == 0) break;
    out.append(in.substr(eol + 2, size));
    in.remove_prefix(std::min(in.size(), eol + 2 + size + 2));
  }
  return out;
}

// One request on its own connection ("Connection: close"): the raw target is
// sent exactly as given, so traversal attempts reach the server unnormalized.
RawResponse Exchange(int port, std::string_view method, std::string_view target,
                     std::string_view body = "", bool with_body = false) {
  RawResponse r;
  int fd = Connect(port);
  if (fd < 0) return r;
  std::string req = std::string(method) + " " + std::string(target) +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (with_body || !body.empty()) req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req += body;
  SendAll(fd, req);
  std::string raw;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return r;
  r.head = raw.substr(0, end + 2);
  r.body = raw.substr(end + 4);
  if (raw.size() > 12) r.status = std::atoi(raw.substr(9, 3).c_str());
  if (r.Header("Transfer-Encoding").find("chunked") != std::string::npos) {
    r.body = DecodeChunked(r.body);
  }
  return r;
}

class ArtifactHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto repo = blob::LocalArtifactRepository::Open(dir_ / "artifacts");
    ASSERT_TRUE(repo) << repo.error().ToString();
    repo_ = std::move(*repo);
    http::ServerOptions options;
    options.port = 0;
    options.threads = 2;
    options.spool_dir = repo_->SpoolDir();
    options.access_log = false;
    options.body_timeout = std::chrono::seconds(5);
    http::Router router;
    MountArtifactRoutes(router, *repo_);
    server_ = std::make_unique<http::HttpServer>(options, std::move(router));
    auto port = server_->Start();
    ASSERT_TRUE(port) << port.error().ToString();
    port_ = *port;
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  RawResponse Put(const std::string& target, std::string_view body) {
    return Exchange(port_, "PUT", target, body, true);
  }
  RawResponse Get(const std::string& target) { return Exchange(port_, "GET", target); }
  RawResponse Delete(const std::string& target) { return Exchange(port_, "DELETE", target); }
  std::string Root() const { return dir_ / "artifacts"; }
  std::string Tree() const { return dir_ / "artifacts/tree"; }

  ScratchDir dir_;
  std::unique_ptr<blob::LocalArtifactRepository> repo_;
  std::unique_ptr<http::HttpServer> server_;
  int port_ = 0;
};

TEST_F(ArtifactHandlersTest, UploadDownloadListDelete) {
  const std::string run = std::string(kBase) + "/1/abc/artifacts";
  std::string binary;
  for (int i = 0; i < 256 * 40; ++i) binary.push_back(static_cast<char>(i % 256));

  auto up1 = Put(run + "/model/MLmodel", "flavors: {}\n");
  EXPECT_EQ(up1.status, 200) << up1.head << up1.body;
  EXPECT_EQ(up1.body, "{}");
  EXPECT_EQ(Put(run + "/model/data.bin", binary).status, 200);
  EXPECT_EQ(Put(run + "/metrics%20v1.json", "{\"a\":1}").status, 200);
  EXPECT_EQ(ReadFile(Tree() + "/1/abc/artifacts/model/MLmodel"), "flavors: {}\n");

  auto text = Get(run + "/model/MLmodel");
  EXPECT_EQ(text.status, 200);
  EXPECT_EQ(text.body, "flavors: {}\n");
  EXPECT_EQ(text.Header("Content-Type"), "text/plain");
  EXPECT_EQ(text.Header("Content-Disposition"), "attachment; filename=\"MLmodel\"");
  EXPECT_EQ(text.Header("X-Content-Type-Options"), "nosniff");
  auto bin = Get(run + "/model/data.bin");
  EXPECT_EQ(bin.status, 200);
  EXPECT_EQ(bin.body, binary);
  EXPECT_EQ(bin.Header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(Get(run + "/metrics%20v1.json").body, "{\"a\":1}");

  auto top = Get(std::string(kBase) + "?path=1/abc/artifacts");
  EXPECT_EQ(top.status, 200);
  EXPECT_EQ(top.Header("Content-Type"), "application/json");
  EXPECT_EQ(top.body,
            "{\"files\":[{\"path\":\"metrics v1.json\",\"is_dir\":false,\"file_size\":7},"
            "{\"path\":\"model\",\"is_dir\":true}]}");
  EXPECT_EQ(Get(std::string(kBase) + "?path=1%2Fabc%2Fartifacts%2Fmodel").body,
            "{\"files\":[{\"path\":\"MLmodel\",\"is_dir\":false,\"file_size\":12},"
            "{\"path\":\"data.bin\",\"is_dir\":false,\"file_size\":10240}]}");
  EXPECT_EQ(Get(std::string(kBase) + "?path=1/abc/artifacts/model/").body,
            Get(std::string(kBase) + "?path=1/abc/artifacts/model").body);
  EXPECT_EQ(Get(std::string(kBase)).body, "{\"files\":[{\"path\":\"1\",\"is_dir\":true}]}");

  // The client deletes a run's artifacts with a trailing slash.
  auto del_file = Delete(run + "/model/data.bin");
  EXPECT_EQ(del_file.status, 200);
  EXPECT_EQ(del_file.body, "{}");
  auto gone = Get(run + "/model/data.bin");
  EXPECT_EQ(gone.status, 404);
  EXPECT_NE(gone.body.find("\"error_code\":\"RESOURCE_DOES_NOT_EXIST\""), std::string::npos)
      << gone.body;
  EXPECT_EQ(Delete(run + "/").status, 200);
  EXPECT_FALSE(PathExists(Tree() + "/1/abc/artifacts"));
  EXPECT_EQ(Get(std::string(kBase) + "?path=1/abc/artifacts").body, "{}");
  EXPECT_EQ(Delete(run + "/never-was").status, 200);
}

TEST_F(ArtifactHandlersTest, AjaxPrefixServesTheSameTree) {
  EXPECT_EQ(Put(std::string(kAjaxBase) + "/r/a.txt", "via ajax").status, 200);
  EXPECT_EQ(Get(std::string(kBase) + "/r/a.txt").body, "via ajax");
  EXPECT_EQ(Get(std::string(kAjaxBase) + "?path=r").body,
            "{\"files\":[{\"path\":\"a.txt\",\"is_dir\":false,\"file_size\":8}]}");
  EXPECT_EQ(Delete(std::string(kAjaxBase) + "/r/a.txt").status, 200);
  EXPECT_EQ(Get(std::string(kBase) + "/r/a.txt").status, 404);
}

TEST_F(ArtifactHandlersTest, ErrorsUseMlflowShapes) {
  ASSERT_EQ(Put(std::string(kBase) + "/d/f.txt", "x").status, 200);
  auto folder = Get(std::string(kBase) + "/d");
  EXPECT_EQ(folder.status, 400);
  EXPECT_NE(folder.body.find("INVALID_PARAMETER_VALUE"), std::string::npos);
  auto root_delete = Delete(std::string(kBase) + "/");
  EXPECT_EQ(root_delete.status, 400);
  EXPECT_TRUE(PathExists(Tree() + "/d/f.txt"));
  auto no_path = Put(std::string(kBase) + "/", "x");
  EXPECT_EQ(no_path.status, 400);
}

TEST_F(ArtifactHandlersTest, TraversalThroughTheUrlIsRefusedAndWritesNothing) {
  ASSERT_EQ(Put(std::string(kBase) + "/run/ok.txt", "ok").status, 200);
  WriteFile(dir_ / "outside/secret", "do not touch");
  const auto before = Snapshot(dir_.path());
  const std::string b = kBase;
  const std::vector<std::string> targets = {
      b + "/../../../../tmp/evil.txt",
      b + "/run/../../evil.txt",
      b + "/..",
      b + "/%2e%2e/%2e%2e/evil.txt",
      b + "/%2E%2E%2F%2E%2E%2Fevil.txt",
      b + "/run%2F..%2F..%2Fevil.txt",
      b + "/%2Fetc%2Fpasswd",
      b + "//etc/passwd",
      b + "/%252e%252e/evil.txt",
      b + "/run%5C..%5C..%5Cevil.txt",
      b + "/run/%00evil",
      b + "/run/./ok.txt",
      b + "/run//ok.txt",
  };
  for (const std::string& target : targets) {
    SCOPED_TRACE(target);
    auto put = Put(target, "evil");
    EXPECT_EQ(put.status, 400) << put.body;
    EXPECT_EQ(Get(target).status, 400);
    EXPECT_EQ(Delete(target).status, 400);
  }
  for (std::string query : {"?path=..", "?path=../..", "?path=run/../..", "?path=%2Fetc",
                                   "?path=%2e%2e", "?path=%252e%252e", "?path=run%5C.."}) {
    SCOPED_TRACE(query);
    EXPECT_EQ(Get(b + query).status, 400);
  }
  EXPECT_EQ(Snapshot(dir_.path()), before);
  EXPECT_EQ(ReadFile(dir_ / "outside/secret"), "do not touch");
  EXPECT_EQ(CountFiles(repo_->SpoolDir()), 0);
}

TEST_F(ArtifactHandlersTest, ClientDisconnectingMidUploadLeavesNothing) {
  const auto before = Snapshot(Root());
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  std::string head = std::string("PUT ") + kBase +
                     "/run/big.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n";
  ASSERT_TRUE(SendAll(fd, head));
  ASSERT_TRUE(SendAll(fd, std::string(256 * 1024, 'p')));
  // Wait until the server has started spooling, then vanish.
  for (int i = 0; i < 200 && CountFiles(repo_->SpoolDir()) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(CountFiles(repo_->SpoolDir()), 1);
  ::close(fd);
  for (int i = 0; i < 500 && Snapshot(Root()) != before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Snapshot(Root()), before);
  EXPECT_FALSE(PathExists(Tree() + "/run/big.bin"));
  // The server is fine afterwards.
  EXPECT_EQ(Put(std::string(kBase) + "/run/small.bin", "s").status, 200);
}

TEST_F(ArtifactHandlersTest, LargeUploadIsStoredOnceAndStreamedBack) {
  std::string content(8 << 20, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * 7919) >> 5);
  ASSERT_EQ(Put(std::string(kBase) + "/a/weights.bin", content).status, 200);
  ASSERT_EQ(Put(std::string(kBase) + "/b/weights.bin", content).status, 200);
  EXPECT_EQ(CountFiles(Root() + "/objects"), 1);
  struct stat st = blob::testing::StatOf(repo_->blobs().ObjectPath(Sha256Hex(content)));
  EXPECT_EQ(st.st_nlink, 3u);  // one object, two tree links, no copies
  EXPECT_EQ(CountFiles(repo_->SpoolDir()), 0);
  auto got = Get(std::string(kBase) + "/b/weights.bin");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body.size(), content.size());
  EXPECT_TRUE(got.body == content);
}

// The real mlflow client (2.x and 3.x venvs) logs, lists, downloads and
// deletes through these routes.
void RunMlflowClient(const std::string& python, int port, const std::string& work_dir) {
  if (!PathExists(python)) GTEST_SKIP() << python << " not installed";
  std::string script = work_dir + "/client.py";
  WriteFile(script, R"PY(
import filecmp, os, sys, tempfile
os.environ["MLFLOW_TRACKING_URI"] = "http://127.0.0.1:" + sys.argv[1]
from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository
repo = MlflowArtifactsRepository("mlflow-artifacts:/0/abc123/artifacts")
src = tempfile.mkdtemp()
os.makedirs(os.path.join(src, "model", "data"))
with open(os.path.join(src, "model", "MLmodel"), "w") as f: f.write("flavors: {}\n")
with open(os.path.join(src, "model", "data", "w.bin"), "wb") as f: f.write(bytes(range(256)) * 100)
with open(os.path.join(src, "notes.txt"), "w") as f: f.write("hello")
repo.log_artifacts(src)
repo.log_artifact(os.path.join(src, "notes.txt"), "extra")
top = [(f.path, f.is_dir, f.file_size) for f in repo.list_artifacts()]
assert top == [("extra", True, None), ("model", True, None), ("notes.txt", False, 5)], top
sub = [(f.path, f.is_dir, f.file_size) for f in repo.list_artifacts("model")]
assert sub == [("model/MLmodel", False, 12), ("model/data", True, None)], sub
assert repo.list_artifacts("notes.txt") == []
assert repo.list_artifacts("missing") == []
dst = repo.download_artifacts("", tempfile.mkdtemp())
cmp = filecmp.dircmp(src, dst)
assert not cmp.left_only and not cmp.diff_files, (cmp.left_only, cmp.diff_files)
assert filecmp.cmp(os.path.join(src, "model", "data", "w.bin"),
                   os.path.join(dst, "model", "data", "w.bin"), shallow=False)
one = repo.download_artifacts("model/MLmodel", tempfile.mkdtemp())
assert open(one).read() == "flavors: {}\n"
repo.delete_artifacts("extra")
assert [f.path for f in repo.list_artifacts()] == ["model", "notes.txt"]
repo.delete_artifacts()
assert repo.list_artifacts() == []
print("MLFLOW-CLIENT-OK")
)PY");
  std::string cmd = python + " " + script + " " + std::to_string(port) + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), pipe)) output.append(buf, n);
  int rc = ::pclose(pipe);
  EXPECT_EQ(rc, 0) << output;
  EXPECT_NE(output.find("MLFLOW-CLIENT-OK"), std::string::npos) << output;
}

TEST_F(ArtifactHandlersTest, RealMlflow3Client) {
  RunMlflowClient(std::string(CAIRN_SOURCE_DIR) + "/.venv/mlflow3/bin/python", port_, dir_.path());
  EXPECT_EQ(CountFiles(Root() + "/tmp"), 0);
}

TEST_F(ArtifactHandlersTest, RealMlflow2Client) {
  RunMlflowClient(std::string(CAIRN_SOURCE_DIR) + "/.venv/mlflow2/bin/python", port_, dir_.path());
}

TEST(ArtifactContentTypeTest, GuessesLikeMlflow) {
  EXPECT_EQ(ArtifactContentType("MLmodel"), "text/plain");
  EXPECT_EQ(ArtifactContentType("conda.yaml"), "text/plain");
  EXPECT_EQ(ArtifactContentType("metrics.json"), "text/plain");
  EXPECT_EQ(ArtifactContentType("plot.PNG"), "image/png");
  EXPECT_EQ(ArtifactContentType("model.pkl"), "application/octet-stream");
  EXPECT_EQ(ArtifactContentType("noextension"), "application/octet-stream");
  EXPECT_EQ(ContentDispositionAttachment("a.txt"), "attachment; filename=\"a.txt\"");
  EXPECT_EQ(ContentDispositionAttachment("r\xC3\xA9sum\xC3\xA9.txt"),
            "attachment; filename=\"r__sum__.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt");
  EXPECT_EQ(ContentDispositionAttachment("a\"b.txt"),
            "attachment; filename=\"a_b.txt\"; filename*=UTF-8''a%22b.txt");
}

}  // namespace
}  // namespace cairn::api
