#include "http_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>

namespace cairn::bench {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

void HttpResponseParser::Reset() {
  phase_ = Phase::kHeaders;
  header_buf_.clear();
  response_.status = 0;
  response_.body.clear();
  chunked_ = false;
  remaining_ = 0;
  line_buf_.clear();
  error_.clear();
}

HttpResponseParser::State HttpResponseParser::ParseHeaders() {
  // header_buf_ holds everything up to and including "\r\n\r\n".
  std::string_view all(header_buf_);
  size_t eol = all.find("\r\n");
  std::string_view status_line = all.substr(0, eol);
  // HTTP/1.1 200 OK
  size_t sp = status_line.find(' ');
  if (sp == std::string_view::npos || status_line.size() < sp + 4) {
    error_ = "bad status line: " + std::string(status_line);
    return State::kError;
  }
  int status = 0;
  auto [p, ec] = std::from_chars(status_line.data() + sp + 1, status_line.data() + sp + 4, status);
  if (ec != std::errc()) {
    error_ = "bad status code: " + std::string(status_line);
    return State::kError;
  }
  response_.status = status;
  bool have_length = false;
  size_t pos = eol + 2;
  while (pos < all.size()) {
    size_t end = all.find("\r\n", pos);
    if (end == std::string_view::npos || end == pos) break;
    std::string_view line = all.substr(pos, end - pos);
    pos = end + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = Trim(line.substr(0, colon));
    std::string_view value = Trim(line.substr(colon + 1));
    if (IEquals(name, "content-length")) {
      uint64_t n = 0;
      auto [q, e] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (e != std::errc()) {
        error_ = "bad content-length";
        return State::kError;
      }
      remaining_ = n;
      have_length = true;
    } else if (IEquals(name, "transfer-encoding") && value.find("chunked") != value.npos) {
      chunked_ = true;
    }
  }
  if (chunked_) {
    phase_ = Phase::kChunkSize;
  } else if (have_length) {
    phase_ = Phase::kBody;
  } else if (status == 204 || status == 304 || (status >= 100 && status < 200)) {
    remaining_ = 0;
    phase_ = Phase::kBody;
  } else {
    // Read-until-close bodies are not used by either server on keep-alive.
    error_ = "response without Content-Length or chunked encoding";
    return State::kError;
  }
  return State::kNeedMore;
}

HttpResponseParser::State HttpResponseParser::Feed(std::string_view data, size_t* consumed) {
  size_t used = 0;
  auto finish = [&](State s) {
    *consumed = used;
    return s;
  };
  while (true) {
    switch (phase_) {
      case Phase::kHeaders: {
        // Look for the blank line, also across the boundary with old bytes.
        size_t old = header_buf_.size();
        size_t start = old >= 3 ? old - 3 : 0;
        header_buf_.append(data.substr(used));
        size_t end = header_buf_.find("\r\n\r\n", start);
        if (end == std::string::npos) {
          used = data.size();
          if (header_buf_.size() > 64 * 1024) {
            error_ = "response headers too large";
            return finish(State::kError);
          }
          return finish(State::kNeedMore);
        }
        size_t header_len = end + 4;
        used += header_len - old;
        header_buf_.resize(header_len);
        if (ParseHeaders() == State::kError) return finish(State::kError);
        break;
      }
      case Phase::kBody: {
        size_t take = std::min<uint64_t>(remaining_, data.size() - used);
        if (keep_body_) response_.body.append(data.substr(used, take));
        used += take;
        remaining_ -= take;
        if (remaining_ == 0) return finish(State::kDone);
        return finish(State::kNeedMore);
      }
      case Phase::kChunkSize:
      case Phase::kChunkDataEnd:
      case Phase::kTrailers: {
        size_t nl = data.find('\n', used);
        if (nl == std::string_view::npos) {
          line_buf_.append(data.substr(used));
          used = data.size();
          return finish(State::kNeedMore);
        }
        line_buf_.append(data.substr(used, nl + 1 - used));
        used = nl + 1;
        std::string_view line = Trim(std::string_view(line_buf_).substr(0, line_buf_.size() - 1));
        if (phase_ == Phase::kChunkDataEnd) {
          phase_ = Phase::kChunkSize;
        } else if (phase_ == Phase::kTrailers) {
          if (line.empty()) {
            line_buf_.clear();
            return finish(State::kDone);
          }
        } else {
          uint64_t n = 0;
          auto [q, e] = std::from_chars(line.data(), line.data() + line.size(), n, 16);
          if (e != std::errc()) {
            error_ = "bad chunk size";
            return finish(State::kError);
          }
          remaining_ = n;
          phase_ = n == 0 ? Phase::kTrailers : Phase::kChunkData;
        }
        line_buf_.clear();
        break;
      }
      case Phase::kChunkData: {
        size_t take = std::min<uint64_t>(remaining_, data.size() - used);
        if (keep_body_) response_.body.append(data.substr(used, take));
        used += take;
        remaining_ -= take;
        if (remaining_ != 0) return finish(State::kNeedMore);
        phase_ = Phase::kChunkDataEnd;
        break;
      }
    }
  }
}

std::string BuildRequest(std::string_view method, std::string_view path, std::string_view host,
                         std::string_view body) {
  std::string r;
  r.reserve(160 + path.size() + body.size());
  r.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ").append(host);
  r.append("\r\nUser-Agent: cairn-bench\r\nAccept: */*\r\nConnection: keep-alive\r\n");
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    r.append("Content-Type: application/json\r\nContent-Length: ");
    r.append(std::to_string(body.size()));
    r.append("\r\n");
  }
  r.append("\r\n");
  r.append(body);
  return r;
}

Result<int> ConnectTcp(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port_str = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), port_str.c_str(), &hints, &res);
  if (rc != 0) return Unavailable("resolve " + host + ": " + gai_strerror(rc));
  int fd = -1;
  std::string last_error = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    last_error = std::strerror(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return Unavailable("connect " + host + ":" + port_str + ": " + last_error);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

HttpConnection::~HttpConnection() { Close(); }

void HttpConnection::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

Status HttpConnection::Connect(const std::string& host, int port) {
  Close();
  host_ = host;
  port_ = port;
  CAIRN_ASSIGN_OR_RETURN(fd_, ConnectTcp(host, port));
  return {};
}

Result<HttpResponse> HttpConnection::CallOnce(const std::string& request) {
  size_t off = 0;
  while (off < request.size()) {
    ssize_t n = send(fd_, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Unavailable(std::string("send: ") + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  HttpResponseParser parser;
  char buf[64 * 1024];
  while (true) {
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Unavailable(std::string("recv: ") + std::strerror(errno));
    }
    if (n == 0) return Unavailable("connection closed by server");
    size_t consumed = 0;
    auto state = parser.Feed(std::string_view(buf, static_cast<size_t>(n)), &consumed);
    if (state == HttpResponseParser::State::kError) return Internal(parser.error());
    if (state == HttpResponseParser::State::kDone) {
      return std::move(parser.mutable_response());
    }
  }
}

Result<HttpResponse> HttpConnection::Call(std::string_view method, std::string_view path,
                                          std::string_view body) {
  std::string host_header = host_ + ":" + std::to_string(port_);
  std::string request = BuildRequest(method, path, host_header, body);
  if (fd_ < 0) CAIRN_RETURN_IF_ERROR(Connect(host_, port_));
  auto r = CallOnce(request);
  if (!r && r.error().code() == ErrorCode::kUnavailable) {
    CAIRN_RETURN_IF_ERROR(Connect(host_, port_));
    r = CallOnce(request);
  }
  return r;
}

Status ParseHttpUrl(const std::string& url, std::string* host, int* port) {
  std::string_view s(url);
  if (!s.starts_with("http://")) return InvalidArgument("expected http://host:port, got " + url);
  s.remove_prefix(7);
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) {
    *host = std::string(s);
    *port = 80;
    return {};
  }
  *host = std::string(s.substr(0, colon));
  std::string_view p = s.substr(colon + 1);
  auto [q, ec] = std::from_chars(p.data(), p.data() + p.size(), *port);
  if (ec != std::errc() || q != p.data() + p.size()) return InvalidArgument("bad port in " + url);
  return {};
}

std::string ExtractJsonString(std::string_view json, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\"";
  size_t pos = json.find(needle);
  if (pos == std::string_view::npos) return "";
  pos += needle.size();
  while (pos < json.size() && (json[pos] == ' ' || json[pos] == '\n' || json[pos] == '\t')) ++pos;
  if (pos >= json.size() || json[pos] != ':') return "";
  ++pos;
  while (pos < json.size() && (json[pos] == ' ' || json[pos] == '\n' || json[pos] == '\t')) ++pos;
  if (pos >= json.size() || json[pos] != '"') return "";
  size_t end = json.find('"', pos + 1);
  if (end == std::string_view::npos) return "";
  return std::string(json.substr(pos + 1, end - pos - 1));
}

Result<std::string> CreateRunViaApi(HttpConnection& conn, const std::string& experiment_id) {
  std::string body = "{\"experiment_id\":\"" + experiment_id + "\"}";
  CAIRN_ASSIGN_OR_RETURN(HttpResponse r, conn.Call("POST", "/api/2.0/mlflow/runs/create", body));
  if (r.status != 200) {
    return Internal("runs/create answered " + std::to_string(r.status) + ": " + r.body);
  }
  std::string run_id = ExtractJsonString(r.body, "run_id");
  if (run_id.empty()) return Internal("runs/create: no run_id in " + r.body);
  return run_id;
}

}  // namespace cairn::bench
