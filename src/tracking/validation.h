#pragma once
// Shape and limit rules of tracking entities, with MLflow's limits and
// messages, so a user sees the same error from Cairn's REST API, its CLI and
// a stock MLflow server. Pure functions: no I/O, thread-safe.
//
// Every failure is kInvalidArgument (MLflow's INVALID_PARAMETER_VALUE).
// `path` names the offending field the way MLflow does ("key",
// "metrics[3].name", "params[0].value").
//
// One deliberate difference from MLflow: a param or tag value over its limit
// is an error. (A stock MLflow server truncates it with a warning unless
// MLFLOW_TRUNCATE_LONG_VALUES=false; we never silently change data.)

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "store/types.h"

namespace cairn::tracking {

inline constexpr size_t kMaxMetricsPerBatch = 1000;
inline constexpr size_t kMaxParamsTagsPerBatch = 100;
inline constexpr size_t kMaxEntitiesPerBatch = 1000;
inline constexpr size_t kMaxEntityKeyLength = 250;
inline constexpr size_t kMaxParamValueLength = 6000;
inline constexpr size_t kMaxTagValueLength = 8000;
inline constexpr size_t kMaxExperimentNameLength = 500;
inline constexpr size_t kMaxExperimentTagKeyLength = 250;
inline constexpr size_t kMaxExperimentTagValueLength = 20000;
inline constexpr size_t kMaxDatasetNameLength = 500;
inline constexpr size_t kMaxDatasetDigestLength = 36;
inline constexpr size_t kMaxDatasetSourceLength = 65535;
inline constexpr size_t kMaxDatasetSchemaLength = 1048575;
inline constexpr size_t kMaxDatasetProfileLength = 16777215;
inline constexpr size_t kMaxInputTagKeyLength = 255;
inline constexpr size_t kMaxInputTagValueLength = 500;
inline constexpr int64_t kSearchMaxResultsDefault = 1000;
inline constexpr int64_t kSearchMaxResultsThreshold = 50000;

// The suffix MLflow's REST layer appends to request-shape errors.
inline constexpr std::string_view kApiDocsHint =
    " See the API docs for more information about request parameters.";

// `s` as a JSON string literal, quotes included (MLflow prints values this way).
std::string JsonQuote(std::string_view s);
// A double as Python's repr prints it: 1.0, 0.5, nan, inf, -inf.
std::string PythonFloatRepr(double v);
// A str as Python's repr prints it: single quotes unless the text holds a
// single quote and no double quote; the chosen quote and backslashes escaped.
std::string PythonStrRepr(std::string_view s);
// The length Python's len() gives a UTF-8 string: its code points.
size_t CodePoints(std::string_view s);
// MLflow's length rule: "'<what>' exceeds the maximum length of <limit>
// characters" when `value` holds more than `limit` code points.
Status CheckLength(std::string_view what, size_t limit, std::string_view value);

// "Invalid value <value_json> for parameter '<path>' supplied[: <detail>]"
std::string InvalidValueMessage(std::string_view path, std::string_view value_json,
                                std::string_view detail = {});
// "Missing value for required parameter '<path>'. See the API docs ..."
Error MissingRequired(std::string_view path);
// kInvalidArgument with the "Hint: Value was of type 'int'" wording MLflow's
// REST layer uses for a JSON value of the wrong type. `python_type` is the
// Python name of what arrived: str, int, float, bool, list, dict, NoneType.
Error WrongType(std::string_view path, std::string_view value_json, std::string_view python_type);

// POSIX normpath, as Python's posixpath.normpath.
std::string NormalizePosixPath(std::string_view path);

// Key rules shared by metrics, params and tags: only [alnum _ - . space : /]
// (and non-ASCII word characters), and not a path that normalizes to
// something else ("a/../b", "/x", "..", "", "a//b").
Status ValidateKeyName(std::string_view name, std::string_view path);

Status ValidateRunId(std::string_view run_id, std::string_view path = "run_id");
Status ValidateExperimentName(std::string_view name);

// `path` is the JSON path prefix of the entity ("" for single calls,
// "metrics[3]" in a batch).
Status ValidateMetric(const store::Metric& m, std::string_view path = {});
Status ValidateParam(const store::Param& p, std::string_view path = {});
Status ValidateRunTag(const store::Tag& t, std::string_view path = {});
Status ValidateExperimentTag(const store::Tag& t);
Status ValidateDatasetInput(const store::DatasetInput& input);

// Batch counts: <= 1000 metrics, <= 100 params, <= 100 tags, <= 1000 in all.
Status ValidateBatchLimits(size_t metrics, size_t params, size_t tags);
// A batch may name each param key once.
Status ValidateParamKeysUnique(const std::vector<store::Param>& params);
// RUNNING, SCHEDULED, FINISHED, FAILED or KILLED.
bool IsValidRunStatus(std::string_view status);

}  // namespace cairn::tracking
