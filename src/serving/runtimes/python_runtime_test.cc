// Tests of the python_function Runtime against real Python workers
// (CAIRN_TEST_PYTHON, the mlflow 3 venv): XGBoost and scikit-learn models
// through mlflow.pyfunc, the input kinds and datatypes, params, Python
// errors, crashes, hangs, restarts and a clean shutdown.
// Test models: testdata/ (generate.py) and CAIRN_XGBOOST_TESTDATA.

#include "serving/runtimes/python_runtime.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace cairn::serving {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

const std::string kPython = CAIRN_TEST_PYTHON;
const std::string kXgboostData = CAIRN_XGBOOST_TESTDATA;
const std::string kTestData =
    std::filesystem::path(__FILE__).parent_path().append("testdata").string();
const std::string kBehavior = kTestData + "/behavior";

PythonRuntimeOptions Options(int workers) {
  PythonRuntimeOptions o;
  o.python = kPython;
  o.workers = workers;
  return o;
}

std::vector<double> ReadNumbers(const std::string& path) {
  std::ifstream in(path);
  std::vector<double> out;
  std::string token;
  while (in >> token) out.push_back(token == "nan" ? std::nan("") : std::stod(token));
  return out;
}

Tensor Fp64(std::string name, std::vector<double> v) {
  std::vector<int64_t> shape = {static_cast<int64_t>(v.size())};
  return *Tensor::FromValues<double>(std::move(name), DataType::kFp64, shape, v);
}
Tensor Int64(std::string name, std::vector<int64_t> v) {
  std::vector<int64_t> shape = {static_cast<int64_t>(v.size())};
  return *Tensor::FromValues<int64_t>(std::move(name), DataType::kInt64, shape, v);
}

ModelInput Columns(std::vector<Tensor> tensors) {
  ModelInput in;
  in.kind = ModelInput::Kind::kColumns;
  in.rows = tensors.front().shape()[0];
  in.tensors = std::move(tensors);
  return in;
}

ModelInput OneTensor(Tensor t) {
  ModelInput in;
  in.kind = ModelInput::Kind::kTensors;
  in.rows = t.shape()[0];
  in.tensors.push_back(std::move(t));
  return in;
}

// The XGBoost test inputs: 20 rows x 10 float32 features, one unnamed tensor.
ModelInput XgboostInput() {
  std::vector<double> values = ReadNumbers(kXgboostData + "/inputs.txt");
  std::vector<float> f(values.begin(), values.end());
  return OneTensor(*Tensor::FromValues<float>("", DataType::kFp32, {20, 10}, f));
}

const Tensor& Output(const ModelOutput& out, const std::string& name) {
  for (const Tensor& t : out.tensors) {
    if (t.name() == name) return t;
  }
  ADD_FAILURE() << "no output '" << name << "'";
  static const Tensor kEmpty;
  return kEmpty;
}

std::vector<double> AsDoubles(const Tensor& t) {
  std::vector<double> out;
  for (int64_t i = 0; i < t.element_count(); ++i) out.push_back(t.AsDouble(i));
  return out;
}

// The pid of the worker that answered a behavior-model DataFrame call.
pid_t AnsweringPid(Runtime& runtime) {
  auto out = runtime.Predict(Columns({Fp64("a", {1})}));
  if (!out) return -1;
  return static_cast<pid_t>(Output(*out, "pid").values<int64_t>()[0]);
}

// True when `pid` is gone from the process table (reaped, not a zombie).
bool Reaped(pid_t pid) {
  return ::kill(pid, 0) == -1 && errno == ESRCH &&
         !std::filesystem::exists("/proc/" + std::to_string(pid));
}

// Pids of this process's children (from /proc/<pid>/stat's ppid field).
std::set<pid_t> ChildPids() {
  std::set<pid_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == ::getpid()) out.insert(static_cast<pid_t>(std::stoi(name)));
  }
  return out;
}

size_t OpenFds() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// Calls until a worker pid not in `old` answers (a restarted worker).
pid_t WaitForNewPid(Runtime& runtime, const std::set<pid_t>& old, milliseconds limit) {
  auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    pid_t pid = AnsweringPid(runtime);
    if (pid > 0 && !old.contains(pid)) return pid;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return -1;
}

// One behavior-model runtime (2 workers) shared by the tests that only predict.
class PythonRuntimeBehaviorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = LoadPythonRuntime(kBehavior, Options(2));
    ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
    runtime_ = loaded->release();
  }
  static void TearDownTestSuite() {
    delete runtime_;
    runtime_ = nullptr;
  }
  static Runtime* runtime_;
};
Runtime* PythonRuntimeBehaviorTest::runtime_ = nullptr;

TEST(PythonRuntimeTest, XgboostClassifierAnswersLabelsLikePyfunc) {
  auto runtime = LoadPythonRuntime(kXgboostData + "/binary_ubj", Options(1));
  ASSERT_TRUE(runtime.has_value()) << runtime.error().ToString();
  EXPECT_EQ((*runtime)->platform(), "mlflow_pyfunc");
  auto out = (*runtime)->Predict(XgboostInput());
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  ASSERT_EQ(out->tensors.size(), 1u);
  const Tensor& labels = out->tensors[0];
  EXPECT_EQ(labels.name(), "predict");
  EXPECT_FALSE(out->frame);
  EXPECT_EQ(labels.datatype(), DataType::kInt64);
  EXPECT_EQ(labels.shape(), (std::vector<int64_t>{20}));
  std::vector<double> probabilities = ReadNumbers(kXgboostData + "/binary_ubj.expected.txt");
  ASSERT_EQ(probabilities.size(), 20u);
  int ones = 0;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(labels.values<int64_t>()[i], probabilities[i] > 0.5 ? 1 : 0) << "row " << i;
    ones += labels.values<int64_t>()[i] == 1;
  }
  EXPECT_GT(ones, 0);
  EXPECT_LT(ones, 20);
}

TEST(PythonRuntimeTest, XgboostMulticlassAndRegressor) {
  auto multi = LoadPythonRuntime(kXgboostData + "/multiclass_ubj", Options(1));
  ASSERT_TRUE(multi.has_value()) << multi.error().ToString();
  auto regressor = LoadPythonRuntime(kXgboostData + "/regressor_json", Options(1));
  ASSERT_TRUE(regressor.has_value()) << regressor.error().ToString();

  auto labels = (*multi)->Predict(XgboostInput());
  ASSERT_TRUE(labels.has_value()) << labels.error().ToString();
  std::vector<double> p = ReadNumbers(kXgboostData + "/multiclass_ubj.expected.txt");
  ASSERT_EQ(p.size(), 60u);
  ASSERT_EQ(labels->tensors.size(), 1u);
  ASSERT_EQ(labels->tensors[0].element_count(), 20);
  for (int i = 0; i < 20; ++i) {
    int best = static_cast<int>(std::max_element(p.begin() + 3 * i, p.begin() + 3 * i + 3) -
                                (p.begin() + 3 * i));
    EXPECT_EQ(labels->tensors[0].AsDouble(i), best) << "row " << i;
  }

  auto values = (*regressor)->Predict(XgboostInput());
  ASSERT_TRUE(values.has_value()) << values.error().ToString();
  std::vector<double> expected = ReadNumbers(kXgboostData + "/regressor_json.expected.txt");
  ASSERT_EQ(values->tensors.size(), 1u);
  EXPECT_EQ(values->tensors[0].datatype(), DataType::kFp32);
  ASSERT_EQ(values->tensors[0].element_count(), 20);
  for (int i = 0; i < 20; ++i) {
    EXPECT_NEAR(values->tensors[0].AsDouble(i), expected[i], 1e-5) << "row " << i;
  }
}

TEST(PythonRuntimeTest, SklearnModelWithColumnSignature) {
  std::ifstream csv(kTestData + "/sklearn_iris.inputs.csv");
  std::string line;
  ASSERT_TRUE(std::getline(csv, line));
  std::vector<std::string> names;
  std::stringstream header(line);
  for (std::string name; std::getline(header, name, ',');) names.push_back(name);
  ASSERT_EQ(names.size(), 4u);
  std::vector<std::vector<double>> columns(4);
  while (std::getline(csv, line)) {
    std::stringstream row(line);
    std::string cell;
    for (size_t c = 0; c < 4 && std::getline(row, cell, ','); ++c)
      columns[c].push_back(std::stod(cell));
  }
  std::vector<double> expected = ReadNumbers(kTestData + "/sklearn_iris.expected.txt");
  ASSERT_EQ(columns[0].size(), expected.size());
  std::vector<Tensor> tensors;
  for (size_t c = 0; c < 4; ++c) tensors.push_back(Fp64(names[c], columns[c]));

  auto runtime = LoadPythonRuntime(kTestData + "/sklearn_iris", Options(1));
  ASSERT_TRUE(runtime.has_value()) << runtime.error().ToString();
  auto out = (*runtime)->Predict(Columns(std::move(tensors)));
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  ASSERT_EQ(out->tensors.size(), 1u);
  EXPECT_EQ(out->tensors[0].name(), "predict");
  EXPECT_EQ(AsDoubles(out->tensors[0]), expected);
  std::set<double> classes(expected.begin(), expected.end());
  EXPECT_EQ(classes.size(), 3u);  // the inputs cover every class

  // The signature is enforced by mlflow: a missing column is the client's fault.
  auto missing = (*runtime)->Predict(Columns({Fp64(names[0], {5.1})}));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(missing.error().message().find("MlflowException"), std::string::npos)
      << missing.error().message();
}

TEST_F(PythonRuntimeBehaviorTest, ColumnsArriveAsNamedDataFrame) {
  std::vector<std::string> words = {"x", "héllo", ""};
  ModelInput in = Columns(
      {Fp64("a", {1.5, 2.5, -1}), Int64("b", {10, 20, 30}), *Tensor::FromStrings("s", {3}, words)});
  auto out = runtime_->Predict(in);
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_TRUE(out->frame);
  ASSERT_EQ(out->tensors.size(), 4u);
  EXPECT_EQ(out->tensors[0].name(), "columns");
  EXPECT_EQ(out->tensors[1].name(), "dtypes");
  EXPECT_EQ(out->tensors[2].name(), "sum");
  EXPECT_EQ(out->tensors[3].name(), "pid");
  const Tensor& cols = Output(*out, "columns");
  EXPECT_EQ(cols.datatype(), DataType::kBytes);
  EXPECT_EQ(cols.strings(), (std::vector<std::string>{"a,b,s", "a,b,s", "a,b,s"}));
  EXPECT_EQ(Output(*out, "dtypes").strings()[0].substr(0, 14), "float64,int64,");
  const Tensor& sum = Output(*out, "sum");
  EXPECT_EQ(sum.datatype(), DataType::kFp64);
  EXPECT_EQ(AsDoubles(sum), (std::vector<double>{11.5, 22.5, 29}));
  EXPECT_EQ(Output(*out, "pid").datatype(), DataType::kInt64);
}

TEST_F(PythonRuntimeBehaviorTest, ArrayColumnIsOneArrayPerRow) {
  std::vector<double> v = {1, 2, 3, 4};
  ModelInput in =
      Columns({Fp64("a", {1, 2}), *Tensor::FromValues<double>("vec", DataType::kFp64, {2, 2}, v)});
  auto out = runtime_->Predict(in);
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(Output(*out, "dtypes").strings()[0], "float64,object");
  EXPECT_EQ(AsDoubles(Output(*out, "sum")), (std::vector<double>{1, 2}));
}

TEST_F(PythonRuntimeBehaviorTest, UnnamedTensorArrivesAsArrayAndParamsArePassed) {
  std::vector<float> v = {1, 2, 3, 4, 5, 6};
  ModelInput in = OneTensor(*Tensor::FromValues<float>("", DataType::kFp32, {2, 3}, v));
  auto out = runtime_->Predict(in);
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  ASSERT_EQ(out->tensors.size(), 1u);
  EXPECT_FALSE(out->frame);
  EXPECT_EQ(out->tensors[0].name(), "predict");
  EXPECT_EQ(out->tensors[0].shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(AsDoubles(out->tensors[0]), (std::vector<double>{1, 2, 3, 4, 5, 6}));

  in.params_json = R"({"scale": 2.5})";
  auto scaled = runtime_->Predict(in);
  ASSERT_TRUE(scaled.has_value()) << scaled.error().ToString();
  EXPECT_EQ(AsDoubles(scaled->tensors[0]), (std::vector<double>{2.5, 5, 7.5, 10, 12.5, 15}));

  ModelInput frame = Columns({Fp64("a", {1, 2})});
  frame.params_json = R"({"scale": 3})";
  auto scaled_frame = runtime_->Predict(frame);
  ASSERT_TRUE(scaled_frame.has_value()) << scaled_frame.error().ToString();
  EXPECT_EQ(AsDoubles(Output(*scaled_frame, "sum")), (std::vector<double>{3, 6}));

  frame.params_json = "{not json";
  auto bad = runtime_->Predict(frame);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(PythonRuntimeBehaviorTest, NamedTensorsArriveAsDict) {
  std::vector<int32_t> x = {1, 2, 3, 4};
  ModelInput in;
  in.kind = ModelInput::Kind::kTensors;
  in.rows = 2;
  in.tensors.push_back(*Tensor::FromValues<int32_t>("x", DataType::kInt32, {2, 2}, x));
  in.tensors.push_back(*Tensor::FromStrings("y", {2}, {"ab", "cd"}));
  auto out = runtime_->Predict(in);
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  ASSERT_EQ(out->tensors.size(), 3u);
  EXPECT_EQ(Output(*out, "keys").strings(), (std::vector<std::string>{"x,y", "x,y"}));
  // int32 * 1.0 is float64 in numpy.
  EXPECT_EQ(Output(*out, "x").datatype(), DataType::kFp64);
  EXPECT_EQ(Output(*out, "x").shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(AsDoubles(Output(*out, "x")), (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(Output(*out, "y").strings(), (std::vector<std::string>{"AB", "CD"}));
}

TEST_F(PythonRuntimeBehaviorTest, BoolFp16AndBytesRoundTrip) {
  std::vector<uint8_t> b = {1, 0, 0};
  auto bools =
      runtime_->Predict(OneTensor(*Tensor::FromValues<uint8_t>("", DataType::kBool, {3}, b)));
  ASSERT_TRUE(bools.has_value()) << bools.error().ToString();
  EXPECT_EQ(bools->tensors[0].datatype(), DataType::kBool);
  EXPECT_EQ(AsDoubles(bools->tensors[0]), (std::vector<double>{0, 1, 1}));

  std::vector<uint16_t> h = {FloatToHalf(0.5f), FloatToHalf(-2.0f)};
  ModelInput halves = OneTensor(*Tensor::FromValues<uint16_t>("", DataType::kFp16, {2}, h));
  halves.params_json = R"({"scale": 2})";
  auto out = runtime_->Predict(halves);
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(out->tensors[0].datatype(), DataType::kFp16);
  EXPECT_EQ(AsDoubles(out->tensors[0]), (std::vector<double>{1.0, -4.0}));

  auto words = runtime_->Predict(OneTensor(*Tensor::FromStrings("", {2, 1}, {"ä", "b c"})));
  ASSERT_TRUE(words.has_value()) << words.error().ToString();
  EXPECT_EQ(words->tensors[0].shape(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(words->tensors[0].strings(), (std::vector<std::string>{"Ä", "B C"}));
}

TEST_F(PythonRuntimeBehaviorTest, PythonErrorsMapToCodesAndTheWorkerKeepsServing) {
  auto rejected = runtime_->Predict(Columns({Fp64("boom", {1})}));
  ASSERT_FALSE(rejected.has_value());
  EXPECT_EQ(rejected.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(rejected.error().message(), "ValueError: column 'boom' is not allowed");

  auto internal = runtime_->Predict(Columns({Fp64("internal", {1})}));
  ASSERT_FALSE(internal.has_value());
  EXPECT_EQ(internal.error().code(), ErrorCode::kInternal);
  EXPECT_EQ(internal.error().message(), "RuntimeError: internal failure");

  auto scalar = runtime_->Predict(Columns({Fp64("scalar", {1, 2})}));
  ASSERT_FALSE(scalar.has_value());
  EXPECT_EQ(scalar.error().code(), ErrorCode::kInternal);
  EXPECT_NE(scalar.error().message().find("single value"), std::string::npos)
      << scalar.error().message();

  std::set<pid_t> pids;
  for (int i = 0; i < 6; ++i) pids.insert(AnsweringPid(*runtime_));
  EXPECT_FALSE(pids.contains(-1));
  EXPECT_EQ(pids.size(), 2u);  // both workers alive and used
}

TEST_F(PythonRuntimeBehaviorTest, PrintsDoNotCorruptTheChannel) {
  auto out = runtime_->Predict(Columns({Fp64("noise", {1, 2})}));
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(AsDoubles(Output(*out, "sum")), (std::vector<double>{1, 2}));
  auto next = runtime_->Predict(Columns({Fp64("a", {4})}));
  ASSERT_TRUE(next.has_value()) << next.error().ToString();
  EXPECT_EQ(AsDoubles(Output(*next, "sum")), (std::vector<double>{4}));
}

TEST_F(PythonRuntimeBehaviorTest, ManyConcurrentCallsGetTheirOwnAnswers) {
  std::vector<std::future<bool>> calls;
  for (int t = 0; t < 8; ++t) {
    calls.push_back(std::async(std::launch::async, [t] {
      for (int i = 0; i < 10; ++i) {
        double v = t * 100 + i;
        auto out = runtime_->Predict(Columns({Fp64("a", {v, 1})}));
        if (!out || AsDoubles(Output(*out, "sum")) != std::vector<double>{v, 1}) return false;
      }
      return true;
    }));
  }
  for (auto& c : calls) EXPECT_TRUE(c.get());
}

TEST(PythonRuntimeTest, CrashFailsTheCallAndTheWorkerIsRestarted) {
  auto runtime = LoadPythonRuntime(kBehavior, Options(2));
  ASSERT_TRUE(runtime.has_value()) << runtime.error().ToString();
  Runtime& r = **runtime;
  std::set<pid_t> pids;
  for (int i = 0; i < 4; ++i) pids.insert(AnsweringPid(r));
  ASSERT_EQ(pids.size(), 2u);

  // While one worker sleeps, the other answers.
  auto sleeper =
      std::async(std::launch::async, [&r] { return r.Predict(Columns({Fp64("sleep", {1.5})})); });
  std::this_thread::sleep_for(milliseconds(300));
  auto start = Clock::now();
  EXPECT_GT(AnsweringPid(r), 0);
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  ASSERT_TRUE(sleeper.get().has_value());

  auto crashed = r.Predict(Columns({Int64("crash", {3})}));
  ASSERT_FALSE(crashed.has_value());
  EXPECT_EQ(crashed.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(crashed.error().message().find("died (exit code 3) while predicting; restarting it"),
            std::string::npos)
      << crashed.error().message();
  // The survivor keeps answering at once; a new worker joins later.
  EXPECT_TRUE(pids.contains(AnsweringPid(r)));
  pid_t fresh = WaitForNewPid(r, pids, milliseconds(60000));
  EXPECT_GT(fresh, 0);
  int gone = 0;
  for (pid_t p : pids) gone += Reaped(p);
  EXPECT_EQ(gone, 1);
}

TEST(PythonRuntimeTest, HangIsKilledAtTheDeadlineAndRestarted) {
  PythonRuntimeOptions options = Options(1);
  options.predict_timeout = milliseconds(1000);
  auto runtime = LoadPythonRuntime(kBehavior, options);
  ASSERT_TRUE(runtime.has_value()) << runtime.error().ToString();
  Runtime& r = **runtime;
  pid_t before = AnsweringPid(r);
  ASSERT_GT(before, 0);

  auto start = Clock::now();
  auto hung = r.Predict(Columns({Fp64("sleep", {60})}));
  auto took = Clock::now() - start;
  ASSERT_FALSE(hung.has_value());
  EXPECT_EQ(hung.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(hung.error().message(), "python worker " + std::to_string(before) +
                                        " took longer than 1000 ms; killed and restarting it");
  EXPECT_GE(took, milliseconds(1000));
  EXPECT_LT(took, milliseconds(5000));
  EXPECT_TRUE(Reaped(before));

  // The only worker is restarting: the next call waits for it and succeeds.
  auto next = r.Predict(Columns({Fp64("a", {7})}));
  ASSERT_TRUE(next.has_value()) << next.error().ToString();
  EXPECT_EQ(AsDoubles(Output(*next, "sum")), (std::vector<double>{7}));
  EXPECT_NE(Output(*next, "pid").values<int64_t>()[0], before);
}

TEST(PythonRuntimeTest, WorkerKilledWhileIdleIsReplaced) {
  auto runtime = LoadPythonRuntime(kBehavior, Options(1));
  ASSERT_TRUE(runtime.has_value()) << runtime.error().ToString();
  Runtime& r = **runtime;
  pid_t before = AnsweringPid(r);
  ASSERT_GT(before, 0);
  ASSERT_EQ(::kill(before, SIGKILL), 0);
  std::this_thread::sleep_for(milliseconds(100));
  auto next = r.Predict(Columns({Fp64("a", {2})}));
  ASSERT_TRUE(next.has_value()) << next.error().ToString();
  EXPECT_NE(Output(*next, "pid").values<int64_t>()[0], before);
  EXPECT_TRUE(Reaped(before));
}

TEST(PythonRuntimeTest, RestartRetriesUntilTheModelLoadsAgain) {
  auto dir =
      std::filesystem::temp_directory_path() / ("cairn_py_restart_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::copy(kBehavior, dir);
  PythonRuntimeOptions options = Options(1);
  options.acquire_timeout = milliseconds(1500);
  auto runtime = LoadPythonRuntime(dir.string(), options);
  ASSERT_TRUE(runtime.has_value()) << runtime.error().ToString();
  Runtime& r = **runtime;
  pid_t first = AnsweringPid(r);
  ASSERT_GT(first, 0);

  // The model disappears, then its worker crashes: restarts fail (with backoff).
  std::filesystem::rename(dir, dir.string() + ".away");
  auto crashed = r.Predict(Columns({Int64("crash", {1})}));
  ASSERT_FALSE(crashed.has_value());
  EXPECT_EQ(crashed.error().code(), ErrorCode::kUnavailable);
  auto none = r.Predict(Columns({Fp64("a", {1})}));
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(none.error().message(), "no python worker available");
  // Watch the children: two replacement workers must start and fail.
  std::set<pid_t> seen = {first};
  std::set<pid_t> failed;
  auto until = Clock::now() + milliseconds(60000);
  while (failed.size() < 2 && Clock::now() < until) {
    std::set<pid_t> now = ChildPids();
    for (pid_t p : seen) {
      if (p != first && !now.contains(p)) failed.insert(p);
    }
    seen.insert(now.begin(), now.end());
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(failed.size(), 2u);

  // Once the model is back, a later restart succeeds.
  std::filesystem::rename(dir.string() + ".away", dir);
  pid_t fresh = WaitForNewPid(r, {first}, milliseconds(60000));
  r.Shutdown();
  std::filesystem::remove_all(dir);
  EXPECT_GT(fresh, 0);
}

TEST(PythonRuntimeTest, AcquireTimesOutWhenEveryWorkerIsBusy) {
  PythonRuntimeOptions options = Options(1);
  options.acquire_timeout = milliseconds(300);
  auto runtime = LoadPythonRuntime(kBehavior, options);
  ASSERT_TRUE(runtime.has_value()) << runtime.error().ToString();
  Runtime& r = **runtime;
  auto sleeper =
      std::async(std::launch::async, [&r] { return r.Predict(Columns({Fp64("sleep", {2})})); });
  std::this_thread::sleep_for(milliseconds(300));
  auto waited = r.Predict(Columns({Fp64("a", {1})}));
  ASSERT_FALSE(waited.has_value());
  EXPECT_EQ(waited.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(waited.error().message(), "no python worker available");
  EXPECT_TRUE(sleeper.get().has_value());
}

TEST(PythonRuntimeTest, ShutdownLeavesNoChildren) {
  const size_t fds_before = OpenFds();
  auto runtime = LoadPythonRuntime(kBehavior, Options(2));
  ASSERT_TRUE(runtime.has_value()) << runtime.error().ToString();
  Runtime& r = **runtime;
  std::set<pid_t> pids;
  for (int i = 0; i < 6 && pids.size() < 2; ++i) pids.insert(AnsweringPid(r));
  ASSERT_EQ(pids.size(), 2u);
  // A call in flight during Shutdown: it finishes (or fails) and Shutdown
  // still returns within its 2 s grace plus the kill.
  auto sleeper =
      std::async(std::launch::async, [&r] { return r.Predict(Columns({Fp64("sleep", {30})})); });
  std::this_thread::sleep_for(milliseconds(300));
  auto start = Clock::now();
  r.Shutdown();
  EXPECT_LT(Clock::now() - start, milliseconds(5000));
  EXPECT_EQ(OpenFds(), fds_before);  // channels and stderr pipes are closed
  auto in_flight = sleeper.get();
  ASSERT_FALSE(in_flight.has_value());
  EXPECT_EQ(in_flight.error().code(), ErrorCode::kUnavailable);
  for (pid_t p : pids) EXPECT_TRUE(Reaped(p)) << "worker " << p;
  auto after = r.Predict(Columns({Fp64("a", {1})}));
  ASSERT_FALSE(after.has_value());
  EXPECT_EQ(after.error().code(), ErrorCode::kUnavailable);
  r.Shutdown();  // idempotent
}

TEST(PythonRuntimeTest, MissingInterpreterIsUnavailable) {
  PythonRuntimeOptions options = Options(2);
  options.python = "/nonexistent/python3";
  auto runtime = LoadPythonRuntime(kBehavior, options);
  ASSERT_FALSE(runtime.has_value());
  EXPECT_EQ(runtime.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(runtime.error().message(), "python '/nonexistent/python3' not found");

  options.python = "/bin/false";  // starts, but exits before it is ready
  runtime = LoadPythonRuntime(kBehavior, options);
  ASSERT_FALSE(runtime.has_value());
  EXPECT_EQ(runtime.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(runtime.error().message().find("exited (exit code 1) before it was ready"),
            std::string::npos)
      << runtime.error().message();
}

TEST(PythonRuntimeTest, LoadTimeoutIsDeadlineExceeded) {
  PythonRuntimeOptions options = Options(2);
  options.load_timeout = milliseconds(200);  // importing mlflow alone takes longer
  auto start = Clock::now();
  auto runtime = LoadPythonRuntime(kBehavior, options);
  EXPECT_LT(Clock::now() - start, milliseconds(3000));
  ASSERT_FALSE(runtime.has_value());
  EXPECT_EQ(runtime.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_NE(runtime.error().message().find("did not load the model within 200 ms"),
            std::string::npos)
      << runtime.error().message();
  EXPECT_TRUE(ChildPids().empty());
}

TEST(PythonRuntimeTest, ModelThatCannotLoadIsInvalidArgumentWithPythonsMessage) {
  auto dir =
      std::filesystem::temp_directory_path() / ("cairn_py_bad_model_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "MLmodel") << "flavors:\n  python_function:\n"
                                    "    loader_module: cairn_no_such_module\n";
  auto runtime = LoadPythonRuntime(dir.string(), Options(2));
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(runtime.has_value());
  EXPECT_EQ(runtime.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(runtime.error().message().rfind("python worker could not load the model: ", 0), 0u)
      << runtime.error().message();
  EXPECT_NE(runtime.error().message().find("ModuleNotFoundError: No module named "
                                           "'cairn_no_such_module'"),
            std::string::npos)
      << runtime.error().message();
}

TEST(PythonRuntimeTest, InterpreterWithoutMlflowIsInvalidArgument) {
  const std::string system_python = "/usr/bin/python3";
  if (!std::filesystem::exists(system_python) ||
      std::system((system_python + " -c 'import mlflow' 2>/dev/null").c_str()) == 0) {
    GTEST_SKIP() << "needs a python3 without mlflow at " << system_python;
  }
  PythonRuntimeOptions options = Options(1);
  options.python = system_python;
  auto runtime = LoadPythonRuntime(kBehavior, options);
  ASSERT_FALSE(runtime.has_value());
  EXPECT_EQ(runtime.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(runtime.error().message().find("ModuleNotFoundError"), std::string::npos)
      << runtime.error().message();
}

// Not a test: the per-batch round trip through a trivial pyfunc, for the report.
//   python_runtime_test --gtest_also_run_disabled_tests --gtest_filter='*Overhead*'
TEST(PythonRuntimeTest, DISABLED_RoundTripOverhead) {
  auto runtime = LoadPythonRuntime(kBehavior, Options(1));
  ASSERT_TRUE(runtime.has_value()) << runtime.error().ToString();
  for (int rows : {1, 1000}) {
    std::vector<Tensor> columns;
    for (int c = 0; c < 10; ++c) {  // "identity": the model answers that column
      columns.push_back(
          Fp64(c == 0 ? "identity" : "f" + std::to_string(c), std::vector<double>(rows, c)));
    }
    ModelInput frame = Columns(std::move(columns));
    std::vector<float> values(static_cast<size_t>(rows) * 10, 1.0f);
    ModelInput tensor =
        OneTensor(*Tensor::FromValues<float>("", DataType::kFp32, {rows, 10}, values));
    for (auto [label, input] :
         {std::pair{"columns->DataFrame", &frame}, std::pair{"tensor->ndarray", &tensor}}) {
      for (int i = 0; i < 20; ++i) ASSERT_TRUE((*runtime)->Predict(*input).has_value());
      const int n = 300;
      auto start = Clock::now();
      for (int i = 0; i < n; ++i) ASSERT_TRUE((*runtime)->Predict(*input).has_value());
      double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count() / n;
      std::printf("%-18s rows=%-5d %8.1f us per batch\n", label, rows, us);
    }
  }
}

}  // namespace
}  // namespace cairn::serving
