#include "store/sqlite/sqlite_database.h"

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace cairn::store::sqlite {
namespace {

using sql::BulkInsert;
using sql::ConnectionLease;
using sql::Dialect;
using sql::StatementRef;
using sql::TxnMode;
using sql::Value;

Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  int primary = rc & 0xff;
  std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return Error(ErrorCode::kAlreadyExists, msg);
  }
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return Error(ErrorCode::kUnavailable, "metadata store unavailable: database is busy (" + msg +
                                              ") while " + std::string(what));
  }
  if (primary == SQLITE_FULL) {
    return Error(ErrorCode::kResourceExhausted, "metadata store: disk full (" + msg + ")");
  }
  if (primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR || primary == SQLITE_READONLY ||
      primary == SQLITE_PERM) {
    return Error(ErrorCode::kUnavailable,
                 "metadata store unavailable: " + msg + " while " + std::string(what));
  }
  return Error(ErrorCode::kInternal, "sqlite: " + msg + " while " + std::string(what));
}

class SqliteStatement final : public sql::Statement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteStatement() override { sqlite3_finalize(stmt_); }

  void Bind(int index, const Value& v) override {
    int i = index + 1;
    switch (v.kind) {
      case Value::Kind::kNull:
        sqlite3_bind_null(stmt_, i);
        break;
      case Value::Kind::kInt:
        sqlite3_bind_int64(stmt_, i, v.i);
        break;
      case Value::Kind::kDouble:
        sqlite3_bind_double(stmt_, i, v.d);
        break;
      case Value::Kind::kText:
        // The caller keeps the text alive until the statement is reset.
        sqlite3_bind_text(stmt_, i, v.s.data(), static_cast<int>(v.s.size()), SQLITE_STATIC);
        break;
    }
  }

  Result<bool> Next() override {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return std::unexpected(SqliteError(db_, sqlite3_extended_errcode(db_), Describe()));
  }

  Result<int64_t> Exec() override {
    for (;;) {
      int rc = sqlite3_step(stmt_);
      if (rc == SQLITE_ROW) continue;
      if (rc == SQLITE_DONE) break;
      return std::unexpected(SqliteError(db_, sqlite3_extended_errcode(db_), Describe()));
    }
    return static_cast<int64_t>(sqlite3_changes64(db_));
  }

  // Steps one row of an insert/update; used on the bulk path (no loop).
  Status StepOnce() {
    int rc = sqlite3_step(stmt_);
    sqlite3_reset(stmt_);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return {};
    return std::unexpected(SqliteError(db_, sqlite3_extended_errcode(db_), Describe()));
  }

  bool IsNull(int col) const override { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int(int col) const override { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const override { return sqlite3_column_double(stmt_, col); }
  std::string_view Text(int col) const override {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    if (p == nullptr) return {};
    return {reinterpret_cast<const char*>(p),
            static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
  }
  void Reset() override {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  std::string Describe() const {
    const char* s = sqlite3_sql(stmt_);
    std::string_view sql = s != nullptr ? s : "";
    return "running '" + std::string(sql.substr(0, 120)) + "'";
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class SqliteConnection final : public sql::Connection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override {
    cache_.clear();  // statements first: sqlite3_close fails while any remain
    sqlite3_close(db_);
  }

  Dialect dialect() const override { return Dialect::kSqlite; }

  Status ExecScript(std::string_view sql) override {
    std::string text(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return std::unexpected(
          SqliteError(db_, sqlite3_extended_errcode(db_), "running script (" + msg + ")"));
    }
    return {};
  }

  Result<StatementRef> Prepare(std::string_view sql, bool cached) override {
    if (cached) {
      auto it = cache_.find(sql);
      if (it != cache_.end()) return StatementRef(it->second.get(), nullptr);
    }
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                cached ? SQLITE_PREPARE_PERSISTENT : 0, &raw, nullptr);
    if (rc != SQLITE_OK) {
      return std::unexpected(
          SqliteError(db_, rc, "preparing '" + std::string(sql.substr(0, 120)) + "'"));
    }
    auto stmt = std::make_unique<SqliteStatement>(db_, raw);
    if (!cached) {
      SqliteStatement* p = stmt.get();
      return StatementRef(p, std::move(stmt));
    }
    SqliteStatement* p = stmt.get();
    cache_.emplace(std::string(sql), std::move(stmt));
    return StatementRef(p, nullptr);
  }

  Status Begin(TxnMode mode) override {
    CAIRN_ASSIGN_OR_RETURN(auto stmt,
                           Prepare(mode == TxnMode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN", true));
    CAIRN_RETURN_IF_ERROR(stmt->Exec());
    in_txn_ = true;
    return {};
  }

  Status Commit() override {
    CAIRN_ASSIGN_OR_RETURN(auto stmt, Prepare("COMMIT", true));
    auto r = stmt->Exec();
    if (!r) {
      Rollback();
      return std::unexpected(r.error());
    }
    in_txn_ = false;
    return {};
  }

  void Rollback() override {
    in_txn_ = false;
    if (sqlite3_get_autocommit(db_) != 0) return;  // no transaction open
    auto stmt = Prepare("ROLLBACK", true);
    if (!stmt || !(*stmt)->Exec()) broken_ = true;
  }

  Status InsertRows(const BulkInsert& spec, std::span<const Value> values) override {
    if (values.empty()) return {};
    // SQLite has no round trips: one cached single-row statement, stepped
    // once per row, is the fastest bulk path it has.
    bulk_sql_.assign(spec.head);
    bulk_sql_.append(" (");
    for (int c = 0; c < spec.columns; ++c) bulk_sql_.append(c == 0 ? "?" : ", ?");
    bulk_sql_.append(") ");
    bulk_sql_.append(spec.tail);
    CAIRN_ASSIGN_OR_RETURN(auto ref, Prepare(bulk_sql_, true));
    auto* stmt = static_cast<SqliteStatement*>(&*ref);
    size_t rows = values.size() / static_cast<size_t>(spec.columns);
    for (size_t r = 0; r < rows; ++r) {
      for (int c = 0; c < spec.columns; ++c) {
        stmt->Bind(c, values[r * static_cast<size_t>(spec.columns) + static_cast<size_t>(c)]);
      }
      CAIRN_RETURN_IF_ERROR(stmt->StepOnce());
    }
    return {};
  }

  bool broken() const override { return broken_; }
  bool in_txn() const { return in_txn_ || sqlite3_get_autocommit(db_) == 0; }
  sqlite3* raw() const { return db_; }
  uint64_t stats_generation() const { return stats_generation_; }
  void set_stats_generation(uint64_t g) { stats_generation_ = g; }

 private:
  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<SqliteStatement>, StringHash, std::equal_to<>>
      cache_;
  std::string bulk_sql_;
  bool in_txn_ = false;
  bool broken_ = false;
  uint64_t stats_generation_ = 0;
};

Result<std::unique_ptr<SqliteConnection>> OpenConnection(const std::string& path, bool reader,
                                                         const SqliteOptions& options) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return sql::StoreUnavailable("cannot open SQLite database '" + path + "': " + msg);
  }
  sqlite3_extended_result_codes(db, 1);
  auto conn = std::make_unique<SqliteConnection>(db);
  std::string pragmas = "PRAGMA busy_timeout=" + std::to_string(options.busy_timeout_ms) +
                        ";"
                        "PRAGMA foreign_keys=ON;"
                        "PRAGMA case_sensitive_like=ON;"
                        "PRAGMA synchronous=NORMAL;"
                        "PRAGMA temp_store=MEMORY;"
                        "PRAGMA cache_size=-32768;"
                        "PRAGMA mmap_size=268435456;"
                        "PRAGMA journal_size_limit=67108864;";
  if (path != ":memory:") pragmas += "PRAGMA journal_mode=WAL;";
  if (reader) pragmas += "PRAGMA query_only=ON;";
  CAIRN_RETURN_IF_ERROR(conn->ExecScript(pragmas));
  return conn;
}

// Background upkeep on its own thread and connection:
//
// - WAL checkpoints, so a commit never waits for a checkpoint's fsyncs
//   (SQLite's automatic checkpoint runs inside the COMMIT that crosses the
//   threshold). The writer's WAL hook asks for one; a PASSIVE checkpoint
//   copies what it can without blocking the writer or readers, and the
//   writer restarts the WAL once everything is copied.
// - Planner statistics. Without them SQLite cannot tell a small experiment
//   in a large database from a large one, and may walk a metric index over
//   every run instead of the experiment's few. ANALYZE runs when a database
//   has no statistics and again each time it has doubled in size, which keeps
//   the total cost linear; it holds the write lock while it scans (about a
//   second at a million runs). Other connections reload the statistics when
//   they are next leased (see stats_generation()).
class BackgroundMaintainer {
 public:
  static constexpr int kRequestPages = 1000;  // SQLite's default auto-checkpoint size
  // Far behind (long readers pinning old frames): the writer checkpoints
  // inline rather than let the WAL grow without bound.
  static constexpr int kInlinePages = 50000;
  // Below this many pages (4 MiB) default planner guesses are fine.
  static constexpr int64_t kMinAnalyzePages = 1024;

  explicit BackgroundMaintainer(std::unique_ptr<SqliteConnection> conn)
      : conn_(std::move(conn)), thread_([this] { Loop(); }) {}
  ~BackgroundMaintainer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

  void Request() {
    {
      std::lock_guard lock(mu_);
      pending_ = true;
    }
    cv_.notify_one();
  }

  // Bumped after each ANALYZE.
  uint64_t stats_generation() const { return stats_generation_.load(std::memory_order_acquire); }

  // Installed on the writer connection (replaces auto-checkpointing).
  static int WalHook(void* self, sqlite3* db, const char* schema, int pages) {
    if (pages >= kInlinePages) {
      sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (pages >= kRequestPages) {
      static_cast<BackgroundMaintainer*>(self)->Request();
    }
    return SQLITE_OK;
  }

 private:
  void Loop() {
    MaybeAnalyze(/*at_start=*/true);
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return pending_ || stop_; });
      if (stop_) return;
      pending_ = false;
      lock.unlock();
      sqlite3_wal_checkpoint_v2(conn_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      MaybeAnalyze(/*at_start=*/false);
      lock.lock();
    }
  }

  int64_t QueryInt(std::string_view sql) {
    auto stmt = conn_->Prepare(sql, /*cached=*/false);
    if (!stmt) return 0;
    auto row = (*stmt)->Next();
    return row && *row ? (*stmt)->Int(0) : 0;
  }

  void MaybeAnalyze(bool at_start) {
    int64_t pages = QueryInt("PRAGMA page_count");
    if (at_start &&
        QueryInt("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'") > 0) {
      analyzed_pages_ = pages;  // statistics from an earlier process
      return;
    }
    if (pages < kMinAnalyzePages || pages < 2 * analyzed_pages_) return;
    if (conn_->ExecScript("ANALYZE")) {
      analyzed_pages_ = pages;
      stats_generation_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  std::unique_ptr<SqliteConnection> conn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stop_ = false;
  int64_t analyzed_pages_ = 0;  // maintainer thread only
  std::atomic<uint64_t> stats_generation_{0};
  std::thread thread_;  // last: starts once the members above exist
};

class SqliteDatabase final : public sql::Database {
 public:
  SqliteDatabase(std::string path, SqliteOptions options, std::unique_ptr<SqliteConnection> writer,
                 std::unique_ptr<BackgroundMaintainer> maintainer)
      : path_(std::move(path)),
        options_(options),
        writer_(std::move(writer)),
        maintainer_(std::move(maintainer)) {
    if (maintainer_ != nullptr) {
      sqlite3_wal_hook(writer_->raw(), &BackgroundMaintainer::WalHook, maintainer_.get());
    }
  }

  ~SqliteDatabase() override {
    if (maintainer_ != nullptr) sqlite3_wal_hook(writer_->raw(), nullptr, nullptr);
    maintainer_.reset();
    readers_.clear();
    writer_.reset();
  }

  Dialect dialect() const override { return Dialect::kSqlite; }

  Result<ConnectionLease> Writer() override {
    writer_mu_.lock();
    return ConnectionLease(this, writer_.get(), &writer_mu_);
  }

  Result<ConnectionLease> Reader() override {
    if (memory()) return Writer();
    uint64_t generation = maintainer_->stats_generation();
    SqliteConnection* c = nullptr;
    {
      std::unique_lock lock(pool_mu_);
      for (;;) {
        if (!idle_.empty()) {
          c = idle_.back();
          idle_.pop_back();
          break;
        }
        if (static_cast<int>(readers_.size()) + opening_ < options_.max_readers) {
          ++opening_;
          lock.unlock();
          auto conn = OpenConnection(path_, /*reader=*/true, options_);
          lock.lock();
          --opening_;
          if (!conn) {
            pool_cv_.notify_one();
            return std::unexpected(conn.error());
          }
          c = conn->get();
          c->set_stats_generation(generation);  // loaded fresh statistics
          readers_.push_back(std::move(*conn));
          break;
        }
        pool_cv_.wait(lock);
      }
    }
    if (c->stats_generation() != generation) {
      // New planner statistics since this connection loaded its schema.
      (void)c->ExecScript("ANALYZE sqlite_schema");
      c->set_stats_generation(generation);
    }
    return ConnectionLease(this, c, nullptr);
  }

 protected:
  void Release(sql::Connection* conn, void* token) override {
    auto* c = static_cast<SqliteConnection*>(conn);
    if (c->in_txn()) c->Rollback();  // an operation that returned early
    if (token == &writer_mu_) {
      writer_mu_.unlock();
      return;
    }
    std::lock_guard lock(pool_mu_);
    idle_.push_back(c);
    pool_cv_.notify_one();
  }

 private:
  bool memory() const { return path_ == ":memory:"; }

  std::string path_;
  SqliteOptions options_;
  std::mutex writer_mu_;
  std::unique_ptr<SqliteConnection> writer_;
  std::unique_ptr<BackgroundMaintainer> maintainer_;  // null for :memory:
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<SqliteConnection>> readers_;
  std::vector<SqliteConnection*> idle_;
  int opening_ = 0;
};

}  // namespace

Result<std::unique_ptr<sql::Database>> OpenSqliteDatabase(const std::string& path,
                                                          const SqliteOptions& options) {
  if (path.empty()) return InvalidArgument("empty SQLite database path");
  if (path != ":memory:") {
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) {
      return sql::StoreUnavailable("cannot create folder '" + parent.string() + "' for '" + path +
                                   "': " + ec.message());
    }
  }
  CAIRN_ASSIGN_OR_RETURN(auto writer, OpenConnection(path, /*reader=*/false, options));
  std::unique_ptr<BackgroundMaintainer> maintainer;
  if (path != ":memory:") {
    CAIRN_ASSIGN_OR_RETURN(auto conn, OpenConnection(path, /*reader=*/false, options));
    maintainer = std::make_unique<BackgroundMaintainer>(std::move(conn));
  }
  return std::unique_ptr<sql::Database>(
      std::make_unique<SqliteDatabase>(path, options, std::move(writer), std::move(maintainer)));
}

}  // namespace cairn::store::sqlite
