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
// thread with its own connection (wal_autocheckpoint=0 on the writer), so
// commits never wait for their fsyncs, and the WAL stays bounded under
// constant load.
//
// Group commit: RunGroupedWrite runs the bodies of concurrent callers in one
// transaction, each in its own savepoint (see driver.h).
//
// What an acknowledged write means (synchronous=NORMAL in WAL mode): once a
// commit returns, the write survives a crash or SIGKILL of this process (the
// WAL is in the OS page cache). It survives a crash of the OS or a power
// loss once the WAL has been synced, which the background thread does at the
// start of each checkpoint, at the latest wal_sync_interval (1 s) after the
// commit. That window is what NORMAL trades for not syncing every commit.
//
// ":memory:" opens a private in-memory database on a single connection that
// serves both readers and the writer (separate connections would see separate
// databases).
//
// Thread safety: the Database is thread-safe; a leased connection belongs to
// one thread until released.

#include <chrono>
#include <memory>
#include <string>

#include "core/error.h"
#include "store/sql/driver.h"

namespace cairn::store::sqlite {

struct SqliteOptions {
  int max_readers = 4;
  int busy_timeout_ms = 10000;
  // WAL upkeep on the background thread: a PASSIVE checkpoint once the WAL
  // holds wal_checkpoint_pages (16 MiB of 4 KiB pages); past
  // wal_restart_pages (64 MiB, journal_size_limit) a RESTART one with the
  // writers paused, which bounds the WAL under constant load (at twice
  // wal_restart_pages the writer does it itself, should this thread run
  // late); and, after any
  // commit, a checkpoint (which syncs the WAL) within wal_sync_interval.
  // Fewer, larger checkpoints copy a page rewritten by many commits once:
  // 4096/16384 beat 1000/8192 in each of 3 alternating log-batch rounds
  // (bench/RESULTS.md, 2026-11-27).
  int wal_checkpoint_pages = 4096;
  int wal_restart_pages = 16384;
  std::chrono::milliseconds wal_sync_interval{1000};
};

// Opens (creating the file and its folder if missing) the database at `path`
// or, for ":memory:", a private in-memory one. kUnavailable when the file
// cannot be opened or created.
Result<std::unique_ptr<sql::Database>> OpenSqliteDatabase(const std::string& path,
                                                          const SqliteOptions& options = {});

}  // namespace cairn::store::sqlite
