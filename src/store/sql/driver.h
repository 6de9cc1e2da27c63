#pragma once
// The small SQL driver interface the metadata store is written against. One
// implementation per engine: store/sqlite/ and store/postgres/. The store's
// SQL is written once, with '?' placeholders; a driver translates what its
// engine needs (PostgreSQL numbers them $1..$n) and the few dialect
// differences are asked of `Dialect` (see dialect.h).
//
// Ownership: a Database owns its connections. A ConnectionLease borrows one
// for the duration of one store operation and gives it back when destroyed.
// A Statement borrows its connection and must not outlive the lease.
//
// Thread safety: Database is thread-safe. A leased Connection (and its
// statements) is used by one thread at a time.
//
// Errors (as cairn::Error): kAlreadyExists for unique/primary-key
// violations, kUnavailable when the engine cannot be reached or is busy
// (message begins "metadata store unavailable: "), kInternal otherwise.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"

namespace cairn::store::sql {

enum class Dialect { kSqlite, kPostgres };

// A non-owning bind value. Text and blob views must stay valid until the
// statement is executed (the store binds views of strings it owns for the
// whole call). A blob is bytes (NUL included): SQLite BLOB, PostgreSQL BYTEA.
struct Value {
  enum class Kind : uint8_t { kNull, kInt, kDouble, kText, kBlob };
  Kind kind = Kind::kNull;
  int64_t i = 0;
  double d = 0;
  std::string_view s;

  static Value Null() { return {}; }
  static Value Int(int64_t v) { return {Kind::kInt, v, 0, {}}; }
  static Value Double(double v) { return {Kind::kDouble, 0, v, {}}; }
  static Value Text(std::string_view v) { return {Kind::kText, 0, 0, v}; }
  static Value Blob(std::string_view v) { return {Kind::kBlob, 0, 0, v}; }
};

// A prepared statement with positional binds (0-based, in the order of the
// '?' placeholders) and a forward-only row cursor.
class Statement {
 public:
  virtual ~Statement() = default;
  virtual void Bind(int index, const Value& v) = 0;
  // Executes on the first call; advances to the next row. True while a row
  // is available.
  virtual Result<bool> Next() = 0;
  // Executes to completion; returns the number of rows changed.
  virtual Result<int64_t> Exec() = 0;
  // Column access for the current row (0-based).
  virtual bool IsNull(int col) const = 0;
  virtual int64_t Int(int col) const = 0;
  virtual double Double(int col) const = 0;
  virtual std::string_view Text(int col) const = 0;
  // The bytes of a blob column. The view is valid until the next row; it
  // may point into `scratch` (PostgreSQL decodes its text form there).
  virtual std::string_view Blob(int col, std::string& scratch) const = 0;
  // Clears the cursor and the binds so the statement can be run again.
  virtual void Reset() = 0;

  // Convenience: binds values 0..n-1.
  template <typename... V>
  void BindAll(V&&... v) {
    int i = 0;
    (Bind(i++, ToValue(std::forward<V>(v))), ...);
  }
  std::string TextCopy(int col) const { return std::string(Text(col)); }

  static Value ToValue(const Value& v) { return v; }
  static Value ToValue(std::string_view v) { return Value::Text(v); }
  static Value ToValue(const std::string& v) { return Value::Text(v); }
  // A temporary string would dangle before the statement runs.
  static Value ToValue(std::string&& v) = delete;
  static Value ToValue(const char* v) { return Value::Text(v); }
  static Value ToValue(int64_t v) { return Value::Int(v); }
  static Value ToValue(int v) { return Value::Int(v); }
  static Value ToValue(double v) { return Value::Double(v); }
};

// RAII handle for a statement: resets it on destruction (for SQLite this
// also ends the implicit read the statement holds). Owns it when uncached.
class StatementRef {
 public:
  StatementRef(Statement* s, std::unique_ptr<Statement> owned) : s_(s), owned_(std::move(owned)) {}
  StatementRef(StatementRef&& o) noexcept
      : s_(std::exchange(o.s_, nullptr)), owned_(std::move(o.owned_)) {}
  StatementRef& operator=(StatementRef&&) = delete;
  StatementRef(const StatementRef&) = delete;
  ~StatementRef() {
    if (s_ != nullptr) s_->Reset();
  }
  Statement* operator->() const { return s_; }
  Statement& operator*() const { return *s_; }

 private:
  Statement* s_;
  std::unique_ptr<Statement> owned_;
};

// A multi-row insert: `head` is "INSERT INTO t (a, b, c) VALUES", each row
// has `columns` placeholders, `tail` follows the rows (for example an
// "ON CONFLICT ..." clause).
struct BulkInsert {
  std::string_view head;
  int columns = 0;
  std::string_view tail;
};

enum class TxnMode {
  kWrite,     // SQLite: BEGIN IMMEDIATE; PostgreSQL: BEGIN (read committed)
  kReadOnly,  // a consistent snapshot for several reads
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  // Runs one or more statements without binds (DDL).
  virtual Status ExecScript(std::string_view sql) = 0;
  // A statement for `sql`. Cached statements are prepared once per
  // connection and reused; use cached=false for SQL whose text varies with
  // the request (search queries), so the cache stays bounded.
  virtual Result<StatementRef> Prepare(std::string_view sql, bool cached = true) = 0;
  virtual Status Begin(TxnMode mode) = 0;
  virtual Status Commit() = 0;
  // Never fails from the caller's point of view; a failure marks the
  // connection broken so the pool discards it.
  virtual void Rollback() = 0;
  // Inserts `values.size() / spec.columns` rows, in as few round trips as
  // the engine allows (PostgreSQL: chunked multi-row INSERTs; SQLite: one
  // cached single-row statement stepped per row).
  virtual Status InsertRows(const BulkInsert& spec, std::span<const Value> values) = 0;
  // True once the connection is known to be unusable (lost server).
  virtual bool broken() const = 0;
};

class Database;

// Borrowed connection; returns it to its Database when destroyed.
class ConnectionLease {
 public:
  ConnectionLease(Database* db, Connection* conn, void* token)
      : db_(db), conn_(conn), token_(token) {}
  ConnectionLease(ConnectionLease&& o) noexcept
      : db_(std::exchange(o.db_, nullptr)), conn_(o.conn_), token_(o.token_) {}
  ConnectionLease& operator=(ConnectionLease&&) = delete;
  ConnectionLease(const ConnectionLease&) = delete;
  inline ~ConnectionLease();
  Connection& operator*() const { return *conn_; }
  Connection* operator->() const { return conn_; }

 private:
  Database* db_;
  Connection* conn_;
  void* token_;
};

class Database {
 public:
  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;
  // A connection for a write transaction. SQLite: the single writer
  // connection (callers queue on a mutex). PostgreSQL: any pooled one.
  virtual Result<ConnectionLease> Writer() = 0;
  // A connection for reads; never waits for the writer.
  virtual Result<ConnectionLease> Reader() = 0;
  // Runs `body` in a write transaction; returns its error, or success once
  // the transaction holding its writes has committed. An engine may run the
  // bodies of concurrent callers in one shared transaction (group commit:
  // SQLite, see sqlite_database.h), each in its own savepoint, so a failing
  // body undoes only its own writes and its error reaches only its caller.
  // The body must not begin, commit or roll back, and may run on another
  // caller's thread while its own caller waits. Default: a transaction of
  // its own on Writer().
  virtual Status RunGroupedWrite(const std::function<Status(Connection&)>& body);

 protected:
  friend class ConnectionLease;
  virtual void Release(Connection* conn, void* token) = 0;
};

inline ConnectionLease::~ConnectionLease() {
  if (db_ != nullptr) db_->Release(conn_, token_);
}

inline Status Database::RunGroupedWrite(const std::function<Status(Connection&)>& body) {
  CAIRN_ASSIGN_OR_RETURN(auto conn, Writer());
  CAIRN_RETURN_IF_ERROR(conn->Begin(TxnMode::kWrite));
  Status st = body(*conn);
  if (!st) {
    conn->Rollback();
    return st;
  }
  return conn->Commit();
}

// "metadata store unavailable: <detail>" as kUnavailable.
inline std::unexpected<Error> StoreUnavailable(std::string_view detail) {
  return Unavailable("metadata store unavailable: " + std::string(detail));
}

}  // namespace cairn::store::sql
