// `cairn drift`: runs the built binary (CAIRN_BINARY) on small generated
// files, as a user would, and asserts on what it prints and its exit code.
//
// The files: 200 rows on each side. `x` moves by half its range in the
// current file (KS p ~ 0: drifts), `y` by 0.001 (p ~ 1: does not), `c` is a
// categorical column with the same four categories in the same shares, and
// `label` / `pred` are a binary target and a prediction that is right on
// 180 of 200 rows (identical on both sides, so they do not drift either).

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/subprocess.h"
#include "support/temp_files.h"

namespace cairn::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using Outcome = test::CommandOutcome;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

class DriftCliTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("cairn-drift-test");
    std::string ref = "x,y,c,label,pred\n", cur = ref;
    const char* cats[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 200; ++i) {
      const int label = i % 2;
      const int pred = i < 20 ? 1 - label : label;
      char line[160];
      std::snprintf(line, sizeof(line), "%.4f,%.4f,%s,%d,%d\n", i * 0.05, i * 0.05, cats[i % 4],
                    label, pred);
      ref += line;
      std::snprintf(line, sizeof(line), "%.4f,%.4f,%s,%d,%d\n", i * 0.05 + 5.0, i * 0.05 + 0.001,
                    cats[i % 4], label, pred);
      cur += line;
    }
    ref_ = dir_ + "/ref.csv";
    cur_ = dir_ + "/cur.csv";
    WriteFile(ref_, ref);
    WriteFile(cur_, cur);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Outcome Run(std::vector<std::string> args) {
    args.insert(args.begin(), "drift");
    Outcome o = test::RunCommand(CAIRN_BINARY, args, dir_);
    if (o.exit_code == -1) ADD_FAILURE() << "cannot start " << CAIRN_BINARY;
    return o;
  }
  // Runs with --json; the parsed document (null when the output is not JSON).
  json RunJson(std::vector<std::string> args, int expected_exit = 0) {
    args.push_back("--json");
    Outcome o = Run(args);
    EXPECT_EQ(o.exit_code, expected_exit) << o.err;
    json j = json::parse(o.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << o.out;
    return j.is_discarded() ? json() : j;
  }
  static json ColumnOf(const json& report, const std::string& name) {
    for (const json& c : report["columns"]) {
      if (c["column"] == name) return c;
    }
    ADD_FAILURE() << "no column " << name << " in " << report.dump();
    return json::object();
  }
  void ExpectFailure(const std::vector<std::string>& args, int exit_code,
                     const std::vector<std::string>& in_message) {
    Outcome o = Run(args);
    EXPECT_EQ(o.exit_code, exit_code) << o.err;
    EXPECT_EQ(o.out, "");
    EXPECT_TRUE(o.err.starts_with("error: ")) << o.err;
    for (const auto& what : in_message) EXPECT_NE(o.err.find(what), std::string::npos) << o.err;
  }

  std::string dir_, ref_, cur_;
};

TEST_F(DriftCliTest, JsonFlagsTheShiftedColumnOnly) {
  json j = RunJson({"--reference", ref_, "--current", cur_});
  ASSERT_TRUE(j.is_object());
  const json& d = j["drift"];
  EXPECT_EQ(d["reference_rows"], 200);
  EXPECT_EQ(d["current_rows"], 200);
  ASSERT_EQ(d["columns"].size(), 5u);
  EXPECT_EQ(d["columns"][0]["column"], "x");  // the reference's order

  json x = ColumnOf(d, "x");
  EXPECT_EQ(x["kind"], "numeric");
  EXPECT_EQ(x["test"], "ks");  // 200 rows, many values
  EXPECT_TRUE(x["tested"]);
  EXPECT_TRUE(x["drifted"]);
  EXPECT_LT(x["score"].get<double>(), 1e-10);
  EXPECT_DOUBLE_EQ(x["statistic"].get<double>(), 0.5);  // half of the values moved past the rest
  EXPECT_DOUBLE_EQ(x["threshold"].get<double>(), 0.05);
  EXPECT_EQ(x["reference_count"], 200);
  EXPECT_EQ(x["current_count"], 200);

  json y = ColumnOf(d, "y");
  EXPECT_EQ(y["test"], "ks");
  EXPECT_FALSE(y["drifted"]);
  EXPECT_GT(y["score"].get<double>(), 0.99);

  json c = ColumnOf(d, "c");
  EXPECT_EQ(c["kind"], "categorical");
  EXPECT_EQ(c["test"], "chisquare");  // 4 categories
  EXPECT_EQ(c["distinct_values"], 4);
  EXPECT_DOUBLE_EQ(c["score"].get<double>(), 1.0);  // identical shares
  EXPECT_FALSE(c["drifted"]);

  json label = ColumnOf(d, "label");
  EXPECT_EQ(label["test"], "z");  // two values
  EXPECT_FALSE(label["drifted"]);

  EXPECT_EQ(d["drifted_columns"], 1);
  EXPECT_DOUBLE_EQ(d["drift_share"].get<double>(), 0.2);
  EXPECT_FALSE(d["dataset_drift"]);
  EXPECT_DOUBLE_EQ(d["drift_share_threshold"].get<double>(), 0.5);

  const json& q = j["quality"];
  EXPECT_EQ(q["rows"], 200);
  EXPECT_EQ(q["duplicated_rows"], 0);
  json qx = ColumnOf(q, "x");
  EXPECT_EQ(qx["missing"], 0);
  EXPECT_EQ(qx["out_of_range"], 100);  // 5.00..14.95 against the reference's 0..9.95
  EXPECT_DOUBLE_EQ(qx["out_of_range_rate"].get<double>(), 0.5);
  EXPECT_TRUE(j["performance"].is_null());
}

TEST_F(DriftCliTest, TextReportHasTheTableTheVerdictAndQuality) {
  Outcome o = Run({"--reference", ref_, "--current", cur_});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.err, "");
  EXPECT_TRUE(o.out.starts_with("column  ")) << o.out;
  for (const char* h : {"kind", "test", "score", "threshold", "drift"}) {
    EXPECT_NE(o.out.find(h), std::string::npos) << h;
  }
  // One line per column; x drifts, y does not.
  auto line_of = [&](const std::string& col) {
    size_t at = o.out.find("\n" + col + " ");
    if (at == std::string::npos) return std::string();
    return o.out.substr(at + 1, o.out.find('\n', at + 1) - at - 1);
  };
  EXPECT_NE(line_of("x").find("DRIFT"), std::string::npos) << o.out;
  EXPECT_NE(line_of("x").find("ks"), std::string::npos) << o.out;
  EXPECT_EQ(line_of("y").find("DRIFT"), std::string::npos) << o.out;
  EXPECT_NE(line_of("c").find("chisquare"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("dataset drift: no (1 of 5 columns drifted, share 0.2, threshold 0.5)"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("quality of the current data: 200 rows, 0 duplicated"), std::string::npos)
      << o.out;
  // The out-of-range values of x are the one quality finding.
  EXPECT_NE(o.out.find("100 (50%)"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("performance"), std::string::npos);
}

TEST_F(DriftCliTest, FailOnDriftExitsThreeOnlyWhenTheDatasetDrifts) {
  // 1 of 5 columns: no dataset drift at the default share 0.5.
  Outcome o = Run({"--reference", ref_, "--current", cur_, "--fail-on-drift"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  // At --drift-share 0.2 it is.
  json j = RunJson({"--reference", ref_, "--current", cur_, "--drift-share", "0.2",
                    "--fail-on-drift"},
                   3);
  EXPECT_TRUE(j["drift"]["dataset_drift"]);
  EXPECT_DOUBLE_EQ(j["drift"]["drift_share_threshold"].get<double>(), 0.2);
  // Without --fail-on-drift the same verdict exits 0.
  o = Run({"--reference", ref_, "--current", cur_, "--drift-share", "0.2"});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_NE(o.out.find("dataset drift: YES"), std::string::npos) << o.out;
}

TEST_F(DriftCliTest, ColumnsTestsAndThresholdsPerColumn) {
  json j = RunJson({"--reference", ref_, "--current", cur_, "--columns", "x,y", "--test",
                    "x=psi", "--threshold", "x=0.2", "--test", "y=wasserstein"});
  const json& d = j["drift"];
  ASSERT_EQ(d["columns"].size(), 2u);
  json x = ColumnOf(d, "x");
  EXPECT_EQ(x["test"], "psi");
  EXPECT_DOUBLE_EQ(x["threshold"].get<double>(), 0.2);
  EXPECT_GT(x["score"].get<double>(), 0.2);
  EXPECT_TRUE(x["drifted"]);
  json y = ColumnOf(d, "y");
  EXPECT_EQ(y["test"], "wasserstein");
  EXPECT_DOUBLE_EQ(y["threshold"].get<double>(), 0.1);
  // The whole column moved by 0.001; the reference's std is sqrt((200^2-1)/12)*0.05.
  EXPECT_NEAR(y["score"].get<double>(), 0.001 / 2.8866, 1e-6);
  EXPECT_FALSE(y["drifted"]);
  EXPECT_EQ(d["drifted_columns"], 1);
  EXPECT_DOUBLE_EQ(d["drift_share"].get<double>(), 0.5);
  EXPECT_TRUE(d["dataset_drift"]);  // 0.5 >= 0.5
}

TEST_F(DriftCliTest, PerformanceOnTheCurrentFile) {
  json j = RunJson({"--reference", ref_, "--current", cur_, "--target", "label", "--prediction",
                    "pred", "--threads", "1"});
  const json& p = j["performance"];
  ASSERT_TRUE(p.is_object()) << j.dump();
  EXPECT_EQ(p["task"], "classification");
  EXPECT_EQ(p["rows"], 200);
  EXPECT_DOUBLE_EQ(p["accuracy"].get<double>(), 0.9);
  EXPECT_DOUBLE_EQ(p["precision"].get<double>(), 0.9);
  EXPECT_DOUBLE_EQ(p["recall"].get<double>(), 0.9);
  EXPECT_DOUBLE_EQ(p["f1"].get<double>(), 0.9);
  EXPECT_TRUE(p["roc_auc"].is_null());  // no --score

  // As a regression the same columns have MAE = share wrong = 0.1.
  j = RunJson({"--reference", ref_, "--current", cur_, "--target", "label", "--prediction", "pred",
               "--task", "regression"});
  EXPECT_EQ(j["performance"]["task"], "regression");
  EXPECT_DOUBLE_EQ(j["performance"]["mae"].get<double>(), 0.1);

  Outcome o = Run({"--reference", ref_, "--current", cur_, "--target", "label", "--prediction",
                   "pred"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("performance on the current data"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("accuracy:      0.9\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("roc_auc:       n/a\n"), std::string::npos) << o.out;
}

TEST_F(DriftCliTest, ScoreColumnGivesRocAucAndLogLoss) {
  // The score separates the classes perfectly (positives 0.6.., negatives ..0.4): AUC 1. Row 3
  // has no score and is left out.
  std::string text = "label,pred,prob\n";
  for (int i = 0; i < 100; ++i) {
    const int label = i % 2;
    char line[64];
    if (i == 3) {
      std::snprintf(line, sizeof(line), "%d,%d,\n", label, label);
    } else {
      std::snprintf(line, sizeof(line), "%d,%d,%.3f\n", label, label,
                    label == 1 ? 0.6 + 0.003 * i : 0.4 - 0.003 * i);
    }
    text += line;
  }
  WriteFile(dir_ + "/scored.csv", text);
  json j = RunJson({"--reference", dir_ + "/scored.csv", "--current", dir_ + "/scored.csv",
                    "--target", "label", "--prediction", "pred", "--score", "prob"});
  const json& p = j["performance"];
  EXPECT_EQ(p["rows"], 99);
  EXPECT_DOUBLE_EQ(p["accuracy"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(p["roc_auc"].get<double>(), 1.0);
  ASSERT_TRUE(p["log_loss"].is_number()) << p.dump();
  EXPECT_GT(p["log_loss"].get<double>(), 0.1);
  EXPECT_LT(p["log_loss"].get<double>(), 1.0);
  EXPECT_FALSE(j["drift"]["dataset_drift"]);  // a file against itself

  ExpectFailure({"--reference", ref_, "--current", cur_, "--target", "label", "--prediction",
                 "pred", "--score", "c"},
                1, {"--score: column 'c' is not numeric"});
  ExpectFailure({"--reference", ref_, "--current", cur_, "--score", "x"}, 2,
                {"--score needs --target and --prediction"});
}

TEST_F(DriftCliTest, JsonLinesCurrentIsReadWithTheReferenceKinds) {
  WriteFile(dir_ + "/r.csv", "v,c\n1,a\n2,b\n3,a\n4,b\n5,a\n6,b\n7,a\n");
  WriteFile(dir_ + "/c.jsonl",
            "{\"v\": 1, \"c\": \"a\"}\n{\"v\": \"oops\", \"c\": \"b\"}\n{\"v\": 9, \"c\": \"z\"}\n"
            "{\"c\": \"a\"}\n");
  json j = RunJson({"--reference", dir_ + "/r.csv", "--current", dir_ + "/c.jsonl"});
  json v = ColumnOf(j["quality"], "v");
  EXPECT_EQ(v["type_violations"], 1);   // "oops" in a numeric column
  EXPECT_EQ(v["out_of_range"], 1);      // 9 > 7
  json c = ColumnOf(j["quality"], "c");
  EXPECT_EQ(c["new_categories"], 1);    // "z"
  EXPECT_EQ(ColumnOf(j["drift"], "v")["kind"], "numeric");
  EXPECT_EQ(ColumnOf(j["drift"], "v")["current_count"], 2);  // missing and "oops" dropped
}

TEST_F(DriftCliTest, DataErrorsExitOneWithTheMessage) {
  ExpectFailure({"--reference", dir_ + "/nope.csv", "--current", cur_}, 1,
                {"RESOURCE_DOES_NOT_EXIST", "nope.csv"});
  ExpectFailure({"--reference", ref_, "--current", dir_ + "/missing.jsonl"}, 1,
                {"RESOURCE_DOES_NOT_EXIST", "missing.jsonl"});
  WriteFile(dir_ + "/bad.csv", "x,y\n1,2\n3,4,5\n");
  ExpectFailure({"--reference", ref_, "--current", dir_ + "/bad.csv"}, 1,
                {"INVALID_PARAMETER_VALUE", "bad.csv:3"});
  ExpectFailure({"--reference", ref_, "--current", cur_, "--columns", "x,nope"}, 1,
                {"INVALID_PARAMETER_VALUE", "nope"});
  ExpectFailure({"--reference", ref_, "--current", cur_, "--test", "nope=psi"}, 1,
                {"--test: no column 'nope' in the reference"});
  ExpectFailure({"--reference", ref_, "--current", cur_, "--threshold", "zz=0.3"}, 1,
                {"--threshold: no column 'zz'"});
  ExpectFailure({"--reference", ref_, "--current", cur_, "--target", "label", "--prediction",
                 "guess"},
                1, {"--prediction: no column 'guess' in the current data"});
  WriteFile(dir_ + "/data.parquet", "x");
  ExpectFailure({"--reference", dir_ + "/data.parquet", "--current", cur_}, 1,
                {"INVALID_PARAMETER_VALUE", ".csv"});
}

TEST_F(DriftCliTest, UsageErrorsExitTwo) {
  Outcome o = Run({"--reference", ref_});  // --current is required
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("--current"), std::string::npos) << o.err;
  o = Run({"--reference", ref_, "--current", cur_, "--bogus"});
  EXPECT_EQ(o.exit_code, 2);
  ExpectFailure({"--reference", ref_, "--current", cur_, "--test", "x"}, 2,
                {"--test 'x' is not COLUMN=TEST"});
  ExpectFailure({"--reference", ref_, "--current", cur_, "--test", "x=t-test"}, 2, {"--test"});
  ExpectFailure({"--reference", ref_, "--current", cur_, "--threshold", "x=high"}, 2,
                {"'high' is not a number"});
  ExpectFailure({"--reference", ref_, "--current", cur_, "--target", "label"}, 2,
                {"--target and --prediction go together"});
  ExpectFailure({"--reference", ref_, "--current", cur_, "--task", "ranking", "--target", "label",
                 "--prediction", "pred"},
                2, {"--task"});
  ExpectFailure({"--reference", ref_, "--current", cur_, "--drift-share", "0"}, 2,
                {"--drift-share must be in (0, 1]"});
  ExpectFailure({"--reference", ref_, "--current", cur_, "--threads", "-1"}, 2, {"--threads"});
}

}  // namespace
}  // namespace cairn::cli
