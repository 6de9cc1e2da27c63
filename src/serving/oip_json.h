#pragma once
// The Open Inference Protocol (KServe/Triton "V2") REST codec: parses an infer
// request body into an InferRequest and renders responses, errors and
// metadata. Pure functions, no I/O; safe to call from any thread (the parser
// keeps one thread_local simdjson parser).
//
// Request validation (all kInvalidArgument, the message names the input):
//   - required "name", "datatype", "shape" per input, names unique (inputs and
//     requested outputs each);
//   - datatype one of BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES;
//   - shape dims non-negative, product fits int64;
//   - "data" either flat (row-major) or nested lists whose nesting matches the
//     shape exactly; the number of values equals the product of the shape
//     ("input 'x': shape [2,3] needs 6 values, got 5");
//   - each value fits the datatype: integers in range (300 is not a UINT8),
//     BOOL true/false, FP* any number (or "NaN"/"Infinity"/"-Infinity") within
//     the type's finite range, BYTES strings.
// Malformed JSON is kBadRequest. A tensor with more elements than
// OipParseOptions::max_elements is kPayloadTooLarge (413), checked from the
// shape before any data is stored.
//
// Binary tensor data extension (what tritonclient sends by default): the HTTP
// body is the JSON header (length from the Inference-Header-Content-Length
// header) followed by `binary`; an input whose parameters hold
// "binary_data_size": N takes the next N bytes (fixed-size types: raw
// little-endian elements; BYTES: per element a 4-byte little-endian length and
// the bytes). All binary bytes must be used.

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/json_writer.h"
#include "serving/tensor.h"

namespace cairn::serving {

struct OipParseOptions {
  int64_t max_elements = int64_t{1} << 26;  // per tensor
};

Result<InferRequest> ParseOipInferRequest(std::string_view json, std::string_view binary = {},
                                          const OipParseOptions& options = {});

// {"model_name":..,"model_version":..,"id":..,"outputs":[{"name","datatype","shape","data"}]}.
// Data is written flat in row-major order; model_version and id are omitted when empty.
std::string WriteOipInferResponse(const InferResponse& response);

// The binary tensor data extension for responses: outputs whose flag in
// `binary` is set carry "parameters":{"binary_data_size":N} instead of "data",
// and their bytes follow the JSON in output order (same encoding as requests).
// The handler sends `body` and, when has_binary(), the header
// Inference-Header-Content-Length: json_size.
struct OipResponseBody {
  std::string body;
  size_t json_size = 0;
  bool has_binary() const { return json_size != body.size(); }
};
// Which of the response's outputs the request wants in binary (per requested
// output, or all of them with binary_data_output).
std::vector<bool> OipBinaryOutputs(const InferRequest& request, const InferResponse& response);
OipResponseBody WriteOipInferResponse(const InferResponse& response,
                                      const std::vector<bool>& binary);

// A tensor's "data" as the OIP JSON form writes it: a flat row-major list;
// floats in shortest round-trip form with a fraction ("1.0"), non-finite as
// "NaN"/"Infinity"/"-Infinity"; BYTES as strings (invalid UTF-8 replaced).
// Shared by the responses and the inference log.
void WriteOipTensorData(JsonWriter& w, const Tensor& t);

// {"error": "<message>"} (the OIP error body, any status).
std::string WriteOipError(std::string_view message);

// A tensor as declared by a model signature; -1 in a shape is a variable dim.
struct TensorMetadata {
  std::string name;
  DataType datatype = DataType::kFp32;
  std::vector<int64_t> shape;
};

struct ModelMetadata {
  std::string name;
  std::vector<std::string> versions;  // omitted when empty
  std::string platform;               // e.g. "xgboost", "mlflow_pyfunc"
  std::vector<TensorMetadata> inputs;
  std::vector<TensorMetadata> outputs;
};

struct ServerMetadata {
  std::string name;
  std::string version;
  std::vector<std::string> extensions;
};

// GET /v2/models/{name}[/versions/{v}]
std::string WriteOipModelMetadata(const ModelMetadata& metadata);
// GET /v2
std::string WriteOipServerMetadata(const ServerMetadata& metadata);

}  // namespace cairn::serving
