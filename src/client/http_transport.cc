#include "client/http_transport.h"

#include <curl/curl.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/uri.h"

namespace cairn::client {
namespace {

// curl_global_init is not guaranteed thread-safe on every build; do it once.
void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendToString(char* data, size_t size, size_t n, void* user) {
  auto* ctx = static_cast<std::string*>(user);
  size_t bytes = size * n;
  if (ctx->size() + bytes > HttpTransport::kMaxBufferedResponse) return 0;  // aborts
  ctx->append(data, bytes);
  return bytes;
}

struct UploadContext {
  std::FILE* file = nullptr;
  int read_errno = 0;
};

size_t ReadFromFile(char* buffer, size_t size, size_t n, void* user) {
  auto* ctx = static_cast<UploadContext*>(user);
  size_t got = std::fread(buffer, 1, size * n, ctx->file);
  if (got == 0 && std::ferror(ctx->file)) {
    ctx->read_errno = errno;
    return CURL_READFUNC_ABORT;
  }
  return got;
}

struct DownloadContext {
  CURL* curl = nullptr;
  std::FILE* file = nullptr;
  bool error_status = false;  // status >= 400: collect the body as an error message
  bool status_checked = false;
  std::string error_body;
  int write_errno = 0;
  // DownloadTo: where the body goes instead of `file`, and its error.
  const std::function<Status(std::string_view)>* sink = nullptr;
  std::optional<Error> sink_error;
};

size_t WriteToFile(char* data, size_t size, size_t n, void* user) {
  auto* ctx = static_cast<DownloadContext*>(user);
  size_t bytes = size * n;
  if (!ctx->status_checked) {
    long status = 0;  // NOLINT(runtime/int): curl's type
    curl_easy_getinfo(ctx->curl, CURLINFO_RESPONSE_CODE, &status);
    ctx->error_status = status >= 400;
    ctx->status_checked = true;
  }
  if (ctx->error_status) {
    if (ctx->error_body.size() < 64 * 1024) ctx->error_body.append(data, bytes);
    return bytes;
  }
  if (ctx->sink != nullptr) {
    Status st = (*ctx->sink)(std::string_view(data, bytes));
    if (!st) {
      ctx->sink_error = st.error();
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    return bytes;
  }
  if (std::fwrite(data, 1, bytes, ctx->file) != bytes) {
    ctx->write_errno = errno;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  return bytes;
}

// A GET of `url` on `c` whose body goes to WriteToFile with `ctx` (a file or a sink).
CURLcode PerformGet(CURL* c, curl_slist* headers, long stall_timeout_s,  // NOLINT(runtime/int)
                    const std::string& url, DownloadContext& ctx) {
  ctx.curl = c;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &WriteToFile);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, stall_timeout_s);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  return curl_easy_perform(c);
}

}  // namespace

struct HttpTransport::Handle {
  CURL* curl = nullptr;
  curl_slist* headers = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};

  Handle() : curl(curl_easy_init()) {}
  ~Handle() {
    ClearHeaders();
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
  void ClearHeaders() {
    if (headers != nullptr) curl_slist_free_all(headers);
    headers = nullptr;
  }
  void AddHeader(const std::string& h) { headers = curl_slist_append(headers, h.c_str()); }
};

HttpTransport::HttpTransport(std::string server_label, TransportOptions options)
    : server_label_(std::move(server_label)), options_(std::move(options)) {
  GlobalInitOnce();
}

HttpTransport::~HttpTransport() = default;

std::unique_ptr<HttpTransport::Handle> HttpTransport::Acquire() {
  std::unique_ptr<Handle> h;
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      h = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (h == nullptr) h = std::make_unique<Handle>();
  // Reset options (keeps the connection cache), then set what every call needs.
  curl_easy_reset(h->curl);
  h->ClearHeaders();
  h->error_buffer[0] = '\0';
  curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->error_buffer);
  curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "cairn-client/0.1");
  if (!options_.verify_tls) {
    curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!options_.bearer_token.empty()) {
    h->AddHeader("Authorization: Bearer " + options_.bearer_token);
  } else if (!options_.username.empty()) {
    curl_easy_setopt(h->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h->curl, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(h->curl, CURLOPT_PASSWORD, options_.password.c_str());
  }
  // curl waits up to a second for "100 Continue" on large bodies; our server
  // and MLflow's do not need the handshake.
  h->AddHeader("Expect:");
  for (const auto& line : options_.extra_headers) h->AddHeader(line);
  return h;
}

void HttpTransport::Release(std::unique_ptr<Handle> h) {
  h->ClearHeaders();
  std::lock_guard lock(mu_);
  if (idle_.size() < 8) idle_.push_back(std::move(h));
}

Status HttpTransport::CheckTransfer(Handle& h, int curl_code, std::string_view method,
                                    const std::string& url) {
  auto code = static_cast<CURLcode>(curl_code);
  if (code == CURLE_OK) return {};
  std::string detail = h.error_buffer[0] != '\0' ? h.error_buffer : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return MakeError(ErrorCode::kDeadlineExceeded,
                       std::string(method) + " " + url + " timed out: " + detail);
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
      return Unavailable("cannot reach the tracking server at " + server_label_ + ": " + detail +
                         " (is `cairn server` running?)");
    default:
      return Unavailable(std::string(method) + " " + url + " failed: " + detail);
  }
}

Status HttpTransport::Check(Handle& h, int curl_code, std::string_view method,
                            const std::string& url, const std::string& error_body) {
  CAIRN_RETURN_IF_ERROR(CheckTransfer(h, curl_code, method, url));
  long status = 0;  // NOLINT(runtime/int)
  curl_easy_getinfo(h.curl, CURLINFO_RESPONSE_CODE, &status);
  return HttpStatusError(HttpResponse{static_cast<int>(status), error_body}, method, url);
}

Result<HttpResponse> HttpTransport::Send(std::string_view method, const std::string& url,
                                         const std::string& body) {
  CAIRN_ASSIGN_OR_RETURN(HttpResponse r, SendRaw(method, url, body));
  CAIRN_RETURN_IF_ERROR(HttpStatusError(r, method, url));
  return r;
}

Result<HttpResponse> HttpTransport::SendRaw(std::string_view method, const std::string& url,
                                            const std::string& body) {
  auto h = Acquire();
  CURL* c = h->curl;
  std::string response;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, options_.request_timeout_ms);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &AppendToString);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
  if (method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    h->AddHeader("Content-Type: application/json");
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_WRITE_ERROR) {
    Release(std::move(h));
    return MakeError(ErrorCode::kResourceExhausted,
                     std::string(method) + " " + url + ": response larger than " +
                         std::to_string(kMaxBufferedResponse >> 20) + " MiB");
  }
  Status st = CheckTransfer(*h, rc, method, url);
  long status = 0;  // NOLINT(runtime/int)
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  Release(std::move(h));
  if (!st) return std::unexpected(st.error());
  return HttpResponse{static_cast<int>(status), std::move(response)};
}

Status HttpTransport::Upload(const std::string& url, const std::string& local_file) {
  std::error_code ec;
  auto size = std::filesystem::file_size(local_file, ec);
  if (ec) return NotFound("cannot read '" + local_file + "': " + ec.message());
  UploadContext ctx;
  ctx.file = std::fopen(local_file.c_str(), "rb");
  if (ctx.file == nullptr) {
    return NotFound("cannot open '" + local_file + "': " + std::strerror(errno));
  }
  auto h = Acquire();
  CURL* c = h->curl;
  std::string response;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);  // PUT
  curl_easy_setopt(c, CURLOPT_READFUNCTION, &ReadFromFile);
  curl_easy_setopt(c, CURLOPT_READDATA, &ctx);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &AppendToString);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, options_.stall_timeout_s);
  h->AddHeader("Content-Type: application/octet-stream");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
  CURLcode rc = curl_easy_perform(c);
  std::fclose(ctx.file);
  if (rc == CURLE_ABORTED_BY_CALLBACK || rc == CURLE_READ_ERROR) {
    Release(std::move(h));
    return Internal("reading '" + local_file + "' failed: " + std::strerror(ctx.read_errno));
  }
  Status st = Check(*h, rc, "PUT", url, response);
  Release(std::move(h));
  return st;
}

Status HttpTransport::Download(const std::string& url, const std::string& dest) {
  std::string part = dest + ".part";
  DownloadContext ctx;
  ctx.file = std::fopen(part.c_str(), "wb");
  if (ctx.file == nullptr) {
    return Internal("cannot create '" + part + "': " + std::strerror(errno));
  }
  auto h = Acquire();
  CURLcode rc = PerformGet(h->curl, h->headers, options_.stall_timeout_s, url, ctx);
  bool closed_ok = std::fclose(ctx.file) == 0;
  int close_errno = errno;
  Status st;
  if (rc == CURLE_WRITE_ERROR && ctx.write_errno != 0) {
    st = Internal("writing '" + part + "' failed: " + std::strerror(ctx.write_errno));
  } else {
    st = Check(*h, rc, "GET", url, ctx.error_body);
    if (st && !closed_ok) {
      st = Internal("writing '" + part + "' failed: " + std::strerror(close_errno));
    }
  }
  Release(std::move(h));
  std::error_code ec;
  if (!st) {
    std::filesystem::remove(part, ec);
    return st;
  }
  std::filesystem::rename(part, dest, ec);
  if (ec) {
    std::filesystem::remove(part, ec);
    return Internal("cannot move download into place at '" + dest + "': " + ec.message());
  }
  return {};
}

Status HttpTransport::DownloadTo(const std::string& url,
                                 const std::function<Status(std::string_view)>& sink) {
  DownloadContext ctx;
  ctx.sink = &sink;
  auto h = Acquire();
  CURLcode rc = PerformGet(h->curl, h->headers, options_.stall_timeout_s, url, ctx);
  Status st;
  if (rc == CURLE_WRITE_ERROR && ctx.sink_error.has_value()) {
    st = std::unexpected(std::move(*ctx.sink_error));
  } else {
    st = Check(*h, rc, "GET", url, ctx.error_body);
  }
  Release(std::move(h));
  return st;
}

std::optional<MlflowErrorBody> ParseMlflowErrorBody(std::string_view body) {
  try {
    auto j = nlohmann::json::parse(body);
    if (j.is_object() && j.contains("error_code") && j["error_code"].is_string()) {
      MlflowErrorBody e;
      e.error_code = j["error_code"].get<std::string>();
      if (j.contains("message") && j["message"].is_string()) {
        e.message = j["message"].get<std::string>();
      }
      return e;
    }
  } catch (const nlohmann::json::exception&) {
    // Not JSON.
  }
  return std::nullopt;
}

Status HttpStatusError(const HttpResponse& response, std::string_view method,
                       std::string_view url) {
  if (response.status < 400) return {};
  if (auto e = ParseMlflowErrorBody(response.body)) {
    return MakeError(ErrorCodeFromMlflow(e->error_code, response.status), e->message);
  }
  std::string prefix = response.body.substr(0, 300);
  return MakeError(ErrorCodeFromMlflow("", response.status),
                   "HTTP " + std::to_string(response.status) + " from " + std::string(method) +
                       " " + std::string(url) + (prefix.empty() ? "" : ": " + prefix));
}

Status CheckHeaderLine(std::string_view line) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgument("header '" + std::string(line) + "' is not 'Name: value'");
  }
  // RFC 9110 token characters.
  constexpr std::string_view kTokenPunct = "!#$%&'*+-.^_`|~";
  for (char ch : line.substr(0, colon)) {
    auto u = static_cast<unsigned char>(ch);
    if (!std::isalnum(u) && kTokenPunct.find(ch) == std::string_view::npos) {
      return InvalidArgument("header name in '" + std::string(line) + "' is not a token");
    }
  }
  for (char ch : line.substr(colon + 1)) {
    auto u = static_cast<unsigned char>(ch);
    if ((u < 0x20 && ch != '\t') || u == 0x7f) {
      return InvalidArgument("header value in '" + std::string(line) +
                             "' contains control characters");
    }
  }
  return {};
}

std::string JoinUrl(std::string_view base, std::string_view path) {
  std::string out(base);
  while (!out.empty() && out.back() == '/') out.pop_back();
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(i, slash - i);
    if (!seg.empty()) {
      out.push_back('/');
      out += PercentEncode(seg, /*keep_slash=*/false);
    }
    i = slash + 1;
  }
  return out;
}

std::string QueryString(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += PercentEncode(k, false);
    out.push_back('=');
    out += PercentEncode(v, false);
  }
  return out;
}

}  // namespace cairn::client
