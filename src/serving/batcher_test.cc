#include "serving/batcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace cairn::serving {
namespace {

using namespace std::chrono_literals;
using IntBatcher = DynamicBatcher<int, int>;
using Steady = std::chrono::steady_clock;

// Generous bound for "this happens promptly" on a loaded 2-core machine.
constexpr auto kPrompt = 10s;
// The item that blocks its batch until the test opens the gate.
constexpr int kGateItem = -1;

// A one-shot gate: the batch containing kGateItem signals `entered` and blocks
// until Open(). Lets tests queue requests behind a busy instance without sleeps.
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    {
      std::lock_guard lock(mu_);
      entered_ = true;
      cv_.notify_all();
    }
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }
  bool WaitEntered() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kPrompt, [this] { return entered_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool open_ = false;
};

// Opens the gate when the test ends, even after a failed ASSERT, so the
// batcher's destructor (it runs first) does not wait on a closed gate forever.
class OpenOnExit {
 public:
  explicit OpenOnExit(Gate& gate) : gate_(gate) {}
  ~OpenOnExit() { gate_.Open(); }

 private:
  Gate& gate_;
};

// Records every batch the function sees (items, in order).
class Recorder {
 public:
  void Add(std::span<int> items) {
    std::lock_guard lock(mu_);
    batches_.emplace_back(items.begin(), items.end());
  }
  std::vector<std::vector<int>> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }

 private:
  std::mutex mu_;
  std::vector<std::vector<int>> batches_;
};

// Doubles every item; blocks on the gate when the batch holds kGateItem.
IntBatcher::BatchFunction Doubler(Recorder* recorder, Gate* gate = nullptr) {
  return [recorder, gate](std::span<int> items) -> Result<std::vector<Result<int>>> {
    if (recorder) recorder->Add(items);
    std::vector<Result<int>> out;
    for (int item : items) {
      if (item == kGateItem && gate) gate->Wait();
      out.push_back(item * 2);
    }
    return out;
  };
}

std::unique_ptr<IntBatcher> MakeBatcher(BatcherOptions options, IntBatcher::BatchFunction fn,
                                        BatchObserver observer = nullptr) {
  auto batcher = IntBatcher::Create(std::move(options), std::move(fn), std::move(observer));
  EXPECT_TRUE(batcher.has_value()) << batcher.error().ToString();
  return std::move(*batcher);
}

// Blocks the (single) instance on the gate and waits until it is inside.
std::future<Result<int>> OccupyInstance(IntBatcher& batcher, Gate& gate) {
  auto f = batcher.SubmitFuture(kGateItem, 1);
  EXPECT_TRUE(gate.WaitEntered());
  return f;
}

Result<int> Get(std::future<Result<int>>& f) {
  if (f.wait_for(kPrompt) != std::future_status::ready) {
    return MakeError(ErrorCode::kInternal, "test: no answer in time");
  }
  return f.get();
}

TEST(DynamicBatcherTest, CreateRejectsBadOptions) {
  auto fn = Doubler(nullptr);
  BatcherOptions o;
  o.max_batch_size = 0;
  EXPECT_EQ(IntBatcher::Create(o, fn).error().code(), ErrorCode::kInvalidArgument);
  o = {};
  o.instance_count = 0;
  EXPECT_EQ(IntBatcher::Create(o, fn).error().code(), ErrorCode::kInvalidArgument);
  o = {};
  o.max_queue_size = 0;
  EXPECT_EQ(IntBatcher::Create(o, fn).error().code(), ErrorCode::kInvalidArgument);
  o = {};
  o.max_queue_delay = -1us;
  EXPECT_EQ(IntBatcher::Create(o, fn).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(IntBatcher::Create({}, nullptr).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(IntBatcher::Create({}, fn).has_value());
}

TEST(DynamicBatcherTest, SubmitRejectsEmptyRequestWithoutCallingBack) {
  auto batcher = MakeBatcher({}, Doubler(nullptr));
  bool called = false;
  Status s = batcher->Submit(3, 0, [&](Result<int>) { called = true; });
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  batcher->Stop();
  EXPECT_FALSE(called);
}

TEST(DynamicBatcherTest, CallbackFormAnswersEachRequestOnce) {
  auto batcher = MakeBatcher({}, Doubler(nullptr));
  std::mutex mu;
  std::vector<int> answers;
  for (int i = 1; i <= 20; ++i) {
    ASSERT_TRUE(batcher->Submit(i, 1, [&](Result<int> r) {
      std::lock_guard lock(mu);
      answers.push_back(r.value_or(-1000));
    }));
  }
  batcher->Stop();  // drains
  std::sort(answers.begin(), answers.end());
  std::vector<int> expected;
  for (int i = 1; i <= 20; ++i) expected.push_back(2 * i);
  EXPECT_EQ(answers, expected);
}

TEST(DynamicBatcherTest, ZeroDelayStillBatchesWhatIsQueued) {
  Gate gate;
  Recorder rec;
  BatcherOptions o;
  o.max_batch_size = 32;
  o.max_queue_delay = 0us;
  auto batcher = MakeBatcher(o, Doubler(&rec, &gate));
  OpenOnExit open_on_exit(gate);
  auto gated = OccupyInstance(*batcher, gate);
  std::vector<std::future<Result<int>>> fs;
  for (int i = 1; i <= 5; ++i) fs.push_back(batcher->SubmitFuture(i, 1));
  gate.Open();
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(Get(fs[i - 1]).value_or(-1), 2 * i);
  EXPECT_EQ(Get(gated).value_or(0), -2);
  std::vector<std::vector<int>> expected = {{kGateItem}, {1, 2, 3, 4, 5}};
  EXPECT_EQ(rec.batches(), expected);
}

TEST(DynamicBatcherTest, BatchesRespectRowsAndOversizedRequestsRunAlone) {
  Gate gate;
  Recorder rec;
  BatcherOptions o;
  o.max_batch_size = 4;
  auto batcher = MakeBatcher(o, Doubler(&rec, &gate));
  OpenOnExit open_on_exit(gate);
  auto gated = OccupyInstance(*batcher, gate);
  // Rows: 2, 10 (oversized), 1, 2, 1, 3 -> [2] [10] [1,2,1] [3] in arrival order.
  std::vector<std::pair<int, int64_t>> requests = {{1, 2}, {2, 10}, {3, 1}, {4, 2}, {5, 1}, {6, 3}};
  std::vector<std::future<Result<int>>> fs;
  for (auto [item, rows] : requests) fs.push_back(batcher->SubmitFuture(item, rows));
  gate.Open();
  for (size_t i = 0; i < fs.size(); ++i) EXPECT_EQ(Get(fs[i]).value_or(-1), 2 * requests[i].first);
  Get(gated);
  std::vector<std::vector<int>> expected = {{kGateItem}, {1}, {2}, {3, 4, 5}, {6}};
  EXPECT_EQ(rec.batches(), expected);
}

TEST(DynamicBatcherTest, BatchesNeverExceedMaxBatchSizeUnderConcurrentLoad) {
  std::mutex mu;
  std::vector<int64_t> batch_rows;
  BatcherOptions o;
  o.max_batch_size = 8;
  o.greedy = false;
  o.max_queue_delay = 1000us;
  o.instance_count = 2;
  // Item = its row count, so the function can add up rows itself.
  auto fn = [&](std::span<int> items) -> Result<std::vector<Result<int>>> {
    int64_t rows = 0;
    std::vector<Result<int>> out;
    for (int item : items) {
      rows += item;
      out.push_back(item);
    }
    std::lock_guard lock(mu);
    batch_rows.push_back(rows);
    return out;
  };
  auto batcher = MakeBatcher(o, fn);
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 16; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 25; ++i) {
        int rows = 1 + (c + i) % 3;
        auto f = batcher->SubmitFuture(rows, rows);
        if (Get(f).value_or(-1) != rows) ++wrong;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
  std::lock_guard lock(mu);
  int64_t total = 0;
  int64_t largest = 0;
  for (int64_t r : batch_rows) {
    EXPECT_LE(r, 8);
    total += r;
    largest = std::max(largest, r);
  }
  int64_t expected_total = 0;
  for (int c = 0; c < 16; ++c)
    for (int i = 0; i < 25; ++i) expected_total += 1 + (c + i) % 3;
  EXPECT_EQ(total, expected_total);
  // Batching really happened: some batch held more than one 3-row request.
  EXPECT_GT(largest, 3);
  EXPECT_LT(batch_rows.size(), 16u * 25u);
}

TEST(DynamicBatcherTest, FullBatchFlushesWithoutWaitingForTheDelay) {
  Recorder rec;
  BatcherOptions o;
  o.max_batch_size = 4;
  o.greedy = false;
  o.max_queue_delay = 30s;
  auto batcher = MakeBatcher(o, Doubler(&rec));
  const auto start = Steady::now();
  std::vector<std::future<Result<int>>> fs;
  for (int i = 1; i <= 4; ++i) fs.push_back(batcher->SubmitFuture(i, 1));
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(Get(fs[i - 1]).value_or(-1), 2 * i);
  EXPECT_LT(Steady::now() - start, 15s);  // far below the 30 s delay
  std::vector<std::vector<int>> expected = {{1, 2, 3, 4}};
  EXPECT_EQ(rec.batches(), expected);
}

TEST(DynamicBatcherTest, PartialBatchWaitsForTheDelayThenRuns) {
  Recorder rec;
  BatcherOptions o;
  o.max_batch_size = 32;
  o.greedy = false;
  o.max_queue_delay = 50ms;
  auto batcher = MakeBatcher(o, Doubler(&rec));
  const auto start = Steady::now();
  auto a = batcher->SubmitFuture(1, 1);
  auto b = batcher->SubmitFuture(2, 1);
  EXPECT_EQ(Get(a).value_or(-1), 2);
  EXPECT_EQ(Get(b).value_or(-1), 4);
  // Cannot be answered before the oldest request waited the full delay.
  EXPECT_GE(Steady::now() - start, 50ms);
  std::vector<std::vector<int>> expected = {{1, 2}};
  EXPECT_EQ(rec.batches(), expected);
}

TEST(DynamicBatcherTest, PerItemErrorsReachOnlyTheirRequest) {
  Gate gate;
  Recorder rec;
  auto fn = [&](std::span<int> items) -> Result<std::vector<Result<int>>> {
    rec.Add(items);
    std::vector<Result<int>> out;
    for (int item : items) {
      if (item == kGateItem) gate.Wait();
      if (item % 2 == 1) {
        out.push_back(InvalidArgument("row " + std::to_string(item) + " is odd"));
      } else {
        out.push_back(item * 10);
      }
    }
    return out;
  };
  auto batcher = MakeBatcher({}, fn);
  OpenOnExit open_on_exit(gate);
  auto gated = OccupyInstance(*batcher, gate);
  std::vector<std::future<Result<int>>> fs;
  for (int i = 1; i <= 6; ++i) fs.push_back(batcher->SubmitFuture(i, 1));
  gate.Open();
  for (int i = 1; i <= 6; ++i) {
    Result<int> r = Get(fs[i - 1]);
    if (i % 2 == 1) {
      ASSERT_FALSE(r.has_value());
      EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
      EXPECT_EQ(r.error().message(), "row " + std::to_string(i) + " is odd");
    } else {
      EXPECT_EQ(r.value_or(-1), i * 10);
    }
  }
  Get(gated);
  // They really shared one batch.
  std::vector<std::vector<int>> expected = {{kGateItem}, {1, 2, 3, 4, 5, 6}};
  EXPECT_EQ(rec.batches(), expected);
}

// Submits 3 requests that are batched together (behind a gate) and returns their answers.
std::vector<Result<int>> RunThreeInOneBatch(IntBatcher::BatchFunction inner) {
  Gate gate;
  auto fn = [&](std::span<int> items) -> Result<std::vector<Result<int>>> {
    if (items.size() == 1 && items[0] == kGateItem) {
      gate.Wait();
      return std::vector<Result<int>>{0};
    }
    return inner(items);
  };
  auto batcher = MakeBatcher({}, fn);
  OpenOnExit open_on_exit(gate);
  auto gated = OccupyInstance(*batcher, gate);
  std::vector<std::future<Result<int>>> fs;
  for (int i = 1; i <= 3; ++i) fs.push_back(batcher->SubmitFuture(i, 1));
  gate.Open();
  std::vector<Result<int>> out;
  for (auto& f : fs) out.push_back(Get(f));
  Get(gated);
  batcher->Stop();
  EXPECT_EQ(batcher->Stats().failed_batches, 1u);
  return out;
}

TEST(DynamicBatcherTest, WholeBatchErrorFailsEveryRequestInIt) {
  auto results = RunThreeInOneBatch([](std::span<int>) -> Result<std::vector<Result<int>>> {
    return MakeError(ErrorCode::kUnavailable, "worker process died");
  });
  ASSERT_EQ(results.size(), 3u);
  for (auto& r : results) {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(r.error().message(), "worker process died");
  }
}

TEST(DynamicBatcherTest, ThrownExceptionFailsEveryRequestAsInternal) {
  auto results = RunThreeInOneBatch([](std::span<int>) -> Result<std::vector<Result<int>>> {
    throw std::runtime_error("xgboost: bad tensor");
  });
  for (auto& r : results) {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ErrorCode::kInternal);
    EXPECT_NE(r.error().message().find("xgboost: bad tensor"), std::string::npos);
  }
}

TEST(DynamicBatcherTest, WrongNumberOfResultsFailsEveryRequestAsInternal) {
  auto results = RunThreeInOneBatch([](std::span<int>) -> Result<std::vector<Result<int>>> {
    return std::vector<Result<int>>{1};
  });
  for (auto& r : results) {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ErrorCode::kInternal);
    EXPECT_NE(r.error().message().find("1 results for a batch of 3"), std::string::npos);
  }
}

TEST(DynamicBatcherTest, FullQueueRejectsImmediatelyWithResourceExhausted) {
  Gate gate;
  Recorder rec;
  BatcherOptions o;
  o.name = "fraud/3";
  o.max_queue_size = 3;
  auto batcher = MakeBatcher(o, Doubler(&rec, &gate));
  OpenOnExit open_on_exit(gate);
  auto gated = OccupyInstance(*batcher, gate);  // running, so not counted as queued
  std::vector<std::future<Result<int>>> fs;
  for (int i = 1; i <= 3; ++i) fs.push_back(batcher->SubmitFuture(i, 1));

  bool called = false;
  const auto start = Steady::now();
  Status refused = batcher->Submit(4, 1, [&](Result<int>) { called = true; });
  auto refused_future = batcher->SubmitFuture(5, 1);
  ASSERT_EQ(refused_future.wait_for(0s), std::future_status::ready);  // fails fast
  EXPECT_LT(Steady::now() - start, 5s);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(refused.error().message().find("fraud/3"), std::string::npos);
  Result<int> r5 = refused_future.get();
  ASSERT_FALSE(r5.has_value());
  EXPECT_EQ(r5.error().code(), ErrorCode::kResourceExhausted);

  BatcherStats stats = batcher->Stats();
  EXPECT_EQ(stats.queue_depth, 3u);
  EXPECT_EQ(stats.rejected, 2u);
  EXPECT_EQ(stats.busy_instances, 1);

  gate.Open();
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(Get(fs[i - 1]).value_or(-1), 2 * i);
  Get(gated);
  batcher->Stop();
  EXPECT_FALSE(called);
  for (auto& batch : rec.batches()) {
    for (int item : batch) EXPECT_TRUE(item != 4 && item != 5);
  }
  // Room again after the queue drained.
  EXPECT_EQ(batcher->Stats().queue_depth, 0u);
}

TEST(DynamicBatcherTest, PastDeadlineFailsWithoutRunning) {
  Recorder rec;
  auto batcher = MakeBatcher({}, Doubler(&rec));
  auto f = batcher->SubmitFuture(7, 1, Steady::now() - 1ms);
  Result<int> r = Get(f);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kDeadlineExceeded);
  batcher->Stop();
  EXPECT_TRUE(rec.batches().empty());
  EXPECT_EQ(batcher->Stats().expired, 1u);
}

TEST(DynamicBatcherTest, DeadlinePassingWhileQueuedFailsOnlyThatRequest) {
  Gate gate;
  Recorder rec;
  BatcherOptions o;
  o.default_timeout = 30ms;  // applies to requests submitted without a deadline
  auto batcher = MakeBatcher(o, Doubler(&rec, &gate));
  OpenOnExit open_on_exit(gate);
  auto gated = batcher->SubmitFuture(kGateItem, 1, Steady::time_point::max());
  ASSERT_TRUE(gate.WaitEntered());
  auto expires = batcher->SubmitFuture(1, 1);  // default: now + 30 ms
  auto explicit_short = batcher->SubmitFuture(2, 1, Steady::now() + 30ms);
  auto survives = batcher->SubmitFuture(3, 1, Steady::now() + 1h);
  std::this_thread::sleep_for(60ms);  // both short deadlines pass behind the gate
  gate.Open();
  Result<int> r1 = Get(expires);
  Result<int> r2 = Get(explicit_short);
  ASSERT_FALSE(r1.has_value());
  EXPECT_EQ(r1.error().code(), ErrorCode::kDeadlineExceeded);
  ASSERT_FALSE(r2.has_value());
  EXPECT_EQ(r2.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(Get(survives).value_or(-1), 6);
  EXPECT_EQ(Get(gated).value_or(0), -2);
  std::vector<std::vector<int>> expected = {{kGateItem}, {3}};
  EXPECT_EQ(rec.batches(), expected);
  EXPECT_EQ(batcher->Stats().expired, 2u);
}

TEST(DynamicBatcherTest, StopDrainsQueuedWorkAndRefusesNewWork) {
  Gate gate;
  Recorder rec;
  BatcherOptions o;
  o.max_batch_size = 4;
  o.max_queue_delay = 30s;  // Stop must not wait for it
  o.greedy = false;

  auto batcher = MakeBatcher(o, Doubler(&rec, &gate));
  OpenOnExit open_on_exit(gate);
  auto gated = batcher->SubmitFuture(kGateItem, 4);  // full batch: runs at once
  ASSERT_TRUE(gate.WaitEntered());
  std::vector<std::future<Result<int>>> fs;
  for (int i = 1; i <= 10; ++i) fs.push_back(batcher->SubmitFuture(i, 1));

  std::thread stopper([&] { batcher->Stop(); });
  // Wait (bounded) until Stop has begun: new work is refused with kUnavailable.
  Status refused;
  const auto give_up = Steady::now() + kPrompt;
  do {
    refused = batcher->Submit(99, 1, [](Result<int>) {});
    if (refused) std::this_thread::sleep_for(1ms);  // accepted before Stop began; drained too
  } while (refused.has_value() && Steady::now() < give_up);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnavailable);

  const auto start = Steady::now();
  gate.Open();
  stopper.join();
  EXPECT_LT(Steady::now() - start, 15s);  // did not wait out the 30 s delay
  for (int i = 1; i <= 10; ++i) {
    ASSERT_EQ(fs[i - 1].wait_for(0s), std::future_status::ready);
    EXPECT_EQ(fs[i - 1].get().value_or(-1), 2 * i);
  }
  EXPECT_EQ(Get(gated).value_or(0), -2);
  EXPECT_EQ(batcher->Stats().queue_depth, 0u);
}

TEST(DynamicBatcherTest, TwoInstancesRunTwoBatchesAtOnce) {
  auto max_concurrent = [](int instances) {
    std::mutex mu;
    std::condition_variable cv;
    int active = 0;
    int peak = 0;
    auto fn = [&](std::span<int> items) -> Result<std::vector<Result<int>>> {
      std::unique_lock lock(mu);
      ++active;
      peak = std::max(peak, active);
      cv.notify_all();
      // Wait until a second batch is running too (bounded: 1 instance never gets one).
      cv.wait_for(lock, instances > 1 ? kPrompt : 200ms, [&] { return peak >= 2; });
      --active;
      return std::vector<Result<int>>(items.size(), 1);
    };
    BatcherOptions o;
    o.max_batch_size = 1;
    o.instance_count = instances;
    auto batcher = MakeBatcher(o, fn);
    auto a = batcher->SubmitFuture(1, 1);
    auto b = batcher->SubmitFuture(2, 1);
    EXPECT_EQ(Get(a).value_or(0), 1);
    EXPECT_EQ(Get(b).value_or(0), 1);
    std::lock_guard lock(mu);
    return peak;
  };
  EXPECT_EQ(max_concurrent(2), 2);
  EXPECT_EQ(max_concurrent(1), 1);
}

TEST(DynamicBatcherTest, ObserverAndStatsSeeEveryBatch) {
  Gate gate;
  std::mutex mu;
  std::vector<BatchEvent> events;
  BatcherOptions o;
  o.max_batch_size = 8;
  auto batcher = MakeBatcher(o, Doubler(nullptr, &gate), [&](const BatchEvent& e) {
    std::lock_guard lock(mu);
    events.push_back(e);
  });
  OpenOnExit open_on_exit(gate);
  auto gated = OccupyInstance(*batcher, gate);
  std::vector<std::future<Result<int>>> fs;
  for (int i = 1; i <= 3; ++i) fs.push_back(batcher->SubmitFuture(i, 2));
  BatcherStats queued = batcher->Stats();
  EXPECT_EQ(queued.queue_depth, 3u);
  EXPECT_EQ(queued.queued_rows, 6);
  gate.Open();
  for (auto& f : fs) Get(f);
  Get(gated);
  batcher->Stop();

  BatcherStats stats = batcher->Stats();
  EXPECT_EQ(stats.submitted, 4u);
  EXPECT_EQ(stats.batches_run, 2u);
  EXPECT_EQ(stats.requests_run, 4u);
  EXPECT_EQ(stats.rows_run, 7u);
  EXPECT_EQ(stats.busy_instances, 0);
  std::lock_guard lock(mu);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].requests, 1u);
  EXPECT_EQ(events[0].rows, 1);
  EXPECT_EQ(events[1].requests, 3u);
  EXPECT_EQ(events[1].rows, 6);
  EXPECT_FALSE(events[1].failed);
}

// The goal: batching on vs off under 32 concurrent clients, a model
// that costs 2 ms per call whatever the batch size. Loose bound here (> 2x);
// the real figure belongs in bench/.
TEST(DynamicBatcherTest, BatchingIsMuchFasterThanNoBatchingUnder32Clients) {
  constexpr int kClients = 32;
  constexpr int kPerClient = 8;
  auto run = [](int64_t max_batch_size) {
    BatcherOptions o;
    o.max_batch_size = max_batch_size;
    o.max_queue_delay = 500us;
    o.max_queue_size = 4096;
    auto fn = [](std::span<int> items) -> Result<std::vector<Result<int>>> {
      std::this_thread::sleep_for(2ms);
      std::vector<Result<int>> out;
      for (int item : items) out.push_back(item + 1);
      return out;
    };
    auto batcher = MakeBatcher(o, fn);
    std::atomic<int> wrong{0};
    const auto start = Steady::now();
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        for (int i = 0; i < kPerClient; ++i) {
          auto f = batcher->SubmitFuture(c * 1000 + i, 1);
          if (Get(f).value_or(-1) != c * 1000 + i + 1) ++wrong;
        }
      });
    }
    for (auto& t : clients) t.join();
    const auto elapsed = Steady::now() - start;
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(batcher->Stats().requests_run, static_cast<uint64_t>(kClients * kPerClient));
    return std::chrono::duration<double>(elapsed).count();
  };
  const double off = run(1);
  const double on = run(32);
  const double ratio = off / on;
  std::printf("batching on: %.1f ms, off: %.1f ms, ratio %.1fx for %d requests\n", on * 1e3,
              off * 1e3, ratio, kClients * kPerClient);
  EXPECT_GT(ratio, 2.0);
}

// ---- greedy dispatch (the default) ----------------------------------------------

TEST(DynamicBatcherGreedyTest, ARequestReachingAnIdleInstanceIsNeverDelayed) {
  Recorder rec;
  BatcherOptions o;
  o.max_batch_size = 32;
  o.max_queue_delay = 30s;  // would hold the request for 30 s without greedy dispatch
  ASSERT_TRUE(o.greedy);    // the default
  auto batcher = MakeBatcher(o, Doubler(&rec));
  for (int i = 1; i <= 3; ++i) {
    const auto start = Steady::now();
    auto f = batcher->SubmitFuture(i, 1);
    EXPECT_EQ(Get(f).value_or(-1), 2 * i);
    EXPECT_LT(Steady::now() - start, 5s);  // far below the 30 s delay
  }
  // One request at a time, no concurrency: every batch holds one request.
  std::vector<std::vector<int>> expected = {{1}, {2}, {3}};
  EXPECT_EQ(rec.batches(), expected);
  EXPECT_EQ(batcher->Stats().batches_run, 3u);
}

TEST(DynamicBatcherGreedyTest, AFreeInstanceRunsAtOnceWhileAnotherIsBusy) {
  Gate gate;
  Recorder rec;
  BatcherOptions o;
  o.max_batch_size = 32;
  o.max_queue_delay = 30s;
  o.instance_count = 2;
  auto batcher = MakeBatcher(o, Doubler(&rec, &gate));
  OpenOnExit open_on_exit(gate);
  // One instance busy, one free: the free one answers each request at once,
  // alone, although a 30 s delay is configured.
  auto gated = OccupyInstance(*batcher, gate);
  const auto start = Steady::now();
  auto a = batcher->SubmitFuture(7, 1);
  EXPECT_EQ(Get(a).value_or(-1), 14);
  auto b = batcher->SubmitFuture(8, 1);
  EXPECT_EQ(Get(b).value_or(-1), 16);
  EXPECT_LT(Steady::now() - start, 5s);
  gate.Open();
  EXPECT_EQ(Get(gated).value_or(0), -2);
  std::vector<std::vector<int>> expected = {{kGateItem}, {7}, {8}};
  EXPECT_EQ(rec.batches(), expected);
}

TEST(DynamicBatcherGreedyTest, QueuedWhileBusyRunsAsOneBatchWithoutWaitingForTheDelay) {
  Gate gate;
  Recorder rec;
  BatcherOptions o;
  o.max_batch_size = 32;
  o.max_queue_delay = 30s;
  o.instance_count = 1;
  std::vector<BatchEvent> events;
  std::mutex events_mu;
  auto batcher = MakeBatcher(o, Doubler(&rec, &gate), [&](const BatchEvent& e) {
    std::lock_guard lock(events_mu);
    events.push_back(e);
  });
  OpenOnExit open_on_exit(gate);
  auto gated = OccupyInstance(*batcher, gate);
  std::vector<std::future<Result<int>>> fs;
  for (int i = 1; i <= 5; ++i) fs.push_back(batcher->SubmitFuture(i, 1));
  const auto start = Steady::now();
  gate.Open();
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(Get(fs[i - 1]).value_or(-1), 2 * i);
  EXPECT_LT(Steady::now() - start, 5s);  // not 30 s: the queue ran when the instance freed
  EXPECT_EQ(Get(gated).value_or(0), -2);
  std::vector<std::vector<int>> expected = {{kGateItem}, {1, 2, 3, 4, 5}};
  EXPECT_EQ(rec.batches(), expected);
  // The observer runs just after a batch's answers go out: wait for it.
  const auto give_up = Steady::now() + kPrompt;
  while (Steady::now() < give_up) {
    {
      std::lock_guard lock(events_mu);
      if (events.size() >= 2) break;
    }
    std::this_thread::sleep_for(1ms);
  }
  std::lock_guard lock(events_mu);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].rows, 1);
  EXPECT_EQ(events[1].rows, 5);  // the batch-size metric sees the batch of five
}

// ---- run_on_caller -------------------------------------------------------------

TEST(DynamicBatcherOnCallerTest, ALoneRequestRunsOnTheCallingThreadBeforeSubmitReturns) {
  BatcherOptions opt;
  opt.run_on_caller = true;
  opt.instance_count = 1;
  std::thread::id ran_on;
  auto b = IntBatcher::Create(opt, [&](std::span<int> items) {
    ran_on = std::this_thread::get_id();
    std::vector<Result<int>> out;
    for (int v : items) out.push_back(v * 10);
    return Result<std::vector<Result<int>>>(std::move(out));
  });
  ASSERT_TRUE(b.has_value());
  std::optional<int> got;
  std::thread::id answered_on;
  ASSERT_TRUE((*b)->Submit(4, 1, [&](Result<int> r) {
    got = r.value_or(-1);
    answered_on = std::this_thread::get_id();
  }));
  // Answered before Submit returned, on this thread: no hop.
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, 40);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_EQ(answered_on, std::this_thread::get_id());
  EXPECT_EQ((*b)->Stats().batches_run, 1u);
}

TEST(DynamicBatcherOnCallerTest, RequestsArrivingWhileBusyAreBatchedByTheRunningCaller) {
  BatcherOptions opt;
  opt.run_on_caller = true;
  opt.instance_count = 1;
  opt.max_batch_size = 8;
  Gate gate;
  std::mutex mu;
  std::vector<std::vector<int>> batches;
  auto b = IntBatcher::Create(opt, [&](std::span<int> items) {
    {
      std::lock_guard lock(mu);
      batches.emplace_back(items.begin(), items.end());
    }
    if (items.front() == kGateItem) gate.Wait();
    std::vector<Result<int>> out;
    for (int v : items) out.push_back(v);
    return Result<std::vector<Result<int>>>(std::move(out));
  });
  ASSERT_TRUE(b.has_value());
  OpenOnExit open(gate);
  std::thread::id runner_id;
  std::promise<void> runner_done;
  std::thread runner([&] {
    runner_id = std::this_thread::get_id();
    ASSERT_TRUE((*b)->Submit(kGateItem, 1, [](Result<int>) {}));
    runner_done.set_value();
  });
  ASSERT_TRUE(gate.WaitEntered());
  // The only instance is busy: these Submits queue and return at once.
  std::vector<std::thread::id> answered_on(3);
  std::atomic<int> answered{0};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*b)->Submit(i + 1, 1, [&, i](Result<int> r) {
      EXPECT_EQ(r.value_or(-1), i + 1);
      answered_on[i] = std::this_thread::get_id();
      answered.fetch_add(1);
    }));
  }
  EXPECT_EQ(answered.load(), 0);
  EXPECT_EQ((*b)->Stats().queue_depth, 3u);
  gate.Open();
  runner_done.get_future().wait();
  runner.join();
  // The running caller took all three in one batch before it returned.
  EXPECT_EQ(answered.load(), 3);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[1], (std::vector<int>{1, 2, 3}));
  for (const auto& id : answered_on) EXPECT_EQ(id, runner_id);
}

TEST(DynamicBatcherOnCallerTest, StopWaitsForRunningCallersAndRefusesNewWork) {
  BatcherOptions opt;
  opt.run_on_caller = true;
  opt.instance_count = 2;
  Gate gate;
  auto b = IntBatcher::Create(opt, [&](std::span<int> items) {
    if (items.front() == kGateItem) gate.Wait();
    return Result<std::vector<Result<int>>>(std::vector<Result<int>>(items.size(), 1));
  });
  ASSERT_TRUE(b.has_value());
  OpenOnExit open(gate);
  std::atomic<bool> gated_answered{false};
  std::thread runner([&] {
    (void)(*b)->Submit(kGateItem, 1, [&](Result<int>) { gated_answered = true; });
  });
  ASSERT_TRUE(gate.WaitEntered());
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    (*b)->Stop();
    stopped = true;
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(stopped.load());  // the gated batch is still running
  Status refused = (*b)->Submit(5, 1, [](Result<int>) {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnavailable);
  gate.Open();
  stopper.join();
  runner.join();
  EXPECT_TRUE(stopped.load());
  EXPECT_TRUE(gated_answered.load());
}

}  // namespace
}  // namespace cairn::serving
