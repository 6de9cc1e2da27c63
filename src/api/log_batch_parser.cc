#include "api/log_batch_parser.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "api/request_fields.h"
#include "tracking/validation.h"

namespace cairn::api {
namespace {

namespace sj = simdjson::ondemand;

// Where a value sits ("metrics[3].value"), rendered only when an error names it,
// so the hot path allocates nothing for it.
struct FieldPath {
  std::string_view array;  // "" for a top-level field
  size_t index = 0;
  std::string_view field;  // "" for the array element itself
  std::string str() const {
    std::string out;
    if (!array.empty()) {
      out.append(array).append("[").append(std::to_string(index)).append("]");
      if (!field.empty()) out.append(".");
    }
    out.append(field);
    return out;
  }
};

FieldPath Top(std::string_view field) { return FieldPath{{}, 0, field}; }

std::unexpected<Error> Malformed(simdjson::error_code e) {
  return BadRequest(std::string("Malformed JSON in request body: ") + simdjson::error_message(e));
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// A wrong-typed value, described as MLflow does (its JSON text and Python type).
std::unexpected<Error> WrongTypeOf(sj::value& v, sj::json_type t, const FieldPath& path) {
  std::string_view raw;
  std::string_view py = "object";
  simdjson::error_code err = simdjson::SUCCESS;
  switch (t) {
    case sj::json_type::array: {
      py = "list";
      sj::array a;
      err = v.get_array().get(a);
      if (!err) err = a.raw_json().get(raw);
      break;
    }
    case sj::json_type::object: {
      py = "dict";
      sj::object o;
      err = v.get_object().get(o);
      if (!err) err = o.raw_json().get(raw);
      break;
    }
    case sj::json_type::number: {
      sj::number_type nt{};
      err = v.get_number_type().get(nt);
      py = nt == sj::number_type::floating_point_number ? "float" : "int";
      raw = v.raw_json_token();
      break;
    }
    case sj::json_type::string:
      py = "str";
      raw = v.raw_json_token();
      break;
    case sj::json_type::boolean:
      py = "bool";
      raw = v.raw_json_token();
      break;
    case sj::json_type::null:
      py = "NoneType";
      raw = "null";
      break;
  }
  if (err) return Malformed(err);
  return std::unexpected(tracking::WrongType(path.str(), TrimRight(raw), py));
}

Result<sj::json_type> TypeOf(sj::value& v) {
  sj::json_type t{};
  if (auto e = v.type().get(t)) return Malformed(e);
  if (t == sj::json_type::null) {
    // type() looks at the first character only: make sure it says "null".
    bool is_null = false;
    if (auto e = v.is_null().get(is_null)) return Malformed(e);
    if (!is_null) return Malformed(simdjson::N_ATOM_ERROR);
  }
  return t;
}

Result<std::optional<std::string>> ReadString(sj::value& v, const FieldPath& path) {
  // Fast path: a string, as it almost always is. A failed get leaves the
  // value unconsumed, so the slow path below can still inspect it.
  std::string_view fast;
  if (v.get_string().get(fast) == simdjson::SUCCESS) {
    return std::optional<std::string>(std::string(fast));
  }
  CAIRN_ASSIGN_OR_RETURN(sj::json_type t, TypeOf(v));
  if (t == sj::json_type::null) return std::optional<std::string>();
  if (t != sj::json_type::string) return WrongTypeOf(v, t, path);
  std::string_view s;
  if (auto e = v.get_string().get(s)) return Malformed(e);
  return std::optional<std::string>(std::string(s));
}

Result<std::optional<int64_t>> ReadInt64(sj::value& v, const FieldPath& path) {
  int64_t fast = 0;
  if (v.get_int64().get(fast) == simdjson::SUCCESS) return std::optional<int64_t>(fast);
  CAIRN_ASSIGN_OR_RETURN(sj::json_type t, TypeOf(v));
  if (t == sj::json_type::null) return std::optional<int64_t>();
  if (t == sj::json_type::number) {
    sj::number_type nt{};
    if (auto e = v.get_number_type().get(nt)) return Malformed(e);
    if (nt == sj::number_type::signed_integer) {
      int64_t i = 0;
      if (auto e = v.get_int64().get(i)) return Malformed(e);
      return std::optional<int64_t>(i);
    }
    if (nt == sj::number_type::floating_point_number) {
      double d = 0;
      if (auto e = v.get_double().get(d)) return Malformed(e);
      if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.2e18) {
        return std::optional<int64_t>(static_cast<int64_t>(d));
      }
    }
    return WrongTypeOf(v, t, path);
  }
  if (t == sj::json_type::string) {
    std::string_view s;
    if (auto e = v.get_string().get(s)) return Malformed(e);
    if (auto i = ParseInt64Text(s)) return std::optional<int64_t>(*i);
    return std::unexpected(tracking::WrongType(path.str(), tracking::JsonQuote(s), "str"));
  }
  return WrongTypeOf(v, t, path);
}

Result<std::optional<double>> ReadDouble(sj::value& v, const FieldPath& path) {
  double fast = 0;
  if (v.get_double().get(fast) == simdjson::SUCCESS) return std::optional<double>(fast);
  CAIRN_ASSIGN_OR_RETURN(sj::json_type t, TypeOf(v));
  if (t == sj::json_type::null) return std::optional<double>();
  if (t == sj::json_type::number) {
    double d = 0;
    if (auto e = v.get_double().get(d)) return Malformed(e);
    return std::optional<double>(d);
  }
  if (t == sj::json_type::string) {
    std::string_view s;
    if (auto e = v.get_string().get(s)) return Malformed(e);
    if (auto d = ParseDoubleText(s)) return std::optional<double>(*d);
    return std::unexpected(tracking::WrongType(path.str(), tracking::JsonQuote(s), "str"));
  }
  return WrongTypeOf(v, t, path);
}

// Calls `fn(key, value)` for each field of an object being iterated.
template <typename Fn>
Status ForEachObjectField(sj::object& obj, Fn&& fn) {
  for (auto field_result : obj) {
    sj::field field;
    if (auto e = std::move(field_result).get(field)) return Malformed(e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return Malformed(e);
    sj::value value = field.value();
    CAIRN_RETURN_IF_ERROR(fn(key, value));
  }
  return {};
}

// Calls `fn(key, value)` for each field of an object value.
template <typename Fn>
Status ForEachField(sj::value& v, const FieldPath& path, Fn&& fn) {
  CAIRN_ASSIGN_OR_RETURN(sj::json_type t, TypeOf(v));
  if (t != sj::json_type::object) return WrongTypeOf(v, t, path);
  sj::object obj;
  if (auto e = v.get_object().get(obj)) return Malformed(e);
  return ForEachObjectField(obj, fn);
}

// Calls `fn(index, item)` for each element of an array value; null is empty.
template <typename Fn>
Status ForEachItem(sj::value& v, const FieldPath& path, Fn&& fn) {
  CAIRN_ASSIGN_OR_RETURN(sj::json_type t, TypeOf(v));
  if (t == sj::json_type::null) return {};
  if (t != sj::json_type::array) return WrongTypeOf(v, t, path);
  sj::array arr;
  if (auto e = v.get_array().get(arr)) return Malformed(e);
  size_t i = 0;
  for (auto item_result : arr) {
    sj::value item;
    if (auto e = std::move(item_result).get(item)) return Malformed(e);
    CAIRN_RETURN_IF_ERROR(fn(i, item));
    ++i;
  }
  return {};
}

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// Iterates the top-level object of `body` (a blank body is {}; a JSON string
// holding JSON is decoded once more).
template <typename Fn>
Status ForEachTopField(std::string_view body, Fn&& fn, int depth = 0) {
  if (IsBlank(body)) return {};
  thread_local sj::parser parser;
  simdjson::padded_string padded(body);
  sj::document doc;
  if (auto e = parser.iterate(padded).get(doc)) return Malformed(e);
  sj::json_type t{};
  if (auto e = doc.type().get(t)) return Malformed(e);
  if (t == sj::json_type::string && depth == 0) {
    std::string_view inner;
    if (auto e = doc.get_string().get(inner)) return Malformed(e);
    std::string copy(inner);
    return ForEachTopField(copy, fn, depth + 1);
  }
  if (t == sj::json_type::null) return {};
  if (t != sj::json_type::object) {
    return BadRequest(std::string("The request body must be a JSON object, got ") +
                      (t == sj::json_type::array ? "an array." : "a scalar."));
  }
  sj::object obj;
  if (auto e = doc.get_object().get(obj)) return Malformed(e);
  CAIRN_RETURN_IF_ERROR(ForEachObjectField(obj, fn));
  // In bounds after the closing brace means there is more JSON text.
  const char* trailing = nullptr;
  if (!doc.current_location().get(trailing)) {
    return BadRequest("Malformed JSON in request body: unexpected content after the object");
  }
  return {};
}

// One metric object; presence flags let the caller name what is missing.
struct MetricFields {
  std::optional<std::string> key;
  std::optional<double> value;
  std::optional<int64_t> timestamp;
  std::optional<int64_t> step;
};

// `at` locates the metric: {"metrics", i} in a batch, {} for log-metric.
Status ReadMetricField(std::string_view key, sj::value& v, const FieldPath& at, MetricFields& m) {
  if (key == "key") {
    CAIRN_ASSIGN_OR_RETURN(m.key, ReadString(v, FieldPath{at.array, at.index, "key"}));
  } else if (key == "value") {
    CAIRN_ASSIGN_OR_RETURN(m.value, ReadDouble(v, FieldPath{at.array, at.index, "value"}));
  } else if (key == "timestamp") {
    CAIRN_ASSIGN_OR_RETURN(m.timestamp, ReadInt64(v, FieldPath{at.array, at.index, "timestamp"}));
  } else if (key == "step") {
    CAIRN_ASSIGN_OR_RETURN(m.step, ReadInt64(v, FieldPath{at.array, at.index, "step"}));
  }
  return {};
}

Result<store::Metric> FinishMetric(MetricFields& f, const FieldPath& at) {
  if (!f.key || f.key->empty()) {
    return std::unexpected(tracking::MissingRequired(FieldPath{at.array, at.index, "key"}.str()));
  }
  if (!f.value) {
    return std::unexpected(tracking::MissingRequired(FieldPath{at.array, at.index, "value"}.str()));
  }
  if (!f.timestamp) {
    return std::unexpected(
        tracking::MissingRequired(FieldPath{at.array, at.index, "timestamp"}.str()));
  }
  return store::Metric{std::move(*f.key), *f.value, *f.timestamp, f.step.value_or(0)};
}

// {"key": ..., "value": ...} for params and tags.
Result<std::pair<std::string, std::string>> ReadKeyValue(sj::value& item, const FieldPath& at) {
  std::optional<std::string> key, value;
  CAIRN_RETURN_IF_ERROR(ForEachField(item, at, [&](std::string_view k, sj::value& v) -> Status {
    if (k == "key") {
      CAIRN_ASSIGN_OR_RETURN(key, ReadString(v, FieldPath{at.array, at.index, "key"}));
    } else if (k == "value") {
      CAIRN_ASSIGN_OR_RETURN(value, ReadString(v, FieldPath{at.array, at.index, "value"}));
    }
    return {};
  }));
  if (!key || key->empty()) {
    return std::unexpected(tracking::MissingRequired(FieldPath{at.array, at.index, "key"}.str()));
  }
  return std::make_pair(std::move(*key), value ? std::move(*value) : std::string());
}

}  // namespace

Result<LogBatchBody> ParseLogBatchBody(std::string_view body) {
  LogBatchBody out;
  out.metrics.reserve(64);
  std::optional<std::string> run_id, run_uuid;
  CAIRN_RETURN_IF_ERROR(ForEachTopField(body, [&](std::string_view key, sj::value& v) -> Status {
    if (key == "run_id") {
      CAIRN_ASSIGN_OR_RETURN(run_id, ReadString(v, Top("run_id")));
    } else if (key == "run_uuid") {
      CAIRN_ASSIGN_OR_RETURN(run_uuid, ReadString(v, Top("run_uuid")));
    } else if (key == "metrics") {
      return ForEachItem(v, Top("metrics"), [&](size_t i, sj::value& item) -> Status {
        FieldPath at{"metrics", i, {}};
        MetricFields f;
        CAIRN_RETURN_IF_ERROR(ForEachField(item, at, [&](std::string_view k, sj::value& x) {
          return ReadMetricField(k, x, at, f);
        }));
        CAIRN_ASSIGN_OR_RETURN(store::Metric m, FinishMetric(f, at));
        out.metrics.push_back(std::move(m));
        return {};
      });
    } else if (key == "params") {
      return ForEachItem(v, Top("params"), [&](size_t i, sj::value& item) -> Status {
        CAIRN_ASSIGN_OR_RETURN(auto kv, ReadKeyValue(item, FieldPath{"params", i, {}}));
        out.params.push_back(store::Param{std::move(kv.first), std::move(kv.second)});
        return {};
      });
    } else if (key == "tags") {
      return ForEachItem(v, Top("tags"), [&](size_t i, sj::value& item) -> Status {
        CAIRN_ASSIGN_OR_RETURN(auto kv, ReadKeyValue(item, FieldPath{"tags", i, {}}));
        out.tags.push_back(store::Tag{std::move(kv.first), std::move(kv.second)});
        return {};
      });
    }
    return {};
  }));
  out.run_id = run_id && !run_id->empty() ? *run_id : run_uuid.value_or("");
  if (out.run_id.empty()) return std::unexpected(tracking::MissingRequired("run_id"));
  return out;
}

Result<LogMetricBody> ParseLogMetricBody(std::string_view body) {
  LogMetricBody out;
  std::optional<std::string> run_id, run_uuid;
  MetricFields f;
  CAIRN_RETURN_IF_ERROR(ForEachTopField(body, [&](std::string_view key, sj::value& v) -> Status {
    if (key == "run_id") {
      CAIRN_ASSIGN_OR_RETURN(run_id, ReadString(v, Top("run_id")));
      return {};
    }
    if (key == "run_uuid") {
      CAIRN_ASSIGN_OR_RETURN(run_uuid, ReadString(v, Top("run_uuid")));
      return {};
    }
    return ReadMetricField(key, v, FieldPath{}, f);
  }));
  out.run_id = run_id && !run_id->empty() ? *run_id : run_uuid.value_or("");
  if (out.run_id.empty()) return std::unexpected(tracking::MissingRequired("run_id"));
  CAIRN_ASSIGN_OR_RETURN(out.metric, FinishMetric(f, FieldPath{}));
  return out;
}

}  // namespace cairn::api
