// Store figures, each next to a reference measured in the same run:
//   log_batch   LogBatch of 1000 metrics into SQLite vs. a raw prepared
//               insert of 1000 rows in one transaction (same file settings).
//   search      SearchRuns (metric filter + metric order, 100 per page) at
//               N runs, p50/p95 over repeated queries.
//
// Usage: store_bench [--runs N[,N...]] [--postgres URI]
// Not a test: figures depend on the machine; compare ratios only.

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/ids.h"
#include "store/metadata_store.h"

namespace {

using Clock = std::chrono::steady_clock;
using cairn::store::Comparator;
using cairn::store::Entity;
using cairn::store::Metric;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

void Die(const std::string& what) {
  std::fprintf(stderr, "store_bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Check(cairn::Result<T> r, const char* what) {
  if (!r) Die(std::string(what) + ": " + r.error().ToString());
  return std::move(*r);
}
void Check(cairn::Status s, const char* what) {
  if (!s) Die(std::string(what) + ": " + s.error().ToString());
}

// Raw SQLite reference: 1000 rows, one transaction, one prepared statement.
double RawInsertMs(const std::string& path, int rows, int reps) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
               "CREATE TABLE IF NOT EXISTS raw (run_id TEXT, key TEXT, value REAL, ts INTEGER, "
               "step INTEGER)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO raw VALUES (?, ?, ?, ?, ?)", -1, &ins, nullptr);
  std::string run = cairn::NewRunId();
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) keys.push_back("metric_" + std::to_string(i));
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (int i = 0; i < rows; ++i) {
      sqlite3_bind_text(ins, 1, run.data(), static_cast<int>(run.size()), SQLITE_STATIC);
      const std::string& k = keys[static_cast<size_t>(i % 100)];
      sqlite3_bind_text(ins, 2, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
      sqlite3_bind_double(ins, 3, i * 0.5);
      sqlite3_bind_int64(ins, 4, 1700000000000 + i);
      sqlite3_bind_int64(ins, 5, r * rows + i);
      sqlite3_step(ins);
      sqlite3_reset(ins);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    times.push_back(Ms(Clock::now() - t0));
  }
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return Percentile(times, 0.5);
}

double LogBatchMs(cairn::store::MetadataStore& store, int rows, int reps, int distinct_keys) {
  cairn::store::NewRun r{cairn::NewRunId(), "0", "bench", "u", 1, "", {}};
  Check(store.CreateRun(r), "create run");
  std::vector<std::string> keys;
  for (int i = 0; i < distinct_keys; ++i) keys.push_back("metric_" + std::to_string(i));
  std::vector<double> times;
  std::vector<Metric> batch(static_cast<size_t>(rows));
  for (int rep = 0; rep < reps; ++rep) {
    for (int i = 0; i < rows; ++i) {
      batch[static_cast<size_t>(i)] = Metric{keys[static_cast<size_t>(i % distinct_keys)], i * 0.5,
                                             1700000000000 + i, rep * rows + i};
    }
    auto t0 = Clock::now();
    Check(store.LogBatch(r.run_id, batch, {}, {}), "log batch");
    times.push_back(Ms(Clock::now() - t0));
  }
  return Percentile(times, 0.5);
}

// Fills an experiment with `n` runs through the store's own API, in large
// batches of runs per LogBatch-free transaction would need SQL; instead this
// uses CreateRun + LogBatch, which is what clients do (slow for 1M: use
// --raw-fill for SQLite).
std::string FillViaApi(cairn::store::MetadataStore& store, int n) {
  std::string exp =
      Check(store.CreateExperiment({"bench-" + cairn::NewRunId(), "", {}, 1}), "create experiment");
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < n; ++i) {
    cairn::store::NewRun r{cairn::NewRunId(), exp, "r" + std::to_string(i), "u", i, "", {}};
    Check(store.CreateRun(r), "create run");
    Check(store.LogBatch(r.run_id, {Metric{"acc", u(rng), 1, 0}, Metric{"loss", u(rng), 1, 0}},
                         {{"model", i % 2 ? "a" : "b"}}, {}),
          "log batch");
  }
  return exp;
}

// SQLite only: inserts runs and latest metrics with raw SQL into the store's
// schema (same rows the API would write, minus history), for 1M-run figures.
std::string FillRawSqlite(const std::string& path, cairn::store::MetadataStore& store, int n) {
  std::string exp =
      Check(store.CreateExperiment({"bench-" + cairn::NewRunId(), "", {}, 1}), "create experiment");
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA synchronous=OFF; BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* run = nullptr;
  sqlite3_stmt* lm = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO runs (run_id, experiment_id, run_name, user_id, status, "
                     "start_time, artifact_uri, lifecycle_stage) VALUES (?, ?, ?, 'u', 'FINISHED', "
                     "?, '', 'active')",
                     -1, &run, nullptr);
  sqlite3_prepare_v2(db,
                     "INSERT INTO latest_metrics (run_id, key, value, is_nan, timestamp_ms, step) "
                     "VALUES (?, ?, ?, 0, 1, 0)",
                     -1, &lm, nullptr);
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < n; ++i) {
    std::string id = cairn::NewRunId();
    std::string name = "r" + std::to_string(i);
    sqlite3_bind_text(run, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(run, 2, std::stoll(exp));
    sqlite3_bind_text(run, 3, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(run, 4, i);
    if (sqlite3_step(run) != SQLITE_DONE) Die(sqlite3_errmsg(db));
    sqlite3_reset(run);
    for (const char* key : {"acc", "loss", "f1"}) {
      sqlite3_bind_text(lm, 1, id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(lm, 2, key, -1, SQLITE_STATIC);
      sqlite3_bind_double(lm, 3, u(rng));
      if (sqlite3_step(lm) != SQLITE_DONE) Die(sqlite3_errmsg(db));
      sqlite3_reset(lm);
    }
  }
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_finalize(run);
  sqlite3_finalize(lm);
  sqlite3_close(db);
  return exp;
}

void SearchFigures(cairn::store::MetadataStore& store, const std::string& exp, int n,
                   const char* backend) {
  struct Case {
    const char* name;
    cairn::store::RunQuery q;
  };
  auto base = [&] {
    cairn::store::RunQuery q;
    q.experiment_ids = {exp};
    q.max_results = 100;
    return q;
  };
  std::vector<Case> cases;
  {
    auto q = base();
    q.filter = {{Entity::kMetric, "acc", Comparator::kGt, 0.5}};
    q.order_by = {{Entity::kMetric, "acc", false}};
    cases.push_back({"metric filter + metric order", q});
  }
  {
    auto q = base();
    q.filter = {{Entity::kMetric, "acc", Comparator::kGt, 0.999}};
    q.order_by = {{Entity::kMetric, "acc", false}};
    cases.push_back({"selective metric filter + order", q});
  }
  cases.push_back({"default order (start_time)", base()});
  {
    auto q = base();
    q.order_by = {{Entity::kMetric, "loss", true}};
    cases.push_back({"order by metric, no filter", q});
  }
  for (auto& c : cases) {
    std::vector<double> times;
    size_t rows = 0;
    for (int i = 0; i < 30; ++i) {
      auto t0 = Clock::now();
      auto page = Check(store.SearchRuns(c.q), "search");
      times.push_back(Ms(Clock::now() - t0));
      rows = page.runs.size();
      if (times.back() > 1000 && i >= 2) break;  // slow: three samples are enough
    }
    std::printf("%-9s runs=%-8d %-34s p50=%8.2f ms  p95=%8.2f ms  (page %zu)\n", backend, n, c.name,
                Percentile(times, 0.5), Percentile(times, 0.95), rows);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {10000};
  std::string pg;
  int batch_keys_only = 0;  // --batch-keys K: only the LogBatch figure with K keys (profiling)
  bool keep = false;        // --keep: leave the SQLite database behind (prints its path)
  bool no_batch = false;    // --no-batch: skip the LogBatch figures
  std::string reuse;        // --db PATH [--exp ID]: search an experiment of a kept database
  std::string reuse_exp = "1";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      sizes.clear();
      std::string list = argv[++i];
      for (size_t p = 0; p < list.size();) {
        size_t c = list.find(',', p);
        sizes.push_back(std::stoi(list.substr(p, c - p)));
        p = c == std::string::npos ? list.size() : c + 1;
      }
    } else if (std::strcmp(argv[i], "--exp") == 0 && i + 1 < argc) {
      reuse_exp = argv[++i];
    } else if (std::strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
      reuse = argv[++i];
    } else if (std::strcmp(argv[i], "--keep") == 0) {
      keep = true;
    } else if (std::strcmp(argv[i], "--no-batch") == 0) {
      no_batch = true;
    } else if (std::strcmp(argv[i], "--batch-keys") == 0 && i + 1 < argc) {
      batch_keys_only = std::stoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--postgres") == 0 && i + 1 < argc) {
      pg = argv[++i];
    }
  }
  if (!reuse.empty()) {
    auto store = Check(cairn::store::OpenMetadataStore("sqlite://" + reuse), "open");
    SearchFigures(*store, reuse_exp, sizes.empty() ? 0 : sizes[0], "sqlite");
    return 0;
  }
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("cairn_store_bench_" + cairn::NewRunId());
  fs::create_directories(dir);
  std::string db_path = (dir / "cairn.db").string();
  auto store = Check(cairn::store::OpenMetadataStore("sqlite://" + db_path), "open");
  Check(store->Migrate(), "migrate");

  if (batch_keys_only > 0) {
    double t = LogBatchMs(*store, 1000, 200, batch_keys_only);
    std::printf("sqlite LogBatch 1000 metrics, %d keys p50=%6.3f ms\n", batch_keys_only, t);
    store.reset();
    fs::remove_all(dir);
    return 0;
  }
  if (!no_batch) {
    // Interleave reference and subject so machine noise hits both.
    double raw = RawInsertMs((dir / "raw.db").string(), 1000, 50);
    std::vector<std::pair<int, double>> batch;
    for (int keys : {1, 10, 100, 1000}) {
      batch.emplace_back(keys, LogBatchMs(*store, 1000, 50, keys));
    }
    double raw2 = RawInsertMs((dir / "raw2.db").string(), 1000, 50);
    double ref = std::min(raw, raw2);
    std::printf("sqlite raw insert 1000 rows/txn            p50=%7.3f ms\n", ref);
    for (auto [keys, ms] : batch) {
      std::printf("sqlite LogBatch 1000 metrics, %4d key(s)   p50=%7.3f ms  ratio %.2fx\n", keys,
                  ms, ms / ref);
    }
  }

  for (int n : sizes) {
    std::string exp = n > 20000 ? FillRawSqlite(db_path, *store, n) : FillViaApi(*store, n);
    SearchFigures(*store, exp, n, "sqlite");
  }

  if (!pg.empty()) {
    auto pstore = Check(cairn::store::OpenMetadataStore(pg), "open postgres");
    Check(pstore->Migrate(), "migrate postgres");
    double pb = LogBatchMs(*pstore, 1000, 30, 100);
    std::printf("postgres LogBatch 1000 metrics, 100 keys p50=%6.3f ms\n", pb);
    for (int n : sizes) {
      if (n > 20000) continue;  // fill through the API only
      std::string exp = FillViaApi(*pstore, n);
      SearchFigures(*pstore, exp, n, "postgres");
    }
  }
  store.reset();
  if (keep) {
    std::printf("kept %s\n", db_path.c_str());
  } else {
    fs::remove_all(dir);
  }
  return 0;
}
