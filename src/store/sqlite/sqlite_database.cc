#include "store/sqlite/sqlite_database.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
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
      case Value::Kind::kBlob:
        sqlite3_bind_blob(stmt_, i, v.s.data(), static_cast<int>(v.s.size()), SQLITE_STATIC);
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
  std::string_view Blob(int col, std::string&) const override {
    const void* p = sqlite3_column_blob(stmt_, col);
    if (p == nullptr) return {};  // NULL or empty
    return {static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
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

  // One unnamed level of savepoint for group commit (never nested).
  Status Savepoint() { return ExecCached("SAVEPOINT cairn_group"); }
  Status ReleaseSavepoint() { return ExecCached("RELEASE cairn_group"); }
  // Undoes the writes since Savepoint() and ends it; the transaction stays.
  Status RollbackToSavepoint() {
    CAIRN_RETURN_IF_ERROR(ExecCached("ROLLBACK TO cairn_group"));
    return ExecCached("RELEASE cairn_group");
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
  Status ExecCached(std::string_view sql) {
    CAIRN_ASSIGN_OR_RETURN(auto stmt, Prepare(sql, true));
    CAIRN_RETURN_IF_ERROR(stmt->Exec());
    return {};
  }

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
  // Checkpoints are the background maintainer's (a no-op for ":memory:").
  if (!reader) pragmas += "PRAGMA wal_autocheckpoint=0;";
  CAIRN_RETURN_IF_ERROR(conn->ExecScript(pragmas));
  return conn;
}

// Background upkeep on its own thread and connection:
//
// - WAL checkpoints, off the commit path. The writer runs with
//   wal_autocheckpoint=0 and a WAL hook that only records the WAL's size and
//   wakes this thread once it passes wal_checkpoint_pages. A PASSIVE checkpoint
//   then copies what it can without blocking writers or readers. Under
//   constant load a PASSIVE checkpoint never catches up (writers append
//   while it copies), and SQLite only rewinds the WAL once every frame is
//   copied, so past wal_restart_pages this thread takes the in-process writer
//   mutex (writers queue on it, as they do for each other) and runs a
//   RESTART checkpoint: it copies the frames written since the PASSIVE one
//   and waits for readers still on old frames, so the next write starts the
//   WAL from its beginning (journal_size_limit caps the file). The WAL
//   stays near wal_restart_pages while this thread keeps up. When it does
//   not (a loaded machine may not schedule it for seconds), the writer
//   itself runs the RESTART checkpoint once the WAL reaches twice
//   wal_restart_pages (see WalHook): writers then pay for the copying, at
//   the rate the disk allows, and the WAL stays bounded under any load.
// - Durability bound. With synchronous=NORMAL a commit is not fsynced; it
//   survives a crash of this process at once (the WAL is in the OS page
//   cache) and a crash of the OS or the machine once the WAL is synced,
//   which SQLite does at the start of every checkpoint. When commits are
//   waiting to be synced and nothing asked for a checkpoint, this thread
//   runs one after wal_sync_interval, so that window is about a second.
// - Planner statistics. Without them SQLite cannot tell a small experiment
//   in a large database from a large one, and may walk a metric index over
//   every run instead of the experiment's few. ANALYZE runs when a database
//   has no statistics and again each time it has doubled in size, which keeps
//   the total cost linear; it holds the write lock while it scans (about a
//   second at a million runs). Other connections reload the statistics when
//   they are next leased (see stats_generation()).
//
// Thread safety: WalHook runs on the writer's thread (inside its commit);
// everything else on the maintainer's own thread. The destructor stops the
// thread after the checkpoint in progress, if any.
class BackgroundMaintainer {
 public:
  // Below this many pages (4 MiB) default planner guesses are fine.
  static constexpr int64_t kMinAnalyzePages = 1024;

  // `writer_mu` serializes the in-process writers; it must outlive this.
  BackgroundMaintainer(std::unique_ptr<SqliteConnection> conn, std::mutex* writer_mu,
                       const SqliteOptions& options)
      : conn_(std::move(conn)),
        writer_mu_(writer_mu),
        checkpoint_pages_(options.wal_checkpoint_pages),
        restart_pages_(options.wal_restart_pages),
        sync_interval_(options.wal_sync_interval),
        thread_([this] { Loop(); }) {}
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

  // Installed on the writer connection; called after each commit (its write
  // lock released, the in-process writer mutex still held) with the number
  // of frames in the WAL. Cheap unless a checkpoint is due.
  static int WalHook(void* self, sqlite3* db, const char*, int pages) {
    auto* m = static_cast<BackgroundMaintainer*>(self);
    m->unsynced_.store(true, std::memory_order_relaxed);
    if (pages >= m->checkpoint_pages_ && !m->requested_.exchange(true, std::memory_order_relaxed)) {
      m->Request();
    }
    if (pages >= 2 * m->restart_pages_) m->RestartFromWriter(db);
    return SQLITE_OK;
  }

 private:
  void Loop() {
    MaybeAnalyze(/*at_start=*/true);
    std::unique_lock lock(mu_);
    for (;;) {
      bool woken = cv_.wait_for(lock, sync_interval_, [&] { return pending_ || stop_; });
      if (stop_) return;
      pending_ = false;
      lock.unlock();
      if (woken) {
        // Cleared before the checkpoint: a commit during it asks again.
        requested_.store(false, std::memory_order_relaxed);
        Checkpoint();
        MaybeAnalyze(/*at_start=*/false);
      } else if (unsynced_.load(std::memory_order_relaxed)) {
        Checkpoint();
      }
      lock.lock();
    }
  }

  void Checkpoint() {
    unsynced_.store(false, std::memory_order_relaxed);
    int log = 0;
    sqlite3_wal_checkpoint_v2(conn_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, nullptr);
    if (log < restart_pages_) return;
    // Most frames are copied by now; with the writers paused, copy the rest
    // and rewind. The busy timeout bounds the wait for another process's
    // writer or a reader on old frames; on SQLITE_BUSY the WAL is rewound
    // by a later round.
    std::lock_guard writers(*writer_mu_);
    sqlite3_wal_checkpoint_v2(conn_->raw(), nullptr, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
  }

  // The maintainer fell behind: copy the WAL and rewind it on the writer's
  // connection (as SQLite's own auto-checkpoint does from its WAL hook).
  // Only one connection checkpoints at a time; when the maintainer holds the
  // checkpoint lock its PASSIVE pass ends soon and it then waits for the
  // writer mutex this thread holds, so retry for a while. SQLITE_BUSY after
  // that (a reader on old frames past the busy timeout) leaves the WAL to
  // the next commit.
  void RestartFromWriter(sqlite3* db) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (;;) {
      int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
      if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() > give_up) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
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
    // ANALYZE takes SQLite's write lock: in-process writers queue on their
    // mutex meanwhile instead of polling in the busy handler.
    std::lock_guard writers(*writer_mu_);
    if (conn_->ExecScript("ANALYZE")) {
      analyzed_pages_ = pages;
      stats_generation_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  std::unique_ptr<SqliteConnection> conn_;
  std::mutex* writer_mu_;
  const int checkpoint_pages_;
  const int restart_pages_;
  const std::chrono::milliseconds sync_interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stop_ = false;
  std::atomic<bool> requested_{false};  // a wake-up is pending (saves a notify per commit)
  std::atomic<bool> unsynced_{false};   // commits since the last checkpoint began
  int64_t analyzed_pages_ = 0;          // maintainer thread only
  std::atomic<uint64_t> stats_generation_{0};
  std::thread thread_;  // last: starts once the members above exist
};

class SqliteDatabase final : public sql::Database {
 public:
  // `maintenance` is the maintainer's connection; null for ":memory:".
  SqliteDatabase(std::string path, SqliteOptions options, std::unique_ptr<SqliteConnection> writer,
                 std::unique_ptr<SqliteConnection> maintenance)
      : path_(std::move(path)), options_(options), writer_(std::move(writer)) {
    if (maintenance != nullptr) {
      maintainer_ =
          std::make_unique<BackgroundMaintainer>(std::move(maintenance), &writer_mu_, options_);
      // Replaces SQLite's auto-checkpoint (off: wal_autocheckpoint=0).
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

  // Group commit. The first caller to find no leader becomes one: it takes
  // every queued body (its own first), runs them in one transaction on the
  // writer connection, each in a savepoint, commits, and wakes their callers.
  // Callers that arrive meanwhile queue for the next leader. A body's own
  // error undoes its savepoint only. When the whole transaction is lost (a
  // failed COMMIT, or an I/O or disk-full error that makes SQLite roll it
  // back), every body whose writes it held gets that error: none of them
  // was acknowledged, so a client retry is safe.
  Status RunGroupedWrite(const std::function<Status(sql::Connection&)>& body) override {
    GroupedWrite me{&body, {}, false};
    std::unique_lock lock(group_mu_);
    group_queue_.push_back(&me);
    while (!me.done) {
      if (group_leader_) {
        group_cv_.wait(lock);
        continue;
      }
      group_leader_ = true;
      std::vector<GroupedWrite*> group;
      size_t n = std::min(group_queue_.size(), kMaxGroup);
      group.assign(group_queue_.begin(), group_queue_.begin() + static_cast<ptrdiff_t>(n));
      group_queue_.erase(group_queue_.begin(), group_queue_.begin() + static_cast<ptrdiff_t>(n));
      lock.unlock();
      RunGroup(group);
      lock.lock();
      for (GroupedWrite* w : group) w->done = true;
      group_leader_ = false;
      group_cv_.notify_all();
    }
    return std::move(me.result);
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
  struct GroupedWrite {
    const std::function<Status(sql::Connection&)>* body;
    Status result;
    bool done;  // guarded by group_mu_
  };
  // Bounds one transaction's size (and so its callers' wait).
  static constexpr size_t kMaxGroup = 32;

  bool memory() const { return path_ == ":memory:"; }

  // A body may belong to another caller's thread: no exception crosses back.
  static Status RunBody(const GroupedWrite& w, sql::Connection& c) {
    try {
      return (*w.body)(c);
    } catch (const std::exception& e) {
      return Internal(std::string("metadata store write failed: ") + e.what());
    }
  }

  // Runs `group` in one transaction and sets each member's result.
  void RunGroup(const std::vector<GroupedWrite*>& group) {
    auto fail_all = [&](const Error& e) {
      for (GroupedWrite* w : group) {
        if (w->result) w->result = std::unexpected(e);
      }
    };
    auto lease = Writer();
    if (!lease) return fail_all(lease.error());
    auto* c = static_cast<SqliteConnection*>(&**lease);
    if (auto st = c->Begin(TxnMode::kWrite); !st) return fail_all(st.error());
    if (group.size() == 1) {
      // Alone: no savepoint needed, the transaction is the body's.
      GroupedWrite* w = group[0];
      w->result = RunBody(*w, *c);
      if (!w->result) {
        c->Rollback();
        return;
      }
      w->result = c->Commit();
      return;
    }
    for (GroupedWrite* w : group) {
      Status st = c->Savepoint();
      if (st) {
        w->result = RunBody(*w, *c);
        if (sqlite3_get_autocommit(c->raw()) != 0) {
          // SQLite rolled the whole transaction back (I/O error, disk full).
          st = w->result;
          if (st) st = Internal("sqlite: the group's write transaction ended unexpectedly");
        } else {
          st = w->result ? c->ReleaseSavepoint() : c->RollbackToSavepoint();
        }
      }
      if (!st) {
        Error e = st.error();
        c->Rollback();
        return fail_all(e);
      }
    }
    if (auto st = c->Commit(); !st) fail_all(st.error());
  }

  std::string path_;
  SqliteOptions options_;
  std::mutex writer_mu_;
  std::unique_ptr<SqliteConnection> writer_;
  std::unique_ptr<BackgroundMaintainer> maintainer_;  // null for :memory:
  std::mutex group_mu_;
  std::condition_variable group_cv_;
  std::vector<GroupedWrite*> group_queue_;  // waiting for the next leader
  bool group_leader_ = false;               // a group is running
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
  std::unique_ptr<SqliteConnection> maintenance;
  if (path != ":memory:") {
    CAIRN_ASSIGN_OR_RETURN(maintenance, OpenConnection(path, /*reader=*/false, options));
  }
  return std::unique_ptr<sql::Database>(
      std::make_unique<SqliteDatabase>(path, options, std::move(writer), std::move(maintenance)));
}

}  // namespace cairn::store::sqlite
