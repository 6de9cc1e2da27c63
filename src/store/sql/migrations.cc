#include "store/sql/migrations.h"

#include <limits>
#include <string>
#include <vector>

#include "store/sql/column_keys_schema.h"
#include "store/sql/dialect.h"
#include "store/sql/logged_model_schema.h"
#include "store/sql/metric_chunks.h"
#include "store/sql/monitor_schema.h"
#include "store/sql/pipeline_schedule_schema.h"
#include "store/sql/registry_schema.h"

namespace cairn::store::sql {
namespace {

// Design notes for migration 1:
// - Experiment ids are integers the engine assigns; the Default experiment
//   is inserted with the explicit id 0, so the first created one gets 1.
// - metrics and latest_metrics carry no foreign key to runs: they are the hot
//   path (a per-row parent lookup would double the cost of a batch) and
//   LogBatch checks the run inside the same transaction; runs are never
//   deleted physically.
// - A metric's history is keyed by an integer series id: metric_series
//   holds one row per (run_id, key), and each metrics row carries only the
//   id. Comparing one integer instead of a 32-char run id and a key per
//   B-tree step, and smaller rows, make inserts 1.83x faster in raw SQLite
//   (bench/RESULTS.md, layout_series_pk) and log-batch 1.4x end to end.
//   Series rows are never deleted.
// - NaN is stored as value 0 with is_nan = 1 (SQLite turns a bound NaN into
//   NULL); +-infinity are stored as themselves.
// - latest_metrics(key, is_nan, value, run_id) lets a search that filters
//   and orders on one metric walk a single index range in order.
// - Text compares by bytes on both engines (@TEXT@ is COLLATE "C" on
//   PostgreSQL): the same order and LIKE/ILIKE results as SQLite, and
//   cheaper comparisons in the hot indexes than a locale collation.
// - runs(experiment_id, lifecycle_stage, start_time DESC, run_id) matches
//   the default search order, so a page is an index range scan.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE experiments (
  experiment_id @ID_PK@,
  name @TEXT@ NOT NULL,
  artifact_location @TEXT@ NOT NULL DEFAULT '',
  lifecycle_stage @TEXT@ NOT NULL DEFAULT 'active',
  creation_time BIGINT NOT NULL DEFAULT 0,
  last_update_time BIGINT NOT NULL DEFAULT 0,
  CONSTRAINT experiments_name_key UNIQUE (name)
);
CREATE TABLE experiment_tags (
  experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
  key @TEXT@ NOT NULL,
  value @TEXT@ NOT NULL,
  PRIMARY KEY (experiment_id, key)
) @WITHOUT_ROWID@;
CREATE TABLE runs (
  run_id @TEXT@ NOT NULL PRIMARY KEY,
  experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
  run_name @TEXT@ NOT NULL DEFAULT '',
  user_id @TEXT@ NOT NULL DEFAULT '',
  status @TEXT@ NOT NULL DEFAULT 'RUNNING',
  start_time BIGINT NOT NULL DEFAULT 0,
  end_time BIGINT,
  artifact_uri @TEXT@ NOT NULL DEFAULT '',
  lifecycle_stage @TEXT@ NOT NULL DEFAULT 'active',
  deleted_time BIGINT
) @WITHOUT_ROWID@;
CREATE INDEX runs_by_experiment ON runs (experiment_id, lifecycle_stage, start_time DESC, run_id);
CREATE TABLE params (
  run_id @TEXT@ NOT NULL REFERENCES runs (run_id),
  key @TEXT@ NOT NULL,
  value @TEXT@ NOT NULL,
  PRIMARY KEY (run_id, key)
) @WITHOUT_ROWID@;
CREATE TABLE tags (
  run_id @TEXT@ NOT NULL REFERENCES runs (run_id),
  key @TEXT@ NOT NULL,
  value @TEXT@ NOT NULL,
  PRIMARY KEY (run_id, key)
) @WITHOUT_ROWID@;
CREATE TABLE metric_series (
  series_id @ID_PK@,
  run_id @TEXT@ NOT NULL,
  key @TEXT@ NOT NULL,
  CONSTRAINT metric_series_key UNIQUE (run_id, key)
);
CREATE TABLE metrics (
  series_id BIGINT NOT NULL,
  step BIGINT NOT NULL,
  timestamp_ms BIGINT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  is_nan SMALLINT NOT NULL,
  PRIMARY KEY (series_id, step, timestamp_ms, value, is_nan)
) @WITHOUT_ROWID@;
CREATE TABLE latest_metrics (
  run_id @TEXT@ NOT NULL,
  key @TEXT@ NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  is_nan SMALLINT NOT NULL,
  timestamp_ms BIGINT NOT NULL,
  step BIGINT NOT NULL,
  PRIMARY KEY (run_id, key)
) @WITHOUT_ROWID@;
CREATE INDEX latest_metrics_by_key_value ON latest_metrics (key, is_nan, value, run_id);
CREATE TABLE datasets (
  dataset_id @ID_PK@,
  experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
  name @TEXT@ NOT NULL,
  digest @TEXT@ NOT NULL,
  source_type @TEXT@ NOT NULL DEFAULT '',
  source @TEXT@ NOT NULL DEFAULT '',
  dataset_schema @TEXT@ NOT NULL DEFAULT '',
  profile @TEXT@ NOT NULL DEFAULT '',
  CONSTRAINT datasets_key UNIQUE (experiment_id, name, digest)
);
CREATE TABLE inputs (
  run_id @TEXT@ NOT NULL REFERENCES runs (run_id),
  dataset_id BIGINT NOT NULL REFERENCES datasets (dataset_id),
  PRIMARY KEY (run_id, dataset_id)
) @WITHOUT_ROWID@;
CREATE TABLE input_tags (
  run_id @TEXT@ NOT NULL,
  dataset_id BIGINT NOT NULL,
  key @TEXT@ NOT NULL,
  value @TEXT@ NOT NULL,
  PRIMARY KEY (run_id, dataset_id, key),
  FOREIGN KEY (run_id, dataset_id) REFERENCES inputs (run_id, dataset_id)
) @WITHOUT_ROWID@;
)sql";

// Migration 7: metric history in chunks (store/sql/metric_chunks.h). One
// row per (series, write) holding that write's points as a blob, instead of
// one row per point: a log-batch of 50 keys x 20 steps writes 50 small rows
// instead of 1000 primary-key inserts, and the WAL pages, checkpoint copies
// and B-tree seeks that went with them. Rows are appended (chunk ids ascend);
// reads take a series' chunks through the index, then sort and deduplicate
// (an identical point logged twice is a client's retry, kept once, as the
// old primary key did). Existing history is converted, then `metrics` goes.
constexpr std::string_view kMetricChunksSchemaV7 = R"sql(
CREATE TABLE metric_chunks (
  chunk_id @ID_PK@,
  series_id BIGINT NOT NULL,
  points @BLOB@ NOT NULL
);
CREATE INDEX metric_chunks_by_series ON metric_chunks (series_id, chunk_id);
)sql";

// Copies `metrics` into chunks of up to 1000 points, a window of series at
// a time so a PostgreSQL result (held whole by libpq) stays bounded.
Status ConvertMetricsToChunks(Connection& conn, int64_t) {
  constexpr int64_t kSeriesPerWindow = 256;
  constexpr size_t kPointsPerChunk = 1000;
  int64_t max_series = 0;
  {
    CAIRN_ASSIGN_OR_RETURN(auto s,
                           conn.Prepare("SELECT coalesce(max(series_id), 0) FROM metrics", false));
    CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
    if (row) max_series = s->Int(0);
  }
  constexpr BulkInsert kInsert{"INSERT INTO metric_chunks (series_id, points) VALUES", 2, ""};
  std::vector<std::string> chunks;
  std::vector<int64_t> chunk_series;
  auto flush = [&]() -> Status {
    std::vector<Value> rows;
    rows.reserve(chunks.size() * 2);
    for (size_t i = 0; i < chunks.size(); ++i) {
      rows.push_back(Value::Int(chunk_series[i]));
      rows.push_back(Value::Blob(chunks[i]));
    }
    CAIRN_RETURN_IF_ERROR(conn.InsertRows(kInsert, rows));
    chunks.clear();
    chunk_series.clear();
    return {};
  };
  for (int64_t lo = 0; lo <= max_series; lo += kSeriesPerWindow) {
    CAIRN_ASSIGN_OR_RETURN(
        auto s, conn.Prepare("SELECT series_id, step, timestamp_ms, value, is_nan FROM metrics "
                             "WHERE series_id >= ? AND series_id < ? "
                             "ORDER BY series_id, step, timestamp_ms, value",
                             false));
    s->BindAll(lo, lo + kSeriesPerWindow);
    size_t points = 0;
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
      if (!row) break;
      int64_t series = s->Int(0);
      if (chunk_series.empty() || chunk_series.back() != series || points == kPointsPerChunk) {
        chunks.emplace_back();
        BeginMetricChunk(chunks.back());
        chunk_series.push_back(series);
        points = 0;
      }
      MetricPoint p{s->Int(1), s->Int(2),
                    s->Int(4) != 0 ? std::numeric_limits<double>::quiet_NaN() : s->Double(3)};
      AppendMetricPoint(chunks.back(), p);
      ++points;
    }
    CAIRN_RETURN_IF_ERROR(flush());
  }
  return conn.ExecScript("DROP TABLE metrics");
}

Status SeedDefaultExperiment(Connection& conn, int64_t now_ms) {
  CAIRN_ASSIGN_OR_RETURN(
      auto stmt, conn.Prepare("INSERT INTO experiments (experiment_id, name, artifact_location, "
                              "lifecycle_stage, creation_time, last_update_time) "
                              "VALUES (0, 'Default', '', 'active', ?, ?)",
                              false));
  stmt->BindAll(now_ms, now_ms);
  CAIRN_RETURN_IF_ERROR(stmt->Exec());
  return {};
}

constexpr Migration kMigrations[] = {
    {1, "experiments, runs, params, tags, metrics, datasets", kSchemaV1, SeedDefaultExperiment},
    {2, "model registry, audit log, approvals, webhooks", kRegistrySchemaV2, nullptr},
    {3, "logged models, their tags, params and metrics; run outputs", kLoggedModelSchemaV3,
     nullptr},
    {4, "monitors, windows, results, predictions, labels, alerts", kMonitorSchemaV4, nullptr},
    {5, "pipeline schedules and their runs", kPipelineScheduleSchemaV5, nullptr},
    {6, "per-experiment param, metric and tag keys (the UI's columns)", kColumnKeysSchemaV6,
     InstallColumnKeyTriggers},
    {7, "metric history in chunks of points (metric_chunks replaces metrics)",
     kMetricChunksSchemaV7, ConvertMetricsToChunks},
};

// Serializes migrators across processes for the rest of the transaction.
Status LockForMigration(Connection& conn) {
  if (conn.dialect() != Dialect::kPostgres) return {};  // BEGIN IMMEDIATE already did
  CAIRN_ASSIGN_OR_RETURN(
      auto stmt, conn.Prepare("SELECT pg_advisory_xact_lock(hashtext('cairn.schema_migrations'), "
                              "hashtext(coalesce(current_schema(), '')))",
                              false));
  CAIRN_RETURN_IF_ERROR(stmt->Next());
  return {};
}

// Runs `body` in a write transaction that holds the migration lock.
template <typename F>
Status InMigrationTxn(Connection& conn, F&& body) {
  CAIRN_RETURN_IF_ERROR(conn.Begin(TxnMode::kWrite));
  Status s = LockForMigration(conn);
  if (s) s = body();
  if (!s) {
    conn.Rollback();
    return s;
  }
  return conn.Commit();
}

Result<bool> IsApplied(Connection& conn, int version) {
  CAIRN_ASSIGN_OR_RETURN(auto stmt,
                         conn.Prepare("SELECT 1 FROM schema_migrations WHERE version = ?", false));
  stmt->BindAll(version);
  return stmt->Next();
}

Result<int> MaxVersion(Connection& conn) {
  CAIRN_ASSIGN_OR_RETURN(
      auto stmt, conn.Prepare("SELECT coalesce(max(version), 0) FROM schema_migrations", false));
  CAIRN_ASSIGN_OR_RETURN(bool row, stmt->Next());
  return row ? static_cast<int>(stmt->Int(0)) : 0;
}

Result<bool> MigrationsTableExists(Connection& conn) {
  auto stmt =
      conn.Prepare(conn.dialect() == Dialect::kSqlite
                       ? "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                         "name = 'schema_migrations'"
                       : "SELECT 1 FROM pg_catalog.pg_tables WHERE "
                         "schemaname = current_schema() AND tablename = 'schema_migrations'",
                   false);
  if (!stmt) return std::unexpected(stmt.error());
  return (*stmt)->Next();
}

}  // namespace

std::span<const Migration> AllMigrations() { return kMigrations; }

Result<int> ApplyMigrations(Database& db, int64_t now_ms) {
  CAIRN_ASSIGN_OR_RETURN(auto conn, db.Writer());
  CAIRN_RETURN_IF_ERROR(InMigrationTxn(*conn, [&]() -> Status {
    return conn->ExecScript(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, "
        "description TEXT NOT NULL, applied_at BIGINT NOT NULL)");
  }));
  for (const Migration& m : kMigrations) {
    CAIRN_RETURN_IF_ERROR(InMigrationTxn(*conn, [&]() -> Status {
      CAIRN_ASSIGN_OR_RETURN(bool applied, IsApplied(*conn, m.version));
      if (applied) return {};
      CAIRN_RETURN_IF_ERROR(conn->ExecScript(RewriteDdl(conn->dialect(), m.ddl)));
      if (m.seed != nullptr) CAIRN_RETURN_IF_ERROR(m.seed(*conn, now_ms));
      CAIRN_ASSIGN_OR_RETURN(auto stmt,
                             conn->Prepare("INSERT INTO schema_migrations (version, description, "
                                           "applied_at) VALUES (?, ?, ?)",
                                           false));
      stmt->BindAll(m.version, m.description, now_ms);
      CAIRN_RETURN_IF_ERROR(stmt->Exec());
      return {};
    }));
  }
  return MaxVersion(*conn);
}

Result<int> CurrentSchemaVersion(Database& db) {
  CAIRN_ASSIGN_OR_RETURN(auto conn, db.Reader());
  CAIRN_ASSIGN_OR_RETURN(bool exists, MigrationsTableExists(*conn));
  if (!exists) return 0;
  return MaxVersion(*conn);
}

}  // namespace cairn::store::sql
