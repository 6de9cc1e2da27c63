// Serving instances: heartbeat validation, expiry on an injected clock,
// grouping by deployment (handlers called through the router), and the
// routes mounted by the real App on port 0.

#include "api/serving_instances_handlers.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/live_server.h"
#include "support/raw_http.h"

namespace cairn::api {
namespace {

using nlohmann::json;

json Version(const std::string& model, const std::string& version, int64_t weight, bool shadow,
             int64_t requests, double rate, std::optional<double> p50, std::optional<double> p99,
             int64_t errors = 0) {
  json stats = {{"requests", requests}, {"errors", errors}, {"rate", rate}};
  stats["p50_ms"] = p50 ? json(*p50) : json(nullptr);
  stats["p99_ms"] = p99 ? json(*p99) : json(nullptr);
  return {{"model", model},
          {"version", version},
          {"weight", weight},
          {"shadow", shadow},
          {"state", "serving"},
          {"stats", stats},
          {"uri", "models:/" + model + "/" + version}};
}

json Heartbeat(const std::string& id, const std::string& url, json deployments,
               int64_t interval_ms = 1000) {
  return {{"instance_id", id},
          {"url", url},
          {"started_at", 1'700'000'000'000},
          {"interval_ms", interval_ms},
          {"deployments", std::move(deployments)}};
}

// One deployment "fraud": v3 weight 90, v4 weight 10, v5 shadow.
json FraudDeployment(int64_t requests_v3, double rate_v3, double p99_v3) {
  json d = {
      {"name", "fraud"},
      {"sticky_header", "X-User"},
      {"versions", json::array({Version("fraud", "3", 90, false, requests_v3, rate_v3, 2.0, p99_v3),
                                Version("fraud", "4", 10, false, 5, 1.0, 4.0, 8.0, 1),
                                Version("fraud", "5", 0, true, 5, 1.0, 3.0, 6.0)})}};
  d["stats"] = {{"requests", requests_v3 + 5},
                {"errors", 1},
                {"rate", rate_v3 + 1.0},
                {"p50_ms", 2.5},
                {"p99_ms", p99_v3}};
  return d;
}

class ServingRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_shared<ServingInstanceRegistry>(clock_);
    MountServingInstanceRoutes(router_, registry_);
  }

  http::Response Call(http::Method method, const std::string& path, const std::string& body = "") {
    http::Router::Match match = router_.Find(method, path);
    EXPECT_NE(match.route, nullptr) << path;
    if (match.route == nullptr) return http::Response{};
    http::Request req;
    req.method = method;
    req.path = path;
    req.body = body;
    req.route_suffix = std::string(http::Router::RouteSuffix(*match.route, path));
    return match.route->handler(req);
  }
  http::Response Post(const json& body) {
    return Call(http::Method::kPost, "/api/v1/serving/instances/heartbeat", body.dump());
  }
  json Get(const std::string& what) {
    http::Response r = Call(http::Method::kGet, "/api/v1/serving/" + what);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }
  // The 400's message for a heartbeat body.
  std::string Rejected(const std::string& body) {
    http::Response r = Call(http::Method::kPost, "/api/v1/serving/instances/heartbeat", body);
    EXPECT_EQ(r.status, 400) << body;
    json j = json::parse(r.body);
    return j.value("error_code", "") + ": " + j.value("message", "");
  }

  FakeClock clock_{1'800'000'000'000};
  std::shared_ptr<ServingInstanceRegistry> registry_;
  http::Router router_;
};

TEST_F(ServingRoutesTest, ValidHeartbeatIsListed) {
  http::Response r = Post(
      Heartbeat("inst-1", "http://10.0.0.7:8080", json::array({FraudDeployment(100, 20.0, 9.5)})));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), (json{{"instance_id", "inst-1"}, {"state", "live"}}));

  json instances = Get("instances")["instances"];
  ASSERT_EQ(instances.size(), 1u);
  EXPECT_EQ(instances[0]["instance_id"], "inst-1");
  EXPECT_EQ(instances[0]["url"], "http://10.0.0.7:8080");
  EXPECT_EQ(instances[0]["state"], "live");
  EXPECT_EQ(instances[0]["started_at"], 1'700'000'000'000);
  EXPECT_EQ(instances[0]["last_heartbeat"], 1'800'000'000'000);
  EXPECT_EQ(instances[0]["interval_ms"], 1000);
  const json& d = instances[0]["deployments"][0];
  EXPECT_EQ(d["name"], "fraud");
  EXPECT_EQ(d["sticky_header"], "X-User");
  EXPECT_EQ(d["versions"].size(), 3u);
  EXPECT_EQ(d["versions"][0]["stats"]["requests"], 100);
  EXPECT_EQ(d["versions"][2]["shadow"], true);
  EXPECT_EQ(d["versions"][0]["uri"], "models:/fraud/3");
}

TEST_F(ServingRoutesTest, InvalidHeartbeatsAreClear400s) {
  EXPECT_EQ(Rejected("{nope"), "BAD_REQUEST: the heartbeat body is not valid JSON");
  EXPECT_EQ(Rejected("[]"), "INVALID_PARAMETER_VALUE: the heartbeat body must be a JSON object");
  json good = Heartbeat("i", "http://h:1", json::array({FraudDeployment(1, 1, 1)}));

  json j = good;
  j.erase("instance_id");
  EXPECT_EQ(Rejected(j.dump()), "INVALID_PARAMETER_VALUE: instance_id is required");
  j = good;
  j["instance_id"] = "a b";
  EXPECT_EQ(Rejected(j.dump()),
            "INVALID_PARAMETER_VALUE: instance_id 'a b' may only contain letters, digits, '.', "
            "'_', ':' and '-'");
  j = good;
  j["url"] = "ftp://h";
  EXPECT_EQ(Rejected(j.dump()),
            "INVALID_PARAMETER_VALUE: url 'ftp://h' must be an http:// or https:// URL");
  j = good;
  j.erase("started_at");
  EXPECT_EQ(Rejected(j.dump()),
            "INVALID_PARAMETER_VALUE: started_at is required (milliseconds since the epoch)");
  j = good;
  j["interval_ms"] = 5;
  EXPECT_EQ(Rejected(j.dump()),
            "INVALID_PARAMETER_VALUE: interval_ms must be an integer from 100 to 3600000");
  j = good;
  j["state"] = "paused";
  EXPECT_EQ(Rejected(j.dump()),
            "INVALID_PARAMETER_VALUE: state must be 'running' or 'stopped', not 'paused'");
  j = good;
  j["deployments"] = json::object();
  EXPECT_EQ(Rejected(j.dump()), "INVALID_PARAMETER_VALUE: deployments must be an array");
  j = good;
  j["deployments"][0]["versions"][1]["weight"] = -1;
  EXPECT_EQ(Rejected(j.dump()),
            "INVALID_PARAMETER_VALUE: deployments[0].versions[1].weight must be an integer >= 0");
  j = good;
  j["deployments"][0]["versions"][0]["stats"]["rate"] = "fast";
  EXPECT_EQ(Rejected(j.dump()),
            "INVALID_PARAMETER_VALUE: deployments[0].versions[0].stats.rate must be a number >= 0");
  j = good;
  j["deployments"][0]["versions"][0]["stats"]["errors"] = 2;
  EXPECT_EQ(Rejected(j.dump()),
            "INVALID_PARAMETER_VALUE: deployments[0].versions[0].stats.errors must not exceed "
            "deployments[0].versions[0].stats.requests");
  j = good;
  j["deployments"][0]["versions"][0].erase("model");
  EXPECT_EQ(Rejected(j.dump()),
            "INVALID_PARAMETER_VALUE: deployments[0].versions[0].model is required");
  j = good;
  j["deployments"].push_back(j["deployments"][0]);
  EXPECT_EQ(Rejected(j.dump()),
            "INVALID_PARAMETER_VALUE: deployments[1].name 'fraud' appears twice");
  // Nothing was recorded by the rejected bodies.
  EXPECT_TRUE(Get("instances")["instances"].empty());
}

TEST_F(ServingRoutesTest, InstanceIsLostAfterThreeMissedIntervalsAndLiveAgain) {
  ASSERT_EQ(
      Post(Heartbeat("a", "http://a:1", json::array({FraudDeployment(10, 1, 1)}), 1000)).status,
      200);
  clock_.Advance(3000);  // exactly 3 intervals: still live
  EXPECT_EQ(Get("instances")["instances"][0]["state"], "live");
  clock_.Advance(1);
  EXPECT_EQ(Get("instances")["instances"][0]["state"], "lost");
  json deployments = Get("deployments")["deployments"];
  ASSERT_EQ(deployments.size(), 1u);
  EXPECT_EQ(deployments[0]["state"], "lost");
  EXPECT_EQ(deployments[0]["rate"], 0.0);           // a lost instance's rate is not current
  EXPECT_EQ(deployments[0]["traffic"].size(), 3u);  // its split is still shown

  ASSERT_EQ(
      Post(Heartbeat("a", "http://a:1", json::array({FraudDeployment(10, 1, 1)}), 1000)).status,
      200);
  EXPECT_EQ(Get("instances")["instances"][0]["state"], "live");

  // Forgotten after an hour of silence.
  clock_.Advance(ServingInstanceRegistry::kForgetAfterMs + 1);
  ASSERT_EQ(Post(Heartbeat("b", "http://b:1", json::array())).status, 200);
  json instances = Get("instances")["instances"];
  ASSERT_EQ(instances.size(), 1u);
  EXPECT_EQ(instances[0]["instance_id"], "b");
}

TEST_F(ServingRoutesTest, StoppedByFinalHeartbeatOrDelete) {
  json hb = Heartbeat("a", "http://a:1", json::array({FraudDeployment(10, 1, 1)}));
  ASSERT_EQ(Post(hb).status, 200);
  hb["state"] = "stopped";
  http::Response r = Post(hb);
  EXPECT_EQ(json::parse(r.body)["state"], "stopped");
  EXPECT_EQ(Get("instances")["instances"][0]["state"], "stopped");
  EXPECT_EQ(Get("deployments")["deployments"][0]["state"], "stopped");

  ASSERT_EQ(Post(Heartbeat("b", "http://b:1", json::array())).status, 200);
  r = Call(http::Method::kDelete, "/api/v1/serving/instances/b");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["state"], "stopped");
  EXPECT_EQ(Get("instances")["instances"][1]["state"], "stopped");
  r = Call(http::Method::kDelete, "/api/v1/serving/instances/zzz");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["message"], "no serving instance 'zzz' has sent a heartbeat");
}

TEST_F(ServingRoutesTest, DeploymentsGroupInstancesAndAddTheirTraffic) {
  // Two live instances of "fraud", one of them also serving "iris"; a lost
  // third instance of "fraud" whose figures must not count.
  ASSERT_EQ(
      Post(Heartbeat("old", "http://c:1", json::array({FraudDeployment(1000, 500, 99)}))).status,
      200);
  clock_.Advance(10'000);
  json iris = {{"name", "iris"},
               {"versions", json::array({Version("iris", "1", 1, false, 0, 0, {}, {})})}};
  ASSERT_EQ(Post(Heartbeat("a", "http://a:1", json::array({FraudDeployment(100, 20.0, 9.0), iris})))
                .status,
            200);
  clock_.Advance(10);
  ASSERT_EQ(
      Post(Heartbeat("b", "http://b:1", json::array({FraudDeployment(300, 60.0, 12.0)}))).status,
      200);

  json deployments = Get("deployments")["deployments"];
  ASSERT_EQ(deployments.size(), 2u);
  const json& fraud = deployments[0];
  EXPECT_EQ(fraud["name"], "fraud");
  EXPECT_EQ(fraud["state"], "live");
  EXPECT_DOUBLE_EQ(fraud["rate"].get<double>(), 21.0 + 61.0);
  EXPECT_EQ(fraud["requests"], 105 + 305);
  EXPECT_EQ(fraud["errors"], 2);
  EXPECT_DOUBLE_EQ(fraud["p50_ms"].get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(fraud["p99_ms"].get<double>(), 12.0);  // the largest live p99, not the lost 99

  ASSERT_EQ(fraud["traffic"].size(), 3u);
  const json& v3 = fraud["traffic"][0];
  EXPECT_EQ(v3["version"], "3");
  EXPECT_EQ(v3["weight"], 90);
  EXPECT_EQ(v3["uri"], "models:/fraud/3");
  EXPECT_DOUBLE_EQ(v3["share"].get<double>(), 0.9);
  EXPECT_DOUBLE_EQ(v3["rate"].get<double>(), 80.0);
  EXPECT_EQ(v3["requests"], 400);
  EXPECT_EQ(v3["instances"], 2);
  EXPECT_DOUBLE_EQ(v3["p99_ms"].get<double>(), 12.0);
  const json& v4 = fraud["traffic"][1];
  EXPECT_DOUBLE_EQ(v4["share"].get<double>(), 0.1);
  EXPECT_EQ(v4["errors"], 2);
  const json& v5 = fraud["traffic"][2];
  EXPECT_EQ(v5["shadow"], true);
  EXPECT_DOUBLE_EQ(v5["share"].get<double>(), 0.0);

  ASSERT_EQ(fraud["instances"].size(), 3u);
  std::map<std::string, std::string> states;
  for (const json& i : fraud["instances"]) states[i["instance_id"]] = i["state"];
  EXPECT_EQ(states,
            (std::map<std::string, std::string>{{"a", "live"}, {"b", "live"}, {"old", "lost"}}));

  // History: one bucket (1 s) for the old heartbeat, one where a and b both count.
  const json& history = fraud["history"];
  ASSERT_EQ(history.size(), 2u);
  EXPECT_DOUBLE_EQ(history[0]["rate"].get<double>(), 501.0);
  EXPECT_DOUBLE_EQ(history[1]["rate"].get<double>(), 82.0);
  EXPECT_LT(history[0]["ts"].get<int64_t>(), history[1]["ts"].get<int64_t>());

  const json& iris_d = deployments[1];
  EXPECT_EQ(iris_d["name"], "iris");
  EXPECT_EQ(iris_d["instances"].size(), 1u);
  EXPECT_TRUE(iris_d["p50_ms"].is_null());
  EXPECT_DOUBLE_EQ(iris_d["traffic"][0]["share"].get<double>(), 1.0);
}

TEST_F(ServingRoutesTest, HistoryKeepsTheLastSixtyHeartbeats) {
  for (int i = 0; i < 70; ++i) {
    ASSERT_EQ(Post(Heartbeat("a", "http://a:1",
                             json::array({FraudDeployment(i, static_cast<double>(i), 1)})))
                  .status,
              200);
    clock_.Advance(1000);
  }
  const json history = Get("deployments")["deployments"][0]["history"];
  ASSERT_EQ(history.size(), ServingInstanceRegistry::kHistory);
  EXPECT_DOUBLE_EQ(history.front()["rate"].get<double>(), 10.0 + 1.0);  // heartbeat 10 of 0..69
  EXPECT_DOUBLE_EQ(history.back()["rate"].get<double>(), 69.0 + 1.0);
}

TEST(ServingRoutesAppTest, MountedByTheApp) {
  auto server = test::LiveServer::Start("cairn-serving-instances-test");
  ASSERT_TRUE(server) << server.error().ToString();
  const int port = (*server)->port();
  json hb = Heartbeat("app-1", "http://127.0.0.1:9", json::array({FraudDeployment(4, 2.0, 3.0)}));
  test::HttpResult r = test::RawHttp(port, "POST", "/api/v1/serving/instances/heartbeat", hb.dump(),
                                     {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  r = test::RawHttp(port, "GET", "/api/v1/serving/deployments");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  ASSERT_EQ(j["deployments"].size(), 1u);
  EXPECT_EQ(j["deployments"][0]["name"], "fraud");
  EXPECT_DOUBLE_EQ(j["deployments"][0]["rate"].get<double>(), 3.0);
  r = test::RawHttp(port, "POST", "/api/v1/serving/instances/heartbeat", "{\"url\":1}",
                    {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 400);
}

}  // namespace
}  // namespace cairn::api
