#pragma once
// DynamicBatcher: one queue per model version that gathers inference requests
// into batches and runs them on a fixed pool of worker threads (instances).
//
// Contract
// - Work is generic: `Item` is one request's payload (e.g. decoded tensors), `R`
//   its answer. The batch function receives a span over the items of one batch
//   (FIFO order, it may move from them) and returns either one Result<R> per
//   item, in the same order (a per-item error reaches that request only), or an
//   Error for the whole batch. A whole-batch Error, a thrown exception
//   (-> kInternal with its what()) or a result vector of the wrong length
//   (-> kInternal) fails every request of that batch.
// - Sizes count rows: each request says how many rows it carries. A batch holds
//   at most `max_batch_size` rows, except that a request with more rows than
//   that runs alone. Batches are formed in arrival order (no reordering).
// - Flushing (`greedy`, the default): an instance that is free runs what is
//   queued at once (up to `max_batch_size` rows); it never waits for a fuller
//   batch. Requests wait only while every instance is busy, and that is when
//   batches form: the queue fills on its own while the instances run, and the
//   next free instance takes it as one batch. So a request reaching an idle
//   instance is never delayed, and batch sizes follow the load.
//   With `greedy = false` (Triton-style): a free worker starts a batch when
//   the queued rows reach `max_batch_size`, or when the oldest queued request
//   has waited `max_queue_delay` (0: never waits, same as greedy). While
//   stopping, it never waits either.
// - Deadlines: a request whose deadline passed before it was put into a batch
//   fails with kDeadlineExceeded and is never given to the batch function. A
//   request without an explicit deadline gets now + `default_timeout` (none if
//   that is 0). Deadlines are checked when batches are formed; a request that
//   expires during its batch's run still gets its answer.
// - Backpressure: Submit fails fast, without queueing, with kResourceExhausted
//   when `max_queue_size` requests are waiting (the HTTP layer answers 429/503
//   with Retry-After), kUnavailable once Stop() has begun, kInvalidArgument for
//   rows < 1. When Submit returns an error its callback is never called;
//   otherwise the callback is called exactly once.
// - Stop() drains: refuses new work, runs everything already queued, then joins
//   the workers. Idempotent; the destructor calls it.
//
// Threads and ownership
// - All public methods are thread-safe. The batcher owns its worker threads;
//   the batch function, callbacks and observer run on those threads, never
//   under the batcher's lock. The batch function must be safe to call from
//   `instance_count` threads at once. Exceptions thrown by a callback or the
//   observer are swallowed (they must not kill a worker).
// - Do not call Stop() (or destroy the batcher) from the batch function, a
//   callback or the observer: it joins the calling thread.
// - Time is std::chrono::steady_clock, not an injected Clock: the waits are
//   condition-variable timed waits, which need real time (tests drive ordering
//   with gates instead of sleeps wherever possible).

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/error.h"

namespace cairn::serving {

struct BatcherOptions {
  // Used in error messages ("fraud/3"), so a 429 says which model is busy.
  std::string name = "model";
  // Maximum rows in one batch (>= 1). 1 turns batching off.
  int64_t max_batch_size = 32;
  // Greedy dispatch (see the contract above). When true, max_queue_delay is
  // not used: a free instance never waits for more requests.
  bool greedy = true;
  // greedy == false only: how long the oldest queued request may wait for
  // more requests while an instance is free (>= 0).
  std::chrono::microseconds max_queue_delay{0};
  // Worker threads, each running one batch at a time (>= 1).
  int instance_count = 1;
  // Requests waiting in the queue (not counting batches running) (>= 1).
  size_t max_queue_size = 1024;
  // Deadline given to requests submitted without one; 0 = no deadline.
  std::chrono::microseconds default_timeout{0};
  // Run batches on the submitting threads instead of worker threads: a
  // Submit that finds fewer than `instance_count` batches running runs the
  // queue itself (its own request and whatever else is queued), batch after
  // batch until the queue is empty, before returning; a Submit that finds
  // every instance busy only queues, and a running caller takes the request
  // with its next batch. No thread hop at low load, natural batching under
  // load, no worker threads. For models that answer in microseconds (the
  // callers are HTTP io threads); `max_queue_delay` is ignored (a caller
  // never waits for more requests).
  bool run_on_caller = false;
};

// What happened in one batch, for metrics (batch-size histogram, latency).
struct BatchEvent {
  size_t requests = 0;  // requests given to the batch function
  int64_t rows = 0;     // rows in those requests
  size_t expired = 0;   // requests failed with kDeadlineExceeded while forming it
  std::chrono::microseconds oldest_wait{0};  // queue time of the oldest request
  std::chrono::microseconds run_time{0};     // time inside the batch function
  bool failed = false;  // the whole batch failed (error, exception, bad length)
};
using BatchObserver = std::function<void(const BatchEvent&)>;

// A consistent snapshot of the counters.
struct BatcherStats {
  size_t queue_depth = 0;     // requests waiting
  int64_t queued_rows = 0;    // rows waiting
  int busy_instances = 0;     // workers inside the batch function
  uint64_t submitted = 0;     // accepted by Submit
  uint64_t rejected = 0;      // refused by Submit (full queue or stopping)
  uint64_t expired = 0;       // failed with kDeadlineExceeded, never run
  uint64_t batches_run = 0;   // calls of the batch function
  uint64_t requests_run = 0;  // requests given to the batch function
  uint64_t rows_run = 0;      // rows given to the batch function
  uint64_t failed_batches = 0;
};

template <typename Item, typename R>
class DynamicBatcher {
 public:
  using Clock = std::chrono::steady_clock;
  using Deadline = Clock::time_point;
  using Callback = std::function<void(Result<R>)>;
  using BatchFunction = std::function<Result<std::vector<Result<R>>>(std::span<Item>)>;

  // Validates the options (kInvalidArgument) and starts the workers.
  static Result<std::unique_ptr<DynamicBatcher>> Create(BatcherOptions options, BatchFunction run,
                                                        BatchObserver observer = nullptr) {
    if (options.max_batch_size < 1) return InvalidArgument("max_batch_size must be at least 1");
    if (options.max_queue_delay.count() < 0) {
      return InvalidArgument("max_queue_delay must not be negative");
    }
    if (options.instance_count < 1) return InvalidArgument("instance_count must be at least 1");
    if (options.max_queue_size < 1) return InvalidArgument("max_queue_size must be at least 1");
    if (options.default_timeout.count() < 0) {
      return InvalidArgument("default_timeout must not be negative");
    }
    if (!run) return InvalidArgument("a batch function is required");
    return std::unique_ptr<DynamicBatcher>(
        new DynamicBatcher(std::move(options), std::move(run), std::move(observer)));
  }

  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;
  ~DynamicBatcher() { Stop(); }

  // Queues one request of `rows` rows; `done` is called exactly once with its
  // answer, on a worker thread, unless Submit itself returns an error.
  Status Submit(Item item, int64_t rows, Callback done,
                std::optional<Deadline> deadline = std::nullopt) {
    if (rows < 1) return InvalidArgument("a request must carry at least one row");
    const Clock::time_point now = Clock::now();
    Deadline effective = Deadline::max();
    if (deadline) {
      effective = *deadline;
    } else if (options_.default_timeout.count() > 0) {
      effective = now + options_.default_timeout;
    }
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        ++stats_.rejected;
        return MakeError(ErrorCode::kUnavailable,
                         "model " + options_.name + " is shutting down; retry on another server");
      }
      if (queue_.size() >= options_.max_queue_size) {
        ++stats_.rejected;
        return MakeError(ErrorCode::kResourceExhausted,
                         "model " + options_.name + " is overloaded: " +
                             std::to_string(queue_.size()) + " requests queued; retry later");
      }
      queue_.push_back(Pending{std::move(item), rows, now, effective, std::move(done)});
      queued_rows_ += rows;
      ++stats_.submitted;
      if (options_.run_on_caller) {
        // Every queued request has a running caller that will take it:
        // either one already draining, or this one.
        if (drainers_ >= options_.instance_count) return {};
        ++drainers_;
      }
    }
    if (options_.run_on_caller) {
      DrainOnCaller();
      return {};
    }
    cv_.notify_one();
    return {};
  }

  // The same, with the answer as a future. A refusal is a ready future.
  std::future<Result<R>> SubmitFuture(Item item, int64_t rows,
                                      std::optional<Deadline> deadline = std::nullopt) {
    auto promise = std::make_shared<std::promise<Result<R>>>();
    std::future<Result<R>> future = promise->get_future();
    Status status = Submit(
        std::move(item), rows,
        [promise](Result<R> result) { promise->set_value(std::move(result)); }, deadline);
    if (!status) promise->set_value(std::unexpected(status.error()));
    return future;
  }

  // Refuses new work (kUnavailable), runs what is queued, joins the workers.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (options_.run_on_caller) {
      // The callers that are draining finish the queue.
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return drainers_ == 0 && queue_.empty(); });
      return;
    }
    std::lock_guard join_lock(join_mu_);
    for (std::thread& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
  }

  BatcherStats Stats() const {
    std::lock_guard lock(mu_);
    BatcherStats stats = stats_;
    stats.queue_depth = queue_.size();
    stats.queued_rows = queued_rows_;
    return stats;
  }

  const BatcherOptions& options() const { return options_; }

 private:
  struct Pending {
    Item item;
    int64_t rows;
    Clock::time_point enqueued;
    Deadline deadline;
    Callback done;
  };

  DynamicBatcher(BatcherOptions options, BatchFunction run, BatchObserver observer)
      : options_(std::move(options)), run_(std::move(run)), observer_(std::move(observer)) {
    if (options_.run_on_caller) return;
    workers_.reserve(static_cast<size_t>(options_.instance_count));
    for (int i = 0; i < options_.instance_count; ++i) {
      workers_.emplace_back([this] { WorkerLoop(); });
    }
  }

  // True when the worker should stop waiting for more requests. Requires mu_.
  bool ReadyToFlush(Clock::time_point now) const {
    return stopping_ || options_.greedy || queued_rows_ >= options_.max_batch_size ||
           now >= queue_.front().enqueued + options_.max_queue_delay;
  }

  void WorkerLoop() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained

      // Wait for the batch to fill or the oldest request's delay to run out.
      // The front may change while we wait (another worker took it), so the
      // flush time is recomputed after every wake-up.
      while (!queue_.empty() && !ReadyToFlush(Clock::now())) {
        cv_.wait_until(lock, queue_.front().enqueued + options_.max_queue_delay);
      }
      if (queue_.empty()) continue;
      ProcessBatch(lock);
    }
  }

  // Runs batches on the calling thread until the queue is empty (run_on_caller).
  void DrainOnCaller() {
    std::unique_lock lock(mu_);
    while (!queue_.empty()) ProcessBatch(lock);
    --drainers_;
    if (drainers_ == 0) cv_.notify_all();  // Stop() may be waiting
  }

  // Takes one batch (and the expired requests in front of it) from the
  // queue, runs it without the lock and delivers the answers. Requires
  // `lock` held and the queue non-empty; returns with it held again.
  void ProcessBatch(std::unique_lock<std::mutex>& lock) {
    {
      std::vector<Pending> batch;
      std::vector<Pending> expired;
      int64_t rows = 0;
      const Clock::time_point now = Clock::now();
      while (!queue_.empty()) {
        Pending& next = queue_.front();
        if (next.deadline <= now) {
          queued_rows_ -= next.rows;
          expired.push_back(std::move(next));
          queue_.pop_front();
          continue;
        }
        // The first request always goes (alone if it is oversized); later ones
        // only while they fit, so the order of arrival is kept.
        if (!batch.empty() && rows + next.rows > options_.max_batch_size) break;
        rows += next.rows;
        queued_rows_ -= next.rows;
        batch.push_back(std::move(next));
        queue_.pop_front();
        if (rows >= options_.max_batch_size) break;
      }
      stats_.expired += expired.size();
      if (!batch.empty()) ++busy_;
      stats_.busy_instances = busy_;
      const bool more = !queue_.empty();
      lock.unlock();
      if (more && !options_.run_on_caller) cv_.notify_one();  // an idle worker can take the next

      for (Pending& p : expired) {
        Deliver(p.done,
                MakeError(ErrorCode::kDeadlineExceeded, "request to model " + options_.name +
                                                            " passed its deadline while queued"));
      }
      BatchEvent event;
      event.expired = expired.size();
      if (!batch.empty()) {
        Result<std::vector<Result<R>>> results = RunBatch(batch, rows, now, event);
        {
          // Counted before the answers go out, so a client that got its answer
          // sees its batch in Stats().
          std::lock_guard count_lock(mu_);
          --busy_;
          stats_.busy_instances = busy_;
          ++stats_.batches_run;
          stats_.requests_run += event.requests;
          stats_.rows_run += static_cast<uint64_t>(event.rows);
          if (event.failed) ++stats_.failed_batches;
        }
        if (!results) {
          for (Pending& p : batch) Deliver(p.done, std::unexpected(results.error()));
        } else {
          for (size_t i = 0; i < batch.size(); ++i) {
            Deliver(batch[i].done, std::move((*results)[i]));
          }
        }
      }
      if (observer_ && (event.requests > 0 || event.expired > 0)) {
        try {
          observer_(event);
        } catch (...) {
          // Metrics must not kill a worker.
        }
      }
      lock.lock();
    }
  }

  // Runs one batch without the lock. Returns one result per request, or the
  // error that fails the whole batch.
  Result<std::vector<Result<R>>> RunBatch(std::vector<Pending>& batch, int64_t rows,
                                          Clock::time_point formed, BatchEvent& event) {
    event.requests = batch.size();
    event.rows = rows;
    event.oldest_wait =
        std::chrono::duration_cast<std::chrono::microseconds>(formed - batch.front().enqueued);
    std::vector<Item> items;
    items.reserve(batch.size());
    for (Pending& p : batch) items.push_back(std::move(p.item));

    const Clock::time_point start = Clock::now();
    Result<std::vector<Result<R>>> results = std::vector<Result<R>>{};
    try {
      results = run_(std::span<Item>(items));
    } catch (const std::exception& e) {
      results = MakeError(ErrorCode::kInternal, std::string("model ") + options_.name +
                                                    " failed on a batch: " + e.what());
    } catch (...) {
      results = MakeError(ErrorCode::kInternal,
                          "model " + options_.name + " failed on a batch: unknown exception");
    }
    event.run_time = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    if (results && results->size() != batch.size()) {
      results =
          MakeError(ErrorCode::kInternal,
                    "model " + options_.name + " returned " + std::to_string(results->size()) +
                        " results for a batch of " + std::to_string(batch.size()) + " requests");
    }
    event.failed = !results.has_value();
    return results;
  }

  static void Deliver(Callback& done, Result<R> result) {
    if (!done) return;
    try {
      done(std::move(result));
    } catch (...) {
      // A callback's failure is its own; the other requests still get answers.
    }
  }

  const BatcherOptions options_;
  const BatchFunction run_;
  const BatchObserver observer_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // guarded by mu_
  int64_t queued_rows_ = 0;    // guarded by mu_
  int busy_ = 0;               // guarded by mu_
  int drainers_ = 0;           // run_on_caller: callers running the queue; guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  BatcherStats stats_;         // guarded by mu_ (queue fields filled in by Stats())

  std::mutex join_mu_;  // serializes concurrent Stop() calls
  std::vector<std::thread> workers_;
};

}  // namespace cairn::serving
