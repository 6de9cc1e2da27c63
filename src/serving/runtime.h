#pragma once
// The Runtime interface: one loaded model version that predicts a batch.
//
// ModelInput is what every protocol's request becomes after it was checked
// against the model's signature (model_input.h): named tensors that share
// their first dimension, the rows. Two kinds:
//   - kColumns: a table. One tensor per column, shape [rows] (or [rows, k]
//     for an array column), in the signature's column order when the model
//     has a column signature. A python_function model receives it as a
//     pandas DataFrame; XGBoost as a dense float matrix.
//   - kTensors: named tensors (a tensor signature, or an unnamed single
//     tensor, name ""), shape [rows, ...]. python_function receives a numpy
//     array (one unnamed tensor) or a dict of arrays.
//
// ModelOutput mirrors it: tensors sharing the first dimension, the rows of
// the input. `frame` is true when the model answered a table (a pandas
// DataFrame): MLflow's scoring protocol then renders records.
//
// Thread safety: Predict may be called from `instance_count` threads at once
// (the batcher's workers); implementations serialize internally if they must.
// Errors: kInvalidArgument when the input does not fit the model (the message
// names the column or tensor: the client's fault, answered 400); kUnavailable
// when the runtime cannot answer now (a Python worker died; retryable, 503);
// kDeadlineExceeded when the model took too long; kInternal otherwise.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "serving/tensor.h"

namespace cairn::serving {

struct ModelInput {
  enum class Kind { kColumns, kTensors };
  Kind kind = Kind::kColumns;
  std::vector<Tensor> tensors;  // every tensor's shape[0] == rows
  int64_t rows = 0;
  std::string params_json;  // MLflow "params" / OIP "parameters" object ("" if none)
};

struct ModelOutput {
  std::vector<Tensor> tensors;  // every tensor's shape[0] == rows of the input
  bool frame = false;           // the model answered a table (one tensor per column)
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  // "xgboost" or "mlflow_pyfunc" (the OIP metadata's "platform").
  virtual std::string_view platform() const = 0;
  // Predicts every row of `input`. The output's first dimension equals input.rows.
  virtual Result<ModelOutput> Predict(const ModelInput& input) = 0;
  // Releases processes/threads; Predict after Shutdown is kUnavailable.
  // Idempotent; the destructor calls it.
  virtual void Shutdown() {}
};

}  // namespace cairn::serving
