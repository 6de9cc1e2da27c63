// The web UI's static files (see ui_handlers.h).

#include "api/ui_handlers.h"

#include <algorithm>
#include <cstddef>
#include <expected>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "blob/artifact_path.h"

namespace cairn::api {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kNoCache = "no-cache";
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kOneDay = "public, max-age=86400";

// `rel` (already validated: relative, canonical segments) under `base`, as
// long as its real location is a regular file inside the real `base`;
// nullopt otherwise (missing, a folder, or a symlink leading out).
std::optional<fs::path> ContainedFile(const fs::path& base, const fs::path& rel) {
  std::error_code ec;
  fs::path real_base = fs::canonical(base, ec);
  if (ec) return std::nullopt;
  fs::path real = fs::canonical(base / rel, ec);
  if (ec) return std::nullopt;
  const std::string& b = real_base.native();
  const std::string& r = real.native();
  if (r.size() <= b.size() || r.compare(0, b.size(), b) != 0 || r[b.size()] != '/') {
    return std::nullopt;
  }
  if (!fs::is_regular_file(real, ec) || ec) return std::nullopt;
  return real;
}

http::Response FileResponse(fs::path file, std::string_view name, std::string_view cache) {
  http::Response r;
  r.status = 200;
  r.content_type = UiContentType(name);
  r.file_path = std::move(file).native();
  r.headers.emplace_back("Cache-Control", std::string(cache));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

http::Response NotFound(std::string_view what) {
  return http::ErrorResponse(
      Error(ErrorCode::kNotFound, "UI file not found: " + blob::PrintableArtifactPath(what)));
}

http::Response NotBuilt(std::string_view ui_dir) {
  http::Response r;
  r.status = 200;
  r.content_type = "text/html; charset=utf-8";
  r.body = UiNotBuiltPage(ui_dir);
  r.headers.emplace_back("Cache-Control", std::string(kNoCache));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

// The validated segments of the path after "/assets/", or the response to
// give instead (404 for no path, 400 for a bad one).
std::expected<std::vector<std::string>, http::Response> AssetSegments(const http::Request& req) {
  // The decoded path after "/assets/" (not route_suffix, which would hide a
  // second '/' and so make "/assets//etc/passwd" look relative).
  std::string_view rel = req.path;
  rel.remove_prefix(std::min(rel.size(), std::string_view("/assets").size()));
  if (rel.starts_with('/')) rel.remove_prefix(1);
  if (rel.empty()) return std::unexpected(NotFound("assets/"));
  auto segments = blob::SplitArtifactPath(rel, /*allow_root=*/false);
  if (!segments) {
    return std::unexpected(http::ErrorResponse(Error(
        ErrorCode::kInvalidArgument, "invalid UI asset path: " + segments.error().message())));
  }
  return std::move(*segments);
}

// ---- From a folder.

http::Response Index(const fs::path& ui_dir) {
  if (auto file = ContainedFile(ui_dir, "index.html")) {
    return FileResponse(std::move(*file), "index.html", kNoCache);
  }
  return NotBuilt(ui_dir.native());
}

http::Response Favicon(const fs::path& ui_dir) {
  if (auto file = ContainedFile(ui_dir, "favicon.svg")) {
    return FileResponse(std::move(*file), "favicon.svg", kOneDay);
  }
  return NotFound("favicon.svg");
}

http::Response Asset(const fs::path& ui_dir, const http::Request& req) {
  auto segments = AssetSegments(req);
  if (!segments) return std::move(segments.error());
  fs::path path;
  std::string rel;
  for (const std::string& s : *segments) {
    path /= s;
    rel += rel.empty() ? s : "/" + s;
  }
  if (auto file = ContainedFile(ui_dir / "assets", path)) {
    return FileResponse(std::move(*file), segments->back(), kImmutable);
  }
  return NotFound("assets/" + rel);
}

// ---- From the bundle compiled into the binary.

// Whether an If-None-Match header names `etag` (RFC 9110 13.1.2: "*", or a
// list of entity tags compared weakly, so W/"x" matches "x").
bool IfNoneMatchHits(const http::Request& req, std::string_view etag) {
  const std::optional<std::string> header = req.Header("if-none-match");
  if (!header) return false;
  std::string_view list = *header;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view tag = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

http::Response BundleResponse(const ui_bundle::File& file, const http::Request& req,
                              std::string_view cache) {
  http::Response r;
  r.headers.emplace_back("Cache-Control", std::string(cache));
  r.headers.emplace_back("ETag", std::string(file.etag));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (IfNoneMatchHits(req, file.etag)) {
    r.status = 304;  // no body, so no Content-Type
    r.content_type.clear();
    return r;
  }
  r.status = 200;
  r.content_type = UiContentType(file.path);
  r.body = std::string(file.bytes);
  return r;
}

http::Response BundleIndex(const ui_bundle::Bundle& bundle, const http::Request& req) {
  if (const ui_bundle::File* file = bundle.Find("index.html")) {
    return BundleResponse(*file, req, kNoCache);
  }
  return NotBuilt("");
}

http::Response BundleFavicon(const ui_bundle::Bundle& bundle, const http::Request& req) {
  if (const ui_bundle::File* file = bundle.Find("favicon.svg")) {
    return BundleResponse(*file, req, kOneDay);
  }
  return NotFound("favicon.svg");
}

http::Response BundleAsset(const ui_bundle::Bundle& bundle, const http::Request& req) {
  auto segments = AssetSegments(req);
  if (!segments) return std::move(segments.error());
  std::string path = "assets";
  for (const std::string& s : *segments) path += "/" + s;
  if (const ui_bundle::File* file = bundle.Find(path)) {
    return BundleResponse(*file, req, kImmutable);
  }
  return NotFound(path);
}

void AppendHtmlEscaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
}

}  // namespace

void MountUiRoutes(http::Router& router, std::string ui_dir, const ui_bundle::Bundle& bundle) {
  if (ui_dir.empty()) {
    const ui_bundle::Bundle b = bundle;  // a view: the files are static
    auto index = [b](http::Request& req) { return BundleIndex(b, req); };
    router.Add(http::Method::kGet, "/", index);
    router.Add(http::Method::kGet, "/index.html", index);
    router.Add(http::Method::kGet, "/favicon.svg",
               [b](http::Request& req) { return BundleFavicon(b, req); });
    router.Add(http::Route{http::Method::kGet, "/assets", /*prefix=*/true, http::BodyMode::kBuffer,
                           [b](http::Request& req) { return BundleAsset(b, req); }});
    return;
  }
  auto dir = std::make_shared<const fs::path>(std::move(ui_dir));
  auto index = [dir](http::Request&) { return Index(*dir); };
  router.Add(http::Method::kGet, "/", index);
  router.Add(http::Method::kGet, "/index.html", index);
  router.Add(http::Method::kGet, "/favicon.svg", [dir](http::Request&) { return Favicon(*dir); });
  router.Add(http::Route{http::Method::kGet, "/assets", /*prefix=*/true, http::BodyMode::kBuffer,
                         [dir](http::Request& req) { return Asset(*dir, req); }});
}

std::string DescribeUiSource(std::string_view ui_dir, const ui_bundle::Bundle& bundle) {
  if (!ui_dir.empty()) return std::string(ui_dir);
  if (bundle.Find("index.html") == nullptr) return "not built into this binary";
  return "embedded (" + std::to_string(bundle.files().size()) + " files, " +
         std::to_string(bundle.total_bytes()) + " bytes)";
}

std::string UiContentType(std::string_view file_name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"svg", "image/svg+xml"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"png", "image/png"},
      {"ico", "image/x-icon"},
      {"woff2", "font/woff2"},
      {"txt", "text/plain; charset=utf-8"},
      {"wasm", "application/wasm"},
  };
  auto dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  std::string_view ext = file_name.substr(dot + 1);
  for (const auto& [e, type] : kTypes) {
    if (ext == e) return std::string(type);
  }
  return "application/octet-stream";
}

std::string UiNotBuiltPage(std::string_view ui_dir) {
  std::string page =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>Cairn: web UI not built</title></head>\n<body style=\"font-family:sans-serif;"
      "max-width:40em;margin:3em auto\">\n<h1>The web UI is not built</h1>\n";
  if (ui_dir.empty()) {
    page +=
        "<p>This <code>cairn</code> binary was compiled without the web UI: "
        "<code>ui/dist</code> did not exist when it was built.</p>\n"
        "<p>Build the UI and the binary with <code>make build</code> (or <code>cd ui &amp;&amp; "
        "npm ci &amp;&amp; npm run build</code>, then build the binary again), or start the "
        "server with <code>--ui-dir DIR</code> (<code>CAIRN_UI_DIR</code>) naming a built "
        "UI.</p>\n";
  } else {
    page += "<p>This server looks for the UI in <code>";
    AppendHtmlEscaped(page, ui_dir);
    page +=
        "</code>, which has no <code>index.html</code>.</p>\n"
        "<p>Build it with <code>make build</code> (or <code>cd ui &amp;&amp; npm ci &amp;&amp; "
        "npm run build</code>), or start the server with <code>--ui-dir DIR</code> "
        "(<code>CAIRN_UI_DIR</code>) naming a built UI.</p>\n";
  }
  page +=
      "<p>The REST API is unaffected: <a href=\"/health\">/health</a>, "
      "<code>/api/2.0/mlflow/...</code>, <code>/api/v1/...</code>.</p>\n</body></html>\n";
  return page;
}

}  // namespace cairn::api
