#pragma once
// The fields of an MLflow REST request, read with protobuf-JSON leniency and
// MLflow's error messages. Cold-path requests only (nlohmann DOM); the hot
// log-batch and log-metric bodies go through log_batch_parser.h.
//
// Where fields come from, as MLflow's server: a GET request's query string
// (repeated names listed by the handler become lists), any other method's
// JSON body (an empty body is {}; a body that is a JSON string holding JSON
// is decoded once more, as older clients double-encode).
//
// Leniency, as protobuf's JSON parser: null means absent; int64 fields take
// numbers or decimal strings; double fields take numbers, numeric strings
// and "NaN"/"Infinity"/"-Infinity"; enums take names or numbers. Unknown
// fields are ignored.
//
// Errors: malformed JSON -> kBadRequest "Malformed JSON in request body: ...";
// a body that is not an object -> kBadRequest; a field of the wrong type ->
// kInvalidArgument naming it ("Invalid value 5 for parameter 'run_id'
// supplied:  Hint: Value was of type 'int'. See the API docs ...").
// Not thread-safe (one per request).

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "http/server.h"
#include "store/types.h"

namespace cairn::api {

class RequestFields {
 public:
  // `repeated`: GET parameter names that are lists (e.g. "run_ids").
  static Result<RequestFields> FromRequest(const http::Request& req,
                                           std::initializer_list<std::string_view> repeated = {});
  static Result<RequestFields> FromJsonBody(std::string_view body);

  bool Has(std::string_view name) const;
  Result<std::optional<std::string>> String(std::string_view name) const;
  // The string, or "" when absent.
  Result<std::string> StringOrEmpty(std::string_view name) const;
  Result<std::optional<int64_t>> Int64(std::string_view name) const;
  Result<std::optional<double>> Double(std::string_view name) const;
  // A list of strings (a single string counts as a one-element list).
  Result<std::vector<std::string>> StringList(std::string_view name) const;
  // [{"key": ..., "value": ...}, ...]; a missing key is "Missing value for
  // required parameter '<name>[i].key'".
  Result<std::vector<store::Tag>> KeyValueList(std::string_view name) const;
  // An enum given by name or number: names[i] has number first_number + i.
  Result<std::optional<std::string>> Enum(std::string_view name,
                                          const std::vector<std::string_view>& names,
                                          int first_number) const;
  const nlohmann::json& json() const { return json_; }

 private:
  explicit RequestFields(nlohmann::json j) : json_(std::move(j)) {}
  const nlohmann::json* Find(std::string_view name) const;
  nlohmann::json json_;  // always an object
};

// Who makes the request, for the audit log: the X-Cairn-User header, else
// "anonymous" (authentication comes later and will take its place).
std::string ActorOf(const http::Request& req);

// "int", "float", "str", "bool", "list", "dict", "NoneType" for a JSON value.
std::string_view PythonTypeName(const nlohmann::json& v);
// The value as MLflow prints it in messages (compact JSON, sorted keys).
std::string CompactJson(const nlohmann::json& v);
// Protobuf-JSON conversions of one value; kInvalidArgument naming `path`.
Result<int64_t> JsonToInt64(const nlohmann::json& v, std::string_view path);
Result<double> JsonToDouble(const nlohmann::json& v, std::string_view path);
Result<std::string> JsonToString(const nlohmann::json& v, std::string_view path);
// "NaN", "Infinity", "-Infinity" (any case; also "inf", "nan") or a decimal number.
std::optional<double> ParseDoubleText(std::string_view s);
// An optional sign and digits, fitting int64.
std::optional<int64_t> ParseInt64Text(std::string_view s);
// A path's segments split at '/' ("a//b/" -> "a", "", "b", "").
std::vector<std::string> SplitPath(std::string_view s);

}  // namespace cairn::api
