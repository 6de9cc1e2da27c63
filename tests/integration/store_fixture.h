#pragma once
// Helpers shared by the store contract suites (store_contract_test.cc,
// registry_store_contract_test.cc, logged_model_store_contract_test.cc):
// each test gets a fresh database on every backend.
//
//   sqlite    a fresh database file in a temporary folder per test
//   postgres  a fresh schema per test (search_path) in the database at
//             $CAIRN_TEST_POSTGRES_URI; skipped when unset, unless
//             CAIRN_REQUIRE_POSTGRES=1, which turns "unset or unreachable"
//             into a failure.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "store/sql/dialect.h"
#include "store/sql/driver.h"
#include "store/sql/migrations.h"

namespace cairn::store::test_db {

inline std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

inline bool PostgresRequired() { return Env("CAIRN_REQUIRE_POSTGRES") == "1"; }

inline std::string RandomSuffix() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
         std::to_string(rd() % 1000000);
}

// Runs one SQL command on the PostgreSQL server at `uri`; "" on success.
inline std::string PgExec(const std::string& uri, const std::string& sql) {
  PGconn* c = PQconnectdb(uri.c_str());
  std::string err;
  if (PQstatus(c) != CONNECTION_OK) {
    err = PQerrorMessage(c);
  } else {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      err = PQresultErrorMessage(r);
    }
    PQclear(r);
  }
  PQfinish(c);
  return err;
}

inline std::string WithQuery(const std::string& uri, const std::string& kv) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + kv;
}

// Brings an empty database to schema `version` the way that release did:
// each migration up to it, recorded in schema_migrations (for the upgrade
// tests, which then call Migrate()). "" on success, else what failed.
inline std::string MigrateUpTo(sql::Connection& conn, int version) {
  if (auto s = conn.ExecScript("CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY "
                               "KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)");
      !s) {
    return s.error().ToString();
  }
  for (const sql::Migration& m : sql::AllMigrations()) {
    if (m.version > version) continue;
    if (auto s = conn.ExecScript(sql::RewriteDdl(conn.dialect(), m.ddl)); !s) {
      return s.error().ToString();
    }
    if (m.seed != nullptr) {
      if (auto s = m.seed(conn, 1000); !s) return s.error().ToString();
    }
    auto s = conn.Prepare(
        "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)", false);
    if (!s) return s.error().ToString();
    (*s)->BindAll(m.version, m.description, static_cast<int64_t>(1000));
    if (auto done = (*s)->Exec(); !done) return done.error().ToString();
  }
  return "";
}

// A fresh database for one test on backend "sqlite" or "postgres". Call
// Create() from SetUp (it may FAIL or SKIP the test, hence the gtest
// macros), Drop() from TearDown after closing every store on it.
struct FreshDatabase {
  std::filesystem::path dir;  // sqlite: the temporary folder
  std::string schema;         // postgres: the schema
  std::string pg_base;        // postgres: $CAIRN_TEST_POSTGRES_URI
  std::string uri;            // what OpenMetadataStore takes

  void Create(const std::string& backend) {
    if (backend == "sqlite") {
      dir = std::filesystem::temp_directory_path() / ("cairn_store_test_" + RandomSuffix());
      // A nested folder that does not exist yet: the store creates it.
      uri = "sqlite://" + (dir / "nested" / "cairn.db").string();
      return;
    }
    std::string base = Env("CAIRN_TEST_POSTGRES_URI");
    if (base.empty()) {
      if (PostgresRequired())
        FAIL() << "CAIRN_REQUIRE_POSTGRES=1 but CAIRN_TEST_POSTGRES_URI unset";
      GTEST_SKIP() << "CAIRN_TEST_POSTGRES_URI not set";
    }
    schema = "cairn_t_" + RandomSuffix();
    std::string err = PgExec(base, "CREATE SCHEMA " + schema);
    if (!err.empty()) {
      schema.clear();
      if (PostgresRequired()) FAIL() << "PostgreSQL unreachable at " << base << ": " << err;
      GTEST_SKIP() << "PostgreSQL unreachable at " << base << ": " << err;
    }
    pg_base = base;
    uri = WithQuery(base, "options=-csearch_path%3D" + schema);
  }

  void Drop() {
    if (!dir.empty()) std::filesystem::remove_all(dir);
    if (!schema.empty()) PgExec(pg_base, "DROP SCHEMA " + schema + " CASCADE");
  }
};

}  // namespace cairn::store::test_db
