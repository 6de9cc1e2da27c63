#pragma once
// A minimal HTTP/1.1 client for the benchmark tools: no Beast, no curl, so
// the load generator costs far less CPU than the servers it measures.
//
// - HttpResponseParser: incremental parser of one response at a time
//   (status line, headers, Content-Length or chunked body). Feed it bytes as
//   they arrive; it says when a full response is in and how many bytes of the
//   input it consumed (the rest belongs to the next response).
// - BuildRequest: serializes a keep-alive request with Content-Length.
// - HttpConnection: a blocking keep-alive connection (TCP_NODELAY) for the
//   setup calls (create a run) and the sequential search timings.
//
// Thread safety: none of these types is thread-safe; use one per thread.
// Errors: cairn::Error with kUnavailable for connect/IO failures and
// kInternal for malformed responses.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace cairn::bench {

struct HttpResponse {
  int status = 0;
  std::string body;
};

class HttpResponseParser {
 public:
  enum class State { kNeedMore, kDone, kError };

  // Consumes bytes from `data`; sets *consumed to how many were used. When
  // the result is kDone, response() holds the full response; call Reset()
  // before parsing the next one. With keep_body=false the body is counted
  // but not stored (the load generator does not need it).
  State Feed(std::string_view data, size_t* consumed);
  void Reset();
  const HttpResponse& response() const { return response_; }
  HttpResponse& mutable_response() { return response_; }
  void set_keep_body(bool keep) { keep_body_ = keep; }
  const std::string& error() const { return error_; }

 private:
  enum class Phase { kHeaders, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailers };
  State ParseHeaders();

  Phase phase_ = Phase::kHeaders;
  std::string header_buf_;
  HttpResponse response_;
  bool keep_body_ = true;
  bool chunked_ = false;
  uint64_t remaining_ = 0;  // body or chunk bytes still expected
  std::string line_buf_;    // chunk-size / trailer line in progress
  std::string error_;
};

// "POST /path HTTP/1.1" with Host, Content-Type: application/json,
// Content-Length and keep-alive headers.
std::string BuildRequest(std::string_view method, std::string_view path, std::string_view host,
                         std::string_view body);

class HttpConnection {
 public:
  HttpConnection() = default;
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  Status Connect(const std::string& host, int port);
  // Sends one request and waits for its response (reconnects once if the
  // server had closed the idle connection).
  Result<HttpResponse> Call(std::string_view method, std::string_view path,
                            std::string_view body);

 private:
  Result<HttpResponse> CallOnce(const std::string& request);
  void Close();
  int fd_ = -1;
  std::string host_;
  int port_ = 0;
};

// Opens a TCP connection with TCP_NODELAY; returns the fd or an error.
Result<int> ConnectTcp(const std::string& host, int port);

// "http://host:port" -> host, port. kInvalidArgument otherwise.
Status ParseHttpUrl(const std::string& url, std::string* host, int* port);

// The string value of the first `"key": "value"` in `json` (tolerates
// whitespace; no unescaping: meant for ids). Empty when absent.
std::string ExtractJsonString(std::string_view json, std::string_view key);

// Creates a run in `experiment_id` through POST /api/2.0/mlflow/runs/create
// and returns its run_id.
Result<std::string> CreateRunViaApi(HttpConnection& conn, const std::string& experiment_id);

}  // namespace cairn::bench
