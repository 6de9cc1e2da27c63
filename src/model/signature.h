#pragma once
// MLflow model signatures: what a model takes and returns, as written in the
// `signature` section of an MLmodel file.
//
// In the MLmodel YAML each of `inputs`, `outputs` and `params` is a JSON
// *string* (or null) holding a list:
//   column specs   {"name": "age", "type": "double", "required": true}
//                  types: boolean, integer, long, float, double, string,
//                  binary, datetime; since MLflow 2.10 also
//                  {"type": "array", "items": {...}},
//                  {"type": "object", "properties": {"k": {...}}},
//                  {"type": "map", "values": {...}} and {"type": "any"}.
//                  "name" may be absent (unnamed columns); "required"
//                  defaults to true.
//   tensor specs   {"name": "x", "type": "tensor",
//                   "tensor-spec": {"dtype": "float32", "shape": [-1, 10]}}
//   param specs    {"name": "threshold", "type": "double", "default": 0.5,
//                   "shape": null}  (shape [-1] for a list parameter)
// A schema is all column specs or all tensor specs, never a mix; inputs and
// outputs may differ in kind (a column-based sklearn model returns a tensor).
//
// Complex column types are kept as their JSON (ColumnSpec::type_json), so a
// type this code does not know (a newer MLflow's) is carried through, not
// refused: DataType::kUnknown.
//
// Errors: kInvalidArgument whose message names the field as a path from the
// `where` argument ("signature.inputs[1].tensor-spec.dtype is missing").
// Thread safety: pure functions on values.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace cairn::model {

enum class DataType {
  kBoolean,
  kInteger,  // 32-bit
  kLong,     // 64-bit
  kFloat,    // 32-bit
  kDouble,   // 64-bit
  kString,
  kBinary,
  kDatetime,
  kArray,    // {"type": "array", "items": <type>}
  kObject,   // {"type": "object", "properties": {name: <type + "required">}}
  kMap,      // {"type": "map", "values": <type>}
  kAny,      // {"type": "any"}
  kUnknown,  // any other type name: kept as raw JSON
};

// "double" -> kDouble, ...; kUnknown for anything else.
DataType DataTypeFromName(std::string_view name);
// The MLflow name ("double"); "unknown" for kUnknown.
std::string_view DataTypeName(DataType type);

struct ColumnSpec {
  std::optional<std::string> name;  // absent for unnamed columns
  std::string type;                 // the type name as written: "double", "array", ...
  DataType data_type = DataType::kUnknown;
  bool required = true;
  // The type as a JSON object without "name" and "required", keys sorted
  // (canonical, so equal types compare equal), e.g. {"type":"double"} or
  // {"items":{"type":"string"},"type":"array"}.
  std::string type_json;

  bool operator==(const ColumnSpec&) const = default;
};

struct TensorSpec {
  std::optional<std::string> name;
  std::string dtype;           // numpy dtype name: "float32", "int64", "object", ...
  std::vector<int64_t> shape;  // -1 for a variable dimension

  bool operator==(const TensorSpec&) const = default;
};

// One side of a signature: column specs or tensor specs.
struct Schema {
  bool is_tensor = false;
  std::vector<ColumnSpec> columns;  // when !is_tensor
  std::vector<TensorSpec> tensors;  // when is_tensor

  bool operator==(const Schema&) const = default;
};

struct ParamSpec {
  std::string name;
  std::string type;          // "double", "string", ...; other JSON kept as its text
  std::string default_json;  // the default value as JSON ("0.5", "\"fast\"", "null")
  std::optional<std::vector<int64_t>> shape;  // nullopt: a scalar; {-1}: a list

  bool operator==(const ParamSpec&) const = default;
};

struct Signature {
  std::optional<Schema> inputs;  // nullopt when the MLmodel has `inputs: null`
  std::optional<Schema> outputs;
  std::optional<std::vector<ParamSpec>> params;
  bool inputs_are_tensors = false;  // == inputs && inputs->is_tensor

  bool operator==(const Signature&) const = default;
};

// Parses the three JSON strings of an MLmodel `signature` section; nullopt
// (or the text "null") means absent. `where` prefixes field names in errors.
Result<Signature> ParseSignature(std::optional<std::string_view> inputs_json,
                                 std::optional<std::string_view> outputs_json,
                                 std::optional<std::string_view> params_json,
                                 std::string_view where = "signature");

// Parses one schema list (the content of `inputs` or `outputs`).
Result<Schema> ParseSchema(std::string_view json, std::string_view where);
// Parses one params list (the content of `params`).
Result<std::vector<ParamSpec>> ParseParams(std::string_view json, std::string_view where);

// The JSON form the API returns and stores:
//   {"inputs": [...], "outputs": [...], "params": [...]}
// with parsed lists (not strings); an absent part is null. Column specs are
// {"name", "type", <type fields>, "required"}, tensor specs
// {"name", "type": "tensor", "tensor-spec": {"dtype", "shape"}}, params
// {"name", "type", "default", "shape"}.
std::string SignatureToJson(const Signature& signature);

// Reads SignatureToJson's form back. Also accepts MLflow's own dictionary
// form, where each of inputs/outputs/params is a JSON string.
Result<Signature> ParseSignatureJson(std::string_view json);

// A column of a request to check against a signature (serving).
struct InputColumn {
  std::string name;
  DataType type = DataType::kUnknown;
};

// Checks request columns against column-based `signature.inputs`:
//  - every required named input column is present;
//  - a present column's type is the declared one or safely converts to it
//    (integer -> long/float/double, long -> double, float -> double);
//    complex declared types (array/object/map) and kAny accept any type;
//  - extra columns are ignored (as MLflow does).
// kInvalidArgument naming the column; kFailedPrecondition when the
// signature's inputs are tensors (use tensor validation instead). A
// signature without inputs accepts anything.
Status ValidateColumns(const Signature& signature, const std::vector<InputColumn>& columns);

}  // namespace cairn::model
