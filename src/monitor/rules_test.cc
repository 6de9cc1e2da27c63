#include "monitor/rules.h"

#include <gtest/gtest.h>

#include <cmath>

namespace cairn::monitor {
namespace {

TEST(AlertRuleTest, ParsesDatasetLevelRule) {
  auto r = ParseAlertRule("drift_share > 0.3");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->statistic, "drift_share");
  EXPECT_EQ(r->feature, "");
  EXPECT_EQ(r->op, AlertRule::Op::kGt);
  EXPECT_DOUBLE_EQ(r->threshold, 0.3);
  EXPECT_EQ(r->windows, 1);
  EXPECT_EQ(r->text, "drift_share > 0.3");
}

TEST(AlertRuleTest, ParsesForNWindowsAndNormalizesSpacing) {
  auto r = ParseAlertRule("  recall<0.8   for 2 windows ");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->statistic, "recall");
  EXPECT_EQ(r->op, AlertRule::Op::kLt);
  EXPECT_DOUBLE_EQ(r->threshold, 0.8);
  EXPECT_EQ(r->windows, 2);
  EXPECT_EQ(r->text, "recall < 0.8 for 2");
  auto one = ParseAlertRule("f1 <= 0.5 for 3 window");
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->windows, 3);
}

TEST(AlertRuleTest, ParsesFeatures) {
  auto every = ParseAlertRule("drifted[*] >= 1");
  ASSERT_TRUE(every.has_value());
  EXPECT_EQ(every->feature, "*");
  EXPECT_EQ(every->op, AlertRule::Op::kGe);
  EXPECT_EQ(every->text, "drifted[*] >= 1");
  auto one = ParseAlertRule("missing_rate[ amount ]>0.1");
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->feature, "amount");
  EXPECT_EQ(one->text, "missing_rate[amount] > 0.1");
  auto eq = ParseAlertRule("constant[country] == 1");
  ASSERT_TRUE(eq.has_value());
  EXPECT_EQ(eq->op, AlertRule::Op::kEq);
  auto ne = ParseAlertRule("dataset_drift != 0");
  ASSERT_TRUE(ne.has_value());
  EXPECT_EQ(ne->op, AlertRule::Op::kNe);
}

TEST(AlertRuleTest, HoldsPerOperatorAndNeverOnNaN) {
  auto gt = ParseAlertRule("drift_share > 0.3").value();
  EXPECT_TRUE(gt.Holds(0.31));
  EXPECT_FALSE(gt.Holds(0.3));
  auto ge = ParseAlertRule("drifted[*] >= 1").value();
  EXPECT_TRUE(ge.Holds(1));
  EXPECT_FALSE(ge.Holds(0));
  auto lt = ParseAlertRule("recall < 0.8").value();
  EXPECT_TRUE(lt.Holds(0.79));
  EXPECT_FALSE(lt.Holds(0.8));
  EXPECT_FALSE(lt.Holds(std::nan("")));
  auto le = ParseAlertRule("accuracy <= 0.5").value();
  EXPECT_TRUE(le.Holds(0.5));
  EXPECT_FALSE(le.Holds(0.51));
  auto eq = ParseAlertRule("dataset_drift == 1").value();
  EXPECT_TRUE(eq.Holds(1));
  EXPECT_FALSE(eq.Holds(0));
  auto ne = ParseAlertRule("rows != 0").value();
  EXPECT_TRUE(ne.Holds(5));
  EXPECT_FALSE(ne.Holds(0));
  EXPECT_FALSE(ne.Holds(std::nan("")));
  auto neg = ParseAlertRule("r2 < -0.5").value();
  EXPECT_DOUBLE_EQ(neg.threshold, -0.5);
  EXPECT_TRUE(neg.Holds(-1));
}

TEST(AlertRuleTest, ErrorsSayWhatIsWrong) {
  auto unknown = ParseAlertRule("recal < 0.8");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(unknown.error().message().find("unknown statistic 'recal'"), std::string::npos);
  EXPECT_NE(unknown.error().message().find("recall"), std::string::npos);  // lists known ones

  struct Case {
    const char* text;
    const char* fragment;
  };
  for (const Case& c : {
           Case{"recall 0.8", "expected an operator"},
           Case{"recall <", "expected a number"},
           Case{"recall < abc", "expected a number"},
           Case{"recall < 0.8 for", "number of windows"},
           Case{"recall < 0.8 for 0", "number of windows"},
           Case{"recall < 0.8 during 2", "unexpected 'during'"},
           Case{"recall < 0.8 for 2 hours", "unexpected 'hours'"},
           Case{"drifted[amount >= 1", "closing ']'"},
           Case{"drifted[] >= 1", "empty feature"},
           Case{"drifted >= 1", "computed per feature"},
           Case{"drift_share[amount] > 0.3", "dataset-level"},
           Case{"", "expected STATISTIC"},
       }) {
    auto r = ParseAlertRule(c.text);
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_NE(r.error().message().find(c.fragment), std::string::npos)
        << c.text << " -> " << r.error().message();
  }
}

TEST(AlertRuleTest, KnownStatisticsCoverTheDocumentedNames) {
  const auto& names = KnownStatistics();
  for (const char* n : {"drift_score",
                        "drifted",
                        "drift_share",
                        "drifted_columns",
                        "dataset_drift",
                        "missing_rate",
                        "type_violations",
                        "out_of_range_rate",
                        "new_category_rate",
                        "constant",
                        "rows",
                        "duplicate_rate",
                        "accuracy",
                        "precision",
                        "recall",
                        "f1",
                        "roc_auc",
                        "log_loss",
                        "mae",
                        "rmse",
                        "r2",
                        "labeled_rows"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
}

}  // namespace
}  // namespace cairn::monitor
