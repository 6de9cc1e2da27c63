#pragma once
// The web UI's static files (docs/ui.md, "Serving the files"): the built
// single-page app in `ui_dir` (Vite's ui/dist), served by `cairn server`.
//
//   GET /, GET /index.html  index.html, Cache-Control: no-cache. When the
//                           folder has no index.html: 200 with a small HTML
//                           page saying the UI was not built and how to
//                           build it (the API is unaffected).
//   GET /assets/<path>      the hashed bundles, Cache-Control: public,
//                           max-age=31536000, immutable.
//   GET /favicon.svg        Cache-Control: public, max-age=86400.
//
// (HEAD too.) Every answer carries X-Content-Type-Options: nosniff and a
// Content-Type from the file's extension (UiContentType). Files are read
// from disk on each request (streamed by the server), so rebuilding the UI
// needs no restart. Asset paths are checked like artifact paths
// (blob/artifact_path.h: no "..", ".", empty segments, backslashes or
// encoded variants): 400 INVALID_PARAMETER_VALUE. A path whose real location
// (after symlinks) is outside ui_dir/assets, or that is not a regular file,
// is 404 RESOURCE_DOES_NOT_EXIST like any unknown file.
//
// Only these exact paths and the /assets prefix are routed: nothing else
// changes, so unknown /api/... paths are still ENDPOINT_NOT_FOUND.
//
// Thread safety: the handlers hold only the folder name; stateless.

#include <string>
#include <string_view>

#include "http/server.h"

namespace cairn::api {

void MountUiRoutes(http::Router& router, std::string ui_dir);

// Content type of a UI file by extension: html, js/mjs, css, svg, json, map,
// png, ico, woff2, txt, wasm; anything else application/octet-stream.
std::string UiContentType(std::string_view file_name);

// The page `GET /` answers when `ui_dir` has no index.html (HTML; names
// the folder, escaped).
std::string UiNotBuiltPage(std::string_view ui_dir);

}  // namespace cairn::api
