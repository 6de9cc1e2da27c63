// The pipeline-schedule REST API over HTTP against a live App on port 0
// (SQLite, a pipeline root in a temporary folder, the App's own scheduler
// thread). A shell script stands in for the `cairn` binary it runs.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/app.h"
#include "support/live_server.h"
#include "support/raw_http.h"
#include "support/temp_files.h"

namespace cairn::api {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr char kFakeCairn[] = R"SH(#!/bin/sh
echo "args: $*"
echo "pwd: $(pwd)"
echo "tracking: $CAIRN_TRACKING_URI"
exit 0
)SH";

void WriteFile(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

json Parse(const test::HttpResult& r) {
  try {
    return json::parse(r.body);
  } catch (const json::exception&) {
    ADD_FAILURE() << "not JSON: " << r.body;
    return json::object();
  }
}

class ScheduleApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("cairn-schedule-api-test");
    root_ = fs::path(dir_) / "root";
    repo_ = root_ / "repo";
    WriteFile(repo_ / "cairn.yaml", "steps:\n  train:\n    cmd: echo hi\n");
    binary_ = dir_ + "/fake-cairn.sh";
    WriteFile(binary_, kFakeCairn);
    ::chmod(binary_.c_str(), 0755);
    auto server = test::LiveServer::Start("cairn-schedule-api-test", [this](AppConfig& c) {
      c.monitor_tick = std::chrono::milliseconds(0);
      c.pipeline_root = root_.string();
      c.pipeline_cairn_binary = binary_;
      c.pipeline_tick = std::chrono::milliseconds(50);
    });
    ASSERT_TRUE(server) << server.error().ToString();
    server_ = std::move(*server);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  test::HttpResult Call(const std::string& method, const std::string& path,
                        const std::string& body = "") {
    return test::RawHttp(server_->port(), method, "/api/v1/pipeline-schedules" + path, body,
                         {{"Content-Type", "application/json"}});
  }
  test::HttpResult CreateSchedule(const json& body) { return Call("POST", "", body.dump()); }

  // Polls the runs of `name` until the newest is finished (or 15 s pass).
  json WaitForFinishedRun(const std::string& name) {
    json runs;
    for (int i = 0; i < 300; ++i) {
      runs = Parse(Call("GET", "/" + name + "/runs"))["runs"];
      if (runs.is_array() && !runs.empty() && runs[0]["status"] != "queued" &&
          runs[0]["status"] != "running") {
        return runs;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "no finished run of " << name << ": " << runs.dump();
    return runs;
  }

  std::string dir_;
  fs::path root_;
  fs::path repo_;
  std::string binary_;
  std::unique_ptr<test::LiveServer> server_;
};

TEST_F(ScheduleApiTest, CreateListGetDelete) {
  auto created = CreateSchedule({{"name", "nightly"},
                                 {"cron", "0 3 * * *"},
                                 {"repo", repo_.string()},
                                 {"targets", {"train"}},
                                 {"jobs", 2}});
  ASSERT_EQ(created.status, 200) << created.body;
  json s = Parse(created)["schedule"];
  EXPECT_EQ(s["name"], "nightly");
  EXPECT_EQ(s["cron"], "0 3 * * *");
  EXPECT_EQ(s["repo"], fs::canonical(repo_).string());
  EXPECT_EQ(s["targets"], json({"train"}));
  EXPECT_EQ(s["jobs"], 2);
  EXPECT_EQ(s["enabled"], true);
  EXPECT_GT(s["id"].get<int64_t>(), 0);
  EXPECT_GT(s["next_tick"].get<int64_t>(), s["created_at"].get<int64_t>());
  EXPECT_EQ(s["next_tick"].get<int64_t>() % 3'600'000, 3 * 3'600'000 % 3'600'000);

  json list = Parse(Call("GET", ""));
  EXPECT_EQ(list["runs_enabled"], true);
  ASSERT_EQ(list["schedules"].size(), 1u);
  EXPECT_EQ(list["schedules"][0]["name"], "nightly");

  auto got = Call("GET", "/nightly");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(Parse(got)["schedule"]["id"], s["id"]);
  EXPECT_EQ(Parse(got)["runs"], json::array());

  auto dup = CreateSchedule({{"name", "nightly"}, {"cron", "@hourly"}, {"repo", repo_.string()}});
  EXPECT_EQ(dup.status, 400);
  EXPECT_EQ(Parse(dup)["error_code"], "RESOURCE_ALREADY_EXISTS");
  EXPECT_EQ(Parse(dup)["message"], "Pipeline schedule 'nightly' already exists");

  auto del = Call("DELETE", "/nightly");
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(del.body, "{}");
  auto gone = Call("GET", "/nightly");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(Parse(gone)["error_code"], "RESOURCE_DOES_NOT_EXIST");
  EXPECT_EQ(Parse(gone)["message"], "Pipeline schedule 'nightly' not found");
}

TEST_F(ScheduleApiTest, BadRequestsNameTheField) {
  auto cron = CreateSchedule({{"name", "x"}, {"cron", "0 25 * * *"}, {"repo", repo_.string()}});
  EXPECT_EQ(cron.status, 400);
  EXPECT_EQ(Parse(cron)["error_code"], "INVALID_PARAMETER_VALUE");
  EXPECT_NE(Parse(cron)["message"].get<std::string>().find("Parameter 'cron' is invalid: "),
            std::string::npos)
      << cron.body;
  auto no_name = CreateSchedule({{"cron", "@hourly"}, {"repo", repo_.string()}});
  EXPECT_EQ(no_name.status, 400);
  EXPECT_EQ(Parse(no_name)["message"], "Missing value for required parameter 'name'");
  auto targets = CreateSchedule(
      {{"name", "x"}, {"cron", "@hourly"}, {"repo", repo_.string()}, {"targets", "train"}});
  EXPECT_EQ(targets.status, 400);
  EXPECT_NE(targets.body.find("'targets'"), std::string::npos);
  auto option = CreateSchedule(
      {{"name", "x"}, {"cron", "@hourly"}, {"repo", repo_.string()}, {"targets", {"--force"}}});
  EXPECT_EQ(option.status, 400);
  EXPECT_NE(option.body.find("cannot start with '-'"), std::string::npos);
  auto jobs = CreateSchedule(
      {{"name", "x"}, {"cron", "@hourly"}, {"repo", repo_.string()}, {"jobs", "many"}});
  EXPECT_EQ(jobs.status, 400);
  EXPECT_NE(jobs.body.find("jobs"), std::string::npos);
  const fs::path outside = fs::path(dir_) / "outside";
  WriteFile(outside / "cairn.yaml", "steps: {}\n");
  auto out = CreateSchedule({{"name", "x"}, {"cron", "@hourly"}, {"repo", outside.string()}});
  EXPECT_EQ(out.status, 400);
  EXPECT_EQ(Parse(out)["error_code"], "INVALID_PARAMETER_VALUE");
  EXPECT_NE(out.body.find("outside the server's pipeline root"), std::string::npos) << out.body;
  auto malformed = Call("POST", "", "{not json");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(Parse(malformed)["error_code"], "BAD_REQUEST");
  auto limit = Call("GET", "/x/runs?limit=0");
  EXPECT_EQ(limit.status, 400);
  EXPECT_NE(limit.body.find("'limit'"), std::string::npos);
  auto path = Call("POST", "/x/explode");
  EXPECT_EQ(path.status, 404);
  EXPECT_EQ(Parse(path)["error_code"], "ENDPOINT_NOT_FOUND");
  EXPECT_EQ(Parse(Call("GET", ""))["schedules"], json::array());
}

TEST_F(ScheduleApiTest, TriggerRunsOnceNowThroughTheServersScheduler) {
  ASSERT_EQ(CreateSchedule({{"name", "adhoc"},
                            {"cron", "@yearly"},
                            {"repo", repo_.string()},
                            {"targets", {"train"}}})
                .status,
            200);
  auto trig = Call("POST", "/adhoc/trigger");
  ASSERT_EQ(trig.status, 200) << trig.body;
  json run = Parse(trig)["run"];
  EXPECT_EQ(run["triggered_by"], "manual");
  EXPECT_EQ(run["schedule"], "adhoc");
  EXPECT_TRUE(run["status"] == "queued" || run["status"] == "running") << run.dump();
  json runs = WaitForFinishedRun("adhoc");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["id"], run["id"]);
  EXPECT_EQ(runs[0]["status"], "succeeded") << runs[0].dump();
  EXPECT_EQ(runs[0]["exit_code"], 0);
  const std::string tail = runs[0]["log_tail"];
  EXPECT_NE(tail.find("args: repro train\n"), std::string::npos) << tail;
  EXPECT_NE(tail.find("pwd: " + fs::canonical(repo_).string()), std::string::npos) << tail;
  // The child reports to the server that ran it.
  EXPECT_NE(tail.find("tracking: " + server_->uri() + "\n"), std::string::npos) << tail;
  // get shows the run too.
  json got = Parse(Call("GET", "/adhoc"));
  ASSERT_EQ(got["runs"].size(), 1u);
  EXPECT_EQ(got["runs"][0]["id"], run["id"]);
  auto missing = Call("POST", "/nope/trigger");
  EXPECT_EQ(missing.status, 404);
}

TEST_F(ScheduleApiTest, ACronScheduleFiresByItselfAndDisableStopsIt) {
  auto created =
      CreateSchedule({{"name", "every-second"}, {"cron", "@every 1s"}, {"repo", repo_.string()}});
  ASSERT_EQ(created.status, 200) << created.body;
  json runs = WaitForFinishedRun("every-second");
  ASSERT_FALSE(runs.empty());
  EXPECT_EQ(runs[0]["triggered_by"], "cron");
  EXPECT_EQ(runs[0]["status"], "succeeded") << runs[0].dump();
  EXPECT_EQ(runs[0]["tick"].get<int64_t>() % 1000, 0);
  auto off = Call("POST", "/every-second/disable");
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(Parse(off)["schedule"]["enabled"], false);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // a run may be finishing
  const size_t count = Parse(Call("GET", "/every-second/runs?limit=100"))["runs"].size();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(Parse(Call("GET", "/every-second/runs?limit=100"))["runs"].size(), count);
  auto on = Call("POST", "/every-second/enable");
  ASSERT_EQ(on.status, 200);
  EXPECT_EQ(Parse(on)["schedule"]["enabled"], true);
}

TEST(ScheduleApiWithoutRootTest, SchedulesAreRefusedWithHowToEnableThem) {
  auto server = test::LiveServer::Start("cairn-schedule-api-test", [](AppConfig& c) {
    c.monitor_tick = std::chrono::milliseconds(0);
  });
  ASSERT_TRUE(server) << server.error().ToString();
  auto r = test::RawHttp((*server)->port(), "POST", "/api/v1/pipeline-schedules",
                         json{{"name", "x"}, {"cron", "@hourly"}, {"repo", "/tmp"}}.dump());
  EXPECT_EQ(r.status, 403);
  json body = Parse(r);
  EXPECT_EQ(body["error_code"], "PERMISSION_DENIED");
  EXPECT_NE(body["message"].get<std::string>().find("--pipeline-root DIR"), std::string::npos);
  auto list = test::RawHttp((*server)->port(), "GET", "/api/v1/pipeline-schedules");
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(Parse(list)["runs_enabled"], false);
}

TEST_F(ScheduleApiTest, PatchChangesOnlyTheCron) {
  auto created = CreateSchedule({{"name", "nightly"},
                                 {"cron", "0 3 * * *"},
                                 {"repo", repo_.string()},
                                 {"targets", {"train"}},
                                 {"jobs", 2}});
  ASSERT_EQ(created.status, 200) << created.body;
  json before = Parse(created)["schedule"];
  auto patched = Call("PATCH", "/nightly", json{{"cron", "*/5 * * * *"}}.dump());
  ASSERT_EQ(patched.status, 200) << patched.body;
  json s = Parse(patched)["schedule"];
  EXPECT_EQ(s["cron"], "*/5 * * * *");
  EXPECT_EQ(s["id"], before["id"]);
  EXPECT_EQ(s["targets"], json({"train"}));
  EXPECT_EQ(s["jobs"], 2);
  EXPECT_EQ(s["next_tick"].get<int64_t>() % 300'000, 0);
  EXPECT_LE(s["next_tick"].get<int64_t>(), s["updated_at"].get<int64_t>() + 300'000);
  EXPECT_EQ(Parse(Call("GET", "/nightly"))["schedule"]["cron"], "*/5 * * * *");

  auto bad = Call("PATCH", "/nightly", json{{"cron", "not a cron"}}.dump());
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Parse(bad)["error_code"], "INVALID_PARAMETER_VALUE");
  auto other = Call("PATCH", "/nightly", json{{"cron", "@daily"}, {"jobs", 4}}.dump());
  EXPECT_EQ(other.status, 400);
  EXPECT_NE(Parse(other)["message"].get<std::string>().find("'jobs' cannot be changed in place"),
            std::string::npos)
      << other.body;
  auto none = Call("PATCH", "/nightly", "{}");
  EXPECT_EQ(none.status, 400);
  EXPECT_NE(Parse(none)["message"].get<std::string>().find("'cron'"), std::string::npos);
  EXPECT_EQ(Parse(Call("GET", "/nightly"))["schedule"]["cron"], "*/5 * * * *");
  auto missing = Call("PATCH", "/nope", json{{"cron", "@daily"}}.dump());
  EXPECT_EQ(missing.status, 404);
}

}  // namespace
}  // namespace cairn::api
