// End-to-end tests of HttpServer: a real server on 127.0.0.1:0 and a small
// blocking POSIX-socket client (no Beast here, on purpose).

#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

namespace cairn::http {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// ---- a tiny HTTP/1.1 client -------------------------------------------------

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercased names
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval tv{10, 0};  // no test should hang forever on a read
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~Client() { Close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response; `head` means no body follows (a HEAD request).
  std::optional<HttpReply> Read(bool head = false) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    HttpReply reply;
    std::string head_text = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t line_end = head_text.find("\r\n");
    std::string status_line = head_text.substr(0, line_end);
    if (status_line.size() < 12) return std::nullopt;
    reply.status = std::stoi(status_line.substr(9, 3));
    size_t pos = line_end == std::string::npos ? head_text.size() : line_end + 2;
    while (pos < head_text.size()) {
      size_t next = head_text.find("\r\n", pos);
      if (next == std::string::npos) next = head_text.size();
      std::string line = head_text.substr(pos, next - pos);
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      reply.headers[name] = value;
      pos = next + 2;
    }
    if (reply.status == 100 || head) return reply;
    const size_t length = std::stoull(reply.Header("content-length").empty()
                                          ? "0"
                                          : reply.Header("content-length"));
    while (buf_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    reply.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return reply;
  }

  std::optional<HttpReply> Request(std::string_view method, std::string_view target,
                                   std::string_view body = "", std::string extra_headers = "") {
    std::string req = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n";
    if (!body.empty() || method == "POST" || method == "PUT") {
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += extra_headers + "\r\n";
    req += body;
    if (!Send(req)) return std::nullopt;
    return Read(method == "HEAD");
  }

  // True when the server closed the connection (EOF or reset) within `within`.
  bool ClosedByPeer(std::chrono::milliseconds within = 5000ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(within.count())) <= 0) return false;
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  bool Fill() {
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

// ---- fixtures ---------------------------------------------------------------

std::string Join(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string out;
  for (const auto& [k, v] : kv) out += "[" + k + "=" + v + "]";
  return out;
}

uint64_t Fnv1a(std::string_view data, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
  return h;
}

size_t CountFiles(const fs::path& dir) {
  size_t n = 0;
  for (auto it = fs::directory_iterator(dir); it != fs::directory_iterator(); ++it) ++n;
  return n;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cairn_http_test_" + std::to_string(::getpid()) + "_" +
            std::to_string(std::random_device{}()));
    fs::create_directories(dir_ / "spool");
    options_.host = "127.0.0.1";
    options_.port = 0;
    options_.threads = 2;
    options_.max_body_bytes = 1024;
    options_.max_upload_bytes = 64ull << 20;
    options_.spool_dir = (dir_ / "spool").string();
    options_.access_log = false;
    // The whole suite runs a second time with one io_context per thread
    // (HttpServerPerThreadIo.WholeSuitePasses sets this).
    options_.io_context_per_thread = std::getenv("CAIRN_HTTP_TEST_PER_THREAD_IO") != nullptr;
  }
  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  int Start(Router router) {
    server_ = std::make_unique<HttpServer>(options_, std::move(router));
    auto port = server_->Start();
    EXPECT_TRUE(port.has_value()) << (port ? "" : port.error().ToString());
    return port.value_or(0);
  }

  // A router with a handler that echoes what the server parsed.
  Router EchoRouter() {
    Router r;
    auto echo = [this](Request& req) {
      calls_.fetch_add(1);
      std::string out = std::string(MethodName(req.method)) + " path=" + req.path +
                        " suffix=" + req.route_suffix + " query=" + Join(req.query) +
                        " body=" + req.body;
      return Response::Text(200, out);
    };
    r.Add(Method::kGet, "/echo", echo);
    r.Add(Method::kPost, "/echo", echo);
    r.Add(Route{Method::kGet, "/files", true, BodyMode::kBuffer, echo});
    r.Add(Route{Method::kGet, "/files/special", true, BodyMode::kBuffer,
                [](Request& req) { return Response::Text(200, "special:" + req.route_suffix); }});
    r.Add(Method::kDelete, "/echo", echo);
    return r;
  }

  fs::path dir_;
  ServerOptions options_;
  std::unique_ptr<HttpServer> server_;
  std::atomic<int> calls_{0};
};

// ---- routing ----------------------------------------------------------------

TEST_F(HttpServerTest, RoutesExactPrefixAndLongestMatch) {
  const int port = Start(EchoRouter());
  Client c(port);
  ASSERT_TRUE(c.connected());
  auto r = c.Request("GET", "/echo");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET path=/echo suffix= query= body=");
  EXPECT_EQ(r->Header("content-type"), "text/plain; charset=utf-8");

  r = c.Request("GET", "/files/a/b%20c.txt");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET path=/files/a/b c.txt suffix=a/b c.txt query= body=");
  r = c.Request("GET", "/files");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET path=/files suffix= query= body=");
  r = c.Request("GET", "/files/special/x/y");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "special:x/y");
}

TEST_F(HttpServerTest, UnknownPathIs404AndWrongMethodIs405) {
  const int port = Start(EchoRouter());
  Client c(port);
  auto r = c.Request("GET", "/nope?x=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_EQ(r->body,
            R"({"error_code":"ENDPOINT_NOT_FOUND","message":"no endpoint for GET /nope"})");

  r = c.Request("PUT", "/echo", "{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->Header("allow"), "GET, HEAD, POST, DELETE");
  EXPECT_EQ(r->body,
            R"({"error_code":"ENDPOINT_NOT_FOUND",)"
            R"("message":"method PUT is not allowed for /echo"})");
  // The 405 left the request body unread, so the server closes rather than
  // try to find the next request after it.
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(c.ClosedByPeer());
}

TEST_F(HttpServerTest, DecodesQueryAndRejectsMalformedEncoding) {
  const int port = Start(EchoRouter());
  Client c(port);
  auto r = c.Request("GET", "/echo?a=1&b=x+y%2Bz&a=%E2%82%AC&empty=&flag");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body,
            "GET path=/echo suffix= query=[a=1][b=x y+z][a=\xe2\x82\xac][empty=][flag=] body=");

  r = c.Request("GET", "/echo?a=%zz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find(R"("error_code":"BAD_REQUEST")"), std::string::npos) << r->body;
  r = c.Request("GET", "/ec%2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(calls_.load(), 1);
}

// ---- connection semantics -----------------------------------------------------

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  const int port = Start(EchoRouter());
  Client c(port);
  for (int i = 0; i < 5; ++i) {
    auto r = c.Request("POST", "/echo", "n" + std::to_string(i));
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "POST path=/echo suffix= query= body=n" + std::to_string(i));
    EXPECT_EQ(r->Header("connection"), "");
  }
  // Pipelined: two requests in one write, two responses in order.
  ASSERT_TRUE(c.Send("GET /echo?i=1 HTTP/1.1\r\nHost: t\r\n\r\n"
                     "GET /echo?i=2 HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r1 = c.Read();
  auto r2 = c.Read();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->body, "GET path=/echo suffix= query=[i=1] body=");
  EXPECT_EQ(r2->body, "GET path=/echo suffix= query=[i=2] body=");
  EXPECT_EQ(calls_.load(), 7);

  // Connection: close is honoured and echoed.
  auto r = c.Request("GET", "/echo", "", "Connection: close\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(c.ClosedByPeer());
}

TEST_F(HttpServerTest, Http10KeepAliveSemantics) {
  const int port = Start(EchoRouter());
  {
    Client c(port);
    ASSERT_TRUE(c.Send("GET /echo HTTP/1.0\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(c.ClosedByPeer());
  }
  {
    Client c(port);
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(c.Send("GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
      auto r = c.Read();
      ASSERT_TRUE(r) << i;
      EXPECT_EQ(r->Header("connection"), "keep-alive");
    }
  }
}

TEST_F(HttpServerTest, HeadAnswersGetRoutesWithoutBody) {
  const int port = Start(EchoRouter());
  Client c(port);
  auto r = c.Request("HEAD", "/echo");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // Length of what GET would send ("HEAD path=/echo ..." as the handler saw HEAD).
  EXPECT_EQ(r->Header("content-length"),
            std::to_string(std::string("HEAD path=/echo suffix= query= body=").size()));
  EXPECT_TRUE(r->body.empty());
  // No body bytes were sent: the next response on the connection parses.
  r = c.Request("GET", "/echo?after=head");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET path=/echo suffix= query=[after=head] body=");
}

TEST_F(HttpServerTest, ExtraResponseHeadersAreSentAndInjectionIsDropped) {
  Router router;
  router.Add(Method::kGet, "/h", [](Request&) {
    Response r = Response::Json(201, "{}");
    r.headers.emplace_back("X-Request-Id", "abc");
    r.headers.emplace_back("X-Evil", "a\r\nSet-Cookie: x=1");
    r.headers.emplace_back("Content-Length", "999");
    return r;
  });
  const int port = Start(std::move(router));
  Client c(port);
  auto r = c.Request("GET", "/h");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->Header("x-request-id"), "abc");
  EXPECT_EQ(r->Header("x-evil"), "");
  EXPECT_EQ(r->Header("set-cookie"), "");
  EXPECT_EQ(r->Header("content-length"), "2");
  EXPECT_EQ(r->body, "{}");
  EXPECT_FALSE(r->Header("date").empty());
}

TEST_F(HttpServerTest, NoContentAndNotModifiedCarryNoBodyOrLength) {
  Router router;
  router.Add(Method::kGet, "/s", [](Request& req) {
    // A handler that leaves a body on a 204/304 must not get it sent.
    return Response::Json(req.query.empty() ? 304 : 204, "{\"ignored\":true}");
  });
  router.Add(Method::kGet, "/next", [](Request&) { return Response::Json(200, "{\"n\":1}"); });
  const int port = Start(std::move(router));
  Client c(port);
  for (const char* target : {"/s", "/s?x=1"}) {
    auto r = c.Request("GET", target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, std::string(target) == "/s" ? 304 : 204);
    EXPECT_EQ(r->headers.count("content-length"), 0u) << target;
    EXPECT_TRUE(r->body.empty());
    // Nothing stray follows on the connection: the next answer parses.
    auto next = c.Request("GET", "/next");
    ASSERT_TRUE(next) << target;
    EXPECT_EQ(next->status, 200);
    EXPECT_EQ(next->body, "{\"n\":1}");
  }
}

TEST_F(HttpServerTest, RequestHeadersAreLowercased) {
  Router router;
  router.Add(Method::kGet, "/h", [](Request& req) {
    std::string out;
    for (const auto& [k, v] : req.headers) {
      if (k.starts_with("x-")) out += k + "=" + v + ";";
    }
    return Response::Text(200, out + "|" + req.Header("X-MiXeD").value_or("-") + "|" +
                                   (req.remote_address.starts_with("127.0.0.1:") ? "local" : "?"));
  });
  const int port = Start(std::move(router));
  Client c(port);
  auto r = c.Request("GET", "/h", "", "X-MiXeD: Value\r\nX-Other: 2\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "x-mixed=Value;x-other=2;|Value|local");
}

// ---- bodies -------------------------------------------------------------------

TEST_F(HttpServerTest, OversizedContentLengthIs413WithoutReadingOrDispatching) {
  const int port = Start(EchoRouter());
  Client c(port);
  // Only the header is sent: the server must answer without waiting for the body.
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->body,
            R"({"error_code":"INVALID_PARAMETER_VALUE","message":"request body of 1048576 )"
            R"(bytes exceeds the limit of 1024 bytes"})");
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_EQ(calls_.load(), 0);

  // At the limit is fine.
  Client ok(port);
  r = ok.Request("POST", "/echo", std::string(1024, 'x'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(calls_.load(), 1);
}

TEST_F(HttpServerTest, ChunkedRequestBodies) {
  const int port = Start(EchoRouter());
  Client c(port);
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST path=/echo suffix= query= body=hello world");
  EXPECT_EQ(calls_.load(), 1);

  // A chunked body that grows past max_body_bytes (1024) is 413 and not dispatched.
  std::string req = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) req += "200\r\n" + std::string(512, 'a') + "\r\n";
  req += "0\r\n\r\n";
  ASSERT_TRUE(c.Send(req));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(calls_.load(), 1);
  EXPECT_TRUE(c.ClosedByPeer());
}

TEST_F(HttpServerTest, ExpectContinue) {
  const int port = Start(EchoRouter());
  Client c(port);
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                     "Expect: 100-continue\r\n\r\n"));
  auto interim = c.Read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.Send("abcde"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST path=/echo suffix= query= body=abcde");

  // Too large: the final 413 comes instead of 100 Continue.
  Client big(port);
  ASSERT_TRUE(big.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n"
                       "Expect: 100-continue\r\n\r\n"));
  r = big.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(calls_.load(), 1);
}

class SpoolTest : public HttpServerTest {
 protected:
  Router SpoolRouter() {
    Router r;
    r.Add(Route{Method::kPut, "/upload", true, BodyMode::kSpoolToFile, [this](Request& req) {
                  calls_.fetch_add(1);
                  std::ifstream in(req.body_file, std::ios::binary);
                  std::string chunk(1 << 20, '\0');
                  uint64_t h = 1469598103934665603ull;
                  uint64_t size = 0;
                  while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) ||
                         in.gcount() > 0) {
                    h = Fnv1a(std::string_view(chunk.data(), static_cast<size_t>(in.gcount())), h);
                    size += static_cast<uint64_t>(in.gcount());
                  }
                  {
                    std::lock_guard lock(mu_);
                    seen_files_.push_back(req.body_file);
                  }
                  if (req.route_suffix == "keep") {
                    fs::rename(req.body_file, dir_ / "kept.bin");
                  }
                  return Response::Text(200, std::to_string(size) + ":" + std::to_string(h) +
                                                 ":" + std::to_string(req.body.size()));
                }});
    return r;
  }
  std::mutex mu_;
  std::vector<std::string> seen_files_;
};

TEST_F(SpoolTest, LargeUploadIsStreamedToAFileAndDeletedAfter) {
  const int port = Start(SpoolRouter());
  // 50 MB with max_body_bytes = 1 KB: only possible if not buffered.
  std::string block(1 << 20, '\0');
  std::mt19937_64 rng(42);
  for (auto& ch : block) ch = static_cast<char>(rng());
  const int kBlocks = 50;
  uint64_t expected_hash = 1469598103934665603ull;
  for (int i = 0; i < kBlocks; ++i) {
    block[0] = static_cast<char>(i);
    expected_hash = Fnv1a(block, expected_hash);
  }
  Client c(port);
  ASSERT_TRUE(c.Send("PUT /upload/x HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                     std::to_string(uint64_t{kBlocks} << 20) + "\r\n\r\n"));
  for (int i = 0; i < kBlocks; ++i) {
    block[0] = static_cast<char>(i);
    ASSERT_TRUE(c.Send(block)) << i;
  }
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, std::to_string(uint64_t{kBlocks} << 20) + ":" +
                         std::to_string(expected_hash) + ":0");
  ASSERT_EQ(seen_files_.size(), 1u);
  EXPECT_TRUE(seen_files_[0].starts_with(options_.spool_dir + "/")) << seen_files_[0];
  EXPECT_FALSE(fs::exists(seen_files_[0]));
  EXPECT_EQ(CountFiles(options_.spool_dir), 0u);

  // The handler may rename the file away; it is then kept.
  r = c.Request("PUT", "/upload/keep", "kept-bytes");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  std::ifstream kept(dir_ / "kept.bin");
  std::string content((std::istreambuf_iterator<char>(kept)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "kept-bytes");
  EXPECT_EQ(CountFiles(options_.spool_dir), 0u);
}

TEST_F(SpoolTest, ChunkedUploadAndUploadLimit) {
  options_.max_upload_bytes = 4096;
  const int port = Start(SpoolRouter());
  Client c(port);
  ASSERT_TRUE(c.Send("PUT /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "6:" + std::to_string(Fnv1a("abcdef")) + ":0");

  r = c.Request("PUT", "/upload", std::string(4097, 'z'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(calls_.load(), 1);
  EXPECT_EQ(CountFiles(options_.spool_dir), 0u);
}

TEST_F(SpoolTest, ClientDisconnectMidUploadNeverReachesHandler) {
  const int port = Start(SpoolRouter());
  {
    Client c(port);
    ASSERT_TRUE(c.Send("PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 10485760\r\n\r\n"));
    ASSERT_TRUE(c.Send(std::string(1 << 20, 'p')));
    // The spool file exists while the upload is in progress...
    bool appeared = false;
    for (int i = 0; i < 200 && !appeared; ++i) {
      appeared = CountFiles(options_.spool_dir) == 1;
      if (!appeared) std::this_thread::sleep_for(10ms);
    }
    EXPECT_TRUE(appeared);
  }  // ...and the client goes away mid-body.
  bool removed = false;
  for (int i = 0; i < 500 && !removed; ++i) {
    removed = CountFiles(options_.spool_dir) == 0;
    if (!removed) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(removed);
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(SpoolTest, BodyTimeoutMidUploadRemovesSpoolFile) {
  options_.body_timeout = 1s;
  const int port = Start(SpoolRouter());
  Client c(port);
  ASSERT_TRUE(c.Send("PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" +
                     std::string(10, 'q')));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ClosedByPeer(5000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);
  bool removed = false;
  for (int i = 0; i < 200 && !removed; ++i) {
    removed = CountFiles(options_.spool_dir) == 0;
    if (!removed) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(removed);
  EXPECT_EQ(calls_.load(), 0);
}

// ---- responses ----------------------------------------------------------------

TEST_F(HttpServerTest, FileResponsesAreStreamed) {
  const fs::path file = dir_ / "blob.bin";
  std::string content(3 * 256 * 1024 + 12345, '\0');  // several chunks, last partial
  std::mt19937 rng(7);
  for (auto& ch : content) ch = static_cast<char>(rng());
  {
    std::ofstream out(file, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  Router router;
  router.Add(Route{Method::kGet, "/blob", true, BodyMode::kBuffer, [&](Request& req) {
                     Response r;
                     r.content_type = "application/octet-stream";
                     r.file_path = (dir_ / req.route_suffix).string();
                     return r;
                   }});
  const int port = Start(std::move(router));
  Client c(port);
  auto r = c.Request("GET", "/blob/blob.bin");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-type"), "application/octet-stream");
  EXPECT_EQ(r->Header("content-length"), std::to_string(content.size()));
  EXPECT_TRUE(r->body == content);

  r = c.Request("HEAD", "/blob/blob.bin");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("content-length"), std::to_string(content.size()));

  // Missing at send time: 404 JSON, connection still usable.
  r = c.Request("GET", "/blob/missing.bin");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find(R"("error_code":"RESOURCE_DOES_NOT_EXIST")"), std::string::npos);

  // Empty file.
  std::ofstream(dir_ / "empty.bin").close();
  r = c.Request("GET", "/blob/empty.bin");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-length"), "0");
}

TEST_F(HttpServerTest, HandlerExceptionIs500Json) {
  Router router;
  router.Add(Method::kGet, "/boom", [](Request&) -> Response {
    throw std::runtime_error("database exploded");
  });
  router.Add(Method::kGet, "/ok", [](Request&) { return Response::Json(200, "{\"ok\":true}"); });
  const int port = Start(std::move(router));
  Client c(port);
  auto r = c.Request("GET", "/boom");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body,
            R"({"error_code":"INTERNAL_ERROR","message":"internal error: database exploded"})");
  r = c.Request("GET", "/ok");  // the server and the connection survive
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "{\"ok\":true}");
}

TEST_F(HttpServerTest, AccessLogLine) {
  options_.access_log = true;
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  const int port = Start(EchoRouter());
  {
    Client c(port);
    auto r = c.Request("GET", "/echo?q=1");
    ASSERT_TRUE(r);
  }
  server_->Stop();
  spdlog::set_default_logger(previous);
  bool found = false;
  for (const auto& line : sink->last_formatted()) {
    if (line.find("GET /echo?q=1 200 " +
                  std::to_string(std::string("GET path=/echo suffix= query=[q=1] body=").size())) !=
            std::string::npos &&
        line.find("ms 127.0.0.1:") != std::string::npos) {
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

// ---- limits, shutdown, binding ------------------------------------------------

TEST_F(HttpServerTest, HeaderTimeoutClosesSlowClient) {
  options_.header_timeout = 1s;
  const int port = Start(EchoRouter());
  Client c(port);
  ASSERT_TRUE(c.Send("GET /echo HTTP/1.1\r\nHost: t\r\n"));  // never finishes the header
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ClosedByPeer(5000ms));
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 4000ms);
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(HttpServerTest, HeaderTimeoutIsADeadlineNotAnInactivityTimer) {
  options_.header_timeout = 1s;
  const int port = Start(EchoRouter());
  Client c(port);
  // Slowloris: a byte every 200 ms keeps the connection active but the
  // header never completes within header_timeout.
  const std::string header = "GET /echo HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaa";
  const auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  for (char ch : header) {
    if (!c.Send(std::string(1, ch)) || c.ClosedByPeer(200ms)) {
      closed = true;
      break;
    }
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3000ms);
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(HttpServerTest, IdleKeepAliveTimeout) {
  options_.idle_timeout = 1s;
  const int port = Start(EchoRouter());
  Client c(port);
  ASSERT_TRUE(c.Request("GET", "/echo"));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ClosedByPeer(5000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);
}

TEST_F(HttpServerTest, GracefulStopFinishesInFlightRequests) {
  std::promise<void> started;
  auto started_future = started.get_future();
  Router router;
  router.Add(Method::kGet, "/slow", [&](Request&) {
    started.set_value();
    std::this_thread::sleep_for(700ms);
    return Response::Json(200, std::string(100000, 'x'));
  });
  router.Add(Method::kGet, "/fast", [](Request&) { return Response::Json(200, "{}"); });
  const int port = Start(std::move(router));

  Client idle(port);
  ASSERT_TRUE(idle.Request("GET", "/fast"));  // now idle on keep-alive

  Client busy(port);
  ASSERT_TRUE(busy.Send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_EQ(started_future.wait_for(5s), std::future_status::ready);

  const auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] { server_->Stop(); });
  // The idle connection is closed promptly, before the slow handler is done.
  EXPECT_TRUE(idle.ClosedByPeer(500ms));
  auto r = busy.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), 100000u);
  EXPECT_EQ(r->Header("connection"), "close");
  stopper.join();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  // Stopped: nothing listens any more; Stop() again is a no-op; Wait() returns.
  Client late(port);
  EXPECT_FALSE(late.connected());
  server_->Stop();
  server_->Wait();
}

TEST_F(HttpServerTest, StopForceClosesAfterGrace) {
  options_.shutdown_grace = 1s;
  options_.body_timeout = 60s;
  const int port = Start(EchoRouter());
  Client stuck(port);
  // A body that never completes keeps the request in flight.
  ASSERT_TRUE(stuck.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nab"));
  std::this_thread::sleep_for(100ms);
  const auto t0 = std::chrono::steady_clock::now();
  server_->Stop();
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 5000ms);
  EXPECT_TRUE(stuck.ClosedByPeer(1000ms));
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(HttpServerTest, BindConflictIsUnavailable) {
  const int port = Start(EchoRouter());
  ServerOptions again = options_;
  again.port = port;
  HttpServer second(again, EchoRouter());
  auto result = second.Start();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(result.error().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << result.error().message();
  EXPECT_NE(result.error().message().find("in use"), std::string::npos)
      << result.error().message();
  // The first server is unaffected.
  Client c(port);
  auto r = c.Request("GET", "/echo");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, MalformedRequestIs400AndHugeHeaderIs431) {
  options_.max_header_bytes = 2048;
  const int port = Start(EchoRouter());
  {
    Client c(port);
    ASSERT_TRUE(c.Send("BLAH\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_TRUE(c.ClosedByPeer());
  }
  {
    Client c(port);
    auto r = c.Request("GET", "/echo", "", "X-Big: " + std::string(4000, 'b') + "\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 431);
  }
  EXPECT_EQ(calls_.load(), 0);
}

// ---- asynchronous routes ----------------------------------------------------

namespace async_test {

// Answers from another thread after `delay`, with the request's body echoed.
AsyncHandler Later(std::chrono::milliseconds delay) {
  return [delay](Request& req, Responder respond) {
    std::thread([&req, respond = std::move(respond), delay] {
      std::this_thread::sleep_for(delay);
      respond(Response::Text(200, "later:" + req.body));
    }).detach();
  };
}

}  // namespace async_test

TEST_F(HttpServerTest, AsyncRouteAnswersFromAnotherThreadOnKeepAlive) {
  Router router;
  router.AddAsync(Method::kPost, "/later", async_test::Later(50ms));
  router.AddAsync(Method::kGet, "/inline", [](Request& req, Responder respond) {
    respond(Response::Text(200, "inline:" + req.path));
    respond(Response::Text(500, "second answer must be ignored"));
  });
  router.AddAsync(
      Method::kGet, "/p",
      [](Request& req, Responder respond) { respond(Response::Text(200, req.route_suffix)); },
      /*prefix=*/true);
  const int port = Start(std::move(router));
  Client c(port);
  for (int i = 0; i < 3; ++i) {
    auto r = c.Request("POST", "/later", "b" + std::to_string(i));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "later:b" + std::to_string(i));
    auto in = c.Request("GET", "/inline");
    ASSERT_TRUE(in);
    EXPECT_EQ(in->body, "inline:/inline");
  }
  auto p = c.Request("GET", "/p/models/fraud/infer");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->body, "models/fraud/infer");
}

TEST_F(HttpServerTest, AsyncRequestsDoNotHoldIoThreads) {
  // 16 requests parked at once on 2 io threads; all answered together.
  options_.threads = 2;
  std::mutex mu;
  std::vector<Responder> parked;
  std::condition_variable cv;
  Router router;
  router.AddAsync(Method::kGet, "/park", [&](Request&, Responder respond) {
    std::lock_guard lock(mu);
    parked.push_back(std::move(respond));
    cv.notify_all();
  });
  const int port = Start(std::move(router));
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 16; ++i) {
    clients.push_back(std::make_unique<Client>(port));
    ASSERT_TRUE(clients.back()->Send("GET /park HTTP/1.1\r\nHost: t\r\n\r\n"));
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return parked.size() == 16; }));
    for (size_t i = 0; i < parked.size(); ++i) {
      parked[i](Response::Text(200, std::to_string(i)));
    }
  }
  std::set<std::string> bodies;
  for (auto& c : clients) {
    auto r = c->Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    bodies.insert(r->body);
  }
  EXPECT_EQ(bodies.size(), 16u);
}

TEST_F(HttpServerTest, AsyncDroppedResponderIs500AndThrowIs500) {
  Router router;
  router.AddAsync(Method::kGet, "/drop", [](Request&, Responder) {});
  router.AddAsync(Method::kGet, "/throw",
                  [](Request&, Responder) { throw std::runtime_error("boom"); });
  const int port = Start(std::move(router));
  Client c(port);
  auto r = c.Request("GET", "/drop");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find("dropped the request"), std::string::npos) << r->body;
  auto t = c.Request("GET", "/throw");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->status, 500);
  EXPECT_NE(t->body.find("boom"), std::string::npos) << t->body;
}

TEST_F(HttpServerTest, StopWaitsForAsyncAnswersAndSurvivesLateResponders) {
  options_.shutdown_grace = 1s;
  std::promise<Responder> slow_promise;
  auto slow_future = slow_promise.get_future();
  Router router;
  router.AddAsync(Method::kGet, "/soon", async_test::Later(300ms));
  router.AddAsync(Method::kGet, "/never", [&](Request&, Responder respond) {
    slow_promise.set_value(std::move(respond));
  });
  const int port = Start(std::move(router));
  Client soon(port);
  ASSERT_TRUE(soon.Send("GET /soon HTTP/1.1\r\nHost: t\r\n\r\n"));
  Client never(port);
  ASSERT_TRUE(never.Send("GET /never HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_EQ(slow_future.wait_for(5s), std::future_status::ready);
  Responder late = slow_future.get();
  std::this_thread::sleep_for(50ms);
  const auto t0 = std::chrono::steady_clock::now();
  server_->Stop();  // /soon is answered during the grace; /never is not
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);
  auto r = soon.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(never.ClosedByPeer(1000ms));
  server_.reset();                            // the server is gone...
  late(Response::Text(200, "too late"));      // ...and a late answer is harmless
}

}  // namespace
// Every HttpServerTest again, with ServerOptions::io_context_per_thread (the
// mode `cairn serve` uses): this binary re-runs itself with the option on.
TEST(HttpServerPerThreadIo, WholeSuitePasses) {
  if (std::getenv("CAIRN_HTTP_TEST_PER_THREAD_IO") != nullptr) GTEST_SKIP() << "the inner run";
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  ASSERT_GT(n, 0);
  exe[n] = '\0';
  const std::string command = "CAIRN_HTTP_TEST_PER_THREAD_IO=1 '" + std::string(exe) +
                              "' --gtest_filter='HttpServerTest.*' --gtest_brief=1 >/dev/null 2>&1";
  const int status = std::system(command.c_str());
  ASSERT_NE(status, -1);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "HttpServerTest.* failed with io_context_per_thread (run with "
         "CAIRN_HTTP_TEST_PER_THREAD_IO=1 to see which)";
}

}  // namespace cairn::http
