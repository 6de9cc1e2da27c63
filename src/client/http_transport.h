#pragma once
// HttpTransport: the client's only use of libcurl. Sends one HTTP request per
// call and turns every failure into a cairn::Error:
//   - transport failures: connection refused / DNS / reset -> kUnavailable
//     "cannot reach the tracking server at <uri>: <curl error> (is `cairn server` running?)",
//     timeouts -> kDeadlineExceeded;
//   - HTTP status >= 400: MLflow's {"error_code", "message"} body becomes an Error
//     with ErrorCodeFromMlflow(error_code, status) and the server's message verbatim;
//     a body that is not that shape becomes "HTTP <status> from <METHOD> <url>: <body prefix>"
//     (HttpStatusError). SendRaw() is Send() without this step, for callers that
//     read the status themselves (e.g. to tell "no such endpoint" from an error).
//
// Headers: options.extra_headers ("Name: value" lines, e.g. "X-Cairn-User:
// alice") go on every request: Send, SendRaw, Upload and Download.
//
// Bodies: Send() buffers request and response bodies (JSON calls; the response
// is capped at kMaxBufferedResponse). Upload() streams a local file with a curl
// read callback; Download() streams the response to a file with a write
// callback (to "<dest>.part", renamed over `dest` only when complete). Neither
// holds a whole file in memory.
//
// Thread safety: safe for concurrent use. Each call borrows a curl easy handle
// from a small pool guarded by a mutex (no lock is held during I/O), so
// keep-alive connections are reused across calls.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace cairn::client {

struct TransportOptions {
  long connect_timeout_ms = 10'000;  // NOLINT(runtime/int): curl's type
  // Whole-request timeout for buffered (JSON) calls; 0 = none. Uploads and
  // downloads have no total timeout (they may be large) but abort when the
  // transfer stalls below 1 byte/s for `stall_timeout_s`.
  long request_timeout_ms = 120'000;  // NOLINT(runtime/int)
  long stall_timeout_s = 120;         // NOLINT(runtime/int)
  // Sent as "Authorization: Bearer <token>" when non-empty; else basic auth
  // when `username` is non-empty.
  std::string bearer_token;
  std::string username;
  std::string password;
  // Whether to verify TLS certificates (https only).
  bool verify_tls = true;
  // "Name: value" lines sent on every request. Precondition: each passes
  // CheckHeaderLine() (callers validate what users type before building these).
  std::vector<std::string> extra_headers;
};

struct HttpResponse {
  int status = 0;
  std::string body;
};

class HttpTransport {
 public:
  static constexpr size_t kMaxBufferedResponse = 256u << 20;

  // `server_label` is the tracking URI named in "cannot reach" messages.
  HttpTransport(std::string server_label, TransportOptions options);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // A buffered request. `body` is sent for any method but GET (Content-Type:
  // application/json). Returns the response for status < 400; an Error
  // otherwise (HttpStatusError for a status >= 400).
  Result<HttpResponse> Send(std::string_view method, const std::string& url,
                            const std::string& body = {});
  // As Send(), but any HTTP status is returned as the response: an Error only
  // when no complete response arrived (kUnavailable, kDeadlineExceeded, or
  // kResourceExhausted for a body over kMaxBufferedResponse).
  Result<HttpResponse> SendRaw(std::string_view method, const std::string& url,
                               const std::string& body = {});
  // PUT the bytes of `local_file` to `url`, streamed from disk.
  Status Upload(const std::string& url, const std::string& local_file);
  // GET `url` into `dest` (its parent directory must exist), streamed to disk.
  Status Download(const std::string& url, const std::string& dest);
  // GET `url`, handing the body to `sink` in chunks as it arrives (for a
  // caller that stores and checks it itself: data/remote.h). A status >= 400
  // is an Error as for Download, and its body never reaches the sink. An
  // Error from `sink` aborts the transfer and is returned as is.
  Status DownloadTo(const std::string& url,
                    const std::function<Status(std::string_view chunk)>& sink);

 private:
  struct Handle;
  std::unique_ptr<Handle> Acquire();
  void Release(std::unique_ptr<Handle> h);
  // Maps a failed transfer (curl_code != CURLE_OK) to an Error; OK otherwise.
  Status CheckTransfer(Handle& h, int curl_code, std::string_view method, const std::string& url);
  // CheckTransfer, then HttpStatusError for the response's status.
  Status Check(Handle& h, int curl_code, std::string_view method, const std::string& url,
               const std::string& error_body);

  std::string server_label_;
  TransportOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Handle>> idle_;  // guarded by mu_
};

// MLflow's error body, {"error_code": "...", "message": "..."}.
struct MlflowErrorBody {
  std::string error_code;
  std::string message;  // "" when absent
};
// The body parsed as MLflow's error shape; nullopt for any other body.
std::optional<MlflowErrorBody> ParseMlflowErrorBody(std::string_view body);
// The Error for a response with status >= 400 (OK below 400): MLflow's error
// body becomes ErrorCodeFromMlflow(error_code, status) with the server's
// message verbatim; any other body "HTTP <status> from <METHOD> <url>: <body prefix>".
Status HttpStatusError(const HttpResponse& response, std::string_view method, std::string_view url);

// kInvalidArgument unless `line` is "Name: value" with a token name and a
// value free of control characters (a CR or LF would inject headers).
Status CheckHeaderLine(std::string_view line);

// Joins `base` (no trailing '/') and `path` segments with '/', percent-encoding
// each segment of `path` (which may contain '/').
std::string JoinUrl(std::string_view base, std::string_view path);
// "a=1&b=x%20y" from name/value pairs, values percent-encoded.
std::string QueryString(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace cairn::client
