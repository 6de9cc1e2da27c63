// The LoggedModelStore contract (MLflow 3 logged models and run outputs),
// run against every backend like store_contract_test.cc, on a fresh database
// per test (store_fixture.h).

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/ids.h"
#include "store/logged_model_store.h"
#include "store/metadata_store.h"
#include "store_fixture.h"

namespace cairn::store {
namespace {

class LoggedModelStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_.Create(GetParam());
    if (HasFatalFailure() || IsSkipped()) return;
    auto s = OpenMetadataStore(db_.uri);
    ASSERT_TRUE(s) << s.error().ToString();
    store_ = std::move(*s);
    auto v = store_->Migrate();
    ASSERT_TRUE(v) << v.error().ToString();
    ASSERT_GE(*v, 3);
    auto exp = store_->CreateExperiment({"lm", "", {}, 1000});
    ASSERT_TRUE(exp) << exp.error().ToString();
    exp_ = *exp;
    run_ = NewRunId();
    NewRun r;
    r.run_id = run_;
    r.experiment_id = exp_;
    auto created = store_->CreateRun(r);
    ASSERT_TRUE(created) << created.error().ToString();
  }

  void TearDown() override {
    store_.reset();
    db_.Drop();
  }

  LoggedModelStore& lm() { return store_->logged_models(); }

  // Creates a model named `name` at `time`; returns its id.
  std::string Create(const std::string& name, int64_t time, std::vector<Tag> tags = {},
                     std::vector<Param> params = {}, const std::string& source_run = "") {
    LoggedModel m;
    m.model_id = "m-" + NewRunId();
    m.experiment_id = exp_;
    m.name = name;
    m.artifact_location = "mlflow-artifacts:/" + exp_ + "/models/" + m.model_id + "/artifacts";
    m.creation_time = time;
    m.last_updated_time = time;
    m.source_run_id = source_run;
    m.tags = std::move(tags);
    m.params = std::move(params);
    auto s = lm().CreateLoggedModel(m);
    EXPECT_TRUE(s) << s.error().ToString();
    return m.model_id;
  }

  std::vector<std::string> Names(LoggedModelQuery q) {
    if (q.experiment_ids.empty()) q.experiment_ids = {exp_};
    auto page = lm().SearchLoggedModels(q);
    EXPECT_TRUE(page) << page.error().ToString();
    std::vector<std::string> out;
    if (page) {
      for (const LoggedModel& m : page->models) out.push_back(m.name);
    }
    return out;
  }

  static Comparison Cmp(Entity e, std::string key, Comparator op, Operand v) {
    return Comparison{e, std::move(key), op, std::move(v)};
  }

  test_db::FreshDatabase db_;
  std::unique_ptr<MetadataStore> store_;
  std::string exp_, run_;
};

TEST_P(LoggedModelStoreTest, CreateThenGetRoundTripsEveryField) {
  LoggedModel m;
  m.model_id = "m-" + NewRunId();
  m.experiment_id = exp_;
  m.name = "model";
  m.artifact_location = "s3://b/1/models/" + m.model_id + "/artifacts";
  m.creation_time = 1234;
  m.last_updated_time = 1234;
  m.model_type = "sklearn";
  m.source_run_id = run_;
  m.tags = {{"b", "2"}, {"a", "1"}};
  m.params = {{"lr", "0.1"}};
  ASSERT_TRUE(lm().CreateLoggedModel(m));
  auto got = lm().GetLoggedModel(m.model_id);
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(got->experiment_id, exp_);
  EXPECT_EQ(got->name, "model");
  EXPECT_EQ(got->artifact_location, m.artifact_location);
  EXPECT_EQ(got->creation_time, 1234);
  EXPECT_EQ(got->last_updated_time, 1234);
  EXPECT_EQ(got->status, "PENDING");
  EXPECT_EQ(got->lifecycle_stage, kActive);
  EXPECT_EQ(got->model_type, "sklearn");
  EXPECT_EQ(got->source_run_id, run_);
  EXPECT_EQ(got->tags, (std::vector<Tag>{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(got->params, (std::vector<Param>{{"lr", "0.1"}}));
  EXPECT_TRUE(got->metrics.empty());

  auto again = lm().CreateLoggedModel(m);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
}

TEST_P(LoggedModelStoreTest, CreateChecksExperimentAndSourceRun) {
  LoggedModel m;
  m.model_id = "m-" + NewRunId();
  m.experiment_id = "424242";
  m.name = "x";
  auto s = lm().CreateLoggedModel(m);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kNotFound);

  m.experiment_id = exp_;
  m.source_run_id = NewRunId();
  s = lm().CreateLoggedModel(m);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(lm().GetLoggedModel(m.model_id)) << "nothing half-written";
}

TEST_P(LoggedModelStoreTest, UnknownModelIsNotFoundEverywhere) {
  const std::string id = "m-" + NewRunId();
  auto get = lm().GetLoggedModel(id);
  ASSERT_FALSE(get);
  EXPECT_EQ(get.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(get.error().message(), "Logged model with ID '" + id + "' not found.");
  EXPECT_EQ(lm().FinalizeLoggedModel(id, "READY", "", 1).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(lm().DeleteLoggedModel(id, 1).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(lm().SetLoggedModelTags(id, {{"a", "b"}}).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(lm().DeleteLoggedModelTag(id, "a").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(lm().LogLoggedModelParams(id, {{"a", "b"}}).error().code(), ErrorCode::kNotFound);
  LoggedModelMetric metric;
  metric.model_id = id;
  metric.key = "k";
  metric.run_id = run_;
  EXPECT_EQ(lm().LogLoggedModelMetrics({metric}).error().code(), ErrorCode::kNotFound);
}

TEST_P(LoggedModelStoreTest, FinalizeSetsStatusAndTime) {
  std::string id = Create("m", 100);
  auto done = lm().FinalizeLoggedModel(id, "READY", "", 200);
  ASSERT_TRUE(done) << done.error().ToString();
  EXPECT_EQ(done->status, "READY");
  EXPECT_EQ(done->last_updated_time, 200);
  EXPECT_EQ(done->creation_time, 100);
  auto failed = lm().FinalizeLoggedModel(id, "FAILED", "upload broke", 300);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, "FAILED");
  EXPECT_EQ(failed->status_message, "upload broke");
  EXPECT_EQ(lm().GetLoggedModel(id)->status, "FAILED");
}

TEST_P(LoggedModelStoreTest, TagsUpsertAndDelete) {
  std::string id = Create("m", 100, {{"a", "1"}});
  ASSERT_TRUE(lm().SetLoggedModelTags(id, {{"a", "2"}, {"b", "x"}, {"b", "y"}}));
  EXPECT_EQ(lm().GetLoggedModel(id)->tags, (std::vector<Tag>{{"a", "2"}, {"b", "y"}}));
  ASSERT_TRUE(lm().DeleteLoggedModelTag(id, "a"));
  EXPECT_EQ(lm().GetLoggedModel(id)->tags, (std::vector<Tag>{{"b", "y"}}));
  auto missing = lm().DeleteLoggedModelTag(id, "a");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(), "No tag with key 'a' found for model with ID '" + id + "'.");
}

TEST_P(LoggedModelStoreTest, ParamsUpsert) {
  std::string id = Create("m", 100, {}, {{"p", "1"}});
  ASSERT_TRUE(lm().LogLoggedModelParams(id, {{"p", "2"}, {"q", "3"}}));
  EXPECT_EQ(lm().GetLoggedModel(id)->params, (std::vector<Param>{{"p", "2"}, {"q", "3"}}));
}

TEST_P(LoggedModelStoreTest, MetricsKeepEveryValueWithRunAndDatasetAndDropRetries) {
  std::string id = Create("m", 100);
  LoggedModelMetric a{id, "acc", 0.5, 10, 1, run_, "train", "d1"};
  LoggedModelMetric b{id, "acc", 0.75, 20, 2, run_, "", ""};
  LoggedModelMetric nan{id, "loss", std::numeric_limits<double>::quiet_NaN(), 10, 1, run_, "", ""};
  ASSERT_TRUE(lm().LogLoggedModelMetrics({a, b, nan}));
  ASSERT_TRUE(lm().LogLoggedModelMetrics({a}));  // a retry
  auto got = lm().GetLoggedModel(id);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->metrics.size(), 3u);
  EXPECT_EQ(got->metrics[0].key, "acc");
  EXPECT_EQ(got->metrics[0].value, 0.5);
  EXPECT_EQ(got->metrics[0].step, 1);
  EXPECT_EQ(got->metrics[0].timestamp, 10);
  EXPECT_EQ(got->metrics[0].run_id, run_);
  EXPECT_EQ(got->metrics[0].dataset_name, "train");
  EXPECT_EQ(got->metrics[0].dataset_digest, "d1");
  EXPECT_EQ(got->metrics[1].value, 0.75);
  EXPECT_EQ(got->metrics[1].dataset_name, "");
  EXPECT_EQ(got->metrics[2].key, "loss");
  EXPECT_TRUE(std::isnan(got->metrics[2].value));
  // Logging values does not move last_updated_time (as MLflow).
  EXPECT_EQ(got->last_updated_time, 100);
}

TEST_P(LoggedModelStoreTest, DeleteHidesFromSearchButGetStillSeesIt) {
  std::string keep = Create("keep", 100);
  std::string gone = Create("gone", 200);
  ASSERT_TRUE(lm().DeleteLoggedModel(gone, 300));
  auto got = lm().GetLoggedModel(gone);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->lifecycle_stage, kDeleted);
  EXPECT_EQ(got->last_updated_time, 300);
  EXPECT_EQ(Names({}), std::vector<std::string>{"keep"});
}

TEST_P(LoggedModelStoreTest, SearchDefaultOrderIsNewestFirstAndPages) {
  Create("a", 100);
  Create("b", 300);
  Create("c", 200);
  EXPECT_EQ(Names({}), (std::vector<std::string>{"b", "c", "a"}));
  LoggedModelQuery q;
  q.experiment_ids = {exp_};
  q.max_results = 2;
  auto p1 = lm().SearchLoggedModels(q);
  ASSERT_TRUE(p1);
  ASSERT_EQ(p1->models.size(), 2u);
  EXPECT_EQ(p1->next_offset, 2);
  q.offset = 2;
  auto p2 = lm().SearchLoggedModels(q);
  ASSERT_TRUE(p2);
  ASSERT_EQ(p2->models.size(), 1u);
  EXPECT_EQ(p2->models[0].name, "a");
  EXPECT_EQ(p2->next_offset, -1);
  // Another experiment, or none, sees nothing.
  auto other = store_->CreateExperiment({"other", "", {}, 1});
  ASSERT_TRUE(other);
  LoggedModelQuery elsewhere;
  elsewhere.experiment_ids = {*other};
  EXPECT_TRUE(Names(elsewhere).empty());
  auto none = lm().SearchLoggedModels(LoggedModelQuery{});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->models.empty());
}

TEST_P(LoggedModelStoreTest, SearchFiltersOnAttributesTagsParamsAndMetrics) {
  std::string a = Create("model", 100, {{"team", "x"}}, {{"lr", "0.1"}}, run_);
  std::string b = Create("model", 200, {{"team", "y"}}, {{"lr", "0.2"}});
  Create("other", 300);
  ASSERT_TRUE(lm().FinalizeLoggedModel(a, "READY", "", 150));
  ASSERT_TRUE(lm().LogLoggedModelMetrics(
      {{a, "acc", 0.9, 1, 0, run_, "", ""}, {b, "acc", 0.4, 1, 0, run_, "", ""}}));
  auto names_of = [&](std::vector<Comparison> f, std::vector<OrderBy> o = {}) {
    LoggedModelQuery q;
    q.filter = std::move(f);
    q.order_by = std::move(o);
    auto page = lm().SearchLoggedModels([&] {
      q.experiment_ids = {exp_};
      return q;
    }());
    EXPECT_TRUE(page) << page.error().ToString();
    std::vector<std::string> ids;
    if (page) {
      for (const auto& m : page->models) ids.push_back(m.model_id);
    }
    return ids;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names_of({Cmp(Entity::kAttribute, "name", Comparator::kEq, std::string("model"))}),
            (V{b, a}));
  EXPECT_EQ(names_of({Cmp(Entity::kAttribute, "name", Comparator::kEq, std::string("model")),
                      Cmp(Entity::kAttribute, "source_run_id", Comparator::kEq, run_)}),
            (V{a}));
  EXPECT_EQ(names_of({Cmp(Entity::kAttribute, "status", Comparator::kEq, std::string("READY"))}),
            (V{a}));
  EXPECT_EQ(
      names_of({Cmp(Entity::kAttribute, "name", Comparator::kNe, std::string("model"))}).size(),
      1u);
  EXPECT_EQ(names_of({Cmp(Entity::kAttribute, "name", Comparator::kLike, std::string("mod%"))}),
            (V{b, a}));
  EXPECT_EQ(names_of({Cmp(Entity::kAttribute, "name", Comparator::kIn,
                          std::vector<std::string>{"nope"})}),
            V{});
  EXPECT_EQ(
      names_of({Cmp(Entity::kAttribute, "creation_time", Comparator::kGt, int64_t{150})}).size(),
      2u);
  EXPECT_EQ(names_of({Cmp(Entity::kTag, "team", Comparator::kEq, std::string("y"))}), (V{b}));
  EXPECT_EQ(names_of({Cmp(Entity::kTag, "team", Comparator::kNe, std::string("y"))}), (V{a}));
  EXPECT_EQ(names_of({Cmp(Entity::kParam, "lr", Comparator::kEq, std::string("0.1"))}), (V{a}));
  EXPECT_EQ(names_of({Cmp(Entity::kMetric, "acc", Comparator::kGt, 0.5)}), (V{a}));
  // Order by a metric: models without it last in both directions.
  auto asc = names_of({}, {OrderBy{Entity::kMetric, "acc", true}});
  ASSERT_EQ(asc.size(), 3u);
  EXPECT_EQ((V{asc[0], asc[1]}), (V{b, a}));
  auto desc = names_of({}, {OrderBy{Entity::kMetric, "acc", false}});
  ASSERT_EQ(desc.size(), 3u);
  EXPECT_EQ((V{desc[0], desc[1]}), (V{a, b}));
  auto by_name = names_of({}, {OrderBy{Entity::kAttribute, "name", true}});
  ASSERT_EQ(by_name.size(), 3u);
  EXPECT_EQ((V{by_name[0], by_name[1]}), (V{b, a})) << "same name: ties by creation_time DESC";
  // What the store cannot run is a clear kInvalidArgument.
  LoggedModelQuery bad;
  bad.experiment_ids = {exp_};
  bad.filter = {Cmp(Entity::kAttribute, "artifact_location", Comparator::kEq, std::string("x"))};
  auto r = lm().SearchLoggedModels(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

TEST_P(LoggedModelStoreTest, SearchValuesAreBoundNotSpliced) {
  Create("x'; DROP TABLE logged_models; --", 100);
  LoggedModelQuery q;
  q.filter = {Cmp(Entity::kAttribute, "name", Comparator::kEq,
                  std::string("x'; DROP TABLE logged_models; --"))};
  EXPECT_EQ(Names(q).size(), 1u);
  EXPECT_EQ(Names({}).size(), 1u);
}

TEST_P(LoggedModelStoreTest, RunOutputsKeepOrderAndDropRepeats) {
  std::string a = Create("a", 100);
  std::string b = Create("b", 200);
  ASSERT_TRUE(lm().LogRunOutputs(run_, {{b, 2}, {a, 0}}));
  ASSERT_TRUE(lm().LogRunOutputs(run_, {{b, 2}, {a, 5}}));
  auto outs = lm().GetRunOutputs(run_);
  ASSERT_TRUE(outs) << outs.error().ToString();
  EXPECT_EQ(*outs, (std::vector<LoggedModelOutput>{{b, 2}, {a, 0}, {a, 5}}));
  auto none = lm().GetRunOutputs(NewRunId());
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto unknown = lm().LogRunOutputs(NewRunId(), {{a, 0}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Backends, LoggedModelStoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cairn::store
