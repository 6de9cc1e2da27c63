#include "model/runtime/xgboost_runtime.h"

#include <xgboost/c_api.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "model/runtime/tree_ensemble.h"

namespace cairn::model {
namespace {

// In-place prediction config: normal (transformed) output, all trees, NaN as
// missing. libxgboost 1.7 requires "cache_id" (0 = no prediction cache).
constexpr char kPredictConfig[] =
    R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,)"
    R"("strict_shape":false,"cache_id":0,"missing":NaN})";

// XGBoost's last error on this thread, without the stack trace it appends.
std::string LastXgboostError() {
  std::string message = XGBGetLastError();
  if (size_t pos = message.find("\nStack trace"); pos != std::string::npos) message.resize(pos);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

// numpy's __array_interface__ for a C-contiguous float32 matrix, as XGBoost parses it.
void FormatArrayInterface(const float* data, size_t n_rows, size_t n_cols, char* out,
                          size_t out_size) {
  std::snprintf(out, out_size,
                R"({"data":[%ju,true],"shape":[%zu,%zu],"typestr":"<f4","version":3})",
                static_cast<uintmax_t>(reinterpret_cast<uintptr_t>(data)), n_rows, n_cols);
}

// A model file ready for XGBoosterLoadModelFromBuffer, and the per-output
// intercepts to apply as base_margin (empty when XGBoost handles them).
struct PreparedModel {
  std::string bytes;
  std::vector<float> intercepts;
};

// Rewrites an XGBoost >= 3.1 vector intercept ("[a,b,c]") into what
// libxgboost 1.7 reads. Other models (older JSON/UBJSON, the legacy binary
// format) pass through unchanged. Errors are JSON/UBJSON parse errors.
Result<PreparedModel> PrepareModel(std::string bytes, const std::string& file_name) {
  PreparedModel prepared;
  // JSON and UBJSON models are objects: '{' then, for JSON, a quoted key.
  if (bytes.empty() || bytes[0] != '{') {
    prepared.bytes = std::move(bytes);
    return prepared;
  }
  size_t next = bytes.find_first_not_of(" \t\r\n", 1);
  bool is_json = next != std::string::npos && (bytes[next] == '"' || bytes[next] == '}');
  nlohmann::json model;
  try {
    model = is_json ? nlohmann::json::parse(bytes) : nlohmann::json::from_ubjson(bytes);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument("model file '" + file_name + "' is not a valid XGBoost model: " +
                           (is_json ? "JSON: " : "UBJSON: ") + e.what());
  }
  const nlohmann::json* param = nullptr;
  if (model.is_object() && model.contains("learner") && model["learner"].is_object() &&
      model["learner"].contains("learner_model_param")) {
    param = &model["learner"]["learner_model_param"];
  }
  if (param == nullptr || !param->is_object() || !param->contains("base_score") ||
      !(*param)["base_score"].is_string()) {
    prepared.bytes = std::move(bytes);  // let XGBoost judge it
    return prepared;
  }
  const std::string base_score = (*param)["base_score"].get<std::string>();
  if (base_score.empty() || base_score.front() != '[') {
    prepared.bytes = std::move(bytes);  // a scalar: what 1.7 expects
    return prepared;
  }
  // "[4.75E-1]" or "[2.39E-1,5.30E-1,-7.69E-1]". Keep the first element's
  // text as written so a scalar rewrite does not round the value.
  std::vector<float> values;
  try {
    nlohmann::json parsed = nlohmann::json::parse(base_score);
    for (const auto& v : parsed) values.push_back(v.get<float>());
  } catch (const nlohmann::json::exception&) {
    return InvalidArgument("model file '" + file_name +
                           "': learner_model_param.base_score is not a number list: " + base_score);
  }
  if (values.empty()) {
    return InvalidArgument("model file '" + file_name +
                           "': learner_model_param.base_score is an empty list");
  }
  size_t end = base_score.find_first_of(",]", 1);
  std::string first_text = base_score.substr(1, end - 1);
  bool all_equal = true;
  for (float v : values) all_equal = all_equal && v == values[0];
  nlohmann::json& writable = model["learner"]["learner_model_param"];
  if (all_equal) {
    writable["base_score"] = first_text;
  } else {
    // Distinct per-class intercepts: libxgboost 1.7 has one scalar, so the
    // margins go in as base_margin at predict time, which replaces base_score.
    writable["base_score"] = "5E-1";
    prepared.intercepts = std::move(values);
  }
  try {
    prepared.bytes = model.dump();
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument("model file '" + file_name + "' cannot be re-encoded: " + e.what());
  }
  return prepared;
}

// Owns a DMatrix handle for one call.
class ScopedDMatrix {
 public:
  ScopedDMatrix() = default;
  ~ScopedDMatrix() {
    if (handle_ != nullptr) XGDMatrixFree(handle_);
  }
  ScopedDMatrix(const ScopedDMatrix&) = delete;
  ScopedDMatrix& operator=(const ScopedDMatrix&) = delete;
  DMatrixHandle* out() { return &handle_; }
  DMatrixHandle get() const { return handle_; }

 private:
  DMatrixHandle handle_ = nullptr;
};

}  // namespace

XgboostModel::~XgboostModel() {
  if (booster_ != nullptr) XGBoosterFree(booster_);
}

Result<std::unique_ptr<XgboostModel>> XgboostModel::Load(const std::string& model_folder,
                                                         const XgboostOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(ModelManifest manifest, LoadModelPackage(model_folder));
  if (!manifest.xgboost) {
    std::string names;
    for (const auto& [name, config] : manifest.flavors) names += (names.empty() ? "" : ", ") + name;
    return InvalidArgument("model has no xgboost flavor (flavors: " + names + ")");
  }
  const std::string file_name = manifest.xgboost->data;
  if (file_name.empty()) return InvalidArgument("MLmodel: field 'flavors.xgboost.data' is empty");

  std::string bytes;
  {
    std::ifstream in(model_folder + "/" + file_name, std::ios::binary);
    if (!in) return Internal("cannot open model file '" + file_name + "'");
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) return Internal("cannot read model file '" + file_name + "'");
  }
  if (bytes.empty()) {
    return InvalidArgument("model file '" + file_name + "' is not a valid XGBoost model: empty");
  }
  CAIRN_ASSIGN_OR_RETURN(PreparedModel prepared, PrepareModel(std::move(bytes), file_name));

  std::unique_ptr<XgboostModel> model(new XgboostModel());
  model->manifest_ = std::move(manifest);
  model->intercepts_ = std::move(prepared.intercepts);
  if (XGBoosterCreate(nullptr, 0, &model->booster_) != 0) {
    return Internal("XGBoosterCreate: " + LastXgboostError());
  }
  if (XGBoosterLoadModelFromBuffer(model->booster_, prepared.bytes.data(), prepared.bytes.size()) !=
      0) {
    return InvalidArgument("model file '" + file_name +
                           "' is not a valid XGBoost model: " + LastXgboostError());
  }
  if (options.num_threads > 0) {
    std::string threads = std::to_string(options.num_threads);
    if (XGBoosterSetParam(model->booster_, "nthread", threads.c_str()) != 0) {
      return Internal("XGBoosterSetParam(nthread): " + LastXgboostError());
    }
  }
  bst_ulong num_features = 0;
  if (XGBoosterGetNumFeature(model->booster_, &num_features) != 0) {
    return InvalidArgument("model file '" + file_name + "': " + LastXgboostError());
  }
  if (num_features == 0) {
    return InvalidArgument("model file '" + file_name + "' declares no features");
  }
  model->num_features_ = num_features;
  bst_ulong name_count = 0;
  const char** names = nullptr;
  if (XGBoosterGetStrFeatureInfo(model->booster_, "feature_name", &name_count, &names) == 0) {
    for (bst_ulong i = 0; i < name_count; ++i) model->feature_names_.emplace_back(names[i]);
  }

  // One prediction now: it finishes XGBoost's lazy configuration on this
  // thread (not under concurrent first calls), proves the model predicts,
  // and tells the number of outputs per row.
  std::vector<float> probe(model->num_features_, std::numeric_limits<float>::quiet_NaN());
  model->num_outputs_ = model->intercepts_.empty() ? 1 : model->intercepts_.size();
  auto probed = model->Predict(probe.data(), 1, probe.size());
  if (!probed) {
    return InvalidArgument("model file '" + file_name +
                           "' loads but does not predict: " + probed.error().message());
  }
  if (probed->empty()) return InvalidArgument("model file '" + file_name + "' predicts nothing");
  if (!model->intercepts_.empty() && probed->size() != model->intercepts_.size()) {
    return InvalidArgument("model file '" + file_name + "' has " +
                           std::to_string(model->intercepts_.size()) + " intercepts for " +
                           std::to_string(probed->size()) + " outputs");
  }
  model->num_outputs_ = probed->size();
  if (options.native_trees) {
    auto ensemble = model->BuildEnsemble();
    if (ensemble) {
      model->ensemble_ = std::move(*ensemble);
    } else {
      model->native_fallback_reason_ = ensemble.error().message();
    }
  } else {
    model->native_fallback_reason_ = "disabled by XgboostOptions::native_trees";
  }
  return model;
}

Result<std::unique_ptr<const TreeEnsemble>> XgboostModel::BuildEnsemble() const {
  bst_ulong length = 0;
  const char* buffer = nullptr;
  if (XGBoosterSaveModelToBuffer(booster_, R"({"format":"ubj"})", &length, &buffer) != 0) {
    return Internal("XGBoosterSaveModelToBuffer: " + LastXgboostError());
  }
  CAIRN_ASSIGN_OR_RETURN(TreeEnsemble ensemble,
                         TreeEnsemble::FromUbjson(std::string_view(buffer, length), intercepts_));
  if (ensemble.num_features() != num_features_ || ensemble.num_outputs() != num_outputs_) {
    return FailedPrecondition("tree ensemble shape (" + std::to_string(ensemble.num_features()) +
                              " features, " + std::to_string(ensemble.num_outputs()) +
                              " outputs) differs from XGBoost's");
  }
  // A last guard: the walker must agree with XGBoost on probe rows that take
  // every split both ways and the missing-value way (each threshold, just
  // below it, NaN), before it replaces the C API. Large models are probed on
  // an evenly spaced subset of their thresholds, to bound Load's memory.
  constexpr size_t kMaxProbeThresholds = 1024;
  std::vector<float> thresholds = ensemble.SplitThresholds();
  if (thresholds.size() > kMaxProbeThresholds) {
    std::vector<float> subset(kMaxProbeThresholds);
    for (size_t i = 0; i < kMaxProbeThresholds; ++i) {
      subset[i] = thresholds[i * thresholds.size() / kMaxProbeThresholds];
    }
    thresholds = std::move(subset);
  }
  const size_t n_rows = 2 * thresholds.size() + 1;
  std::vector<float> probe(n_rows * num_features_, std::numeric_limits<float>::quiet_NaN());
  for (size_t i = 0; i < thresholds.size(); ++i) {
    for (size_t f = 0; f < num_features_; ++f) {
      probe[(2 * i) * num_features_ + f] = thresholds[i];
      probe[(2 * i + 1) * num_features_ + f] = std::nextafter(thresholds[i], -INFINITY);
    }
  }
  CAIRN_ASSIGN_OR_RETURN(std::vector<float> expected,
                         PredictWithXgboost(probe.data(), n_rows, num_features_));
  std::vector<float> got(n_rows * num_outputs_);
  ensemble.Predict(probe.data(), n_rows, got.data());
  if (got.size() != expected.size() ||
      std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)) != 0) {
    return Internal("native tree walk differs from XGBoost on probe rows");
  }
  return std::make_unique<const TreeEnsemble>(std::move(ensemble));
}

Result<std::vector<float>> XgboostModel::Predict(const float* rows, size_t n_rows,
                                                 size_t n_cols) const {
  if (ensemble_ == nullptr) return PredictWithXgboost(rows, n_rows, n_cols);
  if (n_cols != num_features_) {
    return InvalidArgument("expected " + std::to_string(num_features_) + " features, got " +
                           std::to_string(n_cols));
  }
  if (n_rows == 0) return std::vector<float>();
  if (rows == nullptr) return InvalidArgument("no input rows");
  std::vector<float> out(n_rows * num_outputs_);
  ensemble_->Predict(rows, n_rows, out.data());
  return out;
}

Result<std::vector<float>> XgboostModel::PredictWithXgboost(const float* rows, size_t n_rows,
                                                            size_t n_cols) const {
  if (n_cols != num_features_) {
    return InvalidArgument("expected " + std::to_string(num_features_) + " features, got " +
                           std::to_string(n_cols));
  }
  if (n_rows == 0) return std::vector<float>();
  if (rows == nullptr) return InvalidArgument("no input rows");

  char values[160];
  FormatArrayInterface(rows, n_rows, n_cols, values, sizeof(values));

  // XGBoost needs a proxy DMatrix to carry the input. Given none, it builds
  // one per call, and building one reads the cgroup CPU quota files (~10 %
  // of a one-row request's CPU): each thread keeps one instead. A model with
  // per-class intercepts sets base_margin on its proxy, so it gets a fresh
  // one per call (never the shared one, which must stay without margin).
  thread_local ScopedDMatrix shared_proxy;
  ScopedDMatrix own_proxy;
  DMatrixHandle proxy = nullptr;
  std::vector<float> base_margin;
  if (intercepts_.empty()) {
    if (shared_proxy.get() == nullptr && XGProxyDMatrixCreate(shared_proxy.out()) != 0) {
      return Internal("XGProxyDMatrixCreate: " + LastXgboostError());
    }
    proxy = shared_proxy.get();
  } else {
    ScopedDMatrix& fresh = own_proxy;
    base_margin.reserve(n_rows * intercepts_.size());
    for (size_t r = 0; r < n_rows; ++r) {
      base_margin.insert(base_margin.end(), intercepts_.begin(), intercepts_.end());
    }
    if (XGProxyDMatrixCreate(fresh.out()) != 0) {
      return Internal("XGProxyDMatrixCreate: " + LastXgboostError());
    }
    char margin[160];
    FormatArrayInterface(base_margin.data(), n_rows, intercepts_.size(), margin, sizeof(margin));
    if (XGDMatrixSetInfoFromInterface(fresh.get(), "base_margin", margin) != 0) {
      return Internal("XGBoost base_margin: " + LastXgboostError());
    }
    proxy = fresh.get();
  }

  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* out = nullptr;
  if (XGBoosterPredictFromDense(booster_, values, kPredictConfig, proxy, &shape, &dims, &out) !=
      0) {
    return Internal("XGBoost predict: " + LastXgboostError());
  }
  size_t total = 1;
  for (bst_ulong i = 0; i < dims; ++i) total *= shape[i];
  if (dims == 0 || total % n_rows != 0) {
    return Internal("XGBoost predict returned " + std::to_string(total) + " values for " +
                    std::to_string(n_rows) + " rows");
  }
  // `out` lives in XGBoost's thread-local buffer until this thread's next call.
  return std::vector<float>(out, out + total);
}

}  // namespace cairn::model
