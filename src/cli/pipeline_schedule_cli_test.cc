// `cairn pipeline schedule ...` run as a user runs it (the built binary,
// CAIRN_BINARY) against a live App on port 0 whose scheduler runs a shell
// script standing in for `cairn repro`; then end to end, a schedule whose
// scheduler runs the real `cairn repro` in a temporary git repository.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/app.h"
#include "support/live_server.h"
#include "support/subprocess.h"
#include "support/temp_files.h"

namespace cairn::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr char kFakeCairn[] = R"SH(#!/bin/sh
echo "args: $*"
echo "pwd: $(pwd)"
exit 0
)SH";

void WriteFile(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

json ParseOut(const test::CommandOutcome& o) {
  try {
    return json::parse(o.out);
  } catch (const json::exception&) {
    ADD_FAILURE() << "not JSON: " << o.out << "\nstderr: " << o.err;
    return json::object();
  }
}

class ScheduleCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("cairn-schedule-cli-test");
    root_ = fs::path(dir_) / "root";
    repo_ = root_ / "repo";
    WriteFile(repo_ / "cairn.yaml", "steps:\n  train:\n    cmd: echo hi\n");
    fake_ = dir_ + "/fake-cairn.sh";
    WriteFile(fake_, kFakeCairn);
    ::chmod(fake_.c_str(), 0755);
    fs::create_directories(dir_ + "/out");
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }
  void StartServer(const std::string& root, const std::string& binary) {
    auto server = test::LiveServer::Start("cairn-schedule-cli-test", [&](api::AppConfig& c) {
      c.monitor_tick = std::chrono::milliseconds(0);
      c.pipeline_root = root;
      c.pipeline_cairn_binary = binary;
      c.pipeline_tick = std::chrono::milliseconds(100);
    });
    ASSERT_TRUE(server) << server.error().ToString();
    server_ = std::move(*server);
  }
  test::CommandOutcome Run(std::vector<std::string> args) {
    std::vector<std::string> full = {"pipeline", "schedule"};
    full.insert(full.end(), args.begin(), args.end());
    if (server_) {
      full.push_back("--tracking-uri");
      full.push_back(server_->uri());
    }
    test::CommandOutcome o = test::RunCliCommand(CAIRN_BINARY, full, dir_ + "/out");
    if (o.exit_code == -1) ADD_FAILURE() << "cannot start " << CAIRN_BINARY;
    return o;
  }

  std::string dir_;
  fs::path root_;
  fs::path repo_;
  std::string fake_;
  std::unique_ptr<test::LiveServer> server_;
};

TEST_F(ScheduleCliTest, UsageErrorsExitTwo) {
  auto no_cron = Run({"add", "x", "--repo", repo_.string()});
  EXPECT_EQ(no_cron.exit_code, 2) << no_cron.err;
  EXPECT_NE(no_cron.err.find("--cron"), std::string::npos) << no_cron.err;
  auto jobs = Run({"add", "x", "--cron", "@hourly", "--jobs", "1000"});
  EXPECT_EQ(jobs.exit_code, 2) << jobs.err;
  auto no_name = Run({"get"});
  EXPECT_EQ(no_name.exit_code, 2);
}

TEST_F(ScheduleCliTest, ServerHelpSaysHowToEnableSchedules) {
  auto help = test::RunCliCommand(CAIRN_BINARY, {"server", "--help"}, dir_ + "/out");
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE(help.out.find("--pipeline-root"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("CAIRN_PIPELINE_ROOT"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("cairn.yaml"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--pipeline-timeout"), std::string::npos) << help.out;
}

TEST_F(ScheduleCliTest, EveryCommandAgainstALiveServer) {
  StartServer(root_.string(), fake_);
  const std::string real_repo = fs::canonical(repo_).string();
  auto add = Run({"add", "nightly", "--cron", "0 3 * * *", "--repo", repo_.string(), "--target",
                  "train", "--target", "evaluate", "--jobs", "2"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_NE(add.out.find("Created pipeline schedule 'nightly' (cron \"0 3 * * *\", repo " +
                         real_repo + ", targets train evaluate); first run at "),
            std::string::npos)
      << add.out;

  auto dup = Run({"add", "nightly", "--cron", "@hourly", "--repo", repo_.string()});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_EQ(dup.err,
            "error: RESOURCE_ALREADY_EXISTS: Pipeline schedule 'nightly' already exists\n");
  auto bad_cron = Run({"add", "bad", "--cron", "61 * * * *", "--repo", repo_.string()});
  EXPECT_EQ(bad_cron.exit_code, 1);
  EXPECT_NE(bad_cron.err.find("error: INVALID_PARAMETER_VALUE: Parameter 'cron' is invalid"),
            std::string::npos)
      << bad_cron.err;
  const fs::path outside = fs::path(dir_) / "outside";
  WriteFile(outside / "cairn.yaml", "steps: {}\n");
  auto out = Run({"add", "escape", "--cron", "@hourly", "--repo", outside.string()});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("outside the server's pipeline root"), std::string::npos) << out.err;

  auto list = Run({"list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json l = ParseOut(list);
  EXPECT_EQ(l["runs_enabled"], true);
  ASSERT_EQ(l["schedules"].size(), 1u);
  EXPECT_EQ(l["schedules"][0]["name"], "nightly");
  EXPECT_EQ(l["schedules"][0]["targets"], json({"train", "evaluate"}));
  EXPECT_EQ(l["schedules"][0]["jobs"], 2);
  auto table = Run({"list"});
  ASSERT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("NAME"), std::string::npos);
  EXPECT_NE(table.out.find("nightly"), std::string::npos);
  EXPECT_NE(table.out.find("0 3 * * *"), std::string::npos);
  EXPECT_EQ(table.err, "");

  auto trig = Run({"trigger", "nightly", "--wait", "--wait-timeout", "30"});
  ASSERT_EQ(trig.exit_code, 0) << trig.out << trig.err;
  EXPECT_NE(trig.out.find("' succeeded: exit code 0"), std::string::npos) << trig.out;
  EXPECT_NE(trig.out.find("args: repro --jobs 2 train evaluate"), std::string::npos) << trig.out;

  auto runs = Run({"runs", "nightly", "--json"});
  ASSERT_EQ(runs.exit_code, 0) << runs.err;
  json r = ParseOut(runs)["runs"];
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["triggered_by"], "manual");
  EXPECT_EQ(r[0]["status"], "succeeded");
  EXPECT_EQ(r[0]["exit_code"], 0);
  EXPECT_NE(r[0]["log_tail"].get<std::string>().find("pwd: " + real_repo), std::string::npos);

  auto get = Run({"get", "nightly"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_NE(get.out.find("repo:"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find(real_repo), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("Last runs:"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("manual"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("succeeded"), std::string::npos) << get.out;
  auto get_json = Run({"get", "nightly", "--json"});
  ASSERT_EQ(get_json.exit_code, 0);
  EXPECT_EQ(ParseOut(get_json)["runs"].size(), 1u);

  auto update = Run({"update", "nightly", "--cron", "@hourly"});
  ASSERT_EQ(update.exit_code, 0) << update.err;
  EXPECT_NE(update.out.find("Pipeline schedule 'nightly' now runs at @hourly; next run at "),
            std::string::npos)
      << update.out;
  auto updated = ParseOut(Run({"get", "nightly", "--json"}));
  EXPECT_EQ(updated["schedule"]["cron"], "@hourly");
  EXPECT_EQ(updated["schedule"]["targets"], json({"train", "evaluate"}));
  EXPECT_EQ(updated["schedule"]["next_tick"].get<int64_t>() % 3'600'000, 0);
  EXPECT_EQ(updated["runs"].size(), 1u);  // the history is kept
  auto bad_update = Run({"update", "nightly", "--cron", "61 * * * *"});
  EXPECT_EQ(bad_update.exit_code, 1);
  EXPECT_NE(bad_update.err.find("Parameter 'cron' is invalid"), std::string::npos)
      << bad_update.err;
  EXPECT_EQ(Run({"update", "nightly"}).exit_code, 2);  // --cron is required
  auto update_missing = Run({"update", "nope", "--cron", "@daily"});
  EXPECT_EQ(update_missing.exit_code, 1);
  EXPECT_EQ(update_missing.err,
            "error: RESOURCE_DOES_NOT_EXIST: Pipeline schedule 'nope' not found\n");

  auto off = Run({"disable", "nightly"});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  EXPECT_EQ(off.out, "Disabled pipeline schedule 'nightly'\n");
  auto off_json = Run({"get", "nightly", "--json"});
  EXPECT_EQ(ParseOut(off_json)["schedule"]["enabled"], false);
  auto on = Run({"enable", "nightly", "--json"});
  ASSERT_EQ(on.exit_code, 0) << on.err;
  EXPECT_EQ(ParseOut(on)["schedule"]["enabled"], true);

  auto del = Run({"delete", "nightly"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_EQ(del.out, "Deleted pipeline schedule 'nightly' and its run history\n");
  auto gone = Run({"get", "nightly"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_EQ(gone.err, "error: RESOURCE_DOES_NOT_EXIST: Pipeline schedule 'nightly' not found\n");
  auto gone_trigger = Run({"trigger", "nightly"});
  EXPECT_EQ(gone_trigger.exit_code, 1);
}

TEST_F(ScheduleCliTest, AServerWithoutAPipelineRootRefusesSchedules) {
  StartServer("", fake_);
  auto add = Run({"add", "x", "--cron", "@hourly", "--repo", repo_.string()});
  EXPECT_EQ(add.exit_code, 1);
  EXPECT_NE(add.err.find("error: PERMISSION_DENIED: Pipeline schedules are disabled on this "
                         "server"),
            std::string::npos)
      << add.err;
  EXPECT_NE(add.err.find("--pipeline-root DIR"), std::string::npos) << add.err;
  auto list = Run({"list"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_EQ(list.out, "(no pipeline schedules)\n");
  EXPECT_NE(list.err.find("--pipeline-root"), std::string::npos) << list.err;
}

TEST_F(ScheduleCliTest, UnreachableServerIsAClearError) {
  auto o = test::RunCliCommand(
      CAIRN_BINARY, {"pipeline", "schedule", "list", "--tracking-uri", "http://127.0.0.1:1"},
      dir_ + "/out");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("error: TEMPORARILY_UNAVAILABLE: cannot reach"), std::string::npos) << o.err;
}

// End to end: the server's scheduler runs the real `cairn repro` on a cron
// schedule in a git repository and records it succeeded.
TEST_F(ScheduleCliTest, ACronScheduleRunsTheRealPipeline) {
  auto help = test::RunCliCommand(CAIRN_BINARY, {"repro", "--help"}, dir_ + "/out");
  if (help.exit_code != 0) GTEST_SKIP() << "`cairn repro` is not built yet";
  const fs::path repo = root_ / "pipe";
  WriteFile(repo / "cairn.yaml",
            "steps:\n"
            "  make:\n"
            "    cmd: echo made > out.txt\n"
            "    outs: [out.txt]\n");
  auto git = [&](std::vector<std::string> args) {
    std::vector<std::string> full = {"-C", repo.string()};
    full.insert(full.end(), args.begin(), args.end());
    auto o = test::RunCommand("/usr/bin/git", full, dir_ + "/out");
    EXPECT_EQ(o.exit_code, 0) << o.err;
  };
  git({"init", "-q"});
  git({"config", "user.name", "Cairn Test"});
  git({"config", "user.email", "test@example.com"});
  StartServer(root_.string(), CAIRN_BINARY);
  auto add = Run({"add", "pipe", "--cron", "@every 1s", "--repo", repo.string()});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  json runs;
  for (int i = 0; i < 300; ++i) {
    auto o = Run({"runs", "pipe", "--json"});
    ASSERT_EQ(o.exit_code, 0) << o.err;
    runs = ParseOut(o)["runs"];
    bool finished = false;
    for (const json& r : runs) {
      if (r["status"] != "queued" && r["status"] != "running") finished = true;
    }
    if (finished) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(Run({"disable", "pipe"}).exit_code == 0);
  json done;
  for (const json& r : runs) {
    if (r["status"] != "queued" && r["status"] != "running") {
      done = r;
      break;
    }
  }
  ASSERT_TRUE(done.is_object()) << runs.dump(2);
  EXPECT_EQ(done["status"], "succeeded") << done.dump(2);
  EXPECT_EQ(done["triggered_by"], "cron");
  EXPECT_EQ(done["exit_code"], 0);
  EXPECT_EQ(test::ReadFile(repo / "out.txt"), "made\n");
  EXPECT_TRUE(fs::exists(done["log_path"].get<std::string>()));
  EXPECT_NE(done["log_tail"].get<std::string>().find("make"), std::string::npos) << done.dump(2);
}

}  // namespace
}  // namespace cairn::cli
