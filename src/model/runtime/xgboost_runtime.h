#pragma once
// The native XGBoost runtime: loads the `xgboost` flavor of an MLflow model
// folder (as written by mlflow.xgboost.log_model / save_model) and predicts
// through XGBoost's C API (libxgboost 1.7.4), with no Python on the path.
//
// Load(folder) reads <folder>/MLmodel with model::LoadModelPackage, then the
// flavor's data file (model.ubj, model.json or model.xgb). Models saved by
// Python xgboost 1.x-3.x load. XGBoost >= 3.1 writes the intercept as a
// vector ("base_score": "[4.75E-1]", one value per class for multi-class),
// which libxgboost 1.7 silently misreads (it falls back to 0.5). Load rewrites
// such a model before handing it to libxgboost: a vector whose values are all
// equal becomes the scalar it stands for; distinct per-class intercepts are
// applied at predict time as XGBoost's `base_margin` (the margin the trees
// add to). Predictions then equal Python xgboost's bit for bit (tested).
//
// Predict(rows, n_rows, n_cols): `rows` is a dense row-major float32 matrix,
// NaN meaning "missing". The result is row-major, num_outputs() values per
// row: the probability of the positive class for binary:logistic, the value
// for regression, one probability per class for multi:softprob (the class
// index for multi:softmax). It uses XGBoost's in-place prediction
// (XGBoosterPredictFromDense), so no DMatrix is built per call.
//
// Native tree walking: for gbtree models with numerical splits (see
// tree_ensemble.h for the objectives; per-class intercepts become the
// walker's per-group starting margins), Load also builds a TreeEnsemble from
// the model libxgboost loaded (saved back as UBJSON rather than JSON, so its
// float32 thresholds and leaves arrive exact, not through decimal text),
// checks it against the C API on probe rows (every threshold, the float just
// below it, NaN), and Predict then walks the trees itself: the same values
// bit for bit, without the C API's per-call JSON parsing (~5-10 us per call
// saved). Other models (dart, categorical splits, other objectives) keep the
// C-API path; native() tells which path is used, native_fallback_reason()
// why not.
//
// Ownership: XgboostModel owns its booster; it is neither copyable nor
// movable (callers hold it by unique_ptr, or shared_ptr while requests are
// in flight).
//
// Thread safety: Predict and the accessors are const and may be called from
// any number of threads at once (XGBoost's prediction is thread safe since
// 1.4; each calling thread gets its own output buffer, which Predict copies
// before returning). XGBoost keeps that buffer, sized to the thread's last
// call, in thread-local storage until the thread exits, even after the model
// is destroyed: serving threads should be long-lived pool threads.
//
// Errors:
//  - Load: whatever LoadModelPackage returns (kNotFound without MLmodel,
//    kInvalidArgument for a bad MLmodel or a missing file); kInvalidArgument
//    when the model has no xgboost flavor, or its model file is not a model
//    XGBoost can read ("model file 'model.ubj' is not a valid XGBoost model:
//    ..."); kInternal when the file cannot be read.
//  - Predict: kInvalidArgument when n_cols differs from num_features()
//    ("expected 10 features, got 9") or `rows` is null with n_rows > 0;
//    kInternal when XGBoost fails (its message, from XGBGetLastError).
// No exception escapes.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/mlmodel.h"

namespace cairn::model {

struct XgboostOptions {
  // Threads XGBoost may use inside one Predict call (its `nthread`); 0 keeps
  // XGBoost's default (OpenMP, all cores). 1 by default: a single-row predict
  // takes ~20 us either way on an idle 2-core machine, but with the cores busy
  // (other processes) XGBoost's default took ~550 us against ~30 us with one
  // thread (OpenMP teams waiting for descheduled threads); and a server gets
  // its parallelism from concurrent calls. Raise it only for large batches.
  int num_threads = 1;
  // Walk the trees natively when the model allows it (see above); false
  // forces the C-API path.
  bool native_trees = true;
};

class TreeEnsemble;

class XgboostModel {
 public:
  static Result<std::unique_ptr<XgboostModel>> Load(const std::string& model_folder,
                                                    const XgboostOptions& options = {});
  ~XgboostModel();
  XgboostModel(const XgboostModel&) = delete;
  XgboostModel& operator=(const XgboostModel&) = delete;

  Result<std::vector<float>> Predict(const float* rows, size_t n_rows, size_t n_cols) const;
  // Predict through libxgboost's C API even when the native walker is used
  // (for tests and benchmarks that compare the two). Same contract.
  Result<std::vector<float>> PredictWithXgboost(const float* rows, size_t n_rows,
                                                size_t n_cols) const;

  // True when Predict walks the trees natively.
  bool native() const { return ensemble_ != nullptr; }
  // Why the C-API path is used (empty when native()).
  const std::string& native_fallback_reason() const { return native_fallback_reason_; }
  // The native walker (null when !native()); owned by this model.
  const TreeEnsemble* tree_ensemble() const { return ensemble_.get(); }

  // Number of input columns the model was trained on.
  size_t num_features() const { return num_features_; }
  // Values Predict returns per row (1, or the number of classes).
  size_t num_outputs() const { return num_outputs_; }
  // Feature names saved with the model (from a pandas DataFrame); may be empty.
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  const ModelManifest& manifest() const { return manifest_; }

 private:
  XgboostModel() = default;
  // The native walker for this booster, or why it cannot be used.
  Result<std::unique_ptr<const TreeEnsemble>> BuildEnsemble() const;

  void* booster_ = nullptr;  // BoosterHandle; kept opaque so callers need no XGBoost header
  ModelManifest manifest_;
  size_t num_features_ = 0;
  size_t num_outputs_ = 1;
  std::vector<std::string> feature_names_;
  // Per-output intercepts applied as base_margin; empty when the model's
  // intercept is a scalar (the usual case, handled inside XGBoost).
  std::vector<float> intercepts_;
  std::unique_ptr<const TreeEnsemble> ensemble_;  // null: the C-API path
  std::string native_fallback_reason_;
};

}  // namespace cairn::model
