// The monitoring REST API (monitor_handlers.h): the Prometheus rendering as
// a pure function, then the routes over real HTTP against a live App
// (SQLite, port 0, no scheduler thread): the one-off drift report, labels as
// JSON and as CSV, and the error answers; then with the scheduler running, a
// drifted window's alert reaching a webhook receiver that was down.

#include "api/monitor_handlers.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "http/server.h"
#include "registry/webhook_dispatcher.h"
#include "support/live_server.h"
#include "support/raw_http.h"

namespace cairn::api {
namespace {

using nlohmann::json;

store::MonitorResult R(const std::string& feature, const std::string& statistic, double value) {
  store::MonitorResult r;
  r.window_id = 7;
  r.window_start = 1764170000000;
  r.window_end = 1764173600000;
  r.feature = feature;
  r.statistic = statistic;
  r.value = value;
  return r;
}

bool Has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

TEST(RenderMonitorMetricsTest, GaugesFromTheLatestWindowAndAlertCounts) {
  store::Monitor a;
  a.name = "fraud-drift";
  std::vector<std::pair<store::Monitor, std::vector<store::MonitorResult>>> latest = {
      {a,
       {R("amount", "drift_score", 0.25), R("amount", "drifted", 1), R("country", "drifted", 0),
        R("amount", "missing_rate", 0.1), R("", "drift_share", 0.5), R("", "accuracy", 0.75),
        R("", "labeled_rows", 40), R("", "rows", 100)}}};
  std::string text = RenderMonitorMetrics(latest, {{"fraud-drift", 2}, {"idle", 0}});
  EXPECT_TRUE(Has(text, "# TYPE cairn_monitor_drift_score gauge\n")) << text;
  EXPECT_TRUE(
      Has(text, "cairn_monitor_drift_score{monitor=\"fraud-drift\",feature=\"amount\"} 0.25\n"))
      << text;
  EXPECT_TRUE(Has(text, "cairn_monitor_drifted{monitor=\"fraud-drift\",feature=\"amount\"} 1\n"))
      << text;
  EXPECT_TRUE(Has(text, "cairn_monitor_drifted{monitor=\"fraud-drift\",feature=\"country\"} 0\n"))
      << text;
  EXPECT_TRUE(Has(text, "cairn_monitor_drift_share{monitor=\"fraud-drift\"} 0.5\n")) << text;
  EXPECT_TRUE(
      Has(text, "cairn_monitor_performance{monitor=\"fraud-drift\",metric=\"accuracy\"} 0.75\n"))
      << text;
  EXPECT_TRUE(
      Has(text, "cairn_monitor_performance{monitor=\"fraud-drift\",metric=\"labeled_rows\"} 40\n"))
      << text;
  EXPECT_TRUE(Has(text, "cairn_monitor_alerts_firing{monitor=\"fraud-drift\"} 2\n")) << text;
  EXPECT_TRUE(Has(text, "cairn_monitor_alerts_firing{monitor=\"idle\"} 0\n")) << text;
  EXPECT_TRUE(
      Has(text, "cairn_monitor_last_window_end_seconds{monitor=\"fraud-drift\"} 1764173600\n"))
      << text;
  // Quality numbers and row counts are not among the gauges.
  EXPECT_FALSE(Has(text, "missing_rate")) << text;
  EXPECT_FALSE(Has(text, "metric=\"rows\"")) << text;
}

TEST(RenderMonitorMetricsTest, LabelValuesAreEscaped) {
  store::Monitor a;
  a.name = "m";
  std::string text = RenderMonitorMetrics({{a, {R("say \"hi\"", "drifted", 1)}}}, {});
  EXPECT_TRUE(Has(text, "cairn_monitor_drifted{monitor=\"m\",feature=\"say \\\"hi\\\"\"} 1\n"))
      << text;
}

// Monitors may read the files tests put in the server's folder (the parent
// of its artifacts folder): a server reads local files only under its roots.
void AllowServerFolder(AppConfig& c) {
  c.monitor_data_roots = {
      std::filesystem::path(c.artifacts_destination.substr(7)).parent_path().string()};
}

class MonitorRoutesTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = test::LiveServer::Start("cairn-monitor-api-test", [](AppConfig& c) {
      c.monitor_tick = std::chrono::milliseconds(0);
      AllowServerFolder(c);
    });
    ASSERT_TRUE(server) << server.error().ToString();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static test::HttpResult Send(const std::string& method, const std::string& target,
                               const std::string& body = "",
                               const std::string& content_type = "application/json") {
    return test::RawHttp(server_->port(), method, target, body, {{"Content-Type", content_type}});
  }
  static json Body(const test::HttpResult& r) {
    try {
      return json::parse(r.body);
    } catch (const json::exception&) {
      ADD_FAILURE() << "not JSON: " << r.body;
      return json::object();
    }
  }
  static inline test::LiveServer* server_ = nullptr;
};

TEST_F(MonitorRoutesTest, OneOffDriftReport) {
  std::string ref = "x,c\n", cur = "x,c\n";
  for (int i = 0; i < 50; ++i) {
    ref += std::to_string(i) + "," + (i % 2 ? "a" : "b") + "\n";
    cur += std::to_string(500 + i) + "," + (i % 2 ? "a" : "b") + "\n";
  }
  test::HttpResult r =
      Send("POST", "/api/v1/drift", json{{"reference_csv", ref}, {"current_csv", cur}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json j = Body(r);
  const json& cols = j["drift"]["columns"];
  ASSERT_EQ(cols.size(), 2u) << r.body;
  EXPECT_EQ(cols[0]["column"], "x");
  EXPECT_EQ(cols[0]["test"], "ks");
  EXPECT_EQ(cols[0]["drifted"], true);
  EXPECT_EQ(cols[1]["column"], "c");
  EXPECT_EQ(cols[1]["drifted"], false);
  EXPECT_EQ(j["drift"]["drift_share"], 0.5);
  EXPECT_EQ(j["quality"]["rows"], 50);

  // Options: a per-column test and threshold.
  r = Send("POST", "/api/v1/drift",
           json{{"reference_csv", ref},
                {"current_csv", cur},
                {"columns", {"x"}},
                {"tests", {{"x", "psi"}}},
                {"thresholds", {{"x", 1e9}}}}
               .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  j = Body(r);
  ASSERT_EQ(j["drift"]["columns"].size(), 1u) << r.body;
  EXPECT_EQ(j["drift"]["columns"][0]["test"], "psi");
  EXPECT_EQ(j["drift"]["columns"][0]["drifted"], false);  // threshold out of reach

  r = Send("POST", "/api/v1/drift", json{{"reference_csv", ref}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["error_code"], "INVALID_PARAMETER_VALUE");
  EXPECT_TRUE(Has(Body(r)["message"], "current_csv")) << r.body;
  r = Send("POST", "/api/v1/drift",
           json{{"reference_csv", ref}, {"current_csv", cur}, {"tests", {{"x", "nope"}}}}.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  r = Send("POST", "/api/v1/drift", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["error_code"], "BAD_REQUEST");
}

TEST_F(MonitorRoutesTest, LabelsAsJsonAndCsv) {
  test::HttpResult created =
      Send("POST", "/api/2.0/mlflow/registered-models/create", json{{"name", "labeled"}}.dump());
  ASSERT_EQ(created.status, 200) << created.body;

  test::HttpResult r = Send("POST", "/api/v1/labels/labeled",
                            json{{"labels",
                                  {{{"request_id", "q1"}, {"label", 1}},
                                   {{"request_id", "q2"}, {"row", 2}, {"label", "fraud"}}}}}
                                .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), (json{{"logged", 2}, {"unknown_request_ids", 2}}));

  r = Send("POST", "/api/v1/labels/labeled", "request_id,label\nq3,0\n", "text/csv");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), (json{{"logged", 1}, {"unknown_request_ids", 1}}));
  // CSV sent with a JSON content type (what the C++ client does) is still CSV.
  r = Send("POST", "/api/v1/labels/labeled", "request_id,label,row\nq4,1,0\nq4,0,1\n");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["logged"], 2);

  r = Send("POST", "/api/v1/labels/labeled", json{{"labels", {{{"label", 1}}}}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(Has(Body(r)["message"], "labels[0].request_id")) << r.body;
  r = Send("POST", "/api/v1/labels/labeled", json{{"labels", {{{"request_id", "q"}}}}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(Has(Body(r)["message"], "labels[0].label")) << r.body;
  r = Send("POST", "/api/v1/labels/no-such-model", "request_id,label\nq,1\n", "text/csv");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(Body(r)["error_code"], "RESOURCE_DOES_NOT_EXIST");
}

TEST_F(MonitorRoutesTest, ErrorsAndEmptyLists) {
  test::HttpResult r = Send("GET", "/api/v1/monitors");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), (json{{"monitors", json::array()}}));

  for (const char* path : {"/api/v1/monitors/ghost", "/api/v1/monitors/ghost/windows",
                           "/api/v1/monitors/ghost/results", "/api/v1/monitors/ghost/alerts"}) {
    r = Send("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(Body(r)["error_code"], "RESOURCE_DOES_NOT_EXIST") << path << r.body;
    EXPECT_TRUE(Has(Body(r)["message"], "ghost")) << r.body;
  }
  r = Send("POST", "/api/v1/monitors/ghost/run", "{}");
  EXPECT_EQ(r.status, 404) << r.body;
  r = Send("DELETE", "/api/v1/monitors/ghost");
  EXPECT_EQ(r.status, 404) << r.body;

  r = Send("GET", "/api/v1/monitors/ghost/bogus");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Body(r)["error_code"], "ENDPOINT_NOT_FOUND") << r.body;
  r = Send("GET", "/api/v1/monitors/ghost/windows?limit=abc");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(Has(Body(r)["message"], "'limit'")) << r.body;
  r = Send("GET", "/api/v1/monitors/ghost/alerts?status=sleeping");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(Has(Body(r)["message"], "'status'")) << r.body;

  r = Send("POST", "/api/v1/monitors", json{{"name", "m"}, {"model", "x"}, {"colour", 1}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["error_code"], "INVALID_PARAMETER_VALUE");
  EXPECT_TRUE(Has(Body(r)["message"], "colour")) << r.body;
  r = Send("POST", "/api/v1/monitors/ghost/run", json{{"current_csv", 5}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(Has(Body(r)["message"], "current_csv")) << r.body;

  r = Send("GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.Header("content-type").starts_with("text/plain; version=0.0.4")) << r.body;
  EXPECT_FALSE(Has(r.body, "{monitor=")) << r.body;  // no monitors, no samples
}

// Creates registered model `model` and a monitor `name` on it over HTTP,
// scheduled every second, with a reference file in `dir` and an empty local
// inference log (so scheduled ticks find no complete window).
json CreateScheduledMonitor(int port, const std::string& dir, const std::string& model,
                            const std::string& name) {
  test::HttpResult m = test::RawHttp(port, "POST", "/api/2.0/mlflow/registered-models/create",
                                     json{{"name", model}}.dump());
  EXPECT_EQ(m.status, 200) << m.body;
  std::ofstream(dir + "/" + name + ".csv") << "amount\n1\n2\n3\n";
  test::HttpResult r = test::RawHttp(port, "POST", "/api/v1/monitors",
                                     json{{"name", name},
                                          {"model", model},
                                          {"reference", "file://" + dir + "/" + name + ".csv"},
                                          {"log_uri", "file://" + dir + "/no-log"},
                                          {"schedule", "@every 1s"}}
                                         .dump());
  EXPECT_EQ(r.status, 200) << r.body;
  try {
    return json::parse(r.body);
  } catch (const json::exception&) {
    ADD_FAILURE() << r.body;
    return json::object();
  }
}

int64_t LastFiredAt(int port, const std::string& name) {
  test::HttpResult r = test::RawHttp(port, "GET", "/api/v1/monitors/" + name);
  EXPECT_EQ(r.status, 200) << r.body;
  try {
    return json::parse(r.body)["monitor"]["last_fired_at"].get<int64_t>();
  } catch (const json::exception&) {
    ADD_FAILURE() << r.body;
    return -1;
  }
}

TEST_F(MonitorRoutesTest, CreateGetWindowsDeleteAndNoSchedulerWithTickZero) {
  json created = CreateScheduledMonitor(server_->port(), server_->dir(), "m-crud", "crud");
  EXPECT_EQ(created["monitor"]["name"], "crud");
  EXPECT_EQ(created["monitor"]["model"], "m-crud");
  EXPECT_EQ(created["monitor"]["schedule"], "@every 1s");
  EXPECT_EQ(created["monitor"]["window"], "1h");  // the default
  EXPECT_EQ(created["monitor"]["active"], true);
  EXPECT_FALSE(created["monitor"].contains("alert_secret"));

  test::HttpResult r = Send("GET", "/api/v1/monitors/crud");
  ASSERT_EQ(r.status, 200) << r.body;
  json doc = Body(r);
  EXPECT_TRUE(doc["last_window"].is_null()) << r.body;
  EXPECT_EQ(doc["open_alerts"], json::array());
  r = Send("GET", "/api/v1/monitors/crud/windows");
  EXPECT_EQ(Body(r), (json{{"windows", json::array()}})) << r.body;

  // monitor_tick 0: no scheduler thread, so the schedule never fires.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(LastFiredAt(server_->port(), "crud"), 0);

  r = Send("DELETE", "/api/v1/monitors/crud");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), json::object());
  EXPECT_EQ(Send("GET", "/api/v1/monitors/crud").status, 404);
}

// The App starts the monitor scheduler with the server (monitor_tick > 0):
// a monitor scheduled every second gets its fire time recorded.
TEST(MonitorSchedulerWiringTest, AppRunsTheSchedulerThread) {
  auto server = test::LiveServer::Start("cairn-monitor-api-test", [](AppConfig& c) {
    c.monitor_tick = std::chrono::milliseconds(50);
    AllowServerFolder(c);
  });
  ASSERT_TRUE(server) << server.error().ToString();
  int port = (*server)->port();
  CreateScheduledMonitor(port, (*server)->dir(), "m-tick", "ticking");
  int64_t fired = 0;
  for (int i = 0; i < 100 && fired == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    fired = LastFiredAt(port, "ticking");
  }
  EXPECT_GT(fired, 0);
}

// One inference-log record line (serving/inference_log.h's form) with one
// value of column "amount".
std::string LogLine(int64_t ts, int i, const std::string& deployment, double amount) {
  return json{{"ts", ts},
              {"request_id", "req-" + std::to_string(i)},
              {"deployment", deployment},
              {"model", deployment},
              {"version", "1"},
              {"role", "live"},
              {"latency_us", 100},
              {"status", 200},
              {"inputs",
               {{"kind", "columns"},
                {"tensors",
                 json::array({{{"name", "amount"},
                               {"datatype", "FP64"},
                               {"shape", {1}},
                               {"data", {amount}}}})}}},
              {"outputs",
               {{"frame", false},
                {"tensors",
                 json::array({{{"name", "predict"},
                               {"datatype", "INT64"},
                               {"shape", {1}},
                               {"data", {1}}}})}}}}
      .dump();
}

// A scheduled window whose traffic drifted fires an alert while the webhook
// receiver is down: the delivery is kept and retried (attempts recorded with
// the error), and reaches the receiver once it is up, signed with the
// monitor's secret. The alert itself is recorded once.
TEST(MonitorAlertDeliveryTest, AReceiverThatIsDownGetsTheAlertWhenItComesBack) {
  // A port nothing listens on yet: bound once, then released.
  int hook_port = 0;
  {
    http::Router none;
    http::ServerOptions o;
    o.port = 0;
    o.threads = 1;
    o.access_log = false;
    http::HttpServer probe(o, std::move(none));
    auto p = probe.Start();
    ASSERT_TRUE(p) << p.error().ToString();
    hook_port = *p;
    probe.Stop();
  }

  auto server = test::LiveServer::Start("cairn-monitor-alert-test", [](AppConfig& c) {
    c.monitor_tick = std::chrono::milliseconds(50);
    AllowServerFolder(c);
  });
  ASSERT_TRUE(server) << server.error().ToString();
  const int port = (*server)->port();
  const std::string dir = (*server)->dir();
  ASSERT_EQ(test::RawHttp(port, "POST", "/api/2.0/mlflow/registered-models/create",
                          json{{"name", "m-alert"}}.dump())
                .status,
            200);
  {
    std::ofstream ref(dir + "/alert-ref.csv");
    ref << "amount\n";
    for (int i = 0; i < 200; ++i) ref << (i % 50) * 0.1 << "\n";  // 0 .. 4.9
  }
  test::HttpResult created = test::RawHttp(
      port, "POST", "/api/v1/monitors",
      json{{"name", "alerting"},
           {"model", "m-alert"},
           {"reference", "file://" + dir + "/alert-ref.csv"},
           {"log_uri", "file://" + dir + "/log"},
           {"window", "1s"},
           {"grace", "100ms"},
           {"schedule", "@every 1s"},
           {"alert_webhook", "http://127.0.0.1:" + std::to_string(hook_port) + "/hook"},
           {"alert_secret", "s3cret"}}
          .dump());
  ASSERT_EQ(created.status, 200) << created.body;
  const json monitor = json::parse(created.body)["monitor"];
  const int64_t webhook_id = monitor["webhook_id"].get<int64_t>();
  ASSERT_GT(webhook_id, 0);

  // Traffic far outside the reference in the window after the creation one.
  const int64_t created_at = monitor["created_at"].get<int64_t>();
  const int64_t ts = (created_at / 1000 + 1) * 1000 + 100;
  const std::time_t secs = static_cast<std::time_t>(ts / 1000);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char date[16];
  std::strftime(date, sizeof date, "%Y-%m-%d", &utc);
  const std::string seg_dir = dir + "/log/m-alert/" + date;
  std::filesystem::create_directories(seg_dir);
  {
    std::ofstream seg(seg_dir + "/" + std::to_string(ts) + "-0.jsonl");
    for (int i = 0; i < 40; ++i) seg << LogLine(ts + i, i, "m-alert", 100.0 + i) << "\n";
  }

  // The alert fires; its delivery fails (nothing listens) and is kept pending.
  auto deliveries = [&] {
    test::HttpResult r = test::RawHttp(
        port, "GET", "/api/v1/webhooks/" + std::to_string(webhook_id) + "/deliveries");
    EXPECT_EQ(r.status, 200) << r.body;
    try {
      return json::parse(r.body)["deliveries"];
    } catch (const json::exception&) {
      return json::array();
    }
  };
  json d;
  for (int i = 0; i < 200; ++i) {
    d = deliveries();
    if (d.size() == 1 && d[0]["attempts"].get<int>() >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(d.size(), 1u) << d.dump();
  EXPECT_EQ(d[0]["event"], "monitor.alert.fired");
  EXPECT_EQ(d[0]["status"], "pending") << d.dump();
  EXPECT_GE(d[0]["attempts"].get<int>(), 1);
  EXPECT_EQ(d[0]["last_http_status"], 0);
  EXPECT_FALSE(d[0]["last_error"].get<std::string>().empty());
  EXPECT_EQ(d[0]["payload"]["feature"], "amount");
  EXPECT_EQ(d[0]["payload"]["monitor"], "alerting");

  // The receiver comes up on that port: the retry delivers it, signed.
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> received;  // body, signature
  http::Router router;
  router.Add(http::Method::kPost, "/hook", [&](http::Request& req) {
    std::lock_guard lock(mu);
    received.emplace_back(req.body, req.Header("X-Cairn-Signature").value_or(""));
    return http::Response::Text(200, "ok");
  });
  http::ServerOptions o;
  o.port = hook_port;
  o.threads = 1;
  o.access_log = false;
  http::HttpServer receiver(o, std::move(router));
  ASSERT_TRUE(receiver.Start());
  for (int i = 0; i < 300; ++i) {
    d = deliveries();
    if (!d.empty() && d[0]["status"] == "delivered") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(d.size(), 1u) << d.dump();
  EXPECT_EQ(d[0]["status"], "delivered") << d.dump();
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(received.size(), 1u);
    EXPECT_EQ(received[0].second, registry::WebhookSignature("s3cret", received[0].first));
    json body = json::parse(received[0].first);
    EXPECT_EQ(body["event"], "monitor.alert.fired");
    EXPECT_EQ(body["feature"], "amount");
  }
  receiver.Stop();
  // One incident, still firing (the drift did not clear).
  test::HttpResult alerts = test::RawHttp(port, "GET", "/api/v1/monitors/alerting/alerts");
  json a = json::parse(alerts.body)["alerts"];
  ASSERT_EQ(a.size(), 1u) << alerts.body;
  EXPECT_EQ(a[0]["status"], "firing");
  EXPECT_EQ(a[0]["feature"], "amount");
}

}  // namespace
}  // namespace cairn::api
