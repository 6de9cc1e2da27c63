// The metadata store's queries for the web UI, on every backend: the runs a
// search matches (CountRuns), an experiment's column keys
// (GetExperimentColumns) and searches that load only chosen columns
// (RunQuery::columns).
//
// PostgreSQL: PG_FAST=1 scripts/services/postgres.sh start, then
// CAIRN_TEST_POSTGRES_URI=postgresql://postgres@127.0.0.1:15432/cairn.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "core/ids.h"
#include "store/metadata_store.h"
#include "store_fixture.h"

namespace cairn::store {
namespace {

Metric M(std::string key, double value, int64_t step = 0) {
  return Metric{std::move(key), value, 1000 + step, step};
}

class UiStoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_.Create(GetParam());
    if (IsSkipped() || HasFatalFailure()) return;
    auto s = OpenMetadataStore(db_.uri);
    ASSERT_TRUE(s) << s.error().ToString();
    store_ = std::move(*s);
    auto v = store_->Migrate();
    ASSERT_TRUE(v) << v.error().ToString();
  }
  void TearDown() override {
    store_.reset();
    db_.Drop();
  }

  std::string NewExperiment(const std::string& name) {
    auto id = store_->CreateExperiment({name, "", {}, 1000});
    EXPECT_TRUE(id) << id.error().ToString();
    return id ? *id : "";
  }
  std::string NewRun(const std::string& exp, int64_t start) {
    store::NewRun r;
    r.run_id = NewRunId();
    r.experiment_id = exp;
    r.start_time = start;
    r.artifact_uri = "file:///tmp/a/" + r.run_id;
    auto st = store_->CreateRun(r);
    EXPECT_TRUE(st) << st.error().ToString();
    return r.run_id;
  }
  void Log(const std::string& run, std::vector<Metric> m, std::vector<Param> p,
           std::vector<Tag> t) {
    auto st = store_->LogBatch(run, m, p, t);
    ASSERT_TRUE(st) << st.error().ToString();
  }
  static std::set<std::string> MetricKeys(const store::Run& r) {
    std::set<std::string> out;
    for (const Metric& m : r.metrics) out.insert(m.key);
    return out;
  }
  static std::set<std::string> ParamKeys(const store::Run& r) {
    std::set<std::string> out;
    for (const Param& p : r.params) out.insert(p.key);
    return out;
  }
  static std::set<std::string> TagKeys(const store::Run& r) {
    std::set<std::string> out;
    for (const Tag& t : r.tags) out.insert(t.key);
    return out;
  }

  test_db::FreshDatabase db_;
  std::unique_ptr<MetadataStore> store_;
};

TEST_P(UiStoreContractTest, ExperimentColumnsAreDistinctSortedAndScoped) {
  std::string exp = NewExperiment("cols");
  std::string other = NewExperiment("other");
  std::string a = NewRun(exp, 1), b = NewRun(exp, 2), c = NewRun(other, 3);
  Log(a, {M("loss", 1), M("zeta", 2), M("Acc", 3)}, {{"lr", "0.1"}}, {{"team", "x"}});
  Log(b, {M("loss", 1, 1), M("b", 2)}, {{"lr", "0.2"}, {"batch", "8"}}, {{"team", "y"}, {"a", ""}});
  Log(c, {M("only_other", 1)}, {{"p_other", "1"}}, {{"t_other", "1"}});
  // A deleted run's keys stay (keys are not forgotten), as do deleted tags'.
  ASSERT_TRUE(store_->DeleteRunTag(b, "a"));
  ASSERT_TRUE(store_->SetRunLifecycle(b, kDeleted, 5));
  // A tag overwritten and a param logged again add nothing twice.
  Log(a, {M("loss", 0.5, 2)}, {{"lr", "0.1"}}, {{"team", "z"}});

  auto cols = store_->GetExperimentColumns(exp);
  ASSERT_TRUE(cols) << cols.error().ToString();
  EXPECT_EQ(cols->metrics, (std::vector<std::string>{"Acc", "b", "loss", "zeta"}));
  EXPECT_EQ(cols->params, (std::vector<std::string>{"batch", "lr"}));
  EXPECT_EQ(cols->tags, (std::vector<std::string>{"a", "team"}));

  auto empty = store_->GetExperimentColumns("0");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->metrics.empty() && empty->params.empty() && empty->tags.empty());
  EXPECT_EQ(store_->GetExperimentColumns("999999").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetExperimentColumns("x").error().code(), ErrorCode::kNotFound);
}

TEST_P(UiStoreContractTest, CountRunsFollowsTheFilterAndView) {
  std::string exp = NewExperiment("count");
  std::vector<std::string> runs;
  for (int i = 0; i < 7; ++i) {
    runs.push_back(NewRun(exp, i));
    Log(runs.back(), {M("loss", i)}, {{"even", i % 2 == 0 ? "yes" : "no"}}, {});
  }
  ASSERT_TRUE(store_->SetRunLifecycle(runs[0], kDeleted, 5));
  RunQuery q;
  q.experiment_ids = {exp};
  q.max_results = 2;
  q.offset = 4;  // paging does not change the count
  EXPECT_EQ(store_->CountRuns(q).value_or(-1), 6);
  q.view = ViewType::kAll;
  EXPECT_EQ(store_->CountRuns(q).value_or(-1), 7);
  q.view = ViewType::kDeletedOnly;
  EXPECT_EQ(store_->CountRuns(q).value_or(-1), 1);
  q.view = ViewType::kActiveOnly;
  q.filter = {{Entity::kMetric, "loss", Comparator::kGe, 3.0}};
  q.order_by = {{Entity::kMetric, "loss", false}};
  EXPECT_EQ(store_->CountRuns(q).value_or(-1), 4);
  q.filter.push_back({Entity::kParam, "even", Comparator::kEq, std::string("yes")});
  EXPECT_EQ(store_->CountRuns(q).value_or(-1), 2);  // 4 and 6
  q.experiment_ids = {"12345"};
  EXPECT_EQ(store_->CountRuns(q).value_or(-1), 0);
}

TEST_P(UiStoreContractTest, SearchLoadsOnlyTheChosenColumns) {
  std::string exp = NewExperiment("columns");
  std::vector<std::string> runs;
  for (int i = 0; i < 3; ++i) {
    runs.push_back(NewRun(exp, 100 - i));
    std::vector<Metric> metrics;
    for (int k = 0; k < 50; ++k) metrics.push_back(M("m" + std::to_string(k), i * 100 + k));
    Log(runs.back(), metrics, {{"lr", "0.1"}, {"opt", "adam"}},
        {{"team", "t" + std::to_string(i)}, {"note", "n"}});
  }
  RunQuery q;
  q.experiment_ids = {exp};
  q.columns = RunColumns{{"lr"}, {"m7", "m42", "absent"}, {"team"}};
  auto page = store_->SearchRuns(q);
  ASSERT_TRUE(page) << page.error().ToString();
  ASSERT_EQ(page->runs.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const store::Run& r = page->runs[i];
    EXPECT_EQ(r.info.run_id, runs[i]);
    EXPECT_EQ(MetricKeys(r), (std::set<std::string>{"m42", "m7"}));
    EXPECT_EQ(ParamKeys(r), std::set<std::string>{"lr"});
    EXPECT_EQ(TagKeys(r), std::set<std::string>{"team"});
    EXPECT_EQ(r.info.start_time, 100 - static_cast<int64_t>(i));
  }
  EXPECT_DOUBLE_EQ(page->runs[1].metrics[0].value, 142);  // sorted: m42, m7
  EXPECT_EQ(page->runs[2].tags[0].value, "t2");

  // Empty lists load nothing of that kind.
  q.columns = RunColumns{{}, {"m1"}, {}};
  page = store_->SearchRuns(q);
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->runs[0].params.empty());
  EXPECT_TRUE(page->runs[0].tags.empty());
  EXPECT_EQ(MetricKeys(page->runs[0]), std::set<std::string>{"m1"});

  // More keys than an IN list bucket; and without columns, everything.
  RunColumns many;
  for (int k = 0; k < 300; ++k) many.metrics.push_back("m" + std::to_string(k));
  q.columns = many;
  page = store_->SearchRuns(q);
  ASSERT_TRUE(page) << page.error().ToString();
  EXPECT_EQ(page->runs[0].metrics.size(), 50u);
  q.columns.reset();
  page = store_->SearchRuns(q);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->runs[0].metrics.size(), 50u);
  EXPECT_EQ(page->runs[0].params.size(), 2u);
  EXPECT_EQ(page->runs[0].tags.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Backends, UiStoreContractTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cairn::store
