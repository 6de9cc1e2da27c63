// `cairn deployments ...` against a fake admin API: an http::HttpServer on
// 127.0.0.1:0 that answers the documented shapes (docs/serving.md,
// deployments_command.cc) and records each request. The commands run in
// process (AddDeploymentsCommand, then the chosen action, as main() does)
// with stdout and stderr captured; the tests assert on the request sent and
// on what is printed.

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "http/server.h"

namespace cairn::cli {
namespace {

using nlohmann::json;

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Parses and runs `cairn <args>` like main(): usage errors exit 2.
Outcome RunCli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  std::streambuf* old_out = std::cout.rdbuf(out.rdbuf());
  std::streambuf* old_err = std::cerr.rdbuf(err.rdbuf());
  Outcome o;
  {
    CLI::App app{"test", "cairn"};
    app.require_subcommand(1);
    Action action;
    AddDeploymentsCommand(app, action);
    std::vector<const char*> argv = {"cairn"};
    for (const auto& a : args) argv.push_back(a.c_str());
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
      o.exit_code = action ? action() : kExitUsage;
    } catch (const CLI::ParseError& e) {
      o.exit_code = app.exit(e, out, err) == 0 ? kExitOk : kExitUsage;
    }
  }
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  o.out = out.str();
  o.err = err.str();
  return o;
}

struct Recorded {
  std::string method;
  std::string path;
  std::string body;
  std::string content_type;
};

// Answers "METHOD /path" from a table; records every request.
class FakeServe {
 public:
  FakeServe() {
    http::Router router;
    for (http::Method m : {http::Method::kGet, http::Method::kPut}) {
      router.Add(http::Route{m, "/v1", true, http::BodyMode::kBuffer,
                             [this](http::Request& r) { return Handle(r); }, nullptr});
    }
    http::ServerOptions options;
    options.port = 0;
    options.threads = 1;
    options.access_log = false;
    server_ = std::make_unique<http::HttpServer>(options, std::move(router));
    auto port = server_->Start();
    EXPECT_TRUE(port.has_value());
    url_ = "http://127.0.0.1:" + std::to_string(port.value_or(0));
  }
  ~FakeServe() { server_->Stop(); }

  void Answer(const std::string& key, int status, std::string body) {
    std::lock_guard lock(mu_);
    answers_[key] = {status, std::move(body)};
  }
  std::vector<Recorded> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  const std::string& url() const { return url_; }

 private:
  http::Response Handle(http::Request& r) {
    std::lock_guard lock(mu_);
    requests_.push_back({std::string(http::MethodName(r.method)), r.path, r.body,
                         r.Header("content-type").value_or("")});
    auto it = answers_.find(std::string(http::MethodName(r.method)) + " " + r.path);
    if (it == answers_.end()) return http::Response::Json(404, R"({"error": "no such thing"})");
    http::Response resp = http::Response::Json(it->second.first, it->second.second);
    if (!it->second.second.starts_with("{")) resp.content_type = "text/plain";
    return resp;
  }

  std::mutex mu_;
  std::map<std::string, std::pair<int, std::string>> answers_;
  std::vector<Recorded> requests_;
  std::unique_ptr<http::HttpServer> server_;
  std::string url_;
};

const json kFraud = json::parse(R"({
  "name": "fraud", "sticky_header": "X-User-Id",
  "targets": [
    {"model": "models:/fraud@champion", "weight": 95, "shadow": false, "model_name": "fraud",
     "version": "3", "state": "serving", "last_error": "", "failed_version": "",
     "loaded_at": 1764170000123},
    {"model": "models:/fraud/4", "weight": 5, "shadow": false, "model_name": "fraud",
     "version": "4", "state": "serving", "last_error": "", "failed_version": "",
     "loaded_at": 1764170000456},
    {"model": "models:/fraud/5", "weight": 0, "shadow": true, "model_name": "fraud",
     "version": "", "state": "failed", "last_error": "no loadable flavor",
     "failed_version": "5", "loaded_at": 0}
  ]})");

const json kIris = json::parse(R"({
  "name": "iris", "sticky_header": "",
  "targets": [
    {"model": "/srv/models/iris", "weight": 1, "shadow": false, "model_name": "iris",
     "version": "", "state": "loading", "last_error": "", "failed_version": "",
     "loaded_at": 0}
  ]})");

class DeploymentsCliTest : public testing::Test {
 protected:
  void SetUp() override { unsetenv("CAIRN_SERVE_URL"); }
  void TearDown() override { unsetenv("CAIRN_SERVE_URL"); }
  FakeServe serve_;
};

constexpr const char* kFraudRows =
    "fraud       models:/fraud@champion  live    95      3        serving\n"
    "fraud       models:/fraud/4         live    5       4        serving\n"
    "fraud       models:/fraud/5         shadow  -                failed   version 5: no "
    "loadable flavor\n";

TEST_F(DeploymentsCliTest, ListPrintsOneRowPerTarget) {
  serve_.Answer("GET /v1/deployments", 200,
                json{{"deployments", json::array({kFraud, kIris})}}.dump());
  Outcome o = RunCli({"deployments", "list", "--url", serve_.url()});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.err, "");
  EXPECT_EQ(o.out,
            "deployment  model                   role    weight  version  state    last_error\n"
            "----------  ----------------------  ------  ------  -------  -------  "
            "-----------------------------\n" +
                std::string(kFraudRows) +
                "iris        /srv/models/iris        live    1                loading\n");
  auto reqs = serve_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].path, "/v1/deployments");
}

TEST_F(DeploymentsCliTest, ListJsonPrintsTheServersDocument) {
  json doc = {{"deployments", json::array({kFraud, kIris})}};
  serve_.Answer("GET /v1/deployments", 200, doc.dump());
  // --json and --url after the subcommand, the URL with a trailing slash.
  Outcome o = RunCli({"deployments", "list", "--json", "--url", serve_.url() + "/"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(json::parse(o.out), doc);
  EXPECT_EQ(o.out, doc.dump(2) + "\n");
  ASSERT_EQ(serve_.requests().size(), 1u);
  EXPECT_EQ(serve_.requests()[0].path, "/v1/deployments");
}

TEST_F(DeploymentsCliTest, GetShowsOneDeployment) {
  serve_.Answer("GET /v1/deployments/fraud", 200, json{{"deployment", kFraud}}.dump());
  Outcome o = RunCli({"deployments", "--url", serve_.url(), "get", "fraud"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out,
            "deployment:     fraud\n"
            "sticky_header:  X-User-Id\n"
            "\n"
            "deployment  model                   role    weight  version  state    last_error\n"
            "----------  ----------------------  ------  ------  -------  -------  "
            "-----------------------------\n" +
                std::string(kFraudRows));

  Outcome j = RunCli({"deployments", "get", "fraud", "--json", "--url", serve_.url()});
  EXPECT_EQ(j.exit_code, 0) << j.err;
  EXPECT_EQ(json::parse(j.out), (json{{"deployment", kFraud}}));
}

TEST_F(DeploymentsCliTest, GetUnknownIsNotFoundWithTheServersMessage) {
  serve_.Answer("GET /v1/deployments/nope", 404, R"({"error": "deployment 'nope' not found"})");
  Outcome o = RunCli({"deployments", "get", "nope", "--url", serve_.url()});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "error: RESOURCE_DOES_NOT_EXIST: deployment 'nope' not found\n");
}

TEST_F(DeploymentsCliTest, SetTrafficSendsTheTargetsAndPrintsTheResult) {
  json updated = kFraud;
  updated["targets"][0]["weight"] = 90;
  updated["targets"][1]["weight"] = 10;
  serve_.Answer("PUT /v1/deployments/fraud/traffic", 200, json{{"deployment", updated}}.dump());
  Outcome o = RunCli({"deployments", "set-traffic", "fraud", "models:/fraud@champion=90",
                      "models:/fraud/4=10", "--shadow", "models:/fraud/5", "--url", serve_.url()});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  auto reqs = serve_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[0].path, "/v1/deployments/fraud/traffic");
  EXPECT_EQ(reqs[0].content_type, "application/json");
  EXPECT_EQ(
      reqs[0].body,
      R"({"targets":[{"model":"models:/fraud@champion","weight":90},)"
      R"({"model":"models:/fraud/4","weight":10},{"model":"models:/fraud/5","shadow":true}]})");
  EXPECT_EQ(o.out,
            "Updated the traffic of deployment 'fraud'\n"
            "\n"
            "deployment:     fraud\n"
            "sticky_header:  X-User-Id\n"
            "\n"
            "deployment  model                   role    weight  version  state    last_error\n"
            "----------  ----------------------  ------  ------  -------  -------  "
            "-----------------------------\n"
            "fraud       models:/fraud@champion  live    90      3        serving\n"
            "fraud       models:/fraud/4         live    10      4        serving\n"
            "fraud       models:/fraud/5         shadow  -                failed   version 5: no "
            "loadable flavor\n");
}

TEST_F(DeploymentsCliTest, SetTrafficRepeatedShadowsDefaultWeightAndJson) {
  serve_.Answer("PUT /v1/deployments/iris/traffic", 200, json{{"deployment", kIris}}.dump());
  Outcome o = RunCli({"deployments", "set-traffic", "iris", "/srv/models/iris", "--shadow", "./a",
                      "--shadow", "./b", "--json", "--url", serve_.url()});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(json::parse(o.out), (json{{"deployment", kIris}}));
  auto reqs = serve_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].body, R"({"targets":[{"model":"/srv/models/iris","weight":1},)"
                          R"({"model":"./a","shadow":true},{"model":"./b","shadow":true}]})");
}

TEST_F(DeploymentsCliTest, BadTargetArgumentFailsBeforeAnyRequest) {
  Outcome o = RunCli(
      {"deployments", "set-traffic", "fraud", "models:/fraud/3=95", "x=y", "--url", serve_.url()});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err,
            "error: INVALID_PARAMETER_VALUE: 'x=y': weight 'y' is not a non-negative integer "
            "(expected URI=WEIGHT)\n");
  EXPECT_TRUE(serve_.requests().empty());
}

TEST_F(DeploymentsCliTest, ServerErrorsMapToCodes) {
  serve_.Answer("PUT /v1/deployments/fraud/traffic", 400,
                R"({"error": "targets[1].weight must be a non-negative integer"})");
  serve_.Answer("PUT /v1/deployments/busy/traffic", 409,
                R"({"error": "deployment 'busy' is being reloaded"})");
  serve_.Answer("PUT /v1/deployments/boom/traffic", 500, "oops");
  Outcome bad = RunCli({"deployments", "set-traffic", "fraud", "./m=1", "--url", serve_.url()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err,
            "error: INVALID_PARAMETER_VALUE: targets[1].weight must be a non-negative "
            "integer\n");
  Outcome busy = RunCli({"deployments", "set-traffic", "busy", "./m=1", "--url", serve_.url()});
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_EQ(busy.err, "error: INVALID_STATE: deployment 'busy' is being reloaded\n");
  Outcome boom = RunCli({"deployments", "set-traffic", "boom", "./m=1", "--url", serve_.url()});
  EXPECT_EQ(boom.exit_code, 1);
  EXPECT_EQ(boom.err, "error: INTERNAL_ERROR: HTTP 500 from PUT " + serve_.url() +
                          "/v1/deployments/boom/traffic: oops\n");
  EXPECT_EQ(boom.out, "");
}

TEST_F(DeploymentsCliTest, AnswerOfTheWrongShapeIsAnError) {
  serve_.Answer("GET /v1/deployments", 200, R"({"models": []})");
  Outcome o = RunCli({"deployments", "list", "--url", serve_.url()});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err,
            "error: INTERNAL_ERROR: unexpected answer from cairn serve: no \"deployments\" array "
            "in {\"models\":[]}\n");
}

TEST_F(DeploymentsCliTest, UrlFromTheEnvironmentAndTheFlagWins) {
  serve_.Answer("GET /v1/deployments", 200, R"({"deployments": []})");
  setenv("CAIRN_SERVE_URL", serve_.url().c_str(), 1);
  Outcome env = RunCli({"deployments", "list", "--json"});
  EXPECT_EQ(env.exit_code, 0) << env.err;
  EXPECT_EQ(json::parse(env.out), json::parse(R"({"deployments": []})"));
  EXPECT_EQ(serve_.requests().size(), 1u);

  setenv("CAIRN_SERVE_URL", "http://127.0.0.1:1", 1);
  Outcome flag = RunCli({"deployments", "list", "--url", serve_.url()});
  EXPECT_EQ(flag.exit_code, 0) << flag.err;
  EXPECT_EQ(serve_.requests().size(), 2u);

  Outcome down = RunCli({"deployments", "list"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_TRUE(down.err.starts_with(
      "error: TEMPORARILY_UNAVAILABLE: cannot reach cairn serve at http://127.0.0.1:1: "))
      << down.err;
  EXPECT_TRUE(down.err.ends_with("(is `cairn serve` running? set --url or $CAIRN_SERVE_URL)\n"))
      << down.err;

  Outcome scheme = RunCli({"deployments", "list", "--url", "ftp://host"});
  EXPECT_EQ(scheme.exit_code, 1);
  EXPECT_EQ(scheme.err,
            "error: INVALID_PARAMETER_VALUE: serve URL 'ftp://host' is not an http:// or "
            "https:// URL (set --url or $CAIRN_SERVE_URL)\n");
}

TEST_F(DeploymentsCliTest, UsageErrorsExit2) {
  EXPECT_EQ(RunCli({"deployments", "set-traffic", "fraud"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCli({"deployments", "get"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCli({"deployments"}).exit_code, kExitUsage);
  EXPECT_TRUE(serve_.requests().empty());
}

}  // namespace
}  // namespace cairn::cli
