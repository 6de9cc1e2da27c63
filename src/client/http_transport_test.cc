// HttpTransport against a loopback http::HttpServer (127.0.0.1:0): extra
// headers reach the server on every kind of request, SendRaw returns error
// statuses that Send maps to Errors, and the error-body / header helpers.

#include "client/http_transport.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/server.h"

namespace cairn::client {
namespace {

namespace fs = std::filesystem;

// Records "<METHOD> <path> user=<X-Cairn-User or -> auth=<Authorization or ->"
// for each request.
class RecordingServer {
 public:
  RecordingServer() {
    http::Router router;
    auto record = [this](const http::Request& req) {
      std::lock_guard lock(mu_);
      seen_.push_back(std::string(http::MethodName(req.method)) + " " + req.path +
                      " user=" + req.Header("x-cairn-user").value_or("-") +
                      " auth=" + req.Header("authorization").value_or("-"));
    };
    router.Add(http::Method::kGet, "/json", [record](http::Request& req) {
      record(req);
      return http::Response::Json(200, R"({"ok": true})");
    });
    router.Add(http::Method::kPost, "/json", [record](http::Request& req) {
      record(req);
      return http::Response::Json(200, req.body);
    });
    router.Add(http::Method::kPut, "/upload", [record](http::Request& req) {
      record(req);
      return http::Response::Json(200, "{}");
    });
    router.Add(http::Method::kGet, "/file", [record](http::Request& req) {
      record(req);
      return http::Response::Text(200, "file bytes");
    });
    router.Add(http::Method::kGet, "/missing", [record](http::Request& req) {
      record(req);
      return http::Response::Json(
          404, R"({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such thing"})");
    });
    router.Add(http::Method::kGet, "/gateway", [record](http::Request& req) {
      record(req);
      return http::Response::Text(502, "Bad Gateway");
    });
    http::ServerOptions opts;
    opts.port = 0;
    opts.threads = 1;
    opts.access_log = false;
    server_ = std::make_unique<http::HttpServer>(opts, std::move(router));
    auto port = server_->Start();
    EXPECT_TRUE(port) << port.error().ToString();
    base_ = "http://127.0.0.1:" + std::to_string(port.value_or(0));
  }
  ~RecordingServer() { server_->Stop(); }

  const std::string& base() const { return base_; }
  std::vector<std::string> Seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  std::unique_ptr<http::HttpServer> server_;
  std::string base_;
  std::mutex mu_;
  std::vector<std::string> seen_;
};

fs::path TempDir() {
  fs::path dir = fs::temp_directory_path() / ("cairn-transport-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(HttpTransportTest, ExtraHeadersGoOnEveryRequestKind) {
  RecordingServer server;
  TransportOptions options;
  options.bearer_token = "tok";
  options.extra_headers = {"X-Cairn-User: alice"};
  HttpTransport t(server.base(), options);
  fs::path dir = TempDir();
  std::ofstream(dir / "in.txt") << "payload";

  auto get = t.Send("GET", server.base() + "/json");
  ASSERT_TRUE(get) << get.error().ToString();
  auto post = t.Send("POST", server.base() + "/json", R"({"a": 1})");
  ASSERT_TRUE(post) << post.error().ToString();
  EXPECT_EQ(post->body, R"({"a": 1})");
  ASSERT_TRUE(t.Upload(server.base() + "/upload", (dir / "in.txt").string()));
  ASSERT_TRUE(t.Download(server.base() + "/file", (dir / "out.txt").string()));
  std::ifstream in(dir / "out.txt");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "file bytes");
  // SendRaw, on a handle reused from the pool, sends them too.
  ASSERT_TRUE(t.SendRaw("GET", server.base() + "/missing"));

  EXPECT_EQ(server.Seen(), (std::vector<std::string>{
                               "GET /json user=alice auth=Bearer tok",
                               "POST /json user=alice auth=Bearer tok",
                               "PUT /upload user=alice auth=Bearer tok",
                               "GET /file user=alice auth=Bearer tok",
                               "GET /missing user=alice auth=Bearer tok",
                           }));
  fs::remove_all(dir);
}

TEST(HttpTransportTest, NoExtraHeadersNoUser) {
  RecordingServer server;
  HttpTransport t(server.base(), {});
  ASSERT_TRUE(t.Send("GET", server.base() + "/json"));
  EXPECT_EQ(server.Seen(), (std::vector<std::string>{"GET /json user=- auth=-"}));
}

TEST(HttpTransportTest, SendRawReturnsErrorStatusesThatSendMaps) {
  RecordingServer server;
  HttpTransport t(server.base(), {});
  auto raw = t.SendRaw("GET", server.base() + "/missing");
  ASSERT_TRUE(raw) << raw.error().ToString();
  EXPECT_EQ(raw->status, 404);
  EXPECT_NE(raw->body.find("RESOURCE_DOES_NOT_EXIST"), std::string::npos);

  auto mapped = t.Send("GET", server.base() + "/missing");
  ASSERT_FALSE(mapped);
  EXPECT_EQ(mapped.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(mapped.error().message(), "no such thing");

  auto gateway = t.Send("GET", server.base() + "/gateway");
  ASSERT_FALSE(gateway);
  EXPECT_EQ(gateway.error().message(),
            "HTTP 502 from GET " + server.base() + "/gateway: Bad Gateway");
}

TEST(HttpTransportTest, UnreachableServerIsUnavailableForSendRawToo) {
  HttpTransport t("http://127.0.0.1:1", {});
  auto r = t.SendRaw("GET", "http://127.0.0.1:1/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("cannot reach the tracking server at http://127.0.0.1:1"),
            std::string::npos);
}

TEST(HttpTransportHelpersTest, ParseMlflowErrorBody) {
  auto e = ParseMlflowErrorBody(R"({"error_code": "ENDPOINT_NOT_FOUND", "message": "m"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->error_code, "ENDPOINT_NOT_FOUND");
  EXPECT_EQ(e->message, "m");
  auto no_message = ParseMlflowErrorBody(R"({"error_code": "X"})");
  ASSERT_TRUE(no_message);
  EXPECT_EQ(no_message->message, "");
  EXPECT_FALSE(ParseMlflowErrorBody("<html>404</html>"));
  EXPECT_FALSE(ParseMlflowErrorBody(R"({"message": "no code"})"));
  EXPECT_FALSE(ParseMlflowErrorBody(R"({"error_code": 5})"));
}

TEST(HttpTransportHelpersTest, HttpStatusError) {
  EXPECT_TRUE(HttpStatusError({200, "x"}, "GET", "u"));
  EXPECT_TRUE(HttpStatusError({399, "x"}, "GET", "u"));
  Status s = HttpStatusError(
      {400, R"({"error_code": "INVALID_PARAMETER_VALUE", "message": "bad"})"}, "POST", "u");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.error().message(), "bad");
  Status empty = HttpStatusError({503, ""}, "GET", "http://h/x");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message(), "HTTP 503 from GET http://h/x");
}

TEST(HttpTransportHelpersTest, CheckHeaderLine) {
  EXPECT_TRUE(CheckHeaderLine("X-Cairn-User: alice"));
  EXPECT_TRUE(CheckHeaderLine("X-Cairn-User: Alice Smith\t(ops)"));
  EXPECT_FALSE(CheckHeaderLine("X-Cairn-User: eve\r\nX-Admin: 1"));
  EXPECT_FALSE(CheckHeaderLine("X-Cairn-User: eve\n"));
  EXPECT_FALSE(CheckHeaderLine("no colon"));
  EXPECT_FALSE(CheckHeaderLine(": value"));
  EXPECT_FALSE(CheckHeaderLine("Bad Name: v"));
  EXPECT_EQ(CheckHeaderLine("X: a\x7f").error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace cairn::client
