#pragma once
// MLflow's scoring protocol (`POST /invocations` of `mlflow models serve`):
// parses request bodies into a column-oriented DataFrame or into tensors, and
// renders {"predictions": ...} and MLflow-style error bodies. Pure functions,
// no I/O, safe from any thread.
//
// JSON bodies (Content-Type application/json) are an object with exactly one of
//   "dataframe_split":   {"columns": [...], "data": [[...], ...], "index": [...]}
//   "dataframe_records": [{"col": v, ...}, ...]
//   "instances":         [row, ...] (rows of objects become one tensor per key,
//                        stacked along a new first dimension; anything else
//                        one unnamed tensor)
//   "inputs":            {"name": nested list, ...} or one nested list
// and optionally "params" (kept as raw JSON). CSV bodies (text/csv) have a
// header row; fields follow RFC 4180 quoting.
//
// Column types are inferred as pandas would: all integers -> kInt64, numbers
// -> kFloat64, booleans -> kBool, strings -> kString, anything else (a mix,
// nested lists, objects) -> kJson (each cell's JSON text). null / missing
// cells are marked in Column::nulls. Tensor datatypes: booleans -> BOOL,
// integers -> INT64, numbers -> FP64 (null -> NaN), strings -> BYTES.
//
// Every error is kBadRequest (MLflow's BAD_REQUEST) with MLflow's message
// (e.g. "The input must be a JSON dictionary with exactly one of the input
// fields {...}"), except an unsupported Content-Type, which is
// kInvalidArgument and which the HTTP handler must answer with 415 and the
// message as text/plain, as MLflow does.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/json_writer.h"
#include "serving/tensor.h"

namespace cairn::serving {

enum class ColumnType { kInt64, kFloat64, kBool, kString, kJson };

struct Column {
  std::string name;
  ColumnType type = ColumnType::kFloat64;
  // Exactly one of these holds the rows, by `type` (kJson uses `strings`).
  // Null cells hold 0 / NaN / false / "".
  std::vector<int64_t> ints;
  std::vector<double> doubles;
  std::vector<uint8_t> bools;
  std::vector<std::string> strings;
  std::vector<uint8_t> nulls;  // 1 where a cell is null; empty when no cell is

  size_t size() const;
  bool is_null(size_t row) const { return !nulls.empty() && nulls[row] != 0; }
};

struct DataFrame {
  std::vector<Column> columns;
  size_t num_rows = 0;

  const Column* Find(std::string_view name) const;
};

enum class ScoringFormat { kDataframeSplit, kDataframeRecords, kInstances, kInputs, kCsv };

struct ScoringRequest {
  ScoringFormat format = ScoringFormat::kDataframeSplit;
  DataFrame frame;              // dataframe_split, dataframe_records, CSV
  std::vector<Tensor> tensors;  // instances, inputs: named, or one tensor named ""
  std::string params_json;      // the raw "params" value, "" if absent
};

enum class ScoringContentType { kJson, kCsv };

// "application/json" or "text/csv", optionally with "; charset=utf-8".
Result<ScoringContentType> ParseScoringContentType(std::string_view content_type);

Result<ScoringRequest> ParseScoringJson(std::string_view body);
Result<ScoringRequest> ParseScoringCsv(std::string_view body);
// Dispatches on the Content-Type header.
Result<ScoringRequest> ParseScoringRequest(std::string_view content_type, std::string_view body);

// {"predictions": [...]} for one tensor (nested lists by shape; a 1-D tensor
// is a flat list), for named tensors ({"predictions": {"name": [...]}}), and
// for a frame (records: [{"col": v}, ...], as pandas orient="records").
std::string WriteScoringPredictions(const Tensor& tensor);
std::string WriteScoringPredictions(std::span<const Tensor> tensors);
std::string WriteScoringPredictions(const DataFrame& frame);

// Element i of a tensor as a JSON value, as the predictions write it:
// integers, booleans, strings (invalid UTF-8 replaced), floats widened to
// double as numpy's tolist() does (NaN/Infinity as strings).
void WriteScoringValue(JsonWriter& w, const Tensor& t, int64_t i);

// {"error_code": "BAD_REQUEST", "message": "..."}, as MLflow's scoring server answers.
std::string WriteScoringError(const Error& error);

}  // namespace cairn::serving
