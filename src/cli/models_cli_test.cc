// `cairn models ...`: runs the built binary (CAIRN_BINARY) as a user would.
//  - ModelsArgsTest: argument checks that fail before any request (the
//    tracking URI points at a closed port, so reaching the network would
//    show up as TEMPORARILY_UNAVAILABLE instead of the expected message).
//  - ModelsCliTest: every command against a live App (SQLite + a local
//    artifact folder, 127.0.0.1:0), asserting on the values printed.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/live_server.h"
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

// ------------------------------------------------- arguments (no server)

class ModelsArgsTest : public testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("cairn-models-test"); }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Outcome Run(std::vector<std::string> args) {
    return RunBinary(dir_, args, {"CAIRN_TRACKING_URI=http://127.0.0.1:1"});
  }
  // Exit 1 with "error: INVALID_PARAMETER_VALUE: <message containing `what`>".
  void ExpectInvalid(const std::vector<std::string>& args, const std::string& what) {
    Outcome o = Run(args);
    EXPECT_EQ(o.exit_code, 1) << o.err;
    EXPECT_TRUE(o.err.starts_with("error: INVALID_PARAMETER_VALUE: ")) << o.err;
    EXPECT_NE(o.err.find(what), std::string::npos) << o.err;
    EXPECT_EQ(o.out, "");
  }
  std::string dir_;
};

TEST_F(ModelsArgsTest, VersionsAndIdsMustBePositiveIntegers) {
  ExpectInvalid({"models", "get", "fraud", "--version", "abc"}, "'abc' is not a model version");
  ExpectInvalid({"models", "set-alias", "fraud", "champion", "0"}, "'0' is not a model version");
  ExpectInvalid({"models", "transition", "fraud", "v1", "Production"}, "'v1' is not a model");
  ExpectInvalid({"models", "lineage", "fraud", "-3"}, "'-3' is not a model version");
  ExpectInvalid({"models", "download", "fraud", "1.5", "--dst", dir_ + "/d"},
                "'1.5' is not a model version");
  ExpectInvalid({"models", "approvals", "approve", "seven"}, "'seven' is not a request id");
  ExpectInvalid({"models", "webhooks", "deliveries", "x"}, "'x' is not a webhook id");
}

TEST_F(ModelsArgsTest, ConflictingOrMissingChoices) {
  ExpectInvalid({"models", "download", "fraud", "--dst", dir_ + "/d"},
                "give a VERSION or --alias ALIAS");
  ExpectInvalid({"models", "download", "fraud", "2", "--alias", "champion", "--dst", dir_ + "/d"},
                "give a VERSION or --alias ALIAS");
  ExpectInvalid({"models", "get", "fraud", "--version", "1", "--alias", "a"}, "not both");
  ExpectInvalid({"models", "protect", "fraud"}, "or --clear");
  ExpectInvalid({"models", "protect", "fraud", "champion", "--clear"}, "not both");
  ExpectInvalid({"models", "register", "runs:/r/model", "fraud", "--tag", "novalue"},
                "'novalue' is not key=value");
}

TEST_F(ModelsArgsTest, AuditTimesAreMillisOrIsoDates) {
  ExpectInvalid({"models", "audit", "fraud", "--since", "yesterday"}, "'yesterday' is not a time");
  ExpectInvalid({"models", "audit", "fraud", "--until", "2024-13-01"},
                "'2024-13-01' is not a time");
  ExpectInvalid({"models", "audit", "fraud", "--until", "2024-01-01T10"}, "is not a time");
  // Accepted forms get as far as the (closed) server.
  for (const char* t : {"1700000000000", "2024-01-02", "2024-01-02T03:04", "2024-01-02T03:04:05Z",
                        "2024-01-02 03:04:05"}) {
    Outcome o = Run({"models", "audit", "fraud", "--since", t});
    EXPECT_EQ(o.exit_code, 1);
    EXPECT_TRUE(o.err.starts_with("error: TEMPORARILY_UNAVAILABLE: cannot reach")) << t << o.err;
  }
}

TEST_F(ModelsArgsTest, UsageErrorsExitWithTwo) {
  EXPECT_EQ(Run({"models"}).exit_code, 2);
  EXPECT_EQ(Run({"models", "set-alias", "fraud", "champion"}).exit_code, 2);  // no VERSION
  EXPECT_EQ(Run({"models", "download", "fraud", "1"}).exit_code, 2);          // no --dst
  EXPECT_EQ(Run({"models", "approvals", "reject", "3"}).exit_code, 2);        // no --comment
  EXPECT_EQ(Run({"models", "webhooks", "create", "--url", "http://h"}).exit_code, 2);  // no secret
  EXPECT_EQ(Run({"models", "rollback", "fraud"}).exit_code, 2);                        // no --alias
  Outcome help = Run({"models", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* cmd :
       {"list", "get", "versions", "register", "set-alias", "delete-alias", "transition",
        "rollback", "audit", "lineage", "download", "protect", "approvals", "webhooks", "--user"}) {
    EXPECT_NE(help.out.find(cmd), std::string::npos) << cmd;
  }
}

TEST_F(ModelsArgsTest, BadUserNameIsRefusedBeforeSending) {
  Outcome o = Run({"models", "list", "--user", "eve\nX-Admin: yes"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("control characters"), std::string::npos) << o.err;
}

// --------------------------------------------------------- live server

class ModelsCliTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = test::LiveServer::Start("cairn-models-test");
    ASSERT_TRUE(server) << server.error().ToString();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  Outcome Run(const std::vector<std::string>& args, const std::string& user = "") {
    std::vector<std::string> env = {"CAIRN_TRACKING_URI=" + server_->uri()};
    if (!user.empty()) env.push_back("CAIRN_USER=" + user);
    return RunBinary(server_->dir(), args, env);
  }
  json RunJson(std::vector<std::string> args, const std::string& user = "") {
    args.push_back("--json");
    Outcome o = Run(args, user);
    EXPECT_EQ(o.exit_code, 0) << o.err;
    try {
      return json::parse(o.out);
    } catch (const json::exception&) {
      ADD_FAILURE() << "not JSON: " << o.out << o.err;
      return json::object();
    }
  }

  // A run holding a model folder at "model" (MLmodel with a signature and a
  // weights file); returns the run id.
  std::string LogModelRun(const std::string& weights, const std::string& param = "0.1") {
    json run = RunJson({"runs", "create", "--run-name", "train"});
    std::string id = run["run"]["info"]["run_id"];
    EXPECT_EQ(Run({"runs", "log-param", id, "lr", param}).exit_code, 0);
    std::string src = MakeTempDir("cairn-models-test");
    fs::create_directories(src + "/model/data");
    std::ofstream(src + "/model/MLmodel")
        << "artifact_path: model\n"
           "flavors:\n"
           "  python_function:\n"
           "    loader_module: mlflow.sklearn\n"
           "    python_version: 3.11.4\n"
           "signature:\n"
           "  inputs: '[{\"type\": \"double\", \"name\": \"x\", \"required\": true}]'\n"
           "  outputs: '[{\"type\": \"long\", \"required\": true}]'\n";
    std::ofstream(src + "/model/data/weights.bin") << weights;
    Outcome logged = Run({"artifacts", "log", id, src + "/model", "--artifact-path", "model"});
    EXPECT_EQ(logged.exit_code, 0) << logged.err;
    std::error_code ec;
    fs::remove_all(src, ec);
    return id;
  }

  // Registers a fresh model `name` with `n` versions; returns the run ids.
  std::vector<std::string> RegisterVersions(const std::string& name, int n) {
    std::vector<std::string> runs;
    for (int i = 1; i <= n; ++i) {
      std::string run = LogModelRun("w" + std::to_string(i));
      Outcome o = Run({"models", "register", "runs:/" + run + "/model", name});
      EXPECT_EQ(o.exit_code, 0) << o.err;
      runs.push_back(run);
    }
    return runs;
  }

  static inline test::LiveServer* server_ = nullptr;
};

TEST_F(ModelsCliTest, RegisterGetAndListVersions) {
  std::string run = LogModelRun("weights-1");
  Outcome first =
      Run({"models", "register", "runs:/" + run + "/model", "cli-fraud", "--tag", "owner=risk"},
          "alice");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("Created registered model 'cli-fraud'"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("Registered 'cli-fraud' version 1"), std::string::npos) << first.out;

  std::string run2 = LogModelRun("weights-2");
  json second = RunJson({"models", "register", "runs:/" + run2 + "/model", "cli-fraud"});
  EXPECT_EQ(second["model_version"]["version"], "2");
  EXPECT_EQ(second["model_version"]["run_id"], run2);  // taken from the runs:/ source

  json v1 = RunJson({"models", "get", "cli-fraud", "--version", "1"});
  const json& mv = v1["model_version"];
  EXPECT_EQ(mv["name"], "cli-fraud");
  EXPECT_EQ(mv["version"], "1");
  EXPECT_EQ(mv["source"], "runs:/" + run + "/model");
  EXPECT_EQ(mv["run_id"], run);
  EXPECT_EQ(mv["user_id"], "alice");
  EXPECT_EQ(mv["tags"][0], (json{{"key", "owner"}, {"value", "risk"}}));
  EXPECT_TRUE(mv["storage_location"].get<std::string>().starts_with("mlflow-artifacts:/_registry/"))
      << mv.dump();
  ASSERT_TRUE(mv.contains("signature")) << mv.dump();
  EXPECT_NE(mv["signature"].dump().find("double"), std::string::npos) << mv.dump();

  Outcome table = Run({"models", "get", "cli-fraud", "--version", "1"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("signature.inputs"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("x (double)"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("mlflow-artifacts:/_registry/"), std::string::npos) << table.out;

  json model = RunJson({"models", "get", "cli-fraud"});
  EXPECT_EQ(model["registered_model"]["name"], "cli-fraud");
  ASSERT_FALSE(model["registered_model"]["latest_versions"].empty());
  EXPECT_EQ(model["registered_model"]["latest_versions"][0]["version"], "2");

  json versions = RunJson({"models", "versions", "cli-fraud"});
  ASSERT_EQ(versions["model_versions"].size(), 2u) << versions.dump();
  std::vector<std::string> got;
  for (const auto& v : versions["model_versions"]) got.push_back(v["version"]);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"1", "2"}));
  json tagged = RunJson({"models", "versions", "cli-fraud", "--filter", "tags.owner = 'risk'"});
  ASSERT_EQ(tagged["model_versions"].size(), 1u) << tagged.dump();
  EXPECT_EQ(tagged["model_versions"][0]["version"], "1");

  Outcome list = Run({"models", "list", "--filter", "name LIKE 'cli-fr%'"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::string header = list.out.substr(0, list.out.find('\n'));
  EXPECT_NE(header.find("latest_version"), std::string::npos) << header;
  std::string row = list.out.substr(list.out.find("cli-fraud"));
  EXPECT_NE(row.find("  2  "), std::string::npos) << list.out;  // latest version column
  json listed = RunJson({"models", "list", "--max-results", "1"});
  EXPECT_EQ(listed["registered_models"].size(), 1u);
}

TEST_F(ModelsCliTest, AliasesTransitionAndRollback) {
  RegisterVersions("cli-alias", 3);
  Outcome set = Run({"models", "set-alias", "cli-alias", "champion", "1"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(set.out, "Alias 'champion' of 'cli-alias' now points at version 1\n");
  json moved = RunJson({"models", "set-alias", "cli-alias", "champion", "3"});
  EXPECT_EQ(moved["outcome"], "applied");
  EXPECT_EQ(moved["model_version"]["version"], "3");

  json model = RunJson({"models", "get", "cli-alias"});
  EXPECT_EQ(model["registered_model"]["aliases"],
            (json::array({{{"alias", "champion"}, {"version", "3"}}})));
  json by_alias = RunJson({"models", "get", "cli-alias", "--alias", "champion"});
  EXPECT_EQ(by_alias["model_version"]["version"], "3");

  Outcome back = Run({"models", "rollback", "cli-alias", "--alias", "champion"});
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(back.out, "Alias 'champion' of 'cli-alias' rolled back to version 1\n");
  EXPECT_EQ(
      RunJson({"models", "get", "cli-alias", "--alias", "champion"})["model_version"]["version"],
      "1");

  Outcome deleted = Run({"models", "delete-alias", "cli-alias", "champion"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  Outcome gone = Run({"models", "get", "cli-alias", "--alias", "champion"});
  EXPECT_EQ(gone.exit_code, 1);
  // MLflow's answer for an unknown alias: INVALID_PARAMETER_VALUE.
  EXPECT_EQ(gone.err,
            "error: INVALID_PARAMETER_VALUE: Registered model alias champion not found.\n");

  json staged = RunJson({"models", "transition", "cli-alias", "2", "staging"});
  EXPECT_EQ(staged["outcome"], "applied");
  EXPECT_EQ(staged["model_version"]["current_stage"], "Staging");
  Outcome prod =
      Run({"models", "transition", "cli-alias", "2", "Production", "--archive-existing"});
  ASSERT_EQ(prod.exit_code, 0) << prod.err;
  EXPECT_EQ(prod.out, "Moved 'cli-alias' version 2 to stage 'Production'\n");
  EXPECT_EQ(
      RunJson({"models", "get", "cli-alias", "--version", "2"})["model_version"]["current_stage"],
      "Production");
}

TEST_F(ModelsCliTest, ProtectedAliasNeedsAnotherUsersApproval) {
  RegisterVersions("cli-guarded", 2);
  ASSERT_EQ(Run({"models", "set-alias", "cli-guarded", "champion", "1"}).exit_code, 0);
  Outcome prot = Run({"models", "protect", "cli-guarded", "champion", "Production"}, "lead");
  ASSERT_EQ(prot.exit_code, 0) << prot.err;
  EXPECT_NE(prot.out.find("Production"), std::string::npos) << prot.out;
  EXPECT_NE(prot.out.find("champion"), std::string::npos) << prot.out;

  // The change becomes a request: exit 0, the id printed, nothing moved.
  Outcome pending = Run(
      {"models", "set-alias", "cli-guarded", "champion", "2", "--comment", "better auc"}, "alice");
  ASSERT_EQ(pending.exit_code, 0) << pending.err;
  ASSERT_TRUE(pending.out.starts_with("Pending approval: request ")) << pending.out;
  std::string id = pending.out.substr(std::string("Pending approval: request ").size());
  id = id.substr(0, id.find(' '));
  ASSERT_FALSE(id.empty());
  EXPECT_NE(pending.out.find("set alias 'champion' of 'cli-guarded' to version 2"),
            std::string::npos)
      << pending.out;
  EXPECT_EQ(
      RunJson({"models", "get", "cli-guarded", "--alias", "champion"})["model_version"]["version"],
      "1");

  json listed = RunJson({"models", "approvals", "list", "--model", "cli-guarded"});
  ASSERT_EQ(listed["approvals"].size(), 1u) << listed.dump();
  const json& a = listed["approvals"][0];
  EXPECT_EQ(std::to_string(a["id"].get<int64_t>()), id);
  EXPECT_EQ(a["kind"], "alias");
  EXPECT_EQ(a["target"], "champion");
  EXPECT_EQ(a["version"], "2");
  EXPECT_EQ(a["requested_by"], "alice");
  EXPECT_EQ(a["comment"], "better auc");

  // Not by the requester.
  Outcome self = Run({"models", "approvals", "approve", id, "--user", "alice"});
  EXPECT_EQ(self.exit_code, 1);
  EXPECT_TRUE(self.err.starts_with("error: PERMISSION_DENIED: ")) << self.err;

  Outcome approved = Run({"models", "approvals", "approve", id, "--comment", "ok"}, "bob");
  ASSERT_EQ(approved.exit_code, 0) << approved.err;
  EXPECT_NE(approved.out.find("Approved request " + id), std::string::npos) << approved.out;
  EXPECT_EQ(
      RunJson({"models", "get", "cli-guarded", "--alias", "champion"})["model_version"]["version"],
      "2");
  EXPECT_TRUE(
      RunJson({"models", "approvals", "list", "--model", "cli-guarded"})["approvals"].empty());

  // A stage transition to a protected stage, rejected.
  json stage = RunJson({"models", "transition", "cli-guarded", "1", "Production"}, "alice");
  ASSERT_EQ(stage["outcome"], "pending") << stage.dump();
  std::string stage_id = std::to_string(stage["approval"]["id"].get<int64_t>());
  Outcome rejected =
      Run({"models", "approvals", "reject", stage_id, "--comment", "not validated"}, "bob");
  ASSERT_EQ(rejected.exit_code, 0) << rejected.err;
  EXPECT_EQ(rejected.out, "Rejected request " + stage_id + "\n");
  EXPECT_EQ(
      RunJson({"models", "get", "cli-guarded", "--version", "1"})["model_version"]["current_stage"],
      "None");
  json all = RunJson({"models", "approvals", "list", "--model", "cli-guarded", "--status", "all"});
  EXPECT_EQ(all["approvals"].size(), 2u) << all.dump();
}

TEST_F(ModelsCliTest, AuditShowsWhoDidWhatAndFilters) {
  RegisterVersions("cli-audit", 2);
  ASSERT_EQ(Run({"models", "set-alias", "cli-audit", "champion", "1"}, "alice").exit_code, 0);
  ASSERT_EQ(Run({"models", "set-alias", "cli-audit", "champion", "2", "--user", "bob"}).exit_code,
            0);
  json all = RunJson({"models", "audit", "cli-audit"});
  ASSERT_GE(all["entries"].size(), 4u) << all.dump();  // model, 2 versions, 2 alias changes
  // Newest first: bob's alias change.
  EXPECT_EQ(all["entries"][0]["actor"], "bob");
  EXPECT_EQ(all["entries"][0]["action"], "alias.set");
  EXPECT_EQ(all["entries"][0]["model_name"], "cli-audit");

  json alice = RunJson({"models", "audit", "cli-audit", "--actor", "alice"});
  ASSERT_EQ(alice["entries"].size(), 1u) << alice.dump();
  EXPECT_EQ(alice["entries"][0]["action"], "alias.set");
  EXPECT_EQ(alice["entries"][0]["entity_id"], "cli-audit@champion");

  EXPECT_TRUE(
      RunJson({"models", "audit", "cli-audit", "--until", "1970-01-02"})["entries"].empty());
  EXPECT_EQ(RunJson({"models", "audit", "cli-audit", "--since", "2000-01-01T00:00:00Z"})["entries"]
                .size(),
            all["entries"].size());
  EXPECT_EQ(RunJson({"models", "audit", "cli-audit", "--max-results", "2"})["entries"].size(), 2u);

  Outcome table = Run({"models", "audit", "cli-audit", "--actor", "bob"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("alias.set"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("bob"), std::string::npos) << table.out;
}

TEST_F(ModelsCliTest, LineageNamesTheRunAndItsParams) {
  std::vector<std::string> runs = RegisterVersions("cli-lineage", 1);
  json l = RunJson({"models", "lineage", "cli-lineage", "1"});
  EXPECT_EQ(l["model_version"]["version"], "1");
  EXPECT_EQ(l["run"]["info"]["run_id"], runs[0]);
  EXPECT_EQ(l["run"]["data"]["params"][0], (json{{"key", "lr"}, {"value", "0.1"}}));
  Outcome table = Run({"models", "lineage", "cli-lineage", "1"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find(runs[0]), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("lr"), std::string::npos) << table.out;
}

TEST_F(ModelsCliTest, DownloadByVersionAndByAlias) {
  RegisterVersions("cli-dl", 2);
  ASSERT_EQ(Run({"models", "set-alias", "cli-dl", "champion", "1"}).exit_code, 0);
  std::string dst = server_->dir() + "/dl-v2";
  Outcome by_version = Run({"models", "download", "cli-dl", "2", "--dst", dst});
  ASSERT_EQ(by_version.exit_code, 0) << by_version.err;
  EXPECT_EQ(by_version.out, dst + "\n");
  EXPECT_EQ(ReadFile(dst + "/data/weights.bin"), "w2");
  EXPECT_NE(ReadFile(dst + "/MLmodel").find("python_function"), std::string::npos);

  std::string dst_alias = server_->dir() + "/dl-champion";
  json by_alias =
      RunJson({"models", "download", "cli-dl", "--alias", "champion", "--dst", dst_alias});
  EXPECT_EQ(by_alias["version"], "1");
  EXPECT_EQ(by_alias["local_path"], dst_alias);
  EXPECT_EQ(ReadFile(dst_alias + "/data/weights.bin"), "w1");
}

TEST_F(ModelsCliTest, WebhooksCreateListDeliveriesDelete) {
  RegisterVersions("cli-hooks", 1);
  json created = RunJson({"models", "webhooks", "create", "--url", "http://127.0.0.1:1/hook",
                          "--event", "alias.set", "--secret", "s3cret", "--model", "cli-hooks"});
  const json& w = created["webhook"];
  EXPECT_EQ(w["url"], "http://127.0.0.1:1/hook");
  EXPECT_EQ(w["events"], json::array({"alias.set"}));
  EXPECT_EQ(w["model_name"], "cli-hooks");
  EXPECT_FALSE(w.contains("secret"));
  std::string id = std::to_string(w["id"].get<int64_t>());

  json listed = RunJson({"models", "webhooks", "list", "--model", "cli-hooks"});
  ASSERT_EQ(listed["webhooks"].size(), 1u);
  EXPECT_EQ(listed["webhooks"][0]["id"], w["id"]);

  ASSERT_EQ(Run({"models", "set-alias", "cli-hooks", "champion", "1"}).exit_code, 0);
  json deliveries = RunJson({"models", "webhooks", "deliveries", id});
  ASSERT_EQ(deliveries["deliveries"].size(), 1u) << deliveries.dump();
  EXPECT_EQ(deliveries["deliveries"][0]["event"], "alias.set");
  EXPECT_EQ(deliveries["deliveries"][0]["webhook_id"], w["id"]);

  Outcome table = Run({"models", "webhooks", "list"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("http://127.0.0.1:1/hook"), std::string::npos) << table.out;

  ASSERT_EQ(Run({"models", "webhooks", "delete", id}).exit_code, 0);
  EXPECT_TRUE(RunJson({"models", "webhooks", "list", "--model", "cli-hooks"})["webhooks"].empty());
}

TEST_F(ModelsCliTest, UnknownModelFailsWithTheServersMessage) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"models", "get", "no-such-model"},
        std::vector<std::string>{"models", "get", "no-such-model", "--version", "1"},
        std::vector<std::string>{"models", "versions", "no-such-model"},
        std::vector<std::string>{"models", "set-alias", "no-such-model", "champion", "1"},
        std::vector<std::string>{"models", "download", "no-such-model", "1", "--dst",
                                 server_->dir() + "/none"}}) {
    Outcome o = Run(args);
    EXPECT_EQ(o.exit_code, 1) << args[1];
    EXPECT_TRUE(o.err.starts_with("error: RESOURCE_DOES_NOT_EXIST: ")) << args[1] << ": " << o.err;
    EXPECT_NE(o.err.find("no-such-model"), std::string::npos) << o.err;
    EXPECT_EQ(o.out, "");
  }
  Outcome bad_stage = Run({"models", "transition", "no-such-model", "1", "Shipping"});
  EXPECT_EQ(bad_stage.exit_code, 1);
  EXPECT_NE(bad_stage.err.find("error: "), std::string::npos);
}

}  // namespace
}  // namespace cairn::cli
