// TrackingClient against a live App (SQLite + a local artifact folder) on
// 127.0.0.1:0: every call crosses real HTTP, the real handlers and the store.

#include "client/tracking_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "support/live_server.h"
#include "support/temp_files.h"

namespace cairn::client {
namespace {

namespace fs = std::filesystem;
using test::MakeTempDir;
using test::ReadFile;

void WriteFile(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A port nothing listens on: bound once by us, then closed.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class TrackingClientTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = test::LiveServer::Start("cairn-client-test");
    ASSERT_TRUE(server) << server.error().ToString();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ClientOptions options;
    options.clock = &clock_;
    auto c = TrackingClient::Create(server_->uri(), options);
    ASSERT_TRUE(c) << c.error().ToString();
    client_ = std::make_unique<TrackingClient>(std::move(*c));
  }

  // A fresh experiment per test, so tests do not see each other's runs.
  std::string NewExperiment(const std::string& name) {
    auto id = client_->CreateExperiment(name);
    EXPECT_TRUE(id) << id.error().ToString();
    return id.value_or("");
  }

  static inline test::LiveServer* server_ = nullptr;
  FakeClock clock_{1'700'000'123'000};
  std::unique_ptr<TrackingClient> client_;
};

TEST_F(TrackingClientTest, ExperimentLifecycleRoundTrips) {
  auto id = client_->CreateExperiment("exp-lifecycle", "", {{"team", "risk"}});
  ASSERT_TRUE(id) << id.error().ToString();

  auto by_id = client_->GetExperiment(*id);
  ASSERT_TRUE(by_id) << by_id.error().ToString();
  EXPECT_EQ(by_id->name, "exp-lifecycle");
  EXPECT_EQ(by_id->lifecycle_stage, "active");
  ASSERT_EQ(by_id->tags.size(), 1u);
  EXPECT_EQ(by_id->tags[0], (store::Tag{"team", "risk"}));
  EXPECT_GT(by_id->creation_time, 0);

  auto by_name = client_->GetExperimentByName("exp-lifecycle");
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->experiment_id, *id);

  auto dup = client_->CreateExperiment("exp-lifecycle");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);

  ASSERT_TRUE(client_->RenameExperiment(*id, "exp-renamed"));
  EXPECT_EQ(client_->GetExperiment(*id)->name, "exp-renamed");

  ASSERT_TRUE(client_->DeleteExperiment(*id));
  EXPECT_EQ(client_->GetExperiment(*id)->lifecycle_stage, "deleted");
  auto active = client_->SearchAllExperiments({.filter = "name = 'exp-renamed'"});
  ASSERT_TRUE(active) << active.error().ToString();
  EXPECT_TRUE(active->empty());
  auto deleted = client_->SearchAllExperiments(
      {.filter = "name = 'exp-renamed'", .view = store::ViewType::kDeletedOnly});
  ASSERT_TRUE(deleted);
  ASSERT_EQ(deleted->size(), 1u);
  EXPECT_EQ((*deleted)[0].experiment_id, *id);

  ASSERT_TRUE(client_->RestoreExperiment(*id));
  EXPECT_EQ(client_->GetExperiment(*id)->lifecycle_stage, "active");
}

TEST_F(TrackingClientTest, ExperimentSearchPagesWithTokens) {
  for (int i = 0; i < 5; ++i) NewExperiment("paged-" + std::to_string(i));
  ExperimentSearch q{.filter = "name LIKE 'paged-%'", .order_by = {"name ASC"}, .max_results = 2};
  auto first = client_->SearchExperiments(q);
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_EQ(first->experiments.size(), 2u);
  EXPECT_EQ(first->experiments[0].name, "paged-0");
  EXPECT_FALSE(first->next_page_token.empty());
  auto all = client_->SearchAllExperiments(q);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[4].name, "paged-4");
}

TEST_F(TrackingClientTest, RunMetricsParamsAndTagsRoundTrip) {
  std::string exp = NewExperiment("runs-roundtrip");
  auto run = client_->CreateRun({.experiment_id = exp,
                                 .run_name = "first",
                                 .user_id = "ana",
                                 .start_time = 1'600'000'000'000,
                                 .tags = {{"stage", "dev"}}});
  ASSERT_TRUE(run) << run.error().ToString();
  const std::string id = run->info.run_id;
  EXPECT_EQ(run->info.run_name, "first");
  EXPECT_EQ(run->info.experiment_id, exp);
  EXPECT_EQ(run->info.user_id, "ana");
  EXPECT_EQ(run->info.status, "RUNNING");
  EXPECT_EQ(run->info.start_time, 1'600'000'000'000);

  ASSERT_TRUE(client_->LogMetric(id, "acc", 0.5, {.step = 1, .timestamp = 10}));
  ASSERT_TRUE(client_->LogMetric(id, "acc", 0.75, {.step = 2}));  // timestamp from the clock
  ASSERT_TRUE(client_->LogMetric(id, "loss", std::nan("")));
  ASSERT_TRUE(client_->LogParam(id, "lr", "0.1"));
  ASSERT_TRUE(client_->SetTag(id, "note", "hello"));
  ASSERT_TRUE(client_->LogBatch(id, {{"f1", 0.25, 0, 7}}, {{"depth", "6"}}, {{"batch", "yes"}}));

  auto got = client_->GetRun(id);
  ASSERT_TRUE(got) << got.error().ToString();
  std::map<std::string, store::Metric> metrics;
  for (const auto& m : got->metrics) metrics[m.key] = m;
  ASSERT_EQ(metrics.size(), 3u);
  EXPECT_DOUBLE_EQ(metrics["acc"].value, 0.75);  // latest by step
  EXPECT_EQ(metrics["acc"].step, 2);
  EXPECT_EQ(metrics["acc"].timestamp, clock_.NowMillis());
  EXPECT_TRUE(std::isnan(metrics["loss"].value));
  EXPECT_DOUBLE_EQ(metrics["f1"].value, 0.25);
  EXPECT_EQ(metrics["f1"].step, 7);
  EXPECT_EQ(metrics["f1"].timestamp, clock_.NowMillis());
  std::map<std::string, std::string> params, tags;
  for (const auto& p : got->params) params[p.key] = p.value;
  for (const auto& t : got->tags) tags[t.key] = t.value;
  EXPECT_EQ(params, (std::map<std::string, std::string>{{"depth", "6"}, {"lr", "0.1"}}));
  EXPECT_EQ(tags["stage"], "dev");
  EXPECT_EQ(tags["note"], "hello");
  EXPECT_EQ(tags["batch"], "yes");

  ASSERT_TRUE(client_->DeleteTag(id, "note"));
  got = client_->GetRun(id);
  for (const auto& t : got->tags) EXPECT_NE(t.key, "note");

  auto history = client_->GetMetricHistory(id, "acc");
  ASSERT_TRUE(history) << history.error().ToString();
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].step, 1);
  EXPECT_EQ((*history)[0].timestamp, 10);
  EXPECT_DOUBLE_EQ((*history)[1].value, 0.75);

  auto updated = client_->UpdateRun(
      id, {.status = "FINISHED", .end_time = 1'600'000'005'000, .run_name = "renamed"});
  ASSERT_TRUE(updated) << updated.error().ToString();
  EXPECT_EQ(updated->status, "FINISHED");
  EXPECT_EQ(updated->end_time, std::optional<int64_t>(1'600'000'005'000));
  EXPECT_EQ(client_->GetRun(id)->info.run_name, "renamed");
}

TEST_F(TrackingClientTest, LogInputsRoundTripsThroughGetRun) {
  std::string exp = NewExperiment("runs-inputs");
  auto run = client_->CreateRun({.experiment_id = exp});
  ASSERT_TRUE(run) << run.error().ToString();
  const std::string id = run->info.run_id;
  // Nothing to send is no request and no error.
  ASSERT_TRUE(client_->LogInputs(id, {}));

  store::DatasetInput raw{.tags = {{"mlflow.data.context", "training"}},
                          .dataset = {.name = "data/raw",
                                      .digest = "9f2c41d07a3b",
                                      .source_type = "cairn",
                                      .source = "cairn:sha256:9f2c41d07a3b00",
                                      .schema = "",
                                      .profile = R"({"kind":"dir","size":12,"files":2})"}};
  store::DatasetInput code{.tags = {},
                           .dataset = {.name = "prepare.py",
                                       .digest = "0123456789ab",
                                       .source_type = "cairn",
                                       .source = "cairn:sha256:0123456789ab00",
                                       .schema = R"({"type":"text"})",
                                       .profile = ""}};
  auto st = client_->LogInputs(id, {raw, code});
  ASSERT_TRUE(st) << st.error().ToString();

  auto got = client_->GetRun(id);
  ASSERT_TRUE(got) << got.error().ToString();
  ASSERT_EQ(got->inputs.size(), 2u);
  std::map<std::string, store::DatasetInput> by_name;
  for (const auto& in : got->inputs) by_name[in.dataset.name] = in;
  ASSERT_EQ(by_name.count("data/raw"), 1u);
  ASSERT_EQ(by_name.count("prepare.py"), 1u);
  const store::DatasetInput& r = by_name["data/raw"];
  EXPECT_EQ(r.dataset.digest, "9f2c41d07a3b");
  EXPECT_EQ(r.dataset.source_type, "cairn");
  EXPECT_EQ(r.dataset.source, "cairn:sha256:9f2c41d07a3b00");
  EXPECT_EQ(r.dataset.profile, R"({"kind":"dir","size":12,"files":2})");
  EXPECT_EQ(r.dataset.schema, "");
  ASSERT_EQ(r.tags.size(), 1u);
  EXPECT_EQ(r.tags[0], (store::Tag{"mlflow.data.context", "training"}));
  const store::DatasetInput& c = by_name["prepare.py"];
  EXPECT_EQ(c.dataset.digest, "0123456789ab");
  EXPECT_EQ(c.dataset.schema, R"({"type":"text"})");
  EXPECT_TRUE(c.tags.empty());

  // An unknown run is the server's NotFound.
  auto missing = client_->LogInputs("0123456789abcdef0123456789abcdef", {raw});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_F(TrackingClientTest, SearchRunsFiltersOrdersAndPages) {
  std::string exp = NewExperiment("runs-search");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto run = client_->CreateRun({.experiment_id = exp, .run_name = "r" + std::to_string(i)});
    ASSERT_TRUE(run);
    ids.push_back(run->info.run_id);
    ASSERT_TRUE(client_->LogMetric(run->info.run_id, "acc", 0.1 * i));
    ASSERT_TRUE(client_->LogParam(run->info.run_id, "parity", i % 2 ? "odd" : "even"));
  }
  auto page = client_->SearchRuns({.experiment_ids = {exp},
                                   .filter = "metrics.acc > 0.15 and params.parity = 'even'",
                                   .order_by = {"metrics.acc DESC"}});
  ASSERT_TRUE(page) << page.error().ToString();
  ASSERT_EQ(page->runs.size(), 2u);
  EXPECT_EQ(page->runs[0].info.run_id, ids[4]);
  EXPECT_EQ(page->runs[1].info.run_id, ids[2]);
  EXPECT_TRUE(page->next_page_token.empty());

  RunSearch all{.experiment_ids = {exp}, .order_by = {"metrics.acc ASC"}, .max_results = 2};
  auto first = client_->SearchRuns(all);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->runs.size(), 2u);
  EXPECT_FALSE(first->next_page_token.empty());
  auto everything = client_->SearchAllRuns(all);
  ASSERT_TRUE(everything);
  ASSERT_EQ(everything->size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ((*everything)[i].info.run_id, ids[i]);
  auto limited = client_->SearchAllRuns(all, 3);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 3u);

  ASSERT_TRUE(client_->DeleteRun(ids[0]));
  EXPECT_EQ(client_->SearchAllRuns(all)->size(), 4u);
  auto deleted =
      client_->SearchAllRuns({.experiment_ids = {exp}, .view = store::ViewType::kDeletedOnly});
  ASSERT_TRUE(deleted);
  ASSERT_EQ(deleted->size(), 1u);
  EXPECT_EQ((*deleted)[0].info.lifecycle_stage, "deleted");
  ASSERT_TRUE(client_->RestoreRun(ids[0]));
  EXPECT_EQ(client_->SearchAllRuns(all)->size(), 5u);
}

TEST_F(TrackingClientTest, ServerErrorsKeepTheirCodeAndMessage) {
  const std::string unknown = "0123456789abcdef0123456789abcdef";
  auto run = client_->GetRun(unknown);
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(run.error().message().find(unknown), std::string::npos) << run.error().message();

  auto metric = client_->LogMetric(unknown, "m", 1);
  ASSERT_FALSE(metric);
  EXPECT_EQ(metric.error().code(), ErrorCode::kNotFound);

  std::string exp = NewExperiment("errors");
  auto r = client_->CreateRun({.experiment_id = exp});
  ASSERT_TRUE(r);
  ASSERT_TRUE(client_->LogParam(r->info.run_id, "lr", "0.1"));
  auto changed = client_->LogParam(r->info.run_id, "lr", "0.2");
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(changed.error().message().find("lr"), std::string::npos);

  auto missing_exp = client_->GetExperimentByName("no-such-experiment");
  ASSERT_FALSE(missing_exp);
  EXPECT_EQ(missing_exp.error().code(), ErrorCode::kNotFound);

  auto bad_filter = client_->SearchRuns({.experiment_ids = {exp}, .filter = "metrics.acc >>> 1"});
  ASSERT_FALSE(bad_filter);
  EXPECT_EQ(bad_filter.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(TrackingClientTest, ArtifactsFolderUploadListAndDownloadThroughTheProxy) {
  std::string exp = NewExperiment("artifacts-proxy");
  auto run = client_->CreateRun({.experiment_id = exp});
  ASSERT_TRUE(run);
  const std::string id = run->info.run_id;
  ASSERT_TRUE(run->info.artifact_uri.starts_with("mlflow-artifacts:")) << run->info.artifact_uri;

  std::string local = MakeTempDir("cairn-client-test");
  std::string big(3 << 20, '\0');
  std::mt19937 rng(7);
  for (auto& c : big) c = static_cast<char>(rng());
  WriteFile(fs::path(local) / "src" / "model.txt", "weights v1\n");
  WriteFile(fs::path(local) / "src" / "nested dir" / "deep" / "blob 1%.bin", big);
  WriteFile(fs::path(local) / "src" / "nested dir" / "notes.md", "# notes\n");

  auto n = client_->LogArtifacts(id, local + "/src", "model");
  ASSERT_TRUE(n) << n.error().ToString();
  EXPECT_EQ(*n, 3);
  auto single = client_->LogArtifacts(id, local + "/src/model.txt");
  ASSERT_TRUE(single) << single.error().ToString();
  EXPECT_EQ(*single, 1);

  auto root = client_->ListArtifacts(id);
  ASSERT_TRUE(root) << root.error().ToString();
  ASSERT_EQ(root->size(), 2u);
  EXPECT_EQ((*root)[0], (FileInfo{"model", true, -1}));
  EXPECT_EQ((*root)[1], (FileInfo{"model.txt", false, 11}));

  auto nested = client_->ListArtifacts(id, "model/nested dir");
  ASSERT_TRUE(nested) << nested.error().ToString();
  ASSERT_EQ(nested->size(), 2u);
  EXPECT_EQ((*nested)[0], (FileInfo{"model/nested dir/deep", true, -1}));
  EXPECT_EQ((*nested)[1], (FileInfo{"model/nested dir/notes.md", false, 8}));

  std::string dst = MakeTempDir("cairn-client-test");
  auto all = client_->DownloadArtifacts(id, "", dst + "/all");
  ASSERT_TRUE(all) << all.error().ToString();
  EXPECT_EQ(*all, dst + "/all");
  EXPECT_EQ(ReadFile(dst + "/all/model/nested dir/deep/blob 1%.bin"), big);
  EXPECT_EQ(ReadFile(dst + "/all/model/model.txt"), "weights v1\n");
  EXPECT_EQ(ReadFile(dst + "/all/model.txt"), "weights v1\n");
  EXPECT_FALSE(fs::exists(dst + "/all/model/nested dir/deep/blob 1%.bin.part"));

  auto one = client_->DownloadArtifacts(id, "model/nested dir/notes.md", dst + "/one");
  ASSERT_TRUE(one) << one.error().ToString();
  EXPECT_EQ(*one, dst + "/one/model/nested dir/notes.md");
  EXPECT_EQ(ReadFile(*one), "# notes\n");

  auto missing = client_->DownloadArtifacts(id, "model/absent.txt", dst + "/missing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(dst + "/missing/model/absent.txt"));
  EXPECT_FALSE(fs::exists(dst + "/missing/model/absent.txt.part"));

  auto escape = client_->ListArtifacts(id, "../other");
  ASSERT_FALSE(escape);
  EXPECT_EQ(escape.error().code(), ErrorCode::kInvalidArgument);
  auto no_source = client_->LogArtifacts(id, local + "/does-not-exist");
  ASSERT_FALSE(no_source);
  EXPECT_EQ(no_source.error().code(), ErrorCode::kNotFound);

  std::error_code ec;
  fs::remove_all(local, ec);
  fs::remove_all(dst, ec);
}

TEST_F(TrackingClientTest, LocalArtifactRootIsReadAndWrittenDirectly) {
  std::string root = MakeTempDir("cairn-client-test");
  auto exp = client_->CreateExperiment("artifacts-local", "file://" + root);
  ASSERT_TRUE(exp) << exp.error().ToString();
  auto run = client_->CreateRun({.experiment_id = *exp});
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->info.artifact_uri.starts_with("file://" + root)) << run->info.artifact_uri;
  std::string src = MakeTempDir("cairn-client-test");
  WriteFile(fs::path(src) / "a" / "b.txt", "bee");
  auto n = client_->LogArtifacts(run->info.run_id, src, "out");
  ASSERT_TRUE(n) << n.error().ToString();
  EXPECT_EQ(*n, 1);
  // Written straight into the run's folder, not through the server.
  auto on_disk = fs::path(run->info.artifact_uri.substr(7)) / "out" / "a" / "b.txt";
  EXPECT_EQ(ReadFile(on_disk), "bee");
  auto list = client_->ListArtifacts(run->info.run_id, "out/a");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0], (FileInfo{"out/a/b.txt", false, 3}));
  std::string dst = MakeTempDir("cairn-client-test");
  auto got = client_->DownloadArtifacts(run->info.run_id, "out", dst);
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(ReadFile(dst + "/out/a/b.txt"), "bee");
  std::error_code ec;
  fs::remove_all(root, ec);
  fs::remove_all(src, ec);
  fs::remove_all(dst, ec);
}

TEST_F(TrackingClientTest, OneClientIsSafeToShareBetweenThreads) {
  std::string exp = NewExperiment("threads");
  auto run = client_->CreateRun({.experiment_id = exp});
  ASSERT_TRUE(run);
  const std::string id = run->info.run_id;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        if (!client_->LogMetric(id, "m", t * 100 + i, {.step = t * 100 + i})) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto history = client_->GetMetricHistory(id, "m");
  ASSERT_TRUE(history);
  std::set<int64_t> steps;
  for (const auto& m : *history) steps.insert(m.step);
  EXPECT_EQ(steps.size(), 100u);
}

TEST(TrackingClientStandaloneTest, UnreachableServerIsUnavailableWithAHint) {
  std::string uri = "http://127.0.0.1:" + std::to_string(ClosedPort());
  auto c = TrackingClient::Create(uri);
  ASSERT_TRUE(c);
  auto run = c->GetRun("abc");
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(run.error().message().find("cannot reach the tracking server at " + uri),
            std::string::npos)
      << run.error().message();
  EXPECT_NE(run.error().message().find("cairn server"), std::string::npos);
}

TEST(TrackingClientStandaloneTest, CreateAcceptsOnlyHttpUris) {
  EXPECT_EQ(TrackingClient::Create("sqlite:///tmp/x.db").error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(TrackingClient::Create("not a uri").error().code(), ErrorCode::kInvalidArgument);
  auto ok = TrackingClient::Create("https://mlflow.example.com/prefix/");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->tracking_uri(), "https://mlflow.example.com/prefix");
}

}  // namespace
}  // namespace cairn::client
