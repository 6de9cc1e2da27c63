// Tests of the test helpers subprocess.h and raw_http.h: a helper that
// misreports an exit code or a header would make every test built on it lie.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "http/server.h"
#include "support/raw_http.h"
#include "support/subprocess.h"
#include "support/temp_files.h"

namespace cairn::test {
namespace {

TEST(SubprocessTest, ExitCodeOutputErrorAndEnvironment) {
  auto dir = MakeTempDir("cairn-subprocess-test");
  const std::string out = dir + "/out", err = dir + "/err";
  pid_t pid = SpawnProcess("/bin/sh", {"-c", "echo \"out:$CAIRN_HELPER_X\"; echo err >&2; exit 3"},
                           out, nullptr, err, {"CAIRN_HELPER_X=42"});
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitExit(pid), 3);
  EXPECT_EQ(ReadFile(out), "out:42\n");
  EXPECT_EQ(ReadFile(err), "err\n");
  std::filesystem::remove_all(dir);
}

TEST(SubprocessTest, PipeSignalAndMissingBinary) {
  auto dir = MakeTempDir("cairn-subprocess-test");
  int fd = -1;
  pid_t pid = SpawnProcess("/bin/sh", {"-c", "echo piped"}, "", &fd, dir + "/err");
  ASSERT_GT(pid, 0);
  ASSERT_GE(fd, 0);
  char buf[64];
  ssize_t n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "piped\n");
  EXPECT_EQ(WaitExit(pid), 0);

  pid = SpawnProcess("/bin/sh", {"-c", "kill -TERM $$"}, dir + "/o", nullptr, dir + "/e");
  EXPECT_EQ(WaitExit(pid), 128 + SIGTERM);
  pid = SpawnProcess("/nonexistent/binary", {}, dir + "/o", nullptr, dir + "/e");
  EXPECT_EQ(WaitExit(pid), 127);
  std::filesystem::remove_all(dir);
}

TEST(SubprocessTest, RunCommandAndRunCliCommand) {
  auto dir = MakeTempDir("cairn-subprocess-test");
  CommandOutcome o = RunCommand("/bin/sh", {"-c", "echo \"x=$X\"; echo e >&2; exit 4"}, dir, {"X=1"});
  EXPECT_EQ(o.exit_code, 4);
  EXPECT_EQ(o.out, "x=1\n");
  EXPECT_EQ(o.err, "e\n");
  EXPECT_EQ(RunCommand("/nonexistent/binary", {}, dir).exit_code, 127);
  // RunCliCommand blanks an inherited CAIRN_USER, and keeps one the caller gives.
  ::setenv("CAIRN_USER", "inherited", 1);
  const std::vector<std::string> show = {"-c", "echo \"[$CAIRN_USER]\""};
  EXPECT_EQ(RunCliCommand("/bin/sh", show, dir).out, "[]\n");
  EXPECT_EQ(RunCliCommand("/bin/sh", show, dir, {"CAIRN_USER=alice"}).out, "[alice]\n");
  EXPECT_EQ(RunCommand("/bin/sh", show, dir).out, "[inherited]\n");
  ::unsetenv("CAIRN_USER");
  std::filesystem::remove_all(dir);
}

TEST(RawHttpTest, StatusLowercasedHeadersBodyAndNoServer) {
  http::Router router;
  router.Add(http::Method::kPost, "/echo", [](http::Request& req) {
    http::Response r = http::Response::Text(201, req.body + "|" + req.Header("x-in").value_or(""));
    r.headers.emplace_back("X-Out", "v1");
    return r;
  });
  http::ServerOptions options;
  options.port = 0;
  options.threads = 1;
  options.access_log = false;
  http::HttpServer server(options, std::move(router));
  auto port = server.Start();
  ASSERT_TRUE(port.has_value());
  HttpResult r = RawHttp(*port, "POST", "/echo", "hello", {{"X-In", "abc"}});
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "hello|abc");
  EXPECT_EQ(r.Header("x-out"), "v1");
  EXPECT_EQ(r.Header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r.Header("missing"), "");
  server.Stop();
  HttpResult none = RawHttp(*port, "GET", "/echo", "", {}, 2);
  EXPECT_EQ(none.status, 0);
}

}  // namespace
}  // namespace cairn::test
