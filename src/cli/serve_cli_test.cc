// Runs the built `cairn` binary (CAIRN_BINARY) as a user would for the data
// plane: `cairn predict` over CSV / JSON-lines files with the XGBoost test
// classifier (labels checked against the probabilities in
// CAIRN_XGBOOST_TESTDATA), its error paths (exit codes, messages, no output
// left behind), and `cairn serve` as a child process: a deployment file, the
// startup line, one OIP infer over a socket, SIGTERM; and its startup errors.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/raw_http.h"
#include "support/subprocess.h"
#include "support/temp_files.h"

extern char** environ;

namespace cairn::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::MakeTempDir;
using test::ReadFile;

const std::string kXgbTestdata = CAIRN_XGBOOST_TESTDATA;
const std::string kServeTestdata = CAIRN_SERVE_TESTDATA;

// ------------------------------------------------------------ processes

using Outcome = test::CommandOutcome;

// The binary under test (support/subprocess.h).
pid_t Spawn(const std::vector<std::string>& args, const std::string& out_file, int* out_fd,
            const std::string& err_file, const std::vector<std::string>& env = {}) {
  return test::SpawnProcess(CAIRN_BINARY, args, out_file, out_fd, err_file, env);
}
using test::WaitExit;
using test::ExitCodeOf;

// The exit code if `pid` exits within `timeout`; else kills it and returns -1.
int WaitExitWithin(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return ExitCodeOf(status);
    if (r < 0) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

// Reads from `fd` until a newline or the deadline; returns the line.
std::string ReadLine(int fd, std::chrono::seconds timeout) {
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char c;
    if (read(fd, &c, 1) != 1) break;
    if (c == '\n') break;
    line.push_back(c);
  }
  return line;
}

// ------------------------------------------------------------ HTTP client

using test::HttpResult;

// One request to the server under test (support/raw_http.h).
HttpResult Http(int port, const std::string& method, const std::string& target,
                const std::string& body = "", const std::string& content_type = "") {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!content_type.empty()) headers.emplace_back("Content-Type", content_type);
  return test::RawHttp(port, method, target, body, headers, 30);
}

// ------------------------------------------------------------ test data

// The rows of inputs.txt with no NaN, as the text of their 10 values, and the
// label the classifier gives each (probability in binary_ubj.expected.txt > 0.5).
struct Rows {
  std::vector<std::vector<std::string>> values;
  std::vector<int> labels;
};

Rows LoadRows() {
  Rows rows;
  std::ifstream inputs(kXgbTestdata + "/inputs.txt");
  std::ifstream expected(kXgbTestdata + "/binary_ubj.expected.txt");
  std::string line;
  double p = 0;
  while (std::getline(inputs, line) && expected >> p) {
    std::istringstream fields(line);
    std::vector<std::string> row;
    std::string v;
    bool has_nan = false;
    while (fields >> v) {
      has_nan |= v == "nan";
      row.push_back(v);
    }
    if (has_nan) continue;
    rows.values.push_back(row);
    rows.labels.push_back(p > 0.5 ? 1 : 0);
  }
  return rows;
}

// A CSV of `rows` with the header f0..f9, leaving out column `skip` (-1: none).
std::string Csv(const Rows& rows, int skip = -1) {
  std::string csv;
  for (int i = 0; i < 10; ++i) {
    if (i == skip) continue;
    csv += (csv.empty() ? "f" : ",f") + std::to_string(i);
  }
  csv += "\n";
  for (const auto& row : rows.values) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (static_cast<int>(i) == skip) continue;
      line += (line.empty() ? "" : ",") + row[i];
    }
    csv += line + "\n";
  }
  return csv;
}

class ServeCliTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("cairn-serve-cli-test");
    rows_ = LoadRows();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs `cairn <args>` to completion; the model cache is inside dir_.
  Outcome Run(std::vector<std::string> args, std::vector<std::string> env = {}) {
    env.push_back("CAIRN_MODEL_CACHE=" + dir_ + "/cache");
    return test::RunCommand(CAIRN_BINARY, args, dir_, env);
  }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // A copy of the column-signature test model at dir_/<name>.
  std::string ModelCopy(const std::string& name) {
    std::string path = dir_ + "/" + name;
    fs::copy(kServeTestdata + "/xgb_frame_example", path, fs::copy_options::recursive);
    return path;
  }

  std::string ExpectedCsv() const {
    std::string csv = "predict\n";
    for (int label : rows_.labels) csv += std::to_string(label) + "\n";
    return csv;
  }

  std::string dir_;
  Rows rows_;
};

// ------------------------------------------------------------ cairn predict

TEST_F(ServeCliTest, TestDataHasBothLabels) {
  // The cases below mean something only with both classes among the rows.
  ASSERT_EQ(rows_.values.size(), 18u);
  int ones = 0;
  for (int label : rows_.labels) ones += label;
  EXPECT_GT(ones, 0);
  EXPECT_LT(ones, 18);
}

TEST_F(ServeCliTest, PredictCsvToCsvGivesTheClassifiersLabels) {
  std::string model = kServeTestdata + "/xgb_frame_example";
  std::string input = Write("data.csv", Csv(rows_));
  std::string output = dir_ + "/out.csv";
  Outcome o = Run({"predict", "--model", model, "--input", input, "--output", output});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(ReadFile(output), ExpectedCsv());
  EXPECT_FALSE(fs::exists(output + ".part"));
  // The summary line (on stdout: the output file is never stdout).
  EXPECT_TRUE(o.out.starts_with("predicted 18 rows in ")) << o.out << o.err;
  EXPECT_EQ(o.err.find("error"), std::string::npos) << o.err;

  // Chunks of 2 (the last chunk full too: 18 rows) and of 5 (a last chunk of
  // 3) give the same file.
  for (const char* batch : {"2", "5"}) {
    std::string chunked = dir_ + "/out_" + batch + ".csv";
    Outcome c = Run({"predict", "-m", model, "-i", input, "-o", chunked, "--batch-size", batch});
    ASSERT_EQ(c.exit_code, 0) << c.err;
    EXPECT_EQ(ReadFile(chunked), ReadFile(output)) << "--batch-size " << batch;
    EXPECT_TRUE(c.out.starts_with("predicted 18 rows in ")) << c.out;
  }
}

TEST_F(ServeCliTest, PredictWritesJsonLines) {
  std::string input = Write("data.csv", Csv(rows_));
  std::string output = dir_ + "/out.jsonl";
  Outcome o = Run({"predict", "--model", kServeTestdata + "/xgb_frame_example", "--input", input,
                   "--output", output, "--batch-size", "4"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  std::string expected;
  for (int label : rows_.labels) expected += "{\"predict\":" + std::to_string(label) + "}\n";
  EXPECT_EQ(ReadFile(output), expected);
  EXPECT_TRUE(o.out.starts_with("predicted 18 rows in ")) << o.out;
}

TEST_F(ServeCliTest, PredictReadsJsonLinesInput) {
  std::string lines;
  for (const auto& row : rows_.values) {
    json record;
    for (size_t i = 0; i < row.size(); ++i) record["f" + std::to_string(i)] = std::stod(row[i]);
    lines += record.dump() + "\n";
  }
  std::string input = Write("data.jsonl", lines);
  std::string output = dir_ + "/out.csv";
  Outcome o = Run({"predict", "--model", kServeTestdata + "/xgb_frame_example", "--input", input,
                   "--output", output, "--batch-size", "7"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(ReadFile(output), ExpectedCsv());
}

TEST_F(ServeCliTest, PredictMissingInputFileNamesIt) {
  std::string input = dir_ + "/no-such.csv";
  std::string output = dir_ + "/out.csv";
  Outcome o = Run({"predict", "--model", kServeTestdata + "/xgb_frame_example", "--input", input,
                   "--output", output});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_TRUE(o.err.starts_with("error: ")) << o.err;
  EXPECT_NE(o.err.find(input), std::string::npos) << o.err;
  EXPECT_FALSE(fs::exists(output));
  EXPECT_FALSE(fs::exists(output + ".part"));
}

TEST_F(ServeCliTest, PredictMissingColumnNamesColumnAndRowsAndLeavesNoOutput) {
  std::string input = Write("data.csv", Csv(rows_, /*skip=*/3));
  std::string output = dir_ + "/out.csv";
  Outcome o = Run({"predict", "--model", kServeTestdata + "/xgb_frame_example", "--input", input,
                   "--output", output, "--batch-size", "5"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("rows 1-5: "), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("'f3'"), std::string::npos) << o.err;
  EXPECT_FALSE(fs::exists(output));
  EXPECT_FALSE(fs::exists(output + ".part"));
  EXPECT_EQ(o.out.find("predicted"), std::string::npos) << o.out;
}

TEST_F(ServeCliTest, PredictBadValueInALaterChunkNamesThatChunk) {
  Rows rows = rows_;
  rows.values[11][2] = "high";  // data row 12: in rows 11-15 with --batch-size 5
  std::string input = Write("data.csv", Csv(rows));
  std::string output = dir_ + "/out.csv";
  Outcome o = Run({"predict", "--model", kServeTestdata + "/xgb_frame_example", "--input", input,
                   "--output", output, "--batch-size", "5"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("rows 11-15: "), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("'f2'"), std::string::npos) << o.err;
  // The chunks before were written to the .part file, which is removed.
  EXPECT_FALSE(fs::exists(output));
  EXPECT_FALSE(fs::exists(output + ".part"));
}

TEST_F(ServeCliTest, PredictUnknownExtensionsAreRejected) {
  std::string model = kServeTestdata + "/xgb_frame_example";
  std::string txt = Write("data.txt", Csv(rows_));
  Outcome in = Run({"predict", "--model", model, "--input", txt, "--output", dir_ + "/out.csv"});
  EXPECT_EQ(in.exit_code, 1);
  EXPECT_NE(in.err.find("data.txt"), std::string::npos) << in.err;
  EXPECT_FALSE(fs::exists(dir_ + "/out.csv"));

  std::string csv = Write("data.csv", Csv(rows_));
  Outcome out = Run({"predict", "--model", model, "--input", csv, "--output", dir_ + "/out.xlsx"});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("out.xlsx"), std::string::npos) << out.err;
  EXPECT_FALSE(fs::exists(dir_ + "/out.xlsx"));
  EXPECT_FALSE(fs::exists(dir_ + "/out.xlsx.part"));
}

TEST_F(ServeCliTest, PredictBatchSizeMustBePositive) {
  std::string csv = Write("data.csv", Csv(rows_));
  for (const char* size : {"0", "-3"}) {
    Outcome o = Run({"predict", "--model", kServeTestdata + "/xgb_frame_example", "--input", csv,
                     "--output", dir_ + "/out.csv", "--batch-size", size});
    EXPECT_NE(o.exit_code, 0) << size;
    EXPECT_NE(o.err.find("--batch-size must be at least 1"), std::string::npos) << o.err;
    EXPECT_FALSE(fs::exists(dir_ + "/out.csv"));
  }
}

TEST_F(ServeCliTest, PredictRegistryModelWithUnreachableTrackingServer) {
  std::string csv = Write("data.csv", Csv(rows_));
  Outcome o = Run({"predict", "--model", "models:/x@y", "--input", csv, "--output",
                   dir_ + "/out.csv", "--tracking-uri", "http://127.0.0.1:1"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("cannot reach the tracking server at http://127.0.0.1:1"), std::string::npos)
      << o.err;
  EXPECT_FALSE(fs::exists(dir_ + "/out.csv"));
  // Also when the URI comes from the environment.
  Outcome env = Run({"predict", "--model", "models:/x@y", "--input", csv, "--output",
                     dir_ + "/out.csv"},
                    {"CAIRN_TRACKING_URI=http://127.0.0.1:1"});
  EXPECT_EQ(env.exit_code, 1);
  EXPECT_NE(env.err.find("http://127.0.0.1:1"), std::string::npos) << env.err;
}

TEST_F(ServeCliTest, PredictWithoutRequiredFlagsIsAUsageError) {
  Outcome o = Run({"predict", "--model", kServeTestdata + "/xgb_frame_example"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("--input"), std::string::npos) << o.err;
}

// ------------------------------------------------------------ cairn serve

// The OIP request for rows_: one FP32 input per column, shape [rows].
std::string OipBody(const Rows& rows) {
  json inputs = json::array();
  for (int c = 0; c < 10; ++c) {
    json data = json::array();
    for (const auto& row : rows.values) data.push_back(std::stod(row[static_cast<size_t>(c)]));
    inputs.push_back({{"name", "f" + std::to_string(c)},
                      {"shape", {rows.values.size()}},
                      {"datatype", "FP32"},
                      {"data", data}});
  }
  return json{{"id", "cli-1"}, {"inputs", inputs}}.dump();
}

TEST_F(ServeCliTest, ServeDeploymentFileAnswersOipAndStopsOnSigterm) {
  std::string alpha = ModelCopy("alpha");
  std::string beta = ModelCopy("beta");
  std::string yaml = Write("deploy.yaml",
                           "deployments:\n"
                           "  fraud:\n"
                           "    batching:\n"
                           "      max_batch_size: 8\n"
                           "      instances: 1\n"
                           "    targets:\n"
                           "      - model: " + alpha + "\n"
                           "        weight: 100\n"
                           "      - model: " + beta + "\n"
                           "        weight: 0\n");
  std::string err = dir_ + "/serve.err";
  int out_fd = -1;
  pid_t pid = Spawn({"serve", "--deployment-file", yaml, "--port", "0", "--poll-interval-ms", "0",
                     "--no-access-log"},
                    "", &out_fd, err, {"CAIRN_MODEL_CACHE=" + dir_ + "/cache"});
  ASSERT_GT(pid, 0);
  const std::string prefix = "cairn serve: listening on http://127.0.0.1:";
  std::string line = ReadLine(out_fd, std::chrono::seconds(60));
  if (!line.starts_with(prefix)) {
    kill(pid, SIGKILL);
    WaitExit(pid);
    close(out_fd);
    FAIL() << "startup line: '" << line << "'\nstderr:\n" << ReadFile(err);
  }
  size_t digits_end = prefix.size();
  while (digits_end < line.size() && std::isdigit(static_cast<unsigned char>(line[digits_end]))) {
    ++digits_end;
  }
  int port = std::stoi(line.substr(prefix.size(), digits_end - prefix.size()));
  EXPECT_GT(port, 0);
  EXPECT_EQ(line.substr(digits_end),
            " (deployments: fraud -> " + alpha + " v1 (100), " + beta + " v1 (0))");

  // Every request goes to alpha (weight 100; beta has 0).
  for (int i = 0; i < 3; ++i) {
    HttpResult r = Http(port, "POST", "/v2/models/fraud/infer", OipBody(rows_), "application/json");
    ASSERT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.body;
    EXPECT_EQ(j["model_name"], "fraud");
    EXPECT_EQ(j["model_version"], "1");
    EXPECT_EQ(j["id"], "cli-1");
    ASSERT_EQ(j["outputs"].size(), 1u) << r.body;
    EXPECT_EQ(j["outputs"][0]["name"], "predict");
    EXPECT_EQ(j["outputs"][0]["datatype"], "INT64");
    EXPECT_EQ(j["outputs"][0]["shape"], json::array({rows_.values.size()}));
    EXPECT_EQ(j["outputs"][0]["data"].get<std::vector<int>>(), rows_.labels);
    EXPECT_EQ(r.Header("x-cairn-model"), "alpha");
    EXPECT_EQ(r.Header("x-cairn-version"), "1");
    EXPECT_EQ(r.Header("x-cairn-deployment"), "fraud");
  }
  // MLflow scoring on the same process: CSV in, predictions out.
  HttpResult scored = Http(port, "POST", "/invocations", Csv(rows_), "text/csv");
  ASSERT_EQ(scored.status, 200) << scored.body;
  json predictions = json::parse(scored.body, nullptr, false);
  ASSERT_FALSE(predictions.is_discarded()) << scored.body;
  EXPECT_EQ(predictions["predictions"].get<std::vector<int>>(), rows_.labels);
  EXPECT_EQ(Http(port, "GET", "/v2/health/ready").status, 200);

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(WaitExitWithin(pid, std::chrono::seconds(10)), 0) << ReadFile(err);
  close(out_fd);
  EXPECT_NE(ReadFile(err).find("cairn serve: received SIGTERM, draining"), std::string::npos)
      << ReadFile(err);
  // Stopped: nothing listens any more.
  EXPECT_EQ(Http(port, "GET", "/v2/health/live").status, 0);
}

TEST_F(ServeCliTest, ServeSingleModelFlagNamesTheDeploymentAfterTheFolder) {
  std::string iris = ModelCopy("iris");
  std::string err = dir_ + "/serve.err";
  int out_fd = -1;
  pid_t pid = Spawn({"serve", "--model", iris, "-p", "0", "--poll-interval-ms", "0"}, "", &out_fd,
                    err, {"CAIRN_MODEL_CACHE=" + dir_ + "/cache"});
  ASSERT_GT(pid, 0);
  std::string line = ReadLine(out_fd, std::chrono::seconds(60));
  EXPECT_TRUE(line.starts_with("cairn serve: listening on http://127.0.0.1:")) << line << "\n"
                                                                              << ReadFile(err);
  EXPECT_TRUE(line.ends_with(" (deployments: iris -> " + iris + " v1)")) << line;
  // SIGINT drains as SIGTERM does.
  ASSERT_EQ(kill(pid, SIGINT), 0);
  EXPECT_EQ(WaitExitWithin(pid, std::chrono::seconds(10)), 0) << ReadFile(err);
  close(out_fd);
  EXPECT_NE(ReadFile(err).find("received SIGINT"), std::string::npos) << ReadFile(err);
}

// The speed options: XGBoost through its C API, one io_context per thread,
// the wait batching policy. The server says which predictor it uses and
// serves; bad values are usage errors naming the option.
TEST_F(ServeCliTest, ServeSpeedOptionsAreAppliedAndChecked) {
  std::string model = ModelCopy("capi");
  std::string err = dir_ + "/serve.err";
  int out_fd = -1;
  pid_t pid = Spawn({"serve", "--model", model, "-p", "0", "--poll-interval-ms", "0",
                     "--xgboost-native-trees", "off", "--io-model", "per-thread",
                     "--batch-policy", "wait", "--max-queue-delay-us", "100"},
                    "", &out_fd, err, {"CAIRN_MODEL_CACHE=" + dir_ + "/cache"});
  ASSERT_GT(pid, 0);
  std::string line = ReadLine(out_fd, std::chrono::seconds(60));
  EXPECT_TRUE(line.starts_with("cairn serve: listening on http://127.0.0.1:")) << line << "\n"
                                                                              << ReadFile(err);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(WaitExitWithin(pid, std::chrono::seconds(10)), 0) << ReadFile(err);
  close(out_fd);
  EXPECT_NE(ReadFile(err).find("predicting through XGBoost's C API (disabled by "
                               "XgboostOptions::native_trees)"),
            std::string::npos)
      << ReadFile(err);

  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"--batch-policy", "eager"}, {"--io-model", "forked"}, {"--xgboost-native-trees", "no"}}) {
    Outcome o = Run({"serve", "--model", model, "--port", "0", flag, value});
    EXPECT_EQ(o.exit_code, 2) << flag << " " << value << ": " << o.err;
    EXPECT_NE(o.err.find(flag), std::string::npos) << o.err;
    EXPECT_EQ(o.out.find("listening"), std::string::npos) << o.out;
  }
}

TEST_F(ServeCliTest, ServeHeartbeatFlagsAreChecked) {
  std::string model = ModelCopy("hb");
  for (const auto& [flags, message] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--heartbeat-interval", "10ms"},
            "--heartbeat-interval '10ms' must be between 100ms and 1h (e.g. 5s), or 0 to turn "
            "heartbeats off"},
           {{"--heartbeat-interval", "5x"}, "--heartbeat-interval: duration '5x'"},
           {{"--advertise-url", "host:8080"},
            "--advertise-url 'host:8080' must start with http:// or https://"}}) {
    std::vector<std::string> args = {"serve", "--model", model, "--port", "0"};
    args.insert(args.end(), flags.begin(), flags.end());
    Outcome o = Run(args);
    EXPECT_EQ(o.exit_code, 1) << flags[0] << ": " << o.err;
    EXPECT_NE(o.err.find(message), std::string::npos) << o.err;
    EXPECT_EQ(o.out.find("listening"), std::string::npos) << o.out;
  }
}

TEST_F(ServeCliTest, ServeMalformedDeploymentFileNamesFileAndLine) {
  std::string alpha = ModelCopy("alpha");
  // A field error: line 5 holds the bad weight.
  std::string bad_weight = Write("bad.yaml",
                                 "deployments:\n"
                                 "  fraud:\n"
                                 "    targets:\n"
                                 "      - model: " + alpha + "\n"
                                 "        weight: lots\n");
  Outcome o = Run({"serve", "--deployment-file", bad_weight, "--port", "0"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find(bad_weight + " line 5: deployment 'fraud': targets[0].weight"),
            std::string::npos)
      << o.err;
  EXPECT_EQ(o.out.find("listening"), std::string::npos) << o.out;

  // A YAML syntax error: the flow sequence opened on line 3 is never closed
  // (yaml-cpp notices on line 5).
  std::string syntax = Write("syntax.yaml",
                             "deployments:\n"
                             "  fraud:\n"
                             "    targets: [\n"
                             "      {model: " + alpha + "\n"
                             "  other: 1\n");
  Outcome s = Run({"serve", "--deployment-file", syntax, "--port", "0"});
  EXPECT_EQ(s.exit_code, 1);
  EXPECT_NE(s.err.find(syntax + " line 5 column "), std::string::npos) << s.err;
  EXPECT_NE(s.err.find("invalid YAML"), std::string::npos) << s.err;

  // A file that does not exist.
  Outcome missing = Run({"serve", "--deployment-file", dir_ + "/nope.yaml", "--port", "0"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find(dir_ + "/nope.yaml"), std::string::npos) << missing.err;
}

TEST_F(ServeCliTest, ServeFolderWithoutMLmodelNamesTheFolder) {
  std::string empty = dir_ + "/not-a-model";
  fs::create_directories(empty);
  Outcome o = Run({"serve", "--model", empty, "--port", "0"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_TRUE(o.err.find("error: ") != std::string::npos) << o.err;
  EXPECT_NE(o.err.find(empty), std::string::npos) << o.err;
  EXPECT_EQ(o.out.find("listening"), std::string::npos) << o.out;
}

TEST_F(ServeCliTest, ServeWithNothingToServeIsAUsageError) {
  Outcome o = Run({"serve", "--port", "0"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("nothing to serve: give --model URI (or --deployment-file FILE)"),
            std::string::npos)
      << o.err;
  // Both forms at once are refused too.
  std::string yaml = Write("d.yaml", "deployments:\n  a:\n    targets:\n      - model: ./x\n");
  Outcome both = Run({"serve", "--deployment-file", yaml, "--model", "./x", "--port", "0"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("do not combine it with --model"), std::string::npos) << both.err;
}

}  // namespace
}  // namespace cairn::cli
