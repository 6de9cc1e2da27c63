// The python_function Runtime (python_runtime.h): a fixed pool of Python
// worker processes speaking the frame format documented at the top of
// python_worker.py over one socketpair each.
//
// Ownership of a worker's process and channel: the pool (under mu_) while it
// is idle; the Predict thread holding it while busy; the thread starting it
// (Load or the restart thread) while starting. Only the owner reaps the
// process (waitpid) or closes the channel, and it first clears pid/fd under
// mu_, so Shutdown may signal any pid or half-close any fd it reads under mu_
// (at worst the process is an unreaped zombie, never a reused pid).

#include "serving/runtimes/python_runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/log.h"

extern char** environ;

namespace cairn::serving {

extern const char kPythonWorkerScript[];

namespace {

using SteadyClock = std::chrono::steady_clock;
using Json = nlohmann::json;

constexpr size_t Align8(size_t n) { return (n + 7) & ~size_t{7}; }

void PutU32(std::string& out, size_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[offset + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::string ErrnoText(int err) { return std::strerror(err); }

// ---- channel I/O with a deadline ----

enum class Io { kOk, kClosed, kTimeout, kError };

// Milliseconds left until `deadline`, rounded up (poll's timeout), >= 0.
int RemainingMs(SteadyClock::time_point deadline) {
  auto left = deadline - SteadyClock::now();
  if (left <= SteadyClock::duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<int64_t>(ms, 1 << 30));
}

// Waits for `events` on a non-blocking fd. kOk when ready (or hung up: the
// next read/write tells), kTimeout at the deadline.
Io WaitFd(int fd, short events, SteadyClock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int timeout = RemainingMs(deadline);
    int n = ::poll(&p, 1, timeout);
    if (n > 0) return Io::kOk;
    if (n == 0) return Io::kTimeout;
    if (errno != EINTR) return Io::kError;
  }
}

Io SendAll(int fd, std::string_view data, SteadyClock::time_point deadline) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      Io w = WaitFd(fd, POLLOUT, deadline);
      if (w != Io::kOk) return w;
      continue;
    }
    return (errno == EPIPE || errno == ECONNRESET) ? Io::kClosed : Io::kError;
  }
  return Io::kOk;
}

Io RecvExact(int fd, char* out, size_t size, SteadyClock::time_point deadline) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::recv(fd, out + got, size - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return Io::kClosed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      Io w = WaitFd(fd, POLLIN, deadline);
      if (w != Io::kOk) return w;
      continue;
    }
    return errno == ECONNRESET ? Io::kClosed : Io::kError;
  }
  return Io::kOk;
}

Io RecvFrame(int fd, std::string& payload, SteadyClock::time_point deadline) {
  char head[4];
  Io io = RecvExact(fd, head, 4, deadline);
  if (io != Io::kOk) return io;
  payload.resize(GetU32(head));
  return RecvExact(fd, payload.data(), payload.size(), deadline);
}

// ---- frame encoding ----

// The whole request frame (length prefix included). kInvalidArgument for
// params that are not JSON or a batch beyond the format's 4 GiB.
Result<std::string> EncodeRequest(const ModelInput& input) {
  Json header;
  std::vector<size_t> sizes;
  try {
    header["kind"] = input.kind == ModelInput::Kind::kColumns ? "columns" : "tensors";
    header["rows"] = input.rows;
    header["params"] = input.params_json.empty() ? Json(nullptr) : Json::parse(input.params_json);
    Json tensors = Json::array();
    for (const Tensor& t : input.tensors) {
      size_t nbytes = t.raw().size();
      if (t.datatype() == DataType::kBytes) {
        nbytes = 0;
        for (const std::string& s : t.strings()) nbytes += 4 + s.size();
      }
      sizes.push_back(nbytes);
      tensors.push_back({{"name", t.name()},
                         {"datatype", std::string(DataTypeName(t.datatype()))},
                         {"shape", t.shape()},
                         {"nbytes", nbytes}});
    }
    header["tensors"] = std::move(tensors);
  } catch (const Json::exception& e) {
    return InvalidArgument(std::string("cannot encode the request for the python worker: ") +
                           e.what());
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const Json::exception& e) {  // invalid UTF-8 in a name
    return InvalidArgument(std::string("cannot encode the request for the python worker: ") +
                           e.what());
  }
  size_t payload_size = 4 + text.size();
  for (size_t s : sizes) payload_size = Align8(payload_size) + s;
  if (payload_size > UINT32_MAX) {
    return InvalidArgument("batch too large for the python worker (" +
                           std::to_string(payload_size) + " bytes; at most 4 GiB)");
  }
  // Offsets are relative to the payload, which starts after the 4-byte frame length.
  std::string frame(4 + payload_size, '\0');
  PutU32(frame, 0, static_cast<uint32_t>(payload_size));
  PutU32(frame, 4, static_cast<uint32_t>(text.size()));
  std::memcpy(frame.data() + 8, text.data(), text.size());
  size_t offset = 4 + text.size();
  for (size_t i = 0; i < input.tensors.size(); ++i) {
    const Tensor& t = input.tensors[i];
    offset = Align8(offset);
    char* out = frame.data() + 4 + offset;
    if (t.datatype() == DataType::kBytes) {
      size_t pos = 0;
      for (const std::string& s : t.strings()) {
        PutU32(frame, 4 + offset + pos, static_cast<uint32_t>(s.size()));
        std::memcpy(out + pos + 4, s.data(), s.size());
        pos += 4 + s.size();
      }
    } else if (!t.raw().empty()) {
      std::memcpy(out, t.raw().data(), t.raw().size());
    }
    offset += sizes[i];
  }
  return frame;
}

// A decoded response/ready payload: the JSON header and where the tensor
// bytes start.
struct DecodedPayload {
  Json header;
  size_t data_offset = 0;
};

Result<DecodedPayload> DecodeHeader(const std::string& payload) {
  if (payload.size() < 4) return Internal("python worker sent a truncated frame");
  uint32_t hlen = GetU32(payload.data());
  if (static_cast<size_t>(hlen) + 4 > payload.size()) {
    return Internal("python worker sent a truncated frame header");
  }
  DecodedPayload out;
  try {
    out.header = Json::parse(std::string_view(payload).substr(4, hlen));
  } catch (const Json::exception& e) {
    return Internal(std::string("python worker sent an unreadable header: ") + e.what());
  }
  if (!out.header.is_object()) return Internal("python worker sent a header that is not an object");
  out.data_offset = 4 + hlen;
  return out;
}

std::string JsonString(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The error an {"ok": false} header stands for.
Error ErrorFromHeader(const Json& header) {
  std::string type = JsonString(header, "error_type");
  std::string message = JsonString(header, "message");
  std::string text = type.empty() ? message : type + ": " + message;
  auto client = header.find("client_error");
  bool client_error = client != header.end() && client->is_boolean() && client->get<bool>();
  return Error(client_error ? ErrorCode::kInvalidArgument : ErrorCode::kInternal, std::move(text));
}

Result<ModelOutput> DecodeResponse(const std::string& payload, int64_t rows) {
  CAIRN_ASSIGN_OR_RETURN(DecodedPayload decoded, DecodeHeader(payload));
  const Json& header = decoded.header;
  auto ok = header.find("ok");
  if (ok == header.end() || !ok->is_boolean()) return Internal("python worker sent no 'ok'");
  if (!ok->get<bool>()) return std::unexpected(ErrorFromHeader(header));
  ModelOutput output;
  try {
    output.frame = header.value("frame", false);
    size_t offset = decoded.data_offset;
    for (const Json& spec : header.at("tensors")) {
      std::string name = spec.at("name").get<std::string>();
      std::string type_name = spec.at("datatype").get<std::string>();
      std::vector<int64_t> shape = spec.at("shape").get<std::vector<int64_t>>();
      size_t nbytes = spec.at("nbytes").get<size_t>();
      std::optional<DataType> datatype = DataTypeFromName(type_name);
      if (!datatype) return Internal("python worker answered datatype '" + type_name + "'");
      offset = Align8(offset);
      if (offset > payload.size() || nbytes > payload.size() - offset) {
        return Internal("python worker's output '" + name + "' extends past its frame");
      }
      if (shape.empty() || shape[0] != rows) {
        return Internal("the model answered shape " + ShapeToString(shape) + " for output '" +
                        name + "'; expected " + std::to_string(rows) + " rows");
      }
      const char* data = payload.data() + offset;
      Result<Tensor> tensor;
      if (*datatype == DataType::kBytes) {
        CAIRN_ASSIGN_OR_RETURN(int64_t count, ShapeElementCount(shape));
        std::vector<std::string> strings;
        strings.reserve(static_cast<size_t>(count));
        size_t pos = 0;
        for (int64_t i = 0; i < count; ++i) {
          if (nbytes - pos < 4)
            return Internal("python worker's output '" + name + "' is truncated");
          uint32_t len = GetU32(data + pos);
          pos += 4;
          if (nbytes - pos < len)
            return Internal("python worker's output '" + name + "' is truncated");
          strings.emplace_back(data + pos, len);
          pos += len;
        }
        tensor = Tensor::FromStrings(std::move(name), std::move(shape), std::move(strings));
      } else {
        std::vector<std::byte> raw(nbytes);
        if (nbytes > 0) std::memcpy(raw.data(), data, nbytes);
        tensor = Tensor::FromRaw(std::move(name), *datatype, std::move(shape), std::move(raw));
      }
      if (!tensor)
        return Internal("python worker sent an inconsistent output: " + tensor.error().message());
      output.tensors.push_back(std::move(*tensor));
      offset += nbytes;
    }
  } catch (const Json::exception& e) {
    return Internal(std::string("python worker sent a malformed header: ") + e.what());
  }
  return output;
}

// ---- processes ----

// "exit code 1" / "signal 9" for a waitpid status.
std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

int WaitPid(pid_t pid, int options) {
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid, &status, options);
    if (r == pid) return status;
    if (r == 0) return -1;  // WNOHANG: still running
    if (errno != EINTR) return -2;
  }
}

// True when `pid` (our unreaped child) has exited, without reaping it.
bool HasExited(pid_t pid) {
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno != EINTR) return true;  // not our child any more: nothing to wait for
  }
  return info.si_pid == pid;
}

// Ends a worker: SIGKILL to its process group (children it forked too),
// then waitpid. `grace` lets a worker that is exiting on its own finish, so
// the status says how it died rather than "signal 9".
std::string KillAndReap(pid_t pid, std::chrono::milliseconds grace) {
  auto until = SteadyClock::now() + grace;
  while (!HasExited(pid) && SteadyClock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(-pid, SIGKILL);
  int status = WaitPid(pid, 0);
  return status < 0 ? "unknown status" : DescribeStatus(status);
}

struct SpawnedProcess {
  pid_t pid = -1;
  int channel = -1;  // our end of the socketpair, non-blocking, close-on-exec
  int stderr_read = -1;
};

// The child's copy of a descriptor, numbered >= 10 so that the dup2 onto
// 0..3 below never meets itself (dup2(fd, fd) would keep close-on-exec).
int HighFd(int fd) {
  int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
  ::close(fd);
  return high;
}

Result<SpawnedProcess> SpawnWorker(const std::string& python, const std::string& folder) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return Unavailable("cannot create a channel for a python worker: " + ErrnoText(errno));
  }
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    return Unavailable("cannot create a pipe for a python worker: " + ErrnoText(e));
  }
  int child_channel = HighFd(sv[1]);
  int child_log = HighFd(err_pipe[1]);
  if (child_channel < 0 || child_log < 0) {
    int e = errno;
    for (int fd : {sv[0], err_pipe[0], child_channel, child_log}) {
      if (fd >= 0) ::close(fd);
    }
    return Unavailable("cannot set up a python worker's descriptors: " + ErrnoText(e));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // The channel is fd 3 (python_worker.py); stdout and stderr go to the log,
  // so nothing printed can ever land in the channel. dup2 clears
  // close-on-exec on the copies; the originals close at exec.
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, child_log, 1);
  posix_spawn_file_actions_adddup2(&actions, child_log, 2);
  posix_spawn_file_actions_adddup2(&actions, child_channel, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group: a hang kill takes the worker's children too, and a
  // Ctrl-C on the server's terminal does not reach the workers directly.
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  posix_spawnattr_setsigmask(&attr, &empty_mask);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv = {
      const_cast<char*>(python.c_str()), const_cast<char*>("-u"),
      const_cast<char*>("-c"),           const_cast<char*>(kPythonWorkerScript),
      const_cast<char*>(folder.c_str()), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, python.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(child_channel);
  ::close(child_log);
  if (rc != 0) {
    ::close(sv[0]);
    ::close(err_pipe[0]);
    if (rc == ENOENT) return Unavailable("python '" + python + "' not found");
    return Unavailable("cannot start python '" + python + "': " + ErrnoText(rc));
  }
  int flags = ::fcntl(sv[0], F_GETFL);
  ::fcntl(sv[0], F_SETFL, flags | O_NONBLOCK);
  return SpawnedProcess{pid, sv[0], err_pipe[0]};
}

// ---- worker stderr → server log ----

// One thread that drains every worker's stderr (so a chatty worker never
// blocks on a full pipe) and logs it line by line, prefixed by the pid.
class StderrPump {
 public:
  StderrPump() {
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
    thread_ = std::thread([this] { Run(); });
  }
  ~StderrPump() { Stop(); }

  // Takes ownership of `fd`.
  void Add(int fd, pid_t pid) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    {
      std::lock_guard lock(mu_);
      pending_.push_back(Source{fd, pid, {}});
    }
    Wake();
  }

  // Logs what is left to read without waiting, then closes every fd. Idempotent.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    Wake();
    if (thread_.joinable()) thread_.join();
    if (wake_[0] >= 0) ::close(wake_[0]);
    if (wake_[1] >= 0) ::close(wake_[1]);
    wake_[0] = wake_[1] = -1;
  }

 private:
  struct Source {
    int fd;
    pid_t pid;
    std::string partial;
  };

  void Wake() {
    if (wake_[1] >= 0) {
      char c = 1;
      [[maybe_unused]] ssize_t n = ::write(wake_[1], &c, 1);
    }
  }

  // Reads what is available (a bounded number of reads, so one chatty worker
  // does not starve the others); false at EOF or error (the source is done).
  bool Drain(Source& s) {
    char buf[16384];
    for (int reads = 0; reads < 16; ++reads) {
      ssize_t n = ::read(s.fd, buf, sizeof buf);
      if (n > 0) {
        s.partial.append(buf, static_cast<size_t>(n));
        size_t start = 0;
        for (size_t nl; (nl = s.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
          Log(s.pid, std::string_view(s.partial).substr(start, nl - start));
        }
        s.partial.erase(0, start);
        if (s.partial.size() > 8192) {  // a very long line without newline
          Log(s.pid, s.partial);
          s.partial.clear();
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      if (!s.partial.empty()) Log(s.pid, s.partial);
      s.partial.clear();
      return false;
    }
    return true;
  }

  // Logs a line unless more than kMaxLinesPerSecond were logged in the
  // current second: a worker printing in a loop must not slow the pump (and
  // then block on a full pipe), so the excess is dropped and counted.
  void Log(pid_t pid, std::string_view line) {
    static constexpr int kMaxLinesPerSecond = 200;
    auto now = SteadyClock::now();
    if (now - window_start_ >= std::chrono::seconds(1)) {
      if (dropped_ > 0) {
        CAIRN_LOG_WARN("python workers: {} more lines of output were not logged", dropped_);
      }
      window_start_ = now;
      lines_in_window_ = 0;
      dropped_ = 0;
    }
    if (++lines_in_window_ > kMaxLinesPerSecond) {
      ++dropped_;
      return;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    CAIRN_LOG_INFO("python worker {}: {}", pid, line);
  }

  void Run() {
    std::vector<Source> sources;
    while (true) {
      bool stop;
      {
        std::lock_guard lock(mu_);
        for (Source& s : pending_) sources.push_back(std::move(s));
        pending_.clear();
        stop = stopping_;
      }
      if (stop) break;
      std::vector<pollfd> fds;
      fds.push_back({wake_[0], POLLIN, 0});
      for (const Source& s : sources) fds.push_back({s.fd, POLLIN, 0});
      int n = ::poll(fds.data(), fds.size(), wake_[0] >= 0 ? -1 : 100);
      if (n < 0 && errno != EINTR) break;
      if (n <= 0) continue;
      if (fds[0].revents != 0) {
        char buf[64];
        while (::read(wake_[0], buf, sizeof buf) > 0) {
        }
      }
      for (size_t i = sources.size(); i-- > 0;) {
        if (fds[i + 1].revents == 0) continue;
        if (!Drain(sources[i])) {
          ::close(sources[i].fd);
          sources.erase(sources.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
    }
    std::lock_guard lock(mu_);
    for (Source& s : pending_) sources.push_back(std::move(s));
    pending_.clear();
    window_start_ = SteadyClock::time_point{};  // the last lines get logged
    for (Source& s : sources) {
      for (int i = 0; i < 64 && Drain(s) && HasMore(s.fd); ++i) {
      }
      if (!s.partial.empty()) Log(s.pid, s.partial);
      ::close(s.fd);
    }
    if (dropped_ > 0) {
      CAIRN_LOG_WARN("python workers: {} more lines of output were not logged", dropped_);
    }
  }

  static bool HasMore(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

  std::mutex mu_;
  std::vector<Source> pending_;
  bool stopping_ = false;
  int wake_[2] = {-1, -1};
  // Log rate limit (pump thread only).
  SteadyClock::time_point window_start_{};
  int lines_in_window_ = 0;
  int64_t dropped_ = 0;
  std::thread thread_;
};

// ---- the runtime ----

class PythonRuntime final : public Runtime {
 public:
  PythonRuntime(std::string folder, PythonRuntimeOptions options)
      : folder_(std::move(folder)), options_(std::move(options)) {
    workers_.resize(static_cast<size_t>(std::max(1, options_.workers)));
    restart_thread_ = std::thread([this] { RestartLoop(); });
  }
  ~PythonRuntime() override { Shutdown(); }

  std::string_view platform() const override { return "mlflow_pyfunc"; }

  // Starts every worker and waits for all of them to be ready.
  Status StartAll() {
    auto deadline = SteadyClock::now() + options_.load_timeout;
    for (size_t i = 0; i < workers_.size(); ++i) {
      CAIRN_ASSIGN_OR_RETURN(SpawnedProcess p, SpawnWorker(options_.python, folder_));
      pump_.Add(p.stderr_read, p.pid);
      std::lock_guard lock(mu_);
      workers_[i] = Worker{Worker::State::kStarting, p.pid, p.channel};
    }
    for (size_t i = 0; i < workers_.size(); ++i) {
      CAIRN_RETURN_IF_ERROR(FinishStart(i, deadline));
    }
    return {};
  }

  Result<ModelOutput> Predict(const ModelInput& input) override {
    CAIRN_ASSIGN_OR_RETURN(std::string frame, EncodeRequest(input));
    auto acquire_deadline = SteadyClock::now() + options_.acquire_timeout;
    while (true) {
      CAIRN_ASSIGN_OR_RETURN(size_t index, Acquire(acquire_deadline));
      const Worker& w = workers_[index];  // ours until released; pid/fd stable
      if (IdleWorkerDied(w.fd)) {
        // It died between calls: restart it and take another one.
        pid_t pid = w.pid;
        std::string how = Retire(index, std::chrono::milliseconds(200));
        CAIRN_LOG_WARN("python worker {} died ({}) while idle; restarting it", pid, how);
        continue;
      }
      return RoundTrip(index, frame, input.rows);
    }
  }

  void Shutdown() override {
    std::unique_lock lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
    for (Worker& w : workers_) {
      if (w.pid <= 0) continue;
      if (w.state == Worker::State::kStarting) {
        ::kill(-w.pid, SIGKILL);  // its starter sees EOF and reaps it
      } else if (w.fd >= 0) {
        // EOF on the worker's channel: an idle worker exits; a busy one answers
        // its batch first (the other direction stays open), then exits.
        ::shutdown(w.fd, SHUT_WR);
      }
    }
    cv_.notify_all();
    restart_cv_.notify_all();
    lock.unlock();
    if (restart_thread_.joinable()) restart_thread_.join();
    lock.lock();
    auto grace_end = SteadyClock::now() + std::chrono::seconds(2);
    auto none_busy = [this] {
      return std::none_of(workers_.begin(), workers_.end(),
                          [](const Worker& w) { return w.state == Worker::State::kBusy; });
    };
    cv_.wait_until(lock, grace_end, none_busy);
    for (Worker& w : workers_) {
      if (w.state == Worker::State::kBusy && w.pid > 0) ::kill(-w.pid, SIGKILL);
    }
    cv_.wait(lock, none_busy);  // their Predict calls reap them
    std::vector<std::pair<pid_t, int>> left;
    for (Worker& w : workers_) {
      if (w.pid > 0) left.emplace_back(w.pid, w.fd);
      w = Worker{};
    }
    idle_.clear();
    lock.unlock();
    // Nobody else touches these processes now.
    for (auto [pid, fd] : left) {
      while (!HasExited(pid) && SteadyClock::now() < grace_end) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      KillAndReap(pid, std::chrono::milliseconds(0));
      if (fd >= 0) ::close(fd);
    }
    pump_.Stop();
  }

 private:
  struct Worker {
    enum class State { kDead, kStarting, kIdle, kBusy };
    State state = State::kDead;
    pid_t pid = -1;
    int fd = -1;
  };

  // Reads worker i's ready frame (state kStarting, owned by the caller).
  // Success: the worker is idle. Failure: the process is reaped, state kDead.
  Status FinishStart(size_t i, SteadyClock::time_point deadline) {
    pid_t pid;
    int fd;
    {
      std::lock_guard lock(mu_);
      pid = workers_[i].pid;
      fd = workers_[i].fd;
    }
    std::string payload;
    Io io = RecvFrame(fd, payload, deadline);
    Status status;
    if (io == Io::kOk) {
      Result<DecodedPayload> decoded = DecodeHeader(payload);
      if (!decoded) {
        status = std::unexpected(decoded.error());
      } else if (decoded->header.value("ok", false) && decoded->header.value("ready", false)) {
        CAIRN_LOG_INFO("python worker {} ready (python {}, mlflow {}) for {}", pid,
                       JsonString(decoded->header, "python"), JsonString(decoded->header, "mlflow"),
                       folder_);
      } else {
        Error e = ErrorFromHeader(decoded->header);
        status = InvalidArgument("python worker could not load the model: " + e.message());
      }
    }
    if (io == Io::kOk && status) {
      std::lock_guard lock(mu_);
      workers_[i].state = Worker::State::kIdle;
      idle_.push_back(i);
      cv_.notify_one();
      return {};
    }
    {
      std::lock_guard lock(mu_);
      workers_[i].pid = -1;
      workers_[i].fd = -1;
    }
    std::string how = KillAndReap(pid, std::chrono::milliseconds(io == Io::kClosed ? 500 : 0));
    ::close(fd);
    {
      std::lock_guard lock(mu_);
      workers_[i].state = Worker::State::kDead;
      cv_.notify_all();
    }
    if (io == Io::kOk) return status;
    if (io == Io::kTimeout) {
      return MakeError(ErrorCode::kDeadlineExceeded,
                       "python worker " + std::to_string(pid) + " did not load the model within " +
                           std::to_string(options_.load_timeout.count()) + " ms");
    }
    return Unavailable("python worker " + std::to_string(pid) + " (" + options_.python +
                       ") exited (" + how +
                       ") before it was ready; its output is in the server log");
  }

  Result<size_t> Acquire(SteadyClock::time_point deadline) {
    std::unique_lock lock(mu_);
    bool got = cv_.wait_until(lock, deadline, [this] { return shut_down_ || !idle_.empty(); });
    if (shut_down_) return Unavailable("the python runtime is shut down");
    if (!got) return Unavailable("no python worker available");
    size_t index = idle_.front();
    idle_.pop_front();
    workers_[index].state = Worker::State::kBusy;
    return index;
  }

  // An idle worker never writes: readable or hung up means it exited.
  static bool IdleWorkerDied(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

  Result<ModelOutput> RoundTrip(size_t index, const std::string& frame, int64_t rows) {
    Worker& w = workers_[index];
    pid_t pid = w.pid;
    auto deadline = SteadyClock::now() + options_.predict_timeout;
    Io io = SendAll(w.fd, frame, deadline);
    std::string payload;
    if (io == Io::kOk) io = RecvFrame(w.fd, payload, deadline);
    if (io == Io::kOk) {
      Result<ModelOutput> output = DecodeResponse(payload, rows);
      Release(index);
      return output;
    }
    std::string how = Retire(index, std::chrono::milliseconds(io == Io::kTimeout ? 0 : 200));
    std::string next = ShuttingDown() ? "the runtime is shutting down" : "restarting it";
    if (io == Io::kTimeout) {
      return MakeError(ErrorCode::kDeadlineExceeded,
                       "python worker " + std::to_string(pid) + " took longer than " +
                           std::to_string(options_.predict_timeout.count()) + " ms; killed and " +
                           next);
    }
    return Unavailable("python worker " + std::to_string(pid) + " died (" + how +
                       ") while predicting; " + next);
  }

  void Release(size_t index) {
    std::lock_guard lock(mu_);
    workers_[index].state = Worker::State::kIdle;
    idle_.push_back(index);
    cv_.notify_all();
  }

  // Kills and reaps the busy worker `index` (owned by the caller), then
  // queues its restart. Returns how it died.
  std::string Retire(size_t index, std::chrono::milliseconds grace) {
    Worker& w = workers_[index];
    pid_t pid;
    int fd;
    {
      std::lock_guard lock(mu_);
      pid = w.pid;
      fd = w.fd;
    }
    auto until = SteadyClock::now() + grace;
    while (!HasExited(pid) && SteadyClock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ::kill(-pid, SIGKILL);
    {
      std::lock_guard lock(mu_);
      w.pid = -1;  // from here Shutdown no longer signals it
      w.fd = -1;
    }
    int status = WaitPid(pid, 0);
    ::close(fd);
    std::lock_guard lock(mu_);
    w.state = Worker::State::kDead;
    if (!shut_down_) {
      restart_queue_.push_back(index);
      restart_cv_.notify_one();
    }
    cv_.notify_all();
    return status < 0 ? "unknown status" : DescribeStatus(status);
  }

  bool ShuttingDown() {
    std::lock_guard lock(mu_);
    return shut_down_;
  }

  // Restarts dead workers one at a time; backoff while starts keep failing.
  void RestartLoop() {
    std::unique_lock lock(mu_);
    auto backoff = std::chrono::milliseconds(100);
    while (true) {
      restart_cv_.wait(lock, [this] { return shut_down_ || !restart_queue_.empty(); });
      if (shut_down_) return;
      size_t index = restart_queue_.front();
      lock.unlock();
      Status status = RestartWorker(index);
      lock.lock();
      if (status) {
        restart_queue_.pop_front();
        backoff = std::chrono::milliseconds(100);
        continue;
      }
      if (shut_down_) return;
      CAIRN_LOG_WARN("python worker restart failed: {}; retrying in {} ms",
                     status.error().message(), backoff.count());
      restart_cv_.wait_for(lock, backoff, [this] { return shut_down_; });
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(10));
    }
  }

  Status RestartWorker(size_t index) {
    CAIRN_ASSIGN_OR_RETURN(SpawnedProcess p, SpawnWorker(options_.python, folder_));
    pump_.Add(p.stderr_read, p.pid);
    {
      std::lock_guard lock(mu_);
      workers_[index] = Worker{Worker::State::kStarting, p.pid, p.channel};
      if (shut_down_) ::kill(-p.pid, SIGKILL);
    }
    CAIRN_LOG_INFO("python worker {} started to replace a dead one", p.pid);
    return FinishStart(index, SteadyClock::now() + options_.load_timeout);
  }

  const std::string folder_;
  const PythonRuntimeOptions options_;
  StderrPump pump_;

  std::mutex mu_;
  std::condition_variable cv_;          // a worker became idle / not busy; shutdown
  std::condition_variable restart_cv_;  // restart queued; shutdown
  std::vector<Worker> workers_;         // fixed size
  std::deque<size_t> idle_;
  std::deque<size_t> restart_queue_;
  bool shut_down_ = false;
  std::thread restart_thread_;
};

}  // namespace

Result<std::unique_ptr<Runtime>> LoadPythonRuntime(const std::string& folder,
                                                   const PythonRuntimeOptions& options) {
  auto runtime = std::make_unique<PythonRuntime>(folder, options);
  Status started = runtime->StartAll();
  if (!started) {
    runtime->Shutdown();
    return std::unexpected(started.error());
  }
  return std::unique_ptr<Runtime>(std::move(runtime));
}

}  // namespace cairn::serving
