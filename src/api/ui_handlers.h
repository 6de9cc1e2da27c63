#pragma once
// The web UI's static files (docs/ui.md, "Serving the files"): the built
// single-page app (Vite's ui/dist), served by `cairn server` either from the
// files compiled into the binary (ui_bundle/ui_bundle.h; the default) or
// from a folder named by --ui-dir (for UI development).
//
//   GET /, GET /index.html  index.html, Cache-Control: no-cache. When there
//                           is no index.html (the folder has none, or the
//                           binary was built before ui/dist existed): 200
//                           with a small HTML page saying the UI was not
//                           built and how to build it (the API is unaffected).
//   GET /assets/<path>      the hashed bundles, Cache-Control: public,
//                           max-age=31536000, immutable.
//   GET /favicon.svg        Cache-Control: public, max-age=86400.
//
// (HEAD too.) Every answer carries X-Content-Type-Options: nosniff and a
// Content-Type from the file's extension (UiContentType). Asset paths are
// checked like artifact paths (blob/artifact_path.h: no "..", ".", empty
// segments, backslashes or encoded variants): 400 INVALID_PARAMETER_VALUE.
// An unknown file (or a folder) is 404 RESOURCE_DOES_NOT_EXIST.
//
// From a folder: files are read from disk on each request (streamed by the
// server), so rebuilding the UI needs no restart. A path whose real location
// (after symlinks) is outside ui_dir/assets, or that is not a regular file,
// is 404 like any unknown file.
//
// From the bundle: the bytes come from memory, with the file's ETag (a
// SHA-256 prefix computed at build time); a request whose If-None-Match
// names that tag (or "*") is answered 304 Not Modified with no body.
//
// Only these exact paths and the /assets prefix are routed: nothing else
// changes, so unknown /api/... paths are still ENDPOINT_NOT_FOUND.
//
// Thread safety: the handlers hold only the folder name or the bundle's
// view; stateless.

#include <string>
#include <string_view>

#include "http/server.h"
#include "ui_bundle/ui_bundle.h"

namespace cairn::api {

// Serves the folder `ui_dir` when it is not empty, else the files of
// `bundle` (whose File array must outlive the router; the embedded one and
// the generated ones are static).
void MountUiRoutes(http::Router& router, std::string ui_dir,
                   const ui_bundle::Bundle& bundle = ui_bundle::Embedded());

// What MountUiRoutes serves, for the startup line: `ui_dir` itself, or
// "embedded (N files, B bytes)", or "not built into this binary".
std::string DescribeUiSource(std::string_view ui_dir,
                             const ui_bundle::Bundle& bundle = ui_bundle::Embedded());

// Content type of a UI file by extension: html, js/mjs, css, svg, json, map,
// png, ico, woff2, txt, wasm; anything else application/octet-stream.
std::string UiContentType(std::string_view file_name);

// The page `GET /` answers when there is no index.html to serve (HTML):
// naming the folder `ui_dir` (escaped) when set, else saying this binary was
// built without the UI.
std::string UiNotBuiltPage(std::string_view ui_dir);

}  // namespace cairn::api
