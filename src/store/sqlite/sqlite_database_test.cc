#include "store/sqlite/sqlite_database.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "store/sql/txn.h"

namespace cairn::store::sqlite {
namespace {

namespace fs = std::filesystem;
using sql::Connection;

class SqliteDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cairn-sqlite-db-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<sql::Database> Open(const SqliteOptions& options = {}) {
    auto db = OpenSqliteDatabase((dir_ / "t.db").string(), options);
    EXPECT_TRUE(db.has_value()) << db.error().message();
    auto st = sql::WithWriteTxn(**db, [](Connection& c) -> Status {
      return c.ExecScript("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB)");
    });
    EXPECT_TRUE(st.has_value());
    return std::move(*db);
  }

  static int64_t Count(sql::Database& db, std::string_view where = "1 = 1") {
    auto n = sql::WithReadTxn(db, [&](Connection& c) -> Result<int64_t> {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT count(*) FROM t WHERE " + std::string(where),
                                               /*cached=*/false));
      CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
      if (!row) return Internal("no row");
      return s->Int(0);
    });
    EXPECT_TRUE(n.has_value());
    return n.value_or(-1);
  }

  static Status Insert(Connection& c, int64_t k, int64_t blob_bytes) {
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("INSERT INTO t (k, v) VALUES (?, zeroblob(?))"));
    s->BindAll(k, blob_bytes);
    CAIRN_RETURN_IF_ERROR(s->Exec());
    return {};
  }

  int64_t WalBytes() const {
    std::error_code ec;
    auto n = fs::file_size(dir_ / "t.db-wal", ec);
    return ec ? 0 : static_cast<int64_t>(n);
  }
  int64_t DbBytes() const { return static_cast<int64_t>(fs::file_size(dir_ / "t.db")); }

  fs::path dir_;
};

// Concurrent callers share transactions: some bodies run on another caller's
// thread (the leader's). Failing bodies write nothing; every succeeding body
// is visible to a fresh reader as soon as its call returns (acknowledged
// only after the commit).
TEST_F(SqliteDatabaseTest, GroupedWritesShareATransactionAndFailAlone) {
  auto db = Open();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::atomic<int> ran_elsewhere{0};
  std::atomic<int> not_visible_after_return{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int64_t k = t * 1000 + i;
        const bool fail = i % 5 == 2;
        const auto caller = std::this_thread::get_id();
        Status st = db->RunGroupedWrite([&](Connection& c) -> Status {
          if (std::this_thread::get_id() != caller) ran_elsewhere.fetch_add(1);
          CAIRN_RETURN_IF_ERROR(Insert(c, k, 16));
          // Holds the writer a little so that other callers queue.
          std::this_thread::sleep_for(std::chrono::microseconds(200));
          if (fail) return InvalidArgument("batch " + std::to_string(k) + " is invalid");
          return {};
        });
        if (fail) {
          EXPECT_FALSE(st.has_value());
          if (!st) {
            EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
            EXPECT_EQ(st.error().message(), "batch " + std::to_string(k) + " is invalid");
          }
        } else {
          EXPECT_TRUE(st.has_value()) << st.error().message();
          if (Count(*db, "k = " + std::to_string(k)) != 1) not_visible_after_return.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  const int failing_per_thread = kPerThread / 5;
  EXPECT_EQ(Count(*db), kThreads * (kPerThread - failing_per_thread));
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(Count(*db, "k = " + std::to_string(t * 1000 + 2)), 0);  // a failing one
  }
  EXPECT_EQ(not_visible_after_return.load(), 0);
  EXPECT_GT(ran_elsewhere.load(), 0) << "no two writes ever shared a transaction";
}

// A body's error that is a constraint violation rolls back that body's
// earlier statements too (its savepoint), not its neighbours'.
TEST_F(SqliteDatabaseTest, GroupedWriteRollsBackItsOwnEarlierStatements) {
  auto db = Open();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        const int64_t k = t * 1000 + i;
        Status st = db->RunGroupedWrite([&](Connection& c) -> Status {
          CAIRN_RETURN_IF_ERROR(Insert(c, k, 8));
          std::this_thread::sleep_for(std::chrono::microseconds(100));
          // Every third body then collides with the key it just wrote.
          if (i % 3 == 0) CAIRN_RETURN_IF_ERROR(Insert(c, k, 8));
          return {};
        });
        if (!st) {
          failures.fetch_add(1);
          EXPECT_EQ(st.error().code(), ErrorCode::kAlreadyExists);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 6 * 10);
  EXPECT_EQ(Count(*db), 6 * 20);
  EXPECT_EQ(Count(*db, "k % 1000 % 3 = 0"), 0);
}

// Under constant writes with readers active, the background checkpointer
// rewinds the WAL (a RESTART checkpoint once it passes wal_restart_pages),
// so the WAL file stays bounded instead of growing with everything written.
TEST_F(SqliteDatabaseTest, WalStaysBoundedUnderConstantWrites) {
  SqliteOptions options;
  options.wal_checkpoint_pages = 64;
  options.wal_restart_pages = 256;  // 1 MiB of 4 KiB pages
  auto db = Open(options);
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop.load()) Count(*db);
  });
  const int64_t kRowBytes = 8 * 1024;
  const int kRows = 9000;  // about 72 MiB written, 72x the restart size
  int64_t max_wal = 0;
  for (int i = 0; i < kRows; ++i) {
    auto st = db->RunGroupedWrite([&](Connection& c) { return Insert(c, i, kRowBytes); });
    ASSERT_TRUE(st.has_value()) << st.error().message();
    if (i % 50 == 0) max_wal = std::max(max_wal, WalBytes());
  }
  stop.store(true);
  reader.join();
  EXPECT_EQ(Count(*db), kRows);
  // The writer rewinds the WAL itself at twice the restart size when the
  // checkpointer runs late (a loaded machine), so the bound holds under any
  // load: 2 MiB plus one group commit. Without the RESTART checkpoints the
  // WAL holds everything written (72 MiB).
  EXPECT_LT(max_wal, 4 * 1024 * 1024) << "the WAL grew with the data written";
  EXPECT_GT(DbBytes(), kRows * kRowBytes / 2);  // most rows reached the database file
}

// A commit too small to ask for a checkpoint is still checkpointed (and the
// WAL synced first) within wal_sync_interval: its pages reach the database
// file without further writes.
TEST_F(SqliteDatabaseTest, SmallCommitIsCheckpointedWithinTheSyncInterval) {
  SqliteOptions options;
  options.wal_sync_interval = std::chrono::milliseconds(100);
  auto db = Open(options);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // table creation settles
  const int64_t before = DbBytes();
  auto st = db->RunGroupedWrite([&](Connection& c) { return Insert(c, 1, 64 * 1024); });
  ASSERT_TRUE(st.has_value());
  int64_t after = before;
  for (int i = 0; i < 150 && after < before + 64 * 1024; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    after = DbBytes();
  }
  EXPECT_GE(after, before + 64 * 1024) << "the commit stayed in the WAL only";
}

}  // namespace
}  // namespace cairn::store::sqlite
