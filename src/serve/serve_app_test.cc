// ServeApp end to end on 127.0.0.1:0: the XGBoost test model (binary_ubj,
// with a column signature f0..f9 added) as local-folder deployments, and the
// python_function "behavior" model (a column "sleep" makes it sleep) where a
// slow model is needed. Requests go over real sockets (a tiny HTTP/1.1
// client below) so headers, statuses and bodies are what a client sees.

#include "serve/serve_app.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <regex>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "support/live_server.h"
#include "support/raw_http.h"
#include "support/temp_files.h"

namespace cairn::serve {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kTestdata = CAIRN_XGBOOST_TESTDATA;
const std::string kBehaviorModel =
    std::string(CAIRN_XGBOOST_TESTDATA) + "/../../../serving/runtimes/testdata/behavior";

// ---- HTTP (support/raw_http.h: every response header is visible)

using test::HttpResult;

HttpResult Http(int port, const std::string& method, const std::string& target,
                const std::string& body = "",
                const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  return test::RawHttp(port, method, target, body, headers);
}

HttpResult PostJson(int port, const std::string& target, const std::string& body,
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
  headers.emplace_back("Content-Type", "application/json");
  return Http(port, "POST", target, body, headers);
}

// ---- test data

std::vector<std::vector<float>> Inputs() {
  std::ifstream in(kTestdata + "/inputs.txt");
  std::vector<std::vector<float>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<float> row;
    std::string v;
    while (fields >> v) row.push_back(v == "nan" ? NAN : std::stof(v));
    rows.push_back(row);
  }
  return rows;
}

// The classifier's labels (what mlflow.pyfunc answers): probability > 0.5.
std::vector<int64_t> ExpectedLabels() {
  std::ifstream in(kTestdata + "/binary_ubj.expected.txt");
  std::vector<int64_t> labels;
  double p = 0;
  while (in >> p) labels.push_back(p > 0.5 ? 1 : 0);
  return labels;
}

std::string JsonNumber(float v) {
  if (std::isnan(v)) return "\"NaN\"";
  std::ostringstream out;
  out.precision(9);
  out << v;
  return out.str();
}

// The 20 test rows as one OIP FP32 tensor [20,10] named "input".
std::string OipInferBody(const std::string& id = "") {
  std::string data;
  for (const auto& row : Inputs()) {
    for (float v : row) data += (data.empty() ? "" : ",") + JsonNumber(v);
  }
  std::string body = "{";
  if (!id.empty()) body += "\"id\":\"" + id + "\",";
  body += R"("inputs":[{"name":"input","shape":[20,10],"datatype":"FP32","data":[)" + data +
          "]}]}";
  return body;
}

std::string Columns() {
  std::string cols;
  for (int i = 0; i < 10; ++i) cols += (i ? "," : "") + std::string("\"f") + std::to_string(i) + "\"";
  return "[" + cols + "]";
}

std::string RowsJson() {
  std::string rows;
  for (const auto& row : Inputs()) {
    std::string r;
    for (float v : row) r += (r.empty() ? "" : ",") + (std::isnan(v) ? "null" : JsonNumber(v));
    rows += (rows.empty() ? "[" : ",[") + r + "]";
  }
  return "[" + rows + "]";
}

std::vector<int64_t> Ints(const json& j) {
  std::vector<int64_t> out;
  for (const auto& v : j) out.push_back(v.get<int64_t>());
  return out;
}

// A copy of binary_ubj under `dir`/`name`, with a column signature f0..f9.
std::string ModelCopy(const std::string& dir, const std::string& name) {
  fs::path dest = fs::path(dir) / name;
  fs::copy(kTestdata + "/binary_ubj", dest, fs::copy_options::recursive);
  std::string inputs;
  for (int i = 0; i < 10; ++i) {
    inputs += std::string(i ? ", " : "") + "{\"type\": \"float\", \"name\": \"f" +
              std::to_string(i) + "\", \"required\": true}";
  }
  std::ofstream mlmodel(dest / "MLmodel", std::ios::app);
  mlmodel << "signature:\n  inputs: '[" << inputs
          << "]'\n  outputs: '[{\"type\": \"long\", \"required\": true}]'\n  params: null\n";
  return dest.string();
}

class ServeAppTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::MakeTempDir("serve-app-test"); }
  void TearDown() override {
    if (app_) app_->Stop();
    app_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  ServeConfig BaseConfig() {
    ServeConfig config;
    config.http.port = 0;
    config.http.threads = 4;
    config.http.access_log = false;
    config.http.io_context_per_thread = true;  // as `cairn serve` runs (--io-model)
    config.manager.poll_interval = std::chrono::milliseconds(0);
    config.version = "9.8.7";
    return config;
  }

  DeploymentSpec Deployment(const std::string& name, std::vector<TargetSpec> targets) {
    DeploymentSpec spec;
    spec.name = name;
    spec.targets = std::move(targets);
    return spec;
  }

  // Opens and starts the app; returns the port (0 and a test failure when it fails).
  int Start(ServeConfig config) {
    auto app = ServeApp::Open(std::move(config));
    if (!app) {
      ADD_FAILURE() << app.error().ToString();
      return 0;
    }
    app_ = std::move(*app);
    auto port = app_->Start();
    if (!port) {
      ADD_FAILURE() << port.error().ToString();
      return 0;
    }
    return *port;
  }

  // One deployment "fraud" serving a signed copy of binary_ubj.
  int StartFraud() {
    ServeConfig config = BaseConfig();
    config.deployments.push_back(
        Deployment("fraud", {TargetSpec{ModelCopy(dir_, "fraud_a"), 1, false}}));
    return Start(std::move(config));
  }

  std::string dir_;
  std::unique_ptr<ServeApp> app_;
};

TEST_F(ServeAppTest, HealthAndServerMetadata) {
  int port = StartFraud();
  ASSERT_NE(port, 0);
  EXPECT_EQ(Http(port, "GET", "/v2/health/live").status, 200);
  EXPECT_EQ(Http(port, "GET", "/v2/health/ready").status, 200);
  HttpResult meta = Http(port, "GET", "/v2");
  ASSERT_EQ(meta.status, 200);
  json j = json::parse(meta.body);
  EXPECT_EQ(j["name"], "cairn");
  EXPECT_EQ(j["version"], "9.8.7");
  EXPECT_EQ(j["extensions"], json::array({"binary_tensor_data"}));
}

TEST_F(ServeAppTest, ModelMetadataAndReadiness) {
  int port = StartFraud();
  ASSERT_NE(port, 0);
  HttpResult r = Http(port, "GET", "/v2/models/fraud");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["name"], "fraud");
  EXPECT_EQ(j["versions"], json::array({"1"}));
  EXPECT_EQ(j["platform"], "xgboost");
  ASSERT_EQ(j["inputs"].size(), 10u);
  EXPECT_EQ(j["inputs"][0]["name"], "f0");
  EXPECT_EQ(j["inputs"][9]["name"], "f9");
  EXPECT_EQ(j["inputs"][0]["datatype"], "FP32");
  EXPECT_EQ(j["inputs"][0]["shape"], json::array({-1}));

  EXPECT_EQ(Http(port, "GET", "/v2/models/fraud/versions/1").status, 200);
  EXPECT_EQ(Http(port, "GET", "/v2/models/fraud/ready").status, 200);
  EXPECT_EQ(Http(port, "GET", "/v2/models/fraud/versions/1/ready").status, 200);
  EXPECT_EQ(Http(port, "GET", "/v2/models/fraud/versions/2/ready").status, 404);
  HttpResult unknown = Http(port, "GET", "/v2/models/nope/ready");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(json::parse(unknown.body)["error"].get<std::string>().find("nope"),
            std::string::npos);
  // Infer is POST only; metadata GET only.
  HttpResult wrong = Http(port, "GET", "/v2/models/fraud/infer");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.Header("allow"), "POST");
  EXPECT_EQ(Http(port, "GET", "/v2/models/fraud/bogus").status, 404);
}

TEST_F(ServeAppTest, OipInferJson) {
  int port = StartFraud();
  ASSERT_NE(port, 0);
  HttpResult r = PostJson(port, "/v2/models/fraud/infer", OipInferBody("req-42"));
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["model_name"], "fraud");
  EXPECT_EQ(j["model_version"], "1");
  EXPECT_EQ(j["id"], "req-42");
  ASSERT_EQ(j["outputs"].size(), 1u);
  EXPECT_EQ(j["outputs"][0]["name"], "predict");
  EXPECT_EQ(j["outputs"][0]["datatype"], "INT64");
  EXPECT_EQ(j["outputs"][0]["shape"], json::array({20}));
  EXPECT_EQ(Ints(j["outputs"][0]["data"]), ExpectedLabels());
  EXPECT_EQ(r.Header("x-request-id"), "req-42");
  EXPECT_EQ(r.Header("x-cairn-model"), "fraud_a");
  EXPECT_EQ(r.Header("x-cairn-version"), "1");

  // Pinned version; no OIP id: the X-Request-Id header is echoed.
  HttpResult pinned = PostJson(port, "/v2/models/fraud/versions/1/infer", OipInferBody(),
                               {{"X-Request-Id", "trace-7"}});
  ASSERT_EQ(pinned.status, 200) << pinned.body;
  EXPECT_EQ(Ints(json::parse(pinned.body)["outputs"][0]["data"]), ExpectedLabels());
  EXPECT_FALSE(json::parse(pinned.body).contains("id"));
  EXPECT_EQ(pinned.Header("x-request-id"), "trace-7");
  // Neither: a generated id.
  EXPECT_EQ(PostJson(port, "/v2/models/fraud/infer", OipInferBody()).Header("x-request-id").size(),
            32u);
}

TEST_F(ServeAppTest, OipInferBinaryExtension) {
  int port = StartFraud();
  ASSERT_NE(port, 0);
  std::string raw;
  for (const auto& row : Inputs()) {
    raw.append(reinterpret_cast<const char*>(row.data()), row.size() * sizeof(float));
  }
  std::string header = R"({"inputs":[{"name":"input","shape":[20,10],"datatype":"FP32",)"
                       R"("parameters":{"binary_data_size":)" +
                       std::to_string(raw.size()) +
                       R"(}}],"outputs":[{"name":"predict","parameters":{"binary_data":true}}]})";
  HttpResult r = Http(port, "POST", "/v2/models/fraud/infer", header + raw,
                      {{"Inference-Header-Content-Length", std::to_string(header.size())},
                       {"Content-Type", "application/octet-stream"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/octet-stream");
  ASSERT_FALSE(r.Header("inference-header-content-length").empty());
  size_t json_size = std::stoul(r.Header("inference-header-content-length"));
  ASSERT_LE(json_size, r.body.size());
  json j = json::parse(r.body.substr(0, json_size));
  ASSERT_EQ(j["outputs"].size(), 1u);
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 20 * 8);
  EXPECT_FALSE(j["outputs"][0].contains("data"));
  std::string binary = r.body.substr(json_size);
  ASSERT_EQ(binary.size(), 20u * 8);
  std::vector<int64_t> labels(20);
  std::memcpy(labels.data(), binary.data(), binary.size());
  EXPECT_EQ(labels, ExpectedLabels());

  // A header length that is not a number, or larger than the body: 400.
  HttpResult bad = Http(port, "POST", "/v2/models/fraud/infer", header + raw,
                        {{"Inference-Header-Content-Length", "abc"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(json::parse(bad.body)["error"].get<std::string>().find("Inference-Header-Content-Length"),
            std::string::npos);
  EXPECT_EQ(Http(port, "POST", "/v2/models/fraud/infer", header + raw,
                 {{"Inference-Header-Content-Length", std::to_string(header.size() + raw.size() + 1)}})
                .status,
            400);
}

TEST_F(ServeAppTest, OipErrors) {
  int port = StartFraud();
  ASSERT_NE(port, 0);
  HttpResult unknown = PostJson(port, "/v2/models/nope/infer", OipInferBody());
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(json::parse(unknown.body)["error"].get<std::string>().find("nope"),
            std::string::npos);
  HttpResult version = PostJson(port, "/v2/models/fraud/versions/7/infer", OipInferBody());
  EXPECT_EQ(version.status, 404);
  EXPECT_NE(json::parse(version.body)["error"].get<std::string>().find("'7'"), std::string::npos);
  HttpResult malformed = PostJson(port, "/v2/models/fraud/infer", R"({"inputs": [)");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_TRUE(json::parse(malformed.body).contains("error"));
  HttpResult shape = PostJson(
      port, "/v2/models/fraud/infer",
      R"({"inputs":[{"name":"input","shape":[1,9],"datatype":"FP32","data":[1,2,3,4,5,6,7,8,9]}]})");
  EXPECT_EQ(shape.status, 400);
  EXPECT_NE(json::parse(shape.body)["error"].get<std::string>().find("'input'"),
            std::string::npos)
      << shape.body;
  HttpResult output = PostJson(
      port, "/v2/models/fraud/infer",
      R"({"inputs":[{"name":"input","shape":[1,10],"datatype":"FP32","data":[1,2,3,4,5,6,7,8,9,0]}],)"
      R"("outputs":[{"name":"proba"}]})");
  EXPECT_EQ(output.status, 400);
  EXPECT_NE(output.body.find("proba"), std::string::npos);
}

TEST_F(ServeAppTest, InvocationsFormats) {
  int port = StartFraud();
  ASSERT_NE(port, 0);
  const std::vector<int64_t> expected = ExpectedLabels();
  auto predictions = [](const HttpResult& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return std::vector<int64_t>{};
    return Ints(json::parse(r.body)["predictions"]);
  };
  EXPECT_EQ(predictions(PostJson(port, "/invocations",
                                 R"({"dataframe_split":{"columns":)" + Columns() +
                                     R"(,"data":)" + RowsJson() + "}}")),
            expected);
  std::string records;
  for (const auto& row : Inputs()) {
    std::string r;
    for (size_t i = 0; i < row.size(); ++i) {
      r += (i ? "," : "") + std::string("\"f") + std::to_string(i) +
           "\":" + (std::isnan(row[i]) ? "null" : JsonNumber(row[i]));
    }
    records += (records.empty() ? "{" : ",{") + r + "}";
  }
  EXPECT_EQ(predictions(PostJson(port, "/invocations", R"({"dataframe_records":[)" + records + "]}")),
            expected);
  EXPECT_EQ(predictions(PostJson(port, "/invocations", R"({"instances":)" + RowsJson() + "}")),
            expected);
  EXPECT_EQ(predictions(PostJson(port, "/invocations", R"({"inputs":)" + RowsJson() + "}")),
            expected);
  std::string csv = "f0,f1,f2,f3,f4,f5,f6,f7,f8,f9\n";
  for (const auto& row : Inputs()) {
    for (size_t i = 0; i < row.size(); ++i) {
      csv += (i ? "," : "") + (std::isnan(row[i]) ? std::string("") : JsonNumber(row[i]));
    }
    csv += "\n";
  }
  EXPECT_EQ(predictions(Http(port, "POST", "/invocations", csv, {{"Content-Type", "text/csv"}})),
            expected);

  // As mlflow models serve: 415 text/plain for an unsupported type.
  HttpResult plain = Http(port, "POST", "/invocations", "x", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(plain.status, 415);
  EXPECT_EQ(plain.Header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(plain.body,
            "This predictor only supports the following content types: Types: ['text/csv', "
            "'application/json', 'application/vnd.apache.parquet']. Got 'text/plain'.");
  // Bad JSON: 400 BAD_REQUEST; a missing column: 400 INVALID_PARAMETER_VALUE (as
  // mlflow models serve answers a schema-enforcement failure).
  HttpResult bad = PostJson(port, "/invocations", R"({"dataframe_split": )");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["error_code"], "BAD_REQUEST");
  HttpResult missing =
      PostJson(port, "/invocations", R"({"dataframe_split":{"columns":["f0"],"data":[[1]]}})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(json::parse(missing.body)["error_code"], "INVALID_PARAMETER_VALUE");
  EXPECT_NE(json::parse(missing.body)["message"].get<std::string>().find("f1"), std::string::npos);
}

TEST_F(ServeAppTest, PingHealthVersionAndUnknownPaths) {
  int port = StartFraud();
  ASSERT_NE(port, 0);
  HttpResult ping = Http(port, "GET", "/ping");
  EXPECT_EQ(ping.status, 200);
  EXPECT_EQ(ping.body, "\n");
  EXPECT_EQ(Http(port, "GET", "/health").status, 200);
  HttpResult version = Http(port, "GET", "/version");
  EXPECT_EQ(version.status, 200);
  EXPECT_EQ(version.body, "9.8.7");
  EXPECT_EQ(Http(port, "GET", "/nowhere").status, 404);
  HttpResult get_invocations = Http(port, "GET", "/invocations");
  EXPECT_EQ(get_invocations.status, 405);
  EXPECT_EQ(get_invocations.Header("allow"), "POST");
}

TEST_F(ServeAppTest, MetricsCountRequests) {
  int port = StartFraud();
  ASSERT_NE(port, 0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(PostJson(port, "/v2/models/fraud/infer", OipInferBody()).status, 200);
  }
  ASSERT_EQ(PostJson(port, "/v2/models/fraud/infer", R"({"inputs": [)").status, 400);
  ASSERT_EQ(Http(port, "GET", "/nowhere").status, 404);
  HttpResult m = Http(port, "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m.body.find("cairn_inference_requests_total{deployment=\"fraud\",model=\"fraud_a\","
                        "version=\"1\",role=\"live\",code=\"200\"} 3\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("cairn_inference_requests_total{deployment=\"fraud\",model=\"fraud_a\","
                        "version=\"1\",role=\"live\",code=\"400\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("cairn_inference_request_seconds_count{deployment=\"fraud\","
                        "model=\"fraud_a\",version=\"1\",role=\"live\"} 4\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("cairn_http_requests_total{route=\"/v2/models/{m}/infer\",code=\"200\"} 3\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("cairn_http_requests_total{route=\"unmatched\",code=\"404\"} 1\n"),
            std::string::npos);
}

TEST_F(ServeAppTest, AdminTrafficMovesRequests) {
  ServeConfig config = BaseConfig();
  const std::string a = ModelCopy(dir_, "fraud_a");
  const std::string b = ModelCopy(dir_, "fraud_b");
  config.deployments.push_back(
      Deployment("fraud", {TargetSpec{a, 100, false}, TargetSpec{b, 0, false}}));
  int port = Start(std::move(config));
  ASSERT_NE(port, 0);

  HttpResult list = Http(port, "GET", "/v1/deployments");
  ASSERT_EQ(list.status, 200);
  json l = json::parse(list.body);
  ASSERT_EQ(l["deployments"].size(), 1u);
  const json& d = l["deployments"][0];
  EXPECT_EQ(d["name"], "fraud");
  EXPECT_EQ(d["sticky_header"], "");
  ASSERT_EQ(d["targets"].size(), 2u);
  EXPECT_EQ(d["targets"][0]["model"], a);
  EXPECT_EQ(d["targets"][0]["weight"], 100);
  EXPECT_EQ(d["targets"][0]["shadow"], false);
  EXPECT_EQ(d["targets"][0]["model_name"], "fraud_a");
  EXPECT_EQ(d["targets"][0]["version"], "1");
  EXPECT_EQ(d["targets"][0]["state"], "serving");
  EXPECT_EQ(d["targets"][0]["last_error"], "");
  EXPECT_GT(d["targets"][0]["loaded_at"].get<int64_t>(), 0);
  EXPECT_EQ(d["targets"][1]["weight"], 0);
  HttpResult one = Http(port, "GET", "/v1/deployments/fraud");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(json::parse(one.body)["deployment"], d);
  EXPECT_EQ(Http(port, "GET", "/v1/deployments/nope").status, 404);

  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(PostJson(port, "/v2/models/fraud/infer", OipInferBody()).Header("x-cairn-model"),
              "fraud_a");
  }
  json traffic = {{"targets", {{{"model", a}, {"weight", 0}}, {{"model", b}, {"weight", 100}}}}};
  HttpResult put = Http(port, "PUT", "/v1/deployments/fraud/traffic", traffic.dump(),
                        {{"Content-Type", "application/json"}});
  ASSERT_EQ(put.status, 200) << put.body;
  json p = json::parse(put.body);
  EXPECT_EQ(p["deployment"]["targets"][0]["weight"], 0);
  EXPECT_EQ(p["deployment"]["targets"][1]["weight"], 100);
  for (int i = 0; i < 5; ++i) {
    HttpResult r = PostJson(port, "/v2/models/fraud/infer", OipInferBody());
    EXPECT_EQ(r.Header("x-cairn-model"), "fraud_b");
    EXPECT_EQ(Ints(json::parse(r.body)["outputs"][0]["data"]), ExpectedLabels());
  }
  for (int i = 0; i < 3; ++i) {
    HttpResult r = PostJson(port, "/invocations",
                            R"({"inputs":)" + RowsJson() + "}");
    EXPECT_EQ(r.Header("x-cairn-model"), "fraud_b");
  }

  // Bad bodies change nothing.
  HttpResult bad = Http(port, "PUT", "/v1/deployments/fraud/traffic", R"({"targets": [)",
                        {{"Content-Type", "application/json"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(json::parse(bad.body).contains("error_code"));
  json zero = {{"targets", {{{"model", a}, {"weight", 0}}, {{"model", b}, {"weight", 0}}}}};
  HttpResult invalid = Http(port, "PUT", "/v1/deployments/fraud/traffic", zero.dump(),
                            {{"Content-Type", "application/json"}});
  EXPECT_EQ(invalid.status, 400) << invalid.body;
  EXPECT_EQ(json::parse(Http(port, "GET", "/v1/deployments/fraud").body)["deployment"]["targets"]
                [1]["weight"],
            100);
  HttpResult nope = Http(port, "PUT", "/v1/deployments/nope/traffic", traffic.dump(),
                         {{"Content-Type", "application/json"}});
  EXPECT_EQ(nope.status, 404);
}

TEST_F(ServeAppTest, StickyHeaderKeepsAUserOnOneTarget) {
  ServeConfig config = BaseConfig();
  DeploymentSpec spec = Deployment("fraud", {TargetSpec{ModelCopy(dir_, "fraud_a"), 50, false},
                                             TargetSpec{ModelCopy(dir_, "fraud_b"), 50, false}});
  spec.sticky_header = "X-User-Id";
  config.deployments.push_back(spec);
  int port = Start(std::move(config));
  ASSERT_NE(port, 0);
  std::map<std::string, int> seen;
  for (int user = 0; user < 12; ++user) {
    const std::string id = "user-" + std::to_string(user);
    const std::string first =
        PostJson(port, "/v2/models/fraud/infer", OipInferBody(), {{"X-User-Id", id}})
            .Header("x-cairn-model");
    ++seen[first];
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(PostJson(port, "/invocations", R"({"inputs":)" + RowsJson() + "}",
                         {{"X-User-Id", id}})
                    .Header("x-cairn-model"),
                first);
    }
  }
  // 12 users over two equal targets: both get some (a 1 in 2048 chance of failing by luck).
  EXPECT_EQ(seen.size(), 2u);
}

TEST_F(ServeAppTest, InvocationsChoosesAmongDeployments) {
  ServeConfig config = BaseConfig();
  config.deployments.push_back(
      Deployment("alpha", {TargetSpec{ModelCopy(dir_, "fraud_a"), 1, false}}));
  config.deployments.push_back(
      Deployment("beta", {TargetSpec{ModelCopy(dir_, "fraud_b"), 1, false}}));
  int port = Start(std::move(config));
  ASSERT_NE(port, 0);
  const std::string body = R"({"inputs":)" + RowsJson() + "}";
  HttpResult none = PostJson(port, "/invocations", body);
  EXPECT_EQ(none.status, 400);
  std::string message = json::parse(none.body)["message"];
  EXPECT_NE(message.find("alpha"), std::string::npos);
  EXPECT_NE(message.find("beta"), std::string::npos);
  EXPECT_EQ(PostJson(port, "/invocations", body, {{"X-Cairn-Deployment", "beta"}})
                .Header("x-cairn-model"),
            "fraud_b");
  EXPECT_EQ(PostJson(port, "/invocations?model=alpha", body).Header("x-cairn-model"), "fraud_a");
  EXPECT_EQ(PostJson(port, "/invocations?model=gamma", body).status, 404);
}

std::vector<json> ReadLogRecords(const std::string& root) {
  std::vector<json> records;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".jsonl") continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) records.push_back(json::parse(line));
    }
  }
  return records;
}

TEST_F(ServeAppTest, ShadowGetsCopiesAndIsLogged) {
  ServeConfig config = BaseConfig();
  config.deployments.push_back(Deployment("fraud", {TargetSpec{ModelCopy(dir_, "fraud_a"), 1, false},
                                                    TargetSpec{ModelCopy(dir_, "fraud_b"), 0, true}}));
  const std::string log_root = dir_ + "/log";
  serving::InferenceLogOptions log;
  log.root = log_root;
  log.sample_rate = 1.0;
  config.inference_log = log;
  int port = Start(std::move(config));
  ASSERT_NE(port, 0);
  for (int i = 0; i < 4; ++i) {
    HttpResult r = PostJson(port, "/v2/models/fraud/infer", OipInferBody("r" + std::to_string(i)));
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.Header("x-cairn-model"), "fraud_a");
    EXPECT_EQ(Ints(json::parse(r.body)["outputs"][0]["data"]), ExpectedLabels());
  }
  // The shadow pinned by version is reachable; its answers otherwise never are.
  const std::string shadow_line =
      "cairn_inference_requests_total{deployment=\"fraud\",model=\"fraud_b\",version=\"1\","
      "role=\"shadow\",code=\"200\"} 4\n";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (app_->metrics().Render().find(shadow_line) == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(app_->metrics().Render().find(shadow_line), std::string::npos)
      << app_->metrics().Render();
  app_->Stop();  // flushes the log

  std::vector<json> records = ReadLogRecords(log_root);
  int live = 0;
  int shadow = 0;
  std::vector<int64_t> labels;
  for (const int64_t l : ExpectedLabels()) labels.push_back(l);
  for (const json& r : records) {
    // Both roles record what was asked (the conformed columns) and answered.
    EXPECT_EQ(r["inputs"]["kind"], "columns") << r.dump();
    EXPECT_EQ(r["inputs"]["tensors"].size(), 10u);
    EXPECT_EQ(Ints(r["outputs"]["tensors"][0]["data"]), labels);
    EXPECT_EQ(r["deployment"], "fraud");
    EXPECT_EQ(r["status"], 200);
    if (r["role"] == "shadow") {
      ++shadow;
      EXPECT_EQ(r["model"], "fraud_b");
    } else {
      ++live;
      EXPECT_EQ(r["model"], "fraud_a");
    }
    EXPECT_EQ(r["request_id"].get<std::string>().substr(0, 1), "r");
  }
  EXPECT_EQ(live, 4);
  EXPECT_EQ(shadow, 4);
  EXPECT_NE(app_->metrics().Render().find("cairn_inference_log_records_total 8\n"),
            std::string::npos);
}

// The value of an unlabelled counter in the Prometheus text (-1 when absent).
double CounterValue(const std::string& text, const std::string& name) {
  const std::string prefix = "\n" + name + " ";
  const size_t at = ("\n" + text).find(prefix);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + prefix.size() - 1));
}

// Regular files under `root` (recursive), any extension.
std::vector<std::string> FilesUnder(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) out.push_back(e.path().string());
  }
  return out;
}

// Names in a proxy listing (the last path component of each entry).
std::vector<std::pair<std::string, bool>> ListProxy(int port, const std::string& path) {
  std::vector<std::pair<std::string, bool>> out;
  HttpResult r = Http(port, "GET", "/api/2.0/mlflow-artifacts/artifacts?path=" + path);
  EXPECT_EQ(r.status, 200) << r.body;
  if (r.status != 200) return out;
  json j = json::parse(r.body);
  for (const auto& f : j.value("files", json::array())) {
    std::string name = f.at("path");
    if (auto slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
    out.emplace_back(name, f.value("is_dir", false));
  }
  return out;
}

TEST_F(ServeAppTest, InferenceLogSegmentsAreUploadedThroughTheArtifactProxy) {
  auto server = test::LiveServer::Start("cairn-serve-ilog");
  ASSERT_TRUE(server) << server.error().ToString();
  ServeConfig config = BaseConfig();
  config.deployments.push_back(
      Deployment("fraud", {TargetSpec{ModelCopy(dir_, "fraud_a"), 1, false}}));
  config.source.tracking_uri = (*server)->uri();
  config.source.cache_dir = dir_ + "/cache";
  const std::string staging = dir_ + "/staging";
  serving::InferenceLogOptions log;
  log.root = staging;
  log.segment_records = 2;  // 3 requests: one segment closes while serving, one at Stop
  log.flush_interval = std::chrono::milliseconds(10);
  config.inference_log = log;
  config.inference_log_uri = "mlflow-artifacts:/inference-log";
  int port = Start(std::move(config));
  ASSERT_NE(port, 0);
  EXPECT_EQ(app_->inference_log_root(), staging);
  for (int i = 0; i < 3; ++i) {
    HttpResult r = PostJson(port, "/v2/models/fraud/infer", OipInferBody("u" + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  app_->Stop();  // flushes the log and uploads the last segment

  const std::string metrics = app_->metrics().Render();
  EXPECT_EQ(CounterValue(metrics, "cairn_inference_log_uploads_total"), 2) << metrics;
  EXPECT_EQ(CounterValue(metrics, "cairn_inference_log_upload_failures_total"), 0) << metrics;
  // Uploaded copies are deleted locally.
  EXPECT_EQ(FilesUnder(staging), std::vector<std::string>{});

  // Read them back through the control plane's artifact proxy.
  const int server_port = (*server)->port();
  auto dates = ListProxy(server_port, "inference-log/fraud");
  ASSERT_EQ(dates.size(), 1u);
  EXPECT_TRUE(dates[0].second);
  EXPECT_TRUE(std::regex_match(dates[0].first, std::regex(R"(\d{4}-\d{2}-\d{2})")))
      << dates[0].first;
  const std::string folder = "inference-log/fraud/" + dates[0].first;
  auto files = ListProxy(server_port, folder);
  ASSERT_EQ(files.size(), 2u);
  std::set<std::string> ids;
  size_t records = 0;
  for (const auto& [name, is_dir] : files) {
    EXPECT_FALSE(is_dir);
    EXPECT_TRUE(name.ends_with(".jsonl")) << name;
    HttpResult r =
        Http(server_port, "GET", "/api/2.0/mlflow-artifacts/artifacts/" + folder + "/" + name);
    ASSERT_EQ(r.status, 200) << r.body;
    std::istringstream lines(r.body);
    std::string line;
    while (std::getline(lines, line)) {
      json rec = json::parse(line);
      ++records;
      ids.insert(rec["request_id"].get<std::string>());
      EXPECT_EQ(rec["deployment"], "fraud");
      EXPECT_EQ(rec["status"], 200);
      EXPECT_EQ(Ints(rec["outputs"]["tensors"][0]["data"]), ExpectedLabels());
    }
  }
  EXPECT_EQ(records, 3u);
  EXPECT_EQ(ids, (std::set<std::string>{"u0", "u1", "u2"}));
}

TEST_F(ServeAppTest, SegmentsLeftByAnEarlierRunAreUploadedByTheNextOne) {
  auto server = test::LiveServer::Start("cairn-serve-ilog-left");
  ASSERT_TRUE(server) << server.error().ToString();
  // A closed segment an earlier run could not upload, and a .part it never closed.
  const std::string staging = dir_ + "/staging";
  std::filesystem::create_directories(staging + "/fraud/2026-11-25");
  {
    std::ofstream(staging + "/fraud/2026-11-25/1764000000000-0.jsonl")
        << R"({"request_id":"old-1","deployment":"fraud"})" << "\n";
    std::ofstream(staging + "/fraud/2026-11-25/1764000000001-1.jsonl.part") << "{";
  }
  ServeConfig config = BaseConfig();
  config.deployments.push_back(
      Deployment("fraud", {TargetSpec{ModelCopy(dir_, "fraud_a"), 1, false}}));
  config.source.tracking_uri = (*server)->uri();
  config.source.cache_dir = dir_ + "/cache";
  serving::InferenceLogOptions log;
  log.root = staging;
  config.inference_log = log;
  config.inference_log_uri = "mlflow-artifacts:/inference-log";
  int port = Start(std::move(config));
  ASSERT_NE(port, 0);
  app_->Stop();  // no new segment: the leftover goes in the final round

  const std::string metrics = app_->metrics().Render();
  EXPECT_EQ(CounterValue(metrics, "cairn_inference_log_uploads_total"), 1) << metrics;
  HttpResult r = Http((*server)->port(), "GET",
                      "/api/2.0/mlflow-artifacts/artifacts/inference-log/fraud/2026-11-25/"
                      "1764000000000-0.jsonl");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["request_id"], "old-1");
  EXPECT_FALSE(std::filesystem::exists(staging + "/fraud/2026-11-25/1764000000000-0.jsonl"));
  // An unclosed segment is not a segment: never uploaded.
  EXPECT_TRUE(std::filesystem::exists(staging + "/fraud/2026-11-25/1764000000001-1.jsonl.part"));
}

TEST_F(ServeAppTest, FailedInferenceLogUploadsStayOnDiskAndAreCounted) {
  // A port nobody listens on.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int dead_port = ntohs(addr.sin_port);
  ::close(fd);

  ServeConfig config = BaseConfig();
  config.deployments.push_back(
      Deployment("fraud", {TargetSpec{ModelCopy(dir_, "fraud_a"), 1, false}}));
  config.source.tracking_uri = "http://127.0.0.1:" + std::to_string(dead_port);
  config.source.cache_dir = dir_ + "/cache";
  // No inference_log options: the URI turns the log on, staged under the cache.
  config.inference_log_uri = "mlflow-artifacts:/inference-log";
  int port = Start(std::move(config));
  ASSERT_NE(port, 0);
  const std::string staging = app_->inference_log_root();
  EXPECT_TRUE(staging.starts_with(dir_ + "/cache/")) << staging;
  for (int i = 0; i < 2; ++i) {
    HttpResult r = PostJson(port, "/v2/models/fraud/infer", OipInferBody("d" + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  app_->Stop();

  const std::string metrics = app_->metrics().Render();
  EXPECT_GE(CounterValue(metrics, "cairn_inference_log_upload_failures_total"), 1) << metrics;
  EXPECT_EQ(CounterValue(metrics, "cairn_inference_log_uploads_total"), 0) << metrics;
  const std::vector<std::string> files = FilesUnder(staging);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(files[0].ends_with(".jsonl")) << files[0];
  std::vector<json> records = ReadLogRecords(staging);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["request_id"], "d0");
  EXPECT_EQ(records[1]["request_id"], "d1");
}

TEST_F(ServeAppTest, InferenceLogUriNeedsATrackingServerOrNamesTheFolder) {
  ServeConfig config = BaseConfig();
  config.deployments.push_back(
      Deployment("fraud", {TargetSpec{ModelCopy(dir_, "fraud_a"), 1, false}}));
  config.source.cache_dir = dir_ + "/cache";
  config.inference_log_uri = "mlflow-artifacts:/inference-log";
  auto app = ServeApp::Open(config);
  ASSERT_FALSE(app);
  EXPECT_EQ(app.error().code(), ErrorCode::kInvalidArgument);

  // A file:// URI is simply the log's folder.
  config.inference_log_uri = "file://" + dir_ + "/local-log";
  int port = Start(std::move(config));
  ASSERT_NE(port, 0);
  EXPECT_EQ(app_->inference_log_root(), dir_ + "/local-log");
  HttpResult r = PostJson(port, "/v2/models/fraud/infer", OipInferBody("l0"));
  ASSERT_EQ(r.status, 200) << r.body;
  app_->Stop();
  std::vector<json> records = ReadLogRecords(dir_ + "/local-log");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["request_id"], "l0");
}

// ---- the slow python_function model

bool PythonAvailable() { return fs::exists(CAIRN_TEST_PYTHON) && fs::exists(kBehaviorModel); }

class SlowModelTest : public ServeAppTest {
 protected:
  int StartBehavior(int64_t max_queue, int64_t max_batch_size = 1, std::string policy = "greedy",
                    int64_t max_queue_delay_us = 0) {
    ServeConfig config = BaseConfig();
    DeploymentSpec spec = Deployment("slow", {TargetSpec{kBehaviorModel, 1, false}});
    spec.batching.instances = 1;
    spec.batching.max_batch_size = max_batch_size;
    spec.batching.max_queue = max_queue;
    spec.batching.policy = std::move(policy);
    spec.batching.max_queue_delay_us = max_queue_delay_us;
    config.deployments.push_back(spec);
    config.manager.runtime.python = CAIRN_TEST_PYTHON;
    return Start(std::move(config));
  }
  serving::BatcherStats Stats() {
    auto routed = app_->manager().Route("slow", std::nullopt, std::nullopt);
    return routed ? routed->live->Stats() : serving::BatcherStats{};
  }
  template <typename F>
  bool WaitFor(F condition) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }
};

std::string SleepBody(double seconds) {
  return R"({"dataframe_split":{"columns":["sleep","x"],"data":[[)" + std::to_string(seconds) +
         ",2]]}}";
}

TEST_F(SlowModelTest, FullQueueIs429WithRetryAfter) {
  if (!PythonAvailable()) GTEST_SKIP() << "no python venv with mlflow";
  int port = StartBehavior(1);
  ASSERT_NE(port, 0);
  // A frame answer renders as records.
  HttpResult quick = PostJson(port, "/invocations", SleepBody(0));
  ASSERT_EQ(quick.status, 200) << quick.body;
  json q = json::parse(quick.body);
  ASSERT_EQ(q["predictions"].size(), 1u);
  EXPECT_EQ(q["predictions"][0]["columns"], "sleep,x");
  EXPECT_EQ(q["predictions"][0]["sum"], 2.0);

  auto running = std::async(std::launch::async,
                            [&] { return PostJson(port, "/invocations", SleepBody(1.5)); });
  ASSERT_TRUE(WaitFor([&] { return Stats().busy_instances == 1; }));
  auto queued = std::async(std::launch::async,
                           [&] { return PostJson(port, "/invocations", SleepBody(0)); });
  ASSERT_TRUE(WaitFor([&] { return Stats().queue_depth == 1; }));
  HttpResult refused = PostJson(port, "/invocations", SleepBody(0));
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(refused.Header("retry-after"), "1");
  EXPECT_EQ(json::parse(refused.body)["error_code"], "RESOURCE_EXHAUSTED");
  HttpResult refused_oip = PostJson(
      port, "/v2/models/slow/infer",
      R"({"inputs":[{"name":"sleep","shape":[1],"datatype":"FP64","data":[0]}]})");
  EXPECT_EQ(refused_oip.status, 429);
  EXPECT_EQ(refused_oip.Header("retry-after"), "1");
  EXPECT_EQ(running.get().status, 200);
  EXPECT_EQ(queued.get().status, 200);
}

TEST_F(SlowModelTest, StopAnswersRequestsInFlight) {
  if (!PythonAvailable()) GTEST_SKIP() << "no python venv with mlflow";
  int port = StartBehavior(16);
  ASSERT_NE(port, 0);
  std::vector<std::future<HttpResult>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::async(std::launch::async,
                                 [&] { return PostJson(port, "/invocations", SleepBody(0.4)); }));
  }
  ASSERT_TRUE(WaitFor([&] { return Stats().submitted == 3; }));
  app_->Stop();
  for (auto& c : clients) {
    HttpResult r = c.get();
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_DOUBLE_EQ(json::parse(r.body)["predictions"][0]["sum"].get<double>(), 2.4);
  }
  // Stopped: nothing listens any more.
  EXPECT_EQ(Http(port, "GET", "/ping").status, 0);
}

// The value of the first /metrics sample line starting with `prefix`; -1 if none.
double MetricValue(int port, const std::string& prefix) {
  HttpResult m = Http(port, "GET", "/metrics");
  std::istringstream lines(m.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) == 0) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

// Greedy dispatch (the default policy): a 2 s max_queue_delay never delays a
// request that finds the instance free; batches form only from requests that
// queued while the instance was busy. Judged by the batch-size histogram.
TEST_F(SlowModelTest, GreedyBatchingBatchesOnlyUnderConcurrencyAndNeverWaitsWhenIdle) {
  if (!PythonAvailable()) GTEST_SKIP() << "no python venv with mlflow";
  int port = StartBehavior(64, 32, "greedy", 2'000'000);
  ASSERT_NE(port, 0);
  const std::string count = "cairn_inference_batch_size_count{deployment=\"slow\"";
  const std::string sum = "cairn_inference_batch_size_sum{deployment=\"slow\"";
  // Sequential requests: each runs at once, alone.
  for (int i = 0; i < 2; ++i) {
    const auto start = std::chrono::steady_clock::now();
    HttpResult r = PostJson(port, "/invocations", SleepBody(0));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
  }
  // The batch histogram is observed just after the answers go out: wait for it.
  EXPECT_TRUE(WaitFor([&] { return MetricValue(port, count) == 2; }))
      << MetricValue(port, count);
  EXPECT_EQ(MetricValue(port, sum), 2);
  // Concurrency: three requests arrive while the instance is busy; the
  // instance takes them as one batch when it frees.
  auto running = std::async(std::launch::async,
                            [&] { return PostJson(port, "/invocations", SleepBody(0.5)); });
  ASSERT_TRUE(WaitFor([&] { return Stats().busy_instances == 1; }));
  std::vector<std::future<HttpResult>> queued;
  for (int i = 0; i < 3; ++i) {
    queued.push_back(std::async(std::launch::async,
                                [&] { return PostJson(port, "/invocations", SleepBody(0)); }));
  }
  ASSERT_TRUE(WaitFor([&] { return Stats().queue_depth == 3; }));
  EXPECT_EQ(running.get().status, 200);
  for (auto& q : queued) {
    HttpResult r = q.get();
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_DOUBLE_EQ(json::parse(r.body)["predictions"][0]["sum"].get<double>(), 2.0);
  }
  // 1 + 1 + 1 + one batch of three
  EXPECT_TRUE(WaitFor([&] { return MetricValue(port, count) >= 4; }))
      << MetricValue(port, count);
  EXPECT_EQ(MetricValue(port, count), 4);
  EXPECT_EQ(MetricValue(port, sum), 6);
}

// The "wait" policy keeps Triton's rule: a lone request waits out the delay.
TEST_F(SlowModelTest, WaitPolicyHoldsALoneRequestForTheDelay) {
  if (!PythonAvailable()) GTEST_SKIP() << "no python venv with mlflow";
  int port = StartBehavior(64, 32, "wait", 300'000);
  ASSERT_NE(port, 0);
  const auto start = std::chrono::steady_clock::now();
  HttpResult r = PostJson(port, "/invocations", SleepBody(0));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
}

// ---- heartbeats to the control plane (serve/heartbeat.h)

TEST(InferenceStatsWindowTest, QuantileInterpolatesWithinBuckets) {
  const std::vector<double> bounds = {1, 2, 4};
  // 10 in (0,1], 10 in (1,2], 0 in (2,4], 0 above.
  EXPECT_DOUBLE_EQ(*InferenceStatsWindow::Quantile(bounds, {10, 10, 0, 0}, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(*InferenceStatsWindow::Quantile(bounds, {10, 10, 0, 0}, 0.25), 0.5);
  EXPECT_DOUBLE_EQ(*InferenceStatsWindow::Quantile(bounds, {10, 10, 0, 0}, 0.75), 1.5);
  EXPECT_DOUBLE_EQ(*InferenceStatsWindow::Quantile(bounds, {0, 0, 4, 0}, 0.5), 3.0);
  // Above the largest bound: the largest bound.
  EXPECT_DOUBLE_EQ(*InferenceStatsWindow::Quantile(bounds, {0, 0, 0, 3}, 0.99), 4.0);
  EXPECT_FALSE(InferenceStatsWindow::Quantile(bounds, {0, 0, 0, 0}, 0.5).has_value());
}

TEST(InferenceStatsWindowTest, TakeAnswersTheChangeSinceTheLastTake) {
  MetricsRegistry registry;
  auto& requests =
      registry.AddCounter("r_total", "r", {"deployment", "model", "version", "role", "code"});
  auto& seconds = registry.AddHistogram("r_seconds", "s",
                                        {"deployment", "model", "version", "role"},
                                        LatencyBuckets());
  InferenceStatsWindow window(&requests, &seconds);
  for (int i = 0; i < 8; ++i) {
    requests.WithLabels({"fraud", "fraud", "3", "live", "200"}).Increment();
    seconds.WithLabels({"fraud", "fraud", "3", "live"}).Observe(0.002);  // (1ms, 2.5ms]
  }
  requests.WithLabels({"fraud", "fraud", "3", "live", "500"}).Increment(2);
  seconds.WithLabels({"fraud", "fraud", "3", "live"}).Observe(0.2);
  seconds.WithLabels({"fraud", "fraud", "3", "live"}).Observe(0.2);
  requests.WithLabels({"fraud", "fraud", "4", "shadow", "200"}).Increment();
  seconds.WithLabels({"fraud", "fraud", "4", "shadow"}).Observe(0.00005);

  InferenceStatsWindow::Window w = window.Take(2.0);
  const IntervalStats& v3 = w.versions.at({"fraud", "fraud", "3", "live"});
  EXPECT_EQ(v3.requests, 10);
  EXPECT_EQ(v3.errors, 2);
  EXPECT_DOUBLE_EQ(v3.rate, 5.0);
  ASSERT_TRUE(v3.p50_ms && v3.p99_ms);
  EXPECT_GT(*v3.p50_ms, 1.0);
  EXPECT_LE(*v3.p50_ms, 2.5);
  EXPECT_GT(*v3.p99_ms, 100.0);  // the two slow ones
  EXPECT_LE(*v3.p99_ms, 250.0);
  const IntervalStats& v4 = w.versions.at({"fraud", "fraud", "4", "shadow"});
  EXPECT_EQ(v4.requests, 1);
  EXPECT_LE(*v4.p99_ms, 0.1);
  // The deployment's figures are its live traffic only.
  EXPECT_EQ(w.deployments.at("fraud").requests, 10);
  EXPECT_DOUBLE_EQ(*w.deployments.at("fraud").p50_ms, *v3.p50_ms);

  // Nothing new: zero, no percentiles.
  w = window.Take(1.0);
  EXPECT_EQ(w.versions.at({"fraud", "fraud", "3", "live"}).requests, 0);
  EXPECT_FALSE(w.versions.at({"fraud", "fraud", "3", "live"}).p50_ms.has_value());
  requests.WithLabels({"fraud", "fraud", "3", "live", "200"}).Increment();
  seconds.WithLabels({"fraud", "fraud", "3", "live"}).Observe(0.0003);  // (0.25ms, 0.5ms]
  w = window.Take(0.5);
  EXPECT_EQ(w.versions.at({"fraud", "fraud", "3", "live"}).requests, 1);
  EXPECT_DOUBLE_EQ(w.versions.at({"fraud", "fraud", "3", "live"}).rate, 2.0);
  EXPECT_LE(*w.versions.at({"fraud", "fraud", "3", "live"}).p99_ms, 0.5);
}

// A ServeApp with a tracking URI reports itself to a live control plane:
// the deployment, its version and a request rate show up in
// /api/v1/serving/deployments; Stop marks the instance stopped.
TEST_F(ServeAppTest, HeartbeatsReachTheControlPlane) {
  auto server = test::LiveServer::Start("cairn-serve-heartbeat");
  ASSERT_TRUE(server) << server.error().ToString();
  const int server_port = (*server)->port();
  ServeConfig config = BaseConfig();
  config.deployments.push_back(
      Deployment("fraud", {TargetSpec{ModelCopy(dir_, "fraud_a"), 1, false}}));
  config.source.tracking_uri = (*server)->uri();
  config.heartbeat.interval = std::chrono::milliseconds(200);
  config.heartbeat.advertise_url = "http://serve.example:8080";
  int port = Start(std::move(config));
  ASSERT_NE(port, 0);
  ASSERT_NE(app_->heartbeat(), nullptr);
  const std::string id = app_->heartbeat()->instance_id();

  // Requests keep coming until a heartbeat reports them (or 15 s pass).
  json fraud;
  int64_t seen_requests = 0;
  for (int i = 0; i < 150 && seen_requests == 0; ++i) {
    ASSERT_EQ(PostJson(port, "/v2/models/fraud/infer", OipInferBody()).status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    HttpResult r = Http(server_port, "GET", "/api/v1/serving/deployments");
    ASSERT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body);
    if (j["deployments"].empty()) continue;
    fraud = j["deployments"][0];
    for (const json& point : fraud["history"]) seen_requests += point["requests"].get<int64_t>();
  }
  ASSERT_GT(seen_requests, 0) << fraud.dump();
  EXPECT_EQ(fraud["name"], "fraud");
  EXPECT_EQ(fraud["state"], "live");
  ASSERT_EQ(fraud["traffic"].size(), 1u);
  EXPECT_EQ(fraud["traffic"][0]["model"], "fraud_a");
  EXPECT_EQ(fraud["traffic"][0]["version"], "1");
  EXPECT_EQ(fraud["traffic"][0]["state"], "serving");
  EXPECT_EQ(fraud["traffic"][0]["uri"], (fs::path(dir_) / "fraud_a").string());
  EXPECT_DOUBLE_EQ(fraud["traffic"][0]["share"].get<double>(), 1.0);
  ASSERT_EQ(fraud["instances"].size(), 1u);
  EXPECT_EQ(fraud["instances"][0]["instance_id"], id);
  EXPECT_EQ(fraud["instances"][0]["url"], "http://serve.example:8080");
  bool had_rate = false, had_latency = false;
  for (const json& point : fraud["history"]) {
    had_rate = had_rate || point["rate"].get<double>() > 0;
    had_latency = had_latency || (point["p50_ms"].is_number() && point["p99_ms"].is_number() &&
                                  point["p99_ms"].get<double>() >= point["p50_ms"].get<double>());
  }
  EXPECT_TRUE(had_rate) << fraud.dump();
  EXPECT_TRUE(had_latency) << fraud.dump();
  EXPECT_GE(app_->heartbeat()->sent(), 1u);
  EXPECT_EQ(app_->heartbeat()->failed(), 0u);

  app_->Stop();  // the final heartbeat says "stopped"
  HttpResult r = Http(server_port, "GET", "/api/v1/serving/instances");
  ASSERT_EQ(r.status, 200);
  json instances = json::parse(r.body)["instances"];
  ASSERT_EQ(instances.size(), 1u);
  EXPECT_EQ(instances[0]["instance_id"], id);
  EXPECT_EQ(instances[0]["state"], "stopped");
  EXPECT_EQ(instances[0]["interval_ms"], 200);
}

// A control plane that is down costs serving nothing: requests are answered,
// failures are counted, Stop returns.
TEST_F(ServeAppTest, HeartbeatFailuresNeverDisturbServing) {
  ServeConfig config = BaseConfig();
  config.deployments.push_back(
      Deployment("fraud", {TargetSpec{ModelCopy(dir_, "fraud_a"), 1, false}}));
  config.source.tracking_uri = "http://127.0.0.1:1";  // nothing listens on port 1
  config.heartbeat.interval = std::chrono::milliseconds(100);
  int port = Start(std::move(config));
  ASSERT_NE(port, 0);
  ASSERT_NE(app_->heartbeat(), nullptr);
  EXPECT_EQ(app_->heartbeat()->url(), "http://127.0.0.1:" + std::to_string(port));
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(PostJson(port, "/v2/models/fraud/infer", OipInferBody()).status, 200);
  }
  for (int i = 0; i < 100 && app_->heartbeat()->failed() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(app_->heartbeat()->failed(), 1u);
  EXPECT_EQ(app_->heartbeat()->sent(), 0u);
  app_->Stop();
}

}  // namespace
}  // namespace cairn::serve
