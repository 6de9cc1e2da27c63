// search_bench: filtered, ordered run search over a large store.
//
//   search_bench seed --db /abs/x.db --runs N [--dump runs.tsv]
//     Seeds a SQLite store directly through cairn_store (OpenMetadataStore,
//     CreateRun, LogBatch): one experiment "bench-search" with N runs, each
//     with 5 params, 5 metrics and 3 tags drawn from fixed distributions
//     (seeded PRNG, so every seed of the same N is the same data). Prints
//     "EXPERIMENT_ID=<id>" and the seeding rate. --dump writes the same runs
//     as TSV so seed_mlflow.py can load identical data into MLflow.
//
//   search_bench query --url http://host:port --experiment-id ID
//                      [--query q1|q2] [--count 50] [--warmup 2] [--label L]
//     Times POST /api/2.0/mlflow/runs/search sequentially on one keep-alive
//     connection and prints
//       RESULT label=<l> queries=<n> p50_ms=.. p90_ms=.. p99_ms=.. mean_ms=.. runs=<k>
//     The first answer is checked (parsed with nlohmann): every run satisfies
//     the filter and runs are in order; a wrong answer is exit status 3.
//
// Queries:
//   q1: filter "metrics.loss < 0.5 and params.depth = '6'",
//       order_by ["metrics.loss ASC"], max_results 100   (the product goal)
//   q2: filter "params.optimizer = 'adam' and tags.team = 'nlp'",
//       order_by ["attributes.start_time DESC"], max_results 100
//
// Data distributions (per run i):
//   params  depth U{2..12}, learning_rate 10^U(-4,-0.5), optimizer
//           {adam,adamw,sgd,rmsprop}, batch_size {16..256}, n_estimators {100..1000}
//   metrics loss = exp(N(-0.7, 0.6)) (median ~0.5), accuracy ~ 1 - loss/3,
//           val_loss >= loss, f1, auc; logged once at step 100
//   tags    mlflow.runName, team {vision,nlp,recsys,forecasting}, mlflow.source.type
//   start_time increases with i; 20 users.

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/ids.h"
#include "http_client.h"
#include "store/metadata_store.h"

namespace cairn::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct SeedRun {
  int64_t start_time;
  std::string user;
  std::string run_name;
  std::string team;
  int depth;
  std::string learning_rate;
  std::string optimizer;
  int batch_size;
  int n_estimators;
  double loss, accuracy, val_loss, f1, auc;
};

class RunGenerator {
 public:
  SeedRun Next(int64_t i) {
    static const char* kOptimizers[] = {"adam", "adamw", "sgd", "rmsprop"};
    static const char* kTeams[] = {"vision", "nlp", "recsys", "forecasting"};
    static const int kBatch[] = {16, 32, 64, 128, 256};
    SeedRun r;
    r.start_time = 1'700'000'000'000 + i * 1000 + static_cast<int64_t>(uni_(rng_) * 500);
    r.user = "user_" + std::to_string(static_cast<int>(uni_(rng_) * 20));
    r.run_name = "run-" + std::to_string(i);
    r.team = kTeams[static_cast<int>(uni_(rng_) * 4)];
    r.depth = 2 + static_cast<int>(uni_(rng_) * 11);
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.4g", std::pow(10.0, -4.0 + 3.5 * uni_(rng_)));
    r.learning_rate = buf;
    r.optimizer = kOptimizers[static_cast<int>(uni_(rng_) * 4)];
    r.batch_size = kBatch[static_cast<int>(uni_(rng_) * 5)];
    r.n_estimators = 100 * (1 + static_cast<int>(uni_(rng_) * 10));
    r.loss = std::exp(-0.7 + 0.6 * normal_(rng_));
    r.accuracy = std::clamp(1.0 - r.loss / 3.0 + 0.03 * normal_(rng_), 0.0, 1.0);
    r.val_loss = r.loss * (1.0 + std::abs(0.1 * normal_(rng_)));
    r.f1 = std::clamp(r.accuracy - 0.05 * uni_(rng_), 0.0, 1.0);
    r.auc = std::clamp(r.accuracy + 0.02 * normal_(rng_), 0.0, 1.0);
    return r;
  }

 private:
  std::mt19937_64 rng_{20240601};
  std::uniform_real_distribution<double> uni_{0.0, 1.0};
  std::normal_distribution<double> normal_{0.0, 1.0};
};

std::string Flag(int argc, char** argv, const std::string& name, const std::string& def) {
  for (int i = 2; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return def;
}

void CheckFlags(int argc, char** argv, const std::vector<std::string>& known) {
  for (int i = 2; i < argc; i += 2) {
    if (std::find(known.begin(), known.end(), argv[i]) == known.end() || i + 1 >= argc) {
      std::fprintf(stderr, "unknown flag or missing value: %s\n", argv[i]);
      std::exit(1);
    }
  }
}

int Seed(int argc, char** argv) {
  CheckFlags(argc, argv, {"--db", "--runs", "--dump"});
  std::string db = Flag(argc, argv, "--db", "");
  int64_t runs = std::atoll(Flag(argc, argv, "--runs", "10000").c_str());
  std::string dump_path = Flag(argc, argv, "--dump", "");
  if (db.empty() || db[0] != '/') {
    std::fprintf(stderr, "seed needs --db /absolute/path.db\n");
    return 1;
  }
  auto store = store::OpenMetadataStore("sqlite://" + db);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().ToString().c_str());
    return 1;
  }
  if (auto v = (*store)->Migrate(); !v) {
    std::fprintf(stderr, "migrate: %s\n", v.error().ToString().c_str());
    return 1;
  }
  store::NewExperiment ne;
  ne.name = "bench-search";
  ne.creation_time = 1'700'000'000'000;
  auto exp = (*store)->CreateExperiment(ne);
  if (!exp) {
    std::fprintf(stderr, "create experiment: %s\n", exp.error().ToString().c_str());
    return 1;
  }
  std::ofstream dump;
  if (!dump_path.empty()) {
    dump.open(dump_path);
    dump << "start_time\tuser\trun_name\tteam\tdepth\tlearning_rate\toptimizer\tbatch_size\t"
            "n_estimators\tloss\taccuracy\tval_loss\tf1\tauc\n";
    dump.precision(17);
  }
  RunGenerator gen;
  auto t0 = SteadyClock::now();
  for (int64_t i = 0; i < runs; ++i) {
    SeedRun s = gen.Next(i);
    store::NewRun nr;
    nr.run_id = NewRunId();
    nr.experiment_id = *exp;
    nr.run_name = s.run_name;
    nr.user_id = s.user;
    nr.start_time = s.start_time;
    nr.artifact_uri = "mlflow-artifacts:/" + *exp + "/" + nr.run_id + "/artifacts";
    nr.tags = {{"mlflow.runName", s.run_name}, {"team", s.team}, {"mlflow.source.type", "LOCAL"}};
    if (auto st = (*store)->CreateRun(nr); !st) {
      std::fprintf(stderr, "create run %" PRId64 ": %s\n", i, st.error().ToString().c_str());
      return 1;
    }
    int64_t ts = s.start_time + 60'000;
    std::vector<store::Metric> metrics = {{"loss", s.loss, ts, 100},
                                          {"accuracy", s.accuracy, ts, 100},
                                          {"val_loss", s.val_loss, ts, 100},
                                          {"f1", s.f1, ts, 100},
                                          {"auc", s.auc, ts, 100}};
    std::vector<store::Param> params = {{"depth", std::to_string(s.depth)},
                                        {"learning_rate", s.learning_rate},
                                        {"optimizer", s.optimizer},
                                        {"batch_size", std::to_string(s.batch_size)},
                                        {"n_estimators", std::to_string(s.n_estimators)}};
    if (auto st = (*store)->LogBatch(nr.run_id, metrics, params, {}); !st) {
      std::fprintf(stderr, "log batch %" PRId64 ": %s\n", i, st.error().ToString().c_str());
      return 1;
    }
    if (dump.is_open()) {
      dump << s.start_time << '\t' << s.user << '\t' << s.run_name << '\t' << s.team << '\t'
           << s.depth << '\t' << s.learning_rate << '\t' << s.optimizer << '\t' << s.batch_size
           << '\t' << s.n_estimators << '\t' << s.loss << '\t' << s.accuracy << '\t'
           << s.val_loss << '\t' << s.f1 << '\t' << s.auc << '\n';
    }
    if ((i + 1) % 100000 == 0) {
      double el = std::chrono::duration<double>(SteadyClock::now() - t0).count();
      std::fprintf(stderr, "seeded %" PRId64 " runs in %.1f s\n", i + 1, el);
    }
  }
  double seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  std::printf("EXPERIMENT_ID=%s\n", exp->c_str());
  std::printf("RESULT label=seed runs=%" PRId64 " seconds=%.2f runs_per_s=%.0f\n", runs, seconds,
              runs / seconds);
  return 0;
}

struct QuerySpec {
  std::string filter;
  std::string order_by;
  // Checks on the parsed answer.
  bool (*matches)(const nlohmann::json& run);
  std::string sort_entity;  // "metrics" or "attributes"
  std::string sort_key;
  bool ascending;
};

const nlohmann::json* FindKeyValue(const nlohmann::json& data, const char* field,
                                   const std::string& key) {
  if (!data.contains(field)) return nullptr;
  for (const auto& kv : data[field]) {
    if (kv.value("key", "") == key) return &kv["value"];
  }
  return nullptr;
}

double NumberOf(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return std::atof(v.get<std::string>().c_str());
  return NAN;
}

bool MatchesQ1(const nlohmann::json& run) {
  const auto* loss = FindKeyValue(run["data"], "metrics", "loss");
  const auto* depth = FindKeyValue(run["data"], "params", "depth");
  return loss && depth && NumberOf(*loss) < 0.5 && depth->get<std::string>() == "6";
}

bool MatchesQ2(const nlohmann::json& run) {
  const auto* opt = FindKeyValue(run["data"], "params", "optimizer");
  const auto* team = FindKeyValue(run["data"], "tags", "team");
  return opt && team && opt->get<std::string>() == "adam" && team->get<std::string>() == "nlp";
}

// Returns the number of runs, or -1 (with a message) when the answer is wrong.
int64_t CheckAnswer(const std::string& body, const QuerySpec& q, std::string* summary) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "answer is not JSON: %s\n", e.what());
    return -1;
  }
  if (!j.contains("runs")) return 0;
  const auto& runs = j["runs"];
  double prev = NAN;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (!q.matches(runs[i])) {
      std::fprintf(stderr, "run %zu does not satisfy the filter: %s\n", i,
                   runs[i].dump().substr(0, 400).c_str());
      return -1;
    }
    double v = NAN;
    if (q.sort_entity == "metrics") {
      v = NumberOf(*FindKeyValue(runs[i]["data"], "metrics", q.sort_key));
    } else {
      v = NumberOf(runs[i]["info"][q.sort_key]);
    }
    if (i == 0) {
      char buf[96];
      std::snprintf(buf, sizeof(buf), "first_%s=%.6g", q.sort_key.c_str(), v);
      *summary = buf;
    }
    if (i > 0 && (q.ascending ? v < prev : v > prev)) {
      std::fprintf(stderr, "runs out of order at %zu: %g after %g\n", i, v, prev);
      return -1;
    }
    prev = v;
  }
  return static_cast<int64_t>(runs.size());
}

int Query(int argc, char** argv) {
  CheckFlags(argc, argv,
             {"--url", "--experiment-id", "--query", "--count", "--warmup", "--label",
              "--max-results"});
  std::string url = Flag(argc, argv, "--url", "http://127.0.0.1:5000");
  std::string exp = Flag(argc, argv, "--experiment-id", "1");
  std::string which = Flag(argc, argv, "--query", "q1");
  int count = std::atoi(Flag(argc, argv, "--count", "50").c_str());
  int warmup = std::atoi(Flag(argc, argv, "--warmup", "2").c_str());
  std::string label = Flag(argc, argv, "--label", "search_" + which);
  std::string max_results = Flag(argc, argv, "--max-results", "100");
  QuerySpec q;
  if (which == "q1") {
    q = {"metrics.loss < 0.5 and params.depth = '6'", "metrics.loss ASC", MatchesQ1, "metrics",
         "loss", true};
  } else if (which == "q2") {
    q = {"params.optimizer = 'adam' and tags.team = 'nlp'", "attributes.start_time DESC",
         MatchesQ2, "attributes", "start_time", false};
  } else {
    std::fprintf(stderr, "unknown --query %s (q1|q2)\n", which.c_str());
    return 1;
  }
  nlohmann::json body = {{"experiment_ids", {exp}},
                         {"filter", q.filter},
                         {"order_by", {q.order_by}},
                         {"max_results", std::atoi(max_results.c_str())}};
  std::string body_text = body.dump();
  std::string host;
  int port = 0;
  if (auto s = ParseHttpUrl(url, &host, &port); !s) {
    std::fprintf(stderr, "%s\n", s.error().ToString().c_str());
    return 1;
  }
  HttpConnection conn;
  if (auto s = conn.Connect(host, port); !s) {
    std::fprintf(stderr, "%s\n", s.error().ToString().c_str());
    return 1;
  }
  std::vector<double> ms;
  int64_t runs = 0;
  std::string summary;
  for (int i = 0; i < warmup + count; ++i) {
    auto t0 = SteadyClock::now();
    auto r = conn.Call("POST", "/api/2.0/mlflow/runs/search", body_text);
    double el = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
    if (!r) {
      std::fprintf(stderr, "search failed: %s\n", r.error().ToString().c_str());
      return 1;
    }
    if (r->status != 200) {
      std::fprintf(stderr, "search answered %d: %s\n", r->status, r->body.substr(0, 500).c_str());
      return 1;
    }
    if (i == 0) {
      runs = CheckAnswer(r->body, q, &summary);
      if (runs < 0) return 3;
    }
    if (i >= warmup) ms.push_back(el);
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  auto pct = [&](double p) {
    size_t idx = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size()))) - 1;
    return sorted[std::min(idx, sorted.size() - 1)];
  };
  double mean = 0;
  for (double v : ms) mean += v;
  mean /= static_cast<double>(ms.size());
  std::printf("RESULT label=%s queries=%zu p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f mean_ms=%.3f "
              "runs=%" PRId64 " %s\n",
              label.c_str(), ms.size(), pct(0.5), pct(0.9), pct(0.99), mean, runs,
              summary.c_str());
  std::fprintf(stderr, "[%s] %zu queries: p50 %.2f ms, p99 %.2f ms, %" PRId64 " runs, %s\n",
               label.c_str(), ms.size(), pct(0.5), pct(0.99), runs, summary.c_str());
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "seed") return cairn::bench::Seed(argc, argv);
  if (cmd == "query") return cairn::bench::Query(argc, argv);
  std::fprintf(stderr,
               "usage: search_bench seed --db /abs/x.db --runs N [--dump runs.tsv]\n"
               "       search_bench query --url http://host:port --experiment-id ID "
               "[--query q1|q2] [--count N] [--warmup N] [--label L]\n");
  return 1;
}
