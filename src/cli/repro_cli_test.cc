// `cairn repro` / `cairn pipeline run` run as a user runs them: the built
// binary (CAIRN_BINARY) in temporary git repositories, with counter files the
// step commands append to, so what ran is visible from outside. The end to
// end scenario is issue 5's "What a user can do": data add, commit, a folder
// remote, repro, status, push, then a clone that pulls and reproduces
// without running anything.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client/tracking_client.h"
#include "support/live_server.h"
#include "support/subprocess.h"
#include "support/temp_files.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// True when `text` has a line starting with `first` (then a space) that
// contains `rest`: one step's line of `cairn pipeline status`.
bool HasLine(const std::string& text, const std::string& first, const std::string& rest) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    if (line.starts_with(first + " ") && line.find(rest) != std::string::npos) return true;
    start = end + 1;
  }
  return false;
}

class ReproCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = test::MakeTempDir("cairn-repro-cli");
    repo_ = tmp_ + "/repo";
    counts_ = tmp_ + "/counts";
    io_ = tmp_ + "/io";
    fs::create_directories(repo_);
    fs::create_directories(counts_);
    fs::create_directories(io_);
    ASSERT_EQ(Sh(repo_,
                 "git init -q . && git config user.name Test && "
                 "git config user.email test@example.com")
                  .exit_code,
              0);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }

  // `cairn args...` in folder `dir`. The tracking server defaults to a port
  // nothing listens on, so no test reaches a server by accident.
  test::CommandOutcome Cairn(const std::string& dir, const std::vector<std::string>& args,
                             std::vector<std::string> env = {}) {
    std::vector<std::string> argv = {"-c", "cd \"$0\" && exec \"$@\"", dir, CAIRN_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    env.push_back("CAIRN_TRACKING_URI=http://127.0.0.1:1");
    env.push_back("MLFLOW_TRACKING_URI=");
    return test::RunCliCommand("/bin/sh", argv, io_, env);
  }
  test::CommandOutcome Sh(const std::string& dir, const std::string& script) {
    return test::RunCommand("/bin/sh", {"-c", "cd " + Quote(dir) + " && " + script}, io_);
  }
  void Write(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }
  int Count(const std::string& name) {
    std::ifstream in(counts_ + "/" + name);
    int n = 0;
    std::string line;
    while (std::getline(in, line)) ++n;
    return n;
  }

  // prepare -> train -> evaluate@{small,large}, each appending to a counter
  // file outside the repository.
  std::string PipelineYaml() {
    const std::string c = Quote(counts_);
    return "steps:\n"
           "  prepare:\n"
           "    cmd: echo run >> " +
           c +
           "/prepare && mkdir -p data/prepared && "
           "cat data/raw/*.csv > data/prepared/all.csv\n"
           "    deps: [data/raw]\n"
           "    outs: [data/prepared]\n"
           "  train:\n"
           "    cmd: >-\n      echo run >> " +
           c +
           "/train && mkdir -p model && "
           "cat data/prepared/all.csv params.yaml > model/weights.txt && "
           "printf '{\"acc\": 0.75, \"loss\": {\"final\": 0.5}}' > metrics.json\n"
           "    deps: [data/prepared]\n"
           "    params: [train.lr, train.depth]\n"
           "    outs: [model]\n"
           "    metrics: [metrics.json]\n"
           "    retries: 1\n"
           "    timeout: 5m\n"
           "  evaluate:\n"
           "    foreach: [small, large]\n"
           "    cmd: echo run >> " +
           c +
           "/evaluate-${item} && "
           "wc -c model/weights.txt > eval/${item}.json && echo ${item} >> eval/${item}.json\n"
           "    deps: [model]\n"
           "    outs: [eval/${item}.json]\n";
  }
  void WriteProject() {
    Write(repo_ + "/data/raw/a.csv", "x,y\n1,2\n");
    Write(repo_ + "/data/raw/b.csv", "3,4\n");
    Write(repo_ + "/cairn.yaml", PipelineYaml());
    Write(repo_ + "/params.yaml", "train:\n  lr: 0.1\n  depth: 6\n");
  }

  std::string tmp_, repo_, counts_, io_;
};

TEST_F(ReproCliTest, RunsThenIsUpToDate) {
  WriteProject();
  auto first = Cairn(repo_, {"repro", "--no-track", "-j", "2"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("prepare: ran in "), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("train: ran in "), std::string::npos);
  EXPECT_NE(first.out.find("(attempt 1)"), std::string::npos);
  EXPECT_NE(first.out.find("evaluate@small: ran in "), std::string::npos);
  EXPECT_NE(first.out.find("4 steps: 4 ran, 0 restored, 0 up to date, 0 failed, 0 skipped"),
            std::string::npos)
      << first.out;
  EXPECT_EQ(first.err.find("not tracked"), std::string::npos);  // --no-track is silent
  EXPECT_TRUE(fs::exists(repo_ + "/cairn.lock"));
  EXPECT_EQ(Count("train"), 1);

  auto second = Cairn(repo_, {"pipeline", "run", "--no-track"});
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_NE(second.out.find("prepare: up to date"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("evaluate@large: up to date"), std::string::npos);
  EXPECT_NE(second.out.find("4 steps: 0 ran, 0 restored, 4 up to date"), std::string::npos);
  EXPECT_EQ(Count("prepare"), 1);
  EXPECT_EQ(Count("train"), 1);

  // A deleted out comes back from the cache.
  fs::remove_all(repo_ + "/model");
  auto third = Cairn(repo_, {"repro", "--no-track"});
  ASSERT_EQ(third.exit_code, 0) << third.out << third.err;
  EXPECT_NE(third.out.find("train: restored from cache"), std::string::npos) << third.out;
  EXPECT_EQ(Count("train"), 1);
  EXPECT_TRUE(fs::exists(repo_ + "/model/weights.txt"));

  // Dry run: says what would run, runs nothing.
  Write(repo_ + "/params.yaml", "train:\n  lr: 0.3\n  depth: 6\n");
  auto dry = Cairn(repo_, {"repro", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  EXPECT_NE(dry.out.find("train: would run (param train.lr 0.1 -> 0.3)"), std::string::npos)
      << dry.out;
  EXPECT_EQ(Count("train"), 1);
}

TEST_F(ReproCliTest, FailureExitCodeLogTailAndResume) {
  Write(repo_ + "/cairn.yaml",
        "steps:\n"
        "  bad:\n"
        "    cmd: echo run >> " +
            Quote(counts_) +
            "/bad && test -f fixed || "
            "{ echo boom-line; exit 3; }; echo ok > bad.out\n"
            "    outs: [bad.out]\n"
            "    retries: 1\n"
            "  after:\n"
            "    cmd: cat bad.out > after.out\n"
            "    deps: [bad.out]\n"
            "    outs: [after.out]\n"
            "  side:\n"
            "    cmd: echo side > side.out\n"
            "    outs: [side.out]\n");
  auto failed = Cairn(repo_, {"repro", "--no-track"});
  EXPECT_EQ(failed.exit_code, 1) << failed.out << failed.err;
  EXPECT_NE(failed.out.find("bad: FAILED (exit code 3) \u2014 log: .cairn/logs/bad.log"),
            std::string::npos)
      << failed.out;
  EXPECT_NE(failed.out.find("    | boom-line"), std::string::npos);
  EXPECT_NE(failed.out.find("after: skipped (upstream 'bad' failed)"), std::string::npos);
  EXPECT_NE(failed.out.find("side: ran in "), std::string::npos);
  EXPECT_NE(failed.out.find("bad: retrying (attempt 2)"), std::string::npos);
  EXPECT_EQ(Count("bad"), 2);

  Write(repo_ + "/fixed", "");
  auto resumed = Cairn(repo_, {"repro", "--no-track"});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_NE(resumed.out.find("side: up to date"), std::string::npos) << resumed.out;
  EXPECT_NE(resumed.out.find("after: ran in "), std::string::npos);
  EXPECT_EQ(Count("bad"), 3);
}

TEST_F(ReproCliTest, UnreachableTrackingWarnsOnceAndRuns) {
  WriteProject();
  auto out = Cairn(repo_, {"repro", "--tracking-uri", "http://127.0.0.1:1"});
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  EXPECT_EQ(CountOf(out.err, "not tracked: cannot reach"), 1u) << out.err;
  EXPECT_EQ(CountOf(out.err, "warning"), 1u) << out.err;
  EXPECT_NE(out.err.find("http://127.0.0.1:1"), std::string::npos);
  EXPECT_EQ(Count("train"), 1);
}

TEST_F(ReproCliTest, TracksToAServer) {
  auto server = test::LiveServer::Start("cairn-repro-track");
  ASSERT_TRUE(server) << server.error().ToString();
  WriteProject();
  auto out = Cairn(repo_, {"repro", "--experiment", "demo", "--tracking-uri", (*server)->uri()});
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  EXPECT_EQ(out.err.find("warning"), std::string::npos) << out.err;
  EXPECT_NE(out.out.find("tracked as run "), std::string::npos);
  auto client = client::TrackingClient::Create((*server)->uri());
  ASSERT_TRUE(client);
  auto experiment = client->GetExperimentByName("demo");
  ASSERT_TRUE(experiment) << experiment.error().ToString();
  auto runs = client->SearchAllRuns({.experiment_ids = {experiment->experiment_id}});
  ASSERT_TRUE(runs);
  EXPECT_EQ(runs->size(), 5u);
  bool found_train = false;
  for (const auto& run : *runs) {
    if (run.info.run_name != "train") continue;
    found_train = true;
    std::map<std::string, double> metrics;
    for (const auto& m : run.metrics) metrics[m.key] = m.value;
    EXPECT_EQ(metrics, (std::map<std::string, double>{{"acc", 0.75}, {"loss.final", 0.5}}));
    std::map<std::string, std::string> params;
    for (const auto& p : run.params) params[p.key] = p.value;
    EXPECT_EQ(params,
              (std::map<std::string, std::string>{{"train.depth", "6"}, {"train.lr", "0.1"}}));
  }
  EXPECT_TRUE(found_train);
}

TEST_F(ReproCliTest, SigintCancelsWithExit130) {
  // A sleep this process alone runs (another copy of the suite may be running the same test),
  // so the check below sees only its own step's processes.
  const std::string sleep_cmd = "sleep 67." + std::to_string(::getpid());
  Write(repo_ + "/cairn.yaml", "steps:\n  slow:\n    cmd: " + sleep_cmd +
                                   " && echo x > slow.out\n    outs: [slow.out]\n");
  std::vector<std::string> env = {"CAIRN_TRACKING_URI=http://127.0.0.1:1", "CAIRN_USER="};
  pid_t pid = test::SpawnProcess(
      "/bin/sh", {"-c", "cd \"$0\" && exec \"$@\"", repo_, CAIRN_BINARY, "repro", "--no-track"},
      io_ + "/sig.out", nullptr, io_ + "/sig.err", env);
  ASSERT_GT(pid, 0);
  // Wait until the step's log shows it started.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!fs::exists(repo_ + "/.cairn/logs/slow.log") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto start = std::chrono::steady_clock::now();
  ::kill(pid, SIGINT);
  const int code = test::WaitExit(pid);
  EXPECT_EQ(code, 130) << test::ReadFile(io_ + "/sig.out") << test::ReadFile(io_ + "/sig.err");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  EXPECT_NE(test::ReadFile(io_ + "/sig.out").find("slow: FAILED (cancelled)"), std::string::npos)
      << test::ReadFile(io_ + "/sig.out");
  // No sleep of the step survives.
  auto ps = test::RunCommand(
      "/bin/sh", {"-c", "ps -eo args | grep -c '^" + sleep_cmd + "$' || true"}, io_);
  EXPECT_EQ(ps.out, "0\n");
}

TEST_F(ReproCliTest, TwoReprosAtOnceRunTheStepOnce) {
  Write(repo_ + "/cairn.yaml", "steps:\n  slow:\n    cmd: echo run >> " + Quote(counts_) +
                                   "/slow && sleep 1 && echo x > slow.out\n    outs: [slow.out]\n");
  std::vector<std::string> env = {"CAIRN_TRACKING_URI=http://127.0.0.1:1", "CAIRN_USER="};
  std::vector<pid_t> pids;
  for (int i = 0; i < 2; ++i) {
    const std::string n = std::to_string(i);
    pids.push_back(test::SpawnProcess(
        "/bin/sh", {"-c", "cd \"$0\" && exec \"$@\"", repo_, CAIRN_BINARY, "repro", "--no-track"},
        io_ + "/two" + n + ".out", nullptr, io_ + "/two" + n + ".err", env));
    ASSERT_GT(pids.back(), 0);
  }
  for (pid_t pid : pids) EXPECT_EQ(test::WaitExit(pid), 0);
  const std::string outs = test::ReadFile(io_ + "/two0.out") + test::ReadFile(io_ + "/two1.out");
  EXPECT_EQ(Count("slow"), 1) << outs;
  EXPECT_EQ(CountOf(outs, "slow: ran in"), 1u) << outs;
  EXPECT_EQ(CountOf(outs, "slow: up to date"), 1u) << outs;
  EXPECT_EQ(test::ReadFile(repo_ + "/slow.out"), "x\n");
}

TEST_F(ReproCliTest, OutsideARepositoryIsAnError) {
  const std::string lonely = tmp_ + "/lonely";
  fs::create_directories(lonely);
  auto out = Cairn(lonely, {"repro", "--no-track"});
  // tmp folders have no .git above them (unless the system temp dir is in one).
  if (out.exit_code == 0) GTEST_SKIP() << "the temp folder is inside a repository";
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("error: "), std::string::npos);
}

// Issue 5's "What a user can do", end to end.
TEST_F(ReproCliTest, CloneAndPullReproducesWithoutRunning) {
  WriteProject();
  const std::string remote = tmp_ + "/remote";
  auto add = Cairn(repo_, {"data", "add", "data/raw"});
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  ASSERT_TRUE(fs::exists(repo_ + "/data/raw.cairn"));
  auto remote_add = Cairn(repo_, {"data", "remote", "add", "shared", remote, "--default"});
  ASSERT_EQ(remote_add.exit_code, 0) << remote_add.out << remote_add.err;
  auto project = Sh(repo_, "git add -A && git commit -q -m 'project' && git status --porcelain");
  ASSERT_EQ(project.exit_code, 0) << project.out << project.err;
  EXPECT_EQ(project.out, "");

  auto repro = Cairn(repo_, {"repro", "--no-track"});
  ASSERT_EQ(repro.exit_code, 0) << repro.out << repro.err;
  EXPECT_EQ(Count("prepare"), 1);
  EXPECT_EQ(Count("train"), 1);
  EXPECT_EQ(Count("evaluate-small"), 1);

  auto status = Cairn(repo_, {"pipeline", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.out << status.err;
  for (const char* step : {"prepare", "train", "evaluate@small", "evaluate@large"}) {
    EXPECT_TRUE(HasLine(status.out, step, "up to date")) << step << "\n" << status.out;
  }

  // The outs, metrics and logs are not for git: repro git-ignored them, so
  // git sees only cairn.lock and the .gitignore files.
  auto changed = Sh(repo_, "git status --porcelain --untracked-files=all | LC_ALL=C sort");
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_EQ(changed.out,
            " M data/.gitignore\n"
            "?? .gitignore\n"
            "?? cairn.lock\n"
            "?? eval/.gitignore\n");
  auto commit = Sh(repo_,
                   "git add -A && git commit -q -m 'pipeline v1' && git status --porcelain && "
                   "git ls-files");
  ASSERT_EQ(commit.exit_code, 0) << commit.out << commit.err;
  for (const char* out : {"data/prepared", "model/", "metrics.json", "eval/small.json",
                          "eval/large.json", ".cairn/logs", "data/raw/"}) {
    EXPECT_EQ(commit.out.find(out), std::string::npos) << out << "\n" << commit.out;
  }
  EXPECT_NE(commit.out.find("cairn.lock\n"), std::string::npos) << commit.out;
  auto push = Cairn(repo_, {"data", "push"});
  ASSERT_EQ(push.exit_code, 0) << push.out << push.err;

  const std::string clone = tmp_ + "/clone";
  auto cloned = Sh(tmp_, "git clone -q repo clone");
  ASSERT_EQ(cloned.exit_code, 0) << cloned.err;
  EXPECT_FALSE(fs::exists(clone + "/data/raw/a.csv"));
  auto pull = Cairn(clone, {"data", "pull"});
  ASSERT_EQ(pull.exit_code, 0) << pull.out << pull.err;
  EXPECT_EQ(test::ReadFile(clone + "/data/raw/a.csv"), "x,y\n1,2\n");

  auto again = Cairn(clone, {"repro", "--no-track"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(again.out.find("ran in"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("4 steps: 0 ran, "), std::string::npos) << again.out;
  EXPECT_EQ(Count("prepare"), 1);
  EXPECT_EQ(Count("train"), 1);
  EXPECT_EQ(Count("evaluate-small"), 1);
  EXPECT_EQ(Count("evaluate-large"), 1);
  for (const char* out : {"data/prepared/all.csv", "model/weights.txt", "metrics.json",
                          "eval/small.json", "eval/large.json"}) {
    const std::string original = test::ReadFile(repo_ + "/" + out);
    EXPECT_FALSE(original.empty()) << out;
    EXPECT_EQ(test::ReadFile(clone + "/" + out), original) << out;
  }
  auto clone_status = Cairn(clone, {"pipeline", "status"});
  ASSERT_EQ(clone_status.exit_code, 0) << clone_status.out << clone_status.err;
  for (const char* step : {"prepare", "train", "evaluate@small", "evaluate@large"}) {
    EXPECT_TRUE(HasLine(clone_status.out, step, "up to date")) << step << "\n" << clone_status.out;
  }
}

// Audit (issue 5, "Bad input and faults"): two `cairn repro` at once. With
// --no-wait the second refuses at once, naming the holder; the first
// finishes and cairn.lock is valid (the next run is up to date).
TEST_F(ReproCliTest, NoWaitRefusesWhileAnotherReproRunsAndTheLockStaysValid) {
  Write(repo_ + "/cairn.yaml", "steps:\n  slow:\n    cmd: touch " + Quote(counts_) +
                                   "/started && sleep 2 && echo x > slow.out\n"
                                   "    outs: [slow.out]\n");
  std::vector<std::string> env = {"CAIRN_TRACKING_URI=http://127.0.0.1:1", "CAIRN_USER="};
  pid_t first = test::SpawnProcess(
      "/bin/sh", {"-c", "cd \"$0\" && exec \"$@\"", repo_, CAIRN_BINARY, "repro", "--no-track"},
      io_ + "/first.out", nullptr, io_ + "/first.err", env);
  ASSERT_GT(first, 0);
  for (int i = 0; i < 200 && !fs::exists(counts_ + "/started"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(fs::exists(counts_ + "/started"));
  const auto start = std::chrono::steady_clock::now();
  auto refused = Cairn(repo_, {"repro", "--no-track", "--no-wait"});
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("(cairn repro)"), std::string::npos) << refused.err;
  EXPECT_LT(took, 1500);  // refused, not waited
  EXPECT_EQ(test::WaitExit(first), 0) << test::ReadFile(io_ + "/first.err");
  EXPECT_EQ(test::ReadFile(repo_ + "/slow.out"), "x\n");
  // The lock the first one wrote is whole: the next run has nothing to do.
  auto again = Cairn(repo_, {"repro", "--no-track", "--no-wait"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("slow: up to date"), std::string::npos) << again.out;
  auto status = Cairn(repo_, {"pipeline", "status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
}

// Audit: malformed YAML in cairn.yaml stops `cairn repro` before anything
// runs, with the file and line; no cairn.lock appears.
TEST_F(ReproCliTest, MalformedCairnYamlNamesTheLineAndRunsNothing) {
  Write(repo_ + "/cairn.yaml", "steps:\n  a:\n    cmd: echo run >> " + Quote(counts_) +
                                   "/a\n    outs: [a.out\n  b:\n    cmd: echo b\n");
  auto r = Cairn(repo_, {"repro", "--no-track"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(r.err.starts_with("error: INVALID_PARAMETER_VALUE: cairn.yaml:")) << r.err;
  EXPECT_EQ(Count("a"), 0);
  EXPECT_FALSE(fs::exists(repo_ + "/cairn.lock"));
  // A tab-indented file is malformed YAML too.
  Write(repo_ + "/cairn.yaml", "steps:\n\ta:\n\t\tcmd: echo a\n");
  r = Cairn(repo_, {"repro", "--no-track"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(r.err.starts_with("error: INVALID_PARAMETER_VALUE: cairn.yaml:2:")) << r.err;
  EXPECT_FALSE(fs::exists(repo_ + "/cairn.lock"));
}

}  // namespace
}  // namespace cairn
