// Runs the built `cairn` binary (CAIRN_BINARY) as a user would: client-mode
// commands against a live App on 127.0.0.1:0, and `cairn server` itself as a
// child process (startup line, SIGTERM, port in use).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "client/registry_client.h"
#include "support/live_server.h"
#include "support/subprocess.h"
#include "support/temp_files.h"

extern char** environ;

namespace cairn::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::MakeTempDir;
using test::ReadFile;

using Outcome = test::CommandOutcome;

// The binary under test (support/subprocess.h).
pid_t Spawn(const std::vector<std::string>& args, const std::string& out_file, int* out_fd,
            const std::string& err_file, const std::vector<std::string>& env = {}) {
  return test::SpawnProcess(CAIRN_BINARY, args, out_file, out_fd, err_file, env);
}
using test::WaitExit;

class CliTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = test::LiveServer::Start("cairn-cli-test");
    ASSERT_TRUE(server) << server.error().ToString();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // Runs `cairn <args>` to completion. The server is named through the
  // environment (as users do), so `args` stay what a person types.
  Outcome Run(std::vector<std::string> args, std::vector<std::string> env = {}) {
    env.push_back("CAIRN_TRACKING_URI=" + server_->uri());
    return test::RunCommand(CAIRN_BINARY, args, server_->dir(), env);
  }

  json RunJson(std::vector<std::string> args) {
    args.push_back("--json");
    Outcome o = Run(args);
    EXPECT_EQ(o.exit_code, 0) << o.err;
    try {
      return json::parse(o.out);
    } catch (const json::exception& e) {
      ADD_FAILURE() << "not JSON: " << o.out;
      return json();
    }
  }

  static inline test::LiveServer* server_ = nullptr;
};

TEST_F(CliTest, ExperimentsCreateGetListRename) {
  Outcome created = Run({"experiments", "create", "cli-exp", "--tag", "team=risk"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_NE(created.out.find("Created experiment 'cli-exp' with id "), std::string::npos)
      << created.out;

  json got = RunJson({"experiments", "get", "cli-exp"});
  EXPECT_EQ(got["experiment"]["name"], "cli-exp");
  EXPECT_EQ(got["experiment"]["tags"][0]["key"], "team");
  std::string id = got["experiment"]["experiment_id"];
  // The same experiment by id, flags after the positional argument.
  EXPECT_EQ(RunJson({"experiments", "get", id})["experiment"]["name"], "cli-exp");

  Outcome list = Run({"experiments", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::string header = list.out.substr(0, list.out.find('\n'));
  for (const char* col : {"experiment_id", "name", "lifecycle_stage", "artifact_location"}) {
    EXPECT_NE(header.find(col), std::string::npos) << header;
  }
  EXPECT_NE(list.out.find("cli-exp"), std::string::npos);

  ASSERT_EQ(Run({"experiments", "rename", "cli-exp", "cli-exp-2"}).exit_code, 0);
  EXPECT_EQ(RunJson({"experiments", "get", id})["experiment"]["name"], "cli-exp-2");
  ASSERT_EQ(Run({"experiments", "delete", id}).exit_code, 0);
  EXPECT_EQ(RunJson({"experiments", "get", id})["experiment"]["lifecycle_stage"], "deleted");
  ASSERT_EQ(Run({"experiments", "restore", "cli-exp-2"}).exit_code, 0);
  EXPECT_EQ(RunJson({"experiments", "get", id})["experiment"]["lifecycle_stage"], "active");

  Outcome dup = Run({"experiments", "create", "cli-exp-2"});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_TRUE(dup.err.starts_with("error: RESOURCE_ALREADY_EXISTS: ")) << dup.err;
}

TEST_F(CliTest, RunsLogThenSearchWithFilterAsJsonAndAsTable) {
  ASSERT_EQ(Run({"experiments", "create", "cli-runs"}).exit_code, 0);
  json good = RunJson({"runs", "create", "--experiment-name", "cli-runs", "--run-name", "good"});
  json bad = RunJson({"runs", "create", "--experiment-name", "cli-runs", "--run-name", "bad"});
  std::string good_id = good["run"]["info"]["run_id"];
  std::string bad_id = bad["run"]["info"]["run_id"];
  ASSERT_EQ(good_id.size(), 32u);

  Outcome logged = Run({"runs", "log-metric", good_id, "acc", "0.9", "--step", "3"});
  ASSERT_EQ(logged.exit_code, 0) << logged.err;
  ASSERT_EQ(Run({"runs", "log-metric", bad_id, "acc", "0.2"}).exit_code, 0);
  ASSERT_EQ(Run({"runs", "log-param", good_id, "lr", "0.1"}).exit_code, 0);
  ASSERT_EQ(Run({"runs", "set-tag", good_id, "stage", "prod"}).exit_code, 0);

  json found = RunJson({"runs", "search", "--experiment-name", "cli-runs", "--filter",
                        "metrics.acc > 0.5", "--order-by", "metrics.acc DESC"});
  ASSERT_EQ(found["runs"].size(), 1u) << found.dump();
  const json& run = found["runs"][0];
  EXPECT_EQ(run["info"]["run_id"], good_id);
  EXPECT_EQ(run["info"]["run_name"], "good");
  ASSERT_EQ(run["data"]["metrics"].size(), 1u);
  EXPECT_EQ(run["data"]["metrics"][0]["key"], "acc");
  EXPECT_DOUBLE_EQ(run["data"]["metrics"][0]["value"].get<double>(), 0.9);
  EXPECT_EQ(run["data"]["metrics"][0]["step"], 3);
  EXPECT_EQ(run["data"]["params"][0], (json{{"key", "lr"}, {"value", "0.1"}}));

  Outcome table = Run({"runs", "list", "--experiment-name", "cli-runs"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  std::string header = table.out.substr(0, table.out.find('\n'));
  for (const char* col : {"run_id", "name", "status", "start_time", "metrics.acc", "params.lr"}) {
    EXPECT_NE(header.find(col), std::string::npos) << header;
  }
  // Both runs, the good one showing its metric and param in its row.
  std::istringstream lines(table.out);
  std::string line;
  int rows = 0;
  while (std::getline(lines, line)) {
    if (line.starts_with(good_id)) {
      EXPECT_NE(line.find("0.9"), std::string::npos) << line;
      EXPECT_NE(line.find("RUNNING"), std::string::npos) << line;
      ++rows;
    } else if (line.starts_with(bad_id)) {
      ++rows;
    }
  }
  EXPECT_EQ(rows, 2) << table.out;

  // --columns: exactly these, in this order (a tag among them).
  Outcome chosen = Run({"runs", "list", "--experiment-name", "cli-runs", "--columns",
                        "tags.stage,metrics.acc", "--columns", "params.lr"});
  ASSERT_EQ(chosen.exit_code, 0) << chosen.err;
  header = chosen.out.substr(0, chosen.out.find('\n'));
  const size_t stage_at = header.find("tags.stage"), acc_at = header.find("metrics.acc"),
               lr_at = header.find("params.lr");
  ASSERT_NE(stage_at, std::string::npos) << header;
  EXPECT_LT(stage_at, acc_at) << header;
  EXPECT_LT(acc_at, lr_at) << header;
  EXPECT_NE(lr_at, std::string::npos) << header;
  std::istringstream chosen_lines(chosen.out);
  bool saw_good = false;
  while (std::getline(chosen_lines, line)) {
    if (!line.starts_with(good_id)) continue;
    saw_good = true;
    const size_t prod = line.find("prod"), acc = line.find("0.9"), lr = line.find("0.1");
    ASSERT_NE(prod, std::string::npos) << line;
    EXPECT_LT(prod, acc) << line;
    EXPECT_LT(acc, lr) << line;
  }
  EXPECT_TRUE(saw_good) << chosen.out;
  Outcome bad_column = Run({"runs", "list", "--experiment-name", "cli-runs", "--columns", "acc"});
  EXPECT_EQ(bad_column.exit_code, 1) << bad_column.out;
  EXPECT_NE(bad_column.err.find("--columns 'acc': use metrics.KEY, params.KEY or tags.KEY"),
            std::string::npos)
      << bad_column.err;

  Outcome updated = Run({"runs", "update", good_id, "--status", "FINISHED"});
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  json after = RunJson({"runs", "get", good_id});
  EXPECT_EQ(after["run"]["info"]["status"], "FINISHED");
  EXPECT_TRUE(after["run"]["info"].contains("end_time"));
}

TEST_F(CliTest, UserFlagIsTheAuditActorOfExperimentsAndRuns) {
  // After a positional argument: falls through to the group's --user.
  Outcome exp = Run({"experiments", "create", "cli-actor", "--user", "bob"});
  ASSERT_EQ(exp.exit_code, 0) << exp.err;
  std::string exp_id = RunJson({"experiments", "get", "cli-actor"})["experiment"]["experiment_id"];
  // Before the subcommand: the actor; create's own --user stays the run's owner.
  json run = RunJson(
      {"runs", "--user", "alice", "create", "--experiment-name", "cli-actor", "--user", "owner"});
  std::string run_id = run["run"]["info"]["run_id"];
  EXPECT_EQ(run["run"]["info"]["user_id"], "owner");
  ASSERT_EQ(Run({"runs", "update", run_id, "--status", "FINISHED", "--user", "carol"}).exit_code,
            0);
  ASSERT_EQ(Run({"runs", "delete", run_id}, {"CAIRN_USER=dave"}).exit_code, 0);
  ASSERT_EQ(Run({"runs", "restore", run_id}, {"CAIRN_USER="}).exit_code, 0);  // no user

  auto reg = client::RegistryClient::Create(server_->uri());
  ASSERT_TRUE(reg) << reg.error().ToString();
  auto actors = [&](const std::string& type, const std::string& id) {
    std::map<std::string, std::string> by_action;
    auto entries = reg->SearchAllAudit({.entity_type = type, .entity_id = id});
    EXPECT_TRUE(entries) << entries.error().ToString();
    if (entries) {
      for (const auto& e : *entries) by_action[e.action] = e.actor;
    }
    return by_action;
  };
  EXPECT_EQ(actors("experiment", exp_id),
            (std::map<std::string, std::string>{{"experiment.create", "bob"}}));
  EXPECT_EQ(actors("run", run_id), (std::map<std::string, std::string>{
                                       {"run.create", "alice"},
                                       {"run.update", "carol"},
                                       {"run.delete", "dave"},
                                       {"run.restore", "anonymous"},
                                   }));

  Outcome bad = Run({"runs", "list", "--user", "eve\nX-Admin: yes"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("control characters"), std::string::npos) << bad.err;
}

TEST_F(CliTest, UnknownRunFailsWithTheServersMessage) {
  const std::string unknown = "0123456789abcdef0123456789abcdef";
  Outcome o = Run({"runs", "get", unknown});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_TRUE(o.err.starts_with("error: RESOURCE_DOES_NOT_EXIST: ")) << o.err;
  EXPECT_NE(o.err.find(unknown), std::string::npos) << o.err;
  EXPECT_EQ(o.out, "");

  Outcome metric = Run({"runs", "log-metric", unknown, "acc", "1"});
  EXPECT_EQ(metric.exit_code, 1);
  EXPECT_NE(metric.err.find("RESOURCE_DOES_NOT_EXIST"), std::string::npos) << metric.err;
}

TEST_F(CliTest, UsageErrorsExitWithTwo) {
  EXPECT_EQ(Run({"runs", "log-metric", "only-a-run-id"}).exit_code, 2);
  EXPECT_EQ(Run({"runs"}).exit_code, 2);
  EXPECT_EQ(Run({"no-such-command"}).exit_code, 2);
  Outcome help = Run({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* cmd : {"server", "db", "experiments", "runs", "artifacts"}) {
    EXPECT_NE(help.out.find(cmd), std::string::npos) << help.out;
  }
  Outcome bad_value = Run({"runs", "log-metric", "r", "acc", "high"});
  EXPECT_EQ(bad_value.exit_code, 1);
  EXPECT_NE(bad_value.err.find("'high' is not a number"), std::string::npos) << bad_value.err;
}

TEST_F(CliTest, UnreachableServerNamesTheUri) {
  Outcome o = Run({"experiments", "list", "--tracking-uri", "http://127.0.0.1:1"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("cannot reach the tracking server at http://127.0.0.1:1"), std::string::npos)
      << o.err;
}

TEST_F(CliTest, ArtifactsLogListDownload) {
  json run = RunJson({"runs", "create"});
  std::string id = run["run"]["info"]["run_id"];
  std::string src = MakeTempDir("cairn-cli-test");
  fs::create_directories(src + "/data/sub");
  std::ofstream(src + "/data/sub/x.csv") << "a,b\n1,2\n";
  std::ofstream(src + "/data/readme.txt") << "hi";

  Outcome logged = Run({"artifacts", "log", id, src + "/data", "--artifact-path", "ds"});
  ASSERT_EQ(logged.exit_code, 0) << logged.err;
  EXPECT_NE(logged.out.find("Uploaded 2 files"), std::string::npos) << logged.out;

  json listed = RunJson({"artifacts", "list", id, "--path", "ds"});
  ASSERT_EQ(listed["files"].size(), 2u) << listed.dump();
  EXPECT_EQ(listed["files"][0],
            (json{{"path", "ds/readme.txt"}, {"is_dir", false}, {"file_size", 2}}));
  EXPECT_EQ(listed["files"][1], (json{{"path", "ds/sub"}, {"is_dir", true}}));

  std::string dst = MakeTempDir("cairn-cli-test");
  Outcome down = Run({"artifacts", "download", id, "--path", "ds", "--dst", dst});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(down.out, dst + "/ds\n");
  EXPECT_EQ(ReadFile(dst + "/ds/sub/x.csv"), "a,b\n1,2\n");
  EXPECT_EQ(ReadFile(dst + "/ds/readme.txt"), "hi");
  std::error_code ec;
  fs::remove_all(src, ec);
  fs::remove_all(dst, ec);
}

TEST_F(CliTest, DbUpgradePrintsTheSchemaVersion) {
  std::string db = server_->dir() + "/direct/cairn.db";
  Outcome o = Run({"db", "upgrade", "--backend-store-uri", "sqlite://" + db});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("schema version "), std::string::npos) << o.out;
  EXPECT_TRUE(fs::exists(db));
  Outcome again = Run({"db", "version"}, {"CAIRN_BACKEND_STORE_URI=sqlite://" + db});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  // Same version both times (the number after "schema version ").
  auto version = [](const std::string& s) { return s.substr(s.find("schema version ")); };
  EXPECT_EQ(version(again.out), version(o.out));
}

// Reads from `fd` until a newline or the deadline; returns the line.
std::string ReadLine(int fd, std::chrono::seconds timeout) {
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char c;
    if (read(fd, &c, 1) != 1) break;
    if (c == '\n') break;
    line.push_back(c);
  }
  return line;
}

TEST_F(CliTest, ServerStartsServesAndStopsOnSigterm) {
  std::string data = MakeTempDir("cairn-cli-test");
  std::string err = data + "/server.err";
  int out_fd = -1;
  // The port comes from the flag; the stores from the environment.
  pid_t pid = Spawn({"server", "-p", "0", "--workers", "2"}, "", &out_fd, err,
                    {"CAIRN_BACKEND_STORE_URI=sqlite://" + data + "/s.db",
                     "CAIRN_ARTIFACTS_DESTINATION=file://" + data + "/art"});
  ASSERT_GT(pid, 0);
  std::string line = ReadLine(out_fd, std::chrono::seconds(30));
  ASSERT_TRUE(line.starts_with("cairn server listening on http://127.0.0.1:")) << line << "\n"
                                                                               << ReadFile(err);
  EXPECT_NE(line.find("sqlite://" + data + "/s.db"), std::string::npos) << line;
  EXPECT_NE(line.find("file://" + data + "/art"), std::string::npos) << line;
  std::string rest = line.substr(std::string("cairn server listening on http://127.0.0.1:").size());
  int port = std::stoi(rest);
  ASSERT_GT(port, 0);

  std::string uri = "http://127.0.0.1:" + std::to_string(port);
  Outcome created = Run({"experiments", "create", "via-server", "--tracking-uri", uri});
  EXPECT_EQ(created.exit_code, 0) << created.err;

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(pid), 0) << ReadFile(err);
  close(out_fd);
  Outcome gone = Run({"experiments", "list", "--tracking-uri", uri});
  EXPECT_EQ(gone.exit_code, 1);
  std::error_code ec;
  fs::remove_all(data, ec);
}

TEST_F(CliTest, ServerFailsClearlyWhenThePortIsTaken) {
  std::string data = MakeTempDir("cairn-cli-test");
  std::string out = data + "/out", err = data + "/err";
  pid_t pid =
      Spawn({"server", "--port", std::to_string(server_->port()), "--backend-store-uri",
             "sqlite://" + data + "/s.db", "--artifacts-destination", "file://" + data + "/art"},
            out, nullptr, err);
  int code = WaitExit(pid);
  EXPECT_NE(code, 0);
  std::string message = ReadFile(err);
  EXPECT_NE(message.find("error: "), std::string::npos) << message;
  EXPECT_NE(message.find(std::to_string(server_->port())), std::string::npos) << message;
  std::error_code ec;
  fs::remove_all(data, ec);
}

}  // namespace
}  // namespace cairn::cli
