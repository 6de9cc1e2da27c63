#pragma once
// Migration 3: MLflow 3 logged models and run outputs (store/logged_model_store.h).
// Kept in a header so the constexpr migration table (migrations.cc) can use it.
//
// Design notes:
// - logged_models(experiment_id, lifecycle_stage, creation_time DESC,
//   model_id) matches the default search order, so a page of an
//   experiment's models is an index range scan; (source_run_id, name)
//   serves register_model / runs:/ lookups.
// - Metrics logged with a model_id are kept per model, as MLflow does, with
//   the run that logged them and the dataset; the primary key (model, key,
//   timestamp, step, run) makes a retried batch a no-op. NaN is value 0 with
//   is_nan = 1, as in the run metrics tables.
// - Status is stored as the entity name ("PENDING", "READY", "FAILED").
// - run_outputs keeps the order outputs were logged (output_id) and drops
//   an exact (run, model, step) repeat. No foreign key to logged_models:
//   MLflow accepts any model id there.
#include <string_view>

namespace cairn::store::sql {

inline constexpr std::string_view kLoggedModelSchemaV3 = R"sql(
CREATE TABLE logged_models (
  model_id @TEXT@ NOT NULL PRIMARY KEY,
  experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
  name @TEXT@ NOT NULL,
  artifact_location @TEXT@ NOT NULL DEFAULT '',
  creation_time BIGINT NOT NULL,
  last_updated_time BIGINT NOT NULL,
  status @TEXT@ NOT NULL DEFAULT 'PENDING',
  status_message @TEXT@ NOT NULL DEFAULT '',
  lifecycle_stage @TEXT@ NOT NULL DEFAULT 'active',
  model_type @TEXT@ NOT NULL DEFAULT '',
  source_run_id @TEXT@ NOT NULL DEFAULT ''
) @WITHOUT_ROWID@;
CREATE INDEX logged_models_by_experiment
  ON logged_models (experiment_id, lifecycle_stage, creation_time DESC, model_id);
CREATE INDEX logged_models_by_source_run ON logged_models (source_run_id, name);
CREATE TABLE logged_model_tags (
  model_id @TEXT@ NOT NULL REFERENCES logged_models (model_id),
  key @TEXT@ NOT NULL,
  value @TEXT@ NOT NULL,
  PRIMARY KEY (model_id, key)
) @WITHOUT_ROWID@;
CREATE TABLE logged_model_params (
  model_id @TEXT@ NOT NULL REFERENCES logged_models (model_id),
  key @TEXT@ NOT NULL,
  value @TEXT@ NOT NULL,
  PRIMARY KEY (model_id, key)
) @WITHOUT_ROWID@;
CREATE TABLE logged_model_metrics (
  model_id @TEXT@ NOT NULL REFERENCES logged_models (model_id),
  key @TEXT@ NOT NULL,
  timestamp_ms BIGINT NOT NULL,
  step BIGINT NOT NULL,
  run_id @TEXT@ NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  is_nan SMALLINT NOT NULL,
  dataset_name @TEXT@ NOT NULL DEFAULT '',
  dataset_digest @TEXT@ NOT NULL DEFAULT '',
  PRIMARY KEY (model_id, key, timestamp_ms, step, run_id)
) @WITHOUT_ROWID@;
CREATE TABLE run_outputs (
  output_id @ID_PK@,
  run_id @TEXT@ NOT NULL REFERENCES runs (run_id),
  model_id @TEXT@ NOT NULL,
  step BIGINT NOT NULL,
  CONSTRAINT run_outputs_key UNIQUE (run_id, model_id, step)
);
)sql";

}  // namespace cairn::store::sql
