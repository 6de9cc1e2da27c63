#include "serving/tensor.h"

#include <array>
#include <bit>
#include <cmath>
#include <limits>

namespace cairn::serving {
namespace {

constexpr std::array<std::string_view, 13> kNames = {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64",
                                                     "INT8", "INT16", "INT32",  "INT64",  "FP16",
                                                     "FP32", "FP64",  "BYTES"};
constexpr std::array<size_t, 13> kSizes = {1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 4, 8, 0};

}  // namespace

std::string_view DataTypeName(DataType t) { return kNames[static_cast<size_t>(t)]; }

std::optional<DataType> DataTypeFromName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<DataType>(i);
  }
  return std::nullopt;
}

size_t DataTypeSize(DataType t) { return kSizes[static_cast<size_t>(t)]; }

uint16_t FloatToHalf(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t exp = (x >> 23) & 0xffu;
  uint32_t mant = x & 0x7fffffu;
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));
  const int e = static_cast<int>(exp) - 127 + 15;
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);
  if (e <= 0) {  // half subnormal (or zero)
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    const int shift = 14 - e;
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = sign | (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;
  return static_cast<uint16_t>(half);
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

Result<int64_t> ShapeElementCount(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return InvalidArgument("shape " + ShapeToString(shape) + " has a negative dimension");
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) {
      return InvalidArgument("shape " + ShapeToString(shape) + " is too large");
    }
    n *= d;
  }
  return n;
}

std::string ShapeToString(std::span<const int64_t> shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

Result<Tensor> Tensor::Zeros(std::string name, DataType datatype, std::vector<int64_t> shape) {
  auto n = ShapeElementCount(shape);
  if (!n) return InvalidArgument("tensor '" + name + "': " + n.error().message());
  Tensor t;
  t.name_ = std::move(name);
  t.datatype_ = datatype;
  t.shape_ = std::move(shape);
  t.count_ = *n;
  if (datatype == DataType::kBytes) {
    t.strings_.resize(static_cast<size_t>(*n));
  } else {
    t.raw_.resize(static_cast<size_t>(*n) * DataTypeSize(datatype));
  }
  return t;
}

Result<Tensor> Tensor::FromRaw(std::string name, DataType datatype, std::vector<int64_t> shape,
                               std::vector<std::byte> raw) {
  if (datatype == DataType::kBytes) {
    return InvalidArgument("tensor '" + name + "': BYTES tensors are built from strings");
  }
  auto n = ShapeElementCount(shape);
  if (!n) return InvalidArgument("tensor '" + name + "': " + n.error().message());
  const size_t size = DataTypeSize(datatype);
  if (raw.size() % size != 0 || raw.size() / size != static_cast<uint64_t>(*n)) {
    return InvalidArgument("tensor '" + name + "': shape " + ShapeToString(shape) + " needs " +
                           std::to_string(*n) + " values, got " +
                           std::to_string(raw.size() / size) +
                           (raw.size() % size ? " and a partial one" : ""));
  }
  Tensor t;
  t.name_ = std::move(name);
  t.datatype_ = datatype;
  t.shape_ = std::move(shape);
  t.count_ = *n;
  t.raw_ = std::move(raw);
  return t;
}

Result<Tensor> Tensor::FromStrings(std::string name, std::vector<int64_t> shape,
                                   std::vector<std::string> strings) {
  auto n = ShapeElementCount(shape);
  if (!n) return InvalidArgument("tensor '" + name + "': " + n.error().message());
  if (strings.size() != static_cast<uint64_t>(*n)) {
    return InvalidArgument("tensor '" + name + "': shape " + ShapeToString(shape) + " needs " +
                           std::to_string(*n) + " values, got " + std::to_string(strings.size()));
  }
  Tensor t;
  t.name_ = std::move(name);
  t.datatype_ = DataType::kBytes;
  t.shape_ = std::move(shape);
  t.count_ = *n;
  t.strings_ = std::move(strings);
  return t;
}

double Tensor::AsDouble(int64_t i) const {
  const size_t k = static_cast<size_t>(i);
  switch (datatype_) {
    case DataType::kBool:
      return values<uint8_t>()[k] ? 1.0 : 0.0;
    case DataType::kUint8:
      return values<uint8_t>()[k];
    case DataType::kUint16:
      return values<uint16_t>()[k];
    case DataType::kUint32:
      return values<uint32_t>()[k];
    case DataType::kUint64:
      return static_cast<double>(values<uint64_t>()[k]);
    case DataType::kInt8:
      return values<int8_t>()[k];
    case DataType::kInt16:
      return values<int16_t>()[k];
    case DataType::kInt32:
      return values<int32_t>()[k];
    case DataType::kInt64:
      return static_cast<double>(values<int64_t>()[k]);
    case DataType::kFp16:
      return HalfToFloat(values<uint16_t>()[k]);
    case DataType::kFp32:
      return values<float>()[k];
    case DataType::kFp64:
      return values<double>()[k];
    case DataType::kBytes:
      break;
  }
  return 0.0;
}

}  // namespace cairn::serving
