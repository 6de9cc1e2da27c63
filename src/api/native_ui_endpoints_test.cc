// The native endpoints the web UI uses (native_v1_handlers.h, docs/ui.md)
// over real HTTP against a live App (SQLite, local artifacts, port 0):
// columns, the runs page (column, offset, count), several runs, series
// (LTTB, non-finite values, CSV), artifact content and pipeline runs, with
// their 400s and 404s.

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "support/live_server.h"
#include "support/raw_http.h"

namespace cairn::api {
namespace {

using nlohmann::json;
using test::HttpResult;
using test::RawHttp;

class NativeUiEndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = test::LiveServer::Start("cairn-ui-api");
    ASSERT_TRUE(server) << server.error().ToString();
    server_ = std::move(*server);
  }
  int port() const { return server_->port(); }

  HttpResult Get(const std::string& target) { return RawHttp(port(), "GET", target); }
  HttpResult Post(const std::string& target, const json& body) {
    return RawHttp(port(), "POST", target, body.dump(), {{"Content-Type", "application/json"}});
  }
  // A 200 JSON answer, or a test failure.
  json Ok(const HttpResult& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    try {
      return json::parse(r.body);
    } catch (const std::exception&) {
      ADD_FAILURE() << "not JSON: " << r.body;
      return json::object();
    }
  }
  static std::string CodeOf(const HttpResult& r) {
    try {
      return json::parse(r.body).at("error_code").get<std::string>();
    } catch (const std::exception&) {
      return "<not an error body: " + r.body + ">";
    }
  }
  std::string Mlflow(const std::string& method) { return "/api/2.0/mlflow/" + method; }

  std::string CreateExperiment(const std::string& name) {
    return Ok(Post(Mlflow("experiments/create"), {{"name", name}}))["experiment_id"];
  }
  std::string CreateRun(const std::string& experiment_id, int64_t start_time,
                        const json& tags = json::array()) {
    json r =
        Ok(Post(Mlflow("runs/create"),
                {{"experiment_id", experiment_id}, {"start_time", start_time}, {"tags", tags}}));
    return r["run"]["info"]["run_id"];
  }
  // Lists of one element written {x} are objects to nlohmann::json: wrapped.
  static json List(const json& j) { return j.is_object() ? json::array({j}) : j; }
  void LogBatch(const std::string& run_id, const json& metrics, const json& params,
                const json& tags) {
    Ok(Post(Mlflow("runs/log-batch"), {{"run_id", run_id},
                                       {"metrics", List(metrics)},
                                       {"params", List(params)},
                                       {"tags", List(tags)}}));
  }
  static json KV(const std::string& k, const std::string& v) { return {{"key", k}, {"value", v}}; }
  static json M(const std::string& k, double v, int64_t step) {
    json m = {{"key", k}, {"timestamp", 1000 + step}, {"step", step}};
    if (std::isnan(v)) {
      m["value"] = "NaN";
    } else if (std::isinf(v)) {
      m["value"] = v > 0 ? "Infinity" : "-Infinity";
    } else {
      m["value"] = v;
    }
    return m;
  }
  void Upload(const std::string& run_id, const std::string& experiment_id, const std::string& path,
              const std::string& bytes) {
    HttpResult r = RawHttp(port(), "PUT",
                           "/api/2.0/mlflow-artifacts/artifacts/" + experiment_id + "/" + run_id +
                               "/artifacts/" + path,
                           bytes, {{"Content-Type", "application/octet-stream"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // Keys of a run's data.<field> list.
  static std::set<std::string> Keys(const json& run, const char* field) {
    std::set<std::string> out;
    for (const json& kv : run["data"][field]) out.insert(kv["key"].get<std::string>());
    return out;
  }

  std::unique_ptr<test::LiveServer> server_;
};

// ------------------------------------------------------------------ columns

TEST_F(NativeUiEndpointsTest, ColumnsAreTheDistinctSortedKeys) {
  std::string exp = CreateExperiment("cols");
  std::string a = CreateRun(exp, 1);
  std::string b = CreateRun(exp, 2);
  LogBatch(a, {M("loss", 1, 0), M("acc", 0.5, 0)}, {KV("lr", "0.1")}, {KV("team", "x")});
  LogBatch(b, {M("loss", 2, 0), M("b/grad_norm", 3, 0)}, {KV("batch", "32"), KV("lr", "0.2")},
           {KV("Team", "y")});
  // Another experiment's keys do not leak in.
  std::string other = CreateRun(CreateExperiment("other"), 3);
  LogBatch(other, {M("elsewhere", 1, 0)}, {KV("p_other", "1")}, {});

  json cols = Ok(Get("/api/v1/experiments/" + exp + "/columns"));
  EXPECT_EQ(cols["params"], json({"batch", "lr"}));
  EXPECT_EQ(cols["metrics"], json({"acc", "b/grad_norm", "loss"}));
  // Byte order: upper case first. mlflow.runName is set by runs/create.
  EXPECT_EQ(cols["tags"], json({"Team", "mlflow.runName", "team"}));
  EXPECT_EQ(cols["attributes"],
            json({"run_id", "run_name", "experiment_id", "user_id", "status", "start_time",
                  "end_time", "artifact_uri", "lifecycle_stage"}));

  json empty = Ok(Get("/api/v1/experiments/0/columns"));
  EXPECT_EQ(empty["metrics"], json::array());

  HttpResult missing = Get("/api/v1/experiments/987654/columns");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(CodeOf(missing), "RESOURCE_DOES_NOT_EXIST");
  EXPECT_EQ(Get("/api/v1/experiments/abc/columns").status, 400);
  EXPECT_EQ(Get("/api/v1/experiments/1/colums").status, 404);
}

// ---------------------------------------------------------------- runs page

class RunsPageTest : public NativeUiEndpointsTest {
 protected:
  void SetUp() override {
    NativeUiEndpointsTest::SetUp();
    exp_ = CreateExperiment("page");
    for (int i = 0; i < 5; ++i) {
      std::string id = CreateRun(exp_, 100 + i);
      ids_.insert(ids_.begin(), id);  // newest first, the default order
      LogBatch(id, {M("loss", 1.0 / (i + 1), 0), M("acc", i * 0.1, 0), M("lr_now", 0.01, 0)},
               {KV("lr", std::to_string(i)), KV("opt", "adam")},
               {KV("team", i % 2 ? "odd" : "even"), KV("note", "n")});
    }
  }
  std::string Page(const std::string& query) {
    return "/api/v1/experiments/" + exp_ + "/runs?" + query;
  }
  std::string exp_;
  std::vector<std::string> ids_;  // newest first
};

TEST_F(RunsPageTest, ColumnsRestrictEachRunsData) {
  json page =
      Ok(Get(Page("column=params.lr&column=metrics.loss&column=tags.team"
                  "&column=attributes.start_time")));
  ASSERT_EQ(page["runs"].size(), 5u);
  for (const json& run : page["runs"]) {
    EXPECT_EQ(Keys(run, "params"), std::set<std::string>{"lr"});
    EXPECT_EQ(Keys(run, "metrics"), std::set<std::string>{"loss"});
    EXPECT_EQ(Keys(run, "tags"), std::set<std::string>{"team"});
    // Attributes are always there.
    EXPECT_TRUE(run["info"].contains("start_time"));
    EXPECT_TRUE(run["info"].contains("status"));
  }
  EXPECT_EQ(page["runs"][0]["info"]["run_id"], ids_[0]);
  EXPECT_DOUBLE_EQ(page["runs"][0]["data"]["metrics"][0]["value"].get<double>(), 1.0 / 5);

  // Only metrics chosen: no params, no tags at all.
  json only = Ok(Get(Page("column=metrics.acc&column=metrics.nope")));
  EXPECT_EQ(Keys(only["runs"][0], "metrics"), std::set<std::string>{"acc"});
  EXPECT_TRUE(only["runs"][0]["data"]["params"].empty());
  EXPECT_TRUE(only["runs"][0]["data"]["tags"].empty());

  // Without column: everything, as before.
  json all = Ok(Get(Page("")));
  EXPECT_EQ(Keys(all["runs"][0], "metrics"), (std::set<std::string>{"acc", "loss", "lr_now"}));
  EXPECT_EQ(Keys(all["runs"][0], "params"), (std::set<std::string>{"lr", "opt"}));
  EXPECT_FALSE(all.contains("total"));
}

TEST_F(RunsPageTest, CountAndOffset) {
  json first = Ok(Get(Page("max_results=2&count=true")));
  ASSERT_EQ(first["runs"].size(), 2u);
  EXPECT_EQ(first["total"], 5);
  EXPECT_EQ(first["runs"][0]["info"]["run_id"], ids_[0]);
  ASSERT_TRUE(first.contains("next_page_token"));

  // offset jumps; next_page_token continues from there.
  json mid = Ok(Get(Page("max_results=2&offset=3")));
  ASSERT_EQ(mid["runs"].size(), 2u);
  EXPECT_EQ(mid["runs"][0]["info"]["run_id"], ids_[3]);
  EXPECT_EQ(mid["runs"][1]["info"]["run_id"], ids_[4]);
  EXPECT_FALSE(mid.contains("next_page_token"));
  json from2 = Ok(Get(Page("max_results=2&offset=1")));
  json next =
      Ok(Get(Page("max_results=2&page_token=" + from2["next_page_token"].get<std::string>())));
  EXPECT_EQ(next["runs"][0]["info"]["run_id"], ids_[3]);
  EXPECT_EQ(Ok(Get(Page("offset=50")))["runs"].size(), 0u);

  // The total follows the filter, not the page.
  json odd = Ok(Get(Page("filter=tags.team%20%3D%20%27odd%27&count=true&max_results=1")));
  EXPECT_EQ(odd["total"], 2);
  EXPECT_EQ(odd["runs"].size(), 1u);
  json big = Ok(Get(Page("filter=metrics.loss%20%3E%200.3&count=true&order_by=metrics.acc")));
  EXPECT_EQ(big["total"], 3);  // 1, 0.5, 0.333
  EXPECT_EQ(Ok(Get(Page("count=false")))["runs"].size(), 5u);
}

TEST_F(RunsPageTest, BadParametersAre400) {
  for (const char* q :
       {"max_results=1001", "max_results=x", "offset=-1", "offset=abc", "count=maybe",
        "column=loss", "column=metrics.", "column=foo.bar", "column=attributes.nope", "view=some",
        "filter=metrics.loss%20%3E%3E%201", "offset=1&page_token=MTA="}) {
    HttpResult r = Get(Page(q));
    EXPECT_EQ(r.status, 400) << q << ": " << r.body;
    EXPECT_EQ(CodeOf(r), "INVALID_PARAMETER_VALUE") << q;
  }
  std::string many;
  for (int i = 0; i < 1001; ++i) many += "column=metrics.m" + std::to_string(i) + "&";
  EXPECT_EQ(Get(Page(many)).status, 400);
  EXPECT_EQ(Get("/api/v1/experiments/424242/runs?count=true").status, 404);
}

// ----------------------------------------------------------- several runs

TEST_F(NativeUiEndpointsTest, RunsGetAnswersInTheOrderAsked) {
  std::string exp = CreateExperiment("several");
  std::string a = CreateRun(exp, 1), b = CreateRun(exp, 2), c = CreateRun(exp, 3);
  LogBatch(b, {M("loss", 0.25, 3)}, {KV("lr", "0.1")}, {});
  json r = Ok(Post("/api/v1/runs/get", {{"run_ids", {c, a, b}}}));
  ASSERT_EQ(r["runs"].size(), 3u);
  EXPECT_EQ(r["runs"][0]["info"]["run_id"], c);
  EXPECT_EQ(r["runs"][1]["info"]["run_id"], a);
  EXPECT_EQ(r["runs"][2]["info"]["run_id"], b);
  EXPECT_EQ(r["runs"][2]["data"]["metrics"][0]["value"], 0.25);
  EXPECT_EQ(r["runs"][2]["data"]["params"][0]["value"], "0.1");

  HttpResult unknown =
      Post("/api/v1/runs/get", {{"run_ids", {a, "feedfacefeedfacefeedfacefeedface"}}});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(CodeOf(unknown), "RESOURCE_DOES_NOT_EXIST");
  EXPECT_NE(unknown.body.find("feedfacefeedfacefeedfacefeedface"), std::string::npos);

  EXPECT_EQ(Post("/api/v1/runs/get", {{"run_ids", json::array()}}).status, 400);
  EXPECT_EQ(Post("/api/v1/runs/get", json::object()).status, 400);
  EXPECT_EQ(Post("/api/v1/runs/get", {{"run_ids", 5}}).status, 400);
  json fifty_one = json::array();
  for (int i = 0; i < 51; ++i) fifty_one.push_back(a);
  EXPECT_EQ(Post("/api/v1/runs/get", {{"run_ids", fifty_one}}).status, 400);
  json fifty = json::array();
  for (int i = 0; i < 50; ++i) fifty.push_back(a);
  EXPECT_EQ(Ok(Post("/api/v1/runs/get", {{"run_ids", fifty}}))["runs"].size(), 50u);
}

// ------------------------------------------------------------------ series

TEST_F(NativeUiEndpointsTest, SeriesIsDownsampledWithLttb) {
  std::string exp = CreateExperiment("series");
  std::string run = CreateRun(exp, 1);
  // 5000 points of a slowly falling loss with one spike at step 3217.
  for (int base = 0; base < 5000; base += 1000) {
    json batch = json::array();
    for (int s = base; s < base + 1000; ++s) {
      batch.push_back(M("loss", s == 3217 ? 40.0 : 2.0 - s * 0.0002, s));
    }
    LogBatch(run, batch, json::array(), json::array());
  }
  json r = Ok(Get("/api/v1/runs/" + run + "/series?key=loss&max_points=100"));
  EXPECT_EQ(r["run_id"], run);
  EXPECT_EQ(r["key"], "loss");
  EXPECT_EQ(r["total_points"], 5000);
  EXPECT_EQ(r["downsampled"], true);
  ASSERT_EQ(r["steps"].size(), 100u);
  ASSERT_EQ(r["values"].size(), 100u);
  ASSERT_EQ(r["timestamps"].size(), 100u);
  EXPECT_EQ(r["steps"].front(), 0);
  EXPECT_EQ(r["steps"].back(), 4999);
  EXPECT_EQ(r["timestamps"].front(), 1000);
  std::vector<int64_t> steps = r["steps"].get<std::vector<int64_t>>();
  auto spike = std::find(steps.begin(), steps.end(), 3217);
  ASSERT_NE(spike, steps.end()) << "the peak was dropped";
  EXPECT_EQ(r["values"][spike - steps.begin()], 40.0);
  EXPECT_TRUE(std::is_sorted(steps.begin(), steps.end()));
  EXPECT_FALSE(r.contains("non_finite"));

  // Default max_points 1000.
  EXPECT_EQ(Ok(Get("/api/v1/runs/" + run + "/series?key=loss"))["steps"].size(), 1000u);
  // At or below max_points: every point, not downsampled.
  json all = Ok(Get("/api/v1/runs/" + run + "/series?key=loss&max_points=5000"));
  EXPECT_EQ(all["downsampled"], false);
  EXPECT_EQ(all["steps"].size(), 5000u);
  // A key never logged: an empty series.
  json none = Ok(Get("/api/v1/runs/" + run + "/series?key=nope"));
  EXPECT_EQ(none["total_points"], 0);
  EXPECT_EQ(none["steps"], json::array());

  for (const char* q : {"key=loss&max_points=10001", "key=loss&max_points=1",
                        "key=loss&max_points=x", "max_points=10", "key="}) {
    HttpResult bad = Get("/api/v1/runs/" + run + "/series?" + q);
    EXPECT_EQ(bad.status, 400) << q << ": " << bad.body;
  }
  HttpResult unknown = Get("/api/v1/runs/0123456789abcdef0123456789abcdef/series?key=loss");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(CodeOf(unknown), "RESOURCE_DOES_NOT_EXIST");
  EXPECT_EQ(Get("/api/v1/runs/" + run + "/nothing").status, 404);
}

TEST_F(NativeUiEndpointsTest, NonFiniteValuesAreNullWithTheirKind) {
  std::string run = CreateRun(CreateExperiment("nan"), 1);
  LogBatch(run,
           {M("x", 1, 0), M("x", std::nan(""), 1), M("x", INFINITY, 2), M("x", -INFINITY, 3),
            M("x", 5, 4)},
           json::array(), json::array());
  json r = Ok(Get("/api/v1/runs/" + run + "/series?key=x"));
  EXPECT_EQ(r["values"], json({1.0, nullptr, nullptr, nullptr, 5.0}));
  EXPECT_EQ(r["non_finite"], json({{"1", "NaN"}, {"2", "Infinity"}, {"3", "-Infinity"}}));

  HttpResult csv = Get("/api/v1/runs/" + run + "/series.csv?key=x");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.body,
            "step,timestamp,value\n0,1000,1\n1,1001,NaN\n2,1002,Infinity\n3,1003,-Infinity\n"
            "4,1004,5\n");
  EXPECT_EQ(csv.Header("content-type"), "text/csv; charset=utf-8");
  EXPECT_EQ(csv.Header("content-disposition"), "attachment; filename=\"" + run + "-x.csv\"");
  EXPECT_EQ(Get("/api/v1/runs/" + run + "/series.csv").status, 400);
  EXPECT_EQ(Get("/api/v1/runs/0123456789abcdef0123456789abcdef/series.csv?key=x").status, 404);
}

TEST_F(NativeUiEndpointsTest, SeriesBatchForSeveralRunsAndKeys) {
  std::string exp = CreateExperiment("batch");
  std::string a = CreateRun(exp, 1), b = CreateRun(exp, 2);
  LogBatch(a, {M("loss", 1, 0), M("loss", 0.5, 1), M("acc", 0.1, 0)}, json::array(), json::array());
  LogBatch(b, {M("loss", 2, 0)}, json::array(), json::array());
  json r = Ok(
      Post("/api/v1/series", {{"run_ids", {a, b}}, {"keys", {"loss", "acc"}}, {"max_points", 10}}));
  ASSERT_EQ(r["series"].size(), 4u);
  EXPECT_EQ(r["series"][0]["run_id"], a);
  EXPECT_EQ(r["series"][0]["key"], "loss");
  EXPECT_EQ(r["series"][0]["values"], json({1.0, 0.5}));
  EXPECT_EQ(r["series"][1]["key"], "acc");
  EXPECT_EQ(r["series"][1]["values"], json({0.1}));
  EXPECT_EQ(r["series"][2]["run_id"], b);
  EXPECT_EQ(r["series"][2]["values"], json({2.0}));
  EXPECT_EQ(r["series"][3]["total_points"], 0);

  json keys101 = json::array();
  for (int i = 0; i < 101; ++i) keys101.push_back("k" + std::to_string(i));
  json runs51 = json::array();
  for (int i = 0; i < 51; ++i) runs51.push_back(a);
  EXPECT_EQ(Post("/api/v1/series", {{"run_ids", {a}}, {"keys", keys101}}).status, 400);
  EXPECT_EQ(Post("/api/v1/series", {{"run_ids", runs51}, {"keys", {"loss"}}}).status, 400);
  EXPECT_EQ(Post("/api/v1/series", {{"run_ids", json::array()}, {"keys", {"loss"}}}).status, 400);
  EXPECT_EQ(Post("/api/v1/series", {{"run_ids", {a}}, {"keys", json::array()}}).status, 400);
  EXPECT_EQ(
      Post("/api/v1/series", {{"run_ids", {a}}, {"keys", {"loss"}}, {"max_points", 20000}}).status,
      400);
  HttpResult unknown = Post(
      "/api/v1/series", {{"run_ids", {a, "0123456789abcdef0123456789abcdef"}}, {"keys", {"loss"}}});
  EXPECT_EQ(unknown.status, 404);
}

// ---------------------------------------------------------- artifact content

TEST_F(NativeUiEndpointsTest, ArtifactContentWithTypesAndPathChecks) {
  std::string exp = CreateExperiment("files");
  std::string run = CreateRun(exp, 1);
  Upload(run, exp, "eval/metrics.csv", "a,b\n1,2\n");
  Upload(run, exp, "page.html", "<script>alert(1)</script>");
  Upload(run, exp, "plot.png", "\x89PNG");
  Upload(run, exp, "model.bin", "\x01\x02");
  Upload(run, exp, "config.yaml", "lr: 0.1\n");

  std::string base = "/api/v1/runs/" + run + "/artifact?path=";
  HttpResult csv = Get(base + "eval/metrics.csv");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.body, "a,b\n1,2\n");
  EXPECT_EQ(csv.Header("content-type"), "text/csv; charset=utf-8");
  EXPECT_EQ(csv.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(csv.Header("content-disposition"), "");
  HttpResult dl = Get(base + "eval/metrics.csv&download=1");
  EXPECT_EQ(dl.Header("content-disposition"), "attachment; filename=\"metrics.csv\"");
  // HTML is never rendered on our origin.
  EXPECT_EQ(Get(base + "page.html").Header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(Get(base + "plot.png").Header("content-type"), "image/png");
  EXPECT_EQ(Get(base + "model.bin").Header("content-type"), "application/octet-stream");
  EXPECT_EQ(Get(base + "config.yaml").Header("content-type"), "text/plain; charset=utf-8");

  for (const char* p : {"../../x", "eval/../../../etc/passwd", "/etc/passwd", "%252e%252e/x",
                        "eval%2f..%2f..%2fx", "a\\b"}) {
    HttpResult r = Get(base + p);
    EXPECT_EQ(r.status, 400) << p << ": " << r.body;
    EXPECT_EQ(CodeOf(r), "INVALID_PARAMETER_VALUE") << p;
  }
  EXPECT_EQ(Get("/api/v1/runs/" + run + "/artifact").status, 400);
  EXPECT_EQ(Get(base + "eval/metrics.csv&download=yes").status, 400);
  HttpResult missing = Get(base + "eval/nope.csv");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(CodeOf(missing), "RESOURCE_DOES_NOT_EXIST");
  EXPECT_EQ(Get(base + "eval").status, 400);  // a folder
  EXPECT_EQ(Get("/api/v1/runs/0123456789abcdef0123456789abcdef/artifact?path=a.txt").status, 404);

  // A run whose artifacts live at a client-chosen file:// location is not
  // read through the server (it could name any folder).
  std::string local =
      Ok(Post(Mlflow("experiments/create"),
              {{"name", "local"}, {"artifact_location", "file:///etc"}}))["experiment_id"];
  std::string local_run = CreateRun(local, 1);
  HttpResult refused = Get("/api/v1/runs/" + local_run + "/artifact?path=passwd");
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(refused.body.find("root:"), std::string::npos);
}

// ----------------------------------------------------------- pipeline runs

TEST_F(NativeUiEndpointsTest, PipelineRunsListAndDetail) {
  std::string exp = CreateExperiment("repo");
  std::string parent = CreateRun(exp, 1000, json::array({KV("cairn.pipeline", "repo")}));
  auto step = [&](const std::string& name, int64_t start, bool cached, const json& extra) {
    json tags = json::array({KV("mlflow.parentRunId", parent), KV("cairn.pipeline", "repo"),
                             KV("cairn.step", name), KV("cairn.cached", cached ? "true" : "false"),
                             KV("cairn.executor", "local")});
    std::string id = CreateRun(exp, start, tags);
    LogBatch(id, json::array(), json::array(), extra);
    return id;
  };
  std::string prepare = step("prepare", 1001, true,
                             {KV("cairn.attempts", "1"), KV("cairn.dep.data/raw.csv", "sha256:r"),
                              KV("cairn.out.data/clean", "sha256:c")});
  std::string train =
      step("train", 1002, false,
           {KV("cairn.attempts", "2"), KV("cairn.dep.data/clean/part-0", "sha256:c0"),
            KV("cairn.out.model.bin", "sha256:m"), KV("cairn.error", "exit 1")});
  std::string eval =
      step("evaluate", 1003, false,
           {KV("cairn.dep.model.bin", "sha256:m"), KV("cairn.dep.data/raw.csv", "sha256:r"),
            KV("cairn.out.metrics.json", "sha256:j")});
  Ok(Post(Mlflow("runs/update"), {{"run_id", train}, {"status", "FAILED"}, {"end_time", 1010}}));
  Upload(train, exp, "logs/train.log", "epoch 1\nboom\n");
  // Another pipeline and an ordinary run: not part of the list for "repo".
  std::string other =
      CreateRun(CreateExperiment("other"), 2000, json::array({KV("cairn.pipeline", "other")}));
  CreateRun(exp, 3000);

  json all = Ok(Get("/api/v1/pipeline-runs"));
  ASSERT_EQ(all["pipeline_runs"].size(), 2u);
  EXPECT_EQ(all["pipeline_runs"][0]["run_id"], other);  // newest first
  const json& p = all["pipeline_runs"][1];
  EXPECT_EQ(p["run_id"], parent);
  EXPECT_EQ(p["experiment_id"], exp);
  EXPECT_EQ(p["pipeline"], "repo");
  EXPECT_EQ(p["status"], "RUNNING");
  EXPECT_EQ(p["start_time"], 1000);
  EXPECT_EQ(p["steps"], 3);
  EXPECT_EQ(p["cached"], 1);
  EXPECT_EQ(p["failed"], 1);
  EXPECT_EQ(all["pipeline_runs"][0]["steps"], 0);

  json only = Ok(Get("/api/v1/pipeline-runs?pipeline=repo"));
  ASSERT_EQ(only["pipeline_runs"].size(), 1u);
  EXPECT_EQ(only["pipeline_runs"][0]["run_id"], parent);
  json paged = Ok(Get("/api/v1/pipeline-runs?max_results=1"));
  ASSERT_EQ(paged["pipeline_runs"].size(), 1u);
  json rest = Ok(Get("/api/v1/pipeline-runs?max_results=1&page_token=" +
                     paged["next_page_token"].get<std::string>()));
  EXPECT_EQ(rest["pipeline_runs"][0]["run_id"], parent);
  EXPECT_EQ(Get("/api/v1/pipeline-runs?max_results=0").status, 400);
  EXPECT_EQ(Get("/api/v1/pipeline-runs?max_results=1001").status, 400);
  EXPECT_EQ(Get("/api/v1/pipeline-runs?page_token=%21%21").status, 400);

  json d = Ok(Get("/api/v1/pipeline-runs/" + parent));
  EXPECT_EQ(d["run"]["run_id"], parent);
  EXPECT_EQ(d["pipeline"], "repo");
  ASSERT_EQ(d["steps"].size(), 3u);
  EXPECT_EQ(d["steps"][0]["name"], "prepare");
  EXPECT_EQ(d["steps"][0]["run_id"], prepare);
  EXPECT_EQ(d["steps"][0]["cached"], true);
  EXPECT_EQ(d["steps"][0]["executor"], "local");
  EXPECT_EQ(d["steps"][0]["attempts"], 1);
  EXPECT_EQ(d["steps"][0]["error"], nullptr);
  EXPECT_EQ(d["steps"][0]["log_path"], nullptr);
  EXPECT_EQ(d["steps"][0]["deps"], json::parse(R"([{"path":"data/raw.csv","digest":"sha256:r"}])"));
  EXPECT_EQ(d["steps"][0]["outs"], json::parse(R"([{"path":"data/clean","digest":"sha256:c"}])"));
  EXPECT_EQ(d["steps"][1]["name"], "train");
  EXPECT_EQ(d["steps"][1]["status"], "FAILED");
  EXPECT_EQ(d["steps"][1]["attempts"], 2);
  EXPECT_EQ(d["steps"][1]["error"], "exit 1");
  EXPECT_EQ(d["steps"][1]["end_time"], 1010);
  EXPECT_EQ(d["steps"][1]["log_path"], "logs/train.log");
  EXPECT_EQ(d["steps"][2]["name"], "evaluate");
  EXPECT_EQ(d["steps"][2]["attempts"], nullptr);
  EXPECT_EQ(d["edges"], json::parse(R"([{"from":"prepare","to":"train"},
                                        {"from":"train","to":"evaluate"}])"));
  // The log is readable through the artifact endpoint.
  EXPECT_EQ(Get("/api/v1/runs/" + train + "/artifact?path=logs/train.log").body, "epoch 1\nboom\n");

  EXPECT_EQ(Get("/api/v1/pipeline-runs/" + train).status, 404);  // a step, not a pipeline run
  EXPECT_EQ(Get("/api/v1/pipeline-runs/0123456789abcdef0123456789abcdef").status, 404);
  EXPECT_EQ(Get("/api/v1/pipeline-runs/" + parent + "/x").status, 404);
}

}  // namespace
}  // namespace cairn::api
