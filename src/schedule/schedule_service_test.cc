// PipelineScheduleService: due ticks, validation, the pipeline root, enable
// and trigger; over a real SQLite store.

#include "schedule/schedule_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "schedule/pipeline_scheduler.h"
#include "schedule/schedule_test_util.h"

namespace cairn::schedule {
namespace {

using testing::ScheduleFixture;
using testing::WriteFile;

constexpr int64_t kT = 1'795'694'400'000;  // 2026-11-26 12:00:00 UTC

CronSchedule Cron(const std::string& text) {
  auto c = CronSchedule::Parse(text);
  EXPECT_TRUE(c) << c.error().ToString();
  return *c;
}

TEST(LatestDueTickTest, NotDueBeforeItsTime) {
  EXPECT_FALSE(LatestDueTick(Cron("@every 10s"), kT + 10'000, kT + 9'999));
}

TEST(LatestDueTickTest, OnTimeTickIsNotACatchUp) {
  auto d = LatestDueTick(Cron("@every 10s"), kT + 10'000, kT + 10'500);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->tick_ms, kT + 10'000);
  EXPECT_FALSE(d->skipped_earlier);
}

TEST(LatestDueTickTest, MissedTicksRunOnlyTheLatest) {
  auto d = LatestDueTick(Cron("@every 10s"), kT + 10'000, kT + 95'000);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->tick_ms, kT + 90'000);
  EXPECT_TRUE(d->skipped_earlier);
}

TEST(LatestDueTickTest, LongDowntimeOfAFastScheduleIsCheap) {
  // 30 days of "@every 1s": the latest second, found without 2.6M steps.
  const int64_t now = kT + 30LL * 86'400'000 + 1'234;
  auto d = LatestDueTick(Cron("@every 1s"), kT + 1'000, now);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->tick_ms, kT + 30LL * 86'400'000 + 1'000);
  EXPECT_TRUE(d->skipped_earlier);
}

TEST(LatestDueTickTest, HourlyCronAfterThreeDaysDown) {
  auto d = LatestDueTick(Cron("0 * * * *"), kT + 3'600'000, kT + 3 * 86'400'000LL + 1'800'000);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->tick_ms, kT + 3 * 86'400'000LL);
  EXPECT_TRUE(d->skipped_earlier);
}

TEST(FormatUtcTest, Formats) { EXPECT_EQ(FormatUtc(kT + 61'000), "2026-11-26T12:01:01Z"); }

TEST(Utf8TailTest, CutsAtACharacterBoundaryAndReplacesInvalidBytes) {
  // "é" is C3 A9; a window starting at A9 moves past it.
  EXPECT_EQ(Utf8Tail("ab\xC3\xA9xyz", 4), "xyz");
  EXPECT_EQ(Utf8Tail("ab\xC3\xA9xyz", 5), "\xC3\xA9xyz");
  EXPECT_EQ(Utf8Tail(std::string("a\xFF"
                                 "b\0c",
                                 5),
                     100),
            "a?b?c");
  EXPECT_EQ(Utf8Tail("hello", 100), "hello");
  EXPECT_EQ(Utf8Tail(std::string(10'000, 'x'), 4096).size(), 4096u);
}

TEST(ValidationTest, Names) {
  EXPECT_TRUE(ValidateScheduleName("nightly-train.v2_a"));
  for (const char* bad : {"", "-x", ".x", "a/b", "a b", "x$"}) {
    auto s = ValidateScheduleName(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message().find("'name'"), std::string::npos);
  }
  EXPECT_FALSE(ValidateScheduleName(std::string(65, 'a')));
}

TEST(ValidationTest, TargetsCannotBeOptions) {
  EXPECT_TRUE(ValidateTargets({"train", "evaluate@small"}));
  auto s = ValidateTargets({"train", "--force"});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("'--force'"), std::string::npos);
  EXPECT_FALSE(ValidateTargets({""}));
  EXPECT_FALSE(ValidateTargets({"a\nb"}));
}

class ScheduleServiceTest : public ScheduleFixture {};

TEST_F(ScheduleServiceTest, CreateStoresTheScheduleWithItsFirstTick) {
  store::PipelineSchedule s = Add("nightly", "0 3 * * *", {"train", "evaluate"}, 4);
  EXPECT_GT(s.id, 0);
  EXPECT_EQ(s.repo, std::filesystem::canonical(repo_).string());
  EXPECT_EQ(s.targets, (std::vector<std::string>{"train", "evaluate"}));
  EXPECT_EQ(s.jobs, 4);
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.created_at, kT);
  EXPECT_EQ(s.next_tick_ms, kT + 15 * 3'600'000LL);  // 03:00 the next day
  auto got = service_->Get("nightly");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->targets, s.targets);
  EXPECT_EQ(got->next_tick_ms, s.next_tick_ms);
  auto again = service_->Create({"nightly", "@hourly", repo_.string(), {}, 0, true});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(again.error().message(), "Pipeline schedule 'nightly' already exists");
}

TEST_F(ScheduleServiceTest, BadCronIsRefusedWithTheParsersMessage) {
  auto s = service_->Create({"bad", "0 25 * * *", repo_.string(), {}, 0, true});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message().find("Parameter 'cron'"), std::string::npos) << s.error().message();
  EXPECT_NE(s.error().message().find("'25'"), std::string::npos) << s.error().message();
  auto jobs = service_->Create({"bad", "@hourly", repo_.string(), {}, 300, true});
  ASSERT_FALSE(jobs);
  EXPECT_NE(jobs.error().message().find("'jobs'"), std::string::npos);
}

TEST_F(ScheduleServiceTest, RepositoriesMustBeInsideTheRootAndHoldCairnYaml) {
  const std::filesystem::path outside = std::filesystem::path(dir_) / "outside";
  WriteFile(outside / "cairn.yaml", "steps: {}\n");
  auto out = service_->Create({"x", "@hourly", outside.string(), {}, 0, true});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(out.error().message().find("outside the server's pipeline root"), std::string::npos)
      << out.error().message();
  // A symlink inside the root that points out of it is resolved and refused.
  std::filesystem::create_directory_symlink(outside, root_ / "link");
  auto link = service_->Create({"x", "@hourly", (root_ / "link").string(), {}, 0, true});
  ASSERT_FALSE(link);
  EXPECT_NE(link.error().message().find("outside"), std::string::npos);
  // ".." that climbs out is resolved too.
  auto dots =
      service_->Create({"x", "@hourly", (root_ / "repo/../../outside").string(), {}, 0, true});
  ASSERT_FALSE(dots);
  EXPECT_NE(dots.error().message().find("outside"), std::string::npos);
  auto relative = service_->Create({"x", "@hourly", "root/repo", {}, 0, true});
  ASSERT_FALSE(relative);
  EXPECT_NE(relative.error().message().find("absolute"), std::string::npos);
  std::filesystem::create_directories(root_ / "empty");
  auto empty = service_->Create({"x", "@hourly", (root_ / "empty").string(), {}, 0, true});
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message().find("no cairn.yaml"), std::string::npos);
  auto missing = service_->Create({"x", "@hourly", (root_ / "nope").string(), {}, 0, true});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("not a folder"), std::string::npos);
  auto list = service_->List();
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
}

TEST_F(ScheduleServiceTest, WithoutAPipelineRootSchedulesAreRefused) {
  Add("made-before", "@hourly");
  auto closed = PipelineScheduleService::Open(store_->pipeline_schedules(), clock_, "");
  ASSERT_TRUE(closed);
  EXPECT_FALSE((*closed)->runs_enabled());
  auto s = (*closed)->Create({"x", "@hourly", repo_.string(), {}, 0, true});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(s.error().message().find("--pipeline-root"), std::string::npos);
  EXPECT_NE(s.error().message().find("CAIRN_PIPELINE_ROOT"), std::string::npos);
  auto trigger = (*closed)->Trigger("made-before");
  ASSERT_FALSE(trigger);
  EXPECT_EQ(trigger.error().code(), ErrorCode::kPermissionDenied);
  // Reading, disabling and deleting still work.
  EXPECT_TRUE((*closed)->Get("made-before"));
  EXPECT_TRUE((*closed)->SetEnabled("made-before", false));
  EXPECT_FALSE((*closed)->SetEnabled("made-before", true));
  EXPECT_TRUE((*closed)->Delete("made-before"));
  auto bad_root =
      PipelineScheduleService::Open(store_->pipeline_schedules(), clock_, dir_ + "/does-not-exist");
  ASSERT_FALSE(bad_root);
  EXPECT_NE(bad_root.error().message().find("--pipeline-root"), std::string::npos);
}

TEST_F(ScheduleServiceTest, EnablingStartsFromTheNextTickAfterNow) {
  Add("hourly", "@hourly");
  auto off = service_->SetEnabled("hourly", false);
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->enabled);
  clock_.Advance(5 * 3'600'000LL + 60'000);  // 17:01
  auto on = service_->SetEnabled("hourly", true);
  ASSERT_TRUE(on);
  EXPECT_TRUE(on->enabled);
  EXPECT_EQ(on->next_tick_ms, kT + 6 * 3'600'000LL);  // 18:00, not the missed 13:00
  EXPECT_EQ(on->updated_at, kT + 5 * 3'600'000LL + 60'000);
  auto missing = service_->SetEnabled("nope", true);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(), "Pipeline schedule 'nope' not found");
}

TEST_F(ScheduleServiceTest, TriggerQueuesAManualRun) {
  Add("adhoc", "@daily");
  auto a = service_->Trigger("adhoc");
  ASSERT_TRUE(a) << a.error().ToString();
  EXPECT_EQ(a->status, "queued");
  EXPECT_EQ(a->triggered_by, "manual");
  EXPECT_EQ(a->tick_ms, kT);
  EXPECT_EQ(a->schedule_name, "adhoc");
  // A second trigger in the same millisecond takes the next one.
  auto b = service_->Trigger("adhoc");
  ASSERT_TRUE(b) << b.error().ToString();
  EXPECT_EQ(b->tick_ms, kT + 1);
  auto runs = Runs("adhoc");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].id, b->id);  // newest tick first
  auto missing = service_->Trigger("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_F(ScheduleServiceTest, UpdateCronReplacesTheCronAndStartsFromItsNextTick) {
  store::PipelineSchedule created = Add("nightly", "0 3 * * *", {"train"}, 2);
  EXPECT_EQ(created.next_tick_ms, kT + 15 * 3'600'000LL);  // 03:00 the next day
  clock_.Advance(90 * 60'000);                              // 13:30
  auto updated = service_->UpdateCron("nightly", "@hourly");
  ASSERT_TRUE(updated) << updated.error().ToString();
  EXPECT_EQ(updated->cron, "@hourly");
  EXPECT_EQ(updated->next_tick_ms, kT + 2 * 3'600'000LL);  // 14:00
  EXPECT_EQ(updated->updated_at, kT + 90 * 60'000);
  EXPECT_EQ(updated->id, created.id);
  EXPECT_EQ(updated->targets, std::vector<std::string>{"train"});
  EXPECT_EQ(updated->jobs, 2);
  EXPECT_TRUE(updated->enabled);
  auto got = service_->Get("nightly");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->cron, "@hourly");

  auto bad = service_->UpdateCron("nightly", "61 * * * *");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("Parameter 'cron' is invalid"), std::string::npos);
  EXPECT_EQ(service_->Get("nightly")->cron, "@hourly");  // unchanged
  auto missing = service_->UpdateCron("nope", "@daily");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(), "Pipeline schedule 'nope' not found");
}

}  // namespace
}  // namespace cairn::schedule
