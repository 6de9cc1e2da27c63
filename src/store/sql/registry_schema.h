#pragma once
// Migration 2: the model registry, the audit log, approvals and webhooks
// (store/registry_store.h). Kept in a header so the constexpr migration
// table (migrations.cc) can use it.
//
// Design notes:
// - registered_models has an integer id that every child row references,
//   so a rename is one UPDATE and children follow. Children are deleted
//   with the model (ON DELETE CASCADE; SQLite runs with foreign_keys=ON).
// - last_version is the highest version number ever assigned to the model:
//   a deleted version's number is never given again.
// - model_versions.logged_model_id is MLflow 3's `model_id` of the version
//   (renamed here so it cannot be confused with the registered model id).
// - audit_log names the model by text and references nothing: entries
//   outlive what they describe. Ids the audit log names (approvals,
//   webhooks, deliveries) and its own are never reused, even after the
//   newest row is deleted (@ID_PK_NEVER_REUSED@).
// - webhooks.model_id is NULL for a subscription to every model.
// - webhook_deliveries is the outbox; (status, next_attempt_at) serves the
//   dispatcher's "due now" scan.
// - Search paths: the unique name index serves name = / LIKE prefix scans
//   (bytewise text on both engines), model_versions (run_id) serves lineage,
//   and the last_updated_time indexes serve ordering by recency.

#include <string_view>

namespace cairn::store::sql {

inline constexpr std::string_view kRegistrySchemaV2 = R"sql(
CREATE TABLE registered_models (
  model_id @ID_PK@,
  name @TEXT@ NOT NULL,
  description @TEXT@ NOT NULL DEFAULT '',
  user_id @TEXT@ NOT NULL DEFAULT '',
  creation_time BIGINT NOT NULL DEFAULT 0,
  last_updated_time BIGINT NOT NULL DEFAULT 0,
  last_version BIGINT NOT NULL DEFAULT 0,
  CONSTRAINT registered_models_name_key UNIQUE (name)
);
CREATE INDEX registered_models_by_last_updated ON registered_models (last_updated_time);
CREATE TABLE registered_model_tags (
  model_id BIGINT NOT NULL REFERENCES registered_models (model_id) ON DELETE CASCADE,
  key @TEXT@ NOT NULL,
  value @TEXT@ NOT NULL,
  PRIMARY KEY (model_id, key)
) @WITHOUT_ROWID@;
CREATE TABLE registered_model_protected_targets (
  model_id BIGINT NOT NULL REFERENCES registered_models (model_id) ON DELETE CASCADE,
  target @TEXT@ NOT NULL,
  PRIMARY KEY (model_id, target)
) @WITHOUT_ROWID@;
CREATE TABLE model_versions (
  model_id BIGINT NOT NULL REFERENCES registered_models (model_id) ON DELETE CASCADE,
  version BIGINT NOT NULL,
  creation_time BIGINT NOT NULL DEFAULT 0,
  last_updated_time BIGINT NOT NULL DEFAULT 0,
  user_id @TEXT@ NOT NULL DEFAULT '',
  current_stage @TEXT@ NOT NULL DEFAULT 'None',
  description @TEXT@ NOT NULL DEFAULT '',
  source @TEXT@ NOT NULL DEFAULT '',
  run_id @TEXT@ NOT NULL DEFAULT '',
  run_link @TEXT@ NOT NULL DEFAULT '',
  status @TEXT@ NOT NULL DEFAULT 'READY',
  status_message @TEXT@ NOT NULL DEFAULT '',
  logged_model_id @TEXT@ NOT NULL DEFAULT '',
  storage_location @TEXT@ NOT NULL DEFAULT '',
  signature_json @TEXT@ NOT NULL DEFAULT '',
  PRIMARY KEY (model_id, version)
) @WITHOUT_ROWID@;
CREATE INDEX model_versions_by_run ON model_versions (run_id);
CREATE INDEX model_versions_by_stage ON model_versions (model_id, current_stage, version);
CREATE INDEX model_versions_by_last_updated ON model_versions (last_updated_time);
CREATE TABLE model_version_tags (
  model_id BIGINT NOT NULL,
  version BIGINT NOT NULL,
  key @TEXT@ NOT NULL,
  value @TEXT@ NOT NULL,
  PRIMARY KEY (model_id, version, key),
  FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
) @WITHOUT_ROWID@;
CREATE TABLE model_aliases (
  model_id BIGINT NOT NULL,
  alias @TEXT@ NOT NULL,
  version BIGINT NOT NULL,
  PRIMARY KEY (model_id, alias),
  FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
) @WITHOUT_ROWID@;
CREATE INDEX model_aliases_by_version ON model_aliases (model_id, version);
CREATE TABLE alias_history (
  history_id @ID_PK_NEVER_REUSED@,
  model_id BIGINT NOT NULL REFERENCES registered_models (model_id) ON DELETE CASCADE,
  alias @TEXT@ NOT NULL,
  version BIGINT NOT NULL,
  time BIGINT NOT NULL,
  actor @TEXT@ NOT NULL
);
CREATE INDEX alias_history_by_alias ON alias_history (model_id, alias, history_id);
CREATE TABLE audit_log (
  audit_id @ID_PK_NEVER_REUSED@,
  time BIGINT NOT NULL,
  actor @TEXT@ NOT NULL,
  action @TEXT@ NOT NULL,
  entity_type @TEXT@ NOT NULL,
  entity_id @TEXT@ NOT NULL,
  model_name @TEXT@ NOT NULL DEFAULT '',
  before_json @TEXT@ NOT NULL DEFAULT '',
  after_json @TEXT@ NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_entity ON audit_log (entity_type, entity_id, audit_id);
CREATE INDEX audit_log_by_model ON audit_log (model_name, audit_id);
CREATE INDEX audit_log_by_actor ON audit_log (actor, audit_id);
CREATE INDEX audit_log_by_time ON audit_log (time);
CREATE TABLE approval_requests (
  approval_id @ID_PK_NEVER_REUSED@,
  model_id BIGINT NOT NULL REFERENCES registered_models (model_id) ON DELETE CASCADE,
  kind @TEXT@ NOT NULL,
  target @TEXT@ NOT NULL,
  version BIGINT NOT NULL,
  archive_existing SMALLINT NOT NULL DEFAULT 0,
  status @TEXT@ NOT NULL DEFAULT 'pending',
  requested_by @TEXT@ NOT NULL DEFAULT '',
  requested_at BIGINT NOT NULL DEFAULT 0,
  comment @TEXT@ NOT NULL DEFAULT '',
  decided_by @TEXT@ NOT NULL DEFAULT '',
  decided_at BIGINT NOT NULL DEFAULT 0,
  decision_comment @TEXT@ NOT NULL DEFAULT ''
);
CREATE INDEX approval_requests_by_model ON approval_requests (model_id, status, approval_id);
CREATE INDEX approval_requests_by_status ON approval_requests (status, approval_id);
CREATE TABLE webhooks (
  webhook_id @ID_PK_NEVER_REUSED@,
  model_id BIGINT REFERENCES registered_models (model_id) ON DELETE CASCADE,
  url @TEXT@ NOT NULL,
  secret @TEXT@ NOT NULL DEFAULT '',
  active SMALLINT NOT NULL DEFAULT 1,
  creation_time BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webhooks_by_model ON webhooks (model_id);
CREATE TABLE webhook_events (
  webhook_id BIGINT NOT NULL REFERENCES webhooks (webhook_id) ON DELETE CASCADE,
  event @TEXT@ NOT NULL,
  PRIMARY KEY (webhook_id, event)
) @WITHOUT_ROWID@;
CREATE TABLE webhook_deliveries (
  delivery_id @ID_PK_NEVER_REUSED@,
  webhook_id BIGINT NOT NULL REFERENCES webhooks (webhook_id) ON DELETE CASCADE,
  event @TEXT@ NOT NULL,
  payload @TEXT@ NOT NULL DEFAULT '',
  status @TEXT@ NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL DEFAULT 0,
  last_http_status INTEGER NOT NULL DEFAULT 0,
  last_error @TEXT@ NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL DEFAULT 0,
  delivered_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, delivery_id);
)sql";

}  // namespace cairn::store::sql
