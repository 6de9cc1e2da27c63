#pragma once
// Cairn's HTTP/1.1 server: our own small interface in front of Boost.Beast,
// which is confined to server.cc (it is slow to compile).
//
// Threading: `threads` io threads run connections; a handler runs on the
// thread that read its request and may block (store calls). Handlers must
// be thread-safe. The Router is immutable once the server starts.
//
// Bodies: routes declare how their body arrives. kBuffer: in Request::body,
// at most max_body_bytes (else 413, nothing dispatched). kSpoolToFile: the
// body is streamed to a temporary file under spool_dir as it arrives, at
// most max_upload_bytes; the handler gets its path in Request::body_file and
// may rename it away; the server deletes it after the handler returns. A
// client that disconnects mid-body never reaches the handler and its spool
// file is deleted. Responses with file_path set are streamed from the file
// (a file missing at send time is answered 404).
//
// Errors on the wire are MLflow-shaped JSON: 400 BAD_REQUEST (malformed
// request or percent-encoding), 404/405 ENDPOINT_NOT_FOUND (405 carries
// Allow), 413 INVALID_PARAMETER_VALUE (body over its limit), 431 (header over
// max_header_bytes), 500 INTERNAL_ERROR (a handler threw). A request whose
// body was not read (413, 404/405 with a body) gets "Connection: close".
// Timeouts: header_timeout and body_timeout are deadlines for the whole
// header / body, not inactivity timers, so slow-drip clients are closed.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"

namespace cairn::http {

enum class Method { kGet, kHead, kPost, kPut, kDelete, kPatch, kOptions, kOther };
std::string_view MethodName(Method m);

struct Request {
  Method method = Method::kGet;
  std::string target;  // raw request target: path?query
  std::string path;    // percent-decoded path, without the query
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;       // kBuffer routes
  std::string body_file;  // kSpoolToFile routes
  std::string remote_address;
  std::string route_suffix;  // for prefix routes: the decoded path after the prefix

  // First value of a query parameter / header (header names are case-insensitive).
  std::optional<std::string> QueryParam(std::string_view name) const;
  std::vector<std::string> QueryParams(std::string_view name) const;
  std::optional<std::string> Header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string file_path;  // when set, the body is streamed from this file
  std::vector<std::pair<std::string, std::string>> headers;

  static Response Json(int status, std::string body);
  static Response Text(int status, std::string body);
};

using Handler = std::function<Response(Request&)>;

// Asynchronous routes (the data plane: no io thread waits on a model). The
// AsyncHandler is called on the io thread like a Handler, but answers by
// calling the Responder exactly once, from any thread, now or later. The
// Request stays valid (and is not touched by the server) until then. A
// Responder called a second time, or after the connection closed, does
// nothing. Stop() waits (up to shutdown_grace) for outstanding responders;
// one called after the server was destroyed is safe and does nothing. A
// Responder that is destroyed without being called answers 500 ("internal
// error: the handler dropped the request"), so a lost callback never hangs a
// client.
using Responder = std::function<void(Response)>;
using AsyncHandler = std::function<void(Request&, Responder)>;

enum class BodyMode { kBuffer, kSpoolToFile };

struct Route {
  Method method;
  std::string path;     // exact path, or a prefix when `prefix` is true
  bool prefix = false;  // matches path == prefix or path starting with prefix + "/"
  BodyMode body_mode = BodyMode::kBuffer;
  Handler handler;
  AsyncHandler async_handler = nullptr;  // when set, used instead of `handler`
};

// The one table of every endpoint. Longest match wins; a path that matches
// with another method is 405, no match is 404 (both as JSON errors with
// MLflow's shape: {"error_code": "ENDPOINT_NOT_FOUND", "message": ...}).
//
// Matching: among the routes whose path matches and whose method is the
// request's (a HEAD request also matches GET routes), the longest path wins;
// an exact route beats a prefix route of the same length. A prefix route
// "/p" matches "/p" and "/p/..."; a prefix ending in '/' (e.g. "/" as a
// catch-all) matches every path starting with it. Add() is not thread-safe;
// Find() and AllowedMethods() are (the router is immutable once serving).
class Router {
 public:
  void Add(Route route);
  void Add(Method m, std::string path, Handler h) {
    Add(Route{m, std::move(path), false, BodyMode::kBuffer, std::move(h), nullptr});
  }
  void AddAsync(Method m, std::string path, AsyncHandler h, bool prefix = false) {
    Add(Route{m, std::move(path), prefix, BodyMode::kBuffer, nullptr, std::move(h)});
  }
  struct Match {
    const Route* route = nullptr;  // null when none
    bool method_mismatch = false;  // path known, method not
  };
  Match Find(Method m, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }
  // The methods routed for `path` (for a 405's Allow header), e.g. "GET, HEAD, POST".
  std::string AllowedMethods(std::string_view path) const;
  // For a prefix route matching `path`, the part after the prefix and its '/'
  // ("" when path == prefix). Precondition: `route` matches `path`.
  static std::string_view RouteSuffix(const Route& route, std::string_view path);

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<Route> routes_;
  // Indexes into routes_: exact routes by path; prefix routes, longest first.
  std::unordered_map<std::string, std::vector<size_t>, StringHash, std::equal_to<>> exact_;
  std::vector<size_t> prefixes_;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 5000;  // 0: pick a free port (tests)
  int threads = 4;
  uint64_t max_body_bytes = 64ull << 20;      // buffered bodies
  uint64_t max_upload_bytes = 64ull << 30;    // spooled bodies
  std::string spool_dir = "/tmp";             // must be on the artifact filesystem to rename
  std::chrono::seconds header_timeout{30};    // to read a request's header
  std::chrono::seconds body_timeout{300};     // to read a whole body
  std::chrono::seconds idle_timeout{75};      // keep-alive idle; also per response write
  std::chrono::seconds shutdown_grace{30};    // in-flight requests finish within this
  bool access_log = true;
  // false: one io_context run by all `threads` (a connection's handlers may
  // run on any of them: a handler that blocks delays no other connection).
  // true: one io_context per thread, each connection pinned to one thread
  // (round robin at accept), like nginx's workers: no cross-thread wake-ups
  // or scheduler lock traffic per request, but a handler that blocks delays
  // the other connections of its thread. For servers whose handlers never
  // block (`cairn serve`: models run in microseconds or on worker threads).
  bool io_context_per_thread = false;
  // Request line + headers; larger -> 431 and the connection is closed.
  uint32_t max_header_bytes = 256u << 10;
};

// Renders an Error as MLflow's JSON error body with the mapped HTTP status.
Response ErrorResponse(const Error& e);

class HttpServer {
 public:
  HttpServer(ServerOptions options, Router router);
  ~HttpServer();  // Stops if running.
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the io threads; returns the bound port. kUnavailable if
  // the address is in use or cannot be bound (message names host:port).
  Result<int> Start();
  // Graceful: stop accepting, let in-flight requests finish (up to
  // shutdown_grace), close idle keep-alive connections, join threads.
  // Idempotent; callable from any thread except an io thread (a handler).
  void Stop();
  // Blocks until Stop() completes (from another thread or a signal handler
  // thread installed by the caller).
  void Wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::http
