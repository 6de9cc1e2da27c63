#include "serving/inference_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "core/json_writer.h"
#include "core/log.h"
#include "serving/oip_json.h"

namespace cairn::serving {

namespace {

namespace fs = std::filesystem;

// ---- Serialization -------------------------------------------------------------

void WriteString(JsonWriter& w, std::string_view s) {
  std::string scratch;
  w.String(ValidUtf8(s, scratch));
}

void WriteField(JsonWriter& w, std::string_view key, std::string_view value) {
  w.Key(key);
  WriteString(w, value);
}

// Tensors in the OIP JSON form (WriteOipTensorData: floats, NaN, BYTES as
// the responses write them).
void WriteTensor(JsonWriter& w, const Tensor& t) {
  w.BeginObject();
  WriteField(w, "name", t.name());
  w.Field("datatype", DataTypeName(t.datatype()));
  w.Key("shape").BeginArray();
  for (int64_t d : t.shape()) w.Int(d);
  w.EndArray();
  w.Key("data");
  WriteOipTensorData(w, t);
  w.EndObject();
}

void WriteTensors(JsonWriter& w, const std::vector<Tensor>& tensors) {
  w.Key("tensors").BeginArray();
  for (const Tensor& t : tensors) WriteTensor(w, t);
  w.EndArray();
}

// ---- Files ---------------------------------------------------------------------

// A deployment name as one safe path component (names are validated
// elsewhere; this only guarantees the log never writes outside `root`).
std::string DirComponent(std::string_view name) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

// "YYYY-MM-DD" (UTC) of a Unix time in milliseconds.
std::string UtcDate(int64_t millis) {
  std::time_t secs = static_cast<std::time_t>(millis / 1000 - (millis % 1000 < 0 ? 1 : 0));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// ---- Sampling ------------------------------------------------------------------

// splitmix64: tiny, fast, and good enough for sampling decisions.
uint64_t NextRandom() {
  thread_local uint64_t state = [] {
    uint64_t seed = std::hash<std::thread::id>{}(std::this_thread::get_id());
    seed ^= static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    seed ^= reinterpret_cast<uintptr_t>(&seed);
    return seed;
  }();
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

std::string InferenceRecordToJson(const InferenceRecord& record) {
  JsonWriter w;
  w.BeginObject();
  w.Field("ts", record.ts_millis);
  WriteField(w, "request_id", record.request_id);
  WriteField(w, "deployment", record.deployment);
  WriteField(w, "model", record.model);
  WriteField(w, "version", record.version);
  w.Field("role", record.shadow ? "shadow" : "live");
  w.Field("latency_us", record.latency_us);
  w.Field("status", static_cast<int64_t>(record.status));
  if (record.input) {
    w.Key("inputs").BeginObject();
    w.Field("kind", record.input->kind == ModelInput::Kind::kColumns ? "columns" : "tensors");
    WriteTensors(w, record.input->tensors);
    w.EndObject();
  }
  if (record.output) {
    w.Key("outputs").BeginObject();
    w.Key("frame").Bool(record.output->frame);
    WriteTensors(w, record.output->tensors);
    w.EndObject();
  }
  if (!record.error.empty()) WriteField(w, "error", record.error);
  w.EndObject();
  return w.Take();
}

// ---- InferenceLog ----------------------------------------------------------------

struct InferenceLog::Impl {
  explicit Impl(InferenceLogOptions o) : options(std::move(o)) {}

  // One open segment of one deployment. Writer thread only.
  struct Segment {
    int fd = -1;
    std::string part_path;    // ".../<ts>-<seq>.jsonl.part"
    std::string final_path;   // ".../<ts>-<seq>.jsonl"
    std::string relative_path;  // "<dir>/<date>/<ts>-<seq>.jsonl"
    size_t records = 0;       // lines accepted into this segment (written or pending)
    uint64_t good_bytes = 0;  // bytes known to be on disk
    std::chrono::steady_clock::time_point opened;
    std::string pending;  // lines of the current batch not yet written
    size_t pending_records = 0;
  };

  const InferenceLogOptions options;

  std::mutex mu;
  std::condition_variable cv;
  std::vector<InferenceRecord> buffer;  // guarded by mu
  bool stopping = false;                // guarded by mu

  std::mutex stop_mu;  // serializes Stop() callers
  std::thread writer;

  std::atomic<uint64_t> appended{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> written{0};
  std::atomic<uint64_t> write_errors{0};

  // Writer thread state.
  std::map<std::string, Segment> segments;  // by deployment directory
  uint64_t next_seq = 0;
  std::chrono::steady_clock::time_point last_error_log{};
  bool logged_error = false;

  void ReportError(const std::string& what) {
    write_errors.fetch_add(1, std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now();
    if (!logged_error || now - last_error_log >= std::chrono::minutes(1)) {
      logged_error = true;
      last_error_log = now;
      CAIRN_LOG_ERROR("inference log: {} (write errors so far: {})", what,
                      write_errors.load(std::memory_order_relaxed));
    }
  }

  // Opens a new segment for the deployment directory `dir`; false on error.
  bool OpenSegment(const std::string& dir, int64_t first_ts, Segment& seg) {
    if (first_ts <= 0) first_ts = NowMillis();
    const std::string date = UtcDate(first_ts);
    const fs::path folder = fs::path(options.root) / dir / date;
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) {
      ReportError("cannot create " + folder.string() + ": " + ec.message());
      return false;
    }
    for (int attempt = 0; attempt < 1000; ++attempt) {
      const std::string file =
          std::to_string(first_ts) + "-" + std::to_string(next_seq++) + ".jsonl";
      const std::string base = (folder / file).string();
      const std::string part = base + ".part";
      // O_EXCL on both names: never append to (or rename over) a segment of
      // an earlier process that happened to pick the same name.
      if (::access(base.c_str(), F_OK) == 0) continue;
      int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0) {
        if (errno == EEXIST) continue;
        ReportError("cannot create " + part + ": " + std::strerror(errno));
        return false;
      }
      seg = Segment{};
      seg.fd = fd;
      seg.part_path = part;
      seg.final_path = base;
      seg.relative_path = dir + "/" + date + "/" + file;
      seg.opened = std::chrono::steady_clock::now();
      return true;
    }
    ReportError("no free segment name under " + folder.string());
    return false;
  }

  // Writes the pending lines; false (segment unusable) on error.
  bool FlushSegment(Segment& seg) {
    if (seg.pending.empty()) return true;
    if (!WriteAll(seg.fd, seg.pending)) {
      ReportError("cannot write " + seg.part_path + ": " + std::strerror(errno));
      // Cut a partial line so the segment holds only complete records.
      if (::ftruncate(seg.fd, static_cast<off_t>(seg.good_bytes)) != 0) {
        // Nothing more to do: CloseSegment keeps the file only if truncation worked.
        seg.good_bytes = UINT64_MAX;
      }
      seg.records -= seg.pending_records;
      seg.pending.clear();
      seg.pending_records = 0;
      return false;
    }
    seg.good_bytes += seg.pending.size();
    written.fetch_add(seg.pending_records, std::memory_order_relaxed);
    seg.pending.clear();
    seg.pending_records = 0;
    return true;
  }

  // Closes the file and publishes it (.part -> .jsonl); an empty or damaged
  // segment is removed instead.
  void CloseSegment(Segment& seg) {
    if (seg.fd < 0) return;
    if (::close(seg.fd) != 0) {
      ReportError("cannot close " + seg.part_path + ": " + std::strerror(errno));
    }
    seg.fd = -1;
    if (seg.records == 0 || seg.good_bytes == UINT64_MAX) {
      ::unlink(seg.part_path.c_str());
      return;
    }
    if (::rename(seg.part_path.c_str(), seg.final_path.c_str()) != 0) {
      ReportError("cannot rename " + seg.part_path + ": " + std::strerror(errno));
      return;
    }
    if (options.on_segment_closed) {
      const std::string& relative = seg.relative_path;
      try {
        options.on_segment_closed(relative, seg.final_path);
      } catch (const std::exception& e) {
        CAIRN_LOG_ERROR("inference log: the segment callback failed for {}: {}", relative,
                        e.what());
      } catch (...) {
        CAIRN_LOG_ERROR("inference log: the segment callback failed for {}", relative);
      }
    }
  }

  void WriteBatch(std::vector<InferenceRecord>& batch) {
    std::map<std::string, bool> failed_open;  // per batch: do not retry a broken folder
    for (InferenceRecord& rec : batch) {
      const std::string dir = DirComponent(rec.deployment);
      auto it = segments.find(dir);
      if (it == segments.end()) {
        if (failed_open.contains(dir)) continue;  // lost, error already counted
        Segment seg;
        if (!OpenSegment(dir, rec.ts_millis, seg)) {
          failed_open[dir] = true;
          continue;
        }
        it = segments.emplace(dir, std::move(seg)).first;
      }
      Segment& seg = it->second;
      seg.pending += InferenceRecordToJson(rec);
      seg.pending.push_back('\n');
      ++seg.pending_records;
      ++seg.records;
      // Drop the request's tensors now rather than at the end of the batch.
      rec.input.reset();
      rec.output.reset();
      if (seg.records >= options.segment_records) {
        FlushSegment(seg);
        CloseSegment(seg);
        segments.erase(it);
      }
    }
    for (auto it = segments.begin(); it != segments.end();) {
      if (!FlushSegment(it->second)) {
        CloseSegment(it->second);
        it = segments.erase(it);
      } else {
        ++it;
      }
    }
  }

  void CloseAged() {
    const auto now = std::chrono::steady_clock::now();
    for (auto it = segments.begin(); it != segments.end();) {
      if (now - it->second.opened >= options.segment_age) {
        CloseSegment(it->second);
        it = segments.erase(it);
      } else {
        ++it;
      }
    }
  }

  void Run() {
    std::vector<InferenceRecord> batch;
    for (;;) {
      bool stop = false;
      {
        std::unique_lock lock(mu);
        // Wake on the interval (or an early segment deadline), or at Stop.
        auto wait =
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(options.flush_interval);
        const auto now = std::chrono::steady_clock::now();
        for (const auto& [dir, seg] : segments) {
          const auto due = seg.opened + options.segment_age;
          wait = std::min(wait, due > now ? due - now : std::chrono::steady_clock::duration{0});
        }
        cv.wait_for(lock, wait, [this] { return stopping; });
        stop = stopping;
        batch.swap(buffer);
      }
      WriteBatch(batch);
      batch.clear();
      CloseAged();
      if (stop) break;
    }
    for (auto& [dir, seg] : segments) CloseSegment(seg);
    segments.clear();
  }
};

InferenceLog::InferenceLog(InferenceLogOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

Result<std::unique_ptr<InferenceLog>> InferenceLog::Open(InferenceLogOptions options) {
  if (options.root.empty()) return InvalidArgument("inference log: the root folder is required");
  if (!(options.sample_rate >= 0.0 && options.sample_rate <= 1.0)) {
    return InvalidArgument("inference log: the sample rate must be between 0 and 1");
  }
  if (options.buffer_records == 0) {
    return InvalidArgument("inference log: the buffer must hold at least one record");
  }
  if (options.segment_records == 0) {
    return InvalidArgument("inference log: a segment must hold at least one record");
  }
  if (options.segment_age.count() <= 0 || options.flush_interval.count() <= 0) {
    return InvalidArgument("inference log: the segment age and flush interval must be positive");
  }
  std::error_code ec;
  fs::create_directories(options.root, ec);
  if (ec || !fs::is_directory(options.root, ec)) {
    return Internal("inference log: cannot create the folder " + options.root +
                    (ec ? ": " + ec.message() : ": not a directory"));
  }
  std::unique_ptr<InferenceLog> log(new InferenceLog(std::move(options)));
  Impl* impl = log->impl_.get();
  impl->buffer.reserve(std::min<size_t>(impl->options.buffer_records, 4096));
  impl->writer = std::thread([impl] { impl->Run(); });
  return log;
}

InferenceLog::~InferenceLog() { Stop(); }

bool InferenceLog::Sample() const {
  const double rate = impl_->options.sample_rate;
  if (rate >= 1.0) return true;
  if (rate <= 0.0) return false;
  // 53 random bits as a double in [0, 1).
  return static_cast<double>(NextRandom() >> 11) * 0x1.0p-53 < rate;
}

void InferenceLog::Append(InferenceRecord record) {
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->stopping && impl_->buffer.size() < impl_->options.buffer_records) {
      impl_->buffer.push_back(std::move(record));
      impl_->appended.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  // Dropped: `record` (and the tensors it pins) is released outside the lock.
  impl_->dropped.fetch_add(1, std::memory_order_relaxed);
}

void InferenceLog::Stop() {
  std::lock_guard stop_lock(impl_->stop_mu);
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->writer.joinable()) impl_->writer.join();
}

uint64_t InferenceLog::appended() const { return impl_->appended.load(); }
uint64_t InferenceLog::dropped() const { return impl_->dropped.load(); }
uint64_t InferenceLog::written() const { return impl_->written.load(); }
uint64_t InferenceLog::write_errors() const { return impl_->write_errors.load(); }
size_t InferenceLog::buffered() const {
  std::lock_guard lock(impl_->mu);
  return impl_->buffer.size();
}

}  // namespace cairn::serving
