#pragma once
// Tensors and inference requests/responses of the data plane, independent of
// any wire protocol (the OIP v2 JSON codec is oip_json.h, MLflow's scoring
// protocol is mlflow_scoring.h).
//
// A Tensor owns its data. Fixed-size datatypes are stored contiguously in
// row-major order as their native little-endian representation: BOOL as one
// byte 0/1, FP16 as IEEE-754 binary16 bits (uint16_t). BYTES tensors hold one
// std::string per element. Every factory checks that the number of elements
// equals the product of the shape, so a Tensor that exists is consistent.
// Values are movable and copyable; not thread-safe for concurrent mutation.
// Errors: kInvalidArgument for inconsistent shape / data.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace cairn::serving {

// The Open Inference Protocol's tensor datatypes.
enum class DataType {
  kBool,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFp16,
  kFp32,
  kFp64,
  kBytes,
};

// "FP32" etc.
std::string_view DataTypeName(DataType t);
// Inverse of DataTypeName (exact, upper case); nullopt for an unknown name.
std::optional<DataType> DataTypeFromName(std::string_view name);
// Bytes per element; 0 for BYTES (variable size).
size_t DataTypeSize(DataType t);

// The C++ type a fixed-size datatype is stored as (bool -> uint8_t, FP16 -> uint16_t bits).
template <DataType T>
struct StorageOf;
template <>
struct StorageOf<DataType::kBool> {
  using type = uint8_t;
};
template <>
struct StorageOf<DataType::kUint8> {
  using type = uint8_t;
};
template <>
struct StorageOf<DataType::kUint16> {
  using type = uint16_t;
};
template <>
struct StorageOf<DataType::kUint32> {
  using type = uint32_t;
};
template <>
struct StorageOf<DataType::kUint64> {
  using type = uint64_t;
};
template <>
struct StorageOf<DataType::kInt8> {
  using type = int8_t;
};
template <>
struct StorageOf<DataType::kInt16> {
  using type = int16_t;
};
template <>
struct StorageOf<DataType::kInt32> {
  using type = int32_t;
};
template <>
struct StorageOf<DataType::kInt64> {
  using type = int64_t;
};
template <>
struct StorageOf<DataType::kFp16> {
  using type = uint16_t;
};
template <>
struct StorageOf<DataType::kFp32> {
  using type = float;
};
template <>
struct StorageOf<DataType::kFp64> {
  using type = double;
};

// IEEE-754 binary16 conversions (round to nearest even; overflow gives +-inf).
uint16_t FloatToHalf(float f);
float HalfToFloat(uint16_t h);

// Product of the dims. kInvalidArgument for a negative dim or an overflow of int64.
Result<int64_t> ShapeElementCount(std::span<const int64_t> shape);
// "[2,3]" (as the error messages print shapes).
std::string ShapeToString(std::span<const int64_t> shape);

class Tensor {
 public:
  Tensor() = default;

  // A zero-filled tensor (empty strings for BYTES).
  static Result<Tensor> Zeros(std::string name, DataType datatype, std::vector<int64_t> shape);
  // Takes raw little-endian element bytes; size must be count * DataTypeSize. Not for BYTES.
  static Result<Tensor> FromRaw(std::string name, DataType datatype, std::vector<int64_t> shape,
                                std::vector<std::byte> raw);
  // A BYTES tensor; strings.size() must equal the element count.
  static Result<Tensor> FromStrings(std::string name, std::vector<int64_t> shape,
                                    std::vector<std::string> strings);
  // Copies typed values; T must be the storage type of `datatype` (StorageOf).
  template <typename T>
  static Result<Tensor> FromValues(std::string name, DataType datatype, std::vector<int64_t> shape,
                                   std::span<const T> values) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (DataTypeSize(datatype) != sizeof(T)) {
      return InvalidArgument("tensor '" + name + "': element type does not match " +
                             std::string(DataTypeName(datatype)));
    }
    std::vector<std::byte> raw(values.size_bytes());
    if (!values.empty()) std::memcpy(raw.data(), values.data(), values.size_bytes());
    return FromRaw(std::move(name), datatype, std::move(shape), std::move(raw));
  }

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  DataType datatype() const { return datatype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t element_count() const { return count_; }

  // The raw element bytes (empty for BYTES).
  std::span<const std::byte> raw() const { return raw_; }
  // Typed views; T must be the storage type (sizeof checked, precondition).
  template <typename T>
  std::span<const T> values() const {
    return {reinterpret_cast<const T*>(raw_.data()), raw_.size() / sizeof(T)};
  }
  template <typename T>
  std::span<T> mutable_values() {
    return {reinterpret_cast<T*>(raw_.data()), raw_.size() / sizeof(T)};
  }
  // BYTES elements (empty for other datatypes).
  const std::vector<std::string>& strings() const { return strings_; }
  std::vector<std::string>& mutable_strings() { return strings_; }

  // Element i as a double (BOOL 0/1, FP16 widened). Precondition: not BYTES, i < count.
  double AsDouble(int64_t i) const;

 private:
  std::string name_;
  DataType datatype_ = DataType::kFp32;
  std::vector<int64_t> shape_;
  int64_t count_ = 0;
  std::vector<std::byte> raw_;
  std::vector<std::string> strings_;
};

// An output the client asked for (OIP "outputs" of a request).
struct RequestedOutput {
  std::string name;
  // OIP binary tensor extension: answer this output in binary (true) or JSON
  // (false); unset: as the request's binary_data_output says.
  std::optional<bool> binary_data;
  std::string parameters_json;  // the raw "parameters" object, "" if absent
};

struct InferRequest {
  std::string id;  // "" if the client sent none
  std::vector<Tensor> inputs;
  std::vector<RequestedOutput> outputs;  // empty: all outputs
  std::string parameters_json;           // the raw request "parameters" object, "" if absent
  bool binary_data_output = false;       // parameters.binary_data_output: all outputs in binary
};

struct InferResponse {
  std::string model_name;
  std::string model_version;  // "" to omit
  std::string id;             // "" to omit
  std::vector<Tensor> outputs;
};

}  // namespace cairn::serving
