#include "model/runtime/xgboost_runtime.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

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
      std::printf("[ info ] %s single-row predict (num_threads=%d): %.1f us/call\n", name.c_str(),
                  threads, us);
      EXPECT_TRUE(std::isfinite(sink));
    }
  }
}

}  // namespace
}  // namespace cairn::model
