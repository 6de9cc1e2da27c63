// sqlite_insert_bench: the raw SQLite reference for metric ingest.
//
// Default measurements (what bench/run.sh compares Cairn against):
//   sqlite_batch1000  rows into a plain metrics-like table
//                     (run_id TEXT, key TEXT, value REAL, timestamp INTEGER, step INTEGER),
//                     1000 rows per transaction (what one log-batch request carries)
//   sqlite_batch1     the same, one row per transaction (one log-metric request)
// --with-index adds
//   sqlite_batch1000_pk  1000 rows/txn into a WITHOUT ROWID table keyed
//                        (run_id, key, step, timestamp, value, is_nan) like a
//                        tracking store's metrics: what the index alone costs
// --layouts adds (--layouts-only runs just) storage-layout experiments for the store's owners, all
// 1000-row batches from 4 runs in turn (as 4 log-batch clients send them):
//   layout_plain          plain table, as sqlite_batch1000
//   layout_text_pk        WITHOUT ROWID, PK (run_id, key, step, ts, value, is_nan)
//                         plus the latest-value upsert: Cairn's schema v1
//   layout_text_pk_nockpt the same with wal_autocheckpoint=0 (checkpoint cost)
//   layout_series_pk      metrics keyed by an integer series id (one row per
//                         run and key in a side table) instead of two TEXT columns
//   layout_text_pk_group4 / _group16  Cairn's schema, 4 / 16 batches per commit
//   layout_cairn_v2       Cairn's schema since the series id: layout_series_pk plus
//                         the latest-value upsert (latest_metrics keyed by run_id, key)
//   layout_cairn_v2_nockpt         the same, never checkpointed: the ceiling for
//                                  checkpoints moved off the commit path
//   layout_cairn_v2_nockpt_group4  and 4 batches per commit: the ceiling for
//                                  group commit with 4 log-batch clients
//
// Every measurement uses journal_mode=WAL, synchronous=NORMAL, one prepared
// statement reused, keys like "loss_17" with steps advancing, and a fresh
// database file. Output: one machine-readable line per measurement on stdout:
//   RESULT label=<name> rows=<n> seconds=<s> rows_per_s=<r>
// Exit status 1 when SQLite fails.

#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string dir = "/tmp";
  int64_t rows = 1'000'000;      // rows for each batched measurement
  int64_t single_rows = 50'000;  // rows for the one-row-per-transaction measurement
  double max_seconds = 10;       // stop a measurement early after this long
  bool with_index = false;
  bool layouts = false;
  bool layouts_only = false;  // skip the default measurements
};

enum class Shape {
  kPlain,     // INSERT (run_id, key, value, timestamp, step)
  kTextPk,    // Cairn v1: metrics WITHOUT ROWID + latest_metrics upsert
  kSeriesPk,  // (series_id INTEGER, step, ts, value, is_nan) WITHOUT ROWID (+ latest_metrics)
};

struct Layout {
  std::string label;
  Shape shape;
  int rows_per_batch;    // one "request"
  int batches_per_txn;   // group commit when > 1
  int runs;              // batches go to runs in turn
  bool auto_checkpoint;  // SQLite's default wal_autocheckpoint=1000
  bool latest = true;    // also upsert the latest value of each key (not kPlain)
};

bool Check(int rc, sqlite3* db, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return true;
  std::fprintf(stderr, "sqlite: %s: %s\n", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  return false;
}

bool Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::fprintf(stderr, "sqlite: %s: %s\n", sql, err ? err : "?");
    sqlite3_free(err);
    return false;
  }
  return true;
}

const char* Schema(Shape s) {
  switch (s) {
    case Shape::kPlain:
      return "CREATE TABLE metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL NOT NULL, "
             "timestamp INTEGER NOT NULL, step INTEGER NOT NULL)";
    case Shape::kTextPk:
      return "CREATE TABLE metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, step INTEGER NOT "
             "NULL, timestamp INTEGER NOT NULL, value REAL NOT NULL, is_nan INTEGER NOT NULL, "
             "PRIMARY KEY (run_id, key, step, timestamp, value, is_nan)) WITHOUT ROWID;"
             "CREATE TABLE latest_metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL "
             "NOT NULL, is_nan INTEGER NOT NULL, timestamp INTEGER NOT NULL, step INTEGER NOT "
             "NULL, PRIMARY KEY (run_id, key)) WITHOUT ROWID;"
             "CREATE INDEX latest_metrics_by_key_value ON latest_metrics (key, is_nan, value, "
             "run_id)";
    case Shape::kSeriesPk:
      return "CREATE TABLE series (series_id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, key TEXT "
             "NOT NULL, UNIQUE (run_id, key));"
             "CREATE TABLE metrics (series_id INTEGER NOT NULL, step INTEGER NOT NULL, timestamp "
             "INTEGER NOT NULL, value REAL NOT NULL, is_nan INTEGER NOT NULL, PRIMARY KEY "
             "(series_id, step, timestamp, value, is_nan)) WITHOUT ROWID;"
             "CREATE TABLE latest_metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL "
             "NOT NULL, is_nan INTEGER NOT NULL, timestamp INTEGER NOT NULL, step INTEGER NOT "
             "NULL, PRIMARY KEY (run_id, key)) WITHOUT ROWID;"
             "CREATE INDEX latest_metrics_by_key_value ON latest_metrics (key, is_nan, value, "
             "run_id)";
  }
  return "";
}

// Returns rows/s, or a negative value on failure.
double Measure(const Options& o, const Layout& l, int64_t rows) {
  std::string path = o.dir + "/cairn_sqlite_bench_" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((path + suffix).c_str());
  sqlite3* db = nullptr;
  if (!Check(sqlite3_open(path.c_str(), &db), db, "open")) return -1;
  bool ok = Exec(db, "PRAGMA journal_mode=WAL") && Exec(db, "PRAGMA synchronous=NORMAL") &&
            Exec(db, l.auto_checkpoint ? "PRAGMA wal_autocheckpoint=1000"
                                       : "PRAGMA wal_autocheckpoint=0") &&
            Exec(db, Schema(l.shape));
  const char* insert_sql =
      l.shape == Shape::kPlain    ? "INSERT INTO metrics VALUES (?1, ?2, ?3, ?4, ?5)"
      : l.shape == Shape::kTextPk ? "INSERT INTO metrics VALUES (?1, ?2, ?5, ?4, ?3, 0)"
                                  : "INSERT INTO metrics VALUES (?1, ?5, ?4, ?3, 0)";
  sqlite3_stmt* ins = nullptr;
  sqlite3_stmt* latest = nullptr;
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* commit = nullptr;
  ok = ok && Check(sqlite3_prepare_v2(db, insert_sql, -1, &ins, nullptr), db, "prepare insert") &&
       Check(sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, nullptr), db, "prepare begin") &&
       Check(sqlite3_prepare_v2(db, "COMMIT", -1, &commit, nullptr), db, "prepare commit");
  if (ok && l.shape != Shape::kPlain && l.latest) {
    ok = Check(sqlite3_prepare_v2(
                   db,
                   "INSERT INTO latest_metrics VALUES (?1, ?2, ?3, 0, ?4, ?5) ON CONFLICT (run_id, "
                   "key) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan, "
                   "timestamp = excluded.timestamp, step = excluded.step",
                   -1, &latest, nullptr),
               db, "prepare latest");
  }
  std::vector<std::string> keys;
  for (const char* prefix : {"loss", "accuracy", "val_loss", "grad_norm", "lr"}) {
    for (int i = 0; i < 10; ++i) keys.push_back(std::string(prefix) + "_" + std::to_string(i));
  }
  const int64_t nkeys = static_cast<int64_t>(keys.size());
  std::vector<std::string> run_ids;
  for (int r = 0; r < l.runs; ++r) {
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%032x", 0x5eed0000 + r);
    run_ids.push_back(buf);
  }
  if (ok && l.shape == Shape::kSeriesPk) {
    for (int r = 0; ok && r < l.runs; ++r) {
      for (int64_t k = 0; ok && k < nkeys; ++k) {
        std::string sql = "INSERT INTO series VALUES (" + std::to_string(r * nkeys + k) + ", '" +
                          run_ids[r] + "', '" + keys[k] + "')";
        ok = Exec(db, sql.c_str());
      }
    }
  }
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> uni(0, 2);
  const int64_t ts = 1'700'000'000'000;
  auto t0 = std::chrono::steady_clock::now();
  auto deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(o.max_seconds));
  int64_t done = 0;
  int64_t batch_no = 0;
  while (ok && done < rows) {
    ok = Check(sqlite3_step(begin), db, "begin");
    sqlite3_reset(begin);
    for (int b = 0; ok && b < l.batches_per_txn; ++b, ++batch_no) {
      const int run = static_cast<int>(batch_no % l.runs);
      const std::string& run_id = run_ids[run];
      // Steps advance per batch of the same run: every (key, step) is new.
      const int64_t step0 = (batch_no / l.runs) * ((l.rows_per_batch + nkeys - 1) / nkeys);
      for (int i = 0; ok && i < l.rows_per_batch; ++i, ++done) {
        const int64_t k = i % nkeys;
        const int64_t step = step0 + i / nkeys;
        const double value = uni(rng);
        if (l.shape == Shape::kSeriesPk) {
          sqlite3_bind_int64(ins, 1, run * nkeys + k);
        } else {
          sqlite3_bind_text(ins, 1, run_id.data(), static_cast<int>(run_id.size()), SQLITE_STATIC);
          sqlite3_bind_text(ins, 2, keys[k].data(), static_cast<int>(keys[k].size()),
                            SQLITE_STATIC);
        }
        sqlite3_bind_double(ins, 3, value);
        sqlite3_bind_int64(ins, 4, ts + done / 1000);
        sqlite3_bind_int64(ins, 5, step);
        ok = Check(sqlite3_step(ins), db, "insert");
        sqlite3_reset(ins);
      }
      if (latest != nullptr) {
        // One latest-value upsert per key of the batch, as the store does.
        const int64_t last_step = step0 + (l.rows_per_batch - 1) / nkeys;
        for (int64_t k = 0; ok && k < std::min<int64_t>(nkeys, l.rows_per_batch); ++k) {
          sqlite3_bind_text(latest, 1, run_id.data(), static_cast<int>(run_id.size()),
                            SQLITE_STATIC);
          sqlite3_bind_text(latest, 2, keys[k].data(), static_cast<int>(keys[k].size()),
                            SQLITE_STATIC);
          sqlite3_bind_double(latest, 3, uni(rng));
          sqlite3_bind_int64(latest, 4, ts + done / 1000);
          sqlite3_bind_int64(latest, 5, last_step);
          ok = Check(sqlite3_step(latest), db, "upsert latest");
          sqlite3_reset(latest);
        }
      }
    }
    ok = ok && Check(sqlite3_step(commit), db, "commit");
    sqlite3_reset(commit);
    if (std::chrono::steady_clock::now() > deadline) break;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  sqlite3_finalize(ins);
  sqlite3_finalize(latest);
  sqlite3_finalize(begin);
  sqlite3_finalize(commit);
  sqlite3_close(db);
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((path + suffix).c_str());
  if (!ok) return -1;
  double rate = static_cast<double>(done) / seconds;
  std::printf("RESULT label=%s rows=%" PRId64 " seconds=%.3f rows_per_s=%.0f\n", l.label.c_str(),
              done, seconds, rate);
  std::fflush(stdout);
  std::fprintf(stderr, "[%s] %" PRId64 " rows in %.2f s: %.0f rows/s\n", l.label.c_str(), done,
               seconds, rate);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", a.c_str());
        std::exit(1);
      }
      return argv[++i];
    };
    if (a == "--dir")
      o.dir = next();
    else if (a == "--rows")
      o.rows = std::atoll(next().c_str());
    else if (a == "--single-rows")
      o.single_rows = std::atoll(next().c_str());
    else if (a == "--max-seconds")
      o.max_seconds = std::atof(next().c_str());
    else if (a == "--with-index")
      o.with_index = true;
    else if (a == "--layouts")
      o.layouts = true;
    else if (a == "--layouts-only")
      o.layouts = o.layouts_only = true;
    else {
      std::fprintf(stderr,
                   "usage: sqlite_insert_bench [--dir D] [--rows N] [--single-rows N] "
                   "[--max-seconds S] [--with-index] [--layouts | --layouts-only]\n");
      return 1;
    }
  }
  std::vector<std::pair<Layout, int64_t>> plan;
  if (!o.layouts_only) {
    plan.push_back({{"sqlite_batch1000", Shape::kPlain, 1000, 1, 1, true}, o.rows});
    plan.push_back({{"sqlite_batch1", Shape::kPlain, 1, 1, 1, true}, o.single_rows});
  }
  if (o.with_index && !o.layouts_only) {
    // Keyed like a metrics table, without the latest-value upsert.
    plan.push_back({{"sqlite_batch1000_pk", Shape::kTextPk, 1000, 1, 1, true, false}, o.rows});
  }
  if (o.layouts) {
    plan.push_back({{"layout_plain", Shape::kPlain, 1000, 1, 4, true}, o.rows});
    plan.push_back({{"layout_text_pk", Shape::kTextPk, 1000, 1, 4, true}, o.rows});
    plan.push_back({{"layout_text_pk_nockpt", Shape::kTextPk, 1000, 1, 4, false}, o.rows});
    plan.push_back({{"layout_series_pk", Shape::kSeriesPk, 1000, 1, 4, true, false}, o.rows});
    plan.push_back({{"layout_text_pk_group4", Shape::kTextPk, 1000, 4, 4, true}, o.rows});
    plan.push_back({{"layout_text_pk_group16", Shape::kTextPk, 1000, 16, 4, true}, o.rows});
    plan.push_back({{"layout_cairn_v2", Shape::kSeriesPk, 1000, 1, 4, true}, o.rows});
    plan.push_back({{"layout_cairn_v2_nockpt", Shape::kSeriesPk, 1000, 1, 4, false}, o.rows});
    plan.push_back(
        {{"layout_cairn_v2_nockpt_group4", Shape::kSeriesPk, 1000, 4, 4, false}, o.rows});
  }
  for (const auto& [layout, rows] : plan) {
    if (rows <= 0) continue;
    if (Measure(o, layout, rows) < 0) return 1;
  }
  return 0;
}
