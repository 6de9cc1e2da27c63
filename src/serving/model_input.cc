#include "serving/model_input.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>

namespace cairn::serving {
namespace {

// ---- element access --------------------------------------------------------

// How an element of a fixed-size datatype is read as a number: its storage
// type, widened (FP16 is stored as its bits).
template <DataType D>
struct Elem {
  using Storage = typename StorageOf<D>::type;
  static Storage Get(Storage v) { return v; }
};
template <>
struct Elem<DataType::kFp16> {
  using Storage = uint16_t;
  static float Get(uint16_t v) { return HalfToFloat(v); }
};

template <DataType D>
using Tag = std::integral_constant<DataType, D>;

// Calls f(Tag<D>{}) for a fixed-size datatype (one switch, outside any loop).
// Precondition: t != kBytes.
template <typename F>
void VisitFixed(DataType t, F&& f) {
  switch (t) {
    case DataType::kBool:
      return f(Tag<DataType::kBool>{});
    case DataType::kUint8:
      return f(Tag<DataType::kUint8>{});
    case DataType::kUint16:
      return f(Tag<DataType::kUint16>{});
    case DataType::kUint32:
      return f(Tag<DataType::kUint32>{});
    case DataType::kUint64:
      return f(Tag<DataType::kUint64>{});
    case DataType::kInt8:
      return f(Tag<DataType::kInt8>{});
    case DataType::kInt16:
      return f(Tag<DataType::kInt16>{});
    case DataType::kInt32:
      return f(Tag<DataType::kInt32>{});
    case DataType::kInt64:
      return f(Tag<DataType::kInt64>{});
    case DataType::kFp16:
      return f(Tag<DataType::kFp16>{});
    case DataType::kFp32:
      return f(Tag<DataType::kFp32>{});
    case DataType::kFp64:
      return f(Tag<DataType::kFp64>{});
    case DataType::kBytes:
      break;
  }
  std::abort();  // precondition violated
}

bool IsFloat(DataType t) {
  return t == DataType::kFp16 || t == DataType::kFp32 || t == DataType::kFp64;
}
bool IsInteger(DataType t) {
  switch (t) {
    case DataType::kUint8:
    case DataType::kUint16:
    case DataType::kUint32:
    case DataType::kUint64:
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
    case DataType::kInt64:
      return true;
    default:
      return false;
  }
}
bool IsNumeric(DataType t) { return IsFloat(t) || IsInteger(t); }

// A strided view of `count` elements of a tensor or a DataFrame column:
// element i is at offset + i * stride. For a column of a [n, C] tensor,
// offset is the column and stride C.
struct Source {
  DataType datatype = DataType::kFp64;
  const std::byte* data = nullptr;              // fixed-size elements
  std::vector<std::string>* strings = nullptr;  // BYTES elements
  bool movable = false;                         // strings may be moved from
  size_t offset = 0;
  size_t stride = 1;
  size_t count = 0;
  const std::vector<uint8_t>* nulls = nullptr;  // per element (frames only)
  bool json = false;                            // a frame column of mixed values, kept as JSON text

  bool is_null(size_t i) const { return nulls != nullptr && (*nulls)[i] != 0; }
  template <typename S>
  const S* typed() const {
    return reinterpret_cast<const S*>(data) + offset;
  }
};

Source TensorSource(Tensor& t, size_t offset = 0, size_t stride = 1,
                    std::optional<size_t> count = std::nullopt) {
  Source s;
  s.datatype = t.datatype();
  if (t.datatype() == DataType::kBytes) {
    s.strings = &t.mutable_strings();
    s.movable = stride == 1 && offset == 0;
  } else {
    s.data = t.raw().data();
  }
  s.offset = offset;
  s.stride = stride;
  s.count = count ? *count : static_cast<size_t>(t.element_count());
  return s;
}

Source ColumnSource(Column& c, bool movable) {
  Source s;
  s.count = c.size();
  s.nulls = c.nulls.empty() ? nullptr : &c.nulls;
  switch (c.type) {
    case ColumnType::kInt64:
      s.datatype = DataType::kInt64;
      s.data = reinterpret_cast<const std::byte*>(c.ints.data());
      break;
    case ColumnType::kFloat64:
      s.datatype = DataType::kFp64;
      s.data = reinterpret_cast<const std::byte*>(c.doubles.data());
      break;
    case ColumnType::kBool:
      s.datatype = DataType::kBool;
      s.data = reinterpret_cast<const std::byte*>(c.bools.data());
      break;
    case ColumnType::kString:
    case ColumnType::kJson:
      s.datatype = DataType::kBytes;
      s.strings = &c.strings;
      s.movable = movable;
      s.json = c.type == ColumnType::kJson;
      break;
  }
  return s;
}

// What a source holds, for messages: "FP32", "BYTES (strings)".
std::string Describe(const Source& s) {
  if (s.json) return "mixed values (JSON)";
  if (s.datatype == DataType::kBytes) return "BYTES (strings)";
  return std::string(DataTypeName(s.datatype));
}

// ---- conversions -----------------------------------------------------------

// A new tensor of `datatype` and `shape` (element count == src.count) whose
// elements are src's converted by static_cast; nulls become NaN.
// Precondition: src numeric, datatype FP16/FP32/FP64.
Tensor ToFloat(const Source& src, DataType datatype, std::string name, std::vector<int64_t> shape) {
  Tensor out = *Tensor::Zeros(std::move(name), datatype, std::move(shape));
  const size_t n = src.count, stride = src.stride;
  VisitFixed(src.datatype, [&](auto tag) {
    using E = Elem<decltype(tag)::value>;
    const auto* in = src.typed<typename E::Storage>();
    switch (datatype) {
      case DataType::kFp64: {
        double* o = out.mutable_values<double>().data();
        for (size_t i = 0; i < n; ++i) o[i] = static_cast<double>(E::Get(in[i * stride]));
        break;
      }
      case DataType::kFp32: {
        float* o = out.mutable_values<float>().data();
        for (size_t i = 0; i < n; ++i) o[i] = static_cast<float>(E::Get(in[i * stride]));
        break;
      }
      default: {  // FP16
        uint16_t* o = out.mutable_values<uint16_t>().data();
        for (size_t i = 0; i < n; ++i)
          o[i] = FloatToHalf(static_cast<float>(E::Get(in[i * stride])));
        break;
      }
    }
  });
  if (src.nulls != nullptr) {
    for (size_t i = 0; i < n; ++i) {
      if (!src.is_null(i)) continue;
      switch (datatype) {
        case DataType::kFp64:
          out.mutable_values<double>()[i] = std::numeric_limits<double>::quiet_NaN();
          break;
        case DataType::kFp32:
          out.mutable_values<float>()[i] = std::numeric_limits<float>::quiet_NaN();
          break;
        default:
          out.mutable_values<uint16_t>()[i] = 0x7e00;
          break;
      }
    }
  }
  return out;
}

// The numpy name of an OIP datatype (for MLflow-style hints).
std::string_view NumpyName(DataType t) {
  switch (t) {
    case DataType::kBool:
      return "bool";
    case DataType::kUint8:
      return "uint8";
    case DataType::kUint16:
      return "uint16";
    case DataType::kUint32:
      return "uint32";
    case DataType::kUint64:
      return "uint64";
    case DataType::kInt8:
      return "int8";
    case DataType::kInt16:
      return "int16";
    case DataType::kInt32:
      return "int32";
    case DataType::kInt64:
      return "int64";
    case DataType::kFp16:
      return "float16";
    case DataType::kFp32:
      return "float32";
    case DataType::kFp64:
      return "float64";
    case DataType::kBytes:
      return "object";
  }
  return "object";
}

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// "Incompatible input types for column 'age': " (MLflow's phrase, then ours).
std::string Incompatible(std::string_view column) {
  return "Incompatible input types for column '" + std::string(column) + "': ";
}

std::unexpected<Error> NullError(std::string_view column, size_t row) {
  return InvalidArgument("column '" + std::string(column) + "' row " + std::to_string(row) +
                         " is null");
}

// Integer column (long/integer): integers in range, floats that are integral.
template <typename Out>
Result<Tensor> ToInteger(const Source& src, DataType datatype, std::string_view column,
                         std::string_view spec_type, std::string name) {
  const size_t n = src.count, stride = src.stride;
  for (size_t i = 0; i < n && src.nulls != nullptr; ++i) {
    if (src.is_null(i)) return NullError(column, i);
  }
  Tensor out = *Tensor::Zeros(std::move(name), datatype, {static_cast<int64_t>(n)});
  Out* o = out.mutable_values<Out>().data();
  std::optional<Error> error;
  VisitFixed(src.datatype, [&](auto tag) {
    using E = Elem<decltype(tag)::value>;
    const auto* in = src.typed<typename E::Storage>();
    using V = decltype(E::Get(in[0]));
    for (size_t i = 0; i < n; ++i) {
      const V v = E::Get(in[i * stride]);
      if constexpr (std::is_integral_v<V>) {
        if (!std::in_range<Out>(v)) {
          error = Error(ErrorCode::kInvalidArgument,
                        Incompatible(column) + "expected " + std::string(spec_type) + ", got " +
                            std::string(DataTypeName(src.datatype)) + " value " +
                            std::to_string(v) + " in row " + std::to_string(i) +
                            ", out of range for " + std::string(NumpyName(datatype)));
          return;
        }
        o[i] = static_cast<Out>(v);
      } else {
        const double d = static_cast<double>(v);
        if (std::isnan(d)) {
          error = NullError(column, i).error();
          return;
        }
        // The bounds are powers of two, exact as doubles.
        constexpr double kLow = static_cast<double>(std::numeric_limits<Out>::min());
        constexpr double kHigh = -kLow;
        if (d != std::trunc(d) || d < kLow || d >= kHigh) {
          error = Error(ErrorCode::kInvalidArgument,
                        Incompatible(column) + "expected " + std::string(spec_type) + ", got " +
                            std::string(DataTypeName(src.datatype)) + " with the value " +
                            FormatNumber(d) + " in row " + std::to_string(i) +
                            " (Can not safely convert " + std::string(NumpyName(src.datatype)) +
                            " to " + std::string(NumpyName(datatype)) +
                            "; only integral values convert)");
          return;
        }
        o[i] = static_cast<Out>(d);
      }
    }
  });
  if (error) return std::unexpected(std::move(*error));
  return out;
}

// The elements as they are (same datatype), in a new tensor of `shape`.
Tensor CopySame(const Source& src, std::string name, std::vector<int64_t> shape) {
  if (src.datatype == DataType::kBytes) {
    std::vector<std::string> strings;
    if (src.movable && src.stride == 1 && src.offset == 0 && src.strings->size() == src.count) {
      strings = std::move(*src.strings);
    } else {
      strings.reserve(src.count);
      for (size_t i = 0; i < src.count; ++i) {
        strings.push_back((*src.strings)[src.offset + i * src.stride]);
      }
    }
    return *Tensor::FromStrings(std::move(name), std::move(shape), std::move(strings));
  }
  const size_t size = DataTypeSize(src.datatype);
  std::vector<std::byte> raw(src.count * size);
  if (src.stride == 1) {
    if (!raw.empty()) std::memcpy(raw.data(), src.data + src.offset * size, raw.size());
  } else {
    for (size_t i = 0; i < src.count; ++i) {
      std::memcpy(raw.data() + i * size, src.data + (src.offset + i * src.stride) * size, size);
    }
  }
  return *Tensor::FromRaw(std::move(name), src.datatype, std::move(shape), std::move(raw));
}

// The tensor type a column type converts to; nullopt: taken as it is
// (array, object, map, any, unknown).
std::optional<DataType> ColumnTarget(model::DataType t) {
  switch (t) {
    case model::DataType::kDouble:
      return DataType::kFp64;
    case model::DataType::kFloat:
      return DataType::kFp32;
    case model::DataType::kLong:
      return DataType::kInt64;
    case model::DataType::kInteger:
      return DataType::kInt32;
    case model::DataType::kBoolean:
      return DataType::kBool;
    case model::DataType::kString:
    case model::DataType::kBinary:
    case model::DataType::kDatetime:
      return DataType::kBytes;
    default:
      return std::nullopt;
  }
}

// One column of a column signature: `src` holds its `src.count` rows.
Result<Tensor> ConvertColumn(const Source& src, const model::ColumnSpec& spec,
                             std::string_view column, std::string name) {
  // Built where it is used, so it is moved into the tensor (no copy).
  auto shape = [&]() { return std::vector<int64_t>{static_cast<int64_t>(src.count)}; };
  const std::optional<DataType> target = ColumnTarget(spec.data_type);
  if (!target) return CopySame(src, std::move(name), shape());
  auto mismatch = [&]() {
    return InvalidArgument(Incompatible(column) + "expected " + spec.type + ", got " +
                           Describe(src));
  };
  switch (*target) {
    case DataType::kFp64:
    case DataType::kFp32:
      if (!IsNumeric(src.datatype)) return mismatch();
      if (src.datatype == *target && src.nulls == nullptr) {
        return CopySame(src, std::move(name), shape());
      }
      return ToFloat(src, *target, std::move(name), shape());
    case DataType::kInt64:
      if (!IsNumeric(src.datatype)) return mismatch();
      return ToInteger<int64_t>(src, *target, column, spec.type, std::move(name));
    case DataType::kInt32:
      if (!IsNumeric(src.datatype)) return mismatch();
      return ToInteger<int32_t>(src, *target, column, spec.type, std::move(name));
    case DataType::kBool:
      if (src.datatype != DataType::kBool) return mismatch();
      for (size_t i = 0; i < src.count && src.nulls != nullptr; ++i) {
        if (src.is_null(i)) return NullError(column, i);
      }
      return CopySame(src, std::move(name), shape());
    case DataType::kBytes:
      if (src.datatype != DataType::kBytes || src.json) return mismatch();
      return CopySame(src, std::move(name), shape());
    default:
      return mismatch();
  }
}

// ---- ModelInput assembly ---------------------------------------------------

std::string InputLabel(std::string_view name) {
  return name.empty() ? std::string("the input") : "input '" + std::string(name) + "'";
}

// Checks the rows rule and builds the ModelInput.
Result<ModelInput> Assemble(ModelInput::Kind kind, std::vector<Tensor> tensors,
                            std::string params_json) {
  ModelInput input;
  input.kind = kind;
  input.params_json = std::move(params_json);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (t.shape().empty()) {
      std::string label = InputLabel(t.name());
      label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
      return InvalidArgument(label +
                             " is a scalar: every input needs a first dimension (the rows)");
    }
    if (i == 0) {
      input.rows = t.shape()[0];
    } else if (t.shape()[0] != input.rows) {
      return InvalidArgument(InputLabel(t.name()) + " has " + std::to_string(t.shape()[0]) +
                             " rows, " + InputLabel(tensors[0].name()) + " has " +
                             std::to_string(input.rows));
    }
  }
  if (input.rows < 1) return InvalidArgument("no rows: the request holds no data to predict");
  input.tensors = std::move(tensors);
  return input;
}

// Tensors whose shape is [n] or [n,1]: the form of a column.
bool IsColumnShape(const Tensor& t) {
  return t.shape().size() == 1 || (t.shape().size() == 2 && t.shape()[1] == 1);
}

// `t` with a new shape of the same element count (a [n,1] column as [n]);
// copies the elements only when the shape changes.
Tensor Reshaped(Tensor t, std::vector<int64_t> shape) {
  if (t.shape() == shape) return t;
  std::string name = t.name();
  Source src = TensorSource(t);
  return CopySame(src, std::move(name), std::move(shape));
}

std::string ColumnName(const model::ColumnSpec& spec, size_t index) {
  return spec.name ? *spec.name : std::to_string(index);
}

std::string ExpectedColumns(const std::vector<model::ColumnSpec>& specs) {
  std::string out;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (i) out += ", ";
    out += ColumnName(specs[i], i);
  }
  return out;
}

// "Model is missing inputs ['a', 'b']: missing columns 'a', 'b' (the model
// expects columns: a, b, c)": MLflow's sentence, then which and what is expected.
std::unexpected<Error> MissingError(const std::vector<std::string>& missing, std::string_view noun,
                                    const std::string& expected) {
  std::string list, quoted;
  for (size_t i = 0; i < missing.size(); ++i) {
    if (i) {
      list += ", ";
      quoted += ", ";
    }
    list += "'" + missing[i] + "'";
    quoted += "'" + missing[i] + "'";
  }
  return InvalidArgument(std::string(kMissingInputsMessage) + " [" + list + "]: missing " + std::string(noun) +
                         (missing.size() > 1 ? "s " : " ") + quoted + " (the model expects " +
                         std::string(noun) + "s: " + expected + ")");
}

// Column signature, inputs as tensors (OIP, or MLflow instances/inputs).
Result<ModelInput> ColumnsFromTensors(std::vector<Tensor> inputs,
                                      const std::vector<model::ColumnSpec>& specs,
                                      std::string params_json) {
  const size_t c = specs.size();
  std::vector<Tensor> out;
  out.reserve(c);
  // Which input holds column i (by name); -1 when none.
  std::vector<int> found(c, -1);
  bool any_match = false;
  for (size_t i = 0; i < c; ++i) {
    for (size_t k = 0; k < inputs.size(); ++k) {
      const bool match = specs[i].name ? inputs[k].name() == *specs[i].name
                                       : inputs[k].name() == std::to_string(i);
      if (match) {
        found[i] = static_cast<int>(k);
        any_match = true;
        break;
      }
    }
  }
  if (!any_match && inputs.size() == 1 && c > 0) {
    // One tensor whose columns are the signature's columns, in order.
    Tensor& t = inputs[0];
    const auto& shape = t.shape();
    const bool split = shape.size() == 2 && shape[1] == static_cast<int64_t>(c);
    const bool single = c == 1 && shape.size() == 1;
    if (!split && !single) {
      return InvalidArgument(InputLabel(t.name()) + ": expected shape [-1," + std::to_string(c) +
                             "] (one value per column: " + ExpectedColumns(specs) + "), got " +
                             ShapeToString(shape));
    }
    const size_t rows = static_cast<size_t>(shape[0]);
    for (size_t i = 0; i < c; ++i) {
      const std::string column = ColumnName(specs[i], i);
      // Column i is every c-th element from i; a single column is the whole
      // tensor (whose strings may then move).
      Source src = c == 1 ? TensorSource(t) : TensorSource(t, i, c, rows);
      CAIRN_ASSIGN_OR_RETURN(Tensor col, ConvertColumn(src, specs[i], column, column));
      out.push_back(std::move(col));
    }
    return Assemble(ModelInput::Kind::kColumns, std::move(out), std::move(params_json));
  }
  std::vector<std::string> missing;
  for (size_t i = 0; i < c; ++i) {
    if (found[i] < 0) {
      if (specs[i].required) missing.push_back(ColumnName(specs[i], i));
    }
  }
  if (!missing.empty()) return MissingError(missing, "column", ExpectedColumns(specs));
  for (size_t i = 0; i < c; ++i) {
    if (found[i] < 0) continue;
    Tensor& t = inputs[static_cast<size_t>(found[i])];
    const std::string column = ColumnName(specs[i], i);
    if (!ColumnTarget(specs[i].data_type)) {  // array, object, ...: as it is
      if (t.shape().empty()) {
        return InvalidArgument("column '" + column + "': expected shape [-1,...], got []");
      }
      out.push_back(std::move(t));
      continue;
    }
    if (!IsColumnShape(t)) {
      return InvalidArgument("column '" + column + "': expected shape [-1] or [-1,1], got " +
                             ShapeToString(t.shape()));
    }
    if (t.shape().size() == 1 && t.datatype() == *ColumnTarget(specs[i].data_type)) {
      t.set_name(column);  // already the column's type and shape: no copy
      out.push_back(std::move(t));
      continue;
    }
    Source src = TensorSource(t);
    CAIRN_ASSIGN_OR_RETURN(Tensor col, ConvertColumn(src, specs[i], column, column));
    out.push_back(std::move(col));
  }
  return Assemble(ModelInput::Kind::kColumns, std::move(out), std::move(params_json));
}

// Column signature, a DataFrame (dataframe_split/records, CSV).
Result<ModelInput> ColumnsFromFrame(DataFrame frame, const std::vector<model::ColumnSpec>& specs,
                                    std::string params_json) {
  std::vector<Tensor> out;
  out.reserve(specs.size());
  std::vector<Column*> matched(specs.size(), nullptr);
  std::vector<std::string> missing;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].name) {
      for (Column& col : frame.columns) {
        if (col.name == *specs[i].name) {
          matched[i] = &col;
          break;
        }
      }
    } else if (i < frame.columns.size()) {  // unnamed: by position, as MLflow
      matched[i] = &frame.columns[i];
    }
    if (!matched[i] && specs[i].required) missing.push_back(ColumnName(specs[i], i));
  }
  if (!missing.empty()) return MissingError(missing, "column", ExpectedColumns(specs));
  for (size_t i = 0; i < specs.size(); ++i) {
    if (!matched[i]) continue;
    const std::string column = ColumnName(specs[i], i);
    // Strings move out of a column that no other spec takes too.
    const bool shared = std::count(matched.begin(), matched.end(), matched[i]) > 1;
    Source src = ColumnSource(*matched[i], /*movable=*/!shared);
    CAIRN_ASSIGN_OR_RETURN(Tensor t, ConvertColumn(src, specs[i], column, column));
    out.push_back(std::move(t));
  }
  return Assemble(ModelInput::Kind::kColumns, std::move(out), std::move(params_json));
}

// ---- tensor signatures -----------------------------------------------------

// numpy dtype name (as MLflow writes it in tensor-spec) -> datatype; nullopt
// for a dtype with no OIP datatype (datetime64, complex...).
std::optional<DataType> DataTypeFromNumpy(std::string_view dtype) {
  static constexpr std::pair<std::string_view, DataType> kTable[] = {
      {"bool", DataType::kBool},     {"uint8", DataType::kUint8},   {"uint16", DataType::kUint16},
      {"uint32", DataType::kUint32}, {"uint64", DataType::kUint64}, {"int8", DataType::kInt8},
      {"int16", DataType::kInt16},   {"int32", DataType::kInt32},   {"int64", DataType::kInt64},
      {"float16", DataType::kFp16},  {"float32", DataType::kFp32},  {"float64", DataType::kFp64},
      {"object", DataType::kBytes},  {"str", DataType::kBytes},     {"bytes", DataType::kBytes},
  };
  for (const auto& [name, type] : kTable) {
    if (name == dtype) return type;
  }
  // numpy's fixed-width string dtypes ("<U5", "|S3").
  if (dtype.size() >= 2 && (dtype[1] == 'U' || dtype[1] == 'S')) return DataType::kBytes;
  return std::nullopt;
}

// One input against its spec; `tensor` keeps its request name for messages.
Result<Tensor> ConformTensor(Tensor tensor, const model::TensorSpec& spec) {
  const std::string label = InputLabel(tensor.name());
  const auto& shape = tensor.shape();
  bool shape_ok = shape.size() == spec.shape.size();
  for (size_t d = 0; shape_ok && d < shape.size(); ++d) {
    shape_ok = spec.shape[d] == -1 || spec.shape[d] == shape[d];
  }
  if (!shape_ok) {
    return InvalidArgument(label + ": expected shape " + ShapeToString(spec.shape) + ", got " +
                           ShapeToString(shape));
  }
  std::string name = spec.name.value_or("");
  const std::optional<DataType> want = DataTypeFromNumpy(spec.dtype);
  if (!want || *want == tensor.datatype()) {
    tensor.set_name(std::move(name));
    return tensor;
  }
  if (IsFloat(*want) && IsNumeric(tensor.datatype())) {
    Source src = TensorSource(tensor);
    return ToFloat(src, *want, std::move(name), shape);
  }
  return InvalidArgument(label + ": expected " + spec.dtype + ", got " +
                         std::string(DataTypeName(tensor.datatype())));
}

Result<ModelInput> TensorsFromTensors(std::vector<Tensor> inputs,
                                      const std::vector<model::TensorSpec>& specs,
                                      std::string params_json) {
  std::vector<Tensor> out;
  out.reserve(specs.size());
  if (specs.size() == 1 && !specs[0].name) {
    if (inputs.size() != 1) {
      std::string names;
      for (size_t k = 0; k < inputs.size(); ++k)
        names += (k ? ", '" : "'") + inputs[k].name() + "'";
      return InvalidArgument("the model takes one unnamed tensor, got " +
                             std::to_string(inputs.size()) + " inputs" +
                             (inputs.empty() ? std::string() : " (" + names + ")"));
    }
    CAIRN_ASSIGN_OR_RETURN(Tensor t, ConformTensor(std::move(inputs[0]), specs[0]));
    out.push_back(std::move(t));
    return Assemble(ModelInput::Kind::kTensors, std::move(out), std::move(params_json));
  }
  std::vector<int> found(specs.size(), -1);
  std::vector<std::string> missing;
  std::string expected;
  for (size_t i = 0; i < specs.size(); ++i) {
    const std::string name = specs[i].name.value_or(std::to_string(i));
    expected += (i ? ", " : "") + name;
    for (size_t k = 0; k < inputs.size(); ++k) {
      if (inputs[k].name() == name) {
        found[i] = static_cast<int>(k);
        break;
      }
    }
    if (found[i] < 0) missing.push_back(name);
  }
  if (!missing.empty()) return MissingError(missing, "input", expected);
  for (size_t i = 0; i < specs.size(); ++i) {
    CAIRN_ASSIGN_OR_RETURN(
        Tensor t, ConformTensor(std::move(inputs[static_cast<size_t>(found[i])]), specs[i]));
    out.push_back(std::move(t));
  }
  return Assemble(ModelInput::Kind::kTensors, std::move(out), std::move(params_json));
}

// A frame for a tensor signature: one unnamed spec takes the whole frame as a
// [rows, columns] tensor (pandas' to_numpy), named specs take columns by name.
Result<std::vector<Tensor>> FrameAsTensors(DataFrame frame,
                                           const std::vector<model::TensorSpec>& specs) {
  std::vector<Tensor> tensors;
  const bool whole = specs.size() == 1 && !specs[0].name;
  if (!whole || (frame.columns.size() == 1 && specs[0].shape.size() == 1)) {
    for (Column& col : frame.columns) tensors.push_back(ColumnToTensor(col));
    if (whole) tensors[0].set_name("");
    return tensors;
  }
  const size_t rows = frame.num_rows, cols = frame.columns.size();
  bool all_int = true, all_numeric = true, all_bool = true, all_string = true;
  for (const Column& col : frame.columns) {
    all_int &= col.type == ColumnType::kInt64 && col.nulls.empty();
    all_numeric &= col.type == ColumnType::kInt64 || col.type == ColumnType::kFloat64;
    all_bool &= col.type == ColumnType::kBool;
    all_string &= col.type == ColumnType::kString;
  }
  std::vector<int64_t> shape = {static_cast<int64_t>(rows), static_cast<int64_t>(cols)};
  if (all_string) {
    std::vector<std::string> strings(rows * cols);
    for (size_t j = 0; j < cols; ++j) {
      for (size_t r = 0; r < rows; ++r)
        strings[r * cols + j] = std::move(frame.columns[j].strings[r]);
    }
    tensors.push_back(*Tensor::FromStrings("", std::move(shape), std::move(strings)));
    return tensors;
  }
  if (!all_numeric && !all_bool) {
    return InvalidArgument(
        "the model takes one tensor, and the input's columns mix types that make no tensor");
  }
  const DataType type = all_int ? DataType::kInt64 : all_bool ? DataType::kBool : DataType::kFp64;
  Tensor t = *Tensor::Zeros("", type, std::move(shape));
  for (size_t j = 0; j < cols; ++j) {
    const Column& col = frame.columns[j];
    for (size_t r = 0; r < rows; ++r) {
      const size_t k = r * cols + j;
      if (type == DataType::kInt64) {
        t.mutable_values<int64_t>()[k] = col.ints[r];
      } else if (type == DataType::kBool) {
        t.mutable_values<uint8_t>()[k] = col.bools[r];
      } else {
        t.mutable_values<double>()[k] = col.is_null(r) ? std::numeric_limits<double>::quiet_NaN()
                                        : col.type == ColumnType::kInt64
                                            ? static_cast<double>(col.ints[r])
                                            : col.doubles[r];
      }
    }
  }
  tensors.push_back(std::move(t));
  return tensors;
}

// No signature: several [n]/[n,1] named tensors are a table, anything else tensors.
Result<ModelInput> PassThroughTensors(std::vector<Tensor> inputs, std::string params_json) {
  bool columns = inputs.size() > 1;
  for (const Tensor& t : inputs) columns &= IsColumnShape(t) && !t.name().empty();
  if (!columns) {
    return Assemble(ModelInput::Kind::kTensors, std::move(inputs), std::move(params_json));
  }
  std::vector<Tensor> out;
  out.reserve(inputs.size());
  for (Tensor& t : inputs) {
    const int64_t rows = t.shape()[0];
    out.push_back(Reshaped(std::move(t), {rows}));
  }
  return Assemble(ModelInput::Kind::kColumns, std::move(out), std::move(params_json));
}

DataType ColumnMetadataType(model::DataType t) {
  const std::optional<DataType> target = ColumnTarget(t);
  return target ? *target : DataType::kBytes;
}

std::vector<TensorMetadata> SchemaMetadata(const std::optional<model::Schema>& schema,
                                           const std::string& unnamed_tensor) {
  std::vector<TensorMetadata> out;
  if (!schema) return out;
  if (schema->is_tensor) {
    // An unnamed tensor (MLflow allows one) takes any input name; metadata
    // still needs a name: "input" for inputs, "predict" (what the runtimes
    // answer) for outputs.
    for (const auto& spec : schema->tensors) {
      out.push_back({spec.name.value_or(unnamed_tensor),
                     DataTypeFromNumpy(spec.dtype).value_or(DataType::kBytes), spec.shape});
    }
    return out;
  }
  for (size_t i = 0; i < schema->columns.size(); ++i) {
    const auto& spec = schema->columns[i];
    // Unnamed columns are matched by position, named as pandas names them.
    out.push_back({spec.name.value_or(std::to_string(i)), ColumnMetadataType(spec.data_type), {-1}});
  }
  return out;
}

}  // namespace

Result<ModelInput> ConformOipInput(InferRequest request,
                                   const std::optional<model::Signature>& signature) {
  std::string params = std::move(request.parameters_json);
  if (!signature || !signature->inputs) {
    return PassThroughTensors(std::move(request.inputs), std::move(params));
  }
  const model::Schema& schema = *signature->inputs;
  if (schema.is_tensor) {
    return TensorsFromTensors(std::move(request.inputs), schema.tensors, std::move(params));
  }
  return ColumnsFromTensors(std::move(request.inputs), schema.columns, std::move(params));
}

Result<ModelInput> ConformScoringInput(ScoringRequest request,
                                       const std::optional<model::Signature>& signature) {
  const bool is_frame = request.format == ScoringFormat::kDataframeSplit ||
                        request.format == ScoringFormat::kDataframeRecords ||
                        request.format == ScoringFormat::kCsv;
  std::string params = std::move(request.params_json);
  if (!signature || !signature->inputs) {
    if (!is_frame) {
      return Assemble(ModelInput::Kind::kTensors, std::move(request.tensors), std::move(params));
    }
    std::vector<Tensor> out;
    out.reserve(request.frame.columns.size());
    for (Column& col : request.frame.columns) {
      std::string name = col.name;
      Source src = ColumnSource(col, /*movable=*/true);
      out.push_back(CopySame(src, std::move(name), {static_cast<int64_t>(src.count)}));
    }
    return Assemble(ModelInput::Kind::kColumns, std::move(out), std::move(params));
  }
  const model::Schema& schema = *signature->inputs;
  if (schema.is_tensor) {
    std::vector<Tensor> inputs;
    if (is_frame) {
      CAIRN_ASSIGN_OR_RETURN(inputs, FrameAsTensors(std::move(request.frame), schema.tensors));
    } else {
      inputs = std::move(request.tensors);
    }
    return TensorsFromTensors(std::move(inputs), schema.tensors, std::move(params));
  }
  if (is_frame)
    return ColumnsFromFrame(std::move(request.frame), schema.columns, std::move(params));
  return ColumnsFromTensors(std::move(request.tensors), schema.columns, std::move(params));
}

Tensor ColumnToTensor(const Column& column) {
  // The Source only reads through its pointers: strings are copied, not moved.
  Source src = ColumnSource(const_cast<Column&>(column), /*movable=*/false);
  return CopySame(src, column.name, {static_cast<int64_t>(src.count)});
}

bool Compatible(const ModelInput& a, const ModelInput& b) {
  if (a.kind != b.kind || a.params_json != b.params_json || a.tensors.size() != b.tensors.size()) {
    return false;
  }
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const Tensor& x = a.tensors[i];
    const Tensor& y = b.tensors[i];
    if (x.name() != y.name() || x.datatype() != y.datatype() ||
        x.shape().size() != y.shape().size()) {
      return false;
    }
    for (size_t d = 1; d < x.shape().size(); ++d) {
      if (x.shape()[d] != y.shape()[d]) return false;
    }
  }
  return true;
}

ModelInput ConcatInputs(std::span<const ModelInput> inputs) {
  ModelInput out;
  if (inputs.empty()) return out;
  const ModelInput& first = inputs[0];
  if (inputs.size() == 1) return first;
  out.kind = first.kind;
  out.params_json = first.params_json;
  for (const ModelInput& in : inputs) out.rows += in.rows;
  out.tensors.reserve(first.tensors.size());
  for (size_t i = 0; i < first.tensors.size(); ++i) {
    const Tensor& head = first.tensors[i];
    std::vector<int64_t> shape = head.shape();
    shape[0] = 0;
    for (const ModelInput& in : inputs) shape[0] += in.tensors[i].shape()[0];
    if (head.datatype() == DataType::kBytes) {
      std::vector<std::string> strings;
      for (const ModelInput& in : inputs) {
        const auto& s = in.tensors[i].strings();
        strings.insert(strings.end(), s.begin(), s.end());
      }
      out.tensors.push_back(
          *Tensor::FromStrings(head.name(), std::move(shape), std::move(strings)));
    } else {
      size_t bytes = 0;
      for (const ModelInput& in : inputs) bytes += in.tensors[i].raw().size();
      std::vector<std::byte> raw;
      raw.reserve(bytes);
      for (const ModelInput& in : inputs) {
        const auto r = in.tensors[i].raw();
        raw.insert(raw.end(), r.begin(), r.end());
      }
      out.tensors.push_back(
          *Tensor::FromRaw(head.name(), head.datatype(), std::move(shape), std::move(raw)));
    }
  }
  return out;
}

Result<std::vector<ModelOutput>> SplitOutput(const ModelOutput& output,
                                             std::span<const int64_t> rows) {
  int64_t total = 0;
  for (int64_t r : rows) total += r;
  std::vector<ModelOutput> pieces(rows.size());
  for (ModelOutput& p : pieces) {
    p.frame = output.frame;
    p.tensors.reserve(output.tensors.size());
  }
  for (const Tensor& t : output.tensors) {
    if (t.shape().empty() || t.shape()[0] != total) {
      return Internal(
          "model returned " +
          (t.shape().empty() ? std::string("a scalar") : std::to_string(t.shape()[0]) + " rows") +
          " for a batch of " + std::to_string(total));
    }
    // Elements per row (the product of the other dims).
    size_t per_row = 1;
    for (size_t d = 1; d < t.shape().size(); ++d) per_row *= static_cast<size_t>(t.shape()[d]);
    size_t start = 0;
    for (size_t p = 0; p < rows.size(); ++p) {
      std::vector<int64_t> shape = t.shape();
      shape[0] = rows[p];
      const size_t n = static_cast<size_t>(rows[p]) * per_row;
      if (t.datatype() == DataType::kBytes) {
        std::vector<std::string> strings(t.strings().begin() + static_cast<ptrdiff_t>(start),
                                         t.strings().begin() + static_cast<ptrdiff_t>(start + n));
        pieces[p].tensors.push_back(
            *Tensor::FromStrings(t.name(), std::move(shape), std::move(strings)));
      } else {
        const size_t size = DataTypeSize(t.datatype());
        const auto raw = t.raw().subspan(start * size, n * size);
        pieces[p].tensors.push_back(
            *Tensor::FromRaw(t.name(), t.datatype(), std::move(shape), {raw.begin(), raw.end()}));
      }
      start += n;
    }
  }
  return pieces;
}

std::vector<TensorMetadata> SignatureInputsMetadata(const std::optional<model::Signature>& s) {
  return s ? SchemaMetadata(s->inputs, "input") : std::vector<TensorMetadata>{};
}

std::vector<TensorMetadata> SignatureOutputsMetadata(const std::optional<model::Signature>& s) {
  return s ? SchemaMetadata(s->outputs, "predict") : std::vector<TensorMetadata>{};
}

}  // namespace cairn::serving
