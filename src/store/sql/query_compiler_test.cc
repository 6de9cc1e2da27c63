#include "store/sql/query_compiler.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace cairn::store::sql {
namespace {

size_t CountPlaceholders(const std::string& sql) {
  return static_cast<size_t>(std::count(sql.begin(), sql.end(), '?'));
}

RunQuery BaseQuery() {
  RunQuery q;
  q.experiment_ids = {"1"};
  q.max_results = 10;
  return q;
}

TEST(QueryCompilerTest, DefaultRunSearchScopesAndOrders) {
  auto c = CompileRunSearch(BaseQuery(), Dialect::kSqlite);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_NE(c->sql.find("r.experiment_id = ?"), std::string::npos) << c->sql;
  EXPECT_NE(c->sql.find("r.lifecycle_stage = ?"), std::string::npos);
  EXPECT_NE(c->sql.find("ORDER BY r.start_time DESC, r.run_id ASC LIMIT ? OFFSET ?"),
            std::string::npos)
      << c->sql;
  ASSERT_EQ(c->binds.size(), 4u);
  EXPECT_EQ(c->binds[0].i, 1);
  EXPECT_EQ(c->binds[1].s, "active");
  EXPECT_EQ(c->binds[2].i, 11);  // one extra row to detect a next page
  EXPECT_EQ(c->binds[3].i, 0);
  EXPECT_EQ(CountPlaceholders(c->sql), c->binds.size());
}

TEST(QueryCompilerTest, UserTextNeverBecomesSql) {
  RunQuery q = BaseQuery();
  const std::string evil = "x' OR '1'='1";
  const std::string evil_key = "k\"; DROP TABLE runs; --";
  q.filter = {
      {Entity::kParam, evil_key, Comparator::kEq, evil},
      {Entity::kTag, evil_key, Comparator::kLike, evil},
      {Entity::kMetric, evil_key, Comparator::kGt, 1.0},
      {Entity::kAttribute, "run_name", Comparator::kIn, std::vector<std::string>{evil, "b"}},
      {Entity::kDataset, "context", Comparator::kNe, evil},
  };
  q.order_by = {{Entity::kTag, evil_key, false}, {Entity::kMetric, "other", true}};
  for (Dialect d : {Dialect::kSqlite, Dialect::kPostgres}) {
    auto c = CompileRunSearch(q, d);
    ASSERT_TRUE(c) << c.error().ToString();
    EXPECT_EQ(c->sql.find("OR '1'"), std::string::npos) << c->sql;
    EXPECT_EQ(c->sql.find("DROP"), std::string::npos) << c->sql;
    EXPECT_EQ(CountPlaceholders(c->sql), c->binds.size()) << c->sql;
    size_t evil_binds = std::count(c->binds.begin(), c->binds.end(), BoundValue::Text(evil));
    EXPECT_EQ(evil_binds, 4u);
  }
}

TEST(QueryCompilerTest, MetricFilterIsAnInnerJoinReusedByOrder) {
  RunQuery q = BaseQuery();
  q.filter = {{Entity::kMetric, "acc", Comparator::kGt, 0.5}};
  q.order_by = {{Entity::kMetric, "acc", false}};
  auto c = CompileRunSearch(q, Dialect::kSqlite);
  ASSERT_TRUE(c);
  EXPECT_NE(c->sql.find(" JOIN latest_metrics m0 ON m0.run_id = r.run_id AND m0.key = ?"),
            std::string::npos)
      << c->sql;
  EXPECT_EQ(c->sql.find("LEFT JOIN"), std::string::npos) << c->sql;
  EXPECT_NE(c->sql.find("m0.is_nan = 0 AND m0.value > ?"), std::string::npos) << c->sql;
  EXPECT_NE(c->sql.find("ORDER BY m0.value DESC, r.start_time DESC"), std::string::npos) << c->sql;
  // Key bound first (join), then scope, then the value.
  EXPECT_EQ(c->binds[0].s, "acc");
  EXPECT_EQ(c->binds[3].d, 0.5);
}

TEST(QueryCompilerTest, OrderOnUnfilteredMetricIsLeftJoinWithMissingLast) {
  RunQuery q = BaseQuery();
  q.order_by = {{Entity::kMetric, "loss", true}};
  auto c = CompileRunSearch(q, Dialect::kPostgres);
  ASSERT_TRUE(c);
  EXPECT_NE(c->sql.find("LEFT JOIN latest_metrics o0"), std::string::npos) << c->sql;
  EXPECT_NE(c->sql.find("CASE WHEN o0.run_id IS NULL THEN 2 WHEN o0.is_nan = 1 THEN 1 ELSE 0 "
                        "END, o0.value ASC"),
            std::string::npos)
      << c->sql;
}

TEST(QueryCompilerTest, MetricOrderFastPathRequiresTheMetric) {
  RunQuery q = BaseQuery();
  q.order_by = {{Entity::kMetric, "loss", true}};
  EXPECT_TRUE(MetricOrderFastPath(q));
  auto c = CompileRunSearch(q, Dialect::kSqlite, {.require_first_order_metric = true});
  ASSERT_TRUE(c);
  EXPECT_NE(c->sql.find(" JOIN latest_metrics m0 ON m0.run_id = r.run_id AND m0.key = ?"),
            std::string::npos)
      << c->sql;
  EXPECT_EQ(c->sql.find("LEFT JOIN"), std::string::npos) << c->sql;
  EXPECT_NE(c->sql.find("AND m0.is_nan = 0 AND m0.value >= ?"), std::string::npos) << c->sql;
  EXPECT_NE(c->sql.find("ORDER BY m0.value ASC, r.start_time DESC"), std::string::npos) << c->sql;
  EXPECT_EQ(CountPlaceholders(c->sql), c->binds.size());
  // Already filtered on that metric: the plain query is the fast one.
  q.filter = {{Entity::kMetric, "loss", Comparator::kLt, 1.0}};
  EXPECT_FALSE(MetricOrderFastPath(q));
  q.order_by = {{Entity::kParam, "p", true}};
  EXPECT_FALSE(MetricOrderFastPath(q));
}

TEST(QueryCompilerTest, IlikeDiffersByDialect) {
  RunQuery q = BaseQuery();
  q.filter = {{Entity::kParam, "p", Comparator::kILike, std::string("A%")}};
  auto lite = CompileRunSearch(q, Dialect::kSqlite);
  auto pg = CompileRunSearch(q, Dialect::kPostgres);
  ASSERT_TRUE(lite && pg);
  EXPECT_NE(lite->sql.find("lower(x.value) LIKE lower(?)"), std::string::npos) << lite->sql;
  EXPECT_NE(pg->sql.find("x.value ILIKE ?"), std::string::npos) << pg->sql;
}

TEST(QueryCompilerTest, EmptyInListIsConstant) {
  RunQuery q = BaseQuery();
  q.filter = {{Entity::kTag, "t", Comparator::kIn, std::vector<std::string>{}}};
  auto c = CompileRunSearch(q, Dialect::kPostgres);
  ASSERT_TRUE(c);
  EXPECT_NE(c->sql.find("1 = 0"), std::string::npos) << c->sql;
  EXPECT_EQ(c->sql.find("IN ()"), std::string::npos) << c->sql;
}

TEST(QueryCompilerTest, IsNullOnParamIsNotExists) {
  RunQuery q = BaseQuery();
  q.filter = {{Entity::kParam, "p", Comparator::kIsNull, std::monostate{}}};
  auto c = CompileRunSearch(q, Dialect::kSqlite);
  ASSERT_TRUE(c);
  EXPECT_NE(c->sql.find("NOT EXISTS (SELECT 1 FROM params x"), std::string::npos) << c->sql;
}

TEST(QueryCompilerTest, RejectsBadInput) {
  struct Case {
    Comparison c;
    std::string needle;
  };
  std::vector<Case> cases = {
      {{Entity::kMetric, "m", Comparator::kLike, std::string("x")}, "Invalid comparator 'LIKE'"},
      {{Entity::kMetric, "m", Comparator::kGt, std::string("x")}, "expected a number"},
      {{Entity::kParam, "p", Comparator::kGt, std::string("x")}, "Invalid comparator '>'"},
      {{Entity::kAttribute, "nope", Comparator::kEq, std::string("x")}, "Invalid attribute key"},
      {{Entity::kAttribute, "start_time", Comparator::kLike, std::string("x")},
       "Invalid comparator"},
      {{Entity::kDataset, "size", Comparator::kEq, std::string("x")}, "Invalid dataset key"},
      {{Entity::kTag, "t", Comparator::kIn, std::string("x")}, "a list of strings"},
  };
  for (const Case& k : cases) {
    RunQuery q = BaseQuery();
    q.filter = {k.c};
    auto c = CompileRunSearch(q, Dialect::kSqlite);
    ASSERT_FALSE(c) << k.needle;
    EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(c.error().message().find(k.needle), std::string::npos) << c.error().message();
  }
  RunQuery q = BaseQuery();
  q.max_results = 0;
  EXPECT_FALSE(CompileRunSearch(q, Dialect::kSqlite));
}

TEST(QueryCompilerTest, NonNumericExperimentIdsMatchNothing) {
  RunQuery q = BaseQuery();
  q.experiment_ids = {"abc"};
  auto c = CompileRunSearch(q, Dialect::kSqlite);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->matches_nothing);
  q.experiment_ids = {"1", "2"};
  c = CompileRunSearch(q, Dialect::kSqlite);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->matches_nothing);
  EXPECT_NE(c->sql.find("r.experiment_id IN (?, ?)"), std::string::npos) << c->sql;
}

TEST(QueryCompilerTest, ExperimentSearch) {
  ExperimentQuery q;
  q.max_results = 5;
  auto c = CompileExperimentSearch(q, Dialect::kSqlite);
  ASSERT_TRUE(c);
  EXPECT_NE(c->sql.find("ORDER BY e.creation_time DESC, e.experiment_id ASC"), std::string::npos)
      << c->sql;
  q.filter = {{Entity::kAttribute, "name", Comparator::kLike, std::string("a%")},
              {Entity::kTag, "team", Comparator::kEq, std::string("x")}};
  q.order_by = {{Entity::kAttribute, "name", true}};
  q.view = ViewType::kAll;
  c = CompileExperimentSearch(q, Dialect::kPostgres);
  ASSERT_TRUE(c);
  EXPECT_NE(c->sql.find("e.name LIKE ?"), std::string::npos) << c->sql;
  EXPECT_NE(c->sql.find("ORDER BY e.name ASC, e.experiment_id ASC"), std::string::npos) << c->sql;
  EXPECT_EQ(CountPlaceholders(c->sql), c->binds.size());
  q.filter = {{Entity::kMetric, "m", Comparator::kEq, 1.0}};
  EXPECT_FALSE(CompileExperimentSearch(q, Dialect::kSqlite));
}

TEST(QueryCompilerTest, ParseExperimentId) {
  EXPECT_EQ(ParseExperimentId("0"), 0);
  EXPECT_EQ(ParseExperimentId("42"), 42);
  EXPECT_EQ(ParseExperimentId(""), std::nullopt);
  EXPECT_EQ(ParseExperimentId("-1"), std::nullopt);
  EXPECT_EQ(ParseExperimentId("1a"), std::nullopt);
  EXPECT_EQ(ParseExperimentId("1 OR 1=1"), std::nullopt);
}

}  // namespace
}  // namespace cairn::store::sql
