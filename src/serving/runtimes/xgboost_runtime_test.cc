#include "serving/runtimes/xgboost_runtime.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "serving/mlflow_scoring.h"
#include "serving/model_input.h"
#include "serving/oip_json.h"

namespace cairn::serving {
namespace {

namespace fs = std::filesystem;

const std::string kTestdata = CAIRN_XGBOOST_TESTDATA;
constexpr size_t kRows = 20;
constexpr size_t kCols = 10;

// Whitespace-separated floats ("nan" allowed), as numpy.savetxt writes them.
std::vector<float> ReadFloats(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::vector<float> values;
  std::string token;
  while (in >> token) values.push_back(std::strtof(token.c_str(), nullptr));
  return values;
}

std::vector<float> Inputs() { return ReadFloats(kTestdata + "/inputs.txt"); }
std::vector<float> Expected(const std::string& name) {
  return ReadFloats(kTestdata + "/" + name + ".expected.txt");
}

std::unique_ptr<Runtime> LoadOrDie(const std::string& folder, XgboostRuntimeOptions options = {}) {
  auto runtime = LoadXgboostRuntime(folder, options);
  EXPECT_TRUE(runtime) << folder << ": " << runtime.error().ToString();
  return runtime ? std::move(*runtime) : nullptr;
}

// Labels as XGBClassifier.predict gives them, from Python's probabilities.
std::vector<int64_t> LabelsOf(const std::vector<float>& proba, size_t classes) {
  std::vector<int64_t> labels;
  for (size_t r = 0; r < proba.size() / classes; ++r) {
    const float* p = proba.data() + r * classes;
    if (classes == 1) {
      labels.push_back(p[0] > 0.5f ? 1 : 0);
    } else {
      labels.push_back(std::max_element(p, p + classes) - p);
    }
  }
  return labels;
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  auto v = t.values<T>();
  return {v.begin(), v.end()};
}

// The inputs as one [rows, 10] FP32 tensor.
ModelInput TensorInput(const std::vector<float>& inputs, size_t rows = kRows) {
  ModelInput in;
  in.kind = ModelInput::Kind::kTensors;
  in.rows = static_cast<int64_t>(rows);
  in.tensors.push_back(*Tensor::FromValues<float>(
      "", DataType::kFp32, {static_cast<int64_t>(rows), static_cast<int64_t>(kCols)},
      std::span<const float>(inputs.data(), rows * kCols)));
  return in;
}

// Ten double columns named `prefix`0..9.
model::Signature ColumnSignature(const std::string& prefix = "c") {
  std::string json = "[";
  for (size_t i = 0; i < kCols; ++i) {
    json += (i ? "," : "") + std::string(R"({"name":")") + prefix + std::to_string(i) +
            R"(","type":"double"})";
  }
  auto sig = model::ParseSignature(json + "]", std::nullopt, std::nullopt);
  EXPECT_TRUE(sig) << sig.error().message();
  return *sig;
}

std::string Num(float v) {
  if (std::isnan(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// An OIP request of rows [first, first+rows) as one [rows,10] FP32 tensor.
std::string OipBody(const std::vector<float>& inputs, size_t first, size_t rows) {
  std::string body = R"({"inputs":[{"name":"input","datatype":"FP32","shape":[)" +
                     std::to_string(rows) + "," + std::to_string(kCols) + R"(],"data":[)";
  for (size_t i = first * kCols; i < (first + rows) * kCols; ++i) {
    body += (i > first * kCols ? "," : "");
    body += std::isnan(inputs[i]) ? std::string("\"NaN\"") : Num(inputs[i]);
  }
  return body + "]}]}";
}

// dataframe_split with columns c0..c9 (nan as null), columns in reverse order.
std::string DataframeSplitBody(const std::vector<float>& inputs) {
  std::string body = R"({"dataframe_split":{"columns":[)";
  for (size_t c = kCols; c-- > 0;) body += "\"c" + std::to_string(c) + "\"" + (c ? "," : "");
  body += R"(],"data":[)";
  for (size_t r = 0; r < kRows; ++r) {
    body += r ? ",[" : "[";
    for (size_t c = kCols; c-- > 0;) body += Num(inputs[r * kCols + c]) + (c ? "," : "");
    body += "]";
  }
  return body + "]}}";
}

fs::path CopyModel(const std::string& name, const std::string& test_name) {
  fs::path dir = fs::temp_directory_path() /
                 ("cairn_xgb_adapter_" + test_name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(kTestdata + "/" + name, dir, fs::copy_options::recursive);
  return dir;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

TEST(XgboostServingRuntimeTest, BinaryClassifierAnswersLabelsAndProbabilities) {
  XgboostRuntimeOptions options;
  options.with_probabilities = true;
  auto runtime = LoadOrDie(kTestdata + "/binary_ubj", options);
  ASSERT_NE(runtime, nullptr);
  EXPECT_EQ(runtime->platform(), "xgboost");
  const std::vector<float> expected = Expected("binary_ubj");
  auto out = runtime->Predict(TensorInput(Inputs()));
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_FALSE(out->frame);
  ASSERT_EQ(out->tensors.size(), 2u);
  const Tensor& labels = out->tensors[0];
  EXPECT_EQ(labels.name(), "predict");
  EXPECT_EQ(labels.datatype(), DataType::kInt64);
  EXPECT_EQ(labels.shape(), std::vector<int64_t>{20});
  const std::vector<int64_t> want = LabelsOf(expected, 1);
  EXPECT_EQ(Values<int64_t>(labels), want);
  // Both classes occur, so a constant answer would fail.
  EXPECT_NE(std::count(want.begin(), want.end(), 1), 0);
  EXPECT_NE(std::count(want.begin(), want.end(), 0), 0);

  const Tensor& proba = out->tensors[1];
  EXPECT_EQ(proba.name(), "predict_proba");
  EXPECT_EQ(proba.datatype(), DataType::kFp32);
  EXPECT_EQ(proba.shape(), (std::vector<int64_t>{20, 2}));
  auto p = proba.values<float>();
  for (size_t r = 0; r < kRows; ++r) {
    EXPECT_NEAR(p[r * 2 + 1], expected[r], 1e-6) << r;
    EXPECT_NEAR(p[r * 2], 1.0f - expected[r], 1e-6) << r;
  }

  // Off by default.
  auto plain = LoadOrDie(kTestdata + "/binary_ubj");
  auto labels_only = plain->Predict(TensorInput(Inputs()));
  ASSERT_TRUE(labels_only) << labels_only.error().ToString();
  EXPECT_EQ(labels_only->tensors.size(), 1u);
}

TEST(XgboostServingRuntimeTest, MulticlassArgmax) {
  XgboostRuntimeOptions options;
  options.with_probabilities = true;
  auto runtime = LoadOrDie(kTestdata + "/multiclass_ubj", options);
  ASSERT_NE(runtime, nullptr);
  const std::vector<float> expected = Expected("multiclass_ubj");
  ASSERT_EQ(expected.size(), kRows * 3);
  auto out = runtime->Predict(TensorInput(Inputs()));
  ASSERT_TRUE(out) << out.error().ToString();
  const std::vector<int64_t> want = LabelsOf(expected, 3);
  EXPECT_EQ(Values<int64_t>(out->tensors[0]), want);
  EXPECT_NE(std::count(want.begin(), want.end(), 2), 0);
  EXPECT_EQ(out->tensors[1].shape(), (std::vector<int64_t>{20, 3}));
  auto p = out->tensors[1].values<float>();
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(p[i], expected[i], 1e-6) << i;
}

TEST(XgboostServingRuntimeTest, RegressorAnswersValuesEvenWithProbabilitiesOn) {
  XgboostRuntimeOptions options;
  options.with_probabilities = true;
  auto runtime = LoadOrDie(kTestdata + "/regressor_json", options);
  ASSERT_NE(runtime, nullptr);
  const std::vector<float> expected = Expected("regressor_json");
  auto out = runtime->Predict(TensorInput(Inputs()));
  ASSERT_TRUE(out) << out.error().ToString();
  ASSERT_EQ(out->tensors.size(), 1u);
  const Tensor& t = out->tensors[0];
  EXPECT_EQ(t.name(), "predict");
  EXPECT_EQ(t.datatype(), DataType::kFp32);
  EXPECT_EQ(t.shape(), std::vector<int64_t>{20});
  auto v = t.values<float>();
  for (size_t r = 0; r < kRows; ++r) EXPECT_NEAR(v[r], expected[r], 1e-6) << r;
}

TEST(XgboostServingRuntimeTest, OipRequestThroughColumnSignatureToLabels) {
  auto runtime = LoadOrDie(kTestdata + "/binary_ubj");
  ASSERT_NE(runtime, nullptr);
  const std::vector<float> inputs = Inputs();
  auto request = ParseOipInferRequest(OipBody(inputs, 0, kRows));
  ASSERT_TRUE(request) << request.error().message();
  auto in = ConformOipInput(std::move(*request), ColumnSignature());
  ASSERT_TRUE(in) << in.error().message();
  ASSERT_EQ(in->kind, ModelInput::Kind::kColumns);
  ASSERT_EQ(in->tensors.size(), kCols);
  EXPECT_EQ(in->tensors[0].datatype(), DataType::kFp64);
  auto out = runtime->Predict(*in);
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(Values<int64_t>(out->tensors[0]), LabelsOf(Expected("binary_ubj"), 1));
}

TEST(XgboostServingRuntimeTest, DataframeSplitThroughColumnSignatureToValues) {
  auto runtime = LoadOrDie(kTestdata + "/regressor_json");
  ASSERT_NE(runtime, nullptr);
  // The body lists the columns in reverse; the signature puts them back.
  auto request = ParseScoringJson(DataframeSplitBody(Inputs()));
  ASSERT_TRUE(request) << request.error().message();
  auto in = ConformScoringInput(std::move(*request), ColumnSignature());
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(in->tensors[0].name(), "c0");
  auto out = runtime->Predict(*in);
  ASSERT_TRUE(out) << out.error().ToString();
  const std::vector<float> expected = Expected("regressor_json");
  auto v = out->tensors[0].values<float>();
  ASSERT_EQ(v.size(), kRows);
  for (size_t r = 0; r < kRows; ++r) EXPECT_NEAR(v[r], expected[r], 1e-6) << r;
}

TEST(XgboostServingRuntimeTest, BatchOfSingleRowRequestsSplitsBack) {
  auto runtime = LoadOrDie(kTestdata + "/multiclass_ubj");
  ASSERT_NE(runtime, nullptr);
  const std::vector<float> inputs = Inputs();
  const auto sig = ColumnSignature();
  std::vector<ModelInput> requests;
  std::vector<int64_t> rows;
  for (size_t r = 0; r < kRows; ++r) {
    auto request = ParseOipInferRequest(OipBody(inputs, r, 1));
    ASSERT_TRUE(request) << request.error().message();
    auto in = ConformOipInput(std::move(*request), sig);
    ASSERT_TRUE(in) << in.error().message();
    if (!requests.empty()) {
      ASSERT_TRUE(Compatible(requests[0], *in));
    }
    requests.push_back(std::move(*in));
    rows.push_back(1);
  }
  ModelInput batch = ConcatInputs(requests);
  EXPECT_EQ(batch.rows, 20);
  auto out = runtime->Predict(batch);
  ASSERT_TRUE(out) << out.error().ToString();
  auto pieces = SplitOutput(*out, rows);
  ASSERT_TRUE(pieces) << pieces.error().message();
  const std::vector<int64_t> want = LabelsOf(Expected("multiclass_ubj"), 3);
  for (size_t r = 0; r < kRows; ++r) {
    EXPECT_EQ(Values<int64_t>((*pieces)[r].tensors[0]), std::vector<int64_t>{want[r]}) << r;
  }
}

TEST(XgboostServingRuntimeTest, FeatureNamesChooseTheColumns) {
  fs::path dir = CopyModel("regressor_json", "names");
  std::string json = ReadText(dir / "model.json");
  std::string names = "\"feature_names\":[", types = "\"feature_types\":[";
  for (size_t i = 0; i < kCols; ++i) {
    names += (i ? ",\"f" : "\"f") + std::to_string(i) + "\"";
    types += (i ? ",\"float\"" : "\"float\"");
  }
  const auto replace = [&](const std::string& from, const std::string& to) {
    const size_t at = json.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    json.replace(at, from.size(), to);
  };
  replace("\"feature_names\":[]", names + "]");
  replace("\"feature_types\":[]", types + "]");
  WriteText(dir / "model.json", json);

  auto runtime = LoadOrDie(dir.string());
  ASSERT_NE(runtime, nullptr);
  // No signature: the frame passes through with its own column order (reversed).
  std::string body = DataframeSplitBody(Inputs());
  for (size_t c = 0; c < kCols; ++c) {
    const std::string from = "\"c" + std::to_string(c) + "\"";
    body.replace(body.find(from), from.size(), "\"f" + std::to_string(c) + "\"");
  }
  auto request = ParseScoringJson(body);
  ASSERT_TRUE(request) << request.error().message();
  auto in = ConformScoringInput(std::move(*request), std::nullopt);
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(in->tensors[0].name(), "f9");
  auto out = runtime->Predict(*in);
  ASSERT_TRUE(out) << out.error().ToString();
  const std::vector<float> expected = Expected("regressor_json");
  auto v = out->tensors[0].values<float>();
  for (size_t r = 0; r < kRows; ++r) EXPECT_NEAR(v[r], expected[r], 1e-6) << r;

  // Without f3: named, even though ten columns arrive.
  ModelInput missing = *in;
  missing.tensors[6].set_name("other");  // f3 (reversed order)
  auto err = runtime->Predict(missing);
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(err.error().message(), "missing column 'f3'");
  fs::remove_all(dir);
}

TEST(XgboostServingRuntimeTest, SignatureOutputNameNamesTheOutput) {
  fs::path dir = CopyModel("binary_ubj", "outname");
  std::string mlmodel = ReadText(dir / "MLmodel");
  mlmodel +=
      "signature:\n  inputs: null\n  outputs: '[{\"name\": \"label\", \"type\": \"long\"}]'\n"
      "  params: null\n";
  WriteText(dir / "MLmodel", mlmodel);
  auto runtime = LoadOrDie(dir.string());
  ASSERT_NE(runtime, nullptr);
  auto out = runtime->Predict(TensorInput(Inputs(), 2));
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(out->tensors[0].name(), "label");
  EXPECT_EQ(out->tensors[0].shape(), std::vector<int64_t>{2});
  fs::remove_all(dir);
}

TEST(XgboostServingRuntimeTest, InputErrorsNameTheProblem) {
  auto runtime = LoadOrDie(kTestdata + "/binary_ubj");
  ASSERT_NE(runtime, nullptr);
  auto message = [&](const ModelInput& in) {
    auto r = runtime->Predict(in);
    if (r) return std::string("<predicted>");
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().message();
    return r.error().message();
  };
  const std::vector<float> inputs = Inputs();

  ModelInput narrow;
  narrow.kind = ModelInput::Kind::kTensors;
  narrow.rows = 1;
  narrow.tensors.push_back(*Tensor::FromValues<float>("x", DataType::kFp32, {1, 9},
                                                      std::span<const float>(inputs.data(), 9)));
  EXPECT_EQ(message(narrow), "expected 10 features, got 9");

  ModelInput two = TensorInput(inputs, 1);
  two.tensors.push_back(two.tensors[0]);
  EXPECT_EQ(message(two), "the XGBoost model takes one tensor [-1,10], got 2 tensors");

  ModelInput strings;
  strings.kind = ModelInput::Kind::kTensors;
  strings.rows = 1;
  strings.tensors.push_back(*Tensor::FromStrings("x", {1, 10}, std::vector<std::string>(10, "a")));
  EXPECT_EQ(message(strings), "input 'x': expected numbers, got BYTES (strings)");

  auto request = ParseOipInferRequest(OipBody(inputs, 0, 2));
  ASSERT_TRUE(request);
  auto columns = ConformOipInput(std::move(*request), ColumnSignature());
  ASSERT_TRUE(columns) << columns.error().message();
  ModelInput nine = *columns;
  nine.tensors.pop_back();
  EXPECT_EQ(message(nine), "expected 10 features, got 9");
  ModelInput text = *columns;
  text.tensors[3] = *Tensor::FromStrings("c3", {2}, {"a", "b"});
  EXPECT_EQ(message(text), "column 'c3': expected numbers, got BYTES (strings)");

  // Integer and boolean columns convert to float.
  ModelInput ints = *columns;
  ints.tensors[0] =
      *Tensor::FromValues<int64_t>("c0", DataType::kInt64, {2}, std::vector<int64_t>{1, 0});
  ints.tensors[1] =
      *Tensor::FromValues<uint8_t>("c1", DataType::kBool, {2}, std::vector<uint8_t>{1, 0});
  auto ok = runtime->Predict(ints);
  ASSERT_TRUE(ok) << ok.error().ToString();
  ModelInput same = *columns;
  same.tensors[0] =
      *Tensor::FromValues<double>("c0", DataType::kFp64, {2}, std::vector<double>{1, 0});
  same.tensors[1] =
      *Tensor::FromValues<float>("c1", DataType::kFp32, {2}, std::vector<float>{1, 0});
  auto same_out = runtime->Predict(same);
  ASSERT_TRUE(same_out) << same_out.error().ToString();
  EXPECT_EQ(Values<int64_t>(ok->tensors[0]), Values<int64_t>(same_out->tensors[0]));
}

TEST(XgboostServingRuntimeTest, ConcurrentPredictsAndShutdown) {
  auto runtime = LoadOrDie(kTestdata + "/regressor_json");
  ASSERT_NE(runtime, nullptr);
  const ModelInput in = TensorInput(Inputs());
  const std::vector<float> expected = Expected("regressor_json");
  std::vector<int> good(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto out = runtime->Predict(in);
        if (out && std::fabs(out->tensors[0].values<float>()[7] - expected[7]) < 1e-6) ++good[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good, std::vector<int>(4, 25));

  runtime->Shutdown();
  runtime->Shutdown();  // idempotent
  auto after = runtime->Predict(in);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code(), ErrorCode::kUnavailable);
}

TEST(XgboostServingRuntimeTest, LoadErrors) {
  auto missing = LoadXgboostRuntime(kTestdata + "/no_such_model");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace cairn::serving
