// sqlite_insert_bench: the raw SQLite reference for metric ingest.
//
// Inserts rows into a metrics-like table
//   (run_id TEXT, key TEXT, value REAL, timestamp INTEGER, step INTEGER)
// with journal_mode=WAL, synchronous=NORMAL and one prepared statement
// reused, committing every --batch rows (1000 = what one log-batch request
// carries; 1 = one row per transaction, what one log-metric request costs).
// Keys and values look like the load generator's ("loss_17", steps
// advancing). A fresh database file is used for each measurement.
// --with-index adds a third measurement, "sqlite_batch1000_pk": the same
// inserts into a WITHOUT ROWID table keyed like a tracking store's metrics.
//
// Output: one machine-readable line per measurement on stdout:
//   RESULT label=sqlite_batch1000 rows=<n> seconds=<s> rows_per_s=<r>
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
  int64_t rows = 1'000'000;       // rows for the batched measurement
  int64_t single_rows = 50'000;   // rows for the one-row-per-transaction measurement
  double max_seconds = 10;        // stop a measurement early after this long
  // Also measure with the primary key a real store needs (MLflow's and
  // Cairn's metrics tables are WITHOUT ROWID-like B-trees keyed on
  // run_id, key, step, timestamp, value): what the index alone costs.
  bool with_index = false;
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

// Returns rows/s, or a negative value on failure.
double Measure(const Options& o, const std::string& label, int64_t rows, int batch,
               bool with_index) {
  std::string path = o.dir + "/cairn_sqlite_bench_" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((path + suffix).c_str());
  sqlite3* db = nullptr;
  if (!Check(sqlite3_open(path.c_str(), &db), db, "open")) return -1;
  bool ok = Exec(db, "PRAGMA journal_mode=WAL") && Exec(db, "PRAGMA synchronous=NORMAL") &&
            Exec(db,
                 with_index
                     ? "CREATE TABLE metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL "
                       "NOT NULL, timestamp INTEGER NOT NULL, step INTEGER NOT NULL, "
                       "PRIMARY KEY (run_id, key, step, timestamp, value)) WITHOUT ROWID"
                     : "CREATE TABLE metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL "
                       "NOT NULL, timestamp INTEGER NOT NULL, step INTEGER NOT NULL)");
  sqlite3_stmt* ins = nullptr;
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* commit = nullptr;
  ok = ok &&
       Check(sqlite3_prepare_v2(db, "INSERT INTO metrics VALUES (?1, ?2, ?3, ?4, ?5)", -1, &ins,
                                nullptr),
             db, "prepare insert") &&
       Check(sqlite3_prepare_v2(db, "BEGIN", -1, &begin, nullptr), db, "prepare begin") &&
       Check(sqlite3_prepare_v2(db, "COMMIT", -1, &commit, nullptr), db, "prepare commit");
  std::vector<std::string> keys;
  for (const char* prefix : {"loss", "accuracy", "val_loss", "grad_norm", "lr"}) {
    for (int i = 0; i < 10; ++i) keys.push_back(std::string(prefix) + "_" + std::to_string(i));
  }
  const std::string run_id = "0123456789abcdef0123456789abcdef";
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> uni(0, 2);
  int64_t ts = 1'700'000'000'000;
  auto t0 = std::chrono::steady_clock::now();
  auto deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(o.max_seconds));
  int64_t done = 0;
  while (ok && done < rows) {
    ok = Check(sqlite3_step(begin), db, "begin");
    sqlite3_reset(begin);
    for (int i = 0; ok && i < batch; ++i, ++done) {
      const std::string& key = keys[done % keys.size()];
      sqlite3_bind_text(ins, 1, run_id.data(), static_cast<int>(run_id.size()), SQLITE_STATIC);
      sqlite3_bind_text(ins, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
      sqlite3_bind_double(ins, 3, uni(rng));
      sqlite3_bind_int64(ins, 4, ts + done / 1000);
      sqlite3_bind_int64(ins, 5, done / static_cast<int64_t>(keys.size()));
      ok = Check(sqlite3_step(ins), db, "insert");
      sqlite3_reset(ins);
    }
    ok = ok && Check(sqlite3_step(commit), db, "commit");
    sqlite3_reset(commit);
    if (std::chrono::steady_clock::now() > deadline) break;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  sqlite3_finalize(ins);
  sqlite3_finalize(begin);
  sqlite3_finalize(commit);
  sqlite3_close(db);
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((path + suffix).c_str());
  if (!ok) return -1;
  double rate = static_cast<double>(done) / seconds;
  std::printf("RESULT label=%s rows=%" PRId64 " seconds=%.3f rows_per_s=%.0f\n", label.c_str(),
              done, seconds, rate);
  std::fflush(stdout);
  std::fprintf(stderr, "[%s] %" PRId64 " rows in %.2f s: %.0f rows/s\n", label.c_str(), done,
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
    if (a == "--dir") o.dir = next();
    else if (a == "--rows") o.rows = std::atoll(next().c_str());
    else if (a == "--single-rows") o.single_rows = std::atoll(next().c_str());
    else if (a == "--max-seconds") o.max_seconds = std::atof(next().c_str());
    else if (a == "--with-index") o.with_index = true;
    else {
      std::fprintf(stderr,
                   "usage: sqlite_insert_bench [--dir D] [--rows N] [--single-rows N] "
                   "[--max-seconds S] [--with-index]\n");
      return 1;
    }
  }
  if (Measure(o, "sqlite_batch1000", o.rows, 1000, false) < 0) return 1;
  if (Measure(o, "sqlite_batch1", o.single_rows, 1, false) < 0) return 1;
  if (o.with_index) {
    if (Measure(o, "sqlite_batch1000_pk", o.rows, 1000, true) < 0) return 1;
  }
  return 0;
}
