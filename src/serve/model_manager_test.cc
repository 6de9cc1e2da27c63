// ModelManager, LoadedVersion and the model sources, with real models:
//  - the XGBoost test models of model/runtime/testdata (binary_ubj answers
//    class labels, regressor_json raw values), and serve/testdata's copies of
//    binary_ubj saved by MLflow with an input example (generate.py);
//  - a live control plane (tests/support LiveServer, SQLite + local
//    artifacts) holding a registered model whose versions are those folders
//    uploaded as run artifacts, for registry following and hot swap.

#include "serve/model_manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/registry_client.h"
#include "client/tracking_client.h"
#include "core/metrics.h"
#include "support/live_server.h"
#include "support/temp_files.h"

namespace cairn::serve {
namespace {

namespace fs = std::filesystem;
using serving::DataType;
using serving::ModelInput;
using serving::ModelOutput;
using serving::Tensor;

const std::string kXgb = CAIRN_XGBOOST_TESTDATA;
const std::string kServeData = CAIRN_SERVE_TESTDATA;
const std::string kBinary = kXgb + "/binary_ubj";
const std::string kRegressor = kXgb + "/regressor_json";

std::vector<double> ReadNumbers(const std::string& path) {
  std::ifstream in(path);
  std::vector<double> out;
  std::string word;
  while (in >> word) out.push_back(word == "nan" ? std::nan("") : std::stod(word));
  return out;
}

// inputs.txt: 20 rows x 10 features.
const std::vector<double>& Features() {
  static const std::vector<double> features = ReadNumbers(kXgb + "/inputs.txt");
  return features;
}
// Class labels of binary_ubj (Python's probabilities > 0.5) and the raw
// predictions of regressor_json, per row of inputs.txt.
std::vector<int64_t> BinaryLabels() {
  std::vector<int64_t> labels;
  for (double p : ReadNumbers(kXgb + "/binary_ubj.expected.txt")) labels.push_back(p > 0.5);
  return labels;
}
std::vector<double> RegressorValues() { return ReadNumbers(kXgb + "/regressor_json.expected.txt"); }

// Rows [first, first+rows) of inputs.txt as one FP32 tensor [rows, cols].
ModelInput Rows(int first, int rows, int cols = 10) {
  std::vector<float> values;
  for (int r = first; r < first + rows; ++r) {
    for (int c = 0; c < cols; ++c) values.push_back(static_cast<float>(Features()[r * 10 + c]));
  }
  auto t = Tensor::FromValues<float>("", DataType::kFp32, {rows, cols}, values);
  EXPECT_TRUE(t) << t.error().ToString();
  ModelInput in;
  in.kind = ModelInput::Kind::kTensors;
  in.rows = rows;
  in.tensors.push_back(std::move(*t));
  return in;
}

// The labels (binary_ubj) an output holds.
std::vector<int64_t> Labels(const ModelOutput& out) {
  EXPECT_EQ(out.tensors.size(), 1u);
  if (out.tensors.empty() || out.tensors[0].datatype() != DataType::kInt64) {
    ADD_FAILURE() << "not INT64 labels";
    return {};
  }
  auto v = out.tensors[0].values<int64_t>();
  return {v.begin(), v.end()};
}
std::vector<int64_t> ExpectedLabels(int first, int rows) {
  std::vector<int64_t> all = BinaryLabels();
  return {all.begin() + first, all.begin() + first + rows};
}

Result<ModelOutput> PredictVia(LoadedVersion& v, ModelInput in) {
  auto promise = std::make_shared<std::promise<Result<ModelOutput>>>();
  auto future = promise->get_future();
  Status s = v.Submit(std::move(in),
                      [promise](Result<ModelOutput> r) { promise->set_value(std::move(r)); });
  if (!s) return std::unexpected(s.error());
  return future.get();
}

// Checks that `out` is what `version` ("1" = binary_ubj, "2" = regressor)
// answers for rows [first, first+rows).
void ExpectAnswerOf(const std::string& version, const ModelOutput& out, int first, int rows) {
  ASSERT_EQ(out.tensors.size(), 1u);
  if (version == "1") {
    EXPECT_EQ(Labels(out), ExpectedLabels(first, rows));
  } else {
    ASSERT_EQ(out.tensors[0].datatype(), DataType::kFp32);
    auto v = out.tensors[0].values<float>();
    ASSERT_EQ(v.size(), static_cast<size_t>(rows));
    std::vector<double> expected = RegressorValues();
    for (int i = 0; i < rows; ++i) EXPECT_NEAR(v[i], expected[first + i], 1e-5) << i;
  }
}

// The value of the sample line "<series> <value>" in a Prometheus text, or
// nullopt when the series is not rendered.
std::optional<double> Sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

// Waits (up to 5 s) until the series has `value`: batch metrics are observed
// just after the batch's answers go out.
std::optional<double> SampleWhen(const MetricsRegistry& metrics, const std::string& series,
                                 double value) {
  std::optional<double> got;
  for (int i = 0; i < 500; ++i) {
    got = Sample(metrics.Render(), series);
    if (got == value) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return got;
}

// Copies a model folder to a new temporary one; returns the copy's path.
std::string CopyModel(const std::string& from, const std::string& prefix = "cairn-mm-model") {
  std::string dir = test::MakeTempDir(prefix) + "/" + fs::path(from).filename().string();
  fs::copy(from, dir, fs::copy_options::recursive);
  return dir;
}
// binary_ubj with its model file corrupted (loading fails).
std::string BrokenModel() {
  std::string dir = CopyModel(kBinary, "cairn-mm-broken");
  std::ofstream(dir + "/model.ubj", std::ios::trunc) << "this is not a UBJSON model";
  return dir;
}
void RemoveTempParent(const std::string& model_dir) {
  std::error_code ec;
  fs::remove_all(fs::path(model_dir).parent_path(), ec);
}

DeploymentSpec Deployment(const std::string& name, std::vector<TargetSpec> targets) {
  DeploymentSpec d;
  d.name = name;
  d.targets = std::move(targets);
  d.batching.instances = 2;
  return d;
}

std::unique_ptr<ModelSource> FolderSource() {
  auto s = MakeModelSource({});
  EXPECT_TRUE(s) << s.error().ToString();
  return std::move(*s);
}

ManagerOptions NoPolling() {
  ManagerOptions o;
  o.poll_interval = std::chrono::milliseconds(0);
  return o;
}

// ------------------------------------------------------------ sources

TEST(ModelSourceTest, LocalFolderResolvesAsItIs) {
  auto source = FolderSource();
  auto r = source->Resolve(kBinary + "/");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->model_name, "binary_ubj");
  EXPECT_EQ(r->version, "1");
  EXPECT_EQ(r->folder, kBinary);
  EXPECT_FALSE(r->from_registry);

  auto missing = source->Resolve(kXgb + "/no_such_model");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("no_such_model"), std::string::npos);
  auto not_a_model = source->Resolve(kXgb);  // a folder without MLmodel
  ASSERT_FALSE(not_a_model);
  EXPECT_EQ(not_a_model.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(not_a_model.error().message().find("MLmodel"), std::string::npos);
}

TEST(ModelSourceTest, RegistryUrisNeedATrackingServer) {
  auto source = FolderSource();
  auto r = source->Resolve("models:/fraud@champion");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(r.error().message(), "models:/ URIs need a tracking server (--tracking-uri)");
  auto bad = MakeModelSource({.tracking_uri = "ftp://x", .cache_dir = "/tmp", .user = ""});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

// ------------------------------------------------------------ LoadedVersion

TEST(LoadedVersionTest, PredictsThroughItsBatcherAndObservesBatches) {
  auto source = FolderSource();
  MetricsRegistry metrics;
  auto v = LoadedVersion::Load("fraud", *source->Resolve(kBinary), BatchingSpec{}, RuntimeOptions{},
                               &metrics);
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ((*v)->deployment(), "fraud");
  EXPECT_EQ((*v)->metadata().name, "fraud");
  EXPECT_EQ((*v)->metadata().platform, "xgboost");
  EXPECT_EQ((*v)->metadata().versions, std::vector<std::string>{"1"});
  EXPECT_TRUE((*v)->manifest().xgboost.has_value());

  for (int first : {0, 7, 15}) {
    auto out = PredictVia(**v, Rows(first, 5));
    ASSERT_TRUE(out) << out.error().ToString();
    EXPECT_EQ(Labels(*out), ExpectedLabels(first, 5));
  }
  EXPECT_EQ((*v)->Stats().rows_run, 15u);
  const std::string labels = "{deployment=\"fraud\",model=\"binary_ubj\",version=\"1\"}";
  EXPECT_EQ(SampleWhen(metrics, "cairn_inference_batch_seconds_count" + labels, 3), 3);
  std::string text = metrics.Render();
  EXPECT_EQ(Sample(text, "cairn_inference_batch_size_count" + labels), 3);
  EXPECT_EQ(Sample(text, "cairn_inference_batch_size_sum" + labels), 15);
  EXPECT_EQ(Sample(text, "cairn_inference_batch_seconds_count" + labels), 3);
}

TEST(LoadedVersionTest, GroupsCompatibleInputsAndFailsOnlyTheMisfit) {
  // The wait policy with a long queue delay and room for every row: the four
  // requests form one batch; the 9-feature request is its own group and
  // fails alone.
  auto source = FolderSource();
  MetricsRegistry metrics;
  BatchingSpec batching;
  batching.max_batch_size = 9;
  batching.policy = "wait";
  batching.max_queue_delay_us = 2'000'000;
  batching.instances = 1;
  auto v =
      LoadedVersion::Load("d", *source->Resolve(kBinary), batching, RuntimeOptions{}, &metrics);
  ASSERT_TRUE(v) << v.error().ToString();
  std::vector<std::future<Result<ModelOutput>>> answers;
  std::vector<ModelInput> inputs;
  inputs.push_back(Rows(0, 2));
  inputs.push_back(Rows(2, 3));
  inputs.push_back(Rows(5, 1, 9));  // incompatible: 9 columns
  inputs.push_back(Rows(6, 3));
  for (ModelInput& in : inputs) {
    auto p = std::make_shared<std::promise<Result<ModelOutput>>>();
    answers.push_back(p->get_future());
    ASSERT_TRUE(
        (*v)->Submit(std::move(in), [p](Result<ModelOutput> r) { p->set_value(std::move(r)); }));
  }
  auto a = answers[0].get(), b = answers[1].get(), c = answers[2].get(), d = answers[3].get();
  ASSERT_TRUE(a) << a.error().ToString();
  ASSERT_TRUE(b) << b.error().ToString();
  ASSERT_TRUE(d) << d.error().ToString();
  EXPECT_EQ(Labels(*a), ExpectedLabels(0, 2));
  EXPECT_EQ(Labels(*b), ExpectedLabels(2, 3));
  EXPECT_EQ(Labels(*d), ExpectedLabels(6, 3));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(c.error().message().find("9"), std::string::npos) << c.error().message();
  serving::BatcherStats stats = (*v)->Stats();
  EXPECT_EQ(stats.batches_run, 1u);
  EXPECT_EQ(stats.rows_run, 9u);
  const std::string labels = "{deployment=\"d\",model=\"binary_ubj\",version=\"1\"}";
  EXPECT_EQ(SampleWhen(metrics, "cairn_inference_batch_seconds_count" + labels, 1), 1);
  std::string text = metrics.Render();
  EXPECT_EQ(Sample(text, "cairn_inference_batch_size_count" + labels), 1);
  EXPECT_EQ(Sample(text, "cairn_inference_batch_size_sum" + labels), 9);
  EXPECT_EQ(Sample(text,
                   "cairn_inference_batch_size_bucket{deployment=\"d\",model=\"binary_ubj\","
                   "version=\"1\",le=\"8\"}"),
            0);
  EXPECT_EQ(Sample(text,
                   "cairn_inference_batch_size_bucket{deployment=\"d\",model=\"binary_ubj\","
                   "version=\"1\",le=\"16\"}"),
            1);
}

TEST(LoadedVersionTest, NoServableFlavorIsInvalid) {
  std::string dir = test::MakeTempDir("cairn-mm-onnx") + "/onnx_only";
  fs::create_directories(dir);
  std::ofstream(dir + "/MLmodel") << "flavors:\n  onnx:\n    onnx_version: 1.15.0\n";
  auto source = FolderSource();
  auto v =
      LoadedVersion::Load("d", *source->Resolve(dir), BatchingSpec{}, RuntimeOptions{}, nullptr);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(v.error().message(), "model has no flavor cairn can serve (flavors: onnx)");
  // --runtime python on a model without python_function.
  RuntimeOptions python;
  python.runtime = "python";
  auto p = LoadedVersion::Load("d", *source->Resolve(dir), BatchingSpec{}, python, nullptr);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find("python_function"), std::string::npos);
  RemoveTempParent(dir);
}

TEST(LoadedVersionTest, CorruptModelFailsToLoad) {
  std::string dir = BrokenModel();
  auto source = FolderSource();
  auto v =
      LoadedVersion::Load("d", *source->Resolve(dir), BatchingSpec{}, RuntimeOptions{}, nullptr);
  EXPECT_FALSE(v);
  RemoveTempParent(dir);
}

TEST(LoadedVersionTest, ChecksWithTheServingInputExample) {
  auto source = FolderSource();
  for (const char* name : {"xgb_frame_example", "xgb_ndarray_example"}) {
    auto v = LoadedVersion::Load("d", *source->Resolve(kServeData + "/" + name), BatchingSpec{},
                                 RuntimeOptions{}, nullptr);
    ASSERT_TRUE(v) << name << ": " << v.error().ToString();
    ASSERT_TRUE((*v)->manifest().input_example.has_value()) << name;
    auto checked = (*v)->Check();
    EXPECT_TRUE(checked) << name << ": " << checked.error().ToString();
  }
  // Without an example: checked by loading only.
  auto plain = LoadedVersion::Load("d", *source->Resolve(kBinary), BatchingSpec{}, RuntimeOptions{},
                                   nullptr);
  ASSERT_TRUE(plain);
  EXPECT_TRUE((*plain)->Check());
}

// Rewrites `dir`/MLmodel, replacing `from` by `to`.
void EditMlModel(const std::string& dir, const std::string& from, const std::string& to) {
  std::string text = test::ReadFile(dir + "/MLmodel");
  size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  std::ofstream(dir + "/MLmodel", std::ios::trunc) << text;
}

TEST(LoadedVersionTest, ChecksWithTheOlderInputExampleFile) {
  // MLflow < 2.16: only input_example.json (a split frame / a bare array).
  auto source = FolderSource();
  for (const char* name : {"xgb_frame_example", "xgb_ndarray_example"}) {
    std::string dir = CopyModel(kServeData + "/" + name);
    fs::remove(dir + "/serving_input_example.json");
    EditMlModel(dir, "  serving_input_path: serving_input_example.json\n", "");
    auto v =
        LoadedVersion::Load("d", *source->Resolve(dir), BatchingSpec{}, RuntimeOptions{}, nullptr);
    ASSERT_TRUE(v) << name << ": " << v.error().ToString();
    EXPECT_TRUE((*v)->manifest().input_example->serving_input_path.empty());
    auto checked = (*v)->Check();
    EXPECT_TRUE(checked) << name << ": " << checked.error().ToString();
    RemoveTempParent(dir);
  }
}

TEST(LoadedVersionTest, AnExampleTheModelRejectsFailsTheCheck) {
  // The example sends 9 of the 10 columns the signature requires.
  std::string dir = CopyModel(kServeData + "/xgb_frame_example");
  std::ofstream(dir + "/serving_input_example.json", std::ios::trunc)
      << R"({"dataframe_split": {"columns": ["f0","f1","f2","f3","f4","f5","f6","f7","f8"],
             "data": [[1,2,3,4,5,6,7,8,9]]}})";
  auto source = FolderSource();
  auto v =
      LoadedVersion::Load("d", *source->Resolve(dir), BatchingSpec{}, RuntimeOptions{}, nullptr);
  ASSERT_TRUE(v) << v.error().ToString();
  auto checked = (*v)->Check();
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(checked.error().message().starts_with("input example check failed: "))
      << checked.error().message();
  EXPECT_NE(checked.error().message().find("f9"), std::string::npos) << checked.error().message();

  // And Start refuses such a live target, naming the deployment and target.
  auto m = ModelManager::Start({Deployment("iris", {{dir, 1, false}})}, FolderSource(), NoPolling(),
                               nullptr);
  ASSERT_FALSE(m);
  EXPECT_TRUE(m.error().message().starts_with("deployment 'iris': target '" + dir + "': "))
      << m.error().message();
  EXPECT_NE(m.error().message().find("input example check failed"), std::string::npos);
  RemoveTempParent(dir);
}

TEST(LoadedVersionTest, LastReferenceDroppedInsideItsOwnCallback) {
  // The callback holds the only reference: releasing it on the batcher's
  // worker must neither join that worker nor crash.
  auto source = FolderSource();
  auto v = LoadedVersion::Load("d", *source->Resolve(kBinary), BatchingSpec{}, RuntimeOptions{},
                               nullptr);
  ASSERT_TRUE(v);
  VersionPtr version = std::move(*v);
  std::promise<std::vector<int64_t>> answered;
  auto future = answered.get_future();
  LoadedVersion* raw = version.get();
  ASSERT_TRUE(raw->Submit(Rows(0, 4), [version, &answered](Result<ModelOutput> r) mutable {
    answered.set_value(r ? Labels(*r) : std::vector<int64_t>{});
  }));
  version.reset();  // the callback's copy is now the last one
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(future.get(), ExpectedLabels(0, 4));
  // The helper thread stops the batcher; give it a moment before the test ends.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

// ------------------------------------------------------------ manager (folders)

TEST(ModelManagerTest, RoutesByWeightStickyAndPinnedVersion) {
  MetricsRegistry metrics;
  auto m =
      ModelManager::Start({Deployment("fraud", {{kBinary, 3, false}, {kRegressor, 1, false}}),
                           Deployment("iris", {{kServeData + "/xgb_frame_example", 1, false}})},
                          FolderSource(), NoPolling(), &metrics);
  ASSERT_TRUE(m) << m.error().ToString();
  ModelManager& mm = **m;
  EXPECT_TRUE(mm.Ready());
  EXPECT_EQ(mm.DeploymentNames(), (std::vector<std::string>{"fraud", "iris"}));

  // By weight: about 3:1 over 2000 routes.
  int binary = 0;
  for (int i = 0; i < 2000; ++i) {
    auto r = mm.Route("fraud", std::nullopt, std::nullopt);
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->live);
    EXPECT_TRUE(r->shadows.empty());
    binary += r->live->model().model_name == "binary_ubj";
  }
  EXPECT_GT(binary, 1350);
  EXPECT_LT(binary, 1650);

  // Sticky: one key always reaches the same model.
  for (const char* user : {"alice", "bob", "carol", "dave"}) {
    auto first = mm.Route("fraud", std::nullopt, std::string(user));
    ASSERT_TRUE(first);
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(mm.Route("fraud", std::nullopt, std::string(user))->live, first->live) << user;
    }
  }

  // The routed version answers.
  {
    auto r = mm.Route("iris", std::nullopt, std::nullopt);
    ASSERT_TRUE(r);
    auto out = PredictVia(*r->live, Rows(3, 4));
    ASSERT_TRUE(out) << out.error().ToString();
    EXPECT_EQ(Labels(*out), ExpectedLabels(3, 4));
  }

  // Pinned: both folders are version "1": the first live target.
  EXPECT_EQ(mm.Route("fraud", std::string("1"), std::nullopt)->live->model().model_name,
            "binary_ubj");
  auto seven = mm.Route("fraud", std::string("7"), std::nullopt);
  ASSERT_FALSE(seven);
  EXPECT_EQ(seven.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(seven.error().message(), "deployment 'fraud' has no version '7' (serving: 1)");
  auto unknown = mm.Route("x", std::nullopt, std::nullopt);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(unknown.error().message(), "model 'x' is not served here (serving: fraud, iris)");
  EXPECT_FALSE(mm.StickyHeader("x"));
  EXPECT_EQ(*mm.StickyHeader("fraud"), "");

  // Weights and loads in /metrics.
  std::string text = metrics.Render();
  EXPECT_EQ(Sample(text,
                   "cairn_deployment_target_weight{deployment=\"fraud\",model=\"binary_ubj\","
                   "version=\"1\",role=\"live\"}"),
            3);
  EXPECT_EQ(Sample(text,
                   "cairn_deployment_target_weight{deployment=\"fraud\","
                   "model=\"regressor_json\",version=\"1\",role=\"live\"}"),
            1);
  EXPECT_EQ(Sample(text,
                   "cairn_model_loads_total{deployment=\"iris\",model=\"xgb_frame_example\","
                   "version=\"1\"}"),
            1);
  EXPECT_EQ(Sample(text,
                   "cairn_inference_queue_depth{deployment=\"iris\","
                   "model=\"xgb_frame_example\",version=\"1\"}"),
            0);

  auto status = mm.Status("fraud");
  ASSERT_TRUE(status);
  ASSERT_EQ(status->targets.size(), 2u);
  EXPECT_EQ(status->targets[0].state, "serving");
  EXPECT_EQ(status->targets[0].version, "1");
  EXPECT_EQ(status->targets[0].model_name, "binary_ubj");
  EXPECT_EQ(status->targets[0].spec.weight, 3);
  EXPECT_GT(status->targets[0].loaded_at_millis, 0);
  EXPECT_EQ(status->targets[1].model_name, "regressor_json");
  EXPECT_EQ(mm.Status().size(), 2u);
  EXPECT_FALSE(mm.Status("x"));

  const auto stop_start = std::chrono::steady_clock::now();
  mm.Stop();  // no request holds a version: nothing to wait for
  EXPECT_LT(std::chrono::steady_clock::now() - stop_start, std::chrono::seconds(5));
  EXPECT_FALSE(mm.Ready());
  auto after = mm.Route("fraud", std::nullopt, std::nullopt);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code(), ErrorCode::kUnavailable);
  mm.Stop();  // idempotent
  EXPECT_FALSE(Sample(metrics.Render(),
                      "cairn_deployment_target_weight{deployment=\"fraud\","
                      "model=\"binary_ubj\",version=\"1\",role=\"live\"}"));
}

TEST(ModelManagerTest, ShadowsAreRoutedAndABrokenShadowIsSkipped) {
  std::string broken = BrokenModel();
  MetricsRegistry metrics;
  auto m = ModelManager::Start(
      {Deployment("fraud", {{kBinary, 1, false}, {kRegressor, 0, true}, {broken, 0, true}})},
      FolderSource(), NoPolling(), &metrics);
  ASSERT_TRUE(m) << m.error().ToString();
  auto r = (*m)->Route("fraud", std::nullopt, std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->live->model().model_name, "binary_ubj");
  ASSERT_EQ(r->shadows.size(), 1u);
  EXPECT_EQ(r->shadows[0]->model().model_name, "regressor_json");
  auto out = PredictVia(*r->shadows[0], Rows(0, 3));
  ASSERT_TRUE(out);
  ExpectAnswerOf("2", *out, 0, 3);
  EXPECT_TRUE((*m)->Ready());  // shadows do not count

  auto status = (*m)->Status("fraud");
  ASSERT_TRUE(status);
  ASSERT_EQ(status->targets.size(), 3u);
  EXPECT_EQ(status->targets[1].state, "serving");
  EXPECT_EQ(status->targets[2].state, "failed");
  EXPECT_EQ(status->targets[2].version, "");
  EXPECT_FALSE(status->targets[2].last_error.empty());
  EXPECT_EQ(Sample(metrics.Render(),
                   "cairn_model_load_failures_total{deployment=\"fraud\",model=\"binary_ubj\"}"),
            1);
  EXPECT_EQ(Sample(metrics.Render(),
                   "cairn_deployment_target_weight{deployment=\"fraud\","
                   "model=\"regressor_json\",version=\"1\",role=\"shadow\"}"),
            0);
  RemoveTempParent(broken);
}

TEST(ModelManagerTest, ABrokenLiveTargetFailsStart) {
  std::string broken = BrokenModel();
  auto m = ModelManager::Start({Deployment("ok", {{kBinary, 1, false}}),
                                Deployment("fraud", {{kBinary, 1, false}, {broken, 1, false}})},
                               FolderSource(), NoPolling(), nullptr);
  ASSERT_FALSE(m);
  EXPECT_TRUE(m.error().message().starts_with("deployment 'fraud': target '" + broken + "': "))
      << m.error().message();
  auto missing = ModelManager::Start({Deployment("fraud", {{kXgb + "/nope", 1, false}})},
                                     FolderSource(), NoPolling(), nullptr);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  RemoveTempParent(broken);
}

TEST(ModelManagerTest, SetTrafficWithFolders) {
  std::string broken = BrokenModel();
  MetricsRegistry metrics;
  auto m = ModelManager::Start({Deployment("fraud", {{kBinary, 1, false}})}, FolderSource(),
                               NoPolling(), &metrics);
  ASSERT_TRUE(m) << m.error().ToString();
  ModelManager& mm = **m;
  VersionPtr before = mm.Route("fraud", std::nullopt, std::nullopt)->live;

  // Kept target (same URI) keeps its loaded version; the new one is loaded.
  ASSERT_TRUE(mm.SetTraffic("fraud", {{kBinary, 0, false}, {kRegressor, 5, false}}));
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(mm.Route("fraud", std::nullopt, std::nullopt)->live->model().model_name,
              "regressor_json");
  }
  auto status = mm.Status("fraud");
  ASSERT_EQ(status->targets.size(), 2u);
  EXPECT_EQ(status->targets[0].spec.weight, 0);
  EXPECT_EQ(status->targets[1].model_name, "regressor_json");
  EXPECT_EQ(mm.Route("fraud", std::string("1"), std::nullopt)->live, before);  // same object
  EXPECT_EQ(Sample(metrics.Render(),
                   "cairn_deployment_target_weight{deployment=\"fraud\","
                   "model=\"binary_ubj\",version=\"1\",role=\"live\"}"),
            0);

  // A broken target: nothing changes, the error names it.
  auto bad = mm.SetTraffic("fraud", {{kBinary, 1, false}, {broken, 1, false}});
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message().starts_with("deployment 'fraud': target '" + broken + "': "))
      << bad.error().message();
  EXPECT_EQ(mm.Status("fraud")->targets.size(), 2u);
  EXPECT_EQ(mm.Status("fraud")->targets[1].model_name, "regressor_json");

  // Invalid lists and unknown deployments.
  auto zero = mm.SetTraffic("fraud", {{kBinary, 0, false}});
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code(), ErrorCode::kInvalidArgument);
  auto unknown = mm.SetTraffic("nope", {{kBinary, 1, false}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);

  // Removing the regressor retires it: its metrics go once it is released.
  ASSERT_TRUE(mm.SetTraffic("fraud", {{kBinary, 1, false}}));
  const std::string gone =
      "cairn_inference_batch_size_count{deployment=\"fraud\","
      "model=\"regressor_json\",version=\"1\"}";
  EXPECT_FALSE(Sample(metrics.Render(),
                      "cairn_deployment_target_weight{deployment=\"fraud\","
                      "model=\"regressor_json\",version=\"1\",role=\"live\"}"));
  for (int i = 0; i < 200 && Sample(metrics.Render(), gone); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(Sample(metrics.Render(), gone));
  RemoveTempParent(broken);
}

TEST(ModelManagerTest, StopWaitsForARequestThatHoldsItsVersion) {
  auto m = ModelManager::Start({Deployment("fraud", {{kBinary, 1, false}})}, FolderSource(),
                               NoPolling(), nullptr);
  ASSERT_TRUE(m);
  VersionPtr held = (*m)->Route("fraud", std::nullopt, std::nullopt)->live;
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    (*m)->Stop();
    stopped = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(stopped.load());               // waiting for `held`
  auto out = PredictVia(*held, Rows(10, 5));  // still served
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(Labels(*out), ExpectedLabels(10, 5));
  held.reset();
  stopper.join();
  EXPECT_TRUE(stopped.load());
}

// ------------------------------------------------------------ registry

class RegistryFollowingTest : public testing::Test {
 protected:
  void SetUp() override {
    auto server = test::LiveServer::Start("cairn-mm-registry");
    ASSERT_TRUE(server) << server.error().ToString();
    server_ = std::move(*server);
    cache_ = test::MakeTempDir("cairn-mm-cache");
    auto reg = client::RegistryClient::Create(server_->uri(), {.user = "ops"});
    ASSERT_TRUE(reg) << reg.error().ToString();
    registry_.emplace(std::move(*reg));
    broken_ = BrokenModel();
    // fraud v1 = binary_ubj (labels), v2 = regressor_json (values), v3 = corrupt.
    Register(kBinary);
    Register(kRegressor);
    Register(broken_);
    SetAlias(1);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(cache_, ec);
    RemoveTempParent(broken_);
  }

  void Register(const std::string& folder) {
    auto tc = client::TrackingClient::Create(server_->uri());
    ASSERT_TRUE(tc);
    auto run = tc->CreateRun({});
    ASSERT_TRUE(run) << run.error().ToString();
    auto n = tc->LogArtifacts(run->info.run_id, folder, "model");
    ASSERT_TRUE(n) << n.error().ToString();
    auto mv = registry_->RegisterModel(
        {.source = "runs:/" + run->info.run_id + "/model", .name = "fraud"});
    ASSERT_TRUE(mv) << mv.error().ToString();
  }
  void SetAlias(int64_t version) {
    auto o = registry_->SetAlias("fraud", "champion", version);
    ASSERT_TRUE(o) << o.error().ToString();
    ASSERT_FALSE(o->pending());
  }

  std::unique_ptr<ModelSource> Source() {
    auto s = MakeModelSource({.tracking_uri = server_->uri(), .cache_dir = cache_, .user = "ops"});
    EXPECT_TRUE(s) << s.error().ToString();
    return std::move(*s);
  }
  Result<std::unique_ptr<ModelManager>> StartChampion(MetricsRegistry* metrics,
                                                      ManagerOptions options = NoPolling()) {
    return ModelManager::Start({Deployment("fraud", {{"models:/fraud@champion", 1, false}})},
                               Source(), options, metrics);
  }
  std::string LiveVersion(ModelManager& m) {
    auto r = m.Route("fraud", std::nullopt, std::nullopt);
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? r->live->model().version : "";
  }

  std::unique_ptr<test::LiveServer> server_;
  std::optional<client::RegistryClient> registry_;
  std::string cache_;
  std::string broken_;
};

TEST_F(RegistryFollowingTest, ResolvesDownloadsOnceIntoTheCache) {
  auto source = Source();
  auto r = source->Resolve("models:/fraud@champion");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->model_name, "fraud");
  EXPECT_EQ(r->version, "1");
  EXPECT_TRUE(r->from_registry);
  EXPECT_EQ(r->folder, cache_ + "/fraud/1");
  EXPECT_EQ(test::ReadFile(r->folder + "/MLmodel"), test::ReadFile(kBinary + "/MLmodel"));
  // Reused, not downloaded again: a file put in the folder stays.
  std::ofstream(r->folder + "/marker") << "x";
  auto again = source->Resolve("models:/fraud/1");
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->folder, r->folder);
  EXPECT_TRUE(fs::exists(r->folder + "/marker"));
  auto v2 = source->Resolve("models:/fraud/2");
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->folder, cache_ + "/fraud/2");
  // No temporary folders are left.
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(cache_ + "/fraud")) {
    entries.push_back(e.path().filename().string());
  }
  std::sort(entries.begin(), entries.end());
  EXPECT_EQ(entries, (std::vector<std::string>{"1", "2"}));

  auto unknown = source->Resolve("models:/fraud@nope");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
  auto no_version = source->Resolve("models:/fraud/9");
  ASSERT_FALSE(no_version);
  EXPECT_EQ(no_version.error().code(), ErrorCode::kNotFound);
  auto bad = source->Resolve("models:/fraud");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(RegistryFollowingTest, FollowsTheAliasAndKeepsServingOnFailures) {
  MetricsRegistry metrics;
  auto m = StartChampion(&metrics);
  ASSERT_TRUE(m) << m.error().ToString();
  ModelManager& mm = **m;
  EXPECT_EQ(LiveVersion(mm), "1");
  Routed before = *mm.Route("fraud", std::nullopt, std::nullopt);
  EXPECT_EQ(before.live->model().folder, cache_ + "/fraud/1");

  // Nothing changed: no swap.
  mm.PollOnce();
  EXPECT_EQ(mm.Route("fraud", std::nullopt, std::nullopt)->live, before.live);

  // The alias moves: the next poll swaps to v2.
  SetAlias(2);
  mm.PollOnce();
  EXPECT_EQ(LiveVersion(mm), "2");
  auto v2 = mm.Route("fraud", std::nullopt, std::nullopt);
  auto out2 = PredictVia(*v2->live, Rows(0, 6));
  ASSERT_TRUE(out2) << out2.error().ToString();
  ExpectAnswerOf("2", *out2, 0, 6);
  // A request that routed before the swap still completes on v1.
  auto out1 = PredictVia(*before.live, Rows(4, 6));
  ASSERT_TRUE(out1) << out1.error().ToString();
  ExpectAnswerOf("1", *out1, 4, 6);
  std::string text = metrics.Render();
  EXPECT_EQ(Sample(text, "cairn_model_swaps_total{deployment=\"fraud\"}"), 1);
  EXPECT_EQ(
      Sample(text, "cairn_model_loads_total{deployment=\"fraud\",model=\"fraud\",version=\"2\"}"),
      1);
  EXPECT_EQ(Sample(text,
                   "cairn_deployment_target_weight{deployment=\"fraud\",model=\"fraud\","
                   "version=\"2\",role=\"live\"}"),
            1);
  EXPECT_FALSE(Sample(text,
                      "cairn_deployment_target_weight{deployment=\"fraud\",model=\"fraud\","
                      "version=\"1\",role=\"live\"}"));
  EXPECT_FALSE(Sample(text,
                      "cairn_inference_queue_depth{deployment=\"fraud\",model=\"fraud\","
                      "version=\"1\"}"));
  // v1's batch metrics go once the last request lets go of it.
  const std::string v1_batches =
      "cairn_inference_batch_size_count{deployment=\"fraud\",model=\"fraud\",version=\"1\"}";
  EXPECT_TRUE(Sample(metrics.Render(), v1_batches));
  before = Routed{};
  for (int i = 0; i < 200 && Sample(metrics.Render(), v1_batches); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(Sample(metrics.Render(), v1_batches));

  // A broken v3: still v2, the failure is reported and counted once.
  SetAlias(3);
  mm.PollOnce();
  EXPECT_EQ(LiveVersion(mm), "2");
  auto status = mm.Status("fraud");
  ASSERT_TRUE(status);
  ASSERT_EQ(status->targets.size(), 1u);
  const TargetStatus& t = status->targets[0];
  EXPECT_EQ(t.state, "serving");
  EXPECT_EQ(t.version, "2");
  EXPECT_EQ(t.failed_version, "3");
  EXPECT_NE(t.last_error.find("version 3"), std::string::npos) << t.last_error;
  const std::string failures =
      "cairn_model_load_failures_total{deployment=\"fraud\",model=\"fraud\"}";
  EXPECT_EQ(Sample(metrics.Render(), failures), 1);
  mm.PollOnce();  // not retried while the alias stays
  EXPECT_EQ(Sample(metrics.Render(), failures), 1);
  EXPECT_EQ(mm.Status("fraud")->targets[0].failed_version, "3");
  EXPECT_EQ(Sample(metrics.Render(), "cairn_model_swaps_total{deployment=\"fraud\"}"), 1);

  // The alias comes back to v2: the failure is cleared.
  SetAlias(2);
  mm.PollOnce();
  EXPECT_EQ(mm.Status("fraud")->targets[0].last_error, "");
  EXPECT_EQ(mm.Status("fraud")->targets[0].failed_version, "");

  // The registry goes away: still serving v2, the error says why.
  server_.reset();
  mm.PollOnce();
  EXPECT_EQ(LiveVersion(mm), "2");
  auto still = PredictVia(*mm.Route("fraud", std::nullopt, std::nullopt)->live, Rows(1, 2));
  ASSERT_TRUE(still);
  ExpectAnswerOf("2", *still, 1, 2);
  std::string error = mm.Status("fraud")->targets[0].last_error;
  EXPECT_TRUE(error.starts_with("resolving models:/fraud@champion: ")) << error;
  EXPECT_EQ(Sample(metrics.Render(), failures), 2);
  EXPECT_TRUE(mm.Ready());
}

TEST_F(RegistryFollowingTest, AFailedVersionIsRetriedAfterTheRetryPeriod) {
  MetricsRegistry metrics;
  ManagerOptions options = NoPolling();
  options.retry_failed_after = std::chrono::milliseconds(0);
  auto m = StartChampion(&metrics, options);
  ASSERT_TRUE(m) << m.error().ToString();
  SetAlias(3);
  (*m)->PollOnce();
  (*m)->PollOnce();
  EXPECT_EQ(Sample(metrics.Render(),
                   "cairn_model_load_failures_total{deployment=\"fraud\",model=\"fraud\"}"),
            2);
  EXPECT_EQ(LiveVersion(**m), "1");
}

TEST_F(RegistryFollowingTest, SetTrafficLoadsNewUrisOrChangesNothing) {
  auto m = StartChampion(nullptr);
  ASSERT_TRUE(m) << m.error().ToString();
  ModelManager& mm = **m;
  VersionPtr champion = mm.Route("fraud", std::nullopt, std::nullopt)->live;
  ASSERT_TRUE(mm.SetTraffic("fraud",
                            {{"models:/fraud@champion", 1, false}, {"models:/fraud/2", 1, false}}));
  auto status = mm.Status("fraud");
  ASSERT_EQ(status->targets.size(), 2u);
  EXPECT_EQ(status->targets[1].version, "2");
  EXPECT_EQ(mm.Route("fraud", std::string("1"), std::nullopt)->live, champion);  // kept
  auto pinned = mm.Route("fraud", std::string("2"), std::nullopt);
  ASSERT_TRUE(pinned);
  auto out = PredictVia(*pinned->live, Rows(2, 3));
  ASSERT_TRUE(out);
  ExpectAnswerOf("2", *out, 2, 3);

  auto bad =
      mm.SetTraffic("fraud", {{"models:/fraud@champion", 1, false}, {"models:/fraud/3", 1, true}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("target 'models:/fraud/3'"), std::string::npos)
      << bad.error().message();
  EXPECT_EQ(mm.Status("fraud")->targets.size(), 2u);
  EXPECT_EQ(mm.Status("fraud")->targets[1].spec.model_uri, "models:/fraud/2");
  auto missing = mm.SetTraffic("fraud", {{"models:/fraud/9", 1, false}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(mm.Status("fraud")->targets.size(), 2u);
}

TEST_F(RegistryFollowingTest, TheBackgroundPollSwaps) {
  ManagerOptions options;
  options.poll_interval = std::chrono::milliseconds(50);
  auto m = StartChampion(nullptr, options);
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ(LiveVersion(**m), "1");
  SetAlias(2);
  for (int i = 0; i < 400 && LiveVersion(**m) != "2"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(LiveVersion(**m), "2");
  const auto start = std::chrono::steady_clock::now();
  (*m)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(RegistryFollowingTest, SwapsUnderLoadFailNoRequest) {
  MetricsRegistry metrics;
  auto m = StartChampion(&metrics);
  ASSERT_TRUE(m) << m.error().ToString();
  ModelManager& mm = **m;
  std::atomic<bool> done{false};
  std::atomic<int> failed{0};
  std::atomic<int> answered[2] = {0, 0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      int i = 0;
      while (!done) {
        int first = (c * 5 + i++) % 18;
        auto r = mm.Route("fraud", std::nullopt, std::nullopt);
        if (!r) {
          ++failed;
          ADD_FAILURE() << r.error().ToString();
          continue;
        }
        std::string version = r->live->model().version;
        auto out = PredictVia(*r->live, Rows(first, 2));
        if (!out) {
          ++failed;
          ADD_FAILURE() << out.error().ToString();
          continue;
        }
        ExpectAnswerOf(version, *out, first, 2);
        ++answered[version == "1" ? 0 : 1];
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    SetAlias(i % 2 == 0 ? 2 : 1);
    mm.PollOnce();
    EXPECT_EQ(LiveVersion(mm), i % 2 == 0 ? "2" : "1");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  done = true;
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(answered[0].load() + answered[1].load(), 0);
  EXPECT_EQ(Sample(metrics.Render(), "cairn_model_swaps_total{deployment=\"fraud\"}"), 20);
  // The current version's metrics are shown after all the flips.
  EXPECT_TRUE(Sample(metrics.Render(),
                     "cairn_inference_batch_size_count{deployment=\"fraud\","
                     "model=\"fraud\",version=\"1\"}"));
}

#ifdef CAIRN_TEST_PYTHON
// The python_function path: the same XGBoost model through MLflow's pyfunc
// in worker processes (--runtime python) answers the same labels.
TEST(PythonRuntimeTest, RuntimePythonServesThroughWorkers) {
  if (!fs::exists(CAIRN_TEST_PYTHON)) GTEST_SKIP() << "no " << CAIRN_TEST_PYTHON;
  ManagerOptions options = NoPolling();
  options.runtime.python = CAIRN_TEST_PYTHON;
  DeploymentSpec d = Deployment("py", {{kBinary, 1, false}});
  d.runtime = "python";
  d.batching.instances = 1;
  auto m = ModelManager::Start({d}, FolderSource(), options, nullptr);
  if (!m && m.error().code() == ErrorCode::kUnimplemented) GTEST_SKIP() << m.error().ToString();
  ASSERT_TRUE(m) << m.error().ToString();
  auto r = (*m)->Route("py", std::nullopt, std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->live->metadata().platform, "mlflow_pyfunc");
  auto out = PredictVia(*r->live, Rows(0, 8));
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(Labels(*out), ExpectedLabels(0, 8));
}
#endif

}  // namespace
}  // namespace cairn::serve
