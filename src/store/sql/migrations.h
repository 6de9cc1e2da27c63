#pragma once
// Numbered schema migrations of the metadata store. The applied versions are
// rows of `schema_migrations`. Each migration runs in its own transaction
// together with the row that records it, so a crash leaves the schema at a
// whole version. Concurrent Migrate() calls from several processes are safe:
// SQLite serializes them with BEGIN IMMEDIATE; PostgreSQL with a
// transaction-scoped advisory lock keyed on the current schema.
//
// To change the schema, append a migration with the next version; never edit
// one that has shipped.

#include <cstdint>
#include <span>
#include <string_view>

#include "core/error.h"
#include "store/sql/driver.h"

namespace cairn::store::sql {

struct Migration {
  int version;
  std::string_view description;
  // Portable DDL (see RewriteDdl for its @TOKENS@); statements separated by ';'.
  std::string_view ddl;
  // Optional data step run after the DDL in the same transaction.
  Status (*seed)(Connection& conn, int64_t now_ms) = nullptr;
};

std::span<const Migration> AllMigrations();

// Applies every pending migration; returns the schema version after.
Result<int> ApplyMigrations(Database& db, int64_t now_ms);

// The highest applied version; 0 for an empty database.
Result<int> CurrentSchemaVersion(Database& db);

}  // namespace cairn::store::sql
