#include "store/postgres/postgres_database.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace cairn::store::postgres {
namespace {

using sql::BulkInsert;
using sql::ConnectionLease;
using sql::Dialect;
using sql::StatementRef;
using sql::TxnMode;
using sql::Value;

// The protocol caps a statement at 65535 parameters; fewer rows per chunk
// keep the statement text and server-side parse reasonable.
constexpr size_t kMaxParams = 65535;
constexpr size_t kMaxRowsPerInsert = 1000;

// libpq messages span lines ("...failed: Connection refused\n\tIs the
// server running..."); errors are one line.
std::string OneLine(std::string_view msg) {
  std::string out;
  for (char c : msg) {
    bool space = c == '\n' || c == '\t' || c == '\r' || c == ' ';
    if (space) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// '?' -> $1, $2, ... outside quoted literals, identifiers and comments.
std::string NumberPlaceholders(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (c == '\'' || c == '"') {
      size_t end = sql.find(c, i + 1);
      if (end == std::string_view::npos) end = sql.size() - 1;
      out.append(sql.substr(i, end - i + 1));
      i = end;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      if (end == std::string_view::npos) end = sql.size() - 1;
      out.append(sql.substr(i, end - i + 1));
      i = end;
    } else if (c == '?') {
      out.push_back('$');
      out.append(std::to_string(++n));
    } else {
      out.push_back(c);
    }
  }
  *count = n;
  return out;
}

// Text-format parameters live in one arena per statement; the arena keeps
// its capacity across executions, so steady-state binds do not allocate.
class ParamBuffer {
 public:
  void Resize(size_t n) {
    offsets_.assign(n, kNull);
    arena_.clear();
    has_nul_ = false;
  }
  void Clear() {
    std::fill(offsets_.begin(), offsets_.end(), kNull);
    arena_.clear();
    has_nul_ = false;
  }
  // PostgreSQL text cannot hold NUL; a C-string parameter would silently
  // end at it, so such values are refused instead.
  Status Check() const {
    if (has_nul_) return InvalidArgument("text values must not contain NUL characters");
    return {};
  }
  void Set(size_t i, const Value& v) {
    if (i >= offsets_.size()) offsets_.resize(i + 1, kNull);
    if (v.kind == Value::Kind::kNull) {
      offsets_[i] = kNull;
      return;
    }
    offsets_[i] = arena_.size();
    char buf[32];
    switch (v.kind) {
      case Value::Kind::kInt: {
        auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v.i);
        (void)ec;
        arena_.append(buf, p);
        break;
      }
      case Value::Kind::kDouble: {
        if (std::isnan(v.d)) {
          arena_.append("NaN");
        } else if (std::isinf(v.d)) {
          arena_.append(v.d > 0 ? "Infinity" : "-Infinity");
        } else {
          auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v.d);
          (void)ec;
          arena_.append(buf, p);
        }
        break;
      }
      case Value::Kind::kText:
        if (v.s.find('\0') != std::string_view::npos) has_nul_ = true;
        arena_.append(v.s);
        break;
      case Value::Kind::kBlob: {
        // BYTEA's text input form: \x and two hex digits per byte.
        static constexpr char kHex[] = "0123456789abcdef";
        size_t at = arena_.size();
        arena_.resize(at + 2 + 2 * v.s.size());
        char* out = arena_.data() + at;
        *out++ = '\\';
        *out++ = 'x';
        for (unsigned char c : v.s) {
          *out++ = kHex[c >> 4];
          *out++ = kHex[c & 15];
        }
        break;
      }
      case Value::Kind::kNull:
        break;
    }
    arena_.push_back('\0');
  }
  // Pointers are taken only now: the arena may have moved while growing.
  const char* const* Pointers() {
    ptrs_.resize(offsets_.size());
    for (size_t i = 0; i < offsets_.size(); ++i) {
      ptrs_[i] = offsets_[i] == kNull ? nullptr : arena_.data() + offsets_[i];
    }
    return ptrs_.data();
  }
  int size() const { return static_cast<int>(offsets_.size()); }

 private:
  static constexpr size_t kNull = static_cast<size_t>(-1);
  std::vector<size_t> offsets_;
  std::string arena_;
  std::vector<const char*> ptrs_;
  bool has_nul_ = false;
};

class PgConnection;

class PgStatement final : public sql::Statement {
 public:
  // `name` empty: an unnamed one-shot statement run with PQexecParams.
  PgStatement(PgConnection* conn, std::string name, std::string sql, int nparams)
      : conn_(conn), name_(std::move(name)), sql_(std::move(sql)) {
    params_.Resize(static_cast<size_t>(nparams));
  }
  ~PgStatement() override { PQclear(res_); }

  void Bind(int index, const Value& v) override { params_.Set(static_cast<size_t>(index), v); }
  Result<bool> Next() override {
    if (res_ == nullptr) {
      CAIRN_RETURN_IF_ERROR(Execute());
      row_ = -1;
    }
    ++row_;
    return row_ < PQntuples(res_);
  }
  Result<int64_t> Exec() override {
    CAIRN_RETURN_IF_ERROR(Execute());
    const char* n = PQcmdTuples(res_);
    int64_t changed = 0;
    if (n != nullptr && *n != '\0') std::from_chars(n, n + std::strlen(n), changed);
    return changed;
  }
  bool IsNull(int col) const override { return PQgetisnull(res_, row_, col) != 0; }
  int64_t Int(int col) const override {
    const char* s = PQgetvalue(res_, row_, col);
    int64_t v = 0;
    std::from_chars(s, s + PQgetlength(res_, row_, col), v);
    return v;
  }
  double Double(int col) const override {
    const char* s = PQgetvalue(res_, row_, col);
    int len = PQgetlength(res_, row_, col);
    std::string_view t(s, static_cast<size_t>(len));
    if (t == "NaN") return std::nan("");
    if (t == "Infinity") return HUGE_VAL;
    if (t == "-Infinity") return -HUGE_VAL;
    double v = 0;
    std::from_chars(s, s + len, v);
    return v;
  }
  std::string_view Text(int col) const override {
    return {PQgetvalue(res_, row_, col), static_cast<size_t>(PQgetlength(res_, row_, col))};
  }
  std::string_view Blob(int col, std::string& scratch) const override {
    // BYTEA's text output: "\x" and hex digits (bytea_output = hex, the
    // default), or the escape form (printable bytes, "\\", "\ooo" octal).
    std::string_view t = Text(col);
    scratch.clear();
    if (t.size() >= 2 && t[0] == '\\' && t[1] == 'x') {
      auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return c - 'A' + 10;
      };
      scratch.resize((t.size() - 2) / 2);
      for (size_t i = 0; i < scratch.size(); ++i) {
        scratch[i] = static_cast<char>(nibble(t[2 + 2 * i]) << 4 | nibble(t[3 + 2 * i]));
      }
      return scratch;
    }
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] != '\\') {
        scratch.push_back(t[i]);
      } else if (i + 1 < t.size() && t[i + 1] == '\\') {
        scratch.push_back('\\');
        ++i;
      } else if (i + 3 < t.size()) {
        scratch.push_back(static_cast<char>((t[i + 1] - '0') << 6 | (t[i + 2] - '0') << 3 |
                                            (t[i + 3] - '0')));
        i += 3;
      }
    }
    return scratch;
  }
  void Reset() override {
    PQclear(res_);
    res_ = nullptr;
    row_ = -1;
    params_.Clear();
  }

 private:
  Status Execute();

  PgConnection* conn_;
  std::string name_;
  std::string sql_;
  ParamBuffer params_;
  PGresult* res_ = nullptr;
  int row_ = -1;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class PgConnection final : public sql::Connection {
 public:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  ~PgConnection() override {
    cache_.clear();
    PQfinish(conn_);
  }

  Dialect dialect() const override { return Dialect::kPostgres; }
  PGconn* raw() const { return conn_; }

  Status ExecScript(std::string_view sql) override {
    PGresult* res = PQexec(conn_, std::string(sql).c_str());
    Status s = Check(res, "running script");
    PQclear(res);
    return s;
  }

  Result<StatementRef> Prepare(std::string_view sql, bool cached) override {
    if (cached) {
      auto it = cache_.find(sql);
      if (it != cache_.end()) return StatementRef(it->second.get(), nullptr);
    }
    int nparams = 0;
    std::string translated = NumberPlaceholders(sql, &nparams);
    if (!cached) {
      auto stmt =
          std::make_unique<PgStatement>(this, std::string(), std::move(translated), nparams);
      PgStatement* p = stmt.get();
      return StatementRef(p, std::move(stmt));
    }
    std::string name = "cairn_" + std::to_string(++statement_counter_);
    PGresult* res = PQprepare(conn_, name.c_str(), translated.c_str(), nparams, nullptr);
    Status s = Check(res, "preparing '" + std::string(sql.substr(0, 120)) + "'");
    PQclear(res);
    if (!s) return std::unexpected(s.error());
    auto stmt = std::make_unique<PgStatement>(this, std::move(name), std::string(), nparams);
    PgStatement* p = stmt.get();
    cache_.emplace(std::string(sql), std::move(stmt));
    return StatementRef(p, nullptr);
  }

  Status Begin(TxnMode mode) override {
    return ExecScript(mode == TxnMode::kWrite ? "BEGIN"
                                              : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }
  Status Commit() override {
    Status s = ExecScript("COMMIT");
    if (!s) Rollback();
    return s;
  }
  void Rollback() override {
    if (broken_) return;
    if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return;
    PGresult* res = PQexec(conn_, "ROLLBACK");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) broken_ = true;
    PQclear(res);
  }

  Status InsertRows(const BulkInsert& spec, std::span<const Value> values) override {
    if (values.empty()) return {};
    const size_t cols = static_cast<size_t>(spec.columns);
    const size_t total_rows = values.size() / cols;
    const size_t chunk_rows = std::min(kMaxRowsPerInsert, kMaxParams / cols);
    for (size_t first = 0; first < total_rows; first += chunk_rows) {
      size_t rows = std::min(chunk_rows, total_rows - first);
      bulk_sql_.assign(spec.head);
      bulk_sql_.push_back(' ');
      int n = 0;
      for (size_t r = 0; r < rows; ++r) {
        bulk_sql_.append(r == 0 ? "(" : ", (");
        for (size_t c = 0; c < cols; ++c) {
          if (c > 0) bulk_sql_.append(", ");
          bulk_sql_.push_back('$');
          bulk_sql_.append(std::to_string(++n));
        }
        bulk_sql_.push_back(')');
      }
      bulk_sql_.push_back(' ');
      bulk_sql_.append(spec.tail);
      bulk_params_.Resize(rows * cols);
      for (size_t i = 0; i < rows * cols; ++i) bulk_params_.Set(i, values[first * cols + i]);
      CAIRN_RETURN_IF_ERROR(bulk_params_.Check());
      PGresult* res = PQexecParams(conn_, bulk_sql_.c_str(), bulk_params_.size(), nullptr,
                                   bulk_params_.Pointers(), nullptr, nullptr, 0);
      Status s = Check(res, "inserting rows");
      PQclear(res);
      if (!s) return s;
    }
    return {};
  }

  bool broken() const override { return broken_; }
  bool in_txn() const { return PQtransactionStatus(conn_) != PQTRANS_IDLE; }

  // An idle connection must have nothing to read: a terminated backend
  // leaves an error message and EOF behind, which poll() reports.
  bool LooksHealthy() {
    if (broken_ || PQstatus(conn_) != CONNECTION_OK) return false;
    pollfd p{PQsocket(conn_), POLLIN, 0};
    int r = poll(&p, 1, 0);
    return r == 0;
  }

  // Turns a libpq result into a Status, classifying the failure.
  Status Check(PGresult* res, std::string_view what) {
    ExecStatusType st = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return {};
    std::string msg = OneLine(res != nullptr ? PQresultErrorMessage(res) : "");
    if (msg.empty()) msg = OneLine(PQerrorMessage(conn_));
    const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    std::string_view code = state != nullptr ? state : "";
    // No SQLSTATE means libpq itself failed (lost socket); class 08 and
    // 57P01..03 mean the server dropped us or is shutting down.
    bool lost = res == nullptr || code.empty() || PQstatus(conn_) == CONNECTION_BAD ||
                code.starts_with("08") || code == "57P01" || code == "57P02" || code == "57P03";
    if (lost) {
      broken_ = true;
      return sql::StoreUnavailable(msg);
    }
    if (code == "23505") return MakeError(ErrorCode::kAlreadyExists, msg);
    if (code == "40001" || code == "40P01" || code == "55P03") {
      return sql::StoreUnavailable("transaction conflict, retry: " + msg);
    }
    if (code.starts_with("22")) {
      return MakeError(ErrorCode::kInvalidArgument, "invalid value: " + msg);
    }
    return MakeError(ErrorCode::kInternal, "postgresql: " + msg + " (" + std::string(code) +
                                               ") while " + std::string(what));
  }

 private:
  PGconn* conn_;
  std::unordered_map<std::string, std::unique_ptr<PgStatement>, StringHash, std::equal_to<>> cache_;
  std::string bulk_sql_;
  ParamBuffer bulk_params_;
  int statement_counter_ = 0;
  bool broken_ = false;
};

Status PgStatement::Execute() {
  PQclear(res_);
  res_ = nullptr;
  CAIRN_RETURN_IF_ERROR(params_.Check());
  if (name_.empty()) {
    res_ = PQexecParams(conn_->raw(), sql_.c_str(), params_.size(), nullptr, params_.Pointers(),
                        nullptr, nullptr, 0);
  } else {
    res_ = PQexecPrepared(conn_->raw(), name_.c_str(), params_.size(), params_.Pointers(), nullptr,
                          nullptr, 0);
  }
  Status s = conn_->Check(
      res_, name_.empty() ? "running '" + sql_.substr(0, 120) + "'" : "running statement " + name_);
  if (!s) {
    PQclear(res_);
    res_ = nullptr;
  }
  return s;
}

void IgnoreNotice(void*, const char*) {}

class PostgresDatabase final : public sql::Database {
 public:
  explicit PostgresDatabase(PostgresOptions options) : options_(std::move(options)) {
    auto add = [&](const std::string& k, const std::string& v) {
      if (v.empty()) return;
      keys_.push_back(k);
      values_.push_back(v);
    };
    add("host", options_.host);
    add("port", std::to_string(options_.port));
    add("user", options_.user);
    add("password", options_.password);
    add("dbname", options_.dbname);
    if (!options_.params.contains("connect_timeout")) add("connect_timeout", "5");
    if (!options_.params.contains("application_name")) add("application_name", "cairn");
    for (const auto& [k, v] : options_.params) add(k, v);
    for (const auto& k : keys_) key_ptrs_.push_back(k.c_str());
    for (const auto& v : values_) value_ptrs_.push_back(v.c_str());
    key_ptrs_.push_back(nullptr);
    value_ptrs_.push_back(nullptr);
  }

  ~PostgresDatabase() override {
    if (analyzer_.joinable()) {
      {
        std::lock_guard lock(analyzer_mu_);
        analyzer_stop_ = true;
      }
      analyzer_cv_.notify_one();
      analyzer_.join();
    }
    idle_.clear();
  }

  Dialect dialect() const override { return Dialect::kPostgres; }
  Result<ConnectionLease> Writer() override {
    wrote_.store(true, std::memory_order_relaxed);
    return Acquire();
  }
  Result<ConnectionLease> Reader() override { return Acquire(); }

  // Planner statistics. Autovacuum analyzes a table about a minute after it
  // changed enough; until then a table that grew from nothing in a burst (a
  // sweep creating thousands of runs) has no statistics, and the planner,
  // believing it holds a row or two, picks nested loops that are quadratic in
  // the real size (seconds at 10k runs). This thread closes that window: every
  // couple of seconds after writes it analyzes the store's tables that changed
  // by more than 10% since their last analysis. ANALYZE samples a bounded
  // number of rows and does not block reads or writes.
  void StartAnalyzer() {
    analyzer_ = std::thread([this] { AnalyzerLoop(); });
  }

  Result<std::unique_ptr<PgConnection>> Connect() {
    PGconn* c = PQconnectdbParams(key_ptrs_.data(), value_ptrs_.data(), 0);
    if (c == nullptr || PQstatus(c) != CONNECTION_OK) {
      std::string msg = c != nullptr ? OneLine(PQerrorMessage(c)) : "out of memory";
      PQfinish(c);
      return sql::StoreUnavailable("cannot connect to PostgreSQL at " + options_.host + ":" +
                                   std::to_string(options_.port) + ": " + msg);
    }
    PQsetNoticeProcessor(c, IgnoreNotice, nullptr);
    return std::make_unique<PgConnection>(c);
  }

  // The connection made while opening, to prove the server is reachable.
  void AddIdle(std::unique_ptr<PgConnection> c) {
    std::lock_guard lock(mu_);
    ++open_;
    idle_.push_back(std::move(c));
  }

 protected:
  void Release(sql::Connection* conn, void* /*token*/) override {
    std::unique_ptr<PgConnection> c(static_cast<PgConnection*>(conn));
    if (!c->broken() && c->in_txn()) c->Rollback();  // an operation that returned early
    std::vector<std::unique_ptr<PgConnection>> doomed;
    {
      std::lock_guard lock(mu_);
      if (c->broken() || c->in_txn()) {
        // The server probably went away for everyone: drop the idle ones
        // too, so the next operations reconnect instead of failing one by one.
        --open_;
        open_ -= static_cast<int>(idle_.size());
        doomed.swap(idle_);
        doomed.push_back(std::move(c));
      } else {
        idle_.push_back(std::move(c));
      }
    }
    cv_.notify_all();
    // `doomed` closes its sockets here, outside the lock.
  }

 private:
  Result<ConnectionLease> Acquire() {
    std::unique_lock lock(mu_);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      while (!idle_.empty()) {
        std::unique_ptr<PgConnection> c = std::move(idle_.back());
        idle_.pop_back();
        if (c->LooksHealthy()) return ConnectionLease(this, c.release(), nullptr);
        --open_;
        lock.unlock();
        c.reset();
        lock.lock();
      }
      if (open_ < options_.max_connections) {
        ++open_;
        lock.unlock();
        auto c = Connect();
        if (!c) {
          lock.lock();
          --open_;
          cv_.notify_one();
          return std::unexpected(c.error());
        }
        return ConnectionLease(this, c->release(), nullptr);
      }
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
        return sql::StoreUnavailable("all " + std::to_string(options_.max_connections) +
                                     " PostgreSQL connections are busy");
      }
    }
  }

  void AnalyzerLoop() {
    // Constant statements only: table names never come from the database.
    static constexpr std::string_view kTables[] = {
        "runs",        "latest_metrics",  "params",   "tags",   "metrics",
        "experiments", "experiment_tags", "datasets", "inputs", "input_tags"};
    std::unique_ptr<PgConnection> conn;
    std::unique_lock lock(analyzer_mu_);
    for (;;) {
      analyzer_cv_.wait_for(lock, std::chrono::seconds(2), [&] { return analyzer_stop_; });
      if (analyzer_stop_) return;
      if (!wrote_.exchange(false, std::memory_order_relaxed)) continue;
      lock.unlock();
      if (conn == nullptr || conn->broken() || !conn->LooksHealthy()) {
        auto c = Connect();
        conn = c ? std::move(*c) : nullptr;
      }
      if (conn != nullptr) {
        std::vector<std::string> stale;
        auto q = conn->Prepare(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
            "AND n_mod_since_analyze > 200 + 0.1 * n_live_tup",
            /*cached=*/false);
        if (q) {
          for (auto row = (*q)->Next(); row && *row; row = (*q)->Next()) {
            stale.emplace_back((*q)->Text(0));
          }
        }
        for (std::string_view table : kTables) {
          if (std::find(stale.begin(), stale.end(), table) == stale.end()) continue;
          (void)conn->ExecScript("ANALYZE " + std::string(table));
        }
      }
      lock.lock();
    }
  }

  PostgresOptions options_;
  std::vector<std::string> keys_, values_;
  std::vector<const char*> key_ptrs_, value_ptrs_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  int open_ = 0;  // idle + leased

  std::atomic<bool> wrote_{false};
  std::mutex analyzer_mu_;
  std::condition_variable analyzer_cv_;
  bool analyzer_stop_ = false;
  std::thread analyzer_;  // started last, joined first
};

}  // namespace

Result<std::unique_ptr<sql::Database>> OpenPostgresDatabase(const PostgresOptions& options) {
  if (options.max_connections < 1) return InvalidArgument("PostgreSQL pool size must be >= 1");
  auto db = std::make_unique<PostgresDatabase>(options);
  CAIRN_ASSIGN_OR_RETURN(auto first, db->Connect());
  db->AddIdle(std::move(first));
  db->StartAnalyzer();
  return std::unique_ptr<sql::Database>(std::move(db));
}

}  // namespace cairn::store::postgres
