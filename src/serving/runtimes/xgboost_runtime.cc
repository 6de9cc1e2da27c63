#include "serving/runtimes/xgboost_runtime.h"

#include <atomic>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/log.h"

namespace cairn::serving {
namespace {

// Writes the `n` elements of `t` (row-major) as floats to out[i * out_stride].
// One switch on the datatype, then a plain loop. False for BYTES.
bool ToFloats(const Tensor& t, size_t n, float* out, size_t out_stride) {
  auto scatter = [&](const auto* in, auto convert) {
    for (size_t i = 0; i < n; ++i) out[i * out_stride] = convert(in[i]);
  };
  auto cast = [](auto v) { return static_cast<float>(v); };
  switch (t.datatype()) {
    case DataType::kBool:
      scatter(t.values<uint8_t>().data(), [](uint8_t v) { return v ? 1.0f : 0.0f; });
      return true;
    case DataType::kUint8:
      scatter(t.values<uint8_t>().data(), cast);
      return true;
    case DataType::kUint16:
      scatter(t.values<uint16_t>().data(), cast);
      return true;
    case DataType::kUint32:
      scatter(t.values<uint32_t>().data(), cast);
      return true;
    case DataType::kUint64:
      scatter(t.values<uint64_t>().data(), cast);
      return true;
    case DataType::kInt8:
      scatter(t.values<int8_t>().data(), cast);
      return true;
    case DataType::kInt16:
      scatter(t.values<int16_t>().data(), cast);
      return true;
    case DataType::kInt32:
      scatter(t.values<int32_t>().data(), cast);
      return true;
    case DataType::kInt64:
      scatter(t.values<int64_t>().data(), cast);
      return true;
    case DataType::kFp16:
      scatter(t.values<uint16_t>().data(), [](uint16_t v) { return HalfToFloat(v); });
      return true;
    case DataType::kFp32:
      if (out_stride == 1) {
        std::memcpy(out, t.raw().data(), n * sizeof(float));
      } else {
        scatter(t.values<float>().data(), cast);
      }
      return true;
    case DataType::kFp64:
      scatter(t.values<double>().data(), cast);
      return true;
    case DataType::kBytes:
      return false;
  }
  return false;
}

std::string Label(const Tensor& t, bool column) {
  if (t.name().empty()) return "the input";
  return (column ? "column '" : "input '") + t.name() + "'";
}

bool IsClassifier(const model::ModelManifest& manifest) {
  constexpr std::string_view kSuffix = "XGBClassifier";
  return manifest.xgboost && manifest.xgboost->model_class.ends_with(kSuffix);
}

// The signature's single output name, else "predict".
std::string OutputName(const model::ModelManifest& manifest) {
  if (manifest.signature && manifest.signature->outputs) {
    const model::Schema& out = *manifest.signature->outputs;
    if (out.is_tensor && out.tensors.size() == 1 && out.tensors[0].name) {
      return *out.tensors[0].name;
    }
    if (!out.is_tensor && out.columns.size() == 1 && out.columns[0].name) {
      return *out.columns[0].name;
    }
  }
  return "predict";
}

class XgboostRuntime final : public Runtime {
 public:
  XgboostRuntime(std::unique_ptr<model::XgboostModel> model, const XgboostRuntimeOptions& options)
      : model_(std::move(model)),
        classifier_(IsClassifier(model_->manifest())),
        with_probabilities_(options.with_probabilities),
        output_name_(OutputName(model_->manifest())) {}
  ~XgboostRuntime() override { Shutdown(); }

  std::string_view platform() const override { return "xgboost"; }

  Result<ModelOutput> Predict(const ModelInput& input) override {
    // The model stays loaded until destruction: a Predict racing Shutdown is safe.
    if (shut_down_.load(std::memory_order_acquire)) {
      return Unavailable("the XGBoost model was unloaded");
    }
    CAIRN_ASSIGN_OR_RETURN(std::vector<float> matrix, Matrix(input));
    const size_t rows = static_cast<size_t>(input.rows);
    CAIRN_ASSIGN_OR_RETURN(std::vector<float> raw,
                           model_->Predict(matrix.data(), rows, model_->num_features()));
    const size_t k = model_->num_outputs();
    if (raw.size() != rows * k) {
      return Internal("XGBoost returned " + std::to_string(raw.size()) + " values for " +
                      std::to_string(rows) + " rows of " + std::to_string(k) + " outputs");
    }
    ModelOutput output;
    if (!classifier_) {
      std::vector<int64_t> shape = {input.rows};
      if (k != 1) shape.push_back(static_cast<int64_t>(k));
      CAIRN_ASSIGN_OR_RETURN(Tensor t, Tensor::FromValues<float>(output_name_, DataType::kFp32,
                                                                 std::move(shape), raw));
      output.tensors.push_back(std::move(t));
      return output;
    }
    std::vector<int64_t> labels(rows);
    for (size_t r = 0; r < rows; ++r) {
      const float* p = raw.data() + r * k;
      if (k == 1) {
        labels[r] = p[0] > 0.5f ? 1 : 0;
      } else {
        size_t best = 0;  // the first maximum, as numpy.argmax
        for (size_t c = 1; c < k; ++c) {
          if (p[c] > p[best]) best = c;
        }
        labels[r] = static_cast<int64_t>(best);
      }
    }
    CAIRN_ASSIGN_OR_RETURN(Tensor t, Tensor::FromValues<int64_t>(output_name_, DataType::kInt64,
                                                                 {input.rows}, labels));
    output.tensors.push_back(std::move(t));
    if (with_probabilities_) {
      // Binary: [1-p, p] per row, as scikit-learn's predict_proba.
      std::vector<float> proba;
      if (k == 1) {
        proba.reserve(rows * 2);
        for (float p : raw) {
          proba.push_back(1.0f - p);
          proba.push_back(p);
        }
      } else {
        proba = std::move(raw);
      }
      const int64_t width = k == 1 ? 2 : static_cast<int64_t>(k);
      CAIRN_ASSIGN_OR_RETURN(Tensor pt, Tensor::FromValues<float>("predict_proba", DataType::kFp32,
                                                                  {input.rows, width}, proba));
      output.tensors.push_back(std::move(pt));
    }
    return output;
  }

  void Shutdown() override { shut_down_.store(true, std::memory_order_release); }

 private:
  // The dense row-major float matrix [rows, num_features] of the input.
  Result<std::vector<float>> Matrix(const ModelInput& input) const {
    const size_t features = model_->num_features();
    const size_t rows = static_cast<size_t>(input.rows);
    for (const Tensor& t : input.tensors) {
      if (t.shape().empty() || t.shape()[0] != input.rows) {
        return InvalidArgument(
            Label(t, false) + " has " +
            (t.shape().empty() ? std::string("no") : std::to_string(t.shape()[0])) +
            " rows, the input has " + std::to_string(input.rows));
      }
    }
    std::vector<float> matrix(rows * features);
    if (input.kind == ModelInput::Kind::kTensors) {
      if (input.tensors.size() != 1) {
        return InvalidArgument("the XGBoost model takes one tensor [-1," +
                               std::to_string(features) + "], got " +
                               std::to_string(input.tensors.size()) + " tensors");
      }
      const Tensor& t = input.tensors[0];
      const auto& shape = t.shape();
      if (shape.size() == 2 && static_cast<size_t>(shape[1]) != features) {
        return InvalidArgument("expected " + std::to_string(features) + " features, got " +
                               std::to_string(shape[1]));
      }
      if (!(shape.size() == 2 || (shape.size() == 1 && features == 1))) {
        return InvalidArgument(Label(t, false) + ": expected shape [-1," +
                               std::to_string(features) + "], got " + ShapeToString(shape));
      }
      if (!ToFloats(t, rows * features, matrix.data(), 1)) {
        return InvalidArgument(Label(t, false) + ": expected numbers, got BYTES (strings)");
      }
      return matrix;
    }
    // kColumns: by the model's feature names when it has them, else in order.
    const auto& names = model_->feature_names();
    std::vector<const Tensor*> columns;
    columns.reserve(features);
    if (!names.empty()) {
      for (const std::string& name : names) {
        const Tensor* found = nullptr;
        for (const Tensor& t : input.tensors) {
          if (t.name() == name) {
            found = &t;
            break;
          }
        }
        if (!found) return InvalidArgument("missing column '" + name + "'");
        columns.push_back(found);
      }
    } else {
      for (const Tensor& t : input.tensors) columns.push_back(&t);
    }
    if (columns.size() != features) {
      return InvalidArgument("expected " + std::to_string(features) + " features, got " +
                             std::to_string(columns.size()));
    }
    for (size_t c = 0; c < features; ++c) {
      const Tensor& t = *columns[c];
      const auto& shape = t.shape();
      if (!(shape.size() == 1 || (shape.size() == 2 && shape[1] == 1))) {
        return InvalidArgument(Label(t, true) + ": expected shape [-1] or [-1,1], got " +
                               ShapeToString(shape));
      }
      if (!ToFloats(t, rows, matrix.data() + c, features)) {
        return InvalidArgument(Label(t, true) + ": expected numbers, got BYTES (strings)");
      }
    }
    return matrix;
  }

  std::unique_ptr<model::XgboostModel> model_;
  const bool classifier_;
  const bool with_probabilities_;
  const std::string output_name_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace

Result<std::unique_ptr<Runtime>> LoadXgboostRuntime(const std::string& folder,
                                                    const XgboostRuntimeOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<model::XgboostModel> model,
                         model::XgboostModel::Load(folder, options.xgboost));
  if (model->native()) {
    CAIRN_LOG_INFO("xgboost model {}: predicting with the native tree walker", folder);
  } else {
    CAIRN_LOG_INFO("xgboost model {}: predicting through XGBoost's C API ({})", folder,
                   model->native_fallback_reason());
  }
  return std::unique_ptr<Runtime>(std::make_unique<XgboostRuntime>(std::move(model), options));
}

}  // namespace cairn::serving
