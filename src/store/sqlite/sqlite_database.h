#pragma once
// SQLite driver for the metadata store (see store/sql/driver.h).
//
// One writer connection, serialized by a mutex (SQLite allows one writer at a
// time anyway; queueing in-process is cheaper than busy-waiting), plus a
// bounded pool of reader connections. In WAL mode readers never wait for the
// writer. Every connection runs with journal_mode=WAL, synchronous=NORMAL,
// a busy timeout (other processes), foreign_keys=ON and
// case_sensitive_like=ON (LIKE is case-sensitive, as MLflow's search expects),
// and caches its prepared statements. WAL checkpoints run on a background
// thread with its own connection, so commits never wait for their fsyncs.
//
// ":memory:" opens a private in-memory database on a single connection that
// serves both readers and the writer (separate connections would see separate
// databases).
//
// Thread safety: the Database is thread-safe; a leased connection belongs to
// one thread until released.

#include <memory>
#include <string>

#include "core/error.h"
#include "store/sql/driver.h"

namespace cairn::store::sqlite {

struct SqliteOptions {
  int max_readers = 4;
  int busy_timeout_ms = 10000;
};

// Opens (creating the file and its folder if missing) the database at `path`
// or, for ":memory:", a private in-memory one. kUnavailable when the file
// cannot be opened or created.
Result<std::unique_ptr<sql::Database>> OpenSqliteDatabase(const std::string& path,
                                                          const SqliteOptions& options = {});

}  // namespace cairn::store::sqlite
