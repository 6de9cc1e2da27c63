// The web UI's static files (ui_handlers.h) over real HTTP against a live
// App: index, hashed assets and favicon with their cache headers and types,
// path checks (.., encoded variants, symlinks out), the "not built" page,
// and the API's answers unchanged.

#include "api/ui_handlers.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/live_server.h"
#include "support/raw_http.h"

namespace cairn::api {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::HttpResult;
using test::RawHttp;

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

std::string ErrorCodeOf(const HttpResult& r) {
  try {
    return json::parse(r.body).at("error_code").get<std::string>();
  } catch (const std::exception&) {
    return "<not an error body: " + r.body + ">";
  }
}

constexpr const char* kIndex = "<!doctype html><title>Cairn</title><div id=app></div>";
constexpr const char* kBundle = "console.log('cairn ui');";

class UiRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = test::LiveServer::Start("cairn-ui-routes", [](AppConfig& c) {
      // The server's temporary folder is the store's folder.
      const std::string store = c.backend_store_uri.substr(std::string("sqlite://").size());
      c.ui_dir = (fs::path(store).parent_path() / "ui").string();
    });
    ASSERT_TRUE(server) << server.error().ToString();
    server_ = std::move(*server);
    ui_ = fs::path(server_->dir()) / "ui";
    Write(ui_ / "index.html", kIndex);
    Write(ui_ / "favicon.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>");
    Write(ui_ / "assets/index-3f2a1b.js", kBundle);
    Write(ui_ / "assets/index-9c8d7e.css", "body{margin:0}");
    Write(ui_ / "assets/fonts/inter.woff2", "wOF2");
    Write(fs::path(server_->dir()) / "secret.txt", "top secret");
  }
  int port() const { return server_->port(); }

  std::unique_ptr<test::LiveServer> server_;
  fs::path ui_;
};

TEST_F(UiRoutesTest, IndexIsServedAtRootWithNoCache) {
  for (const char* path : {"/", "/index.html"}) {
    HttpResult r = RawHttp(port(), "GET", path);
    ASSERT_EQ(r.status, 200) << path << ": " << r.body;
    EXPECT_EQ(r.body, kIndex);
    EXPECT_EQ(r.Header("content-type"), "text/html; charset=utf-8");
    EXPECT_EQ(r.Header("cache-control"), "no-cache");
    EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
  }
  HttpResult head = RawHttp(port(), "HEAD", "/");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), std::to_string(std::string(kIndex).size()));
  EXPECT_EQ(head.body, "");
  // Rebuilding the UI needs no restart: files are read per request.
  Write(ui_ / "index.html", "<p>v2</p>");
  EXPECT_EQ(RawHttp(port(), "GET", "/").body, "<p>v2</p>");
}

TEST_F(UiRoutesTest, AssetsAreImmutableWithTheirTypes) {
  HttpResult js = RawHttp(port(), "GET", "/assets/index-3f2a1b.js");
  ASSERT_EQ(js.status, 200) << js.body;
  EXPECT_EQ(js.body, kBundle);
  EXPECT_EQ(js.Header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.Header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(js.Header("x-content-type-options"), "nosniff");

  HttpResult css = RawHttp(port(), "GET", "/assets/index-9c8d7e.css");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.Header("content-type"), "text/css; charset=utf-8");
  HttpResult font = RawHttp(port(), "GET", "/assets/fonts/inter.woff2");
  EXPECT_EQ(font.status, 200);
  EXPECT_EQ(font.body, "wOF2");
  EXPECT_EQ(font.Header("content-type"), "font/woff2");

  HttpResult icon = RawHttp(port(), "GET", "/favicon.svg");
  EXPECT_EQ(icon.status, 200);
  EXPECT_EQ(icon.Header("content-type"), "image/svg+xml");
  EXPECT_EQ(icon.Header("cache-control"), "public, max-age=86400");
}

TEST_F(UiRoutesTest, UnknownFilesAndFoldersAre404) {
  for (const char* path : {"/assets/nope.js", "/assets/fonts", "/assets", "/assets/", "/nope.html",
                           "/assets/index-3f2a1b.js/x"}) {
    HttpResult r = RawHttp(port(), "GET", path);
    EXPECT_EQ(r.status, 404) << path << ": " << r.body;
  }
  EXPECT_EQ(ErrorCodeOf(RawHttp(port(), "GET", "/assets/nope.js")), "RESOURCE_DOES_NOT_EXIST");
}

TEST_F(UiRoutesTest, TraversalIsRefused) {
  // Plain, percent-encoded and double-encoded climbs, and backslashes.
  for (const char* path : {"/assets/../../secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt",
                           "/assets/..%2f..%2fsecret.txt", "/assets/%252e%252e/secret.txt",
                           "/assets/fonts/../../index.html", "/assets//etc/passwd",
                           "/assets/a%5c..%5csecret.txt", "/assets/./index-3f2a1b.js"}) {
    HttpResult r = RawHttp(port(), "GET", path);
    EXPECT_EQ(r.status, 400) << path << ": " << r.body;
    EXPECT_EQ(ErrorCodeOf(r), "INVALID_PARAMETER_VALUE") << path;
    EXPECT_EQ(r.body.find("top secret"), std::string::npos);
  }
}

TEST_F(UiRoutesTest, SymlinksLeadingOutAreNotFollowed) {
  fs::create_symlink(fs::path(server_->dir()) / "secret.txt", ui_ / "assets/leak.js");
  fs::create_directory_symlink(server_->dir(), ui_ / "assets/up");
  // A symlink that stays inside the assets folder is fine.
  fs::create_symlink(ui_ / "assets/index-3f2a1b.js", ui_ / "assets/alias.js");
  for (const char* path : {"/assets/leak.js", "/assets/up/secret.txt"}) {
    HttpResult r = RawHttp(port(), "GET", path);
    EXPECT_EQ(r.status, 404) << path << ": " << r.body;
    EXPECT_EQ(r.body.find("top secret"), std::string::npos);
  }
  HttpResult alias = RawHttp(port(), "GET", "/assets/alias.js");
  EXPECT_EQ(alias.status, 200);
  EXPECT_EQ(alias.body, kBundle);
}

TEST_F(UiRoutesTest, WithoutIndexTheNotBuiltPageAndTheApiIsUnchanged) {
  fs::remove(ui_ / "index.html");
  HttpResult r = RawHttp(port(), "GET", "/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("not built"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("make build"), std::string::npos);
  EXPECT_NE(r.body.find("npm ci &amp;&amp; npm run build"), std::string::npos);
  EXPECT_NE(r.body.find("--ui-dir"), std::string::npos);
  EXPECT_NE(r.body.find(ui_.string()), std::string::npos);

  EXPECT_EQ(RawHttp(port(), "GET", "/health").body, "OK");
  HttpResult api404 = RawHttp(port(), "GET", "/api/v1/no-such-thing");
  EXPECT_EQ(api404.status, 404);
  EXPECT_EQ(ErrorCodeOf(api404), "ENDPOINT_NOT_FOUND");
  HttpResult mlflow404 = RawHttp(port(), "GET", "/api/2.0/mlflow/no-such-thing");
  EXPECT_EQ(mlflow404.status, 404);
  EXPECT_EQ(ErrorCodeOf(mlflow404), "ENDPOINT_NOT_FOUND");
  EXPECT_EQ(RawHttp(port(), "POST", "/", "{}").status, 405);
}

TEST(UiContentTypeTest, ByExtension) {
  EXPECT_EQ(UiContentType("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(UiContentType("a.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(UiContentType("a.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(UiContentType("a.css"), "text/css; charset=utf-8");
  EXPECT_EQ(UiContentType("a.svg"), "image/svg+xml");
  EXPECT_EQ(UiContentType("a.js.map"), "application/json");
  EXPECT_EQ(UiContentType("a.png"), "image/png");
  EXPECT_EQ(UiContentType("a.woff2"), "font/woff2");
  EXPECT_EQ(UiContentType("LICENSE"), "application/octet-stream");
  EXPECT_EQ(UiContentType("a.exe"), "application/octet-stream");
}

TEST(UiNotBuiltPageTest, EscapesTheFolderName) {
  std::string page = UiNotBuiltPage("/srv/<script>alert(1)</script>");
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;"), std::string::npos);
}

}  // namespace
}  // namespace cairn::api
