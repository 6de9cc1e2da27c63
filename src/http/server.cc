// HttpServer over Boost.Beast + Asio. The only translation unit that
// includes Beast (it is slow to compile); routing, request-target parsing and
// the Request/Response helpers live in router.cc, request_target.cc and
// request.cc.
//
// Shape: one ServerCore (io_context, acceptor, connection registry) and one
// Connection per accepted socket. A Connection is a chain of async
// operations on its own strand: read header -> route -> (100 Continue) ->
// read body (buffered or spooled to a file) -> handler (inline) -> write ->
// next request or close. Only one operation is outstanding at a time, so a
// Connection's state is touched only from its strand.
//
// Responses are serialized by hand into a per-connection buffer and written
// with one gather write (head + body); file bodies are streamed in chunks
// from a per-connection buffer. Beast parses requests.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_set>

#include "core/log.h"
#include "http/request_target.h"
#include "http/server.h"

namespace cairn::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kFileChunkBytes = 256 * 1024;
constexpr size_t kDrainChunkBytes = 64 * 1024;
// After an error response that left a request body unread, keep reading
// (and discarding) for this long before closing, so the client sees the
// response instead of a reset.
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

class Connection;

// A connection's in-flight asynchronous request (one at a time: HTTP/1.1
// without pipelining of handlers). Allocated once per connection on its
// first asynchronous request and reused, so a request costs no slot
// allocation and no global registry (a former server-wide `pending` set
// under the core mutex cost two contended locks per request).
// `connection` is the strong reference that keeps the Connection (and its
// Request) alive while the handler works; it is taken exactly once per
// request, under `mu`, either by the Responder (which posts the response to
// the connection's strand while still holding `mu`) or by HttpServer::Stop
// after the io threads were joined (which drops the response that may still
// come; Stop finds the slots through the connection registry). Holding `mu`
// across the post is what makes a late Responder safe: Stop cannot destroy
// the io_context between the check and the post.
struct AsyncSlot {
  std::mutex mu;
  std::shared_ptr<Connection> connection;  // null once answered or detached
};

// The connection whose async handler this thread is running now (for the
// inline-answer fast path: an answer given before the handler returns is
// written directly, without a post to the strand).
thread_local Connection* t_dispatching = nullptr;

// Everything the io threads share. Outlives every Connection: the io_context
// (which owns pending handlers, hence Connections) is destroyed first.
struct ServerCore {
  ServerCore(ServerOptions o, Router r) : options(std::move(o)), router(std::move(r)) {}

  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void Register(Connection* c);
  void Unregister(Connection* c);
  // Calls f(shared_ptr<Connection>) for every live connection.
  template <typename F>
  void ForEachConnection(F f);

  const ServerOptions options;
  const Router router;
  std::atomic<bool> stopping{false};

  std::mutex mu;
  std::condition_variable drained;             // signalled when connections becomes empty
  std::unordered_set<Connection*> connections;  // guarded by mu

  // One shared by every io thread, or one per thread (io_context_per_thread);
  // iocs[0] also runs the acceptor.
  std::vector<std::unique_ptr<net::io_context>> iocs;
  std::atomic<size_t> next_ioc{0};  // round robin for accepted sockets
  net::io_context& NextIoContext() {
    if (iocs.size() == 1) return *iocs[0];
    return *iocs[next_ioc.fetch_add(1, std::memory_order_relaxed) % iocs.size()];
  }
  // Keep the io threads running while asynchronous answers may still be
  // posted (the connections waiting for them have no pending I/O); released
  // when the shutdown grace ends.
  std::vector<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;  // on its own strand
  std::optional<net::steady_timer> accept_retry;
};

Method MethodFromVerb(bhttp::verb v) {
  switch (v) {
    case bhttp::verb::get: return Method::kGet;
    case bhttp::verb::head: return Method::kHead;
    case bhttp::verb::post: return Method::kPost;
    case bhttp::verb::put: return Method::kPut;
    case bhttp::verb::delete_: return Method::kDelete;
    case bhttp::verb::patch: return Method::kPatch;
    case bhttp::verb::options: return Method::kOptions;
    default: return Method::kOther;
  }
}

void AppendNumber(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, end);
}

// RFC 9110 IMF-fixdate, formatted at most once per second per thread.
void AppendDate(std::string& out) {
  thread_local time_t last = -1;
  thread_local char buf[40];
  thread_local size_t len = 0;
  const time_t now = ::time(nullptr);
  if (now != last) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    ::gmtime_r(&now, &tm);
    const int n = std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                                kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon],
                                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    len = n > 0 ? static_cast<size_t>(n) : 0;
    last = now;
  }
  out.append(buf, len);
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

bool HasCrLf(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

std::string RandomHex64() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   (static_cast<uint64_t>(::getpid()) << 32) ^
                                   static_cast<uint64_t>(
                                       SteadyClock::now().time_since_epoch().count())};
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t v = rng();
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[i] = kHex[v & 15];
  return out;
}

Response ErrorWithStatus(int status, ErrorCode code, std::string message) {
  Response r = ErrorResponse(Error(code, std::move(message)));
  r.status = status;
  return r;
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerCore* core, tcp::socket socket)
      : core_(core), stream_(std::move(socket)) {
    beast::error_code ec;
    const tcp::endpoint ep = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      remote_ = ep.address().to_string();
      remote_ += ':';
      AppendNumber(remote_, ep.port());
    }
    core_->Register(this);
  }

  ~Connection() {
    RemoveSpoolFile();
    CloseResponseFile();
    core_->Unregister(this);
  }

  void Start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Connection::ReadRequest, shared_from_this(), true));
  }

  // Runs on the strand when Stop() begins: a connection waiting for a
  // request is closed; one with a request in flight finishes it, answers
  // with "Connection: close" (ServerCore::stopping) and closes.
  void OnServerStopping() {
    if (phase_ == Phase::kReadingHeader) CloseNow();
  }

  // Runs on the strand when the shutdown grace has run out.
  void ForceClose() { CloseNow(); }

  // The connection's strand.
  net::any_io_executor executor() { return stream_.get_executor(); }

  // Stop, after the io threads were joined: drops the strong reference an
  // unanswered asynchronous request holds (a Responder called later finds
  // the slot detached). Returns whether there was one.
  bool DetachAsync() {
    if (!slot_) return false;
    std::shared_ptr<Connection> self;
    {
      std::lock_guard lock(slot_->mu);
      self = std::move(slot_->connection);
    }
    return self != nullptr;  // released here, outside slot_->mu
  }

  // Called by a Responder holding the slot's mutex, with the connection taken
  // from the slot: true when this thread is running this connection's async
  // handler right now (the answer is then stored and written when the handler
  // returns, with no post).
  bool TakeInlineAnswer(Response& r) {
    if (t_dispatching != this) return false;
    inline_response_ = std::move(r);
    return true;
  }

 private:
  enum class Phase { kReadingHeader, kReadingBody, kHandling, kWriting, kClosing, kClosed };

  // ---- reading -----------------------------------------------------------

  void ReadRequest(bool first) {
    if (core_->stopping.load(std::memory_order_acquire)) {
      CloseNow();
      return;
    }
    phase_ = Phase::kReadingHeader;
    string_parser_.reset();
    file_parser_.reset();
    header_parser_.emplace();
    header_parser_->header_limit(core_->options.max_header_bytes);
    // Body limits are checked against the route once the header is known.
    // (Not boost::none: Beast 1.74 compares `length > body_limit_` as
    // optionals there, and any length is greater than none.)
    header_parser_->body_limit(std::numeric_limits<uint64_t>::max());
    body_unread_ = false;
    route_ = nullptr;
    is_head_ = false;
    version_ = 11;
    if (!first && buffer_.size() == 0) {
      // Keep-alive: wait up to idle_timeout for the next request to start,
      // then give it header_timeout to finish its header.
      stream_.expires_after(core_->options.idle_timeout);
      stream_.async_read_some(
          buffer_.prepare(4096),
          beast::bind_front_handler(&Connection::OnIdleRead, shared_from_this()));
      return;
    }
    ReadHeader();
  }

  void OnIdleRead(beast::error_code ec, size_t n) {
    if (ec) {
      CloseNow();
      return;
    }
    buffer_.commit(n);
    ReadHeader();
  }

  void ReadHeader() {
    stream_.expires_after(core_->options.header_timeout);
    bhttp::async_read_header(stream_, buffer_, *header_parser_,
                             beast::bind_front_handler(&Connection::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    if (phase_ == Phase::kClosed) return;
    start_ = SteadyClock::now();
    if (ec) {
      if (ec == bhttp::error::header_limit) {
        method_text_ = "-";
        request_.target.clear();
        keep_alive_ = false;
        SendError(ErrorWithStatus(431, ErrorCode::kBadRequest,
                                  "request header exceeds " +
                                      std::to_string(core_->options.max_header_bytes) +
                                      " bytes"));
      } else if (IsParseError(ec)) {
        method_text_ = "-";
        request_.target.clear();
        keep_alive_ = false;
        SendError(ErrorResponse(Error(ErrorCode::kBadRequest,
                                      "malformed HTTP request: " + ec.message())));
      } else {
        CloseNow();  // end of stream, timeout, reset, shutdown
      }
      return;
    }

    const auto& msg = header_parser_->get();
    const auto method_sv = msg.method_string();
    method_text_.assign(method_sv.data(), method_sv.size());
    const auto target_sv = msg.target();
    request_.method = MethodFromVerb(msg.method());
    request_.target.assign(target_sv.data(), target_sv.size());
    request_.body.clear();
    request_.body_file.clear();
    request_.route_suffix.clear();
    request_.remote_address = remote_;
    FillHeaders(msg);
    version_ = msg.version();
    keep_alive_ = header_parser_->keep_alive();
    is_head_ = request_.method == Method::kHead;
    body_unread_ = !header_parser_->is_done();

    if (auto st = ParseTarget(request_.target, request_.path, request_.query); !st) {
      keep_alive_ = keep_alive_ && !body_unread_;
      SendError(ErrorResponse(st.error()));
      return;
    }

    const Router::Match match = core_->router.Find(request_.method, request_.path);
    if (match.route == nullptr) {
      // Answer without reading any body; a connection with an unread body
      // cannot be reused.
      keep_alive_ = keep_alive_ && !body_unread_;
      if (match.method_mismatch) {
        Response r = ErrorWithStatus(
            405, ErrorCode::kEndpointNotFound,
            "method " + method_text_ + " is not allowed for " + request_.path);
        r.headers.emplace_back("Allow", core_->router.AllowedMethods(request_.path));
        SendError(std::move(r));
      } else {
        SendError(ErrorResponse(Error(ErrorCode::kEndpointNotFound,
                                      "no endpoint for " + method_text_ + " " + request_.path)));
      }
      return;
    }
    route_ = match.route;
    if (route_->prefix) {
      const std::string_view suffix = Router::RouteSuffix(*route_, request_.path);
      request_.route_suffix.assign(suffix.data(), suffix.size());
    }

    if (!body_unread_) {
      Dispatch();
      return;
    }
    const bool spool = route_->body_mode == BodyMode::kSpoolToFile;
    const uint64_t limit =
        spool ? core_->options.max_upload_bytes : core_->options.max_body_bytes;
    if (const auto length = header_parser_->content_length(); length && *length > limit) {
      keep_alive_ = false;
      SendError(TooLarge(*length, limit));
      return;
    }
    const auto expect = msg[bhttp::field::expect];
    if (version_ >= 11 && EqualsIgnoreCase({expect.data(), expect.size()}, "100-continue")) {
      stream_.expires_after(core_->options.header_timeout);
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       beast::bind_front_handler(&Connection::OnContinueWritten,
                                                 shared_from_this()));
      return;
    }
    ReadBody();
  }

  void OnContinueWritten(beast::error_code ec, size_t) {
    if (ec) {
      CloseNow();
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    phase_ = Phase::kReadingBody;
    stream_.expires_after(core_->options.body_timeout);
    if (route_->body_mode == BodyMode::kBuffer) {
      string_parser_.emplace(std::move(*header_parser_));
      // Content-Length was checked above; this bounds chunked bodies.
      string_parser_->body_limit(core_->options.max_body_bytes);
      bhttp::async_read(stream_, buffer_, *string_parser_,
                        beast::bind_front_handler(&Connection::OnBody, shared_from_this()));
      return;
    }
    file_parser_.emplace(std::move(*header_parser_));
    file_parser_->body_limit(core_->options.max_upload_bytes);
    if (auto st = OpenSpoolFile(file_parser_->get().body()); !st) {
      CAIRN_LOG_ERROR("http: {}", st.error().message());
      keep_alive_ = false;
      SendError(ErrorResponse(st.error()));
      return;
    }
    bhttp::async_read(stream_, buffer_, *file_parser_,
                      beast::bind_front_handler(&Connection::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, size_t) {
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      if (ec == bhttp::error::body_limit) {
        keep_alive_ = false;
        const uint64_t limit = route_->body_mode == BodyMode::kBuffer
                                   ? core_->options.max_body_bytes
                                   : core_->options.max_upload_bytes;
        RemoveSpoolFile();
        SendError(TooLarge(0, limit));
      } else if (IsParseError(ec)) {
        keep_alive_ = false;
        RemoveSpoolFile();
        SendError(ErrorResponse(
            Error(ErrorCode::kBadRequest, "malformed HTTP request body: " + ec.message())));
      } else {
        // Disconnect, timeout or a spool write error: the handler never runs.
        CAIRN_LOG_DEBUG("http: body of {} {} from {} not received: {}", method_text_,
                        request_.target, remote_, ec.message());
        CloseNow();
      }
      return;
    }
    body_unread_ = false;
    if (string_parser_) {
      request_.body = std::move(string_parser_->get().body());
    } else {
      beast::error_code close_ec;
      file_parser_->get().body().file().close(close_ec);
      if (close_ec) {
        keep_alive_ = false;
        RemoveSpoolFile();
        SendError(ErrorResponse(Error(ErrorCode::kInternal,
                                      "cannot write upload: " + close_ec.message())));
        return;
      }
      request_.body_file = spool_path_;
    }
    Dispatch();
  }

  // ---- handling ----------------------------------------------------------

  void Dispatch() {
    phase_ = Phase::kHandling;
    stream_.expires_never();
    response_ = Response();
    if (route_->async_handler) {
      DispatchAsync();
      return;
    }
    // The one last-resort catch: nothing a handler throws escapes the server.
    try {
      response_ = route_->handler(request_);
    } catch (const std::exception& e) {
      CAIRN_LOG_ERROR("http: handler for {} {} threw: {}", method_text_, request_.target,
                      e.what());
      response_ = ErrorResponse(
          Error(ErrorCode::kInternal, std::string("internal error: ") + e.what()));
    } catch (...) {
      CAIRN_LOG_ERROR("http: handler for {} {} threw a non-std exception", method_text_,
                      request_.target);
      response_ = ErrorResponse(Error(ErrorCode::kInternal, "internal error: unknown exception"));
    }
    RemoveSpoolFile();
    Write();
  }

  // The route answers later through a Responder (see server.h). The guard
  // answers 500 if every copy of the Responder is dropped unanswered. An
  // answer given on this thread before the handler returns (a model run on
  // the io thread) is written right after it returns: no post, no wake-up.
  void DispatchAsync() {
    if (!slot_) slot_ = std::make_shared<AsyncSlot>();
    {
      std::lock_guard lock(slot_->mu);
      slot_->connection = shared_from_this();
    }
    struct Guard {
      explicit Guard(std::shared_ptr<AsyncSlot> s) : slot(std::move(s)) {}
      std::shared_ptr<AsyncSlot> slot;
      std::atomic<bool> answered{false};
      void Answer(Response r) {
        if (answered.exchange(true)) return;
        std::shared_ptr<Connection> c;
        {
          std::lock_guard lock(slot->mu);
          c = std::move(slot->connection);
          if (!c) return;  // detached by Stop: the connection is gone
          if (c->TakeInlineAnswer(r)) return;  // written when the handler returns
          net::any_io_executor ex = c->executor();
          net::post(ex, [c, r = std::move(r)]() mutable { c->OnAsyncResponse(std::move(r)); });
        }
        // `c` is released here, outside slot->mu (~Connection may run).
      }
      ~Guard() {
        if (!answered.load()) {
          Answer(ErrorResponse(
              Error(ErrorCode::kInternal, "internal error: the handler dropped the request")));
        }
      }
    };
    auto guard = std::make_shared<Guard>(slot_);
    inline_response_.reset();
    Connection* const outer = t_dispatching;
    t_dispatching = this;
    try {
      route_->async_handler(request_, [g = guard](Response r) { g->Answer(std::move(r)); });
    } catch (const std::exception& e) {
      CAIRN_LOG_ERROR("http: handler for {} {} threw: {}", method_text_, request_.target,
                      e.what());
      guard->Answer(ErrorResponse(
          Error(ErrorCode::kInternal, std::string("internal error: ") + e.what())));
    } catch (...) {
      CAIRN_LOG_ERROR("http: handler for {} {} threw a non-std exception", method_text_,
                      request_.target);
      guard->Answer(
          ErrorResponse(Error(ErrorCode::kInternal, "internal error: unknown exception")));
    }
    // Our reference last: a handler that dropped every Responder copy is
    // answered 500 here, inline.
    guard.reset();
    t_dispatching = outer;
    if (inline_response_) {
      Response r = std::move(*inline_response_);
      inline_response_.reset();
      OnAsyncResponse(std::move(r));
    }
  }

 public:
  // On the strand: the Responder's answer arrived.
  void OnAsyncResponse(Response r) {
    if (phase_ != Phase::kHandling) return;  // closed meanwhile (forced stop)
    response_ = std::move(r);
    RemoveSpoolFile();
    Write();
  }

 private:
  // ---- writing -----------------------------------------------------------

  void SendError(Response r) {
    response_ = std::move(r);
    Write();
  }

  void Write() {
    phase_ = Phase::kWriting;
    if (response_.status < 100 || response_.status > 999) {
      CAIRN_LOG_ERROR("http: handler for {} {} returned invalid status {}", method_text_,
                      request_.target, response_.status);
      response_ = ErrorResponse(Error(ErrorCode::kInternal, "internal error: invalid status"));
    }
    if (core_->stopping.load(std::memory_order_acquire)) keep_alive_ = false;

    uint64_t content_length = response_.body.size();
    size_t first_chunk = 0;
    if (!response_.file_path.empty()) {
      if (!OpenResponseFile(content_length)) {
        response_ = ErrorResponse(
            Error(ErrorCode::kNotFound, "file not found: " + response_.file_path));
        content_length = response_.body.size();
      } else if (!is_head_ && content_length > 0) {
        // Read the first chunk now so small files go out in one write.
        first_chunk = ReadFileChunk();
        if (first_chunk == 0) {
          CloseNow();
          return;
        }
      }
    }

    // 204 and 304 never carry a body (RFC 9110 15.3.5, 15.4.5): none is
    // sent, and SerializeHead writes no Content-Length for them.
    if (response_.status == 204 || response_.status == 304) {
      content_length = 0;
      first_chunk = 0;
      response_.body.clear();
      if (file_fd_ >= 0) CloseResponseFile();
    }
    SerializeHead(content_length);
    bytes_sent_ = is_head_ ? 0 : content_length;
    stream_.expires_after(core_->options.idle_timeout);
    std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::const_buffer()};
    if (file_fd_ >= 0) {
      buffers[1] = net::buffer(file_buffer_.get(), first_chunk);
    } else if (!is_head_) {
      buffers[1] = net::buffer(response_.body);
    }
    net::async_write(stream_, buffers,
                     beast::bind_front_handler(&Connection::OnWritten, shared_from_this()));
  }

  void SerializeHead(uint64_t content_length) {
    head_.clear();
    head_ += "HTTP/1.1 ";
    AppendNumber(head_, static_cast<uint64_t>(response_.status));
    head_ += ' ';
    const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(response_.status));
    if (reason.starts_with('<')) {
      head_ += "Unknown";  // Beast's "<unknown-status>"
    } else {
      head_.append(reason.data(), reason.size());
    }
    head_ += "\r\nServer: cairn\r\nDate: ";
    AppendDate(head_);
    if (!response_.content_type.empty()) {
      head_ += "\r\nContent-Type: ";
      head_ += response_.content_type;
    }
    if (response_.status != 204 && response_.status != 304) {
      head_ += "\r\nContent-Length: ";
      AppendNumber(head_, content_length);
    }
    for (const auto& [name, value] : response_.headers) {
      // The server owns framing; a value with CR/LF would inject headers.
      if (EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "connection") ||
          EqualsIgnoreCase(name, "transfer-encoding") || HasCrLf(name) || HasCrLf(value)) {
        continue;
      }
      head_ += "\r\n";
      head_ += name;
      head_ += ": ";
      head_ += value;
    }
    if (!keep_alive_) {
      head_ += "\r\nConnection: close";
    } else if (version_ == 10) {
      head_ += "\r\nConnection: keep-alive";
    }
    head_ += "\r\n\r\n";
  }

  void OnWritten(beast::error_code ec, size_t) {
    if (ec) {
      CloseNow();
      return;
    }
    if (file_fd_ >= 0 && file_remaining_ > 0) {
      const size_t n = ReadFileChunk();
      if (n == 0) {
        CloseNow();  // the file shrank or failed mid-response: framing is lost
        return;
      }
      stream_.expires_after(core_->options.idle_timeout);
      net::async_write(stream_, net::buffer(file_buffer_.get(), n),
                       beast::bind_front_handler(&Connection::OnWritten, shared_from_this()));
      return;
    }
    CloseResponseFile();
    Finish();
  }

  void Finish() {
    if (core_->options.access_log) {
      const double ms =
          std::chrono::duration<double, std::milli>(SteadyClock::now() - start_).count();
      CAIRN_LOG_INFO("{} {} {} {} {:.3f}ms {}", method_text_,
                     request_.target.empty() ? std::string_view("-") : request_.target,
                     response_.status, bytes_sent_, ms, remote_);
    }
    if (keep_alive_) {
      ReadRequest(false);
    } else if (body_unread_) {
      Linger();
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      CloseNow();
    }
  }

  // ---- response files ----------------------------------------------------

  bool OpenResponseFile(uint64_t& size) {
    const int fd = ::open(response_.file_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return false;
    }
    file_fd_ = fd;
    file_offset_ = 0;
    file_remaining_ = is_head_ ? 0 : static_cast<uint64_t>(st.st_size);
    size = static_cast<uint64_t>(st.st_size);
    if (!file_buffer_) file_buffer_ = std::make_unique<char[]>(kFileChunkBytes);
    return true;
  }

  // Reads the next chunk into file_buffer_; 0 on error or early EOF.
  size_t ReadFileChunk() {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kFileChunkBytes, file_remaining_));
    size_t got = 0;
    while (got < want) {
      const ssize_t n = ::pread(file_fd_, file_buffer_.get() + got, want - got,
                                static_cast<off_t>(file_offset_ + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        CAIRN_LOG_ERROR("http: reading {} for a response failed at offset {}",
                        response_.file_path, file_offset_ + got);
        return 0;
      }
      got += static_cast<size_t>(n);
    }
    file_offset_ += got;
    file_remaining_ -= got;
    return got;
  }

  void CloseResponseFile() {
    if (file_fd_ >= 0) ::close(file_fd_);
    file_fd_ = -1;
  }

  // ---- spool files -------------------------------------------------------

  Status OpenSpoolFile(bhttp::file_body::value_type& body) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      std::string path = core_->options.spool_dir + "/cairn-upload-" + RandomHex64() + ".part";
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0) {
        if (errno == EEXIST) continue;
        return Internal("cannot create upload spool file in " + core_->options.spool_dir + ": " +
                        std::strerror(errno));
      }
      spool_path_ = std::move(path);
      beast::file f;
      f.native_handle(fd);
      beast::error_code ec;
      body.reset(std::move(f), ec);
      if (ec) return Internal("cannot use upload spool file " + spool_path_ + ": " + ec.message());
      return {};
    }
    return Internal("cannot create a unique upload spool file in " + core_->options.spool_dir);
  }

  void RemoveSpoolFile() {
    if (spool_path_.empty()) return;
    if (file_parser_) {
      beast::error_code ec;
      file_parser_->get().body().file().close(ec);
    }
    // The handler may have renamed the file away: ENOENT is expected.
    if (::unlink(spool_path_.c_str()) != 0 && errno != ENOENT) {
      CAIRN_LOG_WARN("http: cannot remove spool file {}: {}", spool_path_, std::strerror(errno));
    }
    spool_path_.clear();
  }

  // ---- closing -----------------------------------------------------------

  // The request body was not read: stop sending, discard what the client
  // still sends for a short while, then close, so the error response is not
  // lost to a TCP reset.
  void Linger() {
    phase_ = Phase::kClosing;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(kLingerTimeout);
    Drain();
  }

  void Drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(kDrainChunkBytes),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec || self->phase_ == Phase::kClosed) {
                                self->CloseNow();
                              } else {
                                self->Drain();
                              }
                            });
  }

  void CloseNow() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    RemoveSpoolFile();
    CloseResponseFile();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  // ---- helpers -----------------------------------------------------------

  static bool IsParseError(beast::error_code ec) {
    return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
           ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
  }

  static Response TooLarge(uint64_t length, uint64_t limit) {
    std::string msg = "request body ";
    if (length > 0) {
      msg += "of " + std::to_string(length) + " bytes ";
    }
    msg += "exceeds the limit of " + std::to_string(limit) + " bytes";
    return ErrorResponse(Error(ErrorCode::kPayloadTooLarge, std::move(msg)));
  }

  template <typename Fields>
  void FillHeaders(const Fields& fields) {
    // Reuse the per-connection strings: resize, then overwrite in place.
    size_t n = 0;
    for (const auto& f : fields) {
      if (n == request_.headers.size()) request_.headers.emplace_back();
      auto& [name, value] = request_.headers[n++];
      const auto ns = f.name_string();
      name.resize(ns.size());
      for (size_t i = 0; i < ns.size(); ++i) {
        name[i] = AsciiLower(ns[i]);
      }
      const auto vs = f.value();
      value.assign(vs.data(), vs.size());
    }
    request_.headers.resize(n);
  }

  ServerCore* const core_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string remote_;
  Phase phase_ = Phase::kReadingHeader;

  // Per-request state, reused across requests on this connection.
  std::optional<bhttp::request_parser<bhttp::empty_body>> header_parser_;
  std::optional<bhttp::request_parser<bhttp::string_body>> string_parser_;
  std::optional<bhttp::request_parser<bhttp::file_body>> file_parser_;
  Request request_;
  Response response_;
  std::shared_ptr<AsyncSlot> slot_;         // see AsyncSlot; created on first use
  std::optional<Response> inline_response_;  // an answer given during DispatchAsync
  const Route* route_ = nullptr;
  std::string method_text_;
  std::string head_;
  std::string spool_path_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool is_head_ = false;
  bool body_unread_ = false;
  SteadyClock::time_point start_;
  uint64_t bytes_sent_ = 0;

  int file_fd_ = -1;
  uint64_t file_offset_ = 0;
  uint64_t file_remaining_ = 0;
  std::unique_ptr<char[]> file_buffer_;
};

void ServerCore::Accept() {
  acceptor->async_accept(net::make_strand(NextIoContext()),
                         beast::bind_front_handler(&ServerCore::OnAccept, this));
}

void ServerCore::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
  if (stopping.load(std::memory_order_acquire)) return;  // socket closes on destruction
  if (ec) {
    // EMFILE and friends: back off instead of spinning.
    CAIRN_LOG_WARN("http: accept failed: {}", ec.message());
    accept_retry->expires_after(std::chrono::milliseconds(100));
    accept_retry->async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && acceptor->is_open()) Accept();
    });
    return;
  }
  beast::error_code opt_ec;
  socket.set_option(tcp::no_delay(true), opt_ec);
  std::make_shared<Connection>(this, std::move(socket))->Start();
  Accept();
}

void ServerCore::Register(Connection* c) {
  std::lock_guard lock(mu);
  connections.insert(c);
}

void ServerCore::Unregister(Connection* c) {
  std::lock_guard lock(mu);
  connections.erase(c);
  if (connections.empty()) drained.notify_all();
}

template <typename F>
void ServerCore::ForEachConnection(F f) {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(mu);
    live.reserve(connections.size());
    for (Connection* c : connections) {
      // A connection whose last reference is gone is being destroyed
      // (blocked on mu in Unregister): lock() returns null for it.
      if (auto sp = c->weak_from_this().lock()) live.push_back(std::move(sp));
    }
  }
  for (auto& c : live) f(c);
}

}  // namespace

struct HttpServer::Impl {
  Impl(ServerOptions o, Router r) : core(std::move(o), std::move(r)) {}

  ServerCore core;
  std::vector<std::thread> threads;

  enum class State { kNew, kRunning, kStopping, kStopped };
  std::mutex state_mu;
  std::condition_variable state_cv;
  State state = State::kNew;  // guarded by state_mu
};

HttpServer::HttpServer(ServerOptions options, Router router)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router))) {}

HttpServer::~HttpServer() { Stop(); }

Result<int> HttpServer::Start() {
  std::unique_lock lock(impl_->state_mu);
  if (impl_->state != Impl::State::kNew) {
    return FailedPrecondition("HTTP server already started");
  }
  ServerCore& core = impl_->core;
  const ServerOptions& opt = core.options;
  const std::string where =
      (opt.host.find(':') != std::string::npos ? "[" + opt.host + "]" : opt.host) + ":" +
      std::to_string(opt.port);
  if (opt.port < 0 || opt.port > 65535) {
    return InvalidArgument("invalid port in " + where);
  }
  const int threads = std::max(1, opt.threads);
  core.iocs.clear();
  if (opt.io_context_per_thread) {
    // Hint 1: run by one thread (Asio skips waking other threads); posts from
    // other threads (batcher workers answering) stay safe.
    for (int i = 0; i < threads; ++i) core.iocs.push_back(std::make_unique<net::io_context>(1));
  } else {
    core.iocs.push_back(std::make_unique<net::io_context>(threads));
  }

  beast::error_code ec;
  tcp::endpoint endpoint;
  const auto address = net::ip::make_address(opt.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, static_cast<unsigned short>(opt.port));
  } else {
    tcp::resolver resolver(*core.iocs[0]);
    auto results = resolver.resolve(opt.host, std::to_string(opt.port), ec);
    if (ec || results.empty()) {
      return Unavailable("cannot resolve " + where + ": " +
                         (ec ? ec.message() : std::string("no addresses")));
    }
    endpoint = results.begin()->endpoint();
  }

  core.acceptor.emplace(net::make_strand(*core.iocs[0]));
  core.accept_retry.emplace(core.acceptor->get_executor());
  tcp::acceptor& acceptor = *core.acceptor;
  auto fail = [&](std::string_view what) {
    std::string msg = "cannot " + std::string(what) + " " + where + ": " + ec.message();
    core.acceptor.reset();
    core.accept_retry.reset();
    core.iocs.clear();
    return Unavailable(std::move(msg));
  };
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for");
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("set SO_REUSEADDR on");
  acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  const int port = acceptor.local_endpoint(ec).port();
  if (ec) return fail("read the bound port of");

  core.Accept();
  core.work.clear();
  for (auto& ioc : core.iocs) core.work.push_back(net::make_work_guard(*ioc));
  for (int i = 0; i < threads; ++i) {
    impl_->threads.emplace_back([ioc = core.iocs[static_cast<size_t>(i) % core.iocs.size()].get()] {
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (const std::exception& e) {
          // Handlers catch their own errors; this is a bug, not a request error.
          CAIRN_LOG_ERROR("http: io thread caught: {}", e.what());
        }
      }
    });
  }
  impl_->state = Impl::State::kRunning;
  CAIRN_LOG_INFO("http: listening on {}:{} ({} threads)", opt.host, port, threads);
  return port;
}

void HttpServer::Stop() {
  {
    std::unique_lock lock(impl_->state_mu);
    if (impl_->state == Impl::State::kNew) {
      impl_->state = Impl::State::kStopped;
      impl_->state_cv.notify_all();
      return;
    }
    if (impl_->state != Impl::State::kRunning) {
      // Another thread is stopping: wait for it, so Stop() returns stopped.
      impl_->state_cv.wait(lock, [&] { return impl_->state == Impl::State::kStopped; });
      return;
    }
    impl_->state = Impl::State::kStopping;
  }
  ServerCore& core = impl_->core;

  // 1. No new connections; existing ones drop to "Connection: close".
  core.stopping.store(true, std::memory_order_release);
  net::post(core.acceptor->get_executor(), [&core] {
    beast::error_code ec;
    core.acceptor->close(ec);
    core.accept_retry->cancel();
  });
  // 2. Close idle connections; in-flight requests finish and then close.
  core.ForEachConnection([](const std::shared_ptr<Connection>& c) {
    net::post(c->executor(), [c] { c->OnServerStopping(); });
  });
  // 3. Wait for the in-flight ones, at most shutdown_grace.
  {
    std::unique_lock lock(core.mu);
    if (!core.drained.wait_for(lock, core.options.shutdown_grace,
                               [&] { return core.connections.empty(); })) {
      CAIRN_LOG_WARN("http: {} connection(s) still open after the shutdown grace; closing them",
                     core.connections.size());
    }
  }
  for (auto& w : core.work) w.reset();
  core.work.clear();
  // 4. Force-close what is left. A handler still blocked finishes first (it
  //    runs on the connection's strand); its response is then dropped.
  core.ForEachConnection([](const std::shared_ptr<Connection>& c) {
    net::post(c->executor(), [c] { c->ForceClose(); });
  });
  // With the acceptor and every socket closed the io_context runs out of
  // work and the threads return.
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  // 5. Requests whose async handler has not answered yet: drop their
  //    connections here (the io_context still exists, so their sockets close
  //    cleanly); a Responder called later finds its slot detached.
  size_t unanswered = 0;
  core.ForEachConnection([&unanswered](const std::shared_ptr<Connection>& c) {
    if (c->DetachAsync()) ++unanswered;
  });
  if (unanswered > 0) {
    CAIRN_LOG_WARN("http: {} asynchronous request(s) unanswered after the shutdown grace",
                   unanswered);
  }
  core.acceptor.reset();
  core.accept_retry.reset();
  // Destroys any handler still queued (and its Connection). A connection's
  // handlers are only ever queued on its own io_context.
  core.iocs.clear();

  std::lock_guard lock(impl_->state_mu);
  impl_->state = Impl::State::kStopped;
  impl_->state_cv.notify_all();
  CAIRN_LOG_INFO("http: stopped");
}

void HttpServer::Wait() {
  std::unique_lock lock(impl_->state_mu);
  impl_->state_cv.wait(lock, [&] { return impl_->state == Impl::State::kStopped; });
}

}  // namespace cairn::http
