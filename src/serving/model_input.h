#pragma once
// From a protocol's request to a ModelInput the runtime can take, checked
// against the model version's signature; and the batch plumbing (group,
// concatenate, split).
//
// Conformance rules (every failure is kInvalidArgument, answered 400, and the
// message names the column/tensor and what was expected, e.g.
//   "missing column 'age' (the model expects columns: age, income, city)"
//   "column 'age': expected double, got BYTES (strings)"
//   "input 'x': expected shape [-1,10], got [1,9]"
//   "input 'x': expected float32, got INT64"):
//
// Column signature (MLflow `inputs` of column specs):
//   - OIP: either one tensor per column, named by the column, shape [n] or
//     [n,1]; or one tensor of shape [n, C] where C is the number of columns,
//     split into the columns in signature order (what the curl sends:
//     {"name":"input","shape":[1,10],...}).
//   - MLflow scoring: dataframe_split / dataframe_records / CSV columns by
//     name; `instances`/`inputs` that are a list of rows (one unnamed 2-D
//     tensor) map to columns in signature order; rows of objects (named
//     tensors) by name.
//   - A required column that is missing is an error; an optional one that is
//     missing is left out. Columns the signature does not name are dropped
//     (MLflow ignores extra columns too).
//   - Types: double/float accept FP* and INT* (converted to FP64 / FP32);
//     long/integer accept INT* (converted to INT64 / INT32) and FP* whose
//     values are all integral (MLflow's rule); boolean accepts BOOL; string
//     accepts BYTES; binary accepts BYTES; datetime accepts BYTES (kept as
//     text). Anything else is an error. A null in a required column of type
//     long/integer/boolean is an error naming the row ("column 'n' row 3 is
//     null"); in double/float it becomes NaN.
//   - Result: kColumns, tensors in signature order, each [n].
// Tensor signature (tensor specs):
//   - inputs by name; a signature with one unnamed spec takes the single
//     input whatever its name. Every spec must be matched.
//   - dtype: the spec's numpy dtype must equal the input's datatype
//     (float32=FP32, float64=FP64, int8..int64, uint8..uint64, bool=BOOL,
//     object/str/bytes=BYTES), except that an integer or float input is
//     converted to a float spec (MLflow casts with a warning too).
//   - shape: same rank; every dim the spec fixes (not -1) must be equal.
//   - Result: kTensors, tensors in spec order, named by the spec (or "").
// No signature: OIP inputs pass through as kTensors when there is one, as
//   kColumns when there are several named [n]/[n,1] tensors; scoring frames
//   pass through as kColumns, instances/inputs as kTensors.
// Every tensor of a ModelInput must agree on the first dimension (rows):
//   "input 'b' has 3 rows, input 'a' has 2"; rows must be >= 1 ("no rows").
//
// Thread safety: pure functions.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "model/signature.h"
#include "serving/mlflow_scoring.h"
#include "serving/oip_json.h"
#include "serving/runtime.h"
#include "serving/tensor.h"

namespace cairn::serving {

// Messages of missing-input errors start with this, as MLflow's do; MLflow's
// scorer answers them INVALID_PARAMETER_VALUE where other input errors are
// BAD_REQUEST, and so does ours.
inline constexpr std::string_view kMissingInputsMessage = "Model is missing inputs";

// `signature` is the model's (nullopt when it has none).
Result<ModelInput> ConformOipInput(InferRequest request,
                                   const std::optional<model::Signature>& signature);
Result<ModelInput> ConformScoringInput(ScoringRequest request,
                                       const std::optional<model::Signature>& signature);

// A DataFrame column as a tensor of shape [rows] (kInt64->INT64,
// kFloat64->FP64, kBool->BOOL, kString/kJson->BYTES; nulls as in Column).
Tensor ColumnToTensor(const Column& column);

// True when two inputs can be concatenated: same kind, same params_json, the
// same tensor names and datatypes in the same order, equal dims after the first.
bool Compatible(const ModelInput& a, const ModelInput& b);
// Concatenates compatible inputs along the rows (precondition: all
// Compatible with the first; at least one). Rows add up.
ModelInput ConcatInputs(std::span<const ModelInput> inputs);
// Splits a batch's output into consecutive pieces of `rows[i]` rows each
// (sum must equal the output's rows, else kInternal "model returned N rows
// for a batch of M").
Result<std::vector<ModelOutput>> SplitOutput(const ModelOutput& output,
                                             std::span<const int64_t> rows);

// The OIP metadata of a signature: inputs/outputs as tensors. Column specs
// become [-1] tensors named by the column (datatype by type: double FP64,
// float FP32, long INT64, integer INT32, boolean BOOL, string/binary/datetime
// BYTES); tensor specs keep their name, shape and dtype. Empty without a signature.
std::vector<TensorMetadata> SignatureInputsMetadata(const std::optional<model::Signature>& s);
std::vector<TensorMetadata> SignatureOutputsMetadata(const std::optional<model::Signature>& s);

}  // namespace cairn::serving
