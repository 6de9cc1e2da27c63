// The web UI's static files (ui_handlers.h) over real HTTP against a live
// App, from a folder (--ui-dir) and from a bundle compiled into the binary:
// index, hashed assets and favicon with their cache headers and types,
// ETags and 304s (bundle), path checks (.., encoded variants, symlinks out),
// the "not built" pages, the folder winning over the bundle, the real
// embedded UI against ui/dist, and the API's answers unchanged.

#include "api/ui_handlers.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <regex>
#include <span>
#include <string>
#include <string_view>

#include "support/live_server.h"
#include "support/raw_http.h"
#include "ui_bundle/ui_bundle.h"

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

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

constexpr const char* kIndex = "<!doctype html><title>Cairn</title><div id=app></div>";
constexpr const char* kBundle = "console.log('cairn ui');";

// A bundle as embed_files.cmake generates it, with its own bytes so a test
// can tell it from the folder and from the real embedded UI.
constexpr std::string_view kBundledIndex = "<!doctype html><title>bundled</title>";
constexpr char kFontBytes[] = "wOF2\0\x01\xff\x80";
constexpr ui_bundle::File kBundledFiles[] = {
    {"assets/app-1a2b.css", "body{color:red}", "\"etag-css\""},
    {"assets/app-1a2b.js", "console.log('bundled');", "\"etag-js\""},
    {"assets/fonts/inter.woff2", std::string_view(kFontBytes, sizeof kFontBytes - 1),
     "\"etag-font\""},
    {"favicon.svg", "<svg xmlns='http://www.w3.org/2000/svg'><circle r='1'/></svg>",
     "\"etag-icon\""},
    {"index.html", kBundledIndex, "\"etag-index\""},
};
constexpr ui_bundle::Bundle kTestBundle{std::span(kBundledFiles)};
// Like a binary built before ui/dist existed.
constexpr ui_bundle::Bundle kEmptyBundle;

class UiRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = test::LiveServer::Start("cairn-ui-routes", [](AppConfig& c) {
      // The server's temporary folder is the store's folder.
      const std::string store = c.backend_store_uri.substr(std::string("sqlite://").size());
      c.ui_dir = (fs::path(store).parent_path() / "ui").string();
      c.bundled_ui = &kTestBundle;  // the folder wins over it
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

// A UI file answered whole, with its type, its caching and nosniff.
void ExpectUiFile(const HttpResult& r, std::string_view body, std::string_view type,
                  std::string_view cache_control) {
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, body);
  EXPECT_EQ(r.Header("content-type"), type);
  EXPECT_EQ(r.Header("cache-control"), cache_control);
  EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
}

constexpr std::string_view kHtml = "text/html; charset=utf-8";
constexpr std::string_view kJs = "text/javascript; charset=utf-8";
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";

TEST_F(UiRoutesTest, IndexIsServedAtRootWithNoCache) {
  for (const char* path : {"/", "/index.html"}) {
    SCOPED_TRACE(path);
    ExpectUiFile(RawHttp(port(), "GET", path), kIndex, kHtml, "no-cache");
  }
  HttpResult head = RawHttp(port(), "HEAD", "/");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), std::to_string(std::string(kIndex).size()));
  EXPECT_EQ(head.body, "");
  // Rebuilding the UI needs no restart: files are read per request.
  Write(ui_ / "index.html", "<p>v2</p>");
  EXPECT_EQ(RawHttp(port(), "GET", "/").body, "<p>v2</p>");
}

TEST_F(UiRoutesTest, TheFolderWinsOverTheBundle) {
  EXPECT_EQ(RawHttp(port(), "GET", "/").body, kIndex);
  EXPECT_EQ(RawHttp(port(), "GET", "/assets/index-3f2a1b.js").body, kBundle);
  // The bundle's files are not served, and folder files carry no ETag (they
  // may change on disk under a running server).
  EXPECT_EQ(RawHttp(port(), "GET", "/assets/app-1a2b.js").status, 404);
  EXPECT_EQ(RawHttp(port(), "GET", "/").Header("etag"), "");
  HttpResult conditional = RawHttp(port(), "GET", "/", "", {{"If-None-Match", "*"}});
  EXPECT_EQ(conditional.status, 200);
  EXPECT_EQ(conditional.body, kIndex);
}

TEST_F(UiRoutesTest, AssetsAreImmutableWithTheirTypes) {
  ExpectUiFile(RawHttp(port(), "GET", "/assets/index-3f2a1b.js"), kBundle, kJs, kImmutable);

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

class UiBundleRoutesTest : public ::testing::Test {
 protected:
  void Start(const ui_bundle::Bundle* bundle) {
    auto server = test::LiveServer::Start("cairn-ui-bundle", [bundle](AppConfig& c) {
      c.ui_dir.clear();
      c.bundled_ui = bundle;  // null: the binary's own, ui_bundle::Embedded()
    });
    ASSERT_TRUE(server) << server.error().ToString();
    server_ = std::move(*server);
  }
  int port() const { return server_->port(); }

  std::unique_ptr<test::LiveServer> server_;
};

TEST_F(UiBundleRoutesTest, ServesTheBundleWithHeadersAndETags) {
  ASSERT_NO_FATAL_FAILURE(Start(&kTestBundle));
  for (const char* path : {"/", "/index.html"}) {
    SCOPED_TRACE(path);
    HttpResult r = RawHttp(port(), "GET", path);
    ExpectUiFile(r, kBundledIndex, kHtml, "no-cache");
    EXPECT_EQ(r.Header("etag"), "\"etag-index\"");
  }
  HttpResult head = RawHttp(port(), "HEAD", "/");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), std::to_string(kBundledIndex.size()));
  EXPECT_EQ(head.body, "");

  HttpResult js = RawHttp(port(), "GET", "/assets/app-1a2b.js");
  ExpectUiFile(js, "console.log('bundled');", kJs, kImmutable);
  EXPECT_EQ(js.Header("etag"), "\"etag-js\"");
  HttpResult css = RawHttp(port(), "GET", "/assets/app-1a2b.css");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.Header("content-type"), "text/css; charset=utf-8");
  // Binary bytes (a NUL, 0xff) come through whole.
  HttpResult font = RawHttp(port(), "GET", "/assets/fonts/inter.woff2");
  EXPECT_EQ(font.status, 200);
  EXPECT_EQ(font.body, std::string(kFontBytes, sizeof kFontBytes - 1));
  EXPECT_EQ(font.Header("content-length"), "8");
  EXPECT_EQ(font.Header("content-type"), "font/woff2");
  HttpResult icon = RawHttp(port(), "GET", "/favicon.svg");
  EXPECT_EQ(icon.status, 200);
  EXPECT_EQ(icon.Header("content-type"), "image/svg+xml");
  EXPECT_EQ(icon.Header("cache-control"), "public, max-age=86400");
  EXPECT_EQ(icon.body, "<svg xmlns='http://www.w3.org/2000/svg'><circle r='1'/></svg>");
}

TEST_F(UiBundleRoutesTest, IfNoneMatchGives304) {
  ASSERT_NO_FATAL_FAILURE(Start(&kTestBundle));
  for (const char* tags : {"\"etag-index\"", "W/\"etag-index\"", "\"old\", \"etag-index\"",
                           "\"old\",W/\"etag-index\" ", "*"}) {
    HttpResult r = RawHttp(port(), "GET", "/", "", {{"If-None-Match", tags}});
    EXPECT_EQ(r.status, 304) << tags;
    EXPECT_EQ(r.body, "") << tags;
    EXPECT_EQ(r.Header("etag"), "\"etag-index\"") << tags;
    EXPECT_EQ(r.Header("cache-control"), "no-cache") << tags;
    EXPECT_EQ(r.Header("content-type"), "") << tags;
  }
  for (const char* tags : {"\"old\"", "\"etag-js\"", "etag-index", "\"etag-index", ""}) {
    HttpResult r = RawHttp(port(), "GET", "/", "", {{"If-None-Match", tags}});
    EXPECT_EQ(r.status, 200) << tags;
    EXPECT_EQ(r.body, kBundledIndex) << tags;
  }
  HttpResult js =
      RawHttp(port(), "GET", "/assets/app-1a2b.js", "", {{"If-None-Match", "\"etag-js\""}});
  EXPECT_EQ(js.status, 304);
  EXPECT_EQ(js.Header("cache-control"), kImmutable);
  // A missing file is 404 whatever the condition.
  EXPECT_EQ(RawHttp(port(), "GET", "/assets/nope.js", "", {{"If-None-Match", "*"}}).status, 404);
}

TEST_F(UiBundleRoutesTest, UnknownFilesAre404AndBadPaths400) {
  ASSERT_NO_FATAL_FAILURE(Start(&kTestBundle));
  for (const char* path : {"/assets/nope.js", "/assets/fonts", "/assets", "/assets/", "/nope.html",
                           "/assets/app-1a2b.js/x", "/assets/index.html", "/assets/favicon.svg"}) {
    HttpResult r = RawHttp(port(), "GET", path);
    EXPECT_EQ(r.status, 404) << path << ": " << r.body;
  }
  EXPECT_EQ(ErrorCodeOf(RawHttp(port(), "GET", "/assets/nope.js")), "RESOURCE_DOES_NOT_EXIST");
  for (const char* path :
       {"/assets/../index.html", "/assets/%2e%2e/index.html", "/assets/..%2findex.html",
        "/assets/%252e%252e/index.html", "/assets/fonts/../app-1a2b.js", "/assets//app-1a2b.js",
        "/assets/a%5c..%5capp-1a2b.js", "/assets/./app-1a2b.js"}) {
    HttpResult r = RawHttp(port(), "GET", path);
    EXPECT_EQ(r.status, 400) << path << ": " << r.body;
    EXPECT_EQ(ErrorCodeOf(r), "INVALID_PARAMETER_VALUE") << path;
  }
  EXPECT_EQ(RawHttp(port(), "GET", "/health").body, "OK");
  EXPECT_EQ(ErrorCodeOf(RawHttp(port(), "GET", "/api/v1/no-such-thing")), "ENDPOINT_NOT_FOUND");
  EXPECT_EQ(RawHttp(port(), "POST", "/", "{}").status, 405);
}

TEST_F(UiBundleRoutesTest, AnEmptyBundleGivesTheNotBuiltPage) {
  ASSERT_NO_FATAL_FAILURE(Start(&kEmptyBundle));
  HttpResult r = RawHttp(port(), "GET", "/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.Header("cache-control"), "no-cache");
  EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
  EXPECT_NE(r.body.find("not built"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("compiled without the web UI"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("make build"), std::string::npos);
  EXPECT_NE(r.body.find("npm ci &amp;&amp; npm run build"), std::string::npos);
  EXPECT_NE(r.body.find("--ui-dir"), std::string::npos);
  EXPECT_EQ(RawHttp(port(), "GET", "/index.html").body, r.body);
  EXPECT_EQ(RawHttp(port(), "GET", "/favicon.svg").status, 404);
  EXPECT_EQ(RawHttp(port(), "GET", "/assets/index-abc.js").status, 404);
  EXPECT_EQ(RawHttp(port(), "GET", "/assets/../x").status, 400);
  EXPECT_EQ(RawHttp(port(), "GET", "/health").body, "OK");
}

// The UI compiled into this build (no --ui-dir, no test bundle): the bytes
// of ui/dist as it was at build time.
TEST_F(UiBundleRoutesTest, TheEmbeddedUiIsUiDist) {
  ASSERT_NO_FATAL_FAILURE(Start(nullptr));
  const ui_bundle::Bundle& embedded = ui_bundle::Embedded();
  HttpResult index = RawHttp(port(), "GET", "/");
  ASSERT_EQ(index.status, 200);
  if (embedded.Find("index.html") == nullptr) {
    EXPECT_NE(index.body.find("compiled without the web UI"), std::string::npos) << index.body;
    GTEST_SKIP() << "this build has no UI (ui/dist did not exist when it was built)";
  }
  EXPECT_EQ(index.body, embedded.Find("index.html")->bytes);
  EXPECT_EQ(index.Header("etag"), embedded.Find("index.html")->etag);
  EXPECT_EQ(index.Header("cache-control"), "no-cache");
  // The script index.html loads, as Vite names it.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(index.body, m, std::regex("/assets/index-[A-Za-z0-9_-]+\\.js")))
      << index.body;
  const std::string script = m.str(0);
  const auto* file = embedded.Find(script.substr(1));
  ASSERT_NE(file, nullptr) << script;
  HttpResult js = RawHttp(port(), "GET", script);
  ExpectUiFile(js, file->bytes, kJs, kImmutable);
  EXPECT_GT(js.body.size(), 10000u);
  EXPECT_EQ(RawHttp(port(), "GET", "/assets/index-nope.js").status, 404);
  EXPECT_EQ(RawHttp(port(), "GET", "/assets/../index.html").status, 400);

  // And those are the files of ui/dist, when it is still there.
  const fs::path dist = CAIRN_UI_DIST;
  if (!fs::exists(dist / "index.html")) GTEST_SKIP() << dist << " was removed after the build";
  EXPECT_EQ(index.body, ReadFile(dist / "index.html"))
      << "ui/dist changed since the build: build again (cmake --build)";
  EXPECT_EQ(js.body, ReadFile(dist / script.substr(1)));
  EXPECT_EQ(RawHttp(port(), "GET", "/favicon.svg").body, ReadFile(dist / "favicon.svg"));
}

TEST(DescribeUiSourceTest, NamesWhatIsServed) {
  EXPECT_EQ(DescribeUiSource("/srv/ui", kTestBundle), "/srv/ui");
  const size_t total = kTestBundle.total_bytes();
  EXPECT_EQ(DescribeUiSource("", kTestBundle),
            "embedded (5 files, " + std::to_string(total) + " bytes)");
  EXPECT_EQ(DescribeUiSource("", kEmptyBundle), "not built into this binary");
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
  EXPECT_NE(page.find("looks for the UI in"), std::string::npos);
  EXPECT_EQ(page.find("compiled without"), std::string::npos);
}

TEST(UiNotBuiltPageTest, WithoutAFolderSaysTheBinaryHasNoUi) {
  std::string page = UiNotBuiltPage("");
  EXPECT_NE(page.find("compiled without the web UI"), std::string::npos);
  EXPECT_NE(page.find("<code>ui/dist</code> did not exist"), std::string::npos);
  EXPECT_EQ(page.find("looks for the UI in"), std::string::npos);
}

}  // namespace
}  // namespace cairn::api
