#include "api/artifact_handlers.h"

#include <array>
#include <utility>

#include "core/json_writer.h"
#include "core/uri.h"

namespace cairn::api {
namespace {

constexpr std::array<std::string_view, 2> kArtifactBases = {
    "/api/2.0/mlflow-artifacts/artifacts",
    "/ajax-api/2.0/mlflow-artifacts/artifacts",
};

// The decoded path after `base`: "" for the base itself, else "/...". (Not
// Request::route_suffix, which drops the separating '/' and so would make
// "<base>//etc/passwd" look relative.) The router only sends us paths that
// start with `base`.
std::string_view SuffixAfter(const http::Request& req, std::string_view base) {
  std::string_view path = req.path;
  return path.starts_with(base) ? path.substr(base.size()) : std::string_view("/");
}

// "/a/b" -> "a/b". Exactly one '/' is the separator after the base; a second
// one is kept so that "//etc/passwd" stays absolute and is refused.
std::string_view ArtifactPathFromSuffix(std::string_view suffix) {
  if (suffix.starts_with('/')) suffix.remove_prefix(1);
  return suffix;
}

std::string_view WithoutOneTrailingSlash(std::string_view path) {
  if (path.ends_with('/')) path.remove_suffix(1);
  return path;
}

http::Response EmptyJson() { return http::Response::Json(200, "{}"); }

std::string_view BaseName(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

http::Response Upload(blob::ArtifactRepository& repo, http::Request& req, std::string_view base) {
  std::string_view path = ArtifactPathFromSuffix(SuffixAfter(req, base));
  if (path.empty()) {
    return http::ErrorResponse(
        Error(ErrorCode::kInvalidArgument, "missing artifact path in the URL"));
  }
  if (req.body_file.empty()) {
    return http::ErrorResponse(
        Error(ErrorCode::kInternal, "upload body was not spooled to a file"));
  }
  Status stored = repo.Upload(path, req.body_file, blob::UploadSource::kTake);
  if (!stored) return http::ErrorResponse(stored.error());
  return EmptyJson();
}

http::Response List(blob::ArtifactRepository& repo, const http::Request& req) {
  std::string dir = req.QueryParam("path").value_or("");
  auto entries = repo.List(WithoutOneTrailingSlash(dir));
  if (!entries) return http::ErrorResponse(entries.error());
  if (entries->empty()) return EmptyJson();
  JsonWriter w;
  w.BeginObject().Key("files").BeginArray();
  for (const blob::ArtifactEntry& e : *entries) {
    w.BeginObject();
    w.Field("path", BaseName(e.path));  // MLflow lists names relative to `dir`
    w.Key("is_dir").Bool(e.is_dir);
    if (!e.is_dir) w.Field("file_size", static_cast<int64_t>(e.file_size));
    w.EndObject();
  }
  w.EndArray().EndObject();
  return http::Response::Json(200, w.Take());
}

http::Response Download(blob::ArtifactRepository& repo, std::string_view suffix) {
  std::string_view path = ArtifactPathFromSuffix(suffix);
  auto file = repo.Download(path);
  if (!file) return http::ErrorResponse(file.error());
  http::Response r;
  r.status = 200;
  r.content_type = ArtifactContentType(BaseName(path));
  r.file_path = std::move(file->local_path);
  // Always an attachment, never rendered on our origin (as MLflow does).
  r.headers.emplace_back("Content-Disposition", ContentDispositionAttachment(BaseName(path)));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

http::Response Get(blob::ArtifactRepository& repo, http::Request& req, std::string_view base) {
  std::string_view suffix = SuffixAfter(req, base);
  if (suffix.empty()) return List(repo, req);
  return Download(repo, suffix);
}

http::Response Delete(blob::ArtifactRepository& repo, http::Request& req, std::string_view base) {
  std::string_view path = WithoutOneTrailingSlash(ArtifactPathFromSuffix(SuffixAfter(req, base)));
  if (path.empty()) {
    return http::ErrorResponse(
        Error(ErrorCode::kInvalidArgument, "refusing to delete the artifact root"));
  }
  Status deleted = repo.Delete(path);
  if (!deleted) return http::ErrorResponse(deleted.error());
  return EmptyJson();
}

bool IsPlainAsciiName(std::string_view name) {
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

void MountArtifactRoutes(http::Router& router, blob::ArtifactRepository& repo) {
  for (std::string_view base_view : kArtifactBases) {
    std::string base(base_view);
    router.Add(http::Route{http::Method::kPut, base, true, http::BodyMode::kSpoolToFile,
                           [&repo, base](http::Request& req) { return Upload(repo, req, base); }});
    router.Add(http::Route{http::Method::kGet, base, true, http::BodyMode::kBuffer,
                           [&repo, base](http::Request& req) { return Get(repo, req, base); }});
    router.Add(http::Route{http::Method::kDelete, base, true, http::BodyMode::kBuffer,
                           [&repo, base](http::Request& req) { return Delete(repo, req, base); }});
  }
}

std::string ArtifactContentType(std::string_view file_name) {
  // MLflow's get_text_extensions(), plus its extension-less MLmodel/MLproject.
  static constexpr std::string_view kText[] = {
      "txt", "log",  "err",  "cfg",  "conf", "cnf",  "cf",  "ini",   "properties",
      "prop", "hocon", "toml", "yaml", "yml", "xml", "json", "js",  "py",
      "py3",  "csv",  "tsv",  "md",   "rst", "ipynb", "MLmodel", "MLproject"};
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"png", "image/png"},         {"jpg", "image/jpeg"},       {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},         {"bmp", "image/bmp"},        {"webp", "image/webp"},
      {"svg", "image/svg+xml"},     {"tif", "image/tiff"},       {"tiff", "image/tiff"},
      {"pdf", "application/pdf"},   {"html", "text/html"},       {"htm", "text/html"},
      {"gz", "application/gzip"},   {"zip", "application/zip"},  {"tar", "application/x-tar"},
      {"parquet", "application/octet-stream"}};
  auto dot = file_name.rfind('.');
  std::string_view ext =
      (dot == std::string_view::npos || dot == 0) ? file_name : file_name.substr(dot + 1);
  for (std::string_view t : kText) {
    if (ext == t) return "text/plain";
  }
  for (const auto& [e, type] : kTypes) {
    if (ext.size() == e.size()) {
      bool same = true;
      for (size_t i = 0; i < e.size(); ++i) {
        char c = ext[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != e[i]) same = false;
      }
      if (same) return std::string(type);
    }
  }
  return "application/octet-stream";
}

std::string ContentDispositionAttachment(std::string_view file_name) {
  if (file_name.empty()) return "attachment";
  if (IsPlainAsciiName(file_name)) return "attachment; filename=\"" + std::string(file_name) + "\"";
  std::string fallback;
  for (char c : file_name) {
    unsigned char u = static_cast<unsigned char>(c);
    bool plain = u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
    fallback += plain ? c : '_';
  }
  return "attachment; filename=\"" + fallback + "\"; filename*=UTF-8''" +
         PercentEncode(file_name, /*keep_slash=*/false);
}

}  // namespace cairn::api
