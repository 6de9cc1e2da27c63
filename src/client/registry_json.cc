#include "client/registry_json.h"

#include <charconv>
#include <utility>

#include "client/mlflow_json.h"

namespace cairn::client {
namespace {

using nlohmann::json;

std::unexpected<Error> Unexpected(std::string what) {
  return Internal("unexpected response from the server: " + what);
}

std::string Quoted(const char* key) { return std::string("'") + key + "'"; }

// Each Get* reads an optional field; absent or null leaves `out` alone.
Status GetString(const json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_string()) return Unexpected(Quoted(key) + " is not a string");
  out = it->get<std::string>();
  return {};
}

Result<int64_t> ToInt64(const json& v, const char* key) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) return static_cast<int64_t>(v.get<double>());
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    int64_t out = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return out;
  }
  return Unexpected(Quoted(key) + " is not an integer");
}

template <typename Int>
Status GetInt(const json& j, const char* key, Int& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  CAIRN_ASSIGN_OR_RETURN(int64_t v, ToInt64(*it, key));
  out = static_cast<Int>(v);
  return {};
}

Status GetBool(const json& j, const char* key, bool& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_boolean()) {
    out = it->get<bool>();
    return {};
  }
  if (it->is_string() && (*it == "true" || *it == "false")) {
    out = *it == "true";
    return {};
  }
  return Unexpected(Quoted(key) + " is not a boolean");
}

// A JSON document held in a string field: an object/array arrives embedded
// (kept as compact text) or already as text.
Status GetJsonText(const json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) {
    out = it->get<std::string>();
  } else {
    out = it->dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return {};
}

Result<std::vector<std::string>> GetStringList(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) return Unexpected(Quoted(key) + " is not a list");
  for (const auto& s : *it) {
    if (!s.is_string()) return Unexpected("an entry of " + Quoted(key) + " is not a string");
    out.push_back(s.get<std::string>());
  }
  return out;
}

Result<std::vector<store::Tag>> GetTags(const json& j, const char* key) {
  std::vector<store::Tag> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) return Unexpected(Quoted(key) + " is not a list");
  for (const auto& kv : *it) {
    if (!kv.is_object()) return Unexpected("an entry of " + Quoted(key) + " is not an object");
    store::Tag t;
    CAIRN_RETURN_IF_ERROR(GetString(kv, "key", t.key));
    CAIRN_RETURN_IF_ERROR(GetString(kv, "value", t.value));
    out.push_back(std::move(t));
  }
  return out;
}

// A list of objects under `key`, each parsed by `parse`.
template <typename T, typename Parse>
Result<std::vector<T>> GetList(const json& j, const char* key, Parse parse) {
  std::vector<T> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) return Unexpected(Quoted(key) + " is not a list");
  for (const auto& e : *it) {
    CAIRN_ASSIGN_OR_RETURN(T v, parse(e));
    out.push_back(std::move(v));
  }
  return out;
}

json TagsJson(const std::vector<store::Tag>& tags) {
  json arr = json::array();
  for (const auto& t : tags) arr.push_back(json{{"key", t.key}, {"value", t.value}});
  return arr;
}

// A JSON text as an embedded document when it parses, else as a string.
json EmbeddedJson(const std::string& text) {
  if (text.empty()) return "";
  try {
    return json::parse(text);
  } catch (const json::exception&) {
    return text;
  }
}

}  // namespace

// ------------------------------------------------------------------ MLflow

Result<store::RegisteredModel> ParseRegisteredModel(const json& j) {
  if (!j.is_object()) return Unexpected("registered model is not an object");
  store::RegisteredModel m;
  CAIRN_RETURN_IF_ERROR(GetString(j, "name", m.name));
  CAIRN_RETURN_IF_ERROR(GetInt(j, "creation_timestamp", m.creation_time));
  CAIRN_RETURN_IF_ERROR(GetInt(j, "last_updated_timestamp", m.last_updated_time));
  CAIRN_RETURN_IF_ERROR(GetString(j, "user_id", m.user_id));
  CAIRN_RETURN_IF_ERROR(GetString(j, "description", m.description));
  CAIRN_ASSIGN_OR_RETURN(m.tags, GetTags(j, "tags"));
  if (auto it = j.find("aliases"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return Unexpected("'aliases' is not a list");
    for (const auto& a : *it) {
      if (!a.is_object()) return Unexpected("an alias is not an object");
      store::ModelAlias alias;
      CAIRN_RETURN_IF_ERROR(GetString(a, "alias", alias.alias));
      CAIRN_RETURN_IF_ERROR(GetInt(a, "version", alias.version));
      m.aliases.push_back(std::move(alias));
    }
  }
  CAIRN_ASSIGN_OR_RETURN(m.protected_targets, GetStringList(j, "protected_targets"));
  return m;
}

Result<RegisteredModelDetails> ParseRegisteredModelDetails(const json& j) {
  RegisteredModelDetails d;
  CAIRN_ASSIGN_OR_RETURN(d.model, ParseRegisteredModel(j));
  CAIRN_ASSIGN_OR_RETURN(d.latest_versions,
                         GetList<store::ModelVersion>(j, "latest_versions", ParseModelVersion));
  return d;
}

Result<store::ModelVersion> ParseModelVersion(const json& j) {
  if (!j.is_object()) return Unexpected("model version is not an object");
  store::ModelVersion v;
  CAIRN_RETURN_IF_ERROR(GetString(j, "name", v.name));
  CAIRN_RETURN_IF_ERROR(GetInt(j, "version", v.version));
  CAIRN_RETURN_IF_ERROR(GetInt(j, "creation_timestamp", v.creation_time));
  CAIRN_RETURN_IF_ERROR(GetInt(j, "last_updated_timestamp", v.last_updated_time));
  CAIRN_RETURN_IF_ERROR(GetString(j, "user_id", v.user_id));
  CAIRN_RETURN_IF_ERROR(GetString(j, "current_stage", v.current_stage));
  CAIRN_RETURN_IF_ERROR(GetString(j, "description", v.description));
  CAIRN_RETURN_IF_ERROR(GetString(j, "source", v.source));
  CAIRN_RETURN_IF_ERROR(GetString(j, "run_id", v.run_id));
  CAIRN_RETURN_IF_ERROR(GetString(j, "run_link", v.run_link));
  CAIRN_RETURN_IF_ERROR(GetString(j, "status", v.status));
  CAIRN_RETURN_IF_ERROR(GetString(j, "status_message", v.status_message));
  CAIRN_RETURN_IF_ERROR(GetString(j, "model_id", v.model_id));
  CAIRN_RETURN_IF_ERROR(GetString(j, "storage_location", v.storage_location));
  CAIRN_RETURN_IF_ERROR(GetJsonText(j, "signature", v.signature_json));
  CAIRN_ASSIGN_OR_RETURN(v.tags, GetTags(j, "tags"));
  CAIRN_ASSIGN_OR_RETURN(v.aliases, GetStringList(j, "aliases"));
  return v;
}

json RegisteredModelJson(const store::RegisteredModel& m,
                         const std::vector<store::ModelVersion>& latest_versions) {
  json aliases = json::array();
  for (const auto& a : m.aliases) {
    aliases.push_back(json{{"alias", a.alias}, {"version", std::to_string(a.version)}});
  }
  json latest = json::array();
  for (const auto& v : latest_versions) latest.push_back(ModelVersionJson(v));
  json out = json::object();
  out["name"] = m.name;
  out["creation_timestamp"] = m.creation_time;
  out["last_updated_timestamp"] = m.last_updated_time;
  out["user_id"] = m.user_id;
  out["description"] = m.description;
  out["latest_versions"] = std::move(latest);
  out["tags"] = TagsJson(m.tags);
  out["aliases"] = std::move(aliases);
  out["protected_targets"] = m.protected_targets;
  return out;
}

json ModelVersionJson(const store::ModelVersion& v) {
  json out = json::object();
  out["name"] = v.name;
  out["version"] = std::to_string(v.version);
  out["creation_timestamp"] = v.creation_time;
  out["last_updated_timestamp"] = v.last_updated_time;
  out["user_id"] = v.user_id;
  out["current_stage"] = v.current_stage;
  out["description"] = v.description;
  out["source"] = v.source;
  out["run_id"] = v.run_id;
  out["status"] = v.status;
  out["status_message"] = v.status_message;
  out["tags"] = TagsJson(v.tags);
  out["run_link"] = v.run_link;
  out["aliases"] = v.aliases;
  out["model_id"] = v.model_id;
  out["storage_location"] = v.storage_location;
  if (!v.signature_json.empty()) out["signature"] = EmbeddedJson(v.signature_json);
  return out;
}

// ------------------------------------------------------------------ native

Result<store::AuditEntry> ParseAuditEntry(const json& j) {
  if (!j.is_object()) return Unexpected("audit entry is not an object");
  store::AuditEntry e;
  CAIRN_RETURN_IF_ERROR(GetInt(j, "id", e.id));
  CAIRN_RETURN_IF_ERROR(GetInt(j, "time", e.time));
  CAIRN_RETURN_IF_ERROR(GetString(j, "actor", e.actor));
  CAIRN_RETURN_IF_ERROR(GetString(j, "action", e.action));
  CAIRN_RETURN_IF_ERROR(GetString(j, "entity_type", e.entity_type));
  CAIRN_RETURN_IF_ERROR(GetString(j, "entity_id", e.entity_id));
  CAIRN_RETURN_IF_ERROR(GetString(j, "model_name", e.model_name));
  CAIRN_RETURN_IF_ERROR(GetJsonText(j, "before", e.before));
  CAIRN_RETURN_IF_ERROR(GetJsonText(j, "after", e.after));
  return e;
}

Result<store::ApprovalRequest> ParseApprovalRequest(const json& j) {
  if (!j.is_object()) return Unexpected("approval request is not an object");
  store::ApprovalRequest a;
  CAIRN_RETURN_IF_ERROR(GetInt(j, "id", a.id));
  CAIRN_RETURN_IF_ERROR(GetString(j, "model_name", a.model_name));
  CAIRN_RETURN_IF_ERROR(GetString(j, "kind", a.kind));
  CAIRN_RETURN_IF_ERROR(GetString(j, "target", a.target));
  CAIRN_RETURN_IF_ERROR(GetInt(j, "version", a.version));
  CAIRN_RETURN_IF_ERROR(GetBool(j, "archive_existing", a.archive_existing));
  CAIRN_RETURN_IF_ERROR(GetString(j, "status", a.status));
  CAIRN_RETURN_IF_ERROR(GetString(j, "requested_by", a.requested_by));
  CAIRN_RETURN_IF_ERROR(GetInt(j, "requested_at", a.requested_at));
  CAIRN_RETURN_IF_ERROR(GetString(j, "comment", a.comment));
  CAIRN_RETURN_IF_ERROR(GetString(j, "decided_by", a.decided_by));
  CAIRN_RETURN_IF_ERROR(GetInt(j, "decided_at", a.decided_at));
  CAIRN_RETURN_IF_ERROR(GetString(j, "decision_comment", a.decision_comment));
  return a;
}

Result<store::Webhook> ParseWebhook(const json& j) {
  if (!j.is_object()) return Unexpected("webhook is not an object");
  store::Webhook w;
  CAIRN_RETURN_IF_ERROR(GetInt(j, "id", w.id));
  CAIRN_RETURN_IF_ERROR(GetString(j, "model", w.model_name));  // the create request's name
  CAIRN_RETURN_IF_ERROR(GetString(j, "model_name", w.model_name));
  CAIRN_RETURN_IF_ERROR(GetString(j, "url", w.url));
  CAIRN_ASSIGN_OR_RETURN(w.events, GetStringList(j, "events"));
  CAIRN_RETURN_IF_ERROR(GetBool(j, "active", w.active));
  CAIRN_RETURN_IF_ERROR(GetInt(j, "creation_time", w.creation_time));
  return w;
}

Result<store::WebhookDelivery> ParseWebhookDelivery(const json& j) {
  if (!j.is_object()) return Unexpected("webhook delivery is not an object");
  store::WebhookDelivery d;
  CAIRN_RETURN_IF_ERROR(GetInt(j, "id", d.id));
  CAIRN_RETURN_IF_ERROR(GetInt(j, "webhook_id", d.webhook_id));
  CAIRN_RETURN_IF_ERROR(GetString(j, "event", d.event));
  CAIRN_RETURN_IF_ERROR(GetJsonText(j, "payload", d.payload));
  CAIRN_RETURN_IF_ERROR(GetString(j, "status", d.status));
  CAIRN_RETURN_IF_ERROR(GetInt(j, "attempts", d.attempts));
  CAIRN_RETURN_IF_ERROR(GetInt(j, "next_attempt_at", d.next_attempt_at));
  CAIRN_RETURN_IF_ERROR(GetInt(j, "last_http_status", d.last_http_status));
  CAIRN_RETURN_IF_ERROR(GetString(j, "last_error", d.last_error));
  CAIRN_RETURN_IF_ERROR(GetInt(j, "created_at", d.created_at));
  CAIRN_RETURN_IF_ERROR(GetInt(j, "delivered_at", d.delivered_at));
  return d;
}

Result<ChangeOutcome> ParseChangeOutcome(const json& j) {
  if (!j.is_object()) return Unexpected("the answer is not an object");
  ChangeOutcome o;
  CAIRN_RETURN_IF_ERROR(GetString(j, "outcome", o.outcome));
  if (auto it = j.find("model_version"); it != j.end() && !it->is_null()) {
    CAIRN_ASSIGN_OR_RETURN(o.model_version, ParseModelVersion(*it));
  }
  if (auto it = j.find("approval"); it != j.end() && !it->is_null()) {
    CAIRN_ASSIGN_OR_RETURN(o.approval, ParseApprovalRequest(*it));
  }
  if (o.outcome.empty()) {
    // Older or partial answers: infer from what is there.
    if (o.approval && !o.model_version) {
      o.outcome = o.approval->status == "pending" ? "pending" : o.approval->status;
    } else if (o.model_version) {
      o.outcome = "applied";
    } else {
      return Unexpected("no 'outcome' in the answer");
    }
  }
  return o;
}

Result<VersionLineage> ParseLineage(const json& j) {
  if (!j.is_object()) return Unexpected("lineage is not an object");
  VersionLineage l;
  auto mv = j.find("model_version");
  if (mv == j.end() || mv->is_null()) return Unexpected("no model_version in the lineage");
  CAIRN_ASSIGN_OR_RETURN(l.model_version, ParseModelVersion(*mv));
  if (auto it = j.find("run");
      it != j.end() && !it->is_null() && !(it->is_object() && it->empty())) {
    CAIRN_ASSIGN_OR_RETURN(l.run, ParseRun(*it));
  }
  CAIRN_ASSIGN_OR_RETURN(l.parent_runs, GetList<store::Run>(j, "parent_runs", ParseRun));
  CAIRN_ASSIGN_OR_RETURN(l.siblings,
                         GetList<store::ModelVersion>(j, "siblings", ParseModelVersion));
  return l;
}

json AuditEntryJson(const store::AuditEntry& e) {
  json out = json::object();
  out["id"] = e.id;
  out["time"] = e.time;
  out["actor"] = e.actor;
  out["action"] = e.action;
  out["entity_type"] = e.entity_type;
  out["entity_id"] = e.entity_id;
  out["model_name"] = e.model_name;
  out["before"] = EmbeddedJson(e.before);
  out["after"] = EmbeddedJson(e.after);
  return out;
}

json ApprovalRequestJson(const store::ApprovalRequest& a) {
  json out = json::object();
  out["id"] = a.id;
  out["model_name"] = a.model_name;
  out["kind"] = a.kind;
  out["target"] = a.target;
  out["version"] = std::to_string(a.version);
  out["archive_existing"] = a.archive_existing;
  out["status"] = a.status;
  out["requested_by"] = a.requested_by;
  out["requested_at"] = a.requested_at;
  out["comment"] = a.comment;
  out["decided_by"] = a.decided_by;
  out["decided_at"] = a.decided_at;
  out["decision_comment"] = a.decision_comment;
  return out;
}

json WebhookJson(const store::Webhook& w) {
  json out = json::object();
  out["id"] = w.id;
  out["model_name"] = w.model_name;
  out["url"] = w.url;
  out["events"] = w.events;
  out["active"] = w.active;
  out["creation_time"] = w.creation_time;
  return out;
}

json WebhookDeliveryJson(const store::WebhookDelivery& d) {
  json out = json::object();
  out["id"] = d.id;
  out["webhook_id"] = d.webhook_id;
  out["event"] = d.event;
  out["payload"] = EmbeddedJson(d.payload);
  out["status"] = d.status;
  out["attempts"] = d.attempts;
  out["next_attempt_at"] = d.next_attempt_at;
  out["last_http_status"] = d.last_http_status;
  out["last_error"] = d.last_error;
  out["created_at"] = d.created_at;
  out["delivered_at"] = d.delivered_at;
  return out;
}

json ChangeOutcomeJson(const ChangeOutcome& o) {
  json out{{"outcome", o.outcome}};
  if (o.model_version) out["model_version"] = ModelVersionJson(*o.model_version);
  if (o.approval) out["approval"] = ApprovalRequestJson(*o.approval);
  return out;
}

json LineageJson(const VersionLineage& l) {
  json parents = json::array();
  for (const auto& r : l.parent_runs) parents.push_back(RunJson(r));
  json siblings = json::array();
  for (const auto& v : l.siblings) siblings.push_back(ModelVersionJson(v));
  json out = json::object();
  out["model_version"] = ModelVersionJson(l.model_version);
  out["run"] = l.run ? RunJson(*l.run) : json(nullptr);
  out["parent_runs"] = std::move(parents);
  out["siblings"] = std::move(siblings);
  return out;
}

}  // namespace cairn::client
