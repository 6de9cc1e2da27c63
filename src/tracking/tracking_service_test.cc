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

// ------------------------------------------------------------ logged models

TEST_F(TrackingServiceTest, CreateLoggedModelDerivesIdLocationAndName) {
  std::string exp = NewExperiment("lm");
  store::Run run = NewRun(exp);
  CreateLoggedModelRequest r;
  r.experiment_id = exp;
  r.name = "model";
  r.source_run_id = run.info.run_id;
  r.model_type = "sklearn";
  r.tags = {{"t", "v"}};
  r.params = {{"lr", "0.1"}};
  auto m = service_->CreateLoggedModel(r);
  ASSERT_TRUE(m) << m.error().ToString();
  ASSERT_EQ(m->model_id.size(), 34u);
  EXPECT_TRUE(m->model_id.starts_with("m-"));
  EXPECT_EQ(m->artifact_location,
            "mlflow-artifacts:/" + exp + "/models/" + m->model_id + "/artifacts");
  EXPECT_EQ(m->status, "PENDING");
  EXPECT_EQ(m->creation_time, 1'700'000'000'000);
  EXPECT_EQ(m->source_run_id, run.info.run_id);
  EXPECT_EQ(m->tags, (std::vector<Tag>{{"t", "v"}}));
  EXPECT_EQ(m->params, (std::vector<Param>{{"lr", "0.1"}}));

  CreateLoggedModelRequest unnamed;
  unnamed.experiment_id = exp;
  auto u = service_->CreateLoggedModel(unnamed);
  ASSERT_TRUE(u) << u.error().ToString();
  EXPECT_FALSE(u->name.empty());
  EXPECT_NE(u->model_id, m->model_id);
}

TEST_F(TrackingServiceTest, CreateLoggedModelRejectsBadInput) {
  std::string exp = NewExperiment("lm");
  CreateLoggedModelRequest r;
  auto missing = service_->CreateLoggedModel(r);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(),
            "Missing value for required parameter 'experiment_id'. See the API docs for more "
            "information about request parameters.");
  r.experiment_id = exp;
  r.name = "a/b";
  auto bad_name = service_->CreateLoggedModel(r);
  ASSERT_FALSE(bad_name);
  EXPECT_EQ(bad_name.error().code(), ErrorCode::kInvalidArgument);
  r.name = "ok";
  r.source_run_id = "0123456789abcdef0123456789abcdef";
  auto no_run = service_->CreateLoggedModel(r);
  ASSERT_FALSE(no_run);
  EXPECT_EQ(no_run.error().code(), ErrorCode::kNotFound);
  r.source_run_id.clear();
  r.experiment_id = "424242";
  auto no_exp = service_->CreateLoggedModel(r);
  ASSERT_FALSE(no_exp);
  EXPECT_EQ(no_exp.error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(service_->DeleteExperiment(exp));
  r.experiment_id = exp;
  auto deleted = service_->CreateLoggedModel(r);
  ASSERT_FALSE(deleted);
  EXPECT_EQ(deleted.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(TrackingServiceTest, LoggedModelFinalizeTagsParamsDelete) {
  std::string exp = NewExperiment("lm");
  CreateLoggedModelRequest r;
  r.experiment_id = exp;
  r.name = "m";
  auto m = service_->CreateLoggedModel(r);
  ASSERT_TRUE(m);
  clock_.Advance(5);
  auto ready = service_->FinalizeLoggedModel(m->model_id, "LOGGED_MODEL_READY");
  ASSERT_TRUE(ready) << ready.error().ToString();
  EXPECT_EQ(ready->status, "READY");
  EXPECT_EQ(ready->last_updated_time, 1'700'000'000'005);
  auto failed = service_->FinalizeLoggedModel(m->model_id, "LOGGED_MODEL_UPLOAD_FAILED");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, "FAILED");
  auto bogus = service_->FinalizeLoggedModel(m->model_id, "LOGGED_MODEL_STATUS_UNSPECIFIED");
  ASSERT_FALSE(bogus);
  EXPECT_EQ(bogus.error().code(), ErrorCode::kInvalidArgument);

  ASSERT_TRUE(service_->SetLoggedModelTags(m->model_id, {{"a", "1"}}));
  ASSERT_TRUE(service_->LogLoggedModelParams(m->model_id, {{"p", "2"}}));
  auto got = service_->GetLoggedModel(m->model_id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->tags, (std::vector<Tag>{{"a", "1"}}));
  EXPECT_EQ(got->params, (std::vector<Param>{{"p", "2"}}));
  ASSERT_TRUE(service_->DeleteLoggedModelTag(m->model_id, "a"));
  EXPECT_EQ(service_->DeleteLoggedModelTag(m->model_id, "a").error().code(), ErrorCode::kNotFound);

  ASSERT_TRUE(service_->DeleteLoggedModel(m->model_id));
  auto hidden = service_->GetLoggedModel(m->model_id);
  ASSERT_FALSE(hidden);
  EXPECT_EQ(hidden.error().message(), "Logged model with ID '" + m->model_id + "' not found.");
  auto shown = service_->GetLoggedModel(m->model_id, /*allow_deleted=*/true);
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->lifecycle_stage, store::kDeleted);
  EXPECT_EQ(service_->GetLoggedModel("../etc").error().code(), ErrorCode::kNotFound);
}

TEST_F(TrackingServiceTest, SearchLoggedModelsParsesFilterAndOrder) {
  std::string exp = NewExperiment("lm");
  store::Run run = NewRun(exp);
  std::vector<std::string> ids;
  for (const char* name : {"alpha", "beta", "gamma"}) {
    CreateLoggedModelRequest r;
    r.experiment_id = exp;
    r.name = name;
    r.source_run_id = std::string(name) == "beta" ? run.info.run_id : "";
    r.tags = {{"team", std::string(name) == "gamma" ? "y" : "x"}};
    auto m = service_->CreateLoggedModel(r);
    ASSERT_TRUE(m);
    ids.push_back(m->model_id);
    clock_.Advance(10);
  }
  ASSERT_TRUE(service_->FinalizeLoggedModel(ids[0], "READY"));
  // A run's metrics logged with a model_id land on the model too.
  store::LoggedModelMetric acc;
  acc.model_id = ids[1];
  Metric run_metric{"acc", 0.9, 5, 0};
  acc.key = "acc";
  acc.value = 0.9;
  acc.timestamp = 5;
  ASSERT_TRUE(service_->LogBatchWithModelMetrics(run.info.run_id, {run_metric}, {}, {}, {acc}));
  auto with_metric = service_->GetLoggedModel(ids[1]);
  ASSERT_TRUE(with_metric);
  ASSERT_EQ(with_metric->metrics.size(), 1u);
  EXPECT_EQ(with_metric->metrics[0].run_id, run.info.run_id);

  auto names = [&](const std::string& filter, std::vector<LoggedModelOrderBy> order = {}) {
    SearchLoggedModelsRequest r;
    r.experiment_ids = {exp};
    r.filter = filter;
    r.order_by = std::move(order);
    auto page = service_->SearchLoggedModels(r);
    EXPECT_TRUE(page) << filter << ": " << page.error().ToString();
    std::vector<std::string> out;
    if (page) {
      for (const auto& m : page->models) out.push_back(m.name);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names(""), (V{"gamma", "beta", "alpha"}));
  EXPECT_EQ(names("name = 'beta'"), (V{"beta"}));
  EXPECT_EQ(names("name != 'beta' AND tags.team = 'x'"), (V{"alpha"}));
  EXPECT_EQ(names("attributes.name LIKE 'a%'"), (V{"alpha"}));
  EXPECT_EQ(names("name IN ('alpha', 'gamma')"), (V{"gamma", "alpha"}));
  EXPECT_EQ(names("name not in ('alpha')"), (V{"gamma", "beta"}));
  EXPECT_EQ(names("source_run_id = '" + run.info.run_id + "'"), (V{"beta"}));
  EXPECT_EQ(names("status = 'READY'"), (V{"alpha"}));
  EXPECT_EQ(names("status = 'LOGGED_MODEL_PENDING'"), (V{"gamma", "beta"}));
  EXPECT_EQ(names("tags.`team` != 'x'"), (V{"gamma"}));
  EXPECT_EQ(names("metrics.acc >= 0.9"), (V{"beta"}));
  EXPECT_EQ(names("creation_timestamp > 1700000000005"), (V{"gamma", "beta"}));
  EXPECT_EQ(names("", {{"name", true, "", ""}}), (V{"alpha", "beta", "gamma"}));
  EXPECT_EQ(names("", {{"creation_timestamp", true, "", ""}}), (V{"alpha", "beta", "gamma"}));
  EXPECT_EQ(names("", {{"metrics.acc", false, "", ""}})[0], "beta");

  auto error_of = [&](const std::string& filter, std::vector<LoggedModelOrderBy> order = {}) {
    SearchLoggedModelsRequest r;
    r.experiment_ids = {exp};
    r.filter = filter;
    r.order_by = std::move(order);
    auto page = service_->SearchLoggedModels(r);
    EXPECT_FALSE(page) << filter;
    return page ? ErrorCode::kInternal : page.error().code();
  };
  EXPECT_EQ(error_of("foo = 'x'"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of("name = 'a' OR name = 'b'"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of("name > 'a'"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of("metrics.acc LIKE '1'"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of("name = 'unterminated"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of("", {{"bogus", true, "", ""}}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of("", {{"params.x", true, "", ""}}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of("", {{"metrics.acc", true, "ds", ""}}), ErrorCode::kInvalidArgument);

  SearchLoggedModelsRequest paged;
  paged.experiment_ids = {exp};
  paged.max_results = 2;
  auto p1 = service_->SearchLoggedModels(paged);
  ASSERT_TRUE(p1);
  ASSERT_EQ(p1->models.size(), 2u);
  ASSERT_FALSE(p1->next_page_token.empty());
  paged.page_token = p1->next_page_token;
  auto p2 = service_->SearchLoggedModels(paged);
  ASSERT_TRUE(p2);
  ASSERT_EQ(p2->models.size(), 1u);
  EXPECT_EQ(p2->models[0].name, "alpha");
  EXPECT_TRUE(p2->next_page_token.empty());

  SearchLoggedModelsRequest none;
  auto no_ids = service_->SearchLoggedModels(none);
  ASSERT_FALSE(no_ids);
  EXPECT_EQ(no_ids.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(TrackingServiceTest, RunOutputsAndModelMetricsNeedExistingEntities) {
  std::string exp = NewExperiment("lm");
  store::Run run = NewRun(exp);
  CreateLoggedModelRequest r;
  r.experiment_id = exp;
  auto m = service_->CreateLoggedModel(r);
  ASSERT_TRUE(m);
  ASSERT_TRUE(service_->LogOutputs(run.info.run_id, {{m->model_id, 3}}));
  auto outs = service_->GetRunOutputs(run.info.run_id);
  ASSERT_TRUE(outs);
  EXPECT_EQ(*outs, (std::vector<store::LoggedModelOutput>{{m->model_id, 3}}));
  EXPECT_EQ(
      service_->LogOutputs("0123456789abcdef0123456789abcdef", {{m->model_id, 0}}).error().code(),
      ErrorCode::kNotFound);
  EXPECT_EQ(service_->LogOutputs(run.info.run_id, {{"", 0}}).error().code(),
            ErrorCode::kInvalidArgument);

  // An unknown model_id on a metric fails before the run's batch is written.
  store::LoggedModelMetric ghost;
  ghost.model_id = "m-0123456789abcdef0123456789abcdef";
  ghost.key = "acc";
  auto s = service_->LogBatchWithModelMetrics(run.info.run_id, {Metric{"acc", 1, 1, 0}}, {}, {},
                                              {ghost});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kNotFound);
  auto after = service_->GetRun(run.info.run_id);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->metrics.empty());
}

// ------------------------------------------------------------------- audit

TEST_F(TrackingServiceTest, TrackingMutationsAreAudited) {
  auto id = service_->CreateExperiment({"audited", "", {}}, "alice");
  ASSERT_TRUE(id);
  ASSERT_TRUE(service_->RenameExperiment(*id, "audited2", "bob"));
  ASSERT_TRUE(service_->SetExperimentTag(*id, {"k", "v"}, "bob"));
  ASSERT_TRUE(service_->DeleteExperimentTag(*id, "k", "bob"));
  CreateRunRequest cr;
  cr.experiment_id = *id;
  auto run = service_->CreateRun(cr, "carol");
  ASSERT_TRUE(run);
  UpdateRunRequest ur;
  ur.run_id = run->info.run_id;
  ur.status = "FINISHED";
  ASSERT_TRUE(service_->UpdateRun(ur, "carol"));
  ASSERT_TRUE(service_->DeleteRun(run->info.run_id, "dave"));
  ASSERT_TRUE(service_->RestoreRun(run->info.run_id, "dave"));
  ASSERT_TRUE(service_->DeleteExperiment(*id));
  ASSERT_TRUE(service_->RestoreExperiment(*id, "erin"));
  // A failed mutation writes nothing.
  ASSERT_FALSE(service_->RenameExperiment(*id, "", "mallory"));

  store::AuditQuery q;
  q.max_results = 100;
  auto page = store_->registry().SearchAudit(q);
  ASSERT_TRUE(page) << page.error().ToString();
  std::vector<std::string> actions;
  for (auto it = page->entries.rbegin(); it != page->entries.rend(); ++it) {
    actions.push_back(it->action + ":" + it->actor);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{
                         "experiment.create:alice", "experiment.rename:bob",
                         "experiment.set_tag:bob", "experiment.delete_tag:bob", "run.create:carol",
                         "run.update:carol", "run.delete:dave", "run.restore:dave",
                         "experiment.delete:anonymous", "experiment.restore:erin"}));
  // Entities and documents.
  const store::AuditEntry& rename = page->entries[page->entries.size() - 2];
  EXPECT_EQ(rename.entity_type, "experiment");
  EXPECT_EQ(rename.entity_id, *id);
  EXPECT_EQ(nlohmann::json::parse(rename.before)["name"], "audited");
  EXPECT_EQ(nlohmann::json::parse(rename.after)["name"], "audited2");
  const store::AuditEntry& create = page->entries.back();
  EXPECT_EQ(create.before, "");
  EXPECT_EQ(create.time, 1'700'000'000'000);
  const store::AuditEntry& update = page->entries[4];
  EXPECT_EQ(update.action, "run.update");
  EXPECT_EQ(update.entity_type, "run");
  EXPECT_EQ(update.entity_id, run->info.run_id);
  EXPECT_EQ(nlohmann::json::parse(update.before)["status"], "RUNNING");
  EXPECT_EQ(nlohmann::json::parse(update.after)["status"], "FINISHED");
  const store::AuditEntry& del = page->entries[3];
  EXPECT_EQ(del.action, "run.delete");
  EXPECT_EQ(nlohmann::json::parse(del.after)["lifecycle_stage"], "deleted");
}

}  // namespace
}  // namespace cairn::tracking
