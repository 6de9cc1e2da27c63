// Guards the query plans the search's speed depends on (SQLite, no
// statistics: the state of every new or small database): a page of runs must
// come from an index walk that stops after the page, never from sorting every
// run in scope.

#include <gtest/gtest.h>

#include <string>

#include "store/sql/query_compiler.h"
#include "store/sql/sql_metadata_store.h"
#include "store/sqlite/sqlite_database.h"

namespace cairn::store::sql {
namespace {

class SearchPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = sqlite::OpenSqliteDatabase(":memory:");
    ASSERT_TRUE(db) << db.error().ToString();
    store_ = std::make_unique<SqlMetadataStore>(std::move(*db));
    ASSERT_TRUE(store_->Migrate());
  }

  // EXPLAIN QUERY PLAN of the compiled search, one step per line.
  std::string Plan(const RunQuery& q, RunSearchOptions options = {}) {
    auto compiled = CompileRunSearch(q, Dialect::kSqlite, options);
    EXPECT_TRUE(compiled) << compiled.error().ToString();
    auto conn = store_->database().Reader();
    EXPECT_TRUE(conn);
    auto stmt = (*conn)->Prepare("EXPLAIN QUERY PLAN " + compiled->sql, false);
    EXPECT_TRUE(stmt) << stmt.error().ToString();
    compiled->BindTo(**stmt);
    std::string plan;
    for (auto row = (*stmt)->Next(); row && *row; row = (*stmt)->Next()) {
      plan += (*stmt)->TextCopy(3) + "\n";
    }
    return plan;
  }

  static RunQuery Query() {
    RunQuery q;
    q.experiment_ids = {"0"};
    q.max_results = 100;
    return q;
  }

  std::unique_ptr<SqlMetadataStore> store_;
};

TEST_F(SearchPlanTest, MetricFilterAndOrderWalkTheMetricIndex) {
  RunQuery q = Query();
  q.filter = {{Entity::kMetric, "acc", Comparator::kGt, 0.5}};
  q.order_by = {{Entity::kMetric, "acc", false}};
  std::string plan = Plan(q);
  EXPECT_NE(plan.find("SEARCH m0 USING COVERING INDEX latest_metrics_by_key_value"),
            std::string::npos)
      << plan;
  EXPECT_NE(plan.find("SEARCH r USING PRIMARY KEY"), std::string::npos) << plan;
  // Only ties are sorted, not the whole result.
  EXPECT_EQ(plan.find("USE TEMP B-TREE FOR ORDER BY"), std::string::npos) << plan;
}

TEST_F(SearchPlanTest, MetricOrderFastPathWalksTheMetricIndex) {
  RunQuery q = Query();
  q.order_by = {{Entity::kMetric, "loss", true}};
  std::string plan = Plan(q, {.require_first_order_metric = true});
  EXPECT_NE(plan.find("latest_metrics_by_key_value"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("USE TEMP B-TREE FOR ORDER BY"), std::string::npos) << plan;
}

TEST_F(SearchPlanTest, DefaultOrderWalksTheExperimentIndex) {
  std::string plan = Plan(Query());
  EXPECT_NE(plan.find("USING COVERING INDEX runs_by_experiment"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
}

TEST_F(SearchPlanTest, ParamFilterIsAPrimaryKeyProbePerRun) {
  RunQuery q = Query();
  q.filter = {{Entity::kParam, "model", Comparator::kEq, std::string("x")}};
  std::string plan = Plan(q);
  EXPECT_NE(plan.find("runs_by_experiment"), std::string::npos) << plan;
  EXPECT_NE(plan.find("SEARCH x USING PRIMARY KEY (run_id=? AND key=?)"), std::string::npos)
      << plan;
}

}  // namespace
}  // namespace cairn::store::sql
