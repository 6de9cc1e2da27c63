// The live-server helper that the CLI, client and API tests stand on: it
// must serve, use its own folder, report a failed start, and clean up.

#include "support/live_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace cairn::test {
namespace {

namespace fs = std::filesystem;

// GET <path> over a fresh connection; nullopt when nothing listens.
std::optional<std::string> Get(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return std::nullopt;
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return std::nullopt;
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

TEST(LiveServer, ServesFromItsOwnFolderAndCleansUp) {
  std::string dir;
  int port = 0;
  {
    auto server = LiveServer::Start("cairn-live-test");
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    dir = (*server)->dir();
    port = (*server)->port();
    EXPECT_GT(port, 0);
    EXPECT_EQ((*server)->uri(), "http://127.0.0.1:" + std::to_string(port));
    EXPECT_TRUE(fs::path(dir).filename().string().starts_with("cairn-live-test-"));
    EXPECT_TRUE(fs::exists(fs::path(dir) / "cairn.db"));
    auto health = Get(port, "/health");
    ASSERT_TRUE(health.has_value());
    EXPECT_TRUE(health->starts_with("HTTP/1.1 200")) << *health;
    EXPECT_TRUE(health->ends_with("OK")) << *health;
  }
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(Get(port, "/health").has_value());
}

TEST(LiveServer, ConfigureChangesTheConfigAndAFailedStartLeavesNothing) {
  std::string seen_dir;
  auto bad = LiveServer::Start("cairn-live-test", [&](api::AppConfig& c) {
    seen_dir = fs::path(c.backend_store_uri.substr(std::string("sqlite://").size()))
                   .parent_path()
                   .string();
    c.backend_store_uri = "nosuchscheme://x";
  });
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  ASSERT_FALSE(seen_dir.empty());
  EXPECT_FALSE(fs::exists(seen_dir));
}

}  // namespace
}  // namespace cairn::test
