#include "serving/oip_json.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "core/json_writer.h"
#include "serving/json_tokens.h"

namespace cairn::serving {
namespace {

namespace sj = simdjson::ondemand;

std::unexpected<Error> Malformed(simdjson::error_code e) {
  return BadRequest(std::string("malformed JSON in request body: ") + simdjson::error_message(e));
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' ||
                        s.back() == '\t' || s.back() == ',' || s.back() == ']' || s.back() == '}'))
    s.remove_suffix(1);
  return s;
}

Result<sj::json_type> TypeOf(sj::value& v) {
  sj::json_type t{};
  if (auto e = v.type().get(t)) return Malformed(e);
  if (t == sj::json_type::null) {
    bool is_null = false;
    if (auto e = v.is_null().get(is_null)) return Malformed(e);
    if (!is_null) return Malformed(simdjson::N_ATOM_ERROR);
  }
  return t;
}

// Reads the tensor values of one input's "data" and checks them against the
// datatype and shape. Values beyond the expected count are counted, not stored.
class DataReader {
 public:
  DataReader(std::string label, DataType datatype, const std::vector<int64_t>& shape,
             int64_t expected, size_t body_size)
      : label_(std::move(label)), datatype_(datatype), shape_(shape), expected_(expected) {
    // Every JSON value takes at least two bytes ("1,"): never reserve more
    // than the body can hold, whatever the shape claims.
    const auto cap = static_cast<int64_t>(body_size / 2 + 1);
    const auto n = static_cast<size_t>(std::min(expected, cap));
    if (datatype == DataType::kBytes) {
      strings_.reserve(n);
    } else {
      raw_.reserve(n * DataTypeSize(datatype));
    }
  }

  Status Read(sj::value& data) {
    CAIRN_ASSIGN_OR_RETURN(sj::json_type t, TypeOf(data));
    if (t != sj::json_type::array) {
      if (shape_.empty() && t != sj::json_type::object) {  // a scalar tensor may be a bare value
        CAIRN_RETURN_IF_ERROR(Element(data, t));
        return CheckCount();
      }
      return Fail("'data' must be a list");
    }
    sj::array arr;
    if (auto e = data.get_array().get(arr)) return Malformed(e);
    enum class Mode { kUnknown, kFlat, kNested } mode = Mode::kUnknown;
    int64_t n = 0;
    for (auto item_result : arr) {
      sj::value item;
      if (auto e = std::move(item_result).get(item)) return Malformed(e);
      CAIRN_ASSIGN_OR_RETURN(sj::json_type it, TypeOf(item));
      const bool is_array = it == sj::json_type::array;
      if (mode == Mode::kUnknown) mode = is_array ? Mode::kNested : Mode::kFlat;
      if (mode == Mode::kFlat) {
        if (is_array) return Fail("'data' mixes lists and values");
        if (count_ >= expected_) {
          ++count_;  // too many: count the rest, parse nothing more
          continue;
        }
        CAIRN_RETURN_IF_ERROR(Element(item, it));
      } else {
        if (!is_array) return Fail("'data' mixes lists and values");
        if (shape_.size() < 2) {
          return Fail("'data' is nested deeper than shape " + ShapeToString(shape_));
        }
        if (n >= shape_[0]) return DimMismatch(0, "more than " + std::to_string(shape_[0]));
        sj::array sub;
        if (auto e = item.get_array().get(sub)) return Malformed(e);
        CAIRN_RETURN_IF_ERROR(Nested(sub, 1));
      }
      ++n;
    }
    if (mode == Mode::kNested) {
      if (n != shape_[0]) return DimMismatch(0, std::to_string(n));
      return {};
    }
    return CheckCount();
  }

  Result<Tensor> Finish(std::string name) {
    if (datatype_ == DataType::kBytes) {
      return Tensor::FromStrings(std::move(name), shape_, std::move(strings_));
    }
    return Tensor::FromRaw(std::move(name), datatype_, shape_, std::move(raw_));
  }

 private:
  std::unexpected<Error> Fail(const std::string& problem) const {
    return InvalidArgument(label_ + ": " + problem);
  }

  Status CheckCount() const {
    if (count_ != expected_) {
      return Fail("shape " + ShapeToString(shape_) + " needs " + std::to_string(expected_) +
                  " values, got " + std::to_string(count_));
    }
    return {};
  }

  std::unexpected<Error> DimMismatch(size_t dim, const std::string& got) const {
    return Fail("'data' does not match shape " + ShapeToString(shape_) + ": dimension " +
                std::to_string(dim) + " has " + got + " values, expected " +
                std::to_string(shape_[dim]));
  }

  Status Nested(sj::array& arr, size_t depth) {
    const bool leaf = depth + 1 == shape_.size();
    int64_t n = 0;
    for (auto item_result : arr) {
      sj::value item;
      if (auto e = std::move(item_result).get(item)) return Malformed(e);
      CAIRN_ASSIGN_OR_RETURN(sj::json_type it, TypeOf(item));
      const bool is_array = it == sj::json_type::array;
      if (n >= shape_[depth])
        return DimMismatch(depth, "more than " + std::to_string(shape_[depth]));
      if (leaf) {
        if (is_array) return Fail("'data' is nested deeper than shape " + ShapeToString(shape_));
        CAIRN_RETURN_IF_ERROR(Element(item, it));
      } else {
        if (!is_array) {
          return Fail("'data' does not match shape " + ShapeToString(shape_) + ": dimension " +
                      std::to_string(depth) + " holds a value where a list is expected");
        }
        sj::array sub;
        if (auto e = item.get_array().get(sub)) return Malformed(e);
        CAIRN_RETURN_IF_ERROR(Nested(sub, depth + 1));
      }
      ++n;
    }
    if (n != shape_[depth]) return DimMismatch(depth, std::to_string(n));
    return {};
  }

  std::unexpected<Error> BadValue(sj::value& v, sj::json_type t, std::string_view problem) const {
    std::string shown;
    switch (t) {
      case sj::json_type::array:
        shown = "a list";
        break;
      case sj::json_type::object:
        shown = "an object";
        break;
      default:
        shown = std::string(TrimRight(v.raw_json_token()));
        break;
    }
    if (shown.size() > 64) shown = shown.substr(0, 61) + "...";
    return Fail("value " + shown + " at index " + std::to_string(count_) + " " +
                std::string(problem) + " " + std::string(DataTypeName(datatype_)));
  }

  template <typename T>
  void Push(T value) {
    const size_t at = raw_.size();
    raw_.resize(at + sizeof(T));
    std::memcpy(raw_.data() + at, &value, sizeof(T));
  }

  template <typename T>
  Status Signed(sj::value& v, sj::json_type t) {
    int64_t i = 0;
    if (v.get_int64().get(i) == simdjson::SUCCESS) {
      if (i < std::numeric_limits<T>::min() || i > std::numeric_limits<T>::max()) {
        return BadValue(v, t, "does not fit");
      }
      Push<T>(static_cast<T>(i));
      return {};
    }
    return NotAnInteger(v, t);
  }

  template <typename T>
  Status Unsigned(sj::value& v, sj::json_type t) {
    uint64_t u = 0;
    if (v.get_uint64().get(u) == simdjson::SUCCESS) {
      if (u > std::numeric_limits<T>::max()) return BadValue(v, t, "does not fit");
      Push<T>(static_cast<T>(u));
      return {};
    }
    int64_t i = 0;
    if (v.get_int64().get(i) == simdjson::SUCCESS) return BadValue(v, t, "does not fit");
    return NotAnInteger(v, t);
  }

  std::unexpected<Error> NotAnInteger(sj::value& v, sj::json_type t) {
    if (t == sj::json_type::number) {
      sj::number_type nt{};
      if (v.get_number_type().get(nt) == simdjson::SUCCESS &&
          nt != sj::number_type::floating_point_number) {
        return BadValue(v, t, "does not fit");  // an integer beyond 64 bits
      }
    }
    return BadValue(v, t, "is not a valid");
  }

  Status Floating(sj::value& v, sj::json_type t) {
    double d = 0;
    if (t == sj::json_type::number) {
      if (v.get_double().get(d)) return BadValue(v, t, "is not a valid");
    } else if (t == sj::json_type::string) {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return Malformed(e);
      if (s == "NaN") {
        d = std::numeric_limits<double>::quiet_NaN();
      } else if (s == "Infinity" || s == "inf") {
        d = std::numeric_limits<double>::infinity();
      } else if (s == "-Infinity" || s == "-inf") {
        d = -std::numeric_limits<double>::infinity();
      } else {
        return BadValue(v, t, "is not a valid");
      }
    } else {
      return BadValue(v, t, "is not a valid");
    }
    switch (datatype_) {
      case DataType::kFp16:
        if (std::isfinite(d) && std::fabs(d) > 65504.0) return BadValue(v, t, "does not fit");
        Push<uint16_t>(FloatToHalf(static_cast<float>(d)));
        break;
      case DataType::kFp32:
        if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max()) {
          return BadValue(v, t, "does not fit");
        }
        Push<float>(static_cast<float>(d));
        break;
      default:
        Push<double>(d);
        break;
    }
    return {};
  }

  Status Element(sj::value& v, sj::json_type t) {
    Status s;
    switch (datatype_) {
      case DataType::kBool: {
        bool b = false;
        if (t != sj::json_type::boolean || v.get_bool().get(b)) {
          return BadValue(v, t, "is not a valid");
        }
        Push<uint8_t>(b ? 1 : 0);
        break;
      }
      case DataType::kUint8:
        s = Unsigned<uint8_t>(v, t);
        break;
      case DataType::kUint16:
        s = Unsigned<uint16_t>(v, t);
        break;
      case DataType::kUint32:
        s = Unsigned<uint32_t>(v, t);
        break;
      case DataType::kUint64:
        s = Unsigned<uint64_t>(v, t);
        break;
      case DataType::kInt8:
        s = Signed<int8_t>(v, t);
        break;
      case DataType::kInt16:
        s = Signed<int16_t>(v, t);
        break;
      case DataType::kInt32:
        s = Signed<int32_t>(v, t);
        break;
      case DataType::kInt64:
        s = Signed<int64_t>(v, t);
        break;
      case DataType::kFp16:
      case DataType::kFp32:
      case DataType::kFp64:
        s = Floating(v, t);
        break;
      case DataType::kBytes: {
        std::string_view str;
        if (t != sj::json_type::string || v.get_string().get(str)) {
          return BadValue(v, t, "is not a valid");
        }
        strings_.emplace_back(str);
        break;
      }
    }
    if (!s) return s;
    ++count_;
    return {};
  }

  std::string label_;
  DataType datatype_;
  const std::vector<int64_t>& shape_;
  int64_t expected_;
  int64_t count_ = 0;
  std::vector<std::byte> raw_;
  std::vector<std::string> strings_;
};

// The bytes after the JSON header, consumed input by input.
struct BinaryCursor {
  std::string_view data;
  size_t offset = 0;
};

Result<Tensor> ReadBinaryInput(const std::string& label, std::string name, DataType datatype,
                               std::vector<int64_t> shape, int64_t count, uint64_t size,
                               BinaryCursor& bin) {
  if (size > bin.data.size() - bin.offset) {
    return InvalidArgument(label + ": binary_data_size " + std::to_string(size) + " exceeds the " +
                           std::to_string(bin.data.size() - bin.offset) +
                           " bytes of binary data left");
  }
  std::string_view chunk = bin.data.substr(bin.offset, size);
  bin.offset += size;
  if (datatype != DataType::kBytes) {
    const uint64_t want = static_cast<uint64_t>(count) * DataTypeSize(datatype);
    if (size != want) {
      return InvalidArgument(label + ": shape " + ShapeToString(shape) + " needs " +
                             std::to_string(want) + " bytes of " +
                             std::string(DataTypeName(datatype)) + ", binary_data_size is " +
                             std::to_string(size));
    }
    std::vector<std::byte> raw(size);
    if (size) std::memcpy(raw.data(), chunk.data(), size);
    return Tensor::FromRaw(std::move(name), datatype, std::move(shape), std::move(raw));
  }
  std::vector<std::string> strings;
  while (!chunk.empty()) {
    if (chunk.size() < 4) return InvalidArgument(label + ": truncated BYTES element length");
    uint32_t len = 0;
    for (int i = 3; i >= 0; --i) len = (len << 8) | static_cast<uint8_t>(chunk[i]);
    chunk.remove_prefix(4);
    if (len > chunk.size()) return InvalidArgument(label + ": truncated BYTES element");
    if (static_cast<int64_t>(strings.size()) >= count) {
      return InvalidArgument(label + ": shape " + ShapeToString(shape) + " needs " +
                             std::to_string(count) + " values, got more");
    }
    strings.emplace_back(chunk.substr(0, len));
    chunk.remove_prefix(len);
  }
  if (static_cast<int64_t>(strings.size()) != count) {
    return InvalidArgument(label + ": shape " + ShapeToString(shape) + " needs " +
                           std::to_string(count) + " values, got " +
                           std::to_string(strings.size()));
  }
  return Tensor::FromStrings(std::move(name), std::move(shape), std::move(strings));
}

// A field that may be absent: nullopt when it is.
Result<std::optional<sj::value>> FindField(sj::object& obj, std::string_view key) {
  sj::value v;
  auto e = obj.find_field_unordered(key).get(v);
  if (e == simdjson::NO_SUCH_FIELD) return std::optional<sj::value>();
  if (e) return Malformed(e);
  return std::optional<sj::value>(v);
}

Result<Tensor> ParseInput(sj::object& obj, size_t index, size_t body_size, BinaryCursor& bin,
                          const OipParseOptions& options) {
  std::string label = "input " + std::to_string(index);
  CAIRN_ASSIGN_OR_RETURN(auto name_v, FindField(obj, "name"));
  if (!name_v) return InvalidArgument(label + ": missing 'name'");
  std::string_view name_sv;
  if (name_v->get_string().get(name_sv))
    return InvalidArgument(label + ": 'name' must be a string");
  std::string name(name_sv);
  label = "input '" + name + "'";

  CAIRN_ASSIGN_OR_RETURN(auto dt_v, FindField(obj, "datatype"));
  if (!dt_v) return InvalidArgument(label + ": missing 'datatype'");
  std::string_view dt_name;
  if (dt_v->get_string().get(dt_name)) {
    return InvalidArgument(label + ": 'datatype' must be a string");
  }
  auto datatype = DataTypeFromName(dt_name);
  if (!datatype) {
    return InvalidArgument(label + ": unknown datatype '" + std::string(dt_name) +
                           "' (expected one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, "
                           "INT32, INT64, FP16, FP32, FP64, BYTES)");
  }

  CAIRN_ASSIGN_OR_RETURN(auto shape_v, FindField(obj, "shape"));
  if (!shape_v) return InvalidArgument(label + ": missing 'shape'");
  sj::array shape_arr;
  if (shape_v->get_array().get(shape_arr)) {
    return InvalidArgument(label + ": 'shape' must be a list of integers");
  }
  std::vector<int64_t> shape;
  for (auto d_result : shape_arr) {
    int64_t d = 0;
    if (std::move(d_result).get_int64().get(d)) {
      return InvalidArgument(label + ": 'shape' must be a list of integers");
    }
    shape.push_back(d);
  }
  auto count = ShapeElementCount(shape);
  if (!count) return InvalidArgument(label + ": " + count.error().message());
  if (*count > options.max_elements) {
    return MakeError(ErrorCode::kPayloadTooLarge, label + ": shape " + ShapeToString(shape) +
                                                      " has " + std::to_string(*count) +
                                                      " elements, more than the limit of " +
                                                      std::to_string(options.max_elements));
  }

  std::optional<uint64_t> binary_size;
  CAIRN_ASSIGN_OR_RETURN(auto params_v, FindField(obj, "parameters"));
  if (params_v) {
    sj::object params;
    if (params_v->get_object().get(params)) {
      return InvalidArgument(label + ": 'parameters' must be an object");
    }
    CAIRN_ASSIGN_OR_RETURN(auto size_v, FindField(params, "binary_data_size"));
    if (size_v) {
      uint64_t size = 0;
      if (size_v->get_uint64().get(size)) {
        return InvalidArgument(label + ": 'binary_data_size' must be a non-negative integer");
      }
      binary_size = size;
    }
  }

  CAIRN_ASSIGN_OR_RETURN(auto data_v, FindField(obj, "data"));
  if (binary_size) {
    if (data_v) return InvalidArgument(label + ": has both 'data' and 'binary_data_size'");
    return ReadBinaryInput(label, std::move(name), *datatype, std::move(shape), *count,
                           *binary_size, bin);
  }
  if (!data_v) return InvalidArgument(label + ": missing 'data'");
  DataReader reader(label, *datatype, shape, *count, body_size);
  CAIRN_RETURN_IF_ERROR(reader.Read(*data_v));
  return reader.Finish(std::move(name));
}

Result<RequestedOutput> ParseRequestedOutput(sj::object& obj, size_t index) {
  RequestedOutput out;
  CAIRN_ASSIGN_OR_RETURN(auto name_v, FindField(obj, "name"));
  std::string_view name;
  if (!name_v || name_v->get_string().get(name)) {
    return InvalidArgument("output " + std::to_string(index) + ": 'name' must be a string");
  }
  out.name = std::string(name);
  CAIRN_ASSIGN_OR_RETURN(auto params_v, FindField(obj, "parameters"));
  if (params_v) {
    sj::object params;
    if (params_v->get_object().get(params)) {
      return InvalidArgument("output '" + out.name + "': 'parameters' must be an object");
    }
    CAIRN_ASSIGN_OR_RETURN(auto bin_v, FindField(params, "binary_data"));
    if (bin_v) {
      bool b = false;
      if (bin_v->get_bool().get(b)) {
        return InvalidArgument("output '" + out.name + "': 'binary_data' must be a boolean");
      }
      out.binary_data = b;
    }
    params.reset();
    std::string_view raw;
    if (auto e = params.raw_json().get(raw)) return Malformed(e);
    out.parameters_json = std::string(raw);
  }
  return out;
}

// Writes one finite or non-finite number in its shortest round-trip form.
template <typename F>
void WriteFloat(JsonWriter& w, F v) {
  if (!std::isfinite(v)) {
    w.Double(static_cast<double>(v));
    return;
  }
  char buf[40];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, static_cast<size_t>(p - buf));
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  w.Raw(s);
}


void WriteShape(JsonWriter& w, const std::vector<int64_t>& shape) {
  w.BeginArray();
  for (int64_t d : shape) w.Int(d);
  w.EndArray();
}

void WriteTensorMetadata(JsonWriter& w, std::string_view key,
                         const std::vector<TensorMetadata>& tensors) {
  w.Key(key).BeginArray();
  for (const auto& t : tensors) {
    w.BeginObject();
    w.Field("name", t.name);
    w.Field("datatype", DataTypeName(t.datatype));
    w.Key("shape");
    WriteShape(w, t.shape);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace

void WriteOipTensorData(JsonWriter& w, const Tensor& t) {
  w.BeginArray();
  const auto n = static_cast<size_t>(t.element_count());
  switch (t.datatype()) {
    case DataType::kBool:
      for (uint8_t b : t.values<uint8_t>()) w.Bool(b != 0);
      break;
    case DataType::kUint8:
      for (auto v : t.values<uint8_t>()) w.Int(v);
      break;
    case DataType::kUint16:
      for (auto v : t.values<uint16_t>()) w.Int(v);
      break;
    case DataType::kUint32:
      for (auto v : t.values<uint32_t>()) w.Int(v);
      break;
    case DataType::kUint64:
      for (auto v : t.values<uint64_t>()) w.Raw(std::to_string(v));
      break;
    case DataType::kInt8:
      for (auto v : t.values<int8_t>()) w.Int(v);
      break;
    case DataType::kInt16:
      for (auto v : t.values<int16_t>()) w.Int(v);
      break;
    case DataType::kInt32:
      for (auto v : t.values<int32_t>()) w.Int(v);
      break;
    case DataType::kInt64:
      for (auto v : t.values<int64_t>()) w.Int(v);
      break;
    case DataType::kFp16:
      for (auto v : t.values<uint16_t>()) WriteFloat(w, HalfToFloat(v));
      break;
    case DataType::kFp32:
      for (auto v : t.values<float>()) WriteFloat(w, v);
      break;
    case DataType::kFp64:
      for (auto v : t.values<double>()) WriteFloat(w, v);
      break;
    case DataType::kBytes:
      for (size_t i = 0; i < n && i < t.strings().size(); ++i) w.StringLossy(t.strings()[i]);
      break;
  }
  w.EndArray();
}

namespace {

Result<InferRequest> ParseOipInferRequestStrict(std::string_view json, std::string_view binary,
                                                const OipParseOptions& options);

}  // namespace

Result<InferRequest> ParseOipInferRequest(std::string_view json, std::string_view binary,
                                          const OipParseOptions& options) {
  Result<InferRequest> parsed = ParseOipInferRequestStrict(json, binary, options);
  if (parsed || parsed.error().code() != ErrorCode::kBadRequest) return parsed;
  // tritonclient's JSON mode writes numpy's non-finite floats as bare tokens,
  // which Triton's server accepts; quoted, the FP parser reads them.
  std::optional<std::string> quoted =
      ReplaceNonFiniteTokens(json, {"\"NaN\"", "\"Infinity\"", "\"-Infinity\""});
  if (!quoted) return parsed;
  return ParseOipInferRequestStrict(*quoted, binary, options);
}

namespace {

Result<InferRequest> ParseOipInferRequestStrict(std::string_view json, std::string_view binary,
                                                const OipParseOptions& options) {
  thread_local sj::parser parser;
  simdjson::padded_string large;
  const simdjson::padded_string_view padded = PaddedJson(json, large);
  sj::document doc;
  if (auto e = parser.iterate(padded).get(doc)) return Malformed(e);
  sj::json_type t{};
  if (auto e = doc.type().get(t)) return Malformed(e);
  if (t != sj::json_type::object) return BadRequest("the request body must be a JSON object");
  sj::object obj;
  if (auto e = doc.get_object().get(obj)) return Malformed(e);

  InferRequest req;
  BinaryCursor bin{binary, 0};
  bool saw_inputs = false;
  for (auto field_result : obj) {
    sj::field field;
    if (auto e = std::move(field_result).get(field)) return Malformed(e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return Malformed(e);
    sj::value v = field.value();
    if (key == "id") {
      std::string_view id;
      if (v.get_string().get(id)) return InvalidArgument("'id' must be a string");
      req.id = std::string(id);
    } else if (key == "parameters") {
      sj::object params;
      if (v.get_object().get(params)) return InvalidArgument("'parameters' must be an object");
      CAIRN_ASSIGN_OR_RETURN(auto all_binary, FindField(params, "binary_data_output"));
      if (all_binary && all_binary->get_bool().get(req.binary_data_output)) {
        return InvalidArgument("'binary_data_output' must be a boolean");
      }
      params.reset();
      std::string_view raw;
      if (auto e = params.raw_json().get(raw)) return Malformed(e);
      req.parameters_json = std::string(raw);
    } else if (key == "inputs") {
      saw_inputs = true;
      sj::array arr;
      if (v.get_array().get(arr)) return InvalidArgument("'inputs' must be a list of tensors");
      size_t i = 0;
      for (auto item_result : arr) {
        sj::object input;
        if (std::move(item_result).get_object().get(input)) {
          return InvalidArgument("input " + std::to_string(i) + ": must be an object");
        }
        CAIRN_ASSIGN_OR_RETURN(Tensor tensor, ParseInput(input, i, json.size(), bin, options));
        req.inputs.push_back(std::move(tensor));
        ++i;
      }
    } else if (key == "outputs") {
      sj::array arr;
      if (v.get_array().get(arr)) return InvalidArgument("'outputs' must be a list");
      size_t i = 0;
      for (auto item_result : arr) {
        sj::object output;
        if (std::move(item_result).get_object().get(output)) {
          return InvalidArgument("output " + std::to_string(i) + ": must be an object");
        }
        CAIRN_ASSIGN_OR_RETURN(RequestedOutput out, ParseRequestedOutput(output, i));
        req.outputs.push_back(std::move(out));
        ++i;
      }
    }
  }
  const char* trailing = nullptr;
  if (!doc.current_location().get(trailing)) {
    return BadRequest("malformed JSON in request body: unexpected content after the object");
  }
  if (!saw_inputs || req.inputs.empty()) return InvalidArgument("the request has no 'inputs'");
  if (bin.offset != binary.size()) {
    return InvalidArgument(std::to_string(binary.size() - bin.offset) +
                           " bytes of binary data follow the JSON but no input claims them");
  }
  std::unordered_set<std::string_view> seen;
  for (const auto& in : req.inputs) {
    if (!seen.insert(in.name()).second) {
      return InvalidArgument("input '" + in.name() + "' appears more than once");
    }
  }
  seen.clear();
  for (const auto& out : req.outputs) {
    if (!seen.insert(out.name).second) {
      return InvalidArgument("output '" + out.name + "' is requested more than once");
    }
  }
  return req;
}

}  // namespace

OipResponseBody WriteOipInferResponse(const InferResponse& response,
                                      const std::vector<bool>& binary) {
  JsonWriter w;
  std::string tail;
  w.BeginObject();
  w.Field("model_name", response.model_name);
  if (!response.model_version.empty()) w.Field("model_version", response.model_version);
  if (!response.id.empty()) w.Field("id", response.id);
  w.Key("outputs").BeginArray();
  for (size_t i = 0; i < response.outputs.size(); ++i) {
    const Tensor& t = response.outputs[i];
    w.BeginObject();
    w.Field("name", t.name());
    w.Field("datatype", DataTypeName(t.datatype()));
    w.Key("shape");
    WriteShape(w, t.shape());
    if (i < binary.size() && binary[i]) {
      const size_t before = tail.size();
      if (t.datatype() == DataType::kBytes) {
        for (const auto& s : t.strings()) {
          const auto len = static_cast<uint32_t>(s.size());
          for (int b = 0; b < 4; ++b) tail += static_cast<char>((len >> (8 * b)) & 0xff);
          tail += s;
        }
      } else {
        tail.append(reinterpret_cast<const char*>(t.raw().data()), t.raw().size());
      }
      w.Key("parameters").BeginObject();
      w.Field("binary_data_size", static_cast<int64_t>(tail.size() - before));
      w.EndObject();
    } else {
      w.Key("data");
      WriteOipTensorData(w, t);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  OipResponseBody out;
  out.body = w.Take();
  out.json_size = out.body.size();
  out.body += tail;
  return out;
}

std::string WriteOipInferResponse(const InferResponse& response) {
  return WriteOipInferResponse(response, {}).body;
}

std::vector<bool> OipBinaryOutputs(const InferRequest& request, const InferResponse& response) {
  std::vector<bool> binary(response.outputs.size(), request.binary_data_output);
  for (size_t i = 0; i < response.outputs.size(); ++i) {
    for (const auto& wanted : request.outputs) {
      if (wanted.name == response.outputs[i].name() && wanted.binary_data) {
        binary[i] = *wanted.binary_data;
      }
    }
  }
  return binary;
}

std::string WriteOipError(std::string_view message) {
  JsonWriter w;
  w.BeginObject().Field("error", message).EndObject();
  return w.Take();
}

std::string WriteOipModelMetadata(const ModelMetadata& metadata) {
  JsonWriter w;
  w.BeginObject();
  w.Field("name", metadata.name);
  if (!metadata.versions.empty()) {
    w.Key("versions").BeginArray();
    for (const auto& v : metadata.versions) w.String(v);
    w.EndArray();
  }
  w.Field("platform", metadata.platform);
  WriteTensorMetadata(w, "inputs", metadata.inputs);
  WriteTensorMetadata(w, "outputs", metadata.outputs);
  w.EndObject();
  return w.Take();
}

std::string WriteOipServerMetadata(const ServerMetadata& metadata) {
  JsonWriter w;
  w.BeginObject();
  w.Field("name", metadata.name);
  w.Field("version", metadata.version);
  w.Key("extensions").BeginArray();
  for (const auto& e : metadata.extensions) w.String(e);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace cairn::serving
