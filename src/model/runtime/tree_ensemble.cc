#include "model/runtime/tree_ensemble.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <utility>

namespace cairn::model {
namespace {

using Json = nlohmann::json;

std::unexpected<Error> Unsupported(std::string reason) {
  return MakeError(ErrorCode::kUnimplemented, std::move(reason));
}

// A member that XGBoost writes either as a number or as a decimal string
// (its parameter structs are strings: "num_class": "3").
Result<int64_t> IntField(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return InvalidArgument(std::string("model lacks '") + key + "'");
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const std::string& text = it->get_ref<const std::string&>();
    char* end = nullptr;
    long long value = std::strtoll(text.c_str(), &end, 10);
    if (!text.empty() && end == text.c_str() + text.size()) return value;
  }
  return InvalidArgument(std::string("model field '") + key + "' is not an integer");
}

const Json* Member(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

struct ObjectiveInfo {
  const char* name;
  TreeEnsemble::Transform transform;
};

// The objective's transform; the base margin follows from the transform
// (identity and softmax keep base_score, sigmoid takes its logit, exp its
// log; binary:logitraw keeps it, as libxgboost 1.7 does).
constexpr ObjectiveInfo kObjectives[] = {
    {"reg:squarederror", TreeEnsemble::Transform::kIdentity},
    {"reg:linear", TreeEnsemble::Transform::kIdentity},
    {"reg:squaredlogerror", TreeEnsemble::Transform::kIdentity},
    {"reg:pseudohubererror", TreeEnsemble::Transform::kIdentity},
    {"reg:absoluteerror", TreeEnsemble::Transform::kIdentity},
    {"binary:logitraw", TreeEnsemble::Transform::kIdentity},
    {"binary:logistic", TreeEnsemble::Transform::kSigmoid},
    {"reg:logistic", TreeEnsemble::Transform::kSigmoid},
    {"count:poisson", TreeEnsemble::Transform::kExp},
    {"multi:softprob", TreeEnsemble::Transform::kSoftmax},
    {"multi:softmax", TreeEnsemble::Transform::kArgmax},
};

float Logit(float p) { return -std::log(1.0f / p - 1.0f); }

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

Result<TreeEnsemble> TreeEnsemble::FromUbjson(std::string_view ubjson,
                                              std::span<const float> base_margins) {
  Json model;
  try {
    model = Json::from_ubjson(ubjson);
  } catch (const Json::exception& e) {
    return InvalidArgument(std::string("model is not valid UBJSON: ") + e.what());
  }
  const Json* learner = Member(model, "learner");
  if (learner == nullptr) return InvalidArgument("model lacks 'learner'");
  const Json* booster = Member(*learner, "gradient_booster");
  const Json* param = Member(*learner, "learner_model_param");
  const Json* objective = Member(*learner, "objective");
  if (booster == nullptr || param == nullptr || objective == nullptr) {
    return InvalidArgument("model lacks gradient_booster, learner_model_param or objective");
  }
  const Json* booster_name = Member(*booster, "name");
  if (booster_name == nullptr || !booster_name->is_string()) {
    return InvalidArgument("model lacks gradient_booster.name");
  }
  if (*booster_name != "gbtree") {
    return Unsupported("booster '" + booster_name->get<std::string>() + "' is not gbtree");
  }

  TreeEnsemble ensemble;
  const Json* objective_name = Member(*objective, "name");
  if (objective_name == nullptr || !objective_name->is_string()) {
    return InvalidArgument("model lacks objective.name");
  }
  ensemble.objective_ = objective_name->get<std::string>();
  bool known = false;
  for (const ObjectiveInfo& info : kObjectives) {
    if (ensemble.objective_ == info.name) {
      ensemble.transform_ = info.transform;
      known = true;
    }
  }
  if (!known) return Unsupported("objective '" + ensemble.objective_ + "' is not supported");

  try {
    CAIRN_ASSIGN_OR_RETURN(int64_t num_feature, IntField(*param, "num_feature"));
    CAIRN_ASSIGN_OR_RETURN(int64_t num_class, IntField(*param, "num_class"));
    if (num_feature <= 0) return InvalidArgument("model declares no features");
    if (num_class < 0) return InvalidArgument("model declares a negative num_class");
    if (auto targets = IntField(*param, "num_target"); targets && *targets > 1) {
      return Unsupported("multi-target models are not supported");
    }
    ensemble.num_features_ = static_cast<size_t>(num_feature);
    const bool multiclass =
        ensemble.transform_ == Transform::kSoftmax || ensemble.transform_ == Transform::kArgmax;
    ensemble.num_groups_ = num_class > 1 ? static_cast<size_t>(num_class) : 1;
    if (multiclass != (num_class > 1)) {
      return Unsupported("objective '" + ensemble.objective_ + "' with num_class " +
                         std::to_string(num_class));
    }
    if (ensemble.transform_ == Transform::kArgmax && ensemble.num_groups_ > kMaxArgmaxClasses) {
      return Unsupported("multi:softmax with more than 256 classes");
    }

    if (!base_margins.empty()) {
      if (base_margins.size() != ensemble.num_groups_) {
        return InvalidArgument(std::to_string(base_margins.size()) + " base margins for " +
                               std::to_string(ensemble.num_groups_) + " output groups");
      }
      ensemble.base_margins_.assign(base_margins.begin(), base_margins.end());
    } else {
      const Json* base_score = Member(*param, "base_score");
      if (base_score == nullptr || !base_score->is_string()) {
        return InvalidArgument("model lacks learner_model_param.base_score");
      }
      const std::string& base_text = base_score->get_ref<const std::string&>();
      char* end = nullptr;
      float base = std::strtof(base_text.c_str(), &end);
      if (base_text.empty() || end != base_text.c_str() + base_text.size()) {
        return Unsupported("base_score '" + base_text + "' is not a scalar");
      }
      float margin = base;
      if (ensemble.transform_ == Transform::kSigmoid) margin = Logit(base);
      if (ensemble.transform_ == Transform::kExp) margin = std::log(base);
      ensemble.base_margins_.assign(ensemble.num_groups_, margin);
    }

    const Json* gbtree = Member(*booster, "model");
    const Json* trees = gbtree == nullptr ? nullptr : Member(*gbtree, "trees");
    const Json* tree_info = gbtree == nullptr ? nullptr : Member(*gbtree, "tree_info");
    if (trees == nullptr || !trees->is_array() || tree_info == nullptr || !tree_info->is_array() ||
        trees->size() != tree_info->size()) {
      return InvalidArgument("model lacks trees and tree_info of the same length");
    }
    ensemble.tree_roots_.reserve(trees->size());
    ensemble.tree_groups_.reserve(trees->size());
    for (size_t t = 0; t < trees->size(); ++t) {
      const Json& tree = (*trees)[t];
      const int64_t group = (*tree_info)[t].get<int64_t>();
      if (group < 0 || static_cast<size_t>(group) >= ensemble.num_groups_) {
        return InvalidArgument("tree " + std::to_string(t) + " has output group " +
                               std::to_string(group));
      }
      if (const Json* tree_param = Member(tree, "tree_param")) {
        if (auto leaf = IntField(*tree_param, "size_leaf_vector"); leaf && *leaf > 1) {
          return Unsupported("vector leaves are not supported");
        }
      }
      const Json* left = Member(tree, "left_children");
      const Json* right = Member(tree, "right_children");
      const Json* feature = Member(tree, "split_indices");
      const Json* condition = Member(tree, "split_conditions");
      const Json* default_left = Member(tree, "default_left");
      if (left == nullptr || right == nullptr || feature == nullptr || condition == nullptr ||
          default_left == nullptr) {
        return InvalidArgument("tree " + std::to_string(t) + " lacks node arrays");
      }
      const size_t n = left->size();
      if (n == 0 || right->size() != n || feature->size() != n || condition->size() != n ||
          default_left->size() != n) {
        return InvalidArgument("tree " + std::to_string(t) + " has node arrays of unequal size");
      }
      if (const Json* split_type = Member(tree, "split_type")) {
        for (const Json& type : *split_type) {
          if (type.get<int64_t>() != 0) return Unsupported("categorical splits are not supported");
        }
      }
      const size_t base_index = ensemble.nodes_.size();
      if (base_index + n > static_cast<size_t>(INT32_MAX)) {
        return Unsupported("model has too many nodes");
      }
      ensemble.tree_roots_.push_back(static_cast<uint32_t>(base_index));
      ensemble.tree_groups_.push_back(static_cast<uint32_t>(group));
      for (size_t i = 0; i < n; ++i) {
        const int64_t l = (*left)[i].get<int64_t>();
        const int64_t r = (*right)[i].get<int64_t>();
        Node node{};
        node.value = static_cast<float>((*condition)[i].get<double>());
        if (l == -1) {
          node.left = -1;
          node.right = -1;
        } else {
          const int64_t f = (*feature)[i].get<int64_t>();
          if (l <= 0 || r <= 0 || static_cast<size_t>(l) >= n || static_cast<size_t>(r) >= n) {
            return InvalidArgument("tree " + std::to_string(t) + " node " + std::to_string(i) +
                                   " has a child out of range");
          }
          if (f < 0 || static_cast<size_t>(f) >= ensemble.num_features_) {
            return InvalidArgument("tree " + std::to_string(t) + " node " + std::to_string(i) +
                                   " splits on feature " + std::to_string(f) + " of " +
                                   std::to_string(ensemble.num_features_));
          }
          // XGBoost's children always follow their parent, so walks end.
          if (static_cast<size_t>(l) <= i || static_cast<size_t>(r) <= i) {
            return InvalidArgument("tree " + std::to_string(t) + " node " + std::to_string(i) +
                                   " has a child before it");
          }
          node.left = static_cast<int32_t>(base_index + l);
          node.right = static_cast<int32_t>(base_index + r);
          node.feature = static_cast<uint32_t>(f);
          const Json& dl = (*default_left)[i];
          node.default_left = dl.is_boolean() ? dl.get<bool>() : dl.get<int64_t>() != 0;
        }
        ensemble.nodes_.push_back(node);
      }
    }
  } catch (const Json::exception& e) {
    return InvalidArgument(std::string("model has an unexpected shape: ") + e.what());
  }
  return ensemble;
}

std::vector<float> TreeEnsemble::SplitThresholds() const {
  std::vector<float> thresholds;
  for (const Node& node : nodes_) {
    if (node.left >= 0) thresholds.push_back(node.value);
  }
  std::sort(thresholds.begin(), thresholds.end());
  thresholds.erase(std::unique(thresholds.begin(), thresholds.end()), thresholds.end());
  return thresholds;
}

inline float TreeEnsemble::Walk(uint32_t root, const float* row) const {
  const Node* nodes = nodes_.data();
  const Node* node = nodes + root;
  while (node->left >= 0) {
    const float x = row[node->feature];
    int32_t next;
    if (std::isnan(x)) {
      next = node->default_left ? node->left : node->right;
    } else {
      next = x < node->value ? node->left : node->right;
    }
    node = nodes + next;
  }
  return node->value;
}

inline void TreeEnsemble::PredictRow(const float* row, float* margins) const {
  for (size_t g = 0; g < num_groups_; ++g) margins[g] = base_margins_[g];
  const size_t n_trees = tree_roots_.size();
  for (size_t t = 0; t < n_trees; ++t) margins[tree_groups_[t]] += Walk(tree_roots_[t], row);
}

void TreeEnsemble::Predict(const float* rows, size_t n_rows, float* out) const {
  for (size_t r = 0; r < n_rows; ++r) {
    const float* row = rows + r * num_features_;
    switch (transform_) {
      case Transform::kIdentity:
        PredictRow(row, out + r);
        break;
      case Transform::kSigmoid:
        PredictRow(row, out + r);
        out[r] = Sigmoid(out[r]);
        break;
      case Transform::kExp:
        PredictRow(row, out + r);
        out[r] = std::exp(out[r]);
        break;
      case Transform::kSoftmax: {
        float* margins = out + r * num_groups_;
        PredictRow(row, margins);
        float max = margins[0];
        for (size_t g = 1; g < num_groups_; ++g) max = std::max(margins[g], max);
        double sum = 0.0;
        for (size_t g = 0; g < num_groups_; ++g) {
          margins[g] = std::exp(margins[g] - max);
          sum += margins[g];
        }
        for (size_t g = 0; g < num_groups_; ++g) margins[g] /= static_cast<float>(sum);
        break;
      }
      case Transform::kArgmax: {
        std::array<float, kMaxArgmaxClasses> margins;
        PredictRow(row, margins.data());
        size_t best = 0;
        for (size_t g = 1; g < num_groups_; ++g) {
          if (margins[g] > margins[best]) best = g;
        }
        out[r] = static_cast<float>(best);
        break;
      }
    }
  }
}

}  // namespace cairn::model
