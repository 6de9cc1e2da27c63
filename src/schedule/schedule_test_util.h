#pragma once
// Fixture pieces shared by the schedule tests: a SQLite metadata store in a
// temporary folder, a pipeline root with one repository (cairn.yaml), and a
// shell script standing in for the `cairn` binary (it prints its arguments,
// folder and schedule variables, then obeys marker files in the repository:
// `fail` -> exit 3, `hang` -> sleep in the background and wait).

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "core/clock.h"
#include "schedule/schedule_service.h"
#include "store/metadata_store.h"
#include "support/temp_files.h"

namespace cairn::schedule::testing {

inline void WriteFile(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

inline constexpr char kFakeCairn[] = R"SH(#!/bin/sh
echo "args: $*"
echo "pwd: $(pwd)"
echo "schedule: $CAIRN_SCHEDULE_NAME tick: $CAIRN_SCHEDULE_TICK_MS run: $CAIRN_SCHEDULE_RUN_ID"
echo "fds: $(ls /proc/$$/fd | tr '\n' ' ')"
if [ -f hang ]; then
  sleep 30 &
  echo $! > sleep.pid
  wait
fi
if [ -f fail ]; then echo "step train failed" >&2; exit 3; fi
exit 0
)SH";

class ScheduleFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("cairn-schedule-test");
    root_ = std::filesystem::path(dir_) / "root";
    repo_ = root_ / "repo";
    WriteFile(repo_ / "cairn.yaml", "steps:\n  train:\n    cmd: echo hi\n");
    binary_ = (std::filesystem::path(dir_) / "fake-cairn.sh").string();
    WriteFile(binary_, kFakeCairn);
    ::chmod(binary_.c_str(), 0755);
    auto s = store::OpenMetadataStore("sqlite://" + dir_ + "/cairn.db");
    ASSERT_TRUE(s) << s.error().ToString();
    store_ = std::move(*s);
    ASSERT_TRUE(store_->Migrate());
    auto svc = PipelineScheduleService::Open(store_->pipeline_schedules(), clock_, root_.string());
    ASSERT_TRUE(svc) << svc.error().ToString();
    service_ = std::move(*svc);
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  store::PipelineSchedule Add(const std::string& name, const std::string& cron,
                              std::vector<std::string> targets = {}, int jobs = 0) {
    NewSchedule n;
    n.name = name;
    n.cron = cron;
    n.repo = repo_.string();
    n.targets = std::move(targets);
    n.jobs = jobs;
    auto s = service_->Create(n);
    EXPECT_TRUE(s) << s.error().ToString();
    return s ? *s : store::PipelineSchedule{};
  }

  std::vector<store::PipelineScheduleRun> Runs(const std::string& name) {
    auto r = service_->Runs(name, 100);
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? *r : std::vector<store::PipelineScheduleRun>{};
  }

  // 2026-11-26 12:00:00 UTC, on a minute boundary.
  FakeClock clock_{1'795'694'400'000};
  std::string dir_;
  std::filesystem::path root_;
  std::filesystem::path repo_;
  std::string binary_;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<PipelineScheduleService> service_;
};

}  // namespace cairn::schedule::testing
