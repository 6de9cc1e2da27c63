#include "api/registry_json.h"

#include <nlohmann/json.hpp>

#include "api/mlflow_json.h"

namespace cairn::api {
namespace {

void FieldIfSet(JsonWriter& w, std::string_view key, const std::string& value) {
  if (!value.empty()) w.Field(key, value);
}

// A stored JSON document as a JSON value: null when empty, the document when
// it parses, else the text as a string (a damaged row is still readable).
void WriteDocument(JsonWriter& w, const std::string& doc) {
  if (doc.empty()) {
    w.Null();
    return;
  }
  nlohmann::json j = nlohmann::json::parse(doc, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    w.String(doc);
    return;
  }
  w.Raw(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

void WriteModelVersion(JsonWriter& w, const store::ModelVersion& v) {
  // Field order and presence as MLflow's server writes them.
  w.BeginObject();
  w.Field("name", v.name);
  w.Field("version", std::to_string(v.version));
  w.Field("creation_timestamp", v.creation_time);
  w.Field("last_updated_timestamp", v.last_updated_time);
  FieldIfSet(w, "user_id", v.user_id);
  w.Field("current_stage", v.current_stage);
  w.Field("description", v.description);
  w.Field("source", v.source);
  w.Field("run_id", v.run_id);
  w.Field("status", v.status);
  FieldIfSet(w, "status_message", v.status_message);
  WriteKeyValues(w, "tags", v.tags);
  w.Field("run_link", v.run_link);
  w.Key("aliases").BeginArray();
  for (const std::string& a : v.aliases) w.String(a);
  w.EndArray();
  FieldIfSet(w, "model_id", v.model_id);
  FieldIfSet(w, "storage_location", v.storage_location);
  if (!v.signature_json.empty()) {
    w.Key("signature");
    WriteDocument(w, v.signature_json);
  }
  w.EndObject();
}

void WriteRegisteredModel(JsonWriter& w, const store::RegisteredModel& m,
                          const std::vector<store::ModelVersion>* latest_versions) {
  w.BeginObject();
  w.Field("name", m.name);
  w.Field("creation_timestamp", m.creation_time);
  w.Field("last_updated_timestamp", m.last_updated_time);
  FieldIfSet(w, "user_id", m.user_id);
  FieldIfSet(w, "description", m.description);
  if (latest_versions != nullptr) {
    w.Key("latest_versions").BeginArray();
    for (const store::ModelVersion& v : *latest_versions) WriteModelVersion(w, v);
    w.EndArray();
  }
  WriteKeyValues(w, "tags", m.tags);
  w.Key("aliases").BeginArray();
  for (const store::ModelAlias& a : m.aliases) {
    w.BeginObject();
    w.Field("alias", a.alias);
    w.Field("version", std::to_string(a.version));
    w.EndObject();
  }
  w.EndArray();
  w.Key("protected_targets").BeginArray();
  for (const std::string& t : m.protected_targets) w.String(t);
  w.EndArray();
  w.EndObject();
}

std::string RenderRegisteredModelResponse(const store::RegisteredModel& m,
                                          const std::vector<store::ModelVersion>* latest_versions) {
  JsonWriter w;
  w.BeginObject();
  w.Key("registered_model");
  WriteRegisteredModel(w, m, latest_versions);
  w.EndObject();
  return w.Take();
}

std::string RenderModelVersionResponse(const store::ModelVersion& v) {
  JsonWriter w;
  w.BeginObject();
  w.Key("model_version");
  WriteModelVersion(w, v);
  w.EndObject();
  return w.Take();
}

std::string RenderModelVersionsResponse(const std::vector<store::ModelVersion>& versions,
                                        std::string_view next_page_token) {
  JsonWriter w;
  w.BeginObject();
  w.Key("model_versions").BeginArray();
  for (const store::ModelVersion& v : versions) WriteModelVersion(w, v);
  w.EndArray();
  if (!next_page_token.empty()) w.Field("next_page_token", next_page_token);
  w.EndObject();
  return w.Take();
}

void WriteAuditEntry(JsonWriter& w, const store::AuditEntry& e) {
  w.BeginObject();
  w.Field("id", e.id);
  w.Field("time", e.time);
  w.Field("actor", e.actor);
  w.Field("action", e.action);
  w.Field("entity_type", e.entity_type);
  w.Field("entity_id", e.entity_id);
  w.Field("model_name", e.model_name);
  w.Key("before");
  WriteDocument(w, e.before);
  w.Key("after");
  WriteDocument(w, e.after);
  w.EndObject();
}

void WriteApprovalRequest(JsonWriter& w, const store::ApprovalRequest& a) {
  w.BeginObject();
  w.Field("id", a.id);
  w.Field("model_name", a.model_name);
  w.Field("kind", a.kind);
  w.Field("target", a.target);
  // A version number as MLflow spells them on the wire.
  w.Field("version", std::to_string(a.version));
  w.Key("archive_existing").Bool(a.archive_existing);
  w.Field("status", a.status);
  w.Field("requested_by", a.requested_by);
  w.Field("requested_at", a.requested_at);
  w.Field("comment", a.comment);
  w.Field("decided_by", a.decided_by);
  w.Field("decided_at", a.decided_at);
  w.Field("decision_comment", a.decision_comment);
  w.EndObject();
}

void WriteWebhook(JsonWriter& w, const store::Webhook& h) {
  w.BeginObject();
  w.Field("id", h.id);
  w.Field("model_name", h.model_name);
  w.Field("url", h.url);
  w.Key("events").BeginArray();
  for (const std::string& e : h.events) w.String(e);
  w.EndArray();
  w.Key("active").Bool(h.active);
  w.Field("creation_time", h.creation_time);
  w.EndObject();
}

void WriteWebhookDelivery(JsonWriter& w, const store::WebhookDelivery& d) {
  w.BeginObject();
  w.Field("id", d.id);
  w.Field("webhook_id", d.webhook_id);
  w.Field("event", d.event);
  w.Key("payload");
  WriteDocument(w, d.payload);
  w.Field("status", d.status);
  w.Field("attempts", static_cast<int64_t>(d.attempts));
  w.Field("next_attempt_at", d.next_attempt_at);
  w.Field("last_http_status", static_cast<int64_t>(d.last_http_status));
  w.Field("last_error", d.last_error);
  w.Field("created_at", d.created_at);
  w.Field("delivered_at", d.delivered_at);
  w.EndObject();
}

void WriteLineage(JsonWriter& w, const registry::Lineage& l) {
  w.BeginObject();
  w.Key("model_version");
  WriteModelVersion(w, l.version);
  if (l.run) {
    w.Key("run");
    WriteRun(w, *l.run);
  }
  w.Key("parent_runs").BeginArray();
  for (const store::Run& r : l.parent_runs) WriteRun(w, r);
  w.EndArray();
  w.Key("siblings").BeginArray();
  for (const store::ModelVersion& v : l.siblings) WriteModelVersion(w, v);
  w.EndArray();
  w.EndObject();
}

std::string RenderMutationOutcome(const registry::MutationOutcome& o) {
  JsonWriter w;
  w.BeginObject();
  if (o.pending) {
    w.Field("outcome", "pending");
  } else if (!o.version && o.approval && o.approval->status == "rejected") {
    w.Field("outcome", "rejected");
  } else {
    w.Field("outcome", "applied");
  }
  if (o.version) {
    w.Key("model_version");
    WriteModelVersion(w, *o.version);
  }
  if (o.approval) {
    w.Key("approval");
    WriteApprovalRequest(w, *o.approval);
  }
  w.EndObject();
  return w.Take();
}

std::string PendingApprovalMessage(const store::ApprovalRequest& a) {
  std::string what;
  if (a.kind == "stage") {
    what = "Moving version " + std::to_string(a.version) + " of registered model '" + a.model_name +
           "' to stage '" + a.target + "'";
  } else {
    what = "Setting alias '" + a.target + "' of registered model '" + a.model_name +
           "' to version " + std::to_string(a.version);
  }
  std::string id = std::to_string(a.id);
  return what + " requires approval: request " + id +
         " is pending (approve with `cairn models approvals approve " + id + "`)";
}

}  // namespace cairn::api
