#include "monitor/drift.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace cairn::monitor {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Column Numeric(std::string name, int n, const std::function<double(int)>& f) {
  Column c;
  c.name = std::move(name);
  c.kind = ColumnKind::kNumeric;
  for (int i = 0; i < n; ++i) c.numbers.push_back(f(i));
  return c;
}

Column Categorical(std::string name, int n, const std::function<std::string(int)>& f) {
  Column c;
  c.name = std::move(name);
  c.kind = ColumnKind::kCategorical;
  for (int i = 0; i < n; ++i) {
    std::string s = f(i);
    c.missing.push_back(s.empty() ? 1 : 0);
    c.strings.push_back(std::move(s));
  }
  return c;
}

Table MakeTable(std::vector<Column> cols) {
  Table t;
  t.rows = cols.empty() ? 0 : cols[0].size();
  t.columns = std::move(cols);
  return t;
}

const ColumnDrift& Drift(const DriftReport& r, std::string_view name) {
  for (const auto& c : r.columns) {
    if (c.column == name) return c;
  }
  ADD_FAILURE() << "no column " << name;
  static const ColumnDrift kNone;
  return kNone;
}

std::string Letter(std::string_view letters, int i) { return std::string(1, letters[i]); }

// Expected values below were observed with Evidently 0.7.23's stat tests on
// the same data (tests/compat checks the same at scale).
Table SmallReference() {
  return MakeTable({
      Numeric("x", 200, [](int i) { return i % 50; }),
      Categorical("c3", 200, [](int i) { return Letter("abc", i % 3); }),
      Numeric("b2", 200, [](int i) { return i % 2; }),
      Numeric("n4", 200, [](int i) { return i % 4; }),
  });
}
Table SmallCurrent() {
  return MakeTable({
      Numeric("x", 150, [](int i) { return i % 40 + 5; }),
      Categorical("c3", 150, [](int i) { return Letter("abc", i % 5 < 3 ? 0 : i % 5 - 2); }),
      Numeric("b2", 150, [](int i) { return i % 4 == 0 ? 1.0 : 0.0; }),
      Numeric("n4", 150, [](int i) { return i % 3; }),
  });
}
Table BigReference() {
  return MakeTable({
      Numeric("w", 2000, [](int i) { return (i % 97) * 0.37; }),
      Categorical("cat", 2000, [](int i) { return Letter("pqrs", i % 4); }),
      Numeric("k", 2000, [](int i) { return i % 4; }),
  });
}
Table BigCurrent() {
  return MakeTable({
      Numeric("w", 1500, [](int i) { return (i % 89) * 0.41 + 1; }),
      Categorical("cat", 1500, [](int i) { return Letter("pqrst", i % 5); }),
      Numeric("k", 1500, [](int i) { return i % 3; }),
  });
}

TEST(DefaultTestTest, Boundaries) {
  using K = ColumnKind;
  EXPECT_EQ(DefaultTest(K::kNumeric, 1000, 6), StatTest::kKs);
  EXPECT_EQ(DefaultTest(K::kNumeric, 1001, 6), StatTest::kWasserstein);
  EXPECT_EQ(DefaultTest(K::kNumeric, 1000, 5), StatTest::kChiSquare);
  EXPECT_EQ(DefaultTest(K::kNumeric, 1000, 3), StatTest::kChiSquare);
  EXPECT_EQ(DefaultTest(K::kNumeric, 1000, 2), StatTest::kZ);
  EXPECT_EQ(DefaultTest(K::kNumeric, 1001, 5), StatTest::kJensenShannon);
  EXPECT_EQ(DefaultTest(K::kNumeric, 1001, 2), StatTest::kJensenShannon);
  EXPECT_EQ(DefaultTest(K::kCategorical, 1000, 3), StatTest::kChiSquare);
  EXPECT_EQ(DefaultTest(K::kCategorical, 1000, 2), StatTest::kZ);
  EXPECT_EQ(DefaultTest(K::kCategorical, 1001, 100), StatTest::kJensenShannon);
  EXPECT_EQ(DefaultTest(K::kCategorical, 1001, 2), StatTest::kJensenShannon);
}

TEST(DefaultTestTest, ReferenceCountExcludesMissing) {
  // 1001 reference rows of which one is missing: n = 1000, so KS.
  auto ref = MakeTable({Numeric("v", 1001, [](int i) { return i == 7 ? kNaN : i % 10; })});
  auto cur = MakeTable({Numeric("v", 100, [](int i) { return i % 10; })});
  auto r = ComputeDrift(ref, cur, {});
  ASSERT_TRUE(r);
  EXPECT_EQ(Drift(*r, "v").test, StatTest::kKs);
  EXPECT_EQ(Drift(*r, "v").reference_count, 1000);
  // Without the missing value the column is whole numbers with 10 distinct
  // values: Evidently reads it as an integer column of low cardinality,
  // categorical, so Jensen-Shannon; with 11 distinct values it is numeric.
  auto ref2 = MakeTable({Numeric("v", 1001, [](int i) { return i % 10; })});
  auto r2 = ComputeDrift(ref2, cur, {});
  ASSERT_TRUE(r2);
  EXPECT_EQ(Drift(*r2, "v").test, StatTest::kJensenShannon);
  auto ref11 = MakeTable({Numeric("v", 1001, [](int i) { return i % 11; })});
  auto r11 = ComputeDrift(ref11, cur, {});
  ASSERT_TRUE(r11);
  EXPECT_EQ(Drift(*r11, "v").test, StatTest::kWasserstein);
  // Infinities count as missing (as Evidently replaces them).
  auto ref3 = MakeTable(
      {Numeric("v", 1001, [](int i) { return i == 3 ? std::numeric_limits<double>::infinity() : i % 10; })});
  auto r3 = ComputeDrift(ref3, cur, {});
  ASSERT_TRUE(r3);
  EXPECT_EQ(Drift(*r3, "v").test, StatTest::kKs);
}

TEST(DefaultTestTest, FewWholeNumbersAreCategoricalAsInEvidently) {
  // 500 rows of 8 whole numbers: chi-squared (categorical), not KS.
  auto ref = MakeTable({Numeric("v", 500, [](int i) { return i % 8; })});
  auto cur = MakeTable({Numeric("v", 300, [](int i) { return i % 8; })});
  auto r = ComputeDrift(ref, cur, {});
  ASSERT_TRUE(r);
  EXPECT_EQ(Drift(*r, "v").test, StatTest::kChiSquare);
  EXPECT_FALSE(Drift(*r, "v").drifted);
  // The same values with a fraction are numeric: KS.
  auto ref_f = MakeTable({Numeric("v", 500, [](int i) { return i % 8 + 0.5; })});
  auto cur_f = MakeTable({Numeric("v", 300, [](int i) { return i % 8 + 0.5; })});
  auto rf = ComputeDrift(ref_f, cur_f, {});
  ASSERT_TRUE(rf);
  EXPECT_EQ(Drift(*rf, "v").test, StatTest::kKs);
}

TEST(DriftTest, SmallReferenceMatchesEvidently) {
  auto r = ComputeDrift(SmallReference(), SmallCurrent(), {});
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(r->columns.size(), 4u);
  const auto& x = Drift(*r, "x");
  EXPECT_EQ(x.test, StatTest::kKs);
  EXPECT_EQ(x.distinct_values, 50);
  EXPECT_NEAR(x.score, 0.33868681219914437, 1e-9);
  EXPECT_FALSE(x.drifted);
  EXPECT_DOUBLE_EQ(x.threshold, 0.05);
  const auto& c3 = Drift(*r, "c3");
  EXPECT_EQ(c3.test, StatTest::kChiSquare);
  EXPECT_EQ(c3.kind, ColumnKind::kCategorical);
  EXPECT_NEAR(c3.score, 5.394004861817894e-11, 1e-15);
  EXPECT_TRUE(c3.drifted);
  const auto& b2 = Drift(*r, "b2");
  EXPECT_EQ(b2.test, StatTest::kZ);
  EXPECT_EQ(b2.distinct_values, 2);
  EXPECT_NEAR(b2.score, 2.968028344874085e-06, 1e-12);
  EXPECT_TRUE(b2.drifted);
  const auto& n4 = Drift(*r, "n4");
  EXPECT_EQ(n4.test, StatTest::kChiSquare);
  EXPECT_EQ(n4.distinct_values, 4);
  EXPECT_NEAR(n4.score, 7.989179244951495e-11, 1e-15);
  EXPECT_EQ(r->drifted_columns, 3);
  EXPECT_DOUBLE_EQ(r->drift_share, 0.75);
  EXPECT_TRUE(r->dataset_drift);
  EXPECT_EQ(r->reference_rows, 200);
  EXPECT_EQ(r->current_rows, 150);
}

TEST(DriftTest, LargeReferenceMatchesEvidently) {
  DriftOptions o;
  o.threads = 3;
  auto r = ComputeDrift(BigReference(), BigCurrent(), o);
  ASSERT_TRUE(r) << r.error().ToString();
  const auto& w = Drift(*r, "w");
  EXPECT_EQ(w.test, StatTest::kWasserstein);
  EXPECT_EQ(w.distinct_values, 184);
  EXPECT_NEAR(w.score, 0.13072105558152047, 1e-9);
  EXPECT_TRUE(w.drifted);
  EXPECT_DOUBLE_EQ(w.threshold, 0.1);
  const auto& cat = Drift(*r, "cat");
  EXPECT_EQ(cat.test, StatTest::kJensenShannon);
  EXPECT_NEAR(cat.score, 0.27364532084863846, 1e-9);
  const auto& k = Drift(*r, "k");
  EXPECT_EQ(k.test, StatTest::kJensenShannon);
  EXPECT_NEAR(k.score, 0.30919668327301425, 1e-9);
  EXPECT_EQ(r->drifted_columns, 3);
  EXPECT_TRUE(r->dataset_drift);
}

TEST(DriftTest, PerColumnOverridesAndThresholds) {
  DriftOptions o;
  o.tests["w"] = StatTest::kPsi;
  o.tests["cat"] = StatTest::kPsi;
  o.tests["k"] = StatTest::kAuto;
  o.thresholds["cat"] = 2.0;
  o.drift_share = 0.6;
  auto r = ComputeDrift(BigReference(), BigCurrent(), o);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(Drift(*r, "w").test, StatTest::kPsi);
  EXPECT_NEAR(Drift(*r, "w").score, 0.035980062434333174, 1e-9);
  EXPECT_FALSE(Drift(*r, "w").drifted);
  EXPECT_EQ(Drift(*r, "cat").test, StatTest::kPsi);
  EXPECT_NEAR(Drift(*r, "cat").score, 1.5640491119253042, 1e-9);
  EXPECT_DOUBLE_EQ(Drift(*r, "cat").threshold, 2.0);
  EXPECT_FALSE(Drift(*r, "cat").drifted);  // below the raised threshold
  EXPECT_EQ(Drift(*r, "k").test, StatTest::kJensenShannon);
  EXPECT_EQ(r->drifted_columns, 1);
  EXPECT_NEAR(r->drift_share, 1.0 / 3, 1e-12);
  EXPECT_FALSE(r->dataset_drift);

  DriftOptions o2;
  o2.tests["w"] = StatTest::kJensenShannon;
  o2.columns = {"w"};
  auto r2 = ComputeDrift(BigReference(), BigCurrent(), o2);
  ASSERT_TRUE(r2);
  ASSERT_EQ(r2->columns.size(), 1u);
  EXPECT_NEAR(Drift(*r2, "w").score, 0.06667593047637073, 1e-9);
  EXPECT_FALSE(Drift(*r2, "w").drifted);

  DriftOptions o3;
  o3.tests["w"] = StatTest::kKs;
  auto r3 = ComputeDrift(BigReference(), BigCurrent(), o3);
  ASSERT_TRUE(r3);
  EXPECT_NEAR(Drift(*r3, "w").score, 0.0161827931193259, 1e-9);
  EXPECT_TRUE(Drift(*r3, "w").drifted);

  DriftOptions o4;
  o4.tests["x"] = StatTest::kPsi;  // 50 distinct reference values: Sturges bins
  auto r4 = ComputeDrift(SmallReference(), SmallCurrent(), o4);
  ASSERT_TRUE(r4);
  EXPECT_NEAR(Drift(*r4, "x").score, 1.4377059192309871, 1e-9);
}

TEST(DriftTest, ZTestOnCategories) {
  auto ref = MakeTable({Categorical("c", 2000, [](int i) { return Letter("pq", i % 2); })});
  auto cur = MakeTable({Categorical("c", 1500, [](int i) { return Letter("pq", i % 3 == 0); })});
  DriftOptions o;
  o.tests["c"] = StatTest::kZ;
  auto r = ComputeDrift(ref, cur, o);
  ASSERT_TRUE(r);
  EXPECT_EQ(Drift(*r, "c").test, StatTest::kZ);
  EXPECT_LT(Drift(*r, "c").score, 1e-12);
  EXPECT_TRUE(Drift(*r, "c").drifted);
  // Same single value on both sides: p = 1.
  auto same = MakeTable({Categorical("c", 10, [](int) { return std::string("p"); })});
  auto r2 = ComputeDrift(same, same, {});
  ASSERT_TRUE(r2);
  EXPECT_EQ(Drift(*r2, "c").test, StatTest::kZ);
  EXPECT_DOUBLE_EQ(Drift(*r2, "c").score, 1.0);
  EXPECT_FALSE(Drift(*r2, "c").drifted);
}

TEST(DriftTest, OnlyInListsMixedKindsAndUntested) {
  auto ref = MakeTable({
      Numeric("a", 20, [](int i) { return i; }),
      Numeric("gone", 20, [](int i) { return i; }),
      Numeric("mixed", 20, [](int i) { return i % 3; }),
      Numeric("empty", 20, [](int) { return kNaN; }),
  });
  auto cur = MakeTable({
      Numeric("a", 20, [](int i) { return i; }),
      Categorical("mixed", 20, [](int i) { return i % 2 ? std::string("1") : std::string("x"); }),
      Numeric("empty", 20, [](int i) { return i; }),
      Numeric("new", 20, [](int i) { return i; }),
  });
  auto r = ComputeDrift(ref, cur, {});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->only_in_reference, (std::vector<std::string>{"gone"}));
  EXPECT_EQ(r->only_in_current, (std::vector<std::string>{"new"}));
  ASSERT_EQ(r->columns.size(), 3u);
  EXPECT_EQ(r->columns[0].column, "a");
  EXPECT_TRUE(r->columns[0].tested);
  EXPECT_DOUBLE_EQ(r->columns[0].score, 1.0);
  const auto& mixed = Drift(*r, "mixed");
  EXPECT_EQ(mixed.kind, ColumnKind::kCategorical);
  EXPECT_EQ(mixed.distinct_values, 4);  // "0","1","2" and "x"
  EXPECT_EQ(mixed.test, StatTest::kChiSquare);
  const auto& empty = Drift(*r, "empty");
  EXPECT_FALSE(empty.tested);
  EXPECT_FALSE(empty.drifted);
  EXPECT_EQ(empty.reference_count, 0);
  // drift share over the tested columns (a, mixed).
  EXPECT_DOUBLE_EQ(r->drift_share, static_cast<double>(r->drifted_columns) / 2);

  DriftOptions o;
  o.columns = {"gone"};
  auto bad = ComputeDrift(ref, cur, o);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "column 'gone' is not in the current table");
}

TEST(BinningTest, FillZerosAndCategories) {
  std::vector<std::string> ref = {"a", "a", "b", "b"};
  std::vector<std::string> cur = {"a", "c", "c", "c"};
  Binned b = BinCategorical(ref, cur, false);
  ASSERT_EQ(b.reference.size(), 3u);  // a, b, c (sorted)
  EXPECT_EQ(b.reference, (std::vector<double>{0.5, 0.5, 0}));
  EXPECT_EQ(b.current, (std::vector<double>{0.25, 0, 0.75}));
  Binned f = BinCategorical(ref, cur, true);
  EXPECT_EQ(f.reference, (std::vector<double>{0.5, 0.5, 0.0001}));
  EXPECT_EQ(f.current, (std::vector<double>{0.25, 0.0001, 0.75}));
  // Numeric with few distinct values: one bin per value.
  std::vector<double> r = {1, 1, 2, 3};
  std::vector<double> c = {3, 3, 4, 1};
  Binned n = BinNumeric(r, c, false);
  EXPECT_EQ(n.reference, (std::vector<double>{0.5, 0.25, 0.25, 0}));
  EXPECT_EQ(n.current, (std::vector<double>{0.25, 0, 0.5, 0.25}));
}

TEST(NamesTest, ParseAndPrint) {
  for (auto name : {"ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi", "auto"}) {
    auto t = ParseStatTest(name);
    ASSERT_TRUE(t) << name;
    EXPECT_EQ(StatTestName(*t), name);
  }
  auto bad = ParseStatTest("anderson");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("jensenshannon"), std::string::npos);
  EXPECT_TRUE(IsPValueTest(StatTest::kZ));
  EXPECT_FALSE(IsPValueTest(StatTest::kPsi));
  EXPECT_DOUBLE_EQ(DefaultThreshold(StatTest::kChiSquare), 0.05);
  EXPECT_DOUBLE_EQ(DefaultThreshold(StatTest::kWasserstein), 0.1);
  EXPECT_EQ(*ParseTask("regression"), Task::kRegression);
  EXPECT_FALSE(ParseTask("ranking"));
}

// ------------------------------------------------------------------ quality

TEST(QualityTest, CountsEveryKind) {
  auto ref = MakeTable({
      Numeric("amount", 4, [](int i) { return 10.0 + i; }),  // [10, 13]
      Categorical("country", 4, [](int i) { return std::string(i % 2 ? "DE" : "FR"); }),
      Numeric("expected_only", 4, [](int i) { return i; }),
  });
  Table cur = MakeTable({
      Numeric("amount", 6, [](int i) {
        const double v[] = {9, 10, 13, 14, kNaN, 10};
        return v[i];
      }),
      Categorical("country", 6, [](int i) {
        const char* v[] = {"FR", "US", "US", "", "IT", "FR"};
        return std::string(v[i]);
      }),
      Numeric("flat", 6, [](int i) { return i == 2 ? kNaN : 5.0; }),
  });
  cur.columns[0].type_violations = 1;
  QualityReport q = ComputeQuality(ref, cur);
  EXPECT_EQ(q.rows, 6);
  EXPECT_EQ(q.missing_columns, (std::vector<std::string>{"expected_only"}));
  ASSERT_EQ(q.columns.size(), 3u);
  const ColumnQuality& amount = q.columns[0];
  EXPECT_EQ(amount.missing, 1);
  EXPECT_EQ(amount.out_of_range, 2);  // 9 and 14
  EXPECT_EQ(amount.type_violations, 1);
  EXPECT_DOUBLE_EQ(amount.reference_min, 10);
  EXPECT_DOUBLE_EQ(amount.reference_max, 13);
  EXPECT_FALSE(amount.constant);
  const ColumnQuality& country = q.columns[1];
  EXPECT_EQ(country.missing, 1);
  EXPECT_EQ(country.new_categories, 3);  // US, US, IT
  EXPECT_EQ(country.distinct_new_categories, 2);
  EXPECT_FALSE(country.constant);
  EXPECT_TRUE(q.columns[2].constant);
  EXPECT_EQ(q.columns[2].missing, 1);
  EXPECT_EQ(q.duplicated_rows, 0);

  const std::string json = QualityReportToJson(q);
  EXPECT_NE(json.find("\"missing_columns\":[\"expected_only\"]"), std::string::npos) << json;
  EXPECT_NE(json.find("\"out_of_range\":2,\"out_of_range_rate\":0.3333333333333333"),
            std::string::npos)
      << json;

  // Signature columns override the reference's as the expected set.
  QualityReport s = ComputeQuality(ref, cur, {"amount", "zip"});
  EXPECT_EQ(s.missing_columns, (std::vector<std::string>{"zip"}));
}

TEST(QualityTest, DuplicatedRowsIncludingMissingCells) {
  Table t = MakeTable({
      Numeric("a", 5, [](int i) {
        const double v[] = {1, 2, 1, kNaN, kNaN};
        return v[i];
      }),
      Categorical("b", 5, [](int i) {
        const char* v[] = {"x", "x", "x", "", ""};
        return std::string(v[i]);
      }),
  });
  QualityReport q = ComputeQuality(t, t);
  EXPECT_EQ(q.duplicated_rows, 2);  // row 2 = row 0, row 4 = row 3
  EXPECT_NE(QualityReportToJson(q).find("\"duplicate_rate\":0.4"), std::string::npos);
}

// -------------------------------------------------------------- performance

TEST(PerformanceTest, BinaryWithScores) {
  std::vector<std::string> y = {"1", "0", "1", "1", "0", "0", "1", "0"};
  std::vector<std::string> p = {"1", "0", "0", "1", "1", "0", "1", "0"};
  std::vector<double> s = {0.9, 0.2, 0.4, 0.8, 0.6, 0.1, 0.7, 0.3};
  auto r = ComputePerformance(y, p, s, {});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->task, Task::kClassification);
  ASSERT_TRUE(r->classification);
  EXPECT_DOUBLE_EQ(r->classification->accuracy, 0.75);
  EXPECT_DOUBLE_EQ(r->classification->precision, 0.75);
  EXPECT_DOUBLE_EQ(r->classification->recall, 0.75);
  EXPECT_NEAR(r->classification->roc_auc, 0.9375, 1e-12);
  EXPECT_NEAR(r->classification->log_loss, 0.4003674356962309, 1e-12);
  const std::string json = PerformanceReportToJson(*r);
  EXPECT_EQ(json.rfind("{\"task\":\"classification\",\"rows\":8,\"accuracy\":0.75", 0), 0u)
      << json;
  // Without scores, roc_auc and log_loss are null.
  auto ns = ComputePerformance(y, p, {}, {});
  ASSERT_TRUE(ns);
  EXPECT_NE(PerformanceReportToJson(*ns).find("\"roc_auc\":null,\"log_loss\":null"),
            std::string::npos);
}

TEST(PerformanceTest, Multiclass) {
  std::vector<std::string> y = {"a", "b", "c", "a", "b", "c", "a"};
  std::vector<std::string> p = {"a", "b", "b", "a", "c", "c", "c"};
  auto r = ComputePerformance(y, p, {}, {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->task, Task::kClassification);
  EXPECT_NEAR(r->classification->accuracy, 0.5714285714285714, 1e-12);
  EXPECT_NEAR(r->classification->precision, 0.611111111111111, 1e-12);
  EXPECT_NEAR(r->classification->recall, 0.5555555555555555, 1e-12);
  EXPECT_NEAR(r->classification->f1, 0.5666666666666668, 1e-12);
}

TEST(PerformanceTest, RegressionAndAutoTask) {
  std::vector<std::string> y, p;
  for (int i = 0; i < 30; ++i) {
    const double v = i * 1.5;
    y.push_back(std::to_string(v));
    p.push_back(std::to_string(v + (i % 2 ? 1 : -0.5)));
  }
  auto r = ComputePerformance(y, p, {}, {});  // 30 distinct numbers: regression
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->task, Task::kRegression);
  ASSERT_TRUE(r->regression);
  EXPECT_NEAR(r->regression->mae, 0.75, 1e-12);
  EXPECT_NEAR(r->regression->rmse, 0.7905694150420949, 1e-12);
  EXPECT_NEAR(r->regression->r2, 0.996292176492399, 1e-12);
  EXPECT_EQ(PerformanceReportToJson(*r).rfind("{\"task\":\"regression\",\"rows\":30,\"mae\":", 0),
            0u);
  // 20 distinct numeric labels: classification.
  std::vector<std::string> y20(y.begin(), y.begin() + 20), p20(p.begin(), p.begin() + 20);
  auto c = ComputePerformance(y20, p20, {}, {});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->task, Task::kClassification);
  // Forced regression with a non-number names it.
  PerformanceOptions o;
  o.task = Task::kRegression;
  y[3] = "n/a";
  auto bad = ComputePerformance(y, p, {}, o);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("'n/a'"), std::string::npos);
}

TEST(RenderTest, DriftJsonShape) {
  auto r = ComputeDrift(SmallReference(), SmallCurrent(), {});
  ASSERT_TRUE(r);
  const std::string json = DriftReportToJson(*r);
  EXPECT_EQ(json.rfind("{\"reference_rows\":200,\"current_rows\":150,\"drifted_columns\":3,"
                       "\"drift_share\":0.75,\"dataset_drift\":true,\"drift_share_threshold\":0.5,"
                       "\"columns\":[{\"column\":\"x\",\"kind\":\"numeric\",\"test\":\"ks\","
                       "\"tested\":true,",
                       0),
            0u)
      << json;
  EXPECT_NE(json.find("\"only_in_reference\":[],\"only_in_current\":[]}"), std::string::npos);
}

}  // namespace
}  // namespace cairn::monitor
