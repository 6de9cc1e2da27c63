#pragma once
// The XGBoost Runtime: model::XgboostModel (libxgboost's C API, no Python)
// behind the serving::Runtime interface.
//
// Input → dense float32 matrix [rows, num_features]:
//   - kColumns: one column per feature. Columns are taken in the order of the
//     model's saved feature names when it has them (matched by name;
//     a missing one is kInvalidArgument "missing column 'f3'"), else in the
//     input's order. Each column must be [rows] (or [rows,1]) numeric or
//     BOOL; values are converted to float; NaN means missing (XGBoost's rule).
//     BYTES columns are kInvalidArgument naming the column.
//   - kTensors: exactly one numeric tensor [rows, num_features] (a [rows]
//     tensor when the model has one feature).
//   - The number of columns must equal num_features():
//     "expected 10 features, got 9".
// Output (as mlflow.pyfunc of an xgboost model answers):
//   - model_class ending in "XGBClassifier": the class label per row,
//     INT64 [rows] (argmax of the class probabilities; p > 0.5 for binary);
//   - anything else (Booster, XGBRegressor, XGBRanker): the raw prediction,
//     FP32 [rows] (one output) or [rows, k].
//   One tensor, named by the signature's single output name when the
//   signature has exactly one named output, else "predict"; frame = false.
//   For a classifier, `with_probabilities` adds a second output
//   "predict_proba" FP32 [rows, k] (OIP only; off by default).
//
// Thread safety: Predict is safe from any number of threads (XgboostModel's
// contract); each call allocates its own matrix.

#include <memory>
#include <string>

#include "core/error.h"
#include "model/mlmodel.h"
#include "model/runtime/xgboost_runtime.h"
#include "serving/runtime.h"

namespace cairn::serving {

struct XgboostRuntimeOptions {
  model::XgboostOptions xgboost;  // nthread per Predict
  // A classifier also answers "predict_proba" (see above).
  bool with_probabilities = false;
};

// Loads <folder> (an MLflow model folder with an xgboost flavor). Errors as
// model::XgboostModel::Load.
Result<std::unique_ptr<Runtime>> LoadXgboostRuntime(const std::string& folder,
                                                    const XgboostRuntimeOptions& options = {});

}  // namespace cairn::serving
