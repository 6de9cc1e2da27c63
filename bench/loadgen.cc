// loadgen: a closed-loop HTTP/1.1 load generator for MLflow-compatible
// tracking servers (Cairn and the real MLflow server alike).
//
// N keep-alive connections, driven by one epoll thread (so it takes far less
// CPU than the server it measures: its own CPU time is reported), each send
// one request, wait for the response, send the next, for --duration seconds
// after --warmup seconds (or for a fixed --count of requests). Before the run
// it creates one run per connection through POST /api/2.0/mlflow/runs/create.
//
// Request bodies:
//   --mode log-batch   POST runs/log-batch, 1000 metrics per request (50 keys
//                      like "loss_17" x 20 steps; steps advance per request so
//                      every (key, step) is distinct).
//   --mode log-metric  POST runs/log-metric, one metric per request.
//   --mode body        --method/--path/--body-file; "${RUN_ID}" in the file
//                      is replaced by the connection's run id.
//
// Output: a human summary on stderr and one machine-readable line on stdout:
//   RESULT label=<l> requests=<n> seconds=<s> rps=<r> items_per_s=<i>
//          p50_ms=.. p90_ms=.. p99_ms=.. non2xx=<n> errors=<n> loadgen_cpu_s=..
//          total_requests=<n incl. warm-up> wall_s=<s incl. warm-up and drain>
//
// Exit status: 0 when the run completed (even with non-2xx answers, which
// are counted), 1 on setup failure (cannot connect, cannot create runs),
// 2 when --verify finds fewer stored metrics than acknowledged.

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "http_client.h"

namespace cairn::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

enum class Mode { kBody, kLogBatch, kLogMetric };

struct Options {
  std::string url = "http://127.0.0.1:5000";
  int connections = 4;
  double duration_s = 10;
  double warmup_s = 1;
  int64_t count = 0;  // > 0: fixed number of requests instead of a duration
  Mode mode = Mode::kLogBatch;
  std::string method = "POST";
  std::string path;
  std::string body_file;
  int64_t items_per_request = -1;  // -1: derived from the mode
  std::string experiment_id = "0";
  std::string label = "run";
  bool verify = false;
  int metrics_per_batch = 1000;
};

void Usage() {
  std::fprintf(stderr,
               "usage: loadgen --url http://host:port [--connections N] [--duration S]\n"
               "               [--warmup S] [--count N] [--mode log-batch|log-metric|body]\n"
               "               [--method M --path P --body-file F] [--items-per-request K]\n"
               "               [--metrics-per-batch M] [--experiment-id ID] [--label L] [--verify]\n");
}

bool ParseOptions(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", a.c_str());
        std::exit(1);
      }
      return argv[++i];
    };
    if (a == "--url") o->url = next();
    else if (a == "--connections" || a == "-c") o->connections = std::atoi(next());
    else if (a == "--duration" || a == "-d") o->duration_s = std::atof(next());
    else if (a == "--warmup") o->warmup_s = std::atof(next());
    else if (a == "--count") o->count = std::atoll(next());
    else if (a == "--mode") {
      std::string m = next();
      if (m == "log-batch") o->mode = Mode::kLogBatch;
      else if (m == "log-metric") o->mode = Mode::kLogMetric;
      else if (m == "body") o->mode = Mode::kBody;
      else {
        std::fprintf(stderr, "unknown mode %s\n", m.c_str());
        return false;
      }
    } else if (a == "--method") o->method = next();
    else if (a == "--path") o->path = next();
    else if (a == "--body-file") { o->body_file = next(); o->mode = Mode::kBody; }
    else if (a == "--items-per-request") o->items_per_request = std::atoll(next());
    else if (a == "--metrics-per-batch") o->metrics_per_batch = std::atoi(next());
    else if (a == "--experiment-id") o->experiment_id = next();
    else if (a == "--label") o->label = next();
    else if (a == "--verify") o->verify = true;
    else if (a == "--help" || a == "-h") { Usage(); std::exit(0); }
    else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return false;
    }
  }
  if (o->connections < 1 || o->metrics_per_batch < 1) return false;
  if (o->mode == Mode::kBody && o->path.empty()) {
    std::fprintf(stderr, "--mode body needs --path\n");
    return false;
  }
  if (o->items_per_request < 0) {
    o->items_per_request = o->mode == Mode::kLogBatch ? o->metrics_per_batch : 1;
  }
  return true;
}

// Metric names a training loop would log: loss_0 .. grad_norm_9.
constexpr const char* kKeyPrefixes[] = {"loss", "accuracy", "val_loss", "grad_norm", "lr"};
constexpr int kKeysPerPrefix = 10;
constexpr int kBatchKeys = 5 * kKeysPerPrefix;  // 50 distinct keys per request

void AppendDouble(std::string& out, double v) {
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, p);
}
void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, p);
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Conn {
  int fd = -1;
  std::string run_id;
  std::string out;  // the request being sent
  size_t out_off = 0;
  bool want_write = false;
  HttpResponseParser parser;
  SteadyClock::time_point sent_at;
  int64_t seq = 0;  // requests built on this connection (drives steps)
  int64_t ok = 0;   // 2xx responses on this connection (for --verify)
  bool busy = false;  // a request is in flight
  std::vector<uint32_t> latencies_us;
  std::string body_scratch;
};

class LoadGenerator {
 public:
  explicit LoadGenerator(Options o) : o_(std::move(o)) {}

  int Run();

 private:
  Status Setup();
  void BuildNext(Conn& c);
  bool TrySend(Conn& c);  // false on a connection error
  void OnReadable(Conn& c);
  void Reconnect(Conn& c);
  void Issue(Conn& c, SteadyClock::time_point now);
  void Complete(Conn& c, int status, SteadyClock::time_point now);
  bool ShouldIssue(SteadyClock::time_point now) const;
  void SetInterest(Conn& c, bool want_write);
  int Verify();

  Options o_;
  std::string host_;
  int port_ = 0;
  std::string host_header_;
  std::string body_template_;
  std::vector<std::unique_ptr<Conn>> conns_;
  int epfd_ = -1;
  std::mt19937_64 rng_{42};
  std::uniform_real_distribution<double> uni_{0.0, 1.0};

  SteadyClock::time_point t_start_, t_measure_, t_end_;
  int64_t issued_ = 0;
  int64_t completed_total_ = 0;
  int64_t measured_ = 0;
  int64_t non2xx_ = 0;
  int64_t errors_ = 0;
  int in_flight_ = 0;
  std::string first_non2xx_;
};

Status LoadGenerator::Setup() {
  CAIRN_RETURN_IF_ERROR(ParseHttpUrl(o_.url, &host_, &port_));
  host_header_ = host_ + ":" + std::to_string(port_);
  bool need_runs = o_.mode != Mode::kBody;
  if (o_.mode == Mode::kBody) {
    std::ifstream in(o_.body_file, std::ios::binary);
    if (!o_.body_file.empty()) {
      if (!in) return InvalidArgument("cannot read --body-file " + o_.body_file);
      std::stringstream ss;
      ss << in.rdbuf();
      body_template_ = ss.str();
    }
    need_runs = body_template_.find("${RUN_ID}") != std::string::npos;
  }
  HttpConnection setup;
  CAIRN_RETURN_IF_ERROR(setup.Connect(host_, port_));
  for (int i = 0; i < o_.connections; ++i) {
    auto c = std::make_unique<Conn>();
    if (need_runs) {
      CAIRN_ASSIGN_OR_RETURN(c->run_id, CreateRunViaApi(setup, o_.experiment_id));
    }
    CAIRN_ASSIGN_OR_RETURN(c->fd, ConnectTcp(host_, port_));
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    c->parser.set_keep_body(false);
    c->latencies_us.reserve(1 << 16);
    conns_.push_back(std::move(c));
  }
  return {};
}

void LoadGenerator::BuildNext(Conn& c) {
  std::string& b = c.body_scratch;
  b.clear();
  int64_t ts = NowMillis();
  switch (o_.mode) {
    case Mode::kLogBatch: {
      int steps = (o_.metrics_per_batch + kBatchKeys - 1) / kBatchKeys;
      int64_t step0 = c.seq * steps;
      b.append("{\"run_id\":\"").append(c.run_id).append("\",\"metrics\":[");
      for (int i = 0; i < o_.metrics_per_batch; ++i) {
        int k = i % kBatchKeys;
        if (i) b.push_back(',');
        b.append("{\"key\":\"").append(kKeyPrefixes[k / kKeysPerPrefix]).push_back('_');
        AppendInt(b, k % kKeysPerPrefix);
        b.append("\",\"value\":");
        AppendDouble(b, uni_(rng_) * 2.0);
        b.append(",\"timestamp\":");
        AppendInt(b, ts);
        b.append(",\"step\":");
        AppendInt(b, step0 + i / kBatchKeys);
        b.push_back('}');
      }
      b.append("]}");
      c.out = BuildRequest("POST", "/api/2.0/mlflow/runs/log-batch", host_header_, b);
      break;
    }
    case Mode::kLogMetric: {
      b.append("{\"run_id\":\"").append(c.run_id).append("\",\"key\":\"loss\",\"value\":");
      AppendDouble(b, uni_(rng_));
      b.append(",\"timestamp\":");
      AppendInt(b, ts);
      b.append(",\"step\":");
      AppendInt(b, c.seq);
      b.push_back('}');
      c.out = BuildRequest("POST", "/api/2.0/mlflow/runs/log-metric", host_header_, b);
      break;
    }
    case Mode::kBody: {
      if (c.run_id.empty()) {
        if (c.out.empty()) c.out = BuildRequest(o_.method, o_.path, host_header_, body_template_);
      } else {
        b = body_template_;
        for (size_t p; (p = b.find("${RUN_ID}")) != std::string::npos;) {
          b.replace(p, 9, c.run_id);
        }
        c.out = BuildRequest(o_.method, o_.path, host_header_, b);
      }
      break;
    }
  }
  ++c.seq;
  c.out_off = 0;
}

void LoadGenerator::SetInterest(Conn& c, bool want_write) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (want_write ? static_cast<uint32_t>(EPOLLOUT) : 0u);
  ev.data.ptr = &c;
  epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.want_write = want_write;
}

bool LoadGenerator::TrySend(Conn& c) {
  while (c.out_off < c.out.size()) {
    ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!c.want_write) SetInterest(c, true);
        return true;
      }
      return false;
    }
    c.out_off += static_cast<size_t>(n);
  }
  if (c.want_write) SetInterest(c, false);
  return true;
}

bool LoadGenerator::ShouldIssue(SteadyClock::time_point now) const {
  if (o_.count > 0) return issued_ < o_.count;
  return now < t_end_;
}

void LoadGenerator::Reconnect(Conn& c) {
  ++errors_;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
  close(c.fd);
  c.fd = -1;
  c.parser.Reset();
  if (c.busy) --in_flight_;
  c.busy = false;
  auto now = SteadyClock::now();
  if (!ShouldIssue(now)) return;
  auto fd = ConnectTcp(host_, port_);
  if (!fd) {
    std::fprintf(stderr, "reconnect failed: %s\n", fd.error().ToString().c_str());
    return;
  }
  c.fd = *fd;
  fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.ptr = &c;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev);
  c.want_write = false;
  Issue(c, now);
}

void LoadGenerator::Issue(Conn& c, SteadyClock::time_point now) {
  BuildNext(c);
  c.sent_at = now;
  c.busy = true;
  ++issued_;
  ++in_flight_;
  if (!TrySend(c)) Reconnect(c);
}

void LoadGenerator::Complete(Conn& c, int status, SteadyClock::time_point now) {
  --in_flight_;
  c.busy = false;
  ++completed_total_;
  bool ok = status >= 200 && status < 300;
  if (ok) ++c.ok;
  if (now >= t_measure_ && (o_.count > 0 || now <= t_end_)) {
    ++measured_;
    if (!ok) {
      ++non2xx_;
    }
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - c.sent_at).count();
    c.latencies_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
  }
  if (!ok && first_non2xx_.empty()) first_non2xx_ = "status " + std::to_string(status);
}

void LoadGenerator::OnReadable(Conn& c) {
  const int fd = c.fd;
  char buf[64 * 1024];
  while (true) {
    ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      Reconnect(c);
      return;
    }
    if (n == 0) {
      Reconnect(c);
      return;
    }
    std::string_view data(buf, static_cast<size_t>(n));
    while (!data.empty()) {
      size_t used = 0;
      auto st = c.parser.Feed(data, &used);
      data.remove_prefix(used);
      if (st == HttpResponseParser::State::kError) {
        std::fprintf(stderr, "parse error: %s\n", c.parser.error().c_str());
        Reconnect(c);
        return;
      }
      if (st == HttpResponseParser::State::kNeedMore) break;
      auto now = SteadyClock::now();
      Complete(c, c.parser.response().status, now);
      c.parser.Reset();
      if (ShouldIssue(now)) {
        Issue(c, SteadyClock::now());
        if (c.fd != fd) return;  // the send failed and the connection was replaced
      }
    }
    if (static_cast<size_t>(n) < sizeof(buf)) return;
  }
}

int LoadGenerator::Verify() {
  // Connection 0's run: every acknowledged request stored steps x 50 keys;
  // key loss_0 got one value per step of every acknowledged request.
  if (o_.mode != Mode::kLogBatch && o_.mode != Mode::kLogMetric) return 0;
  Conn& c = *conns_[0];
  std::string key = o_.mode == Mode::kLogBatch ? "loss_0" : "loss";
  int64_t per_request =
      o_.mode == Mode::kLogBatch ? (o_.metrics_per_batch + kBatchKeys - 1) / kBatchKeys : 1;
  int64_t expected = c.ok * per_request;
  HttpConnection conn;
  if (auto s = conn.Connect(host_, port_); !s) return 1;
  auto r = conn.Call("GET",
                     "/api/2.0/mlflow/metrics/get-history?run_id=" + c.run_id +
                         "&metric_key=" + key + "&max_results=1000000",
                     "");
  if (!r || r->status != 200) {
    std::fprintf(stderr, "verify: get-history failed\n");
    return 2;
  }
  int64_t found = 0;
  for (size_t p = 0; (p = r->body.find("\"key\"", p)) != std::string::npos; p += 5) ++found;
  std::fprintf(stderr, "verify: %s history has %" PRId64 " values, expected >= %" PRId64 "\n",
               key.c_str(), found, expected);
  return found >= expected ? 0 : 2;
}

int LoadGenerator::Run() {
  if (auto s = Setup(); !s) {
    std::fprintf(stderr, "loadgen setup failed: %s\n", s.error().ToString().c_str());
    return 1;
  }
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  for (auto& c : conns_) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = c.get();
    epoll_ctl(epfd_, EPOLL_CTL_ADD, c->fd, &ev);
  }
  rusage ru0{};
  t_start_ = SteadyClock::now();
  if (o_.count > 0) {
    t_measure_ = t_start_;
    t_end_ = SteadyClock::time_point::max();
  } else {
    t_measure_ = t_start_ + std::chrono::duration_cast<SteadyClock::duration>(
                                std::chrono::duration<double>(o_.warmup_s));
    t_end_ = t_measure_ + std::chrono::duration_cast<SteadyClock::duration>(
                              std::chrono::duration<double>(o_.duration_s));
  }
  bool rusage_taken = false;
  if (o_.count > 0) {
    getrusage(RUSAGE_SELF, &ru0);
    rusage_taken = true;
  }
  for (auto& c : conns_) {
    auto now = SteadyClock::now();
    if (!ShouldIssue(now)) break;
    Issue(*c, now);
  }
  epoll_event events[256];
  SteadyClock::time_point drain_deadline = SteadyClock::time_point::max();
  while (in_flight_ > 0) {
    auto now = SteadyClock::now();
    if (!rusage_taken && now >= t_measure_) {
      getrusage(RUSAGE_SELF, &ru0);
      rusage_taken = true;
    }
    if (o_.count == 0 && now >= t_end_ && drain_deadline == SteadyClock::time_point::max()) {
      drain_deadline = now + std::chrono::seconds(60);
    }
    if (now > drain_deadline) {
      std::fprintf(stderr, "%d requests still in flight 60 s after the end; giving up\n",
                   in_flight_);
      break;
    }
    int n = epoll_wait(epfd_, events, 256, 100);
    if (n < 0 && errno != EINTR) {
      std::perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      Conn& c = *static_cast<Conn*>(events[i].data.ptr);
      if (c.fd < 0) continue;
      if (events[i].events & EPOLLOUT) {
        if (!TrySend(c)) {
          Reconnect(c);
          continue;
        }
      }
      if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) OnReadable(c);
    }
  }
  auto t_done = SteadyClock::now();
  rusage ru1{};
  getrusage(RUSAGE_SELF, &ru1);
  auto tv = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  double cpu = tv(ru1.ru_utime) + tv(ru1.ru_stime) - tv(ru0.ru_utime) - tv(ru0.ru_stime);

  double seconds = o_.count > 0 ? std::chrono::duration<double>(t_done - t_start_).count()
                                : o_.duration_s;
  std::vector<uint32_t> all;
  for (auto& c : conns_) all.insert(all.end(), c->latencies_us.begin(), c->latencies_us.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) -> double {
    if (all.empty()) return 0;
    size_t idx = static_cast<size_t>(std::ceil(p * static_cast<double>(all.size()))) - 1;
    return all[std::min(idx, all.size() - 1)] / 1000.0;
  };
  int64_t ok = measured_ - non2xx_;
  double rps = measured_ / seconds;
  double items = static_cast<double>(ok) * static_cast<double>(o_.items_per_request) / seconds;
  std::fprintf(stderr,
               "[%s] %" PRId64 " requests in %.2f s: %.1f req/s, %.0f items/s, "
               "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, non-2xx %" PRId64 ", errors %" PRId64
               ", loadgen cpu %.2f s%s%s\n",
               o_.label.c_str(), measured_, seconds, rps, items, pct(0.5), pct(0.9), pct(0.99),
               non2xx_, errors_, cpu, first_non2xx_.empty() ? "" : ", first failure: ",
               first_non2xx_.c_str());
  double wall = std::chrono::duration<double>(t_done - t_start_).count();
  std::printf("RESULT label=%s requests=%" PRId64 " seconds=%.3f rps=%.2f items_per_s=%.1f "
              "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f non2xx=%" PRId64 " errors=%" PRId64
              " loadgen_cpu_s=%.3f total_requests=%" PRId64 " wall_s=%.3f\n",
              o_.label.c_str(), measured_, seconds, rps, items, pct(0.5), pct(0.9), pct(0.99),
              non2xx_, errors_, cpu, completed_total_, wall);
  std::fflush(stdout);
  for (auto& c : conns_) {
    if (c->fd >= 0) close(c->fd);
  }
  close(epfd_);
  if (o_.verify) return Verify();
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) {
  cairn::bench::Options o;
  if (!cairn::bench::ParseOptions(argc, argv, &o)) {
    cairn::bench::Usage();
    return 1;
  }
  cairn::bench::LoadGenerator g(std::move(o));
  return g.Run();
}
