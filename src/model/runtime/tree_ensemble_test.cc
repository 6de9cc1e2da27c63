#include "model/runtime/tree_ensemble.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cairn::model {
namespace {

using Json = nlohmann::json;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// A one-split tree on `feature`: x < threshold -> `left`, else `right`;
// missing goes left when `default_left`.
Json Stump(int feature, float threshold, float left, float right, bool default_left) {
  return Json{{"left_children", {1, -1, -1}},
              {"right_children", {2, -1, -1}},
              {"split_indices", {feature, 0, 0}},
              {"split_conditions", {threshold, left, right}},
              {"default_left", {default_left ? 1 : 0, 0, 0}},
              {"split_type", {0, 0, 0}},
              {"tree_param", {{"num_nodes", "3"}, {"size_leaf_vector", "1"}}}};
}

// The shape of a model libxgboost 1.7 saves, encoded as UBJSON.
std::string Model(const std::string& objective, const std::vector<Json>& trees,
                  const std::vector<int>& tree_info, int num_class = 0,
                  const std::string& base_score = "5E-1", const std::string& booster = "gbtree",
                  int num_feature = 2) {
  Json model = {{"learner",
                 {{"learner_model_param",
                   {{"base_score", base_score},
                    {"num_class", std::to_string(num_class)},
                    {"num_feature", std::to_string(num_feature)},
                    {"num_target", "1"}}},
                  {"objective", {{"name", objective}}},
                  {"gradient_booster",
                   {{"name", booster}, {"model", {{"trees", trees}, {"tree_info", tree_info}}}}}}},
                {"version", {1, 7, 4}}};
  std::vector<uint8_t> bytes = Json::to_ubjson(model);
  return std::string(bytes.begin(), bytes.end());
}

TreeEnsemble LoadOrDie(const std::string& ubjson) {
  auto ensemble = TreeEnsemble::FromUbjson(ubjson);
  EXPECT_TRUE(ensemble.has_value()) << ensemble.error().ToString();
  if (!ensemble) std::abort();
  return std::move(*ensemble);
}

float PredictOne(const TreeEnsemble& ensemble, std::vector<float> row) {
  float out = -1;
  ensemble.Predict(row.data(), 1, &out);
  return out;
}

TEST(TreeEnsembleTest, LessThanGoesLeftEqualGoesRightMissingTakesTheDefault) {
  TreeEnsemble left_default =
      LoadOrDie(Model("reg:squarederror", {Stump(1, 0.25f, -1.5f, 2.0f, true)}, {0}));
  EXPECT_EQ(left_default.num_features(), 2u);
  EXPECT_EQ(left_default.num_trees(), 1u);
  EXPECT_EQ(left_default.num_nodes(), 3u);
  EXPECT_EQ(PredictOne(left_default, {9.0f, 0.2499f}), 0.5f - 1.5f);
  EXPECT_EQ(PredictOne(left_default, {9.0f, 0.25f}), 0.5f + 2.0f);
  EXPECT_EQ(PredictOne(left_default, {9.0f, kNaN}), 0.5f - 1.5f);
  EXPECT_EQ(PredictOne(left_default, {kNaN, -100.0f}), 0.5f - 1.5f);  // only feature 1 counts

  TreeEnsemble right_default =
      LoadOrDie(Model("reg:squarederror", {Stump(1, 0.25f, -1.5f, 2.0f, false)}, {0}));
  EXPECT_EQ(PredictOne(right_default, {9.0f, kNaN}), 0.5f + 2.0f);
  EXPECT_EQ(PredictOne(right_default, {9.0f, -1.0f}), 0.5f - 1.5f);
}

TEST(TreeEnsembleTest, SigmoidObjectivesStartFromTheLogitOfBaseScore) {
  TreeEnsemble ensemble =
      LoadOrDie(Model("binary:logistic", {Stump(0, 0.0f, -0.75f, 0.5f, true)}, {0}, 0, "2.5E-1"));
  EXPECT_EQ(ensemble.transform(), TreeEnsemble::Transform::kSigmoid);
  const float margin = -std::log(1.0f / 0.25f - 1.0f);
  EXPECT_EQ(ensemble.base_margins(), std::vector<float>{margin});
  EXPECT_EQ(PredictOne(ensemble, {1.0f, 0.0f}), 1.0f / (1.0f + std::exp(-(margin + 0.5f))));
  EXPECT_LT(PredictOne(ensemble, {-1.0f, 0.0f}), 0.25f);
}

TEST(TreeEnsembleTest, PoissonStartsFromTheLogAndExponentiates) {
  TreeEnsemble ensemble =
      LoadOrDie(Model("count:poisson", {Stump(0, 0.0f, -0.5f, 0.5f, true)}, {0}, 0, "2E0"));
  EXPECT_EQ(ensemble.base_margins(), std::vector<float>{std::log(2.0f)});
  EXPECT_EQ(PredictOne(ensemble, {1.0f, 0.0f}), std::exp(std::log(2.0f) + 0.5f));
}

TEST(TreeEnsembleTest, TreesAddToTheirOutputGroupInModelOrder) {
  // Groups 0, 1, 2, then group 0 again.
  std::vector<Json> trees = {Stump(0, 0.0f, 1.0f, -1.0f, true), Stump(0, 0.0f, 0.0f, 0.0f, true),
                             Stump(1, 0.0f, 0.5f, 0.25f, true), Stump(1, 0.0f, 0.125f, 2.0f, true)};
  TreeEnsemble softprob = LoadOrDie(Model("multi:softprob", trees, {0, 1, 2, 0}, 3));
  ASSERT_EQ(softprob.num_outputs(), 3u);
  std::vector<float> row = {-1.0f, 1.0f};  // margins 0.5 + {1 + 2, 0, 0.25}
  std::vector<float> out(3);
  softprob.Predict(row.data(), 1, out.data());
  std::vector<float> margins = {0.5f + 1.0f + 2.0f, 0.5f, 0.5f + 0.25f};
  float sum = 0;
  for (float m : margins) sum += std::exp(m - margins[0]);
  EXPECT_FLOAT_EQ(out[0], 1.0f / sum);
  EXPECT_FLOAT_EQ(out[2], std::exp(margins[2] - margins[0]) / sum);
  EXPECT_GT(out[0], out[2]);
  EXPECT_GT(out[2], out[1]);

  TreeEnsemble softmax = LoadOrDie(Model("multi:softmax", trees, {0, 1, 2, 0}, 3));
  EXPECT_EQ(softmax.num_outputs(), 1u);
  EXPECT_EQ(softmax.num_groups(), 3u);
  EXPECT_EQ(PredictOne(softmax, {-1.0f, 1.0f}), 0.0f);
  // x0 >= 0: group 0 gets -1 + 2 = 1, group 2 gets 0.25: still class 0;
  // x1 < 0 too: group 0 gets -1 + 0.125, group 2 gets 0.5: class 2.
  EXPECT_EQ(PredictOne(softmax, {1.0f, -1.0f}), 2.0f);
}

TEST(TreeEnsembleTest, SeveralRowsAtOnce) {
  TreeEnsemble ensemble =
      LoadOrDie(Model("reg:squarederror", {Stump(0, 1.0f, 10.0f, 20.0f, false)}, {0}));
  std::vector<float> rows = {0.0f, 0.0f, 1.0f, 0.0f, kNaN, 0.0f};
  std::vector<float> out(3);
  ensemble.Predict(rows.data(), 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{10.5f, 20.5f, 20.5f}));
  EXPECT_EQ(ensemble.SplitThresholds(), std::vector<float>{1.0f});
}

TEST(TreeEnsembleTest, GivenBaseMarginsReplaceBaseScore) {
  std::vector<Json> trees = {Stump(0, 0.0f, 1.0f, 2.0f, true), Stump(0, 0.0f, 0.0f, 0.0f, true)};
  const std::vector<float> margins = {0.25f, -3.0f};
  auto ensemble =
      TreeEnsemble::FromUbjson(Model("multi:softmax", trees, {0, 1}, 2, "[1E0,2E0]"), margins);
  ASSERT_TRUE(ensemble.has_value()) << ensemble.error().ToString();
  EXPECT_EQ(ensemble->base_margins(), margins);
  // Group 1 would win from base_score 2 vs 1, but wins not from -3 vs 0.25.
  EXPECT_EQ(PredictOne(*ensemble, {-1.0f, 0.0f}), 0.0f);
  const std::vector<float> wrong_count = {1.0f, 2.0f, 3.0f};
  auto mismatched = TreeEnsemble::FromUbjson(Model("multi:softmax", trees, {0, 1}, 2), wrong_count);
  ASSERT_FALSE(mismatched.has_value());
  EXPECT_EQ(mismatched.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(mismatched.error().message(), "3 base margins for 2 output groups");
}

void ExpectUnsupported(const std::string& ubjson, const std::string& reason) {
  auto ensemble = TreeEnsemble::FromUbjson(ubjson);
  ASSERT_FALSE(ensemble.has_value()) << reason;
  EXPECT_EQ(ensemble.error().code(), ErrorCode::kUnimplemented);
  EXPECT_EQ(ensemble.error().message(), reason);
}

TEST(TreeEnsembleTest, UnsupportedModelsAreUnimplementedWithTheReason) {
  Json stump = Stump(0, 0.0f, 1.0f, 2.0f, true);
  ExpectUnsupported(Model("reg:squarederror", {stump}, {0}, 0, "5E-1", "dart"),
                    "booster 'dart' is not gbtree");
  ExpectUnsupported(Model("rank:pairwise", {stump}, {0}),
                    "objective 'rank:pairwise' is not supported");
  ExpectUnsupported(Model("reg:squarederror", {stump}, {0}, 0, "[1E0,2E0]"),
                    "base_score '[1E0,2E0]' is not a scalar");
  Json categorical = stump;
  categorical["split_type"] = {1, 0, 0};
  ExpectUnsupported(Model("reg:squarederror", {categorical}, {0}),
                    "categorical splits are not supported");
  Json vector_leaf = stump;
  vector_leaf["tree_param"]["size_leaf_vector"] = "3";
  ExpectUnsupported(Model("reg:squarederror", {vector_leaf}, {0}),
                    "vector leaves are not supported");
  ExpectUnsupported(Model("binary:logistic", {stump}, {0}, 3),
                    "objective 'binary:logistic' with num_class 3");
}

void ExpectMalformed(const std::string& ubjson, const std::string& fragment) {
  auto ensemble = TreeEnsemble::FromUbjson(ubjson);
  ASSERT_FALSE(ensemble.has_value()) << fragment;
  EXPECT_EQ(ensemble.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(ensemble.error().message().find(fragment), std::string::npos)
      << ensemble.error().message();
}

TEST(TreeEnsembleTest, MalformedModelsAreInvalidArgument) {
  ExpectMalformed("not ubjson", "model is not valid UBJSON");
  Json stump = Stump(0, 0.0f, 1.0f, 2.0f, true);
  Json bad_child = stump;
  bad_child["left_children"] = {7, -1, -1};
  ExpectMalformed(Model("reg:squarederror", {bad_child}, {0}), "has a child out of range");
  Json bad_feature = Stump(5, 0.0f, 1.0f, 2.0f, true);
  ExpectMalformed(Model("reg:squarederror", {bad_feature}, {0}), "splits on feature 5 of 2");
  Json short_array = stump;
  short_array["default_left"] = {1};
  ExpectMalformed(Model("reg:squarederror", {short_array}, {0}), "node arrays of unequal size");
  ExpectMalformed(Model("reg:squarederror", {stump}, {1}), "tree 0 has output group 1");
  ExpectMalformed(Model("reg:squarederror", {stump}, {0, 0}), "trees and tree_info");
}

}  // namespace
}  // namespace cairn::model
