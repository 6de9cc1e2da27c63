#include "serving/inference_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace cairn::serving {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr int64_t kTs = 1764170000123;  // 2025-11-26T15:13:20.123Z

class InferenceLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn_inference_log_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    root_ = dir_ + "/log";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  InferenceLogOptions Options() const {
    InferenceLogOptions o;
    o.root = root_;
    o.flush_interval = 10ms;
    return o;
  }

  // Files under root, relative, sorted.
  std::vector<std::string> Files() const {
    std::vector<std::string> out;
    std::error_code ec;
    if (!fs::is_directory(root_, ec)) return out;
    for (const auto& e : fs::recursive_directory_iterator(root_)) {
      if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root_).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<std::string> FilesEndingWith(const std::string& suffix) const {
    std::vector<std::string> out;
    for (const auto& f : Files()) {
      if (f.ends_with(suffix)) out.push_back(f);
    }
    return out;
  }

  std::vector<json> Lines(const std::string& rel) const {
    std::ifstream in(fs::path(root_) / rel);
    std::vector<json> out;
    std::string line;
    while (std::getline(in, line)) out.push_back(json::parse(line));
    return out;
  }

  std::string dir_;
  std::string root_;
};

InferenceRecord MakeRecord(const std::string& id, const std::string& deployment = "fraud",
                           int64_t ts = kTs) {
  InferenceRecord r;
  r.ts_millis = ts;
  r.request_id = id;
  r.deployment = deployment;
  r.model = "fraud-model";
  r.version = "3";
  r.latency_us = 412;
  return r;
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

template <typename T>
Tensor Values(const std::string& name, DataType dt, std::vector<int64_t> shape,
              std::vector<T> values) {
  auto t = Tensor::FromValues<T>(name, dt, std::move(shape), std::span<const T>(values));
  EXPECT_TRUE(t.has_value());
  return *std::move(t);
}

TEST(InferenceRecordToJsonTest, WritesEveryFieldAndTensor) {
  auto input = std::make_shared<ModelInput>();
  input->kind = ModelInput::Kind::kColumns;
  input->rows = 2;
  input->tensors.push_back(Values<float>(
      "amount", DataType::kFp32, {2, 2},
      {0.1f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
       -std::numeric_limits<float>::infinity()}));
  input->tensors.push_back(Values<int64_t>("count", DataType::kInt64, {2}, {-5, 1LL << 40}));
  input->tensors.push_back(Values<uint8_t>("flag", DataType::kBool, {2}, {1, 0}));
  input->tensors.push_back(
      Values<uint16_t>("half", DataType::kFp16, {2}, {FloatToHalf(1.5f), FloatToHalf(-2.0f)}));
  input->tensors.push_back(
      Values<uint64_t>("big", DataType::kUint64, {2}, {std::numeric_limits<uint64_t>::max(), 7}));
  input->tensors.push_back(Values<double>("d", DataType::kFp64, {2}, {1.0 / 3, 2}));
  auto strings = Tensor::FromStrings("city", {2}, {"Zürich \"q\"\n", std::string("\xff\x00z", 3)});
  ASSERT_TRUE(strings.has_value());
  input->tensors.push_back(*strings);

  auto output = std::make_shared<ModelOutput>();
  output->frame = true;
  output->tensors.push_back(Values<int32_t>("label", DataType::kInt32, {2}, {1, 0}));

  InferenceRecord r = MakeRecord("req-1");
  r.shadow = true;
  r.status = 200;
  r.input = input;
  r.output = output;

  const std::string line = InferenceRecordToJson(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  json j = json::parse(line);
  EXPECT_EQ(j["ts"], kTs);
  EXPECT_EQ(j["request_id"], "req-1");
  EXPECT_EQ(j["deployment"], "fraud");
  EXPECT_EQ(j["model"], "fraud-model");
  EXPECT_EQ(j["version"], "3");
  EXPECT_EQ(j["role"], "shadow");
  EXPECT_EQ(j["latency_us"], 412);
  EXPECT_EQ(j["status"], 200);
  EXPECT_FALSE(j.contains("error"));

  EXPECT_EQ(j["inputs"]["kind"], "columns");
  const json& in = j["inputs"]["tensors"];
  ASSERT_EQ(in.size(), 7u);
  EXPECT_EQ(in[0]["name"], "amount");
  EXPECT_EQ(in[0]["datatype"], "FP32");
  EXPECT_EQ(in[0]["shape"], json::parse("[2,2]"));
  // FP32 printed at float precision (0.1f -> 0.1), non-finite as strings.
  EXPECT_EQ(in[0]["data"].dump(), R"([0.1,"NaN","Infinity","-Infinity"])");
  EXPECT_EQ(in[1]["data"], json::parse("[-5, 1099511627776]"));
  EXPECT_EQ(in[2]["data"], json::parse("[true, false]"));
  EXPECT_EQ(in[3]["datatype"], "FP16");
  EXPECT_EQ(in[3]["data"], json::parse("[1.5, -2.0]"));
  EXPECT_EQ(in[4]["data"][0].get<uint64_t>(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(in[5]["data"][0].get<double>(), 1.0 / 3);
  EXPECT_EQ(in[6]["datatype"], "BYTES");
  EXPECT_EQ(in[6]["data"][0], "Zürich \"q\"\n");
  // Invalid UTF-8 becomes U+FFFD per bad byte; the line stays valid JSON.
  EXPECT_EQ(in[6]["data"][1], std::string("\xEF\xBF\xBD\x00z", 5));

  EXPECT_EQ(j["outputs"]["frame"], true);
  EXPECT_EQ(j["outputs"]["tensors"][0]["name"], "label");
  EXPECT_EQ(j["outputs"]["tensors"][0]["datatype"], "INT32");
  EXPECT_EQ(j["outputs"]["tensors"][0]["data"], json::parse("[1, 0]"));
}

TEST(InferenceRecordToJsonTest, ErrorsAndMissingPayloads) {
  InferenceRecord r = MakeRecord(std::string("bad\xc3", 4));
  r.status = 400;
  r.error = "input 'x': expected FP32";
  auto input = std::make_shared<ModelInput>();
  input->kind = ModelInput::Kind::kTensors;
  r.input = input;
  json j = json::parse(InferenceRecordToJson(r));
  EXPECT_EQ(j["role"], "live");
  EXPECT_EQ(j["status"], 400);
  EXPECT_EQ(j["error"], "input 'x': expected FP32");
  EXPECT_EQ(j["request_id"], "bad\xEF\xBF\xBD");
  EXPECT_EQ(j["inputs"]["kind"], "tensors");
  EXPECT_EQ(j["inputs"]["tensors"], json::array());
  EXPECT_FALSE(j.contains("outputs"));  // null output: no key
}

TEST_F(InferenceLogTest, OpenValidatesOptions) {
  InferenceLogOptions o = Options();
  o.root = "";
  auto r = InferenceLog::Open(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  o = Options();
  o.sample_rate = 1.5;
  EXPECT_EQ(InferenceLog::Open(o).error().code(), ErrorCode::kInvalidArgument);
  o.sample_rate = std::nan("");
  EXPECT_EQ(InferenceLog::Open(o).error().code(), ErrorCode::kInvalidArgument);
  o = Options();
  o.buffer_records = 0;
  EXPECT_EQ(InferenceLog::Open(o).error().code(), ErrorCode::kInvalidArgument);
  o = Options();
  o.segment_records = 0;
  EXPECT_EQ(InferenceLog::Open(o).error().code(), ErrorCode::kInvalidArgument);
  o = Options();
  o.segment_age = 0ms;
  EXPECT_EQ(InferenceLog::Open(o).error().code(), ErrorCode::kInvalidArgument);
  // Root below a regular file cannot be created.
  std::ofstream(dir_ + "/file") << "x";
  o = Options();
  o.root = dir_ + "/file/log";
  auto bad = InferenceLog::Open(o);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInternal);
  // A valid one creates the root.
  auto ok = InferenceLog::Open(Options());
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_TRUE(fs::is_directory(root_));
}

TEST_F(InferenceLogTest, RecordsRoundTripThroughSegments) {
  auto log = *InferenceLog::Open(Options());
  auto output = std::make_shared<ModelOutput>();
  output->tensors.push_back(Values<double>("p", DataType::kFp64, {1}, {0.25}));
  for (int i = 0; i < 3; ++i) {
    InferenceRecord r = MakeRecord("f" + std::to_string(i));
    r.output = output;
    log->Append(std::move(r));
  }
  log->Append(MakeRecord("s0", "spam", kTs + 5));
  log->Stop();
  EXPECT_EQ(log->appended(), 4u);
  EXPECT_EQ(log->written(), 4u);
  EXPECT_EQ(log->dropped(), 0u);
  EXPECT_EQ(log->write_errors(), 0u);
  EXPECT_EQ(log->buffered(), 0u);

  const auto files = Files();
  ASSERT_EQ(files.size(), 2u);
  // <deployment>/<YYYY-MM-DD>/<first-ts-millis>-<seq>.jsonl
  std::regex name(R"((fraud|spam)/2025-11-26/(\d+)-(\d+)\.jsonl)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(files[0], m, name)) << files[0];
  EXPECT_EQ(m[1], "fraud");
  EXPECT_EQ(m[2], std::to_string(kTs));
  ASSERT_TRUE(std::regex_match(files[1], m, name)) << files[1];
  EXPECT_EQ(m[1], "spam");
  EXPECT_EQ(m[2], std::to_string(kTs + 5));

  auto fraud = Lines(files[0]);
  ASSERT_EQ(fraud.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(fraud[i]["request_id"], "f" + std::to_string(i));
    EXPECT_EQ(fraud[i]["deployment"], "fraud");
    EXPECT_EQ(fraud[i]["ts"], kTs);
    EXPECT_EQ(fraud[i]["outputs"]["tensors"][0]["data"], json::parse("[0.25]"));
  }
  auto spam = Lines(files[1]);
  ASSERT_EQ(spam.size(), 1u);
  EXPECT_EQ(spam[0]["request_id"], "s0");
}

TEST_F(InferenceLogTest, SegmentsRollAtSegmentRecords) {
  InferenceLogOptions o = Options();
  o.segment_records = 2;
  auto log = *InferenceLog::Open(o);
  for (int i = 0; i < 5; ++i) log->Append(MakeRecord("r" + std::to_string(i)));
  log->Stop();
  auto files = Files();
  ASSERT_EQ(files.size(), 3u);
  // Order segments by sequence number, then check the records' order.
  std::vector<std::pair<int, std::string>> by_seq;
  for (const auto& f : files) {
    std::smatch m;
    std::regex re(R"(fraud/2025-11-26/\d+-(\d+)\.jsonl)");
    ASSERT_TRUE(std::regex_match(f, m, re)) << f;
    by_seq.emplace_back(std::stoi(m[1]), f);
  }
  std::sort(by_seq.begin(), by_seq.end());
  std::vector<size_t> sizes;
  std::vector<std::string> ids;
  for (const auto& [seq, f] : by_seq) {
    auto lines = Lines(f);
    sizes.push_back(lines.size());
    for (const auto& l : lines) ids.push_back(l["request_id"]);
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 1}));
  EXPECT_EQ(ids, (std::vector<std::string>{"r0", "r1", "r2", "r3", "r4"}));
}

TEST_F(InferenceLogTest, SegmentClosedCallbackSeesEverySegmentOnce) {
  InferenceLogOptions o = Options();
  o.segment_records = 2;
  std::mutex mu;
  std::vector<std::string> relatives;  // guarded by mu
  std::vector<std::string> bad;        // guarded by mu
  std::thread::id callback_thread;
  o.on_segment_closed = [&](const std::string& relative, const std::string& local) {
    std::lock_guard lock(mu);
    relatives.push_back(relative);
    callback_thread = std::this_thread::get_id();
    // Called after the rename: the final file is there, the .part is gone.
    if (local != (fs::path(root_) / relative).string()) bad.push_back("path " + local);
    if (!fs::is_regular_file(local)) bad.push_back("missing " + local);
    if (fs::exists(local + ".part")) bad.push_back("part " + local);
  };
  auto log = *InferenceLog::Open(o);
  for (int i = 0; i < 5; ++i) log->Append(MakeRecord("f" + std::to_string(i), "fraud"));
  for (int i = 0; i < 2; ++i) log->Append(MakeRecord("c" + std::to_string(i), "churn"));
  log->Stop();
  std::lock_guard lock(mu);
  EXPECT_TRUE(bad.empty()) << bad.front();
  EXPECT_NE(callback_thread, std::this_thread::get_id());
  std::sort(relatives.begin(), relatives.end());
  // Exactly the published segments (fraud: 2+2+1, churn: 2), each once.
  EXPECT_EQ(relatives, Files());
  ASSERT_EQ(relatives.size(), 4u);
  EXPECT_EQ(std::set<std::string>(relatives.begin(), relatives.end()).size(), 4u);
  for (const auto& r : relatives) {
    EXPECT_TRUE(std::regex_match(r, std::regex(R"((fraud|churn)/2025-11-26/\d+-\d+\.jsonl)"))) << r;
  }
}

TEST_F(InferenceLogTest, SegmentClosedCallbackMayRemoveTheFile) {
  InferenceLogOptions o = Options();
  o.segment_age = 20ms;
  std::atomic<int> calls{0};
  std::mutex mu;
  std::vector<std::string> ids;  // guarded by mu
  o.on_segment_closed = [&](const std::string&, const std::string& local) {
    for (const auto& l : [&] {
           std::ifstream in(local);
           std::vector<std::string> out;
           std::string line;
           while (std::getline(in, line)) out.push_back(json::parse(line)["request_id"]);
           return out;
         }()) {
      std::lock_guard lock(mu);
      ids.push_back(l);
    }
    fs::remove(local);  // as an uploader does after a successful upload
    calls.fetch_add(1);
  };
  auto log = *InferenceLog::Open(o);
  log->Append(MakeRecord("a"));
  ASSERT_TRUE(WaitFor([&] { return calls.load() == 1; }));  // closed by age, not by Stop
  log->Append(MakeRecord("b"));
  log->Stop();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_TRUE(Files().empty());
  std::lock_guard lock(mu);
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b"}));
}

TEST_F(InferenceLogTest, PartOnlyWhileOpen) {
  InferenceLogOptions o = Options();
  o.segment_age = std::chrono::hours(1);
  auto log = *InferenceLog::Open(o);
  log->Append(MakeRecord("a"));
  ASSERT_TRUE(WaitFor([&] { return log->written() == 1; }));
  EXPECT_EQ(FilesEndingWith(".jsonl").size(), 0u);
  auto parts = FilesEndingWith(".jsonl.part");
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(Lines(parts[0]).size(), 1u);  // written, not yet published
  log->Stop();
  EXPECT_EQ(FilesEndingWith(".part").size(), 0u);
  auto done = FilesEndingWith(".jsonl");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0], parts[0].substr(0, parts[0].size() - 5));
}

TEST_F(InferenceLogTest, SegmentsRollByAge) {
  InferenceLogOptions o = Options();
  o.segment_age = 50ms;
  auto log = *InferenceLog::Open(o);
  log->Append(MakeRecord("a"));
  // The first segment is published once it is 50 ms old, without Stop.
  ASSERT_TRUE(WaitFor([&] { return FilesEndingWith(".jsonl").size() == 1; }));
  EXPECT_EQ(FilesEndingWith(".part").size(), 0u);
  log->Append(MakeRecord("b"));
  ASSERT_TRUE(WaitFor([&] { return FilesEndingWith(".jsonl").size() == 2; }));
  log->Stop();
  auto files = Files();
  ASSERT_EQ(files.size(), 2u);
  std::multiset<std::string> ids;
  for (const auto& f : files) {
    auto lines = Lines(f);
    ASSERT_EQ(lines.size(), 1u);
    ids.insert(lines[0]["request_id"].get<std::string>());
  }
  EXPECT_EQ(ids, (std::multiset<std::string>{"a", "b"}));
}

TEST_F(InferenceLogTest, StopFlushesEverythingAndDropsLaterAppends) {
  InferenceLogOptions o = Options();
  o.flush_interval = std::chrono::hours(1);  // only Stop makes the writer write
  o.segment_age = std::chrono::hours(1);
  auto log = *InferenceLog::Open(o);
  for (int i = 0; i < 100; ++i) log->Append(MakeRecord(std::to_string(i)));
  EXPECT_EQ(log->buffered(), 100u);
  EXPECT_EQ(log->written(), 0u);
  log->Stop();
  EXPECT_EQ(log->buffered(), 0u);
  EXPECT_EQ(log->written(), 100u);
  auto files = FilesEndingWith(".jsonl");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(Lines(files[0]).size(), 100u);
  log->Append(MakeRecord("late"));
  EXPECT_EQ(log->dropped(), 1u);
  EXPECT_EQ(log->appended(), 100u);
  log->Stop();  // idempotent
  EXPECT_EQ(Lines(files[0]).size(), 100u);
}

TEST_F(InferenceLogTest, FullBufferDropsAndCounts) {
  InferenceLogOptions o = Options();
  o.buffer_records = 3;
  o.flush_interval = std::chrono::hours(1);  // the writer sleeps until Stop
  auto log = *InferenceLog::Open(o);
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    log->Append(MakeRecord("r" + std::to_string(i)));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);  // never waits
  }
  EXPECT_EQ(log->appended(), 3u);
  EXPECT_EQ(log->dropped(), 2u);
  EXPECT_EQ(log->buffered(), 3u);
  log->Stop();
  EXPECT_EQ(log->written(), 3u);
  auto files = FilesEndingWith(".jsonl");
  ASSERT_EQ(files.size(), 1u);
  auto lines = Lines(files[0]);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["request_id"], "r0");
  EXPECT_EQ(lines[2]["request_id"], "r2");
}

TEST_F(InferenceLogTest, SampleRateZeroAndOneAndHalf) {
  InferenceLogOptions o = Options();
  o.sample_rate = 0;
  auto never = *InferenceLog::Open(o);
  o.sample_rate = 1;
  auto always = *InferenceLog::Open(o);
  o.sample_rate = 0.25;
  auto quarter = *InferenceLog::Open(o);
  int n_never = 0, n_always = 0, n_quarter = 0;
  constexpr int kN = 20000;
  for (int i = 0; i < kN; ++i) {
    n_never += never->Sample();
    n_always += always->Sample();
    n_quarter += quarter->Sample();
  }
  EXPECT_EQ(n_never, 0);
  EXPECT_EQ(n_always, kN);
  // Mean 5000, standard deviation ~61: this window is > 10 sigma wide.
  EXPECT_GT(n_quarter, 4400);
  EXPECT_LT(n_quarter, 5600);
}

TEST_F(InferenceLogTest, IoErrorsAreCountedAndTheLogKeepsGoing) {
  auto log = *InferenceLog::Open(Options());
  // Replace the root folder by a regular file: creating folders under it
  // fails even for root (chmod would not stop root).
  fs::remove_all(root_);
  std::ofstream(root_) << "not a folder";
  log->Append(MakeRecord("lost"));
  ASSERT_TRUE(WaitFor([&] { return log->write_errors() >= 1; }));
  EXPECT_EQ(log->written(), 0u);
  // Repair: the next record lands.
  fs::remove(root_);
  fs::create_directories(root_);
  log->Append(MakeRecord("kept"));
  ASSERT_TRUE(WaitFor([&] { return log->written() == 1; }));
  log->Stop();
  auto files = FilesEndingWith(".jsonl");
  ASSERT_EQ(files.size(), 1u);
  auto lines = Lines(files[0]);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["request_id"], "kept");
  EXPECT_EQ(log->appended(), 2u);
}

TEST_F(InferenceLogTest, DeploymentNamesStayUnderRoot) {
  auto log = *InferenceLog::Open(Options());
  log->Append(MakeRecord("x", "../escape"));
  log->Append(MakeRecord("y", ".."));
  log->Stop();
  EXPECT_FALSE(fs::exists(dir_ + "/escape"));
  auto files = Files();
  ASSERT_EQ(files.size(), 2u);
  // Each name became one safe folder right under root.
  EXPECT_TRUE(files[0].starts_with(".._escape/2025-11-26/")) << files[0];
  EXPECT_TRUE(files[1].starts_with("_../2025-11-26/")) << files[1];
  EXPECT_EQ(Lines(files[0]).size() + Lines(files[1]).size(), 2u);
}

TEST_F(InferenceLogTest, ConcurrentAppendsLandExactlyOnce) {
  InferenceLogOptions o = Options();
  o.flush_interval = 1ms;
  o.segment_records = 97;
  o.buffer_records = 100000;
  auto log = *InferenceLog::Open(o);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        log->Append(
            MakeRecord(std::to_string(t) + "-" + std::to_string(i), t % 2 == 0 ? "even" : "odd"));
      }
    });
  }
  for (auto& th : threads) th.join();
  log->Stop();
  EXPECT_EQ(log->appended(), static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(log->written(), static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(log->dropped(), 0u);
  EXPECT_EQ(FilesEndingWith(".part").size(), 0u);
  std::set<std::string> ids;
  size_t total = 0;
  for (const auto& f : Files()) {
    auto lines = Lines(f);
    EXPECT_LE(lines.size(), 97u) << f;
    for (const auto& l : lines) {
      const std::string id = l["request_id"];
      const bool even = (id[0] - '0') % 2 == 0;
      EXPECT_TRUE(f.starts_with(even ? "even/" : "odd/")) << f << " " << id;
      ids.insert(id);
      ++total;
    }
  }
  EXPECT_EQ(total, static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace cairn::serving
