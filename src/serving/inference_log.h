#pragma once
// The inference log: a sampled, bounded, asynchronous record of what each
// deployment was asked and answered, for monitoring (issue 7 reads it).
//
// Records are JSON lines, one per request:
//   {"ts": 1764170000123, "request_id": "...", "deployment": "fraud",
//    "model": "fraud", "version": "3", "role": "live"|"shadow",
//    "latency_us": 412, "status": 200,
//    "inputs": {"kind": "columns"|"tensors", "tensors": [{"name","datatype","shape","data"}]},
//    "outputs": {"frame": false, "tensors": [...]}, "error": "..."}
// ("error" only on failures, "inputs"/"outputs" as the OIP JSON tensor
// form, data flat row-major). The serializer runs on the writer thread, not
// on the request thread: Append only moves the record into the buffer.
//
// Storage: segments under `root` (a local folder, typically the artifact
// store's folder or a mounted volume):
//   <root>/<deployment>/<YYYY-MM-DD>/<first-ts-millis>-<seq>.jsonl
// written as "<name>.jsonl.part" and renamed when the segment is closed, so a
// reader sees only complete segments. A segment closes after
// `segment_records` records or `segment_age` since its first record, and at
// Stop(). Dates are UTC.
//
// on_segment_closed (optional): called on the writer thread right after a
// segment was renamed to ".jsonl", once per published segment, with its path
// relative to `root` ("<deployment>/<YYYY-MM-DD>/<file>.jsonl", '/'
// separated) and its local path. Empty or damaged segments (removed rather
// than published) are not reported. The callback may take its time (upload,
// delete the file): Append never waits for the writer, but records wait in
// the buffer meanwhile (and are dropped once it is full). It must not call
// back into the log; exceptions it throws are caught and logged.
//
// Contract
// - Append never blocks on I/O and never waits for the writer: it takes a
//   short lock, and when `buffer_records` records are already waiting the
//   record is dropped and counted (dropped()).
// - Sampling: Sample() decides with probability `sample_rate` (a thread-local
//   PRNG); callers check it before building a record, so unsampled requests
//   copy nothing.
// - Stop() writes what is buffered, closes the open segments and joins the
//   writer. Idempotent; the destructor calls it. Appends after Stop are dropped.
// - I/O errors are logged (once per minute at most) and counted
//   (write_errors()); the records of a failed write are lost, the log keeps going.
// Thread safety: every method from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/error.h"
#include "serving/runtime.h"

namespace cairn::serving {

struct InferenceLogOptions {
  std::string root;                     // required: the folder segments go under
  double sample_rate = 1.0;             // 0..1
  size_t buffer_records = 10000;        // waiting records before dropping
  size_t segment_records = 10000;       // records per segment
  std::chrono::milliseconds segment_age{10000};
  std::chrono::milliseconds flush_interval{1000};  // how often the writer wakes
  // See the header comment; may be empty.
  std::function<void(const std::string& relative_path, const std::string& local_path)>
      on_segment_closed;
};

struct InferenceRecord {
  int64_t ts_millis = 0;
  std::string request_id;
  std::string deployment;
  std::string model;
  std::string version;
  bool shadow = false;
  int64_t latency_us = 0;
  int status = 200;
  std::string error;  // "" on success
  // Shared with the request (no copy on the hot path); may be null.
  std::shared_ptr<const ModelInput> input;
  std::shared_ptr<const ModelOutput> output;
};

class InferenceLog {
 public:
  // Creates `root` if missing (kInternal if it cannot), validates options
  // (kInvalidArgument), starts the writer thread.
  static Result<std::unique_ptr<InferenceLog>> Open(InferenceLogOptions options);
  ~InferenceLog();
  InferenceLog(const InferenceLog&) = delete;
  InferenceLog& operator=(const InferenceLog&) = delete;

  bool Sample() const;
  void Append(InferenceRecord record);
  void Stop();

  uint64_t appended() const;      // accepted into the buffer
  uint64_t dropped() const;       // refused: buffer full or stopped
  uint64_t written() const;       // records in closed or open segments on disk
  uint64_t write_errors() const;
  size_t buffered() const;        // waiting now

 private:
  explicit InferenceLog(InferenceLogOptions options);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One record as its JSON line (without the newline). Exposed for tests and
// for readers that want the same form.
std::string InferenceRecordToJson(const InferenceRecord& record);

}  // namespace cairn::serving
