#include "model/runtime/xgboost_runtime.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "model/runtime/tree_ensemble.h"

namespace cairn::model {
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

std::vector<float> Inputs() {
  std::vector<float> inputs = ReadFloats(kTestdata + "/inputs.txt");
  EXPECT_EQ(inputs.size(), kRows * kCols);
  return inputs;
}

std::unique_ptr<XgboostModel> LoadOrDie(const std::string& name) {
  auto model = XgboostModel::Load(kTestdata + "/" + name);
  EXPECT_TRUE(model.has_value()) << name << ": " << model.error().ToString();
  return model ? std::move(*model) : nullptr;
}

// Copies a test model folder to a fresh temporary folder.
fs::path CopyModel(const std::string& name, const std::string& test_name) {
  fs::path dir =
      fs::temp_directory_path() / ("cairn_xgb_" + test_name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(kTestdata + "/" + name, dir, fs::copy_options::recursive);
  return dir;
}

void ExpectMatchesPython(const std::string& name, size_t outputs_per_row) {
  auto model = LoadOrDie(name);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->num_features(), kCols);
  EXPECT_EQ(model->num_outputs(), outputs_per_row);
  std::vector<float> expected = ReadFloats(kTestdata + "/" + name + ".expected.txt");
  ASSERT_EQ(expected.size(), kRows * outputs_per_row);

  std::vector<float> inputs = Inputs();
  auto got = model->Predict(inputs.data(), kRows, kCols);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  ASSERT_EQ(got->size(), expected.size());
  size_t bit_identical = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR((*got)[i], expected[i], 1e-6) << name << " value " << i;
    bit_identical += (*got)[i] == expected[i];
  }
  std::printf("[ info ] %s: %zu of %zu predictions bit-identical to Python xgboost\n", name.c_str(),
              bit_identical, expected.size());

  // Row by row gives the same values as the batch.
  for (size_t r = 0; r < kRows; ++r) {
    auto one = model->Predict(inputs.data() + r * kCols, 1, kCols);
    ASSERT_TRUE(one.has_value()) << one.error().ToString();
    ASSERT_EQ(one->size(), outputs_per_row);
    for (size_t k = 0; k < outputs_per_row; ++k) {
      EXPECT_EQ((*one)[k], (*got)[r * outputs_per_row + k]) << "row " << r;
    }
  }
}

TEST(XgboostRuntimeTest, BinaryClassifierUbjMatchesPython) { ExpectMatchesPython("binary_ubj", 1); }

TEST(XgboostRuntimeTest, RegressorJsonMatchesPython) { ExpectMatchesPython("regressor_json", 1); }

// Three classes with distinct per-class intercepts (xgboost >= 3.1): applied
// as base_margin, since libxgboost 1.7 has a single scalar base_score.
TEST(XgboostRuntimeTest, MulticlassUbjMatchesPython) { ExpectMatchesPython("multiclass_ubj", 3); }

TEST(XgboostRuntimeTest, ExposesManifest) {
  auto model = LoadOrDie("binary_ubj");
  ASSERT_NE(model, nullptr);
  ASSERT_TRUE(model->manifest().xgboost.has_value());
  EXPECT_EQ(model->manifest().xgboost->data, "model.ubj");
  EXPECT_EQ(model->manifest().xgboost->xgb_version, "3.2.0");
}

TEST(XgboostRuntimeTest, WrongFeatureCountIsInvalidArgument) {
  auto model = LoadOrDie("binary_ubj");
  ASSERT_NE(model, nullptr);
  std::vector<float> inputs = Inputs();
  auto got = model->Predict(inputs.data(), 2, 9);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(got.error().message(), "expected 10 features, got 9");
  got = model->Predict(inputs.data(), 1, 11);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().message(), "expected 10 features, got 11");
}

TEST(XgboostRuntimeTest, ZeroRowsGiveNoPredictions) {
  auto model = LoadOrDie("regressor_json");
  ASSERT_NE(model, nullptr);
  auto got = model->Predict(nullptr, 0, kCols);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_TRUE(got->empty());
}

void ExpectCorruptModelRejected(const std::string& name, const std::string& file,
                                const std::string& content, const std::string& test_name) {
  fs::path dir = CopyModel(name, test_name);
  {
    std::ofstream out(dir / file, std::ios::binary | std::ios::trunc);
    out << content;
  }
  auto model = XgboostModel::Load(dir.string());
  ASSERT_FALSE(model.has_value()) << test_name;
  EXPECT_EQ(model.error().code(), ErrorCode::kInvalidArgument) << model.error().ToString();
  EXPECT_NE(model.error().message().find("model file '" + file + "'"), std::string::npos)
      << model.error().message();
  fs::remove_all(dir);
}

TEST(XgboostRuntimeTest, CorruptModelFileIsInvalidArgumentNamingTheFile) {
  ExpectCorruptModelRejected("binary_ubj", "model.ubj", "this is not a model\n", "garbage");
  ExpectCorruptModelRejected("binary_ubj", "model.ubj", "", "empty");
  ExpectCorruptModelRejected("regressor_json", "model.json", "{\"learner\": {", "bad_json");
  // A UBJSON model cut in half.
  std::ifstream in(kTestdata + "/binary_ubj/model.ubj", std::ios::binary);
  std::stringstream whole;
  whole << in.rdbuf();
  std::string truncated = whole.str().substr(0, whole.str().size() / 2);
  ExpectCorruptModelRejected("binary_ubj", "model.ubj", truncated, "truncated");
}

TEST(XgboostRuntimeTest, ModelWithoutXgboostFlavorIsInvalidArgument) {
  fs::path dir = CopyModel("binary_ubj", "no_flavor");
  {
    std::ofstream out(dir / "MLmodel", std::ios::trunc);
    out << "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n";
  }
  auto model = XgboostModel::Load(dir.string());
  ASSERT_FALSE(model.has_value());
  EXPECT_EQ(model.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(model.error().message(), "model has no xgboost flavor (flavors: python_function)");
  fs::remove_all(dir);
}

TEST(XgboostRuntimeTest, MissingFolderIsNotFound) {
  auto model = XgboostModel::Load(kTestdata + "/no_such_model");
  ASSERT_FALSE(model.has_value());
  EXPECT_EQ(model.error().code(), ErrorCode::kNotFound);
}

TEST(XgboostRuntimeTest, ConcurrentPredictFromFourThreadsGivesTheSameAnswers) {
  for (const std::string name : {"binary_ubj", "multiclass_ubj"}) {
    auto model = LoadOrDie(name);
    ASSERT_NE(model, nullptr);
    std::vector<float> inputs = Inputs();
    auto reference = model->Predict(inputs.data(), kRows, kCols);
    ASSERT_TRUE(reference.has_value());
    const size_t per_row = model->num_outputs();

    constexpr int kThreads = 4;
    constexpr int kIterations = 300;
    std::vector<int> mismatches(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kIterations; ++i) {
          // Alternate batch sizes so threads' output buffers differ in size.
          size_t first = (t + i) % kRows;
          size_t n = (i % 2 == 0) ? 1 : kRows - first;
          auto got = model->Predict(inputs.data() + first * kCols, n, kCols);
          if (!got || got->size() != n * per_row) {
            ++mismatches[t];
            continue;
          }
          for (size_t k = 0; k < got->size(); ++k) {
            if ((*got)[k] != (*reference)[first * per_row + k]) {
              ++mismatches[t];
              break;
            }
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << name << " thread " << t;
  }
}

// Not a timed assertion: prints a rough single-row latency for the record.
TEST(XgboostRuntimeTest, ReportsSingleRowLatency) {
  for (const std::string name : {"binary_ubj", "multiclass_ubj"}) {
    for (int threads : {0, 1}) {
      auto loaded = XgboostModel::Load(kTestdata + "/" + name, {.num_threads = threads});
      ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
      std::vector<float> inputs = Inputs();
      constexpr int kIterations = 2000;
      float sink = 0;
      auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < kIterations; ++i) {
        auto got = (*loaded)->Predict(inputs.data() + (i % kRows) * kCols, 1, kCols);
        ASSERT_TRUE(got.has_value());
        sink += (*got)[0];
      }
      double us =
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
              .count() /
          kIterations;
      std::printf("[ info ] %s single-row predict (num_threads=%d): %.3f us/call\n", name.c_str(),
                  threads, us);
      EXPECT_TRUE(std::isfinite(sink));
    }
  }
}

// --- Native tree walker against the C API -------------------------------

const std::string kServeTestdata = CAIRN_SERVE_TESTDATA;

// Random rows for `model`: per value, 20 % NaN, 30 % one of the model's split
// thresholds exactly, 10 % the float just below a threshold, else normal(0, 2).
std::vector<float> RandomRows(const TreeEnsemble& ensemble, size_t n_rows, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> thresholds = ensemble.SplitThresholds();
  std::uniform_real_distribution<double> pick(0.0, 1.0);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::uniform_int_distribution<size_t> which(0, thresholds.empty() ? 0 : thresholds.size() - 1);
  std::vector<float> rows(n_rows * ensemble.num_features());
  for (float& value : rows) {
    double p = pick(rng);
    if (p < 0.2) {
      value = std::numeric_limits<float>::quiet_NaN();
    } else if (p < 0.5 && !thresholds.empty()) {
      value = thresholds[which(rng)];
    } else if (p < 0.6 && !thresholds.empty()) {
      value = std::nextafter(thresholds[which(rng)], -std::numeric_limits<float>::infinity());
    } else {
      value = normal(rng);
    }
  }
  return rows;
}

// Loads `folder`, requires the native path, and compares native predictions
// with the C API's on 4000 random rows, as a batch and row by row, with memcmp.
void ExpectNativeEqualsXgboost(const std::string& folder) {
  SCOPED_TRACE(folder);
  auto loaded = XgboostModel::Load(folder);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
  const XgboostModel& model = **loaded;
  ASSERT_TRUE(model.native()) << model.native_fallback_reason();
  EXPECT_EQ(model.native_fallback_reason(), "");
  const TreeEnsemble& ensemble = *model.tree_ensemble();
  ASSERT_GT(ensemble.num_trees(), 0u);
  constexpr size_t kRandomRows = 4000;
  const size_t cols = model.num_features();
  std::vector<float> rows = RandomRows(ensemble, kRandomRows, 1234);
  auto native = model.Predict(rows.data(), kRandomRows, cols);
  auto reference = model.PredictWithXgboost(rows.data(), kRandomRows, cols);
  ASSERT_TRUE(native.has_value()) << native.error().ToString();
  ASSERT_TRUE(reference.has_value()) << reference.error().ToString();
  ASSERT_EQ(native->size(), kRandomRows * model.num_outputs());
  ASSERT_EQ(native->size(), reference->size());
  size_t differing = 0;
  for (size_t i = 0; i < native->size(); ++i) {
    if (std::memcmp(&(*native)[i], &(*reference)[i], sizeof(float)) != 0) {
      if (++differing <= 5) {
        ADD_FAILURE() << "value " << i << ": native " << (*native)[i] << " xgboost "
                      << (*reference)[i];
      }
    }
  }
  EXPECT_EQ(differing, 0u);
  // Single rows (the serving case) give the same bits as the batch.
  for (size_t r = 0; r < 200; ++r) {
    auto one = model.Predict(rows.data() + r * cols, 1, cols);
    ASSERT_TRUE(one.has_value());
    ASSERT_EQ(one->size(), model.num_outputs());
    EXPECT_EQ(std::memcmp(one->data(), reference->data() + r * model.num_outputs(),
                          one->size() * sizeof(float)),
              0)
        << "row " << r;
  }
  // The predictions vary: a constant model would prove little.
  float first = (*native)[0];
  bool varies = false;
  for (float v : *native) varies = varies || v != first;
  EXPECT_TRUE(varies);
}

TEST(XgboostNativeTest, BinaryUbjMatchesXgboostExactly) {
  ExpectNativeEqualsXgboost(kTestdata + "/binary_ubj");
}
// Distinct per-class intercepts (xgboost >= 3.1): the C API gets them as
// base_margin, the walker as its per-class starting margins.
TEST(XgboostNativeTest, MulticlassWithPerClassInterceptsMatchesXgboostExactly) {
  ExpectNativeEqualsXgboost(kTestdata + "/multiclass_ubj");
}
TEST(XgboostNativeTest, RegressorJsonMatchesXgboostExactly) {
  ExpectNativeEqualsXgboost(kTestdata + "/regressor_json");
}
TEST(XgboostNativeTest, ServeTestModelsMatchXgboostExactly) {
  ExpectNativeEqualsXgboost(kServeTestdata + "/xgb_frame_example");
  ExpectNativeEqualsXgboost(kServeTestdata + "/xgb_ndarray_example");
}
TEST(XgboostNativeTest, BinaryLogisticWithMissingValuesMatchesXgboostExactly) {
  ExpectNativeEqualsXgboost(kTestdata + "/native_binary");
}
TEST(XgboostNativeTest, SoftprobMatchesXgboostExactly) {
  ExpectNativeEqualsXgboost(kTestdata + "/native_softprob");
}
TEST(XgboostNativeTest, SoftmaxMatchesXgboostExactly) {
  ExpectNativeEqualsXgboost(kTestdata + "/native_softmax");
}
TEST(XgboostNativeTest, RegressionMatchesXgboostExactly) {
  ExpectNativeEqualsXgboost(kTestdata + "/native_regression");
}
TEST(XgboostNativeTest, LogitrawMatchesXgboostExactly) {
  ExpectNativeEqualsXgboost(kTestdata + "/native_logitraw");
}
TEST(XgboostNativeTest, PoissonMatchesXgboostExactly) {
  ExpectNativeEqualsXgboost(kTestdata + "/native_poisson");
}

TEST(XgboostNativeTest, NativeModelsReportTheirObjective) {
  const std::pair<const char*, const char*> cases[] = {
      {"native_binary", "binary:logistic"},   {"native_softprob", "multi:softprob"},
      {"native_softmax", "multi:softmax"},    {"native_regression", "reg:squarederror"},
      {"native_logitraw", "binary:logitraw"}, {"native_poisson", "count:poisson"}};
  for (const auto& [name, objective] : cases) {
    auto model = LoadOrDie(name);
    ASSERT_NE(model, nullptr);
    ASSERT_TRUE(model->native()) << name << ": " << model->native_fallback_reason();
    EXPECT_EQ(model->tree_ensemble()->objective(), objective);
  }
  auto softprob = LoadOrDie("native_softprob");
  EXPECT_EQ(softprob->num_outputs(), 3u);
  EXPECT_EQ(softprob->tree_ensemble()->num_groups(), 3u);
  auto softmax = LoadOrDie("native_softmax");
  EXPECT_EQ(softmax->num_outputs(), 1u);
  EXPECT_EQ(softmax->tree_ensemble()->num_groups(), 3u);
}

void ExpectFallback(const std::string& name, const std::string& reason) {
  auto model = LoadOrDie(name);
  ASSERT_NE(model, nullptr);
  EXPECT_FALSE(model->native()) << name;
  EXPECT_EQ(model->tree_ensemble(), nullptr);
  EXPECT_NE(model->native_fallback_reason().find(reason), std::string::npos)
      << name << ": " << model->native_fallback_reason();
  // The C-API path still predicts.
  std::vector<float> row(model->num_features(), 0.5f);
  auto got = model->Predict(row.data(), 1, row.size());
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(got->size(), model->num_outputs());
}

TEST(XgboostNativeTest, UnsupportedModelsKeepTheCApiPath) {
  ExpectFallback("fallback_dart", "booster 'dart' is not gbtree");
  ExpectFallback("fallback_hinge", "objective 'binary:hinge' is not supported");
  ExpectFallback("fallback_categorical", "categorical splits are not supported");
}

TEST(XgboostNativeTest, NativeTreesOptionForcesTheCApiPath) {
  auto model = XgboostModel::Load(kTestdata + "/binary_ubj", {.native_trees = false});
  ASSERT_TRUE(model.has_value()) << model.error().ToString();
  EXPECT_FALSE((*model)->native());
  EXPECT_EQ((*model)->native_fallback_reason(), "disabled by XgboostOptions::native_trees");
}

TEST(XgboostNativeTest, NativePredictValidatesItsInput) {
  auto model = LoadOrDie("binary_ubj");
  ASSERT_NE(model, nullptr);
  ASSERT_TRUE(model->native());
  auto got = model->Predict(nullptr, 1, kCols);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kInvalidArgument);
  got = model->Predict(nullptr, 1, 3);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().message(), "expected 10 features, got 3");
}

// Not a timed assertion: one-row latency, native walker against the C API.
TEST(XgboostNativeTest, ReportsNativeVersusCApiLatency) {
  for (const std::string name : {"binary_ubj", "native_softprob"}) {
    auto model = LoadOrDie(name);
    ASSERT_NE(model, nullptr);
    ASSERT_TRUE(model->native());
    std::vector<float> rows = RandomRows(*model->tree_ensemble(), 64, 99);
    const size_t cols = model->num_features();
    constexpr int kIterations = 20000;
    double us[2];
    for (int use_c_api : {0, 1}) {
      float sink = 0;
      auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < kIterations; ++i) {
        const float* row = rows.data() + (i % 64) * cols;
        auto got =
            use_c_api ? model->PredictWithXgboost(row, 1, cols) : model->Predict(row, 1, cols);
        ASSERT_TRUE(got.has_value());
        sink += (*got)[0];
      }
      us[use_c_api] =
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
              .count() /
          kIterations;
      EXPECT_FALSE(std::isinf(sink));
    }
    std::printf("[ info ] %s one-row predict: native %.2f us, C API %.2f us (%.2f us saved)\n",
                name.c_str(), us[0], us[1], us[1] - us[0]);
  }
}

}  // namespace
}  // namespace cairn::model
