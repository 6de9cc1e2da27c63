#pragma once
// Migration 6: per-experiment key tables for the web UI's column discovery
// (MetadataStore::GetExperimentColumns, docs/ui.md "Columns"). Kept in a
// header so the constexpr migration table (migrations.cc) can use it.
//
// Design notes:
// - Why: the distinct keys of an experiment's runs, read by joining runs
//   with metric_series, params and tags, took 2.2-3.0 s at 100k runs x 20
//   metric keys (SQLite, this machine; the issue's budget for the whole
//   first page is 1 s). From these tables it is one index range per kind.
// - Kept on write by triggers, so every writer (log-batch, set-tag, create
//   run) maintains them in its own transaction without a line in the hot
//   path, and only when a key is new to a run: metric_series gets one row
//   per (run, key), and params/tags rows are inserted once per (run, key)
//   (a tag overwrite is an UPDATE, which does not fire). SQLite: a row
//   trigger with INSERT ... ON CONFLICT DO NOTHING. PostgreSQL: a statement
//   trigger over the inserted rows (a transition table), inserting the keys
//   sorted, so two writers adding the same new keys in different orders
//   take their locks in the same order and cannot deadlock.
// - Keys are never removed (a deleted run or tag keeps its column: the UI
//   shows it empty), as metric_series rows are never deleted.
// - The migration backfills the tables from existing rows.
#include <string_view>

#include "core/error.h"
#include "store/sql/driver.h"

namespace cairn::store::sql {

inline constexpr std::string_view kColumnKeysSchemaV6 = R"sql(
CREATE TABLE experiment_metric_keys (
  experiment_id BIGINT NOT NULL,
  key @TEXT@ NOT NULL,
  PRIMARY KEY (experiment_id, key)
) @WITHOUT_ROWID@;
CREATE TABLE experiment_param_keys (
  experiment_id BIGINT NOT NULL,
  key @TEXT@ NOT NULL,
  PRIMARY KEY (experiment_id, key)
) @WITHOUT_ROWID@;
CREATE TABLE experiment_tag_keys (
  experiment_id BIGINT NOT NULL,
  key @TEXT@ NOT NULL,
  PRIMARY KEY (experiment_id, key)
) @WITHOUT_ROWID@;
)sql";

// Migration 6's data step: the dialect's triggers, then the backfill
// (sql_ui_queries.cc).
Status InstallColumnKeyTriggers(Connection& conn, int64_t now_ms);

}  // namespace cairn::store::sql
