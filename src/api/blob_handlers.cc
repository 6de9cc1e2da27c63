#include "api/blob_handlers.h"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/hash.h"
#include "core/json_writer.h"

namespace cairn::api {
namespace {

constexpr std::string_view kBlobsBase = "/api/v1/blobs";
constexpr std::string_view kMissingPath = "/api/v1/blobs/missing";
// The most digests one /missing request may ask about (clients batch).
constexpr size_t kMaxMissingDigests = 1000;

http::Response Error400(std::string message) {
  return http::ErrorResponse(Error(ErrorCode::kInvalidArgument, std::move(message)));
}

// The digest named by the URL: exactly one path segment after the base.
Result<std::string> DigestFromPath(const http::Request& req) {
  std::string_view path = req.path;
  std::string_view digest =
      path.size() > kBlobsBase.size() + 1 ? path.substr(kBlobsBase.size() + 1) : std::string_view();
  if (digest.empty()) return InvalidArgument("missing object digest in the URL " + req.path);
  if (!blob::IsValidDigest(digest)) {
    return InvalidArgument("'" + std::string(digest.substr(0, 100)) +
                           "' is not an object digest (64 lowercase hex characters of SHA-256)");
  }
  return std::string(digest);
}

// POST /api/v1/blobs/missing {"digests": [...]} -> {"missing": [...]}
http::Response Missing(blob::BlobStore& store, const http::Request& req) {
  std::vector<std::string> digests;
  try {
    nlohmann::json body = nlohmann::json::parse(req.body);
    if (!body.is_object() || !body.contains("digests")) {
      return Error400("the body must be a JSON object with a \"digests\" list");
    }
    const nlohmann::json& list = body["digests"];
    if (!list.is_array()) return Error400("\"digests\" must be a list of object digests");
    if (list.size() > kMaxMissingDigests) {
      return Error400("\"digests\" lists " + std::to_string(list.size()) + " digests; at most " +
                      std::to_string(kMaxMissingDigests) + " per request (send them in batches)");
    }
    digests.reserve(list.size());
    for (size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_string() || !blob::IsValidDigest(list[i].get_ref<const std::string&>())) {
        std::string shown = list[i].dump();
        if (shown.size() > 100) shown = shown.substr(0, 100) + "...";
        return Error400("digests[" + std::to_string(i) + "] = " + shown +
                        " is not an object digest (64 lowercase hex characters of SHA-256)");
      }
      digests.push_back(list[i].get<std::string>());
    }
  } catch (const nlohmann::json::exception& e) {
    return Error400(std::string("the body is not valid JSON: ") + e.what());
  }
  JsonWriter w;
  w.BeginObject().Key("missing").BeginArray();
  for (const std::string& digest : digests) {
    auto exists = store.Exists(digest);
    if (!exists) return http::ErrorResponse(exists.error());
    if (!*exists) w.String(digest);
  }
  w.EndArray().EndObject();
  return http::Response::Json(200, w.Take());
}

// PUT /api/v1/blobs/<digest>: the spooled body is checked, then handed to the store.
http::Response Put(blob::BlobStore& store, http::Request& req) {
  auto digest = DigestFromPath(req);
  if (!digest) return http::ErrorResponse(digest.error());
  // The server spools only a non-empty body; no file means zero bytes.
  const bool empty_body = req.body_file.empty();
  auto actual = empty_body ? Result<std::string>(Sha256Hex(req.body)) : Sha256File(req.body_file);
  if (!actual) return http::ErrorResponse(actual.error());
  if (*actual != *digest) {
    return Error400("the body's SHA-256 is " + *actual + ", not " + *digest +
                    " as the URL says; nothing was stored");
  }
  // The spool file is on the store's filesystem (the App puts it under the
  // artifacts destination), so this is a link, not a copy.
  auto stored = empty_body ? store.PutBytes(req.body) : store.PutFileTake(req.body_file);
  if (!stored) return http::ErrorResponse(stored.error());
  if (*stored != *digest) {
    // Only if the spool file changed after the check (nothing else writes it).
    return http::ErrorResponse(
        Error(ErrorCode::kInternal, "the upload of " + *digest + " changed while stored"));
  }
  return http::Response::Json(200, "{}");
}

// GET (and HEAD) /api/v1/blobs/<digest>: the object's bytes, streamed from its file.
http::Response Get(blob::BlobStore& store, const http::Request& req) {
  auto digest = DigestFromPath(req);
  if (!digest) return http::ErrorResponse(digest.error());
  auto path = store.Path(*digest);
  if (!path) {
    if (path.error().code() == ErrorCode::kNotFound) {
      return http::ErrorResponse(
          Error(ErrorCode::kNotFound, "object " + *digest + " does not exist on this server"));
    }
    return http::ErrorResponse(path.error());
  }
  http::Response r;
  r.status = 200;
  r.content_type = "application/octet-stream";
  r.file_path = std::move(*path);
  r.headers.emplace_back("ETag", "\"" + *digest + "\"");
  r.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

}  // namespace

void MountDataBlobRoutes(http::Router& router, blob::BlobStore& store) {
  const std::string base(kBlobsBase);
  router.Add(http::Route{http::Method::kPost, std::string(kMissingPath), false,
                         http::BodyMode::kBuffer,
                         [&store](http::Request& req) { return Missing(store, req); }});
  router.Add(http::Route{http::Method::kPut, base, true, http::BodyMode::kSpoolToFile,
                         [&store](http::Request& req) { return Put(store, req); }});
  // The router answers HEAD with the GET route (headers and Content-Length, no body).
  router.Add(http::Route{http::Method::kGet, base, true, http::BodyMode::kBuffer,
                         [&store](http::Request& req) { return Get(store, req); }});
}

}  // namespace cairn::api
