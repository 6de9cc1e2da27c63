#pragma once
// TreeEnsemble: a flat, read-only copy of an XGBoost gbtree model that
// predicts by walking the trees itself, bit for bit as libxgboost 1.7's CPU
// predictor does, without the C API's per-call JSON parsing (see
// docs/serving.md, issue 4's throughput goal).
//
// FromUbjson(bytes) takes the UBJSON model that libxgboost itself saves
// (XGBoosterSaveModelToBuffer, {"format":"ubj"}): split thresholds and leaf
// values are stored there as float32, so the walker uses exactly the numbers
// XGBoost predicts with. Supported: booster "gbtree" with numerical splits
// only, a scalar base_score, and the objectives
//   identity link: reg:squarederror, reg:linear, reg:squaredlogerror,
//                  reg:pseudohubererror, reg:absoluteerror, binary:logitraw
//   sigmoid:       binary:logistic, reg:logistic
//   exp:           count:poisson
//   softmax:       multi:softprob (num_class probabilities per row)
//   argmax:        multi:softmax (the class index per row, as a float)
// A base_score that is not a scalar (xgboost >= 3.1's per-class vector) is
// unsupported unless the caller passes the per-group margins. Anything else
// is kUnimplemented with the reason (the caller keeps the C-API
// path); a model that is malformed (a child or feature index out of range,
// arrays of different lengths) is kInvalidArgument.
//
// Semantics (checked against the C API on random rows in
// xgboost_runtime_test.cc): inputs are float32, NaN is missing and takes the
// node's default direction, otherwise `x < threshold` goes left. Each output
// group's margin starts at the base margin (base_score mapped through the
// objective's inverse link, in float) and adds its trees' leaf values in
// float, in model order; then the objective's transform, in float.
//
// Ownership/thread safety: immutable after construction; Predict is const,
// allocates nothing, and may run on any number of threads at once.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace cairn::model {

class TreeEnsemble {
 public:
  enum class Transform { kIdentity, kSigmoid, kExp, kSoftmax, kArgmax };

  // Most classes multi:softmax may have: its margins live on the stack.
  static constexpr size_t kMaxArgmaxClasses = 256;

  // `base_margins`, when not empty, gives each output group's starting
  // margin (what XGBoost's base_margin input does; one per group, else
  // kInvalidArgument) instead of the one derived from base_score.
  static Result<TreeEnsemble> FromUbjson(std::string_view ubjson,
                                         std::span<const float> base_margins = {});

  // Writes num_outputs() values per row to `out` (n_rows * num_outputs()
  // floats). `rows` is row-major with num_features() columns. Preconditions
  // (unchecked): both pointers valid for those sizes.
  void Predict(const float* rows, size_t n_rows, float* out) const;

  size_t num_features() const { return num_features_; }
  // 1, or the number of classes for multi:softprob.
  size_t num_outputs() const { return transform_ == Transform::kArgmax ? 1 : num_groups_; }
  size_t num_groups() const { return num_groups_; }
  size_t num_trees() const { return tree_roots_.size(); }
  size_t num_nodes() const { return nodes_.size(); }
  Transform transform() const { return transform_; }
  // Each output group's starting margin.
  const std::vector<float>& base_margins() const { return base_margins_; }
  const std::string& objective() const { return objective_; }
  // The distinct split thresholds of all trees, ascending (for probing).
  std::vector<float> SplitThresholds() const;

 private:
  // One node of the flat array. A leaf has left == -1 and its value in
  // `value`; otherwise `value` is the split threshold and children are
  // absolute indices into nodes_.
  struct Node {
    int32_t left;
    int32_t right;
    uint32_t feature;
    float value;
    bool default_left;
  };

  TreeEnsemble() = default;

  float Walk(uint32_t root, const float* row) const;
  void PredictRow(const float* row, float* margins) const;

  std::vector<Node> nodes_;
  std::vector<uint32_t> tree_roots_;
  std::vector<uint32_t> tree_groups_;
  size_t num_features_ = 0;
  size_t num_groups_ = 1;
  std::vector<float> base_margins_;
  Transform transform_ = Transform::kIdentity;
  std::string objective_;
};

}  // namespace cairn::model
