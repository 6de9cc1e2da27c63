// `cairn monitors ...` and `cairn labels log`: runs the built binary
// (CAIRN_BINARY) as a user would.
//  - MonitorsArgsTest: flag checks that fail before any request (the
//    tracking URI points at a closed port, so reaching the network would
//    show up as TEMPORARILY_UNAVAILABLE instead of the expected message).
//  - MonitorsCliTest: every command against a live App (SQLite + a local
//    artifact folder, 127.0.0.1:0, no scheduler thread), with a registered
//    model whose signature is (amount: double, country: string), asserting on
//    the values printed; and the server's /metrics after a run.

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/live_server.h"
#include "support/raw_http.h"
#include "support/subprocess.h"
#include "support/temp_files.h"

namespace cairn::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::MakeTempDir;
using test::ReadFile;

using Outcome = test::CommandOutcome;

// Runs `cairn <args>` to completion with `env` added; an inherited
// CAIRN_USER is blanked so only what a test gives acts.
Outcome RunBinary(const std::string& dir, const std::vector<std::string>& args,
                  std::vector<std::string> env) {
  Outcome o = test::RunCliCommand(CAIRN_BINARY, args, dir, std::move(env));
  if (o.exit_code == -1) ADD_FAILURE() << "cannot start " << CAIRN_BINARY;
  return o;
}

bool Has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// ------------------------------------------------- arguments (no server)

class MonitorsArgsTest : public testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("cairn-monitors-test"); }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Outcome Run(std::vector<std::string> args) {
    return RunBinary(dir_, args, {"CAIRN_TRACKING_URI=http://127.0.0.1:1"});
  }
  void ExpectInvalid(const std::vector<std::string>& args, const std::string& what) {
    Outcome o = Run(args);
    EXPECT_EQ(o.exit_code, 1) << o.err;
    EXPECT_TRUE(o.err.starts_with("error: INVALID_PARAMETER_VALUE: ")) << o.err;
    EXPECT_TRUE(Has(o.err, what)) << o.err;
    EXPECT_EQ(o.out, "");
  }
  std::string dir_;
};

TEST_F(MonitorsArgsTest, FlagsThatAreNotTextAreCheckedBeforeSending) {
  ExpectInvalid({"monitors", "create", "m", "--model", "fraud", "--threshold", "amount"},
                "--threshold 'amount' is not column=value");
  ExpectInvalid({"monitors", "create", "m", "--model", "fraud", "--threshold", "amount=high"},
                "'high' is not a number");
  ExpectInvalid({"monitors", "create", "m", "--model", "fraud", "--test", "=psi"},
                "--test '=psi' is not column=value");
  ExpectInvalid({"monitors", "create", "m", "--model", "fraud", "--drift-share", "1.5"},
                "--drift-share '1.5' is not a number in (0, 1]");
  ExpectInvalid({"monitors", "create", "m", "--model", "fraud", "--alert-secret", "s"},
                "--alert-secret needs --alert-webhook");
  ExpectInvalid({"monitors", "report", "m", "--last", "0"}, "--last must be >= 1");
  // Well-formed flags get as far as the (closed) server.
  Outcome o = Run({"monitors", "create", "m", "--model", "fraud", "--threshold", "amount=0.2",
                   "--test", "amount=psi", "--drift-share", "0.3"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_TRUE(o.err.starts_with("error: TEMPORARILY_UNAVAILABLE: cannot reach")) << o.err;
}

TEST_F(MonitorsArgsTest, MissingLocalFilesAreNamed) {
  Outcome run = Run({"monitors", "run", "m", "--current", dir_ + "/nope.csv"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "error: RESOURCE_DOES_NOT_EXIST: current file '" + dir_ +
                         "/nope.csv' does not exist or is not a file\n");
  Outcome labels = Run({"labels", "log", "fraud", "--file", dir_ + "/labels.csv"});
  EXPECT_EQ(labels.exit_code, 1);
  EXPECT_TRUE(Has(labels.err, "labels file '" + dir_ + "/labels.csv' does not exist"))
      << labels.err;
}

TEST_F(MonitorsArgsTest, UsageErrorsExitWithTwo) {
  EXPECT_EQ(Run({"monitors"}).exit_code, 2);
  EXPECT_EQ(Run({"monitors", "create", "m"}).exit_code, 2);  // no --model
  EXPECT_EQ(Run({"monitors", "get"}).exit_code, 2);          // no NAME
  EXPECT_EQ(Run({"monitors", "alerts", "m", "--status", "x"}).exit_code, 2);
  EXPECT_EQ(Run({"labels", "log", "fraud"}).exit_code, 2);  // no --file
  Outcome help = Run({"monitors", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* cmd :
       {"create", "list", "get", "run", "report", "alerts", "delete", "profile"}) {
    EXPECT_TRUE(Has(help.out, cmd)) << cmd;
  }
}

TEST_F(MonitorsArgsTest, ProfileWritesTheFileLocally) {
  // No server is involved: the tracking URI points at a closed port.
  std::ofstream(dir_ + "/train.csv") << "amount,country\n1,US\n2.5,DE\n2.5,\n,US\n0.1,US\n";
  const std::string out = dir_ + "/train.profile.json";
  Outcome o = Run({"monitors", "profile", dir_ + "/train.csv", "--output", out});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const std::string written = ReadFile(out);
  EXPECT_EQ(written,
            "{\"format\":\"cairn-profile\",\"version\":1,\"rows\":5,\"columns\":["
            "{\"name\":\"amount\",\"kind\":\"numeric\",\"missing\":1,"
            "\"values\":[0.1,1,2.5],\"counts\":[1,1,2]},"
            "{\"name\":\"country\",\"kind\":\"categorical\",\"missing\":1,"
            "\"values\":[\"DE\",\"US\"],\"counts\":[1,3]}]}");
  EXPECT_EQ(o.out, "Wrote " + out + ": 5 rows, 2 columns, " + std::to_string(written.size()) +
                       " bytes (the dataset: 43 bytes)\n"
                       "column   kind         distinct  missing\n"
                       "-------  -----------  --------  -------\n"
                       "amount   numeric      3         1\n"
                       "country  categorical  2         1\n");
  EXPECT_FALSE(fs::exists(out + ".tmp"));

  Outcome j = Run({"monitors", "profile", dir_ + "/train.csv", "--output", out, "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  json doc = json::parse(j.out);
  EXPECT_EQ(doc["rows"], 5);
  EXPECT_EQ(doc["output"], out);
  EXPECT_EQ(doc["bytes"], written.size());
  EXPECT_EQ(doc["dataset_bytes"], 43);
  EXPECT_EQ(
      doc["columns"],
      (json{{{"name", "amount"}, {"kind", "numeric"}, {"distinct", 3}, {"missing", 1}},
            {{"name", "country"}, {"kind", "categorical"}, {"distinct", 2}, {"missing", 1}}}));
  EXPECT_EQ(ReadFile(out), written);

  ExpectInvalid({"monitors", "profile", dir_ + "/train.csv", "--output", dir_ + "/train.json"},
                "--output '" + dir_ + "/train.json' must end in .profile.json");
  EXPECT_FALSE(fs::exists(dir_ + "/train.json"));
  Outcome missing = Run({"monitors", "profile", dir_ + "/nope.csv", "--output", out});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "error: RESOURCE_DOES_NOT_EXIST: " + dir_ + "/nope.csv: no such file\n");
  std::ofstream(dir_ + "/ragged.csv") << "a,b\n1\n";
  ExpectInvalid({"monitors", "profile", dir_ + "/ragged.csv", "--output", out},
                "ragged.csv:2: 1 fields, the header has 2");
  EXPECT_EQ(ReadFile(out), written);  // a failed run leaves the earlier profile as it was
  EXPECT_EQ(Run({"monitors", "profile", dir_ + "/train.csv"}).exit_code, 2);  // no --output
}

// --------------------------------------------------------- live server

class MonitorsCliTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = test::LiveServer::Start("cairn-monitors-test", [](api::AppConfig& c) {
      c.monitor_tick = std::chrono::milliseconds(0);  // windows only when a test runs them
      // The references are files in the server's folder (the artifacts'
      // parent): a server reads local files only under its roots.
      c.monitor_data_roots = {fs::path(c.artifacts_destination.substr(7)).parent_path().string()};
    });
    ASSERT_TRUE(server) << server.error().ToString();
    server_ = server->release();
    // The reference: 60 rows; amount 0..59, country US/DE/FR.
    std::ofstream ref(Ref());
    ref << "amount,country\n";
    for (int i = 0; i < 60; ++i)
      ref << i << "," << (i % 3 == 0 ? "US" : i % 3 == 1 ? "DE" : "FR") << "\n";
    // A batch whose amounts moved far away and whose countries did not.
    std::ofstream cur(server_->dir() + "/shifted.csv");
    cur << "amount,country\n";
    for (int i = 0; i < 60; ++i)
      cur << 1000 + i << "," << (i % 3 == 0 ? "US" : i % 3 == 1 ? "DE" : "FR") << "\n";
    std::ofstream bad(server_->dir() + "/extra_column.csv");
    bad << "amount,country,zipcode\n1,US,10001\n2,DE,10002\n";
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static std::string Ref() { return server_->dir() + "/reference.csv"; }

  Outcome Run(const std::vector<std::string>& args) {
    return RunBinary(server_->dir(), args, {"CAIRN_TRACKING_URI=" + server_->uri()});
  }
  json RunJson(std::vector<std::string> args) {
    args.push_back("--json");
    Outcome o = Run(args);
    EXPECT_EQ(o.exit_code, 0) << o.err;
    try {
      return json::parse(o.out);
    } catch (const json::exception&) {
      ADD_FAILURE() << "not JSON: " << o.out << o.err;
      return json::object();
    }
  }

  // A registered model `name` with one version whose signature is
  // (amount: double, country: string).
  void RegisterModel(const std::string& name) {
    json run = RunJson({"runs", "create", "--run-name", "train"});
    std::string id = run["run"]["info"]["run_id"];
    std::string src = MakeTempDir("cairn-monitors-test");
    fs::create_directories(src + "/model");
    std::ofstream(src + "/model/MLmodel")
        << "artifact_path: model\n"
           "flavors:\n"
           "  python_function:\n"
           "    loader_module: mlflow.sklearn\n"
           "    python_version: 3.11.4\n"
           "signature:\n"
           "  inputs: '[{\"type\": \"double\", \"name\": \"amount\", \"required\": true}, "
           "{\"type\": \"string\", \"name\": \"country\", \"required\": true}]'\n"
           "  outputs: '[{\"type\": \"long\", \"required\": true}]'\n";
    Outcome logged = Run({"artifacts", "log", id, src + "/model", "--artifact-path", "model"});
    ASSERT_EQ(logged.exit_code, 0) << logged.err;
    Outcome reg = Run({"models", "register", "runs:/" + id + "/model", name});
    ASSERT_EQ(reg.exit_code, 0) << reg.err;
    std::error_code ec;
    fs::remove_all(src, ec);
  }

  static inline test::LiveServer* server_ = nullptr;
};

TEST_F(MonitorsCliTest, CreateListGetDelete) {
  RegisterModel("mon-crud");
  // A relative reference path is sent as an absolute file:// URI.
  std::string rel = fs::relative(Ref(), fs::current_path()).string();
  json created = RunJson({"monitors",
                          "create",
                          "crud-drift",
                          "--model",
                          "mon-crud",
                          "--reference",
                          rel,
                          "--window",
                          "30m",
                          "--schedule",
                          "@hourly",
                          "--test",
                          "amount=psi",
                          "--threshold",
                          "amount=0.2",
                          "--columns",
                          "amount, country",
                          "--alert",
                          "drift_share > 0.3",
                          "--alert",
                          "drifted[*] >= 1"});
  const json& m = created["monitor"];
  EXPECT_EQ(m["name"], "crud-drift");
  EXPECT_EQ(m["model"], "mon-crud");
  EXPECT_EQ(m["reference"], "file://" + fs::absolute(Ref()).lexically_normal().string());
  EXPECT_EQ(m["window"], "30m");
  EXPECT_EQ(m["schedule"], "@hourly");
  EXPECT_EQ(m["tests"], (json{{"amount", "psi"}}));
  EXPECT_EQ(m["thresholds"], (json{{"amount", 0.2}}));
  EXPECT_EQ(m["columns"], (json{"amount", "country"}));
  EXPECT_EQ(m["alerts"], (json{"drift_share > 0.3", "drifted[*] >= 1"}));
  EXPECT_GT(m["id"].get<int64_t>(), 0);

  Outcome text = Run({"monitors", "create", "crud-manual", "--model", "mon-crud", "--reference",
                      Ref(), "--window", "100rows"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(
      text.out,
      "Created monitor 'crud-manual' on model 'mon-crud' (window 100rows, manual runs only)\n");

  Outcome list = Run({"monitors", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(list.out.starts_with("name ")) << list.out;
  std::string row = list.out.substr(list.out.find("crud-drift"));
  row = row.substr(0, row.find('\n'));
  EXPECT_TRUE(Has(row, "mon-crud")) << row;
  EXPECT_TRUE(Has(row, "30m")) << row;
  EXPECT_TRUE(Has(row, "@hourly")) << row;
  json listed = RunJson({"monitors", "list"});
  std::vector<std::string> names;
  for (const auto& x : listed["monitors"]) names.push_back(x["name"]);
  EXPECT_NE(std::find(names.begin(), names.end(), "crud-drift"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "crud-manual"), names.end());

  Outcome get = Run({"monitors", "get", "crud-drift"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(Has(get.out, "window:")) << get.out;
  EXPECT_TRUE(Has(get.out, "amount=psi")) << get.out;
  EXPECT_TRUE(Has(get.out, "last_window:    - (none processed yet)")) << get.out;
  EXPECT_TRUE(Has(get.out, "open_alerts:    none")) << get.out;
  json doc = RunJson({"monitors", "get", "crud-drift"});
  EXPECT_TRUE(doc["last_window"].is_null()) << doc.dump();
  EXPECT_EQ(doc["open_alerts"], json::array());

  Outcome del = Run({"monitors", "delete", "crud-drift"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_EQ(del.out, "Deleted monitor 'crud-drift'\n");
  Outcome gone = Run({"monitors", "get", "crud-drift"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_TRUE(gone.err.starts_with("error: RESOURCE_DOES_NOT_EXIST: ")) << gone.err;
  EXPECT_TRUE(Has(gone.err, "'crud-drift'")) << gone.err;
  Outcome again = Run({"monitors", "delete", "crud-drift"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(again.err.starts_with("error: RESOURCE_DOES_NOT_EXIST: ")) << again.err;
}

TEST_F(MonitorsCliTest, BadSpecsAreRefusedNamingTheField) {
  RegisterModel("mon-bad");
  Outcome window = Run({"monitors", "create", "bad-window", "--model", "mon-bad", "--reference",
                        Ref(), "--window", "5parsecs"});
  EXPECT_EQ(window.exit_code, 1);
  EXPECT_TRUE(window.err.starts_with("error: INVALID_PARAMETER_VALUE: ")) << window.err;
  EXPECT_TRUE(Has(window.err, "window")) << window.err;

  Outcome model =
      Run({"monitors", "create", "bad-model", "--model", "no-such-model", "--reference", Ref()});
  EXPECT_EQ(model.exit_code, 1);
  EXPECT_TRUE(Has(model.err, "no-such-model")) << model.err;
  EXPECT_TRUE(model.err.starts_with("error: RESOURCE_DOES_NOT_EXIST: ") ||
              model.err.starts_with("error: INVALID_PARAMETER_VALUE: "))
      << model.err;

  Outcome column = Run({"monitors", "create", "bad-column", "--model", "mon-bad", "--reference",
                        server_->dir() + "/extra_column.csv"});
  EXPECT_EQ(column.exit_code, 1);
  EXPECT_TRUE(column.err.starts_with("error: INVALID_PARAMETER_VALUE: ")) << column.err;
  EXPECT_TRUE(Has(column.err, "zipcode")) << column.err;

  Outcome rule = Run({"monitors", "create", "bad-rule", "--model", "mon-bad", "--reference", Ref(),
                      "--alert", "recal < 0.8"});
  EXPECT_EQ(rule.exit_code, 1);
  EXPECT_TRUE(Has(rule.err, "recal")) << rule.err;

  ASSERT_EQ(
      Run({"monitors", "create", "dup", "--model", "mon-bad", "--reference", Ref()}).exit_code, 0);
  Outcome dup = Run({"monitors", "create", "dup", "--model", "mon-bad", "--reference", Ref()});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_TRUE(dup.err.starts_with("error: RESOURCE_ALREADY_EXISTS: ")) << dup.err;

  // None of the refused monitors exists.
  json listed = RunJson({"monitors", "list"});
  for (const auto& x : listed["monitors"]) {
    EXPECT_FALSE(x["name"].get<std::string>().starts_with("bad-")) << x.dump();
  }
}

TEST_F(MonitorsCliTest, RunWithCurrentFileReportAndMetrics) {
  RegisterModel("mon-run");
  ASSERT_EQ(Run({"monitors", "create", "run-drift", "--model", "mon-run", "--reference", Ref()})
                .exit_code,
            0);
  Outcome unknown =
      Run({"monitors", "run", "no-such-monitor", "--current", server_->dir() + "/shifted.csv"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_TRUE(unknown.err.starts_with("error: RESOURCE_DOES_NOT_EXIST: ")) << unknown.err;

  Outcome run = Run({"monitors", "run", "run-drift", "--current", server_->dir() + "/shifted.csv"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Has(run.out, ": done, 60 rows\n")) << run.out;
  // The drift table: amount moved (KS on 60 rows: p ~ 0), country did not.
  std::string amount = run.out.substr(run.out.find("\namount"));
  amount = amount.substr(1, amount.find('\n', 1));
  EXPECT_TRUE(Has(amount, "numeric")) << amount;
  EXPECT_TRUE(Has(amount, "ks")) << amount;
  EXPECT_TRUE(amount.ends_with("yes\n")) << amount;
  std::string country = run.out.substr(run.out.find("\ncountry"));
  country = country.substr(1, country.find('\n', 1));
  EXPECT_TRUE(Has(country, "categorical")) << country;
  EXPECT_TRUE(country.ends_with("no\n")) << country;
  EXPECT_TRUE(Has(run.out, "drift share 0.5 (1 of 2 columns drifted), dataset drift: yes"))
      << run.out;

  json second = RunJson({"monitors", "run", "run-drift", "--current", Ref()});
  const json& w = second["window"];
  EXPECT_EQ(w["status"], "done");
  EXPECT_EQ(w["rows"], 60);
  EXPECT_EQ(w["manual"], true);
  const json& cols = w["report"]["drift"]["columns"];
  ASSERT_EQ(cols.size(), 2u) << w.dump();
  for (const auto& c : cols) EXPECT_EQ(c["drifted"], false) << c.dump();  // the reference itself
  EXPECT_EQ(second["alert_changes"], json::array());                      // manual runs never alert

  // report: both windows, oldest first; the shifted one marks amount drifted.
  Outcome report = Run({"monitors", "report", "run-drift", "--last", "5"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_TRUE(Has(report.out, "last 2 window(s)")) << report.out;
  std::vector<std::string> lines;
  {
    std::istringstream in(report.out);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  }
  ASSERT_GE(lines.size(), 5u) << report.out;
  EXPECT_TRUE(Has(lines[1], "amount") && Has(lines[1], "country") && Has(lines[1], "drift_share"))
      << lines[1];
  EXPECT_TRUE(Has(lines[3], "*")) << lines[3];     // first window: amount drifted
  EXPECT_TRUE(Has(lines[3], " 0.5")) << lines[3];  // share
  EXPECT_FALSE(Has(lines[4], "*")) << lines[4];    // second: nothing drifted
  EXPECT_TRUE(Has(report.out, "quality: 60 rows, duplicates 0%")) << report.out;
  EXPECT_TRUE(Has(report.out, "out of range 100%")) << report.out;  // shifted amounts
  EXPECT_TRUE(Has(report.out, "performance: no labels yet")) << report.out;
  json rj = RunJson({"monitors", "report", "run-drift", "--last", "1"});
  ASSERT_EQ(rj["windows"].size(), 1u);
  EXPECT_EQ(rj["windows"][0]["report"]["drift"]["drifted_columns"], 0);

  // The server's /metrics from the latest done window, and no alerts firing;
  // a monitor without a done window has only its alert count.
  ASSERT_EQ(
      Run({"monitors", "create", "run-idle", "--model", "mon-run", "--reference", Ref()}).exit_code,
      0);
  test::HttpResult metrics = test::RawHttp(server_->port(), "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_TRUE(metrics.Header("content-type").starts_with("text/plain; version=0.0.4"))
      << metrics.Header("content-type");
  EXPECT_TRUE(Has(metrics.body, "# TYPE cairn_monitor_drift_share gauge\n")) << metrics.body;
  EXPECT_TRUE(Has(metrics.body, "cairn_monitor_drift_share{monitor=\"run-drift\"} 0\n"))
      << metrics.body;
  EXPECT_TRUE(
      Has(metrics.body, "cairn_monitor_drifted{monitor=\"run-drift\",feature=\"amount\"} 0\n"))
      << metrics.body;
  EXPECT_TRUE(
      Has(metrics.body, "cairn_monitor_drift_score{monitor=\"run-drift\",feature=\"amount\"} "))
      << metrics.body;
  EXPECT_TRUE(Has(metrics.body, "cairn_monitor_alerts_firing{monitor=\"run-drift\"} 0\n"))
      << metrics.body;
  EXPECT_TRUE(Has(metrics.body, "cairn_monitor_last_window_end_seconds{monitor=\"run-drift\"} "))
      << metrics.body;
  EXPECT_TRUE(Has(metrics.body, "cairn_monitor_alerts_firing{monitor=\"run-idle\"} 0\n"))
      << metrics.body;
  EXPECT_FALSE(Has(metrics.body, "cairn_monitor_drift_share{monitor=\"run-idle\"}"))
      << metrics.body;

  Outcome alerts = Run({"monitors", "alerts", "run-drift"});
  ASSERT_EQ(alerts.exit_code, 0) << alerts.err;
  EXPECT_TRUE(alerts.out.starts_with("id  status  rule")) << alerts.out;
  EXPECT_EQ(RunJson({"monitors", "alerts", "run-drift", "--status", "firing"})["alerts"],
            json::array());
}

// A monitor whose reference is the profile of reference.csv, as a local file
// and as a run artifact, scores every window exactly as the CSV monitor does.
TEST_F(MonitorsCliTest, ProfileReferenceRunsLikeTheCsv) {
  RegisterModel("mon-profile");
  const std::string profile = server_->dir() + "/reference.profile.json";
  Outcome made = Run({"monitors", "profile", Ref(), "--output", profile});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_TRUE(Has(made.out, ": 60 rows, 2 columns, ")) << made.out;

  json run = RunJson({"runs", "create", "--run-name", "reference"});
  const std::string run_id = run["run"]["info"]["run_id"];
  Outcome logged = Run({"artifacts", "log", run_id, profile});
  ASSERT_EQ(logged.exit_code, 0) << logged.err;

  ASSERT_EQ(Run({"monitors", "create", "prof-csv", "--model", "mon-profile", "--reference", Ref()})
                .exit_code,
            0);
  ASSERT_EQ(
      Run({"monitors", "create", "prof-file", "--model", "mon-profile", "--reference", profile})
          .exit_code,
      0);
  const std::string artifact = "runs:/" + run_id + "/reference.profile.json";
  json created = RunJson(
      {"monitors", "create", "prof-run", "--model", "mon-profile", "--reference", artifact});
  EXPECT_EQ(created["monitor"]["reference"], artifact);

  for (const std::string& current : {server_->dir() + "/shifted.csv", Ref()}) {
    SCOPED_TRACE(current);
    json want = RunJson({"monitors", "run", "prof-csv", "--current", current});
    const json& want_drift = want["window"]["report"]["drift"];
    ASSERT_EQ(want_drift["columns"].size(), 2u) << want.dump();
    for (const char* name : {"prof-file", "prof-run"}) {
      SCOPED_TRACE(name);
      json got = RunJson({"monitors", "run", name, "--current", current});
      EXPECT_EQ(got["window"]["status"], "done") << got.dump();
      const json& drift = got["window"]["report"]["drift"];
      ASSERT_EQ(drift["columns"].size(), 2u) << got.dump();
      for (size_t i = 0; i < 2; ++i) {
        const json& a = want_drift["columns"][i];
        const json& b = drift["columns"][i];
        EXPECT_EQ(b["column"], a["column"]);
        EXPECT_EQ(b["test"], a["test"]);
        EXPECT_EQ(b["score"], a["score"]) << a.dump() << " vs " << b.dump();
        EXPECT_EQ(b["statistic"], a["statistic"]);
        EXPECT_EQ(b["drifted"], a["drifted"]);
        EXPECT_EQ(b["reference_count"], 60);
      }
      EXPECT_EQ(drift["drift_share"], want_drift["drift_share"]);
      EXPECT_EQ(drift["dataset_drift"], want_drift["dataset_drift"]);
      EXPECT_EQ(got["window"]["report"]["quality"], want["window"]["report"]["quality"]);
    }
  }
  // The shifted batch drifts on amount against the profile too.
  json shifted =
      RunJson({"monitors", "run", "prof-run", "--current", server_->dir() + "/shifted.csv"});
  EXPECT_EQ(shifted["window"]["report"]["drift"]["drifted_columns"], 1) << shifted.dump();
}

TEST_F(MonitorsCliTest, LabelsLog) {
  RegisterModel("mon-labels");
  std::string file = server_->dir() + "/labels.csv";
  std::ofstream(file) << "request_id,label,row\nreq-1,1,0\nreq-2,0,0\nreq-2,1,1\n";
  Outcome o = Run({"labels", "log", "mon-labels", "--file", file});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out,
            "Logged 3 label(s) for model 'mon-labels'; 3 for request ids no monitor has seen "
            "yet (kept, joined when their predictions are processed)\n");
  json j = RunJson({"labels", "log", "mon-labels", "--file", file});
  EXPECT_EQ(j, (json{{"logged", 3}, {"unknown_request_ids", 3}}));

  Outcome unknown = Run({"labels", "log", "no-such-model", "--file", file});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_TRUE(unknown.err.starts_with("error: RESOURCE_DOES_NOT_EXIST: ")) << unknown.err;

  std::string bad = server_->dir() + "/bad_labels.csv";
  std::ofstream(bad) << "id,truth\nreq-1,1\n";
  Outcome header = Run({"labels", "log", "mon-labels", "--file", bad});
  EXPECT_EQ(header.exit_code, 1);
  EXPECT_TRUE(header.err.starts_with("error: INVALID_PARAMETER_VALUE: ")) << header.err;
  EXPECT_TRUE(Has(header.err, "request_id")) << header.err;
}

// Windows of a local inference log, labels joined to their predictions by
// request id, and the performance they give in report and /metrics.
TEST_F(MonitorsCliTest, InferenceLogLabelsAndPerformance) {
  RegisterModel("mon-perf");
  // Eight logged requests a minute ago (one row each): prediction i % 2.
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t first = now - 60'000;
  std::time_t secs = static_cast<std::time_t>(first / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char date[16];
  std::strftime(date, sizeof(date), "%Y-%m-%d", &tm);
  std::string folder = server_->dir() + "/ilog/mon-perf/" + date;
  fs::create_directories(folder);
  {
    std::ofstream seg(folder + "/" + std::to_string(first) + "-0.jsonl");
    for (int i = 0; i < 8; ++i) {
      json rec = {
          {"ts", first + i},
          {"request_id", "req-" + std::to_string(i)},
          {"deployment", "mon-perf"},
          {"model", "mon-perf"},
          {"version", "1"},
          {"role", "live"},
          {"latency_us", 100},
          {"status", 200},
          {"inputs",
           {{"kind", "columns"},
            {"tensors",
             {{{"name", "amount"}, {"datatype", "FP64"}, {"shape", {1}}, {"data", {10.0 * i}}},
              {{"name", "country"},
               {"datatype", "BYTES"},
               {"shape", {1}},
               {"data", {i % 2 ? "US" : "DE"}}}}}}},
          {"outputs",
           {{"frame", false},
            {"tensors",
             {{{"name", "predict"}, {"datatype", "INT64"}, {"shape", {1}}, {"data", {i % 2}}}}}}}};
      seg << rec.dump() << "\n";
    }
  }
  ASSERT_EQ(Run({"monitors", "create", "perf-mon", "--model", "mon-perf", "--reference", Ref(),
                 "--log-uri", server_->dir() + "/ilog"})
                .exit_code,
            0);
  json first_run = RunJson({"monitors", "run", "perf-mon"});
  EXPECT_EQ(first_run["window"]["status"], "done") << first_run.dump();
  EXPECT_EQ(first_run["window"]["rows"], 8);

  // Labels: right for requests 0..5, wrong for 6 and 7; one for a request
  // no monitor has seen.
  std::string file = server_->dir() + "/perf_labels.csv";
  {
    std::ofstream labels(file);
    labels << "request_id,label\n";
    for (int i = 0; i < 8; ++i) labels << "req-" << i << "," << (i < 6 ? i % 2 : 1 - i % 2) << "\n";
    labels << "req-unseen,1\n";
  }
  json logged = RunJson({"labels", "log", "mon-perf", "--file", file});
  EXPECT_EQ(logged, (json{{"logged", 9}, {"unknown_request_ids", 1}}));

  // A new window over the same records joins the labels at once.
  ASSERT_EQ(Run({"monitors", "run", "perf-mon"}).exit_code, 0);
  json report = RunJson({"monitors", "report", "perf-mon", "--last", "1"});
  ASSERT_EQ(report["windows"].size(), 1u) << report.dump();
  const json& perf = report["windows"][0]["performance"];
  EXPECT_EQ(perf["accuracy"], 0.75) << report.dump();
  EXPECT_EQ(perf["labeled_rows"], 8) << report.dump();
  Outcome text = Run({"monitors", "report", "perf-mon", "--last", "1"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(Has(text.out, "performance: accuracy 0.75, ")) << text.out;
  EXPECT_TRUE(Has(text.out, "(8 labeled rows)")) << text.out;

  test::HttpResult metrics = test::RawHttp(server_->port(), "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_TRUE(Has(metrics.body,
                  "cairn_monitor_performance{monitor=\"perf-mon\",metric=\"accuracy\"} 0.75\n"))
      << metrics.body;
}

// ------------------------------------------------ `cairn server` processes

// `cairn server` started as a user starts it, in its own folder.
class MonitorsServerTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("cairn-monitors-server-test");
    outside_ = dir_ + "/elsewhere";
    fs::create_directories(outside_);
    std::ofstream(outside_ + "/ref.csv") << "amount,country\n1,US\n2,DE\n3,FR\n";
  }
  void TearDown() override {
    Stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Starts the server with `args` and `env`; returns its banner line.
  std::string Start(std::vector<std::string> args, std::vector<std::string> env = {}) {
    Stop();
    std::vector<std::string> full = {"server",
                                     "-p",
                                     "0",
                                     "--backend-store-uri",
                                     "sqlite://" + dir_ + "/cairn.db",
                                     "--artifacts-destination",
                                     "file://" + dir_ + "/artifacts"};
    full.insert(full.end(), args.begin(), args.end());
    env.push_back("CAIRN_USER=");
    pid_ = test::SpawnProcess(CAIRN_BINARY, full, "", &out_fd_, dir_ + "/server.err", env);
    EXPECT_GT(pid_, 0);
    std::string line = ReadLine(std::chrono::seconds(30));
    const std::string prefix = "cairn server listening on http://127.0.0.1:";
    EXPECT_TRUE(line.starts_with(prefix)) << line << ReadFile(dir_ + "/server.err");
    if (line.starts_with(prefix)) {
      port_ = std::stoi(line.substr(prefix.size()));
      uri_ = "http://127.0.0.1:" + std::to_string(port_);
    }
    return line;
  }
  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      EXPECT_EQ(test::WaitExit(pid_), 0) << ReadFile(dir_ + "/server.err");
      pid_ = -1;
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    out_fd_ = -1;
  }
  std::string ReadLine(std::chrono::seconds timeout) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char c;
      if (::read(out_fd_, &c, 1) != 1 || c == '\n') break;
      line.push_back(c);
    }
    return line;
  }
  Outcome Run(const std::vector<std::string>& args) {
    return RunBinary(dir_, args, {"CAIRN_TRACKING_URI=" + uri_});
  }

  std::string dir_, outside_, uri_;
  int port_ = 0;
  pid_t pid_ = -1;
  int out_fd_ = -1;
};

TEST_F(MonitorsServerTest, LocalFilesOnlyUnderTheArtifactsAndTheDataRoots) {
  std::string banner = Start({});
  EXPECT_TRUE(Has(banner, "; monitor local files: under " + dir_ + "/artifacts;")) << banner;
  ASSERT_EQ(test::RawHttp(port_, "POST", "/api/2.0/mlflow/registered-models/create",
                          json{{"name", "fraud"}}.dump())
                .status,
            200);
  const std::string refusal =
      "' is outside the folders this server reads local files from (--monitor-data-root DIR, "
      "CAIRN_MONITOR_DATA_ROOT); log it as a run artifact and use runs:/ or mlflow-artifacts:/ "
      "instead\n";
  // A file outside, and one that does not exist: the same answer.
  for (const std::string& path :
       {outside_ + "/ref.csv", outside_ + "/absent.csv", std::string("/etc/passwd")}) {
    Outcome o = Run({"monitors", "create", "m", "--model", "fraud", "--reference", path});
    EXPECT_EQ(o.exit_code, 1);
    EXPECT_EQ(o.err,
              "error: INVALID_PARAMETER_VALUE: monitor spec: 'reference' reference 'file://" +
                  path + refusal)
        << path;
  }
  // What users should do: log the file as a run artifact.
  json run = json::parse(Run({"runs", "create", "--json"}).out);
  const std::string run_id = run["run"]["info"]["run_id"];
  ASSERT_EQ(Run({"artifacts", "log", run_id, outside_ + "/ref.csv"}).exit_code, 0);
  Outcome via_run = Run({"monitors", "create", "via-run", "--model", "fraud", "--reference",
                         "runs:/" + run_id + "/ref.csv"});
  EXPECT_EQ(via_run.exit_code, 0) << via_run.err;
  Outcome climb = Run({"monitors", "create", "climb", "--model", "fraud", "--reference",
                       "runs:/" + run_id + "/../../../../elsewhere/ref.csv"});
  EXPECT_EQ(climb.exit_code, 1);
  EXPECT_TRUE(climb.err.starts_with("error: INVALID_PARAMETER_VALUE: ")) << climb.err;

  // --monitor-data-root (repeatable) lets the folder in.
  banner = Start({"--monitor-data-root", outside_, "--monitor-data-root", dir_ + "/more"});
  EXPECT_TRUE(Has(banner, "; monitor local files: under " + dir_ + "/artifacts, " + outside_ +
                              ", " + dir_ + "/more;"))
      << banner;
  Outcome flag = Run(
      {"monitors", "create", "by-flag", "--model", "fraud", "--reference", outside_ + "/ref.csv"});
  EXPECT_EQ(flag.exit_code, 0) << flag.err;
  Outcome still =
      Run({"monitors", "create", "passwd", "--model", "fraud", "--reference", "/etc/passwd"});
  EXPECT_EQ(still.exit_code, 1);
  EXPECT_TRUE(Has(still.err, "'file:///etc/passwd' is outside the folders")) << still.err;

  // CAIRN_MONITOR_DATA_ROOT, colon-separated.
  banner = Start({}, {"CAIRN_MONITOR_DATA_ROOT=" + dir_ + "/more:" + outside_});
  EXPECT_TRUE(Has(banner, "under " + dir_ + "/artifacts, " + dir_ + "/more, " + outside_ + ";"))
      << banner;
  Outcome env = Run(
      {"monitors", "create", "by-env", "--model", "fraud", "--reference", outside_ + "/ref.csv"});
  EXPECT_EQ(env.exit_code, 0) << env.err;
}

TEST_F(MonitorsServerTest, HelpDescribesTheDataRoot) {
  Outcome help = RunBinary(dir_, {"server", "--help"}, {});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(Has(help.out, "--monitor-data-root DIR")) << help.out;
  EXPECT_TRUE(Has(help.out, "CAIRN_MONITOR_DATA_ROOT")) << help.out;
}

}  // namespace
}  // namespace cairn::cli
