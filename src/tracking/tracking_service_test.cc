#include "tracking/tracking_service.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "tracking/page_token.h"

namespace cairn::tracking {
namespace {

using store::Metric;
using store::Param;
using store::Tag;

class TrackingServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenMetadataStore("sqlite:///:memory:");
    ASSERT_TRUE(s) << s.error().ToString();
    store_ = std::move(*s);
    auto v = store_->Migrate();
    ASSERT_TRUE(v) << v.error().ToString();
    TrackingOptions opts;
    opts.random = [this] { return next_random_++; };
    service_ = std::make_unique<TrackingService>(*store_, clock_, "mlflow-artifacts:/", opts);
  }

  std::string NewExperiment(const std::string& name) {
    auto id = service_->CreateExperiment({name, "", {}});
    EXPECT_TRUE(id) << id.error().ToString();
    return id.value_or("");
  }

  store::Run NewRun(const std::string& exp = "0", const std::string& name = "") {
    CreateRunRequest r;
    r.experiment_id = exp;
    r.run_name = name;
    auto run = service_->CreateRun(r);
    EXPECT_TRUE(run) << run.error().ToString();
    return run.value_or(store::Run{});
  }

  FakeClock clock_{1'700'000'000'000};
  uint64_t next_random_ = 0;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<TrackingService> service_;
};

const Tag* FindTag(const std::vector<Tag>& tags, std::string_view key) {
  for (const Tag& t : tags) {
    if (t.key == key) return &t;
  }
  return nullptr;
}

TEST(AppendUriPathTest, JoinsWithOneSlash) {
  EXPECT_EQ(AppendUriPath("mlflow-artifacts:/", "1"), "mlflow-artifacts:/1");
  EXPECT_EQ(AppendUriPath("mlflow-artifacts:", "1"), "mlflow-artifacts:/1");
  EXPECT_EQ(AppendUriPath("file:///data/artifacts", "7"), "file:///data/artifacts/7");
  EXPECT_EQ(AppendUriPath("file:///data/artifacts/", "7"), "file:///data/artifacts/7");
  EXPECT_EQ(AppendUriPath("file:///", "7"), "file:///7");
  EXPECT_EQ(AppendUriPath("s3://bucket/prefix//", "/r/artifacts"),
            "s3://bucket/prefix/r/artifacts");
}

TEST_F(TrackingServiceTest, ExperimentLifecycleAndArtifactLocation) {
  std::string id = NewExperiment("proj");
  auto e = service_->GetExperiment(id);
  ASSERT_TRUE(e) << e.error().ToString();
  EXPECT_EQ(e->name, "proj");
  EXPECT_EQ(e->artifact_location, "mlflow-artifacts:/" + id);
  EXPECT_EQ(e->creation_time, 1'700'000'000'000);

  auto by_name = service_->GetExperimentByName("proj");
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->experiment_id, id);

  auto dup = service_->CreateExperiment({"proj", "", {}});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);

  auto empty = service_->CreateExperiment({"", "", {}});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message(),
            "Missing value for required parameter 'name'. See the API docs for more information "
            "about request parameters.");

  auto explicit_loc = service_->CreateExperiment({"other", "s3://bucket/exp", {{"k", "v"}}});
  ASSERT_TRUE(explicit_loc);
  auto o = service_->GetExperiment(*explicit_loc);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->artifact_location, "s3://bucket/exp");
  ASSERT_EQ(o->tags.size(), 1u);
  EXPECT_EQ(o->tags[0], (Tag{"k", "v"}));

  auto runs_uri = service_->CreateExperiment({"bad", "runs:/abc/x", {}});
  ASSERT_FALSE(runs_uri);
  EXPECT_EQ(runs_uri.error().code(), ErrorCode::kInvalidArgument);

  auto missing = service_->GetExperiment("424242");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  auto bad_id = service_->GetExperiment("abc");
  ASSERT_FALSE(bad_id);
  EXPECT_EQ(bad_id.error().code(), ErrorCode::kInvalidArgument);
  auto no_name = service_->GetExperimentByName("nope");
  ASSERT_FALSE(no_name);
  EXPECT_EQ(no_name.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(no_name.error().message(), "Could not find experiment with name 'nope'");
}

TEST_F(TrackingServiceTest, DefaultExperimentExistsWithDerivedLocation) {
  auto e = service_->GetExperiment("0");
  ASSERT_TRUE(e) << e.error().ToString();
  EXPECT_EQ(e->name, "Default");
  EXPECT_FALSE(e->artifact_location.empty());
}

TEST_F(TrackingServiceTest, RenameDeleteRestoreExperiment) {
  std::string id = NewExperiment("a");
  NewExperiment("taken");
  EXPECT_EQ(service_->RenameExperiment(id, "taken").error().code(), ErrorCode::kAlreadyExists);
  ASSERT_TRUE(service_->RenameExperiment(id, "b"));
  EXPECT_EQ(service_->GetExperiment(id)->name, "b");

  store::Run run = NewRun(id);
  ASSERT_TRUE(service_->DeleteExperiment(id));
  EXPECT_EQ(service_->GetExperiment(id)->lifecycle_stage, "deleted");
  EXPECT_EQ(service_->GetRun(run.info.run_id)->info.lifecycle_stage, "deleted");
  // No renames, tags or new runs on a deleted experiment.
  EXPECT_EQ(service_->RenameExperiment(id, "c").error().code(), ErrorCode::kFailedPrecondition);
  auto tag = service_->SetExperimentTag(id, {"k", "v"});
  ASSERT_FALSE(tag);
  EXPECT_EQ(tag.error().message(),
            "The experiment " + id + " must be in the 'active' state. Current state is deleted.");
  CreateRunRequest cr;
  cr.experiment_id = id;
  EXPECT_EQ(service_->CreateRun(cr).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->DeleteExperiment(id).error().code(), ErrorCode::kNotFound);

  ASSERT_TRUE(service_->RestoreExperiment(id));
  EXPECT_EQ(service_->GetExperiment(id)->lifecycle_stage, "active");
  EXPECT_EQ(service_->GetRun(run.info.run_id)->info.lifecycle_stage, "active");
  EXPECT_EQ(service_->RestoreExperiment(id).error().code(), ErrorCode::kNotFound);
}

TEST_F(TrackingServiceTest, ExperimentTags) {
  std::string id = NewExperiment("tags");
  ASSERT_TRUE(service_->SetExperimentTag(id, {"owner", "ann"}));
  ASSERT_TRUE(service_->SetExperimentTag(id, {"owner", "bob"}));
  auto e = service_->GetExperiment(id);
  ASSERT_EQ(e->tags.size(), 1u);
  EXPECT_EQ(e->tags[0].value, "bob");
  ASSERT_TRUE(service_->DeleteExperimentTag(id, "owner"));
  EXPECT_TRUE(service_->GetExperiment(id)->tags.empty());
  auto gone = service_->DeleteExperimentTag(id, "owner");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(service_->SetExperimentTag(id, {"a/../b", "v"}).error().code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(TrackingServiceTest, CreateRunDefaults) {
  store::Run run = NewRun();
  EXPECT_EQ(run.info.run_id.size(), 32u);
  EXPECT_EQ(run.info.experiment_id, "0");
  EXPECT_EQ(run.info.status, "RUNNING");
  EXPECT_EQ(run.info.start_time, 1'700'000'000'000);
  EXPECT_FALSE(run.info.end_time.has_value());
  auto exp0 = service_->GetExperiment("0");
  EXPECT_EQ(run.info.artifact_uri, exp0->artifact_location + "/" + run.info.run_id + "/artifacts");
  // Random source 0,1,2 -> first adjective, second noun, number 2.
  EXPECT_EQ(run.info.run_name, "amber-badger-2");
  const Tag* name_tag = FindTag(run.tags, "mlflow.runName");
  ASSERT_NE(name_tag, nullptr);
  EXPECT_EQ(name_tag->value, "amber-badger-2");
  EXPECT_EQ(FindTag(run.tags, "mlflow.user"), nullptr);
}

TEST_F(TrackingServiceTest, CreateRunNamesUsersAndTags) {
  std::string exp = NewExperiment("runs");
  CreateRunRequest r;
  r.experiment_id = exp;
  r.user_id = "ann";
  r.start_time = 42;
  r.tags = {{"mlflow.runName", "from-tag"}, {"team", "core"}};
  auto run = service_->CreateRun(r);
  ASSERT_TRUE(run) << run.error().ToString();
  EXPECT_EQ(run->info.run_name, "from-tag");
  EXPECT_EQ(run->info.user_id, "ann");
  EXPECT_EQ(run->info.start_time, 42);
  EXPECT_EQ(run->info.artifact_uri,
            "mlflow-artifacts:/" + exp + "/" + run->info.run_id + "/artifacts");
  ASSERT_NE(FindTag(run->tags, "mlflow.user"), nullptr);
  EXPECT_EQ(FindTag(run->tags, "mlflow.user")->value, "ann");
  EXPECT_EQ(FindTag(run->tags, "team")->value, "core");

  r.run_name = "different";
  auto clash = service_->CreateRun(r);
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().message(),
            "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different "
            "values (run_name='different', mlflow.runName='from-tag').");

  CreateRunRequest missing;
  missing.experiment_id = "999";
  EXPECT_EQ(service_->CreateRun(missing).error().code(), ErrorCode::kNotFound);
}

TEST_F(TrackingServiceTest, UpdateRun) {
  store::Run run = NewRun("0", "first");
  UpdateRunRequest u;
  u.run_id = run.info.run_id;
  u.status = "DONE";
  auto bad = service_->UpdateRun(u);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  u.status = "FINISHED";
  u.end_time = 1'700'000'000'500;
  u.run_name = "renamed";
  auto info = service_->UpdateRun(u);
  ASSERT_TRUE(info) << info.error().ToString();
  EXPECT_EQ(info->status, "FINISHED");
  EXPECT_EQ(info->end_time, 1'700'000'000'500);
  EXPECT_EQ(info->run_name, "renamed");
  auto got = service_->GetRun(run.info.run_id);
  EXPECT_EQ(FindTag(got->tags, "mlflow.runName")->value, "renamed");

  UpdateRunRequest none;
  auto missing = service_->UpdateRun(none);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(),
            "Missing value for required parameter 'run_id'. See the API docs for more "
            "information about request parameters.");
}

TEST_F(TrackingServiceTest, LogBatchIsAtomicAndValidatesFirst) {
  store::Run run = NewRun();
  const std::string& id = run.info.run_id;
  std::vector<Metric> metrics;
  for (int i = 0; i < 5; ++i) metrics.push_back({"m" + std::to_string(i), 1.0 * i, 10, i});
  metrics.push_back({"bad key!", 1, 10, 0});
  auto s = service_->LogBatch(id, metrics, {{"p", "1"}}, {{"t", "x"}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message().find("'metrics[5].name'"), std::string::npos)
      << s.error().message();
  auto after = service_->GetRun(id);
  EXPECT_TRUE(after->metrics.empty());
  EXPECT_TRUE(after->params.empty());
  EXPECT_EQ(FindTag(after->tags, "t"), nullptr);

  metrics.pop_back();
  ASSERT_TRUE(service_->LogBatch(id, metrics, {{"p", "1"}}, {{"t", "x"}}));
  EXPECT_EQ(service_->GetRun(id)->metrics.size(), 5u);

  // Changing a param is refused, and the rest of that batch is not written.
  auto change = service_->LogBatch(id, {{"later", 1, 1, 0}}, {{"p", "2"}}, {});
  ASSERT_FALSE(change);
  EXPECT_EQ(change.error().code(), ErrorCode::kInvalidArgument);
  auto r2 = service_->GetRun(id);
  EXPECT_EQ(r2->metrics.size(), 5u);
  // The same value again is fine.
  EXPECT_TRUE(service_->LogParam(id, {"p", "1"}));

  auto dupes = service_->LogBatch(id, {}, {{"q", "1"}, {"q", "2"}}, {});
  ASSERT_FALSE(dupes);
  EXPECT_NE(dupes.error().message().find("Duplicate parameter keys"), std::string::npos);

  std::vector<Metric> too_many(1001, Metric{"k", 1, 1, 0});
  auto limit = service_->LogBatch(id, too_many, {}, {});
  ASSERT_FALSE(limit);
  EXPECT_NE(limit.error().message().find("at most 1000 metrics"), std::string::npos);
}

TEST_F(TrackingServiceTest, NonFiniteMetricsRoundTrip) {
  store::Run run = NewRun();
  const std::string& id = run.info.run_id;
  ASSERT_TRUE(service_->LogMetric(id, {"nan", std::nan(""), 1, 0}));
  ASSERT_TRUE(service_->LogMetric(id, {"inf", std::numeric_limits<double>::infinity(), 1, 0}));
  ASSERT_TRUE(service_->LogMetric(id, {"ninf", -std::numeric_limits<double>::infinity(), 1, 0}));
  auto h = service_->GetMetricHistory({id, "nan", std::nullopt, ""});
  ASSERT_TRUE(h) << h.error().ToString();
  ASSERT_EQ(h->metrics.size(), 1u);
  EXPECT_TRUE(std::isnan(h->metrics[0].value));
  auto hi = service_->GetMetricHistory({id, "ninf", std::nullopt, ""});
  ASSERT_EQ(hi->metrics.size(), 1u);
  EXPECT_EQ(hi->metrics[0].value, -std::numeric_limits<double>::infinity());
}

TEST_F(TrackingServiceTest, WritesToDeletedRunsAreRefused) {
  store::Run run = NewRun();
  const std::string& id = run.info.run_id;
  ASSERT_TRUE(service_->DeleteRun(id));
  auto s = service_->LogMetric(id, {"m", 1, 1, 0});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            "The run " + id + " must be in the 'active' state. Current state is deleted.");
  EXPECT_FALSE(service_->SetTag(id, {"t", "v"}));
  ASSERT_TRUE(service_->RestoreRun(id));
  EXPECT_TRUE(service_->LogMetric(id, {"m", 1, 1, 0}));
  EXPECT_EQ(service_->DeleteRun("0123456789abcdef0123456789abcdef").error().code(),
            ErrorCode::kNotFound);
}

TEST_F(TrackingServiceTest, TagsAndRunNameTag) {
  store::Run run = NewRun("0", "before");
  const std::string& id = run.info.run_id;
  ASSERT_TRUE(service_->SetTag(id, {"mlflow.runName", "after"}));
  auto got = service_->GetRun(id);
  EXPECT_EQ(got->info.run_name, "after");
  ASSERT_TRUE(service_->SetTag(id, {"k", "v"}));
  ASSERT_TRUE(service_->DeleteTag(id, "k"));
  EXPECT_EQ(FindTag(service_->GetRun(id)->tags, "k"), nullptr);
  auto missing = service_->DeleteTag(id, "k");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(), "No tag with name: k in run with id " + id);
}

TEST_F(TrackingServiceTest, LogModelAppendsHistory) {
  store::Run run = NewRun();
  const std::string& id = run.info.run_id;
  std::string model = R"({"run_id":")" + id +
                      R"(","artifact_path":"model","utc_time_created":"2024-01-01 00:00:00.0",)"
                      R"("flavors":{"sklearn":{"sklearn_version":"1.4","config":{"big":1}}},)"
                      R"("signature":{"inputs":"[]"}})";
  ASSERT_TRUE(service_->LogModel(id, model));
  ASSERT_TRUE(service_->LogModel(id, model));
  auto got = service_->GetRun(id);
  const Tag* t = FindTag(got->tags, "mlflow.log-model.history");
  ASSERT_NE(t, nullptr);
  auto history = nlohmann::json::parse(t->value);
  ASSERT_TRUE(history.is_array());
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]["artifact_path"], "model");
  EXPECT_EQ(history[0]["flavors"]["sklearn"]["sklearn_version"], "1.4");
  EXPECT_FALSE(history[0]["flavors"]["sklearn"].contains("config"));
  EXPECT_FALSE(history[0].contains("signature"));

  auto bad = service_->LogModel(id, "{not json");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  auto missing = service_->LogModel(id, R"({"run_id":"x"})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(),
            "Model json is missing mandatory fields: {'artifact_path', 'flavors', "
            "'utc_time_created'}");
}

TEST_F(TrackingServiceTest, MetricHistoryPaging) {
  store::Run run = NewRun();
  const std::string& id = run.info.run_id;
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(service_->LogMetric(id, {"loss", 1.0 / (i + 1), 100 + i, i}));
  auto all = service_->GetMetricHistory({id, "loss", std::nullopt, ""});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->metrics.size(), 5u);
  EXPECT_TRUE(all->next_page_token.empty());

  std::vector<int64_t> steps;
  std::string token;
  int pages = 0;
  do {
    auto p = service_->GetMetricHistory({id, "loss", 2, token});
    ASSERT_TRUE(p) << p.error().ToString();
    for (const Metric& m : p->metrics) steps.push_back(m.step);
    token = p->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(steps, (std::vector<int64_t>{0, 1, 2, 3, 4}));

  EXPECT_EQ(service_->GetMetricHistory({id, "loss", 0, ""}).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->GetMetricHistory({id, "loss", 2, "garbage"}).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(service_->GetMetricHistory({id, "never", std::nullopt, ""})->metrics.empty());
  EXPECT_EQ(
      service_->GetMetricHistory({"0123456789abcdef0123456789abcdef", "loss", std::nullopt, ""})
          .error()
          .code(),
      ErrorCode::kNotFound);
}

TEST_F(TrackingServiceTest, BulkIntervalSamplesEvenly) {
  store::Run a = NewRun();
  store::Run b = NewRun();
  std::vector<Metric> ms;
  for (int i = 0; i < 10; ++i) ms.push_back({"acc", 0.1 * i, 1000 + i, i});
  ASSERT_TRUE(service_->LogBatch(a.info.run_id, ms, {}, {}));
  ASSERT_TRUE(service_->LogBatch(b.info.run_id, {{"acc", 1, 1, 3}}, {}, {}));

  BulkIntervalRequest r;
  r.run_ids = {a.info.run_id, b.info.run_id};
  r.metric_key = "acc";
  r.max_results = 3;
  auto got = service_->GetMetricHistoryBulkInterval(r);
  ASSERT_TRUE(got) << got.error().ToString();
  ASSERT_EQ(got->size(), 4u);
  EXPECT_EQ((*got)[0].run_id, a.info.run_id);
  EXPECT_EQ((*got)[0].metric.step, 0);
  EXPECT_EQ((*got)[1].metric.step, 5);
  EXPECT_EQ((*got)[2].metric.step, 9);
  EXPECT_EQ((*got)[3].run_id, b.info.run_id);
  EXPECT_EQ((*got)[3].metric.step, 3);

  r.start_step = 2;
  r.end_step = 4;
  r.max_results = 10;
  got = service_->GetMetricHistoryBulkInterval(r);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 4u);  // steps 2,3,4 of a; step 3 of b
  EXPECT_EQ((*got)[0].metric.step, 2);
  EXPECT_EQ((*got)[2].metric.step, 4);

  r.end_step.reset();
  EXPECT_EQ(service_->GetMetricHistoryBulkInterval(r).error().message(),
            "If either start step or end step are specified, both must be specified.");
  r.end_step = 1;
  EXPECT_FALSE(service_->GetMetricHistoryBulkInterval(r));
  r.start_step.reset();
  r.end_step.reset();
  r.max_results = 2501;
  EXPECT_EQ(service_->GetMetricHistoryBulkInterval(r).error().message(),
            "max_results must be between 1 and 2500.");
}

TEST_F(TrackingServiceTest, SearchRunsFilterOrderPaging) {
  std::string exp = NewExperiment("search");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(1000);
    store::Run r = NewRun(exp, "run-" + std::to_string(i));
    ids.push_back(r.info.run_id);
    ASSERT_TRUE(service_->LogBatch(r.info.run_id, {{"loss", 1.0 - 0.1 * i, 1, 0}},
                                   {{"lr", i % 2 ? "0.1" : "0.01"}}, {}));
  }
  SearchRunsRequest q;
  q.experiment_ids = {exp};
  q.filter = "metrics.loss < 0.75 and params.lr = '0.1'";
  q.order_by = {"metrics.loss ASC"};
  auto page = service_->SearchRuns(q);
  ASSERT_TRUE(page) << page.error().ToString();
  ASSERT_EQ(page->runs.size(), 1u);  // i=3 (loss 0.7, lr 0.1); i=1 has loss 0.9
  EXPECT_EQ(page->runs[0].info.run_id, ids[3]);

  // Default order: newest first; paging through with tokens.
  SearchRunsRequest all;
  all.experiment_ids = {exp};
  all.max_results = 2;
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    all.page_token = token;
    auto p = service_->SearchRuns(all);
    ASSERT_TRUE(p) << p.error().ToString();
    for (const auto& r : p->runs) seen.push_back(r.info.run_id);
    token = p->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{ids[4], ids[3], ids[2], ids[1], ids[0]}));

  // Deleted runs leave the default view.
  ASSERT_TRUE(service_->DeleteRun(ids[4]));
  all.max_results = 100;
  all.page_token.clear();
  EXPECT_EQ(service_->SearchRuns(all)->runs.size(), 4u);
  all.view = store::ViewType::kDeletedOnly;
  ASSERT_EQ(service_->SearchRuns(all)->runs.size(), 1u);
  all.view = store::ViewType::kAll;
  EXPECT_EQ(service_->SearchRuns(all)->runs.size(), 5u);

  SearchRunsRequest bad;
  bad.experiment_ids = {exp};
  bad.max_results = 50001;
  EXPECT_EQ(service_->SearchRuns(bad).error().message(),
            "Invalid value 50001 for parameter 'max_results' supplied. It must be at most 50000");
  bad.max_results = 10;
  bad.filter = "metrics.loss <";
  EXPECT_EQ(service_->SearchRuns(bad).error().code(), ErrorCode::kInvalidArgument);
  bad.filter = "params.lr = '1''; DROP TABLE runs; --'";
  auto inj = service_->SearchRuns(bad);
  ASSERT_TRUE(inj) << inj.error().ToString();
  EXPECT_TRUE(inj->runs.empty());
  EXPECT_EQ(service_->GetRun(ids[0])->info.run_id, ids[0]);  // the table is still there
  bad.filter.clear();
  bad.page_token = "%%%";
  EXPECT_EQ(service_->SearchRuns(bad).error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(TrackingServiceTest, SearchExperiments) {
  NewExperiment("alpha");
  NewExperiment("beta");
  std::string gamma = NewExperiment("gamma");
  ASSERT_TRUE(service_->SetExperimentTag(gamma, {"owner", "ann"}));
  SearchExperimentsRequest q;
  q.filter = "name LIKE '%a'";
  q.order_by = {"name ASC"};
  auto page = service_->SearchExperiments(q);
  ASSERT_TRUE(page) << page.error().ToString();
  ASSERT_EQ(page->experiments.size(), 3u);
  EXPECT_EQ(page->experiments[0].name, "alpha");
  EXPECT_EQ(page->experiments[2].name, "gamma");
  EXPECT_EQ(page->experiments[2].artifact_location, "mlflow-artifacts:/" + gamma);

  q.filter = "tags.owner = 'ann'";
  page = service_->SearchExperiments(q);
  ASSERT_EQ(page->experiments.size(), 1u);
  EXPECT_EQ(page->experiments[0].experiment_id, gamma);

  SearchExperimentsRequest paged;
  paged.max_results = 2;
  auto p1 = service_->SearchExperiments(paged);
  ASSERT_TRUE(p1);
  EXPECT_EQ(p1->experiments.size(), 2u);
  ASSERT_FALSE(p1->next_page_token.empty());
  paged.page_token = p1->next_page_token;
  auto p2 = service_->SearchExperiments(paged);
  ASSERT_TRUE(p2);
  EXPECT_EQ(p2->experiments.size(), 2u);  // 4 experiments with Default
  EXPECT_TRUE(p2->next_page_token.empty());

  SearchExperimentsRequest bad;
  bad.filter = "metrics.x > 1";
  EXPECT_EQ(service_->SearchExperiments(bad).error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace cairn::tracking
