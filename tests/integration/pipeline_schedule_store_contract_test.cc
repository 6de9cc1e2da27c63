// The PipelineScheduleStore contract (store/pipeline_schedule_store.h,
// migration 5) on every backend, a fresh database per test
// (store_fixture.h): schedules, ticks claimed once under concurrency (two
// store instances: two processes' worth of connections), queued manual
// runs, leases and lost runs, completion, listing order, cascade delete, and
// the upgrade of a schema-4 database.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/metadata_store.h"
#include "store/pipeline_schedule_store.h"
#include "store/sql/dialect.h"
#include "store/sql/driver.h"
#include "store/sql/migrations.h"
#include "store/sql/sql_metadata_store.h"
#include "store_fixture.h"

namespace cairn::store {
namespace {

constexpr int64_t kT = 1'795'694'400'000;
constexpr int64_t kLease = 60'000;

class PipelineScheduleStoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_.Create(GetParam());
    if (HasFatalFailure() || IsSkipped()) return;
    store_ = Open();
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    other_.reset();
    store_.reset();
    db_.Drop();
  }
  std::unique_ptr<MetadataStore> Open() {
    auto s = OpenMetadataStore(db_.uri);
    EXPECT_TRUE(s) << s.error().ToString();
    if (!s) return nullptr;
    auto v = (*s)->Migrate();
    EXPECT_TRUE(v) << v.error().ToString();
    EXPECT_GE(v.value_or(0), 5);
    return std::move(*s);
  }
  PipelineScheduleStore& st() { return store_->pipeline_schedules(); }

  PipelineSchedule Create(const std::string& name, std::vector<std::string> targets = {}) {
    PipelineSchedule p;
    p.name = name;
    p.cron = "@every 10s";
    p.repo = "/srv/pipelines/" + name;
    p.targets = std::move(targets);
    p.jobs = 2;
    p.created_at = kT;
    p.next_tick_ms = kT + 10'000;
    auto r = st().CreateSchedule(p);
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? *r : PipelineSchedule{};
  }

  PipelineScheduleRun Claim(int64_t schedule_id, int64_t tick, const std::string& owner = "a:1:x",
                            int64_t now = kT, int64_t lease = kLease,
                            const std::string& message = "") {
    auto r = st().ClaimTick(schedule_id, tick, "cron", owner, now, lease, message);
    EXPECT_TRUE(r) << r.error().ToString();
    EXPECT_TRUE(r && r->has_value()) << "tick " << tick << " was refused";
    return r && r->has_value() ? **r : PipelineScheduleRun{};
  }

  test_db::FreshDatabase db_;
  std::unique_ptr<MetadataStore> store_;
  std::unique_ptr<MetadataStore> other_;
};

TEST_P(PipelineScheduleStoreContractTest, CreateGetListDelete) {
  PipelineSchedule b = Create("b-nightly", {"train", "evaluate@small", "naïve"});
  PipelineSchedule a = Create("a-hourly");
  EXPECT_GT(b.id, 0);
  EXPECT_NE(a.id, b.id);
  auto got = st().GetSchedule("b-nightly");
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(got->id, b.id);
  EXPECT_EQ(got->cron, "@every 10s");
  EXPECT_EQ(got->repo, "/srv/pipelines/b-nightly");
  EXPECT_EQ(got->targets, (std::vector<std::string>{"train", "evaluate@small", "naïve"}));
  EXPECT_EQ(got->jobs, 2);
  EXPECT_TRUE(got->enabled);
  EXPECT_EQ(got->created_at, kT);
  EXPECT_EQ(got->updated_at, kT);
  EXPECT_EQ(got->next_tick_ms, kT + 10'000);
  auto list = st().ListSchedules();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "a-hourly");
  EXPECT_EQ((*list)[1].name, "b-nightly");

  PipelineSchedule dup;
  dup.name = "a-hourly";
  dup.cron = "@daily";
  dup.repo = "/x";
  auto again = st().CreateSchedule(dup);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(again.error().message(), "Pipeline schedule 'a-hourly' already exists");

  auto missing = st().GetSchedule("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(), "Pipeline schedule 'nope' not found");

  ASSERT_TRUE(st().DeleteSchedule("a-hourly"));
  EXPECT_FALSE(st().GetSchedule("a-hourly"));
  auto del = st().DeleteSchedule("a-hourly");
  ASSERT_FALSE(del);
  EXPECT_EQ(del.error().code(), ErrorCode::kNotFound);
  // A new schedule never gets a deleted one's id.
  PipelineSchedule c = Create("a-hourly");
  EXPECT_GT(c.id, b.id);
}

TEST_P(PipelineScheduleStoreContractTest, SetEnabledAndAdvanceNextTick) {
  PipelineSchedule p = Create("s");
  auto off = st().SetEnabled("s", false, p.next_tick_ms, kT + 5);
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->enabled);
  EXPECT_EQ(off->updated_at, kT + 5);
  auto on = st().SetEnabled("s", true, kT + 70'000, kT + 60'001);
  ASSERT_TRUE(on);
  EXPECT_TRUE(on->enabled);
  EXPECT_EQ(on->next_tick_ms, kT + 70'000);
  EXPECT_FALSE(st().SetEnabled("nope", true, 0, 0));
  // Compare-and-set: only the holder of the expected value advances.
  EXPECT_TRUE(st().AdvanceNextTick(p.id, kT + 70'000, kT + 80'000).value_or(false));
  EXPECT_FALSE(st().AdvanceNextTick(p.id, kT + 70'000, kT + 90'000).value_or(true));
  EXPECT_EQ(st().GetSchedule("s")->next_tick_ms, kT + 80'000);
  auto unknown = st().AdvanceNextTick(p.id + 100, 0, 1);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

TEST_P(PipelineScheduleStoreContractTest, UpdateCronKeepsTheRest) {
  PipelineSchedule p = Create("s");
  auto updated = st().UpdateCron("s", "*/5 * * * *", kT + 300'000, kT + 7);
  ASSERT_TRUE(updated) << updated.error().ToString();
  EXPECT_EQ(updated->id, p.id);
  EXPECT_EQ(updated->cron, "*/5 * * * *");
  EXPECT_EQ(updated->next_tick_ms, kT + 300'000);
  EXPECT_EQ(updated->updated_at, kT + 7);
  EXPECT_EQ(updated->created_at, p.created_at);
  EXPECT_EQ(updated->repo, p.repo);
  EXPECT_EQ(updated->targets, p.targets);
  EXPECT_EQ(updated->jobs, p.jobs);
  EXPECT_EQ(updated->enabled, p.enabled);
  EXPECT_EQ(st().GetSchedule("s")->cron, "*/5 * * * *");
  auto unknown = st().UpdateCron("nope", "@daily", 0, 0);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

TEST_P(PipelineScheduleStoreContractTest, ATickIsClaimedOnce) {
  PipelineSchedule p = Create("s");
  PipelineScheduleRun r = Claim(p.id, kT + 10'000, "a:1:x", kT + 10'050, kLease, "catch-up: x");
  EXPECT_GT(r.id, 0);
  EXPECT_EQ(r.schedule_id, p.id);
  EXPECT_EQ(r.schedule_name, "s");
  EXPECT_EQ(r.tick_ms, kT + 10'000);
  EXPECT_EQ(r.status, "running");
  EXPECT_EQ(r.triggered_by, "cron");
  EXPECT_EQ(r.owner, "a:1:x");
  EXPECT_EQ(r.started_at, kT + 10'050);
  EXPECT_EQ(r.lease_until_ms, kT + 10'050 + kLease);
  EXPECT_EQ(r.message, "catch-up: x");
  EXPECT_FALSE(r.exit_code.has_value());
  auto again = st().ClaimTick(p.id, kT + 10'000, "cron", "b:2:y", kT + 20'000, kLease, "");
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->has_value());
  EXPECT_EQ(st().GetRun(r.id)->owner, "a:1:x");
  auto unknown = st().ClaimTick(p.id + 100, kT, "cron", "a", kT, kLease, "");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

TEST_P(PipelineScheduleStoreContractTest, ConcurrentClaimsOfATickHaveExactlyOneWinner) {
  PipelineSchedule p = Create("s");
  other_ = Open();
  ASSERT_NE(other_, nullptr);
  for (int round = 0; round < 5; ++round) {
    const int64_t tick = kT + 10'000 * (round + 1);
    std::atomic<int> winners{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      PipelineScheduleStore& s = (i % 2 == 0 ? store_ : other_)->pipeline_schedules();
      threads.emplace_back([&, i, tick] {
        auto r = s.ClaimTick(p.id, tick, "cron", "owner-" + std::to_string(i), tick, kLease, "");
        if (!r) {
          ++errors;
        } else if (r->has_value()) {
          ++winners;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0) << "round " << round;
    EXPECT_EQ(winners.load(), 1) << "round " << round;
  }
  auto runs = st().ListRuns(p.id, 0);
  ASSERT_TRUE(runs);
  EXPECT_EQ(runs->size(), 5u);
}

TEST_P(PipelineScheduleStoreContractTest, QueuedRunsAreClaimedOnceAndWaitForARunningOne) {
  PipelineSchedule p = Create("s");
  PipelineSchedule q = Create("t");
  auto queued = st().EnqueueRun(p.id, kT + 1, kT + 1);
  ASSERT_TRUE(queued) << queued.error().ToString();
  EXPECT_EQ(queued->status, "queued");
  EXPECT_EQ(queued->triggered_by, "manual");
  EXPECT_EQ(queued->created_at, kT + 1);
  EXPECT_EQ(queued->owner, "");
  auto dup = st().EnqueueRun(p.id, kT + 1, kT + 1);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_TRUE(st().HasActiveRun(p.id).value_or(false));
  EXPECT_FALSE(st().HasActiveRun(q.id).value_or(true));

  other_ = Open();
  ASSERT_NE(other_, nullptr);
  std::atomic<int> winners{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    PipelineScheduleStore& s = (i % 2 == 0 ? store_ : other_)->pipeline_schedules();
    threads.emplace_back([&, i] {
      auto r = s.ClaimQueuedRun("owner-" + std::to_string(i), kT + 100, kLease);
      if (!r) {
        ++errors;
      } else if (r->has_value()) {
        ++winners;
        EXPECT_EQ((*r)->id, queued->id);
        EXPECT_EQ((*r)->status, "running");
        EXPECT_EQ((*r)->started_at, kT + 100);
        EXPECT_EQ((*r)->lease_until_ms, kT + 100 + kLease);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(winners.load(), 1);

  // A queued run of a schedule that has a running run waits for it.
  ASSERT_TRUE(st().EnqueueRun(p.id, kT + 2, kT + 2));
  auto none = st().ClaimQueuedRun("x", kT + 200, kLease);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  auto running = st().GetRun(queued->id);
  ASSERT_TRUE(running);
  RunCompletion c;
  c.run_id = running->id;
  c.owner = running->owner;
  c.status = "succeeded";
  c.exit_code = 0;
  ASSERT_TRUE(st().FinishRun(c));
  auto next = st().ClaimQueuedRun("x", kT + 300, kLease);
  ASSERT_TRUE(next);
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ((*next)->tick_ms, kT + 2);
}

TEST_P(PipelineScheduleStoreContractTest, AnExpiredLeaseMarksTheRunLostForGood) {
  PipelineSchedule p = Create("s");
  PipelineScheduleRun r = Claim(p.id, kT + 10'000, "a:1:x", kT, 1'000);
  EXPECT_EQ(st().MarkLostRuns(kT + 500).value_or(-1), 0);
  ASSERT_TRUE(st().RenewLease(r.id, "a:1:x", kT + 2'000));
  EXPECT_EQ(st().GetRun(r.id)->lease_until_ms, kT + 2'000);
  auto wrong = st().RenewLease(r.id, "b:2:y", kT + 9'000);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(st().MarkLostRuns(kT + 1'500).value_or(-1), 0);
  EXPECT_EQ(st().MarkLostRuns(kT + 2'500).value_or(-1), 1);
  auto lost = st().GetRun(r.id);
  ASSERT_TRUE(lost);
  EXPECT_EQ(lost->status, "lost");
  EXPECT_EQ(lost->finished_at, kT + 2'500);
  EXPECT_NE(lost->message.find("not rerun"), std::string::npos);
  EXPECT_FALSE(st().HasActiveRun(p.id).value_or(true));
  // Its late owner can neither renew nor finish it.
  auto renew = st().RenewLease(r.id, "a:1:x", kT + 9'000);
  ASSERT_FALSE(renew);
  EXPECT_EQ(renew.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(renew.error().message().find("is lost"), std::string::npos);
  RunCompletion c;
  c.run_id = r.id;
  c.owner = "a:1:x";
  c.status = "succeeded";
  c.exit_code = 0;
  auto fin = st().FinishRun(c);
  ASSERT_FALSE(fin);
  EXPECT_EQ(fin.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(st().GetRun(r.id)->status, "lost");
  // Nor is the tick ever claimed again.
  auto again = st().ClaimTick(p.id, kT + 10'000, "cron", "b", kT + 3'000, kLease, "");
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->has_value());
  EXPECT_EQ(st().MarkLostRuns(kT + 99'000).value_or(-1), 0);
}

TEST_P(PipelineScheduleStoreContractTest, FinishRunRecordsTheOutcomeForItsOwnerOnly) {
  PipelineSchedule p = Create("s");
  PipelineScheduleRun r = Claim(p.id, kT + 10'000, "a:1:x", kT, kLease, "catch-up: y");
  ASSERT_TRUE(st().SetLogPath(r.id, "/srv/pipelines/s/.cairn/logs/schedule-s-1.log"));
  RunCompletion c;
  c.run_id = r.id;
  c.owner = "b:2:y";
  c.status = "failed";
  c.exit_code = 3;
  c.log_tail = "step train failed ✗\n";
  c.message = "exit code 3";
  c.finished_at = kT + 5'000;
  auto wrong = st().FinishRun(c);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(wrong.error().message().find("held by a:1:x"), std::string::npos);
  EXPECT_EQ(st().GetRun(r.id)->status, "running");
  c.owner = "a:1:x";
  ASSERT_TRUE(st().FinishRun(c));
  auto done = st().GetRun(r.id);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, "failed");
  ASSERT_TRUE(done->exit_code.has_value());
  EXPECT_EQ(*done->exit_code, 3);
  EXPECT_EQ(done->log_tail, "step train failed ✗\n");
  EXPECT_EQ(done->message, "catch-up: y; exit code 3");
  EXPECT_EQ(done->finished_at, kT + 5'000);
  EXPECT_EQ(done->log_path, "/srv/pipelines/s/.cairn/logs/schedule-s-1.log");
  // Once finished, it cannot be finished again.
  auto twice = st().FinishRun(c);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code(), ErrorCode::kFailedPrecondition);
  // A run killed by a signal has no exit code.
  PipelineScheduleRun k = Claim(p.id, kT + 20'000);
  RunCompletion kc;
  kc.run_id = k.id;
  kc.owner = "a:1:x";
  kc.status = "failed";
  kc.message = "killed by signal 9";
  ASSERT_TRUE(st().FinishRun(kc));
  auto killed = st().GetRun(k.id);
  ASSERT_TRUE(killed);
  EXPECT_FALSE(killed->exit_code.has_value());
  EXPECT_EQ(killed->message, "killed by signal 9");
  kc.status = "lost";
  auto bad = st().FinishRun(kc);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST_P(PipelineScheduleStoreContractTest, RunsAreListedNewestTickFirst) {
  PipelineSchedule p = Create("s");
  PipelineSchedule other = Create("t");
  for (int64_t tick : {kT + 30'000, kT + 10'000, kT + 50'000, kT + 20'000}) Claim(p.id, tick);
  Claim(other.id, kT + 40'000);
  auto runs = st().ListRuns(p.id, 0);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 4u);
  EXPECT_EQ((*runs)[0].tick_ms, kT + 50'000);
  EXPECT_EQ((*runs)[1].tick_ms, kT + 30'000);
  EXPECT_EQ((*runs)[2].tick_ms, kT + 20'000);
  EXPECT_EQ((*runs)[3].tick_ms, kT + 10'000);
  auto two = st().ListRuns(p.id, 2);
  ASSERT_TRUE(two);
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1].tick_ms, kT + 30'000);
  auto unknown = st().ListRuns(other.id + 100, 0);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

TEST_P(PipelineScheduleStoreContractTest, DeletingAScheduleDeletesItsRuns) {
  PipelineSchedule p = Create("s");
  PipelineSchedule keep = Create("keep");
  PipelineScheduleRun r = Claim(p.id, kT + 10'000);
  PipelineScheduleRun k = Claim(keep.id, kT + 10'000);
  ASSERT_TRUE(st().DeleteSchedule("s"));
  auto gone = st().GetRun(r.id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(st().GetRun(k.id));
  // The same name again starts with no history.
  PipelineSchedule again = Create("s");
  auto runs = st().ListRuns(again.id, 0);
  ASSERT_TRUE(runs);
  EXPECT_TRUE(runs->empty());
}

// A database at schema 4 gets migration 5 from Migrate(), keeping its data.
class PipelineScheduleStoreUpgradeTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { db_.Create(GetParam()); }
  void TearDown() override { db_.Drop(); }
  test_db::FreshDatabase db_;
};

TEST_P(PipelineScheduleStoreUpgradeTest, SchemaFourGetsMigrationFive) {
  if (IsSkipped()) return;
  {
    auto opened = OpenMetadataStore(db_.uri);
    ASSERT_TRUE(opened) << opened.error().ToString();
    auto* sql_store = dynamic_cast<sql::SqlMetadataStore*>(opened->get());
    ASSERT_NE(sql_store, nullptr);
    auto conn = sql_store->database().Writer();
    ASSERT_TRUE(conn) << conn.error().ToString();
    ASSERT_EQ(test_db::MigrateUpTo(**conn, 4), "");
  }
  auto opened = OpenMetadataStore(db_.uri);
  ASSERT_TRUE(opened) << opened.error().ToString();
  ASSERT_EQ((*opened)->SchemaVersion().value_or(0), 4);
  ASSERT_TRUE((*opened)->CreateExperiment({"old", "", {}, 1000}));
  auto v = (*opened)->Migrate();
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_GE(*v, 5);
  EXPECT_TRUE((*opened)->GetExperimentByName("old"));
  PipelineSchedule p;
  p.name = "after-upgrade";
  p.cron = "@hourly";
  p.repo = "/srv/x";
  auto created = (*opened)->pipeline_schedules().CreateSchedule(p);
  ASSERT_TRUE(created) << created.error().ToString();
  auto claim =
      (*opened)->pipeline_schedules().ClaimTick(created->id, kT, "cron", "a", kT, kLease, "");
  ASSERT_TRUE(claim) << claim.error().ToString();
  EXPECT_TRUE(claim->has_value());
  auto again = (*opened)->Migrate();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *v);
}

std::string BackendName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

INSTANTIATE_TEST_SUITE_P(Backends, PipelineScheduleStoreContractTest,
                         ::testing::Values("sqlite", "postgres"), BackendName);
INSTANTIATE_TEST_SUITE_P(Backends, PipelineScheduleStoreUpgradeTest,
                         ::testing::Values("sqlite", "postgres"), BackendName);

}  // namespace
}  // namespace cairn::store
