#include "store/sql/sql_registry_store.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "core/json_writer.h"
#include "store/sql/dialect.h"
#include "store/sql/store_helpers.h"
#include "store/sql/txn.h"

namespace cairn::store::sql {
namespace {

// ---- columns (read by ReadModelRow / ReadVersionRow in this order) ----

#define CAIRN_MODEL_COLUMNS \
  "m.model_id, m.name, m.description, m.user_id, m.creation_time, m.last_updated_time"
#define CAIRN_VERSION_COLUMNS                                                                    \
  "v.model_id, m.name, v.version, v.creation_time, v.last_updated_time, v.user_id, "             \
  "v.current_stage, v.description, v.source, v.run_id, v.run_link, v.status, v.status_message, " \
  "v.logged_model_id, v.storage_location, v.signature_json"
#define CAIRN_VERSION_FROM \
  " FROM model_versions v JOIN registered_models m ON m.model_id = v.model_id"
#define CAIRN_APPROVAL_COLUMNS                                                                 \
  "a.approval_id, m.name, a.kind, a.target, a.version, a.archive_existing, a.status, "         \
  "a.requested_by, a.requested_at, a.comment, a.decided_by, a.decided_at, a.decision_comment " \
  "FROM approval_requests a JOIN registered_models m ON m.model_id = a.model_id"
#define CAIRN_WEBHOOK_COLUMNS                                                       \
  "w.webhook_id, coalesce(m.name, ''), w.url, w.secret, w.active, w.creation_time " \
  "FROM webhooks w LEFT JOIN registered_models m ON m.model_id = w.model_id"
#define CAIRN_DELIVERY_COLUMNS                                                   \
  "delivery_id, webhook_id, event, payload, status, attempts, next_attempt_at, " \
  "last_http_status, last_error, created_at, delivered_at FROM webhook_deliveries"
#define CAIRN_AUDIT_COLUMNS                                                                     \
  "audit_id, time, actor, action, entity_type, entity_id, model_name, before_json, after_json " \
  "FROM audit_log"

constexpr std::string_view kSelectModelById =
    "SELECT " CAIRN_MODEL_COLUMNS " FROM registered_models m WHERE m.model_id = ?";
constexpr std::string_view kSelectVersion =
    "SELECT " CAIRN_VERSION_COLUMNS CAIRN_VERSION_FROM " WHERE v.model_id = ? AND v.version = ?";
constexpr std::string_view kSelectApproval =
    "SELECT " CAIRN_APPROVAL_COLUMNS " WHERE a.approval_id = ?";
constexpr std::string_view kSelectWebhook =
    "SELECT " CAIRN_WEBHOOK_COLUMNS " WHERE w.webhook_id = ?";

// Stage order of GetLatestVersions (then any other stage, by name).
constexpr std::string_view kStageOrder[] = {kStageNone, kStageStaging, kStageProduction,
                                            kStageArchived};

// ---- errors with MLflow's wording ----

std::unexpected<Error> ModelNotFound(std::string_view name) {
  return NotFound("Registered Model with name=" + std::string(name) + " not found");
}
std::unexpected<Error> ModelExists(std::string_view name) {
  return AlreadyExists("Registered Model (name=" + std::string(name) + ") already exists.");
}
std::unexpected<Error> VersionNotFound(std::string_view name, int64_t version) {
  return NotFound("Model Version (name=" + std::string(name) +
                  ", version=" + std::to_string(version) + ") not found");
}
std::unexpected<Error> AliasNotFound(std::string_view alias) {
  return NotFound("Registered model alias " + std::string(alias) + " not found.");
}
std::unexpected<Error> ApprovalNotFound(int64_t id) {
  return NotFound("Approval request with id=" + std::to_string(id) + " not found");
}
std::unexpected<Error> WebhookNotFound(int64_t id) {
  return NotFound("Webhook with ID " + std::to_string(id) + " not found.");
}

// Row lock for the rest of the transaction. SQLite has no FOR UPDATE and
// needs none: its single writer connection serializes write transactions.
std::string_view ForUpdate(const Connection& c) {
  return c.dialect() == Dialect::kPostgres ? " FOR UPDATE" : "";
}

// ---- small helpers ----

std::string VersionEntityId(std::string_view name, int64_t version) {
  return std::string(name) + "/" + std::to_string(version);
}

std::string AliasEntityId(std::string_view name, std::string_view alias) {
  return std::string(name) + "@" + std::string(alias);
}

constexpr size_t kChunk = 200;

RegisteredModel ReadModelRow(const Statement& s) {
  RegisteredModel m;
  m.name = s.TextCopy(1);
  m.description = s.TextCopy(2);
  m.user_id = s.TextCopy(3);
  m.creation_time = s.Int(4);
  m.last_updated_time = s.Int(5);
  return m;
}

ModelVersion ReadVersionRow(const Statement& s) {
  ModelVersion v;
  v.name = s.TextCopy(1);
  v.version = s.Int(2);
  v.creation_time = s.Int(3);
  v.last_updated_time = s.Int(4);
  v.user_id = s.TextCopy(5);
  v.current_stage = s.TextCopy(6);
  v.description = s.TextCopy(7);
  v.source = s.TextCopy(8);
  v.run_id = s.TextCopy(9);
  v.run_link = s.TextCopy(10);
  v.status = s.TextCopy(11);
  v.status_message = s.TextCopy(12);
  v.model_id = s.TextCopy(13);
  v.storage_location = s.TextCopy(14);
  v.signature_json = s.TextCopy(15);
  return v;
}

ApprovalRequest ReadApprovalRow(const Statement& s) {
  ApprovalRequest a;
  a.id = s.Int(0);
  a.model_name = s.TextCopy(1);
  a.kind = s.TextCopy(2);
  a.target = s.TextCopy(3);
  a.version = s.Int(4);
  a.archive_existing = s.Int(5) != 0;
  a.status = s.TextCopy(6);
  a.requested_by = s.TextCopy(7);
  a.requested_at = s.Int(8);
  a.comment = s.TextCopy(9);
  a.decided_by = s.TextCopy(10);
  a.decided_at = s.Int(11);
  a.decision_comment = s.TextCopy(12);
  return a;
}

Webhook ReadWebhookRow(const Statement& s) {
  Webhook w;
  w.id = s.Int(0);
  w.model_name = s.TextCopy(1);
  w.url = s.TextCopy(2);
  w.secret = s.TextCopy(3);
  w.active = s.Int(4) != 0;
  w.creation_time = s.Int(5);
  return w;
}

WebhookDelivery ReadDeliveryRow(const Statement& s) {
  WebhookDelivery d;
  d.id = s.Int(0);
  d.webhook_id = s.Int(1);
  d.event = s.TextCopy(2);
  d.payload = s.TextCopy(3);
  d.status = s.TextCopy(4);
  d.attempts = static_cast<int>(s.Int(5));
  d.next_attempt_at = s.Int(6);
  d.last_http_status = static_cast<int>(s.Int(7));
  d.last_error = s.TextCopy(8);
  d.created_at = s.Int(9);
  d.delivered_at = s.Int(10);
  return d;
}

AuditEntry ReadAuditRow(const Statement& s) {
  AuditEntry e;
  e.id = s.Int(0);
  e.time = s.Int(1);
  e.actor = s.TextCopy(2);
  e.action = s.TextCopy(3);
  e.entity_type = s.TextCopy(4);
  e.entity_id = s.TextCopy(5);
  e.model_name = s.TextCopy(6);
  e.before = s.TextCopy(7);
  e.after = s.TextCopy(8);
  return e;
}

// ---- JSON documents of the entities (audit before/after) ----

void WriteTags(JsonWriter& w, const std::vector<Tag>& tags) {
  w.Key("tags").BeginArray();
  for (const Tag& t : tags) w.BeginObject().Field("key", t.key).Field("value", t.value).EndObject();
  w.EndArray();
}

void WriteStrings(JsonWriter& w, std::string_view key, const std::vector<std::string>& v) {
  w.Key(key).BeginArray();
  for (const std::string& s : v) w.String(s);
  w.EndArray();
}

std::string ModelJson(const RegisteredModel& m) {
  JsonWriter w;
  w.BeginObject()
      .Field("name", m.name)
      .Field("creation_time", m.creation_time)
      .Field("last_updated_time", m.last_updated_time)
      .Field("user_id", m.user_id)
      .Field("description", m.description);
  WriteTags(w, m.tags);
  w.Key("aliases").BeginArray();
  for (const ModelAlias& a : m.aliases) {
    w.BeginObject().Field("alias", a.alias).Field("version", a.version).EndObject();
  }
  w.EndArray();
  WriteStrings(w, "protected_targets", m.protected_targets);
  w.EndObject();
  return w.Take();
}

std::string VersionJson(const ModelVersion& v) {
  JsonWriter w;
  w.BeginObject()
      .Field("name", v.name)
      .Field("version", v.version)
      .Field("creation_time", v.creation_time)
      .Field("last_updated_time", v.last_updated_time)
      .Field("user_id", v.user_id)
      .Field("current_stage", v.current_stage)
      .Field("description", v.description)
      .Field("source", v.source)
      .Field("run_id", v.run_id)
      .Field("run_link", v.run_link)
      .Field("status", v.status)
      .Field("status_message", v.status_message)
      .Field("model_id", v.model_id)
      .Field("storage_location", v.storage_location)
      .Field("signature_json", v.signature_json);
  WriteTags(w, v.tags);
  WriteStrings(w, "aliases", v.aliases);
  w.EndObject();
  return w.Take();
}

std::string AliasJson(std::string_view name, std::string_view alias, int64_t version) {
  JsonWriter w;
  w.BeginObject().Field("name", name).Field("alias", alias).Field("version", version).EndObject();
  return w.Take();
}

std::string ApprovalJson(const ApprovalRequest& a) {
  JsonWriter w;
  w.BeginObject()
      .Field("id", a.id)
      .Field("model_name", a.model_name)
      .Field("kind", a.kind)
      .Field("target", a.target)
      .Field("version", a.version)
      .Key("archive_existing")
      .Bool(a.archive_existing)
      .Field("status", a.status)
      .Field("requested_by", a.requested_by)
      .Field("requested_at", a.requested_at)
      .Field("comment", a.comment)
      .Field("decided_by", a.decided_by)
      .Field("decided_at", a.decided_at)
      .Field("decision_comment", a.decision_comment)
      .EndObject();
  return w.Take();
}

// Without the secret: audit entries are readable by every user.
std::string WebhookJson(const Webhook& h) {
  JsonWriter w;
  w.BeginObject().Field("id", h.id).Field("model_name", h.model_name).Field("url", h.url);
  WriteStrings(w, "events", h.events);
  w.Key("active").Bool(h.active).Field("creation_time", h.creation_time).EndObject();
  return w.Take();
}

// ---- loading ----

// Tags, aliases and protected targets of `models` (ids[i] is models[i]'s).
Status LoadModelExtras(Connection& c, std::vector<RegisteredModel>& models,
                       const std::vector<int64_t>& ids) {
  std::map<int64_t, size_t> pos;
  for (size_t i = 0; i < ids.size(); ++i) pos[ids[i]] = i;
  for (size_t first = 0; first < ids.size(); first += kChunk) {
    size_t n = std::min(kChunk, ids.size() - first);
    const std::string in = Placeholders(n);
    auto run = [&](const std::string& sql, auto&& on_row) -> Status {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(sql + in, /*cached=*/n == 1));
      for (size_t i = 0; i < n; ++i) s->Bind(static_cast<int>(i), Value::Int(ids[first + i]));
      return ForEachRow(*s, [&] { on_row(*s, models[pos.at(s->Int(0))]); });
    };
    CAIRN_RETURN_IF_ERROR(
        run("SELECT model_id, key, value FROM registered_model_tags WHERE model_id IN ",
            [](const Statement& s, RegisteredModel& m) {
              m.tags.push_back(Tag{s.TextCopy(1), s.TextCopy(2)});
            }));
    CAIRN_RETURN_IF_ERROR(
        run("SELECT model_id, alias, version FROM model_aliases WHERE model_id IN ",
            [](const Statement& s, RegisteredModel& m) {
              m.aliases.push_back(ModelAlias{s.TextCopy(1), s.Int(2)});
            }));
    CAIRN_RETURN_IF_ERROR(
        run("SELECT model_id, target FROM registered_model_protected_targets WHERE model_id IN ",
            [](const Statement& s, RegisteredModel& m) {
              m.protected_targets.push_back(s.TextCopy(1));
            }));
  }
  for (RegisteredModel& m : models) {
    SortByKey(m.tags);
    std::sort(m.aliases.begin(), m.aliases.end(),
              [](const ModelAlias& a, const ModelAlias& b) { return a.alias < b.alias; });
    std::sort(m.protected_targets.begin(), m.protected_targets.end());
  }
  return {};
}

// Tags and aliases of `versions` (model_ids[i] is versions[i]'s model).
Status LoadVersionExtras(Connection& c, std::vector<ModelVersion>& versions,
                         const std::vector<int64_t>& model_ids) {
  std::map<std::pair<int64_t, int64_t>, size_t> pos;
  for (size_t i = 0; i < versions.size(); ++i) pos[{model_ids[i], versions[i].version}] = i;
  for (size_t first = 0; first < versions.size(); first += kChunk) {
    size_t n = std::min(kChunk, versions.size() - first);
    // (model_id, version) IN (VALUES (?, ?), ...): row values, both engines.
    std::string in = " IN (VALUES ";
    for (size_t i = 0; i < n; ++i) {
      in.append(i == 0 ? "" : ", ").append("(CAST(? AS BIGINT), CAST(? AS BIGINT))");
    }
    in.push_back(')');
    auto run = [&](std::string_view sql, auto&& on_row) -> Status {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(std::string(sql) + in, /*cached=*/n == 1));
      for (size_t i = 0; i < n; ++i) {
        s->Bind(static_cast<int>(2 * i), Value::Int(model_ids[first + i]));
        s->Bind(static_cast<int>(2 * i + 1), Value::Int(versions[first + i].version));
      }
      return ForEachRow(*s, [&] {
        auto it = pos.find({s->Int(0), s->Int(1)});
        if (it != pos.end()) on_row(*s, versions[it->second]);
      });
    };
    CAIRN_RETURN_IF_ERROR(run(
        "SELECT model_id, version, key, value FROM model_version_tags WHERE (model_id, version)",
        [](const Statement& s, ModelVersion& v) {
          v.tags.push_back(Tag{s.TextCopy(2), s.TextCopy(3)});
        }));
    CAIRN_RETURN_IF_ERROR(
        run("SELECT model_id, version, alias FROM model_aliases WHERE (model_id, version)",
            [](const Statement& s, ModelVersion& v) { v.aliases.push_back(s.TextCopy(2)); }));
  }
  for (ModelVersion& v : versions) {
    SortByKey(v.tags);
    std::sort(v.aliases.begin(), v.aliases.end());
  }
  return {};
}

// Runs a version query (CAIRN_VERSION_COLUMNS first) and loads the extras.
Result<std::vector<ModelVersion>> QueryVersions(Connection& c, Statement& s) {
  std::vector<ModelVersion> out;
  std::vector<int64_t> ids;
  CAIRN_RETURN_IF_ERROR(ForEachRow(s, [&] {
    ids.push_back(s.Int(0));
    out.push_back(ReadVersionRow(s));
  }));
  s.Reset();
  CAIRN_RETURN_IF_ERROR(LoadVersionExtras(c, out, ids));
  return out;
}

Result<RegisteredModel> LoadModel(Connection& c, int64_t id) {
  std::vector<RegisteredModel> one;
  {
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(kSelectModelById));
    s->BindAll(id);
    CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
    if (!row) return Internal("registered model " + std::to_string(id) + " vanished");
    one.push_back(ReadModelRow(*s));
  }
  CAIRN_RETURN_IF_ERROR(LoadModelExtras(c, one, {id}));
  return std::move(one[0]);
}

Result<ModelVersion> LoadVersion(Connection& c, int64_t model_id, std::string_view name,
                                 int64_t version) {
  CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(kSelectVersion));
  s->BindAll(model_id, version);
  CAIRN_ASSIGN_OR_RETURN(auto v, QueryVersions(c, *s));
  if (v.empty()) return VersionNotFound(name, version);
  return std::move(v[0]);
}

struct ModelRow {
  int64_t id = 0;
  int64_t last_version = 0;
};

// The model's id (and last version number); with `lock`, the row is locked
// for the rest of the write transaction, which serializes every mutation of
// one model.
Result<ModelRow> FindModel(Connection& c, const std::string& name, bool lock) {
  std::string sql = "SELECT model_id, last_version FROM registered_models WHERE name = ?";
  if (lock) sql.append(ForUpdate(c));
  CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(sql));
  s->BindAll(name);
  CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return ModelNotFound(name);
  return ModelRow{s->Int(0), s->Int(1)};
}

Status LockModelById(Connection& c, int64_t id) {
  std::string sql = "SELECT model_id FROM registered_models WHERE model_id = ?";
  sql.append(ForUpdate(c));
  CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(sql));
  s->BindAll(id);
  CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return Internal("registered model " + std::to_string(id) + " vanished");
  return {};
}

Status TouchModel(Connection& c, int64_t id, int64_t time) {
  CAIRN_ASSIGN_OR_RETURN(
      auto s, c.Prepare("UPDATE registered_models SET last_updated_time = ? WHERE model_id = ?"));
  s->BindAll(time, id);
  CAIRN_RETURN_IF_ERROR(s->Exec());
  return {};
}

struct AuditRecord {
  std::string_view action;
  std::string_view entity_type;
  std::string_view entity_id;
  std::string_view model_name;
  std::string_view before;
  std::string_view after;
};

Status InsertAudit(Connection& c, int64_t time, std::string_view actor, const AuditRecord& r) {
  CAIRN_ASSIGN_OR_RETURN(
      auto s, c.Prepare("INSERT INTO audit_log (time, actor, action, entity_type, entity_id, "
                        "model_name, before_json, after_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  s->BindAll(time, actor, r.action, r.entity_type, r.entity_id, r.model_name, r.before, r.after);
  CAIRN_RETURN_IF_ERROR(s->Exec());
  return {};
}

// One pending delivery per active webhook subscribed to `event` for the
// model `model_id` (or for every model).
Status EnqueueDeliveries(Connection& c, int64_t model_id, const Event& event, int64_t time) {
  if (event.name.empty()) return {};
  CAIRN_ASSIGN_OR_RETURN(
      auto s,
      c.Prepare("INSERT INTO webhook_deliveries (webhook_id, event, payload, status, attempts, "
                "next_attempt_at, last_http_status, last_error, created_at, delivered_at) "
                "SELECT w.webhook_id, CAST(? AS TEXT), CAST(? AS TEXT), 'pending', 0, "
                "CAST(? AS BIGINT), 0, '', CAST(? AS BIGINT), 0 FROM webhooks w "
                "WHERE w.active = 1 AND (w.model_id IS NULL OR w.model_id = ?) AND "
                "(NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.webhook_id = w.webhook_id) "
                "OR EXISTS (SELECT 1 FROM webhook_events e WHERE e.webhook_id = w.webhook_id "
                "AND e.event = ?)) ORDER BY w.webhook_id"));
  s->BindAll(event.name, event.payload, time, time, model_id, event.name);
  CAIRN_RETURN_IF_ERROR(s->Exec());
  return {};
}

// Bind values of a dynamically built query; text views point into the
// query object or into `owned`.
struct Binds {
  std::vector<Value> values;
  std::deque<std::string> owned;
  void Text(std::string_view v) { values.push_back(Value::Text(v)); }
  void Int(int64_t v) { values.push_back(Value::Int(v)); }
  void BindTo(Statement& s) const {
    for (size_t i = 0; i < values.size(); ++i) s.Bind(static_cast<int>(i), values[i]);
  }
};

Result<int64_t> ParseVersionNumber(std::string_view text) {
  int64_t v = 0;
  if (text.empty() || text.size() > 18) {
    return InvalidArgument("Invalid version number '" + std::string(text) + "'");
  }
  for (char ch : text) {
    if (ch < '0' || ch > '9') {
      return InvalidArgument("Invalid version number '" + std::string(text) + "'");
    }
    v = v * 10 + (ch - '0');
  }
  return v;
}

// The SQL condition `expr <op> values` (binding the values).
Result<std::string> Condition(Dialect d, const std::string& expr, RegistryComparison::Op op,
                              const std::vector<std::string>& values, bool numeric, Binds& b) {
  using Op = RegistryComparison::Op;
  auto bind = [&](const std::string& v) -> Status {
    if (!numeric) {
      b.Text(v);
      return {};
    }
    CAIRN_ASSIGN_OR_RETURN(int64_t n, ParseVersionNumber(v));
    b.Int(n);
    return {};
  };
  if (op == Op::kIn || op == Op::kNotIn) {
    for (const std::string& v : values) CAIRN_RETURN_IF_ERROR(bind(v));
    return InListCondition(expr, values.size(), /*negate=*/op == Op::kNotIn);
  }
  if (values.size() != 1) {
    return InvalidArgument("comparison on " + expr + " needs exactly one value");
  }
  if (op == Op::kLike || op == Op::kILike) {
    if (numeric) return InvalidArgument("LIKE and ILIKE do not apply to version numbers");
    b.Text(values[0]);
    return LikeCondition(d, expr, op == Op::kILike);
  }
  CAIRN_RETURN_IF_ERROR(bind(values[0]));
  switch (op) {
    case Op::kEq:
      return expr + " = ?";
    case Op::kNe:
      return expr + " <> ?";
    case Op::kGt:
      return expr + " > ?";
    case Op::kGe:
      return expr + " >= ?";
    case Op::kLt:
      return expr + " < ?";
    case Op::kLe:
      return expr + " <= ?";
    default:
      break;
  }
  return InvalidArgument("unsupported comparison");
}

constexpr std::string_view kPromptTag = "mlflow.prompt.is_prompt";

// WHERE clause (" WHERE ..." or "") of a registry search. `versions`:
// searching model versions (aliases v, m) rather than models (m).
Result<std::string> CompileFilter(Dialect d, const std::vector<RegistryComparison>& filter,
                                  bool versions, Binds& b) {
  using Field = RegistryComparison::Field;
  std::string where;
  for (const RegistryComparison& cmp : filter) {
    std::string cond;
    if (cmp.field == Field::kTag && cmp.key == kPromptTag) {
      // MLflow's clients add `tags.mlflow.prompt.is_prompt != 'true'` to
      // every search to hide prompts, and models do not carry the tag, so
      // (as MLflow's own store does) the prompt tag is a set test: "= true"
      // or "!= false" selects prompts, anything else everything else.
      bool want_prompts = cmp.values.size() == 1 &&
                          ((cmp.op == RegistryComparison::Op::kEq && cmp.values[0] == "true") ||
                           (cmp.op == RegistryComparison::Op::kNe && cmp.values[0] == "false"));
      std::string sub = versions ? "EXISTS (SELECT 1 FROM model_version_tags t WHERE "
                                   "t.model_id = v.model_id AND t.version = v.version AND "
                                 : "EXISTS (SELECT 1 FROM registered_model_tags t WHERE "
                                   "t.model_id = m.model_id AND ";
      b.Text(kPromptTag);
      cond = std::string(want_prompts ? "" : "NOT ") + sub + "t.key = ? AND t.value = 'true')";
    } else if (cmp.field == Field::kTag) {
      std::string sub = versions ? "EXISTS (SELECT 1 FROM model_version_tags t WHERE "
                                   "t.model_id = v.model_id AND t.version = v.version AND "
                                 : "EXISTS (SELECT 1 FROM registered_model_tags t WHERE "
                                   "t.model_id = m.model_id AND ";
      b.Text(cmp.key);
      CAIRN_ASSIGN_OR_RETURN(std::string value_cond,
                             Condition(d, "t.value", cmp.op, cmp.values, false, b));
      cond = sub + "t.key = ? AND " + value_cond + ")";
    } else {
      std::string expr;
      bool numeric = false;
      switch (cmp.field) {
        case Field::kName:
          expr = "m.name";
          break;
        case Field::kRunId:
          expr = "v.run_id";
          break;
        case Field::kSource:
          expr = "v.source";
          break;
        case Field::kVersion:
          expr = "v.version";
          numeric = true;
          break;
        case Field::kModelId:
          expr = "v.logged_model_id";
          break;
        case Field::kStage:
          expr = "v.current_stage";
          break;
        case Field::kTag:
          break;
      }
      if (!versions && cmp.field != Field::kName) {
        return InvalidArgument("registered models can be searched by name and tags only");
      }
      CAIRN_ASSIGN_OR_RETURN(cond, Condition(d, expr, cmp.op, cmp.values, numeric, b));
    }
    where.append(where.empty() ? " WHERE " : " AND ").append(cond);
  }
  return where;
}

Result<std::string> CompileOrder(const std::vector<RegistryOrderBy>& order, bool versions) {
  using Field = RegistryOrderBy::Field;
  std::string out = " ORDER BY ";
  bool has_name = false, has_version = false;
  for (const RegistryOrderBy& o : order) {
    std::string col;
    switch (o.field) {
      case Field::kName:
        col = "m.name";
        has_name = true;
        break;
      case Field::kVersion:
        if (!versions) return InvalidArgument("registered models cannot be ordered by version");
        col = "v.version";
        has_version = true;
        break;
      case Field::kCreationTime:
        col = versions ? "v.creation_time" : "m.creation_time";
        break;
      case Field::kLastUpdatedTime:
        col = versions ? "v.last_updated_time" : "m.last_updated_time";
        break;
    }
    out.append(col).append(o.ascending ? " ASC, " : " DESC, ");
  }
  if (!has_name) out.append("m.name ASC, ");
  if (versions && !has_version) out.append("v.version DESC, ");
  out.resize(out.size() - 2);
  return out;
}

Status CheckPaging(int64_t offset) {
  if (offset < 0) return InvalidArgument("offset must not be negative");
  return {};
}

// " LIMIT ? OFFSET ?" asking one row more than the page, to tell whether
// another page follows (max_results <= 0: no limit).
void AppendLimit(std::string& sql, Binds& b, int64_t max_results, int64_t offset) {
  constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();
  sql.append(" LIMIT ? OFFSET ?");
  b.Int(max_results > 0 && max_results < kNoLimit ? max_results + 1 : kNoLimit);
  b.Int(offset);
}

Status InsertModelTag(Connection& c, int64_t id, const Tag& t) {
  CAIRN_ASSIGN_OR_RETURN(
      auto s, c.Prepare("INSERT INTO registered_model_tags (model_id, key, value) VALUES (?, ?, ?) "
                        "ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"));
  s->BindAll(id, t.key, t.value);
  CAIRN_RETURN_IF_ERROR(s->Exec());
  return {};
}

Status InsertVersionTag(Connection& c, int64_t id, int64_t version, const Tag& t) {
  CAIRN_ASSIGN_OR_RETURN(auto s,
                         c.Prepare("INSERT INTO model_version_tags (model_id, version, key, value) "
                                   "VALUES (?, ?, ?, ?) ON CONFLICT (model_id, version, key) "
                                   "DO UPDATE SET value = excluded.value"));
  s->BindAll(id, version, t.key, t.value);
  CAIRN_RETURN_IF_ERROR(s->Exec());
  return {};
}

Status InsertProtectedTargets(Connection& c, int64_t id, const std::vector<std::string>& targets) {
  std::set<std::string_view> unique(targets.begin(), targets.end());
  for (std::string_view t : unique) {
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("INSERT INTO registered_model_protected_targets "
                                             "(model_id, target) VALUES (?, ?)"));
    s->BindAll(id, t);
    CAIRN_RETURN_IF_ERROR(s->Exec());
  }
  return {};
}

Status InsertAliasHistory(Connection& c, int64_t id, std::string_view alias, int64_t version,
                          int64_t time, std::string_view actor) {
  CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("INSERT INTO alias_history (model_id, alias, version, "
                                           "time, actor) VALUES (?, ?, ?, ?, ?)"));
  s->BindAll(id, alias, version, time, actor);
  CAIRN_RETURN_IF_ERROR(s->Exec());
  return {};
}

// The version an alias points at, if it exists.
Result<std::optional<int64_t>> FindAlias(Connection& c, int64_t id, std::string_view alias) {
  CAIRN_ASSIGN_OR_RETURN(
      auto s, c.Prepare("SELECT version FROM model_aliases WHERE model_id = ? AND alias = ?"));
  s->BindAll(id, alias);
  CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(s->Int(0));
}

Result<ApprovalRequest> LoadApproval(Connection& c, int64_t id) {
  CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(kSelectApproval));
  s->BindAll(id);
  CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return ApprovalNotFound(id);
  return ReadApprovalRow(*s);
}

Status LoadWebhookEvents(Connection& c, std::vector<Webhook>& hooks) {
  for (Webhook& h : hooks) {
    CAIRN_ASSIGN_OR_RETURN(
        auto s, c.Prepare("SELECT event FROM webhook_events WHERE webhook_id = ? ORDER BY event"));
    s->BindAll(h.id);
    CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { h.events.push_back(s->TextCopy(0)); }));
  }
  return {};
}

Result<Webhook> LoadWebhook(Connection& c, int64_t id) {
  std::vector<Webhook> one;
  {
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(kSelectWebhook));
    s->BindAll(id);
    CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
    if (!row) return WebhookNotFound(id);
    one.push_back(ReadWebhookRow(*s));
  }
  CAIRN_RETURN_IF_ERROR(LoadWebhookEvents(c, one));
  return std::move(one[0]);
}

// ---- audited changes ----

// An audited change of the registered model `name` inside the caller's write
// transaction: finds it (row locked), runs change(row) -> Result<bool> (false:
// nothing changed, nothing audited), reloads it and audits `action` on it
// (entity: its name after the change) with its JSON before and after. The
// model after the change; std::nullopt when nothing changed.
template <typename F>
Result<std::optional<RegisteredModel>> ChangeModelAudited(Connection& c, const std::string& name,
                                                          std::string_view action, int64_t now,
                                                          std::string_view user, F&& change) {
  CAIRN_ASSIGN_OR_RETURN(ModelRow row, FindModel(c, name, /*lock=*/true));
  CAIRN_ASSIGN_OR_RETURN(RegisteredModel before, LoadModel(c, row.id));
  CAIRN_ASSIGN_OR_RETURN(bool changed, change(row));
  if (!changed) return std::nullopt;
  CAIRN_ASSIGN_OR_RETURN(RegisteredModel after, LoadModel(c, row.id));
  const std::string before_json = ModelJson(before), after_json = ModelJson(after);
  CAIRN_RETURN_IF_ERROR(InsertAudit(
      c, now, user, {action, "registered_model", after.name, after.name, before_json, after_json}));
  return after;
}

// The same for version `version` of the model `name` (entity "<name>/<version>").
template <typename F>
Result<std::optional<ModelVersion>> ChangeVersionAudited(Connection& c, const std::string& name,
                                                         int64_t version, std::string_view action,
                                                         int64_t now, std::string_view user,
                                                         F&& change) {
  CAIRN_ASSIGN_OR_RETURN(ModelRow row, FindModel(c, name, /*lock=*/true));
  CAIRN_ASSIGN_OR_RETURN(ModelVersion before, LoadVersion(c, row.id, name, version));
  CAIRN_ASSIGN_OR_RETURN(bool changed, change(row));
  if (!changed) return std::nullopt;
  CAIRN_ASSIGN_OR_RETURN(ModelVersion after, LoadVersion(c, row.id, name, version));
  const std::string before_json = VersionJson(before), after_json = VersionJson(after);
  const std::string entity = VersionEntityId(name, version);
  CAIRN_RETURN_IF_ERROR(
      InsertAudit(c, now, user, {action, "model_version", entity, name, before_json, after_json}));
  return after;
}

int StageRank(std::string_view stage) {
  for (size_t i = 0; i < std::size(kStageOrder); ++i) {
    if (kStageOrder[i] == stage) return static_cast<int>(i);
  }
  return static_cast<int>(std::size(kStageOrder));
}

// GetLatestVersions' order: None, Staging, Production, Archived, then any
// other stage by name; one version per stage.
void SortByStage(std::vector<ModelVersion>& versions) {
  std::sort(versions.begin(), versions.end(), [](const ModelVersion& a, const ModelVersion& b) {
    int ra = StageRank(a.current_stage), rb = StageRank(b.current_stage);
    if (ra != rb) return ra < rb;
    if (a.current_stage != b.current_stage) return a.current_stage < b.current_stage;
    return a.version < b.version;
  });
}

}  // namespace

SqlRegistryStore::SqlRegistryStore(Database& db, const Clock& clock) : db_(db), clock_(clock) {}

SqlRegistryStore::~SqlRegistryStore() = default;

int64_t SqlRegistryStore::TimeOf(const Actor& actor) const {
  return actor.time != 0 ? actor.time : clock_.NowMillis();
}

// ------------------------------------------------------ registered models

Result<RegisteredModel> SqlRegistryStore::CreateRegisteredModel(const RegisteredModel& m,
                                                                const Actor& actor) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Result<RegisteredModel> {
    int64_t id = 0;
    {
      CAIRN_ASSIGN_OR_RETURN(auto s,
                             c.Prepare("INSERT INTO registered_models (name, description, user_id, "
                                       "creation_time, last_updated_time, last_version) "
                                       "VALUES (?, ?, ?, ?, ?, 0) RETURNING model_id"));
      const int64_t created = m.creation_time != 0 ? m.creation_time : now;
      const int64_t updated = m.last_updated_time != 0 ? m.last_updated_time : created;
      s->BindAll(m.name, m.description, m.user_id.empty() ? actor.user : m.user_id, created,
                 updated);
      auto row = s->Next();
      if (!row) {
        if (row.error().code() == ErrorCode::kAlreadyExists) return ModelExists(m.name);
        return std::unexpected(row.error());
      }
      if (!*row) return Internal("creating a registered model returned no id");
      id = s->Int(0);
    }
    for (const Tag& t : m.tags) CAIRN_RETURN_IF_ERROR(InsertModelTag(c, id, t));
    CAIRN_RETURN_IF_ERROR(InsertProtectedTargets(c, id, m.protected_targets));
    CAIRN_ASSIGN_OR_RETURN(RegisteredModel after, LoadModel(c, id));
    const std::string after_json = ModelJson(after);
    CAIRN_RETURN_IF_ERROR(InsertAudit(
        c, now, actor.user,
        {"registered_model.create", "registered_model", m.name, m.name, "", after_json}));
    return after;
  });
}

Result<RegisteredModel> SqlRegistryStore::GetRegisteredModel(const std::string& name) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<RegisteredModel> {
    CAIRN_ASSIGN_OR_RETURN(ModelRow row, FindModel(c, name, false));
    return LoadModel(c, row.id);
  });
}

Result<RegisteredModel> SqlRegistryStore::RenameRegisteredModel(const std::string& name,
                                                                const std::string& new_name,
                                                                const Actor& actor) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Result<RegisteredModel> {
    auto change = [&](const ModelRow& row) -> Result<bool> {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE registered_models SET name = ?, "
                                               "last_updated_time = ? WHERE model_id = ?"));
      s->BindAll(new_name, now, row.id);
      auto done = s->Exec();
      if (!done) {
        if (done.error().code() == ErrorCode::kAlreadyExists) return ModelExists(new_name);
        return std::unexpected(done.error());
      }
      return true;
    };
    CAIRN_ASSIGN_OR_RETURN(
        std::optional<RegisteredModel> after,
        ChangeModelAudited(c, name, "registered_model.rename", now, actor.user, change));
    return std::move(*after);
  });
}

Result<RegisteredModel> SqlRegistryStore::UpdateRegisteredModel(const std::string& name,
                                                                const std::string& description,
                                                                const Actor& actor) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Result<RegisteredModel> {
    auto change = [&](const ModelRow& row) -> Result<bool> {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE registered_models SET description = ?, "
                                               "last_updated_time = ? WHERE model_id = ?"));
      s->BindAll(description, now, row.id);
      CAIRN_RETURN_IF_ERROR(s->Exec());
      return true;
    };
    CAIRN_ASSIGN_OR_RETURN(
        std::optional<RegisteredModel> after,
        ChangeModelAudited(c, name, "registered_model.update", now, actor.user, change));
    return std::move(*after);
  });
}

Status SqlRegistryStore::DeleteRegisteredModel(const std::string& name, const Actor& actor) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    CAIRN_ASSIGN_OR_RETURN(ModelRow row, FindModel(c, name, true));
    CAIRN_ASSIGN_OR_RETURN(RegisteredModel before, LoadModel(c, row.id));
    {
      // Versions, tags, aliases, alias history, approvals and webhooks go
      // with it (ON DELETE CASCADE); the audit log keeps its entries.
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM registered_models WHERE model_id = ?"));
      s->BindAll(row.id);
      CAIRN_RETURN_IF_ERROR(s->Exec());
    }
    const std::string before_json = ModelJson(before);
    return InsertAudit(
        c, now, actor.user,
        {"registered_model.delete", "registered_model", name, name, before_json, ""});
  });
}

Result<RegisteredModelPage> SqlRegistryStore::SearchRegisteredModels(const RegistryQuery& q) {
  CAIRN_RETURN_IF_ERROR(CheckPaging(q.offset));
  Binds b;
  CAIRN_ASSIGN_OR_RETURN(std::string where, CompileFilter(db_.dialect(), q.filter, false, b));
  CAIRN_ASSIGN_OR_RETURN(std::string order, CompileOrder(q.order_by, false));
  std::string sql = "SELECT " CAIRN_MODEL_COLUMNS " FROM registered_models m" + where + order;
  AppendLimit(sql, b, q.max_results, q.offset);
  return WithReadTxn(db_, [&](Connection& c) -> Result<RegisteredModelPage> {
    RegisteredModelPage page;
    std::vector<int64_t> ids;
    {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(sql, /*cached=*/false));
      b.BindTo(*s);
      CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] {
        ids.push_back(s->Int(0));
        page.models.push_back(ReadModelRow(*s));
      }));
    }
    page.next_offset = TrimPage(page.models, q.max_results, q.offset);
    ids.resize(page.models.size());
    CAIRN_RETURN_IF_ERROR(LoadModelExtras(c, page.models, ids));
    return page;
  });
}

Status SqlRegistryStore::SetRegisteredModelTag(const std::string& name, const Tag& tag,
                                               const Actor& actor) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    auto change = [&](const ModelRow& row) -> Result<bool> {
      CAIRN_RETURN_IF_ERROR(InsertModelTag(c, row.id, tag));
      return true;
    };
    CAIRN_RETURN_IF_ERROR(
        ChangeModelAudited(c, name, "registered_model.set_tag", now, actor.user, change));
    return {};
  });
}

Status SqlRegistryStore::DeleteRegisteredModelTag(const std::string& name, const std::string& key,
                                                  const Actor& actor) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    auto change = [&](const ModelRow& row) -> Result<bool> {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM registered_model_tags "
                                               "WHERE model_id = ? AND key = ?"));
      s->BindAll(row.id, key);
      CAIRN_ASSIGN_OR_RETURN(int64_t changed, s->Exec());
      return changed != 0;  // as MLflow: deleting a missing tag is a no-op
    };
    CAIRN_RETURN_IF_ERROR(
        ChangeModelAudited(c, name, "registered_model.delete_tag", now, actor.user, change));
    return {};
  });
}

Status SqlRegistryStore::SetProtectedTargets(const std::string& name,
                                             const std::vector<std::string>& targets,
                                             const Actor& actor) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    auto change = [&](const ModelRow& row) -> Result<bool> {
      {
        CAIRN_ASSIGN_OR_RETURN(
            auto s, c.Prepare("DELETE FROM registered_model_protected_targets WHERE model_id = ?"));
        s->BindAll(row.id);
        CAIRN_RETURN_IF_ERROR(s->Exec());
      }
      CAIRN_RETURN_IF_ERROR(InsertProtectedTargets(c, row.id, targets));
      return true;
    };
    CAIRN_RETURN_IF_ERROR(ChangeModelAudited(c, name, "registered_model.set_protected_targets", now,
                                             actor.user, change));
    return {};
  });
}

Result<std::vector<ModelVersion>> SqlRegistryStore::GetLatestVersions(
    const std::string& name, const std::vector<std::string>& stages) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<ModelVersion>> {
    CAIRN_ASSIGN_OR_RETURN(ModelRow row, FindModel(c, name, false));
    CAIRN_ASSIGN_OR_RETURN(
        auto s, c.Prepare("SELECT " CAIRN_VERSION_COLUMNS CAIRN_VERSION_FROM
                          " WHERE v.model_id = ? AND v.version = (SELECT max(v2.version) FROM "
                          "model_versions v2 WHERE v2.model_id = v.model_id AND "
                          "v2.current_stage = v.current_stage)"));
    s->BindAll(row.id);
    CAIRN_ASSIGN_OR_RETURN(std::vector<ModelVersion> all, QueryVersions(c, *s));
    std::vector<ModelVersion> out;
    for (ModelVersion& v : all) {
      if (stages.empty() ||
          std::find(stages.begin(), stages.end(), v.current_stage) != stages.end()) {
        out.push_back(std::move(v));
      }
    }
    SortByStage(out);
    return out;
  });
}

Result<std::vector<std::vector<ModelVersion>>> SqlRegistryStore::GetLatestVersionsOf(
    const std::vector<std::string>& names) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<std::vector<ModelVersion>>> {
    std::vector<std::vector<ModelVersion>> out(names.size());
    std::map<std::string, std::vector<size_t>> positions;  // a name may repeat
    for (size_t i = 0; i < names.size(); ++i) positions[names[i]].push_back(i);
    std::vector<std::string> unique;
    for (const auto& [name, at] : positions) unique.push_back(name);
    for (size_t first = 0; first < unique.size(); first += kChunk) {
      const size_t n = std::min(kChunk, unique.size() - first);
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("SELECT " CAIRN_VERSION_COLUMNS CAIRN_VERSION_FROM
                            " WHERE m.name IN " +
                                Placeholders(n) +
                                " AND v.version = (SELECT max(v2.version) FROM model_versions v2 "
                                "WHERE v2.model_id = v.model_id AND "
                                "v2.current_stage = v.current_stage)",
                            /*cached=*/n == 1));
      for (size_t i = 0; i < n; ++i) s->Bind(static_cast<int>(i), Value::Text(unique[first + i]));
      CAIRN_ASSIGN_OR_RETURN(std::vector<ModelVersion> versions, QueryVersions(c, *s));
      for (ModelVersion& v : versions) {
        const std::vector<size_t>& at = positions.at(v.name);
        for (size_t k = 0; k + 1 < at.size(); ++k) out[at[k]].push_back(v);
        out[at.back()].push_back(std::move(v));
      }
    }
    for (std::vector<ModelVersion>& list : out) SortByStage(list);
    return out;
  });
}

// --------------------------------------------------------- model versions

Result<ModelVersion> SqlRegistryStore::CreateModelVersion(const NewModelVersion& v,
                                                          const Actor& actor, const Event& event) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Result<ModelVersion> {
    // The locked row makes "last + 1" atomic among concurrent creators.
    CAIRN_ASSIGN_OR_RETURN(ModelRow row, FindModel(c, v.name, true));
    const int64_t version = row.last_version + 1;
    {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE registered_models SET last_version = ?, "
                                               "last_updated_time = ? WHERE model_id = ?"));
      s->BindAll(version, now, row.id);
      CAIRN_RETURN_IF_ERROR(s->Exec());
    }
    std::string storage = v.source;
    if (v.place) {
      CAIRN_ASSIGN_OR_RETURN(storage, v.place(version));
    }
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("INSERT INTO model_versions (model_id, version, creation_time, "
                            "last_updated_time, user_id, current_stage, description, source, "
                            "run_id, run_link, status, status_message, logged_model_id, "
                            "storage_location, signature_json) "
                            "VALUES (?, ?, ?, ?, ?, 'None', ?, ?, ?, ?, ?, '', ?, ?, ?)"));
      s->BindAll(row.id, version, now, now, actor.user, v.description, v.source, v.run_id,
                 v.run_link, v.status, v.model_id, storage, v.signature_json);
      CAIRN_RETURN_IF_ERROR(s->Exec());
    }
    for (const Tag& t : v.tags) CAIRN_RETURN_IF_ERROR(InsertVersionTag(c, row.id, version, t));
    CAIRN_ASSIGN_OR_RETURN(ModelVersion after, LoadVersion(c, row.id, v.name, version));
    const std::string after_json = VersionJson(after);
    const std::string entity = VersionEntityId(v.name, version);
    CAIRN_RETURN_IF_ERROR(
        InsertAudit(c, now, actor.user,
                    {"model_version.create", "model_version", entity, v.name, "", after_json}));
    CAIRN_RETURN_IF_ERROR(EnqueueDeliveries(c, row.id, event, now));
    return after;
  });
}

Result<ModelVersion> SqlRegistryStore::GetModelVersion(const std::string& name, int64_t version) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<ModelVersion> {
    CAIRN_ASSIGN_OR_RETURN(ModelRow row, FindModel(c, name, false));
    return LoadVersion(c, row.id, name, version);
  });
}

Result<ModelVersion> SqlRegistryStore::UpdateModelVersion(const std::string& name, int64_t version,
                                                          const ModelVersionUpdate& u,
                                                          const Actor& actor) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Result<ModelVersion> {
    auto change = [&](const ModelRow& row) -> Result<bool> {
      auto set = [&](std::string_view column, const std::optional<std::string>& value) -> Status {
        if (!value) return {};
        CAIRN_ASSIGN_OR_RETURN(auto s,
                               c.Prepare("UPDATE model_versions SET " + std::string(column) +
                                         " = ? WHERE model_id = ? AND version = ?"));
        s->BindAll(*value, row.id, version);
        CAIRN_RETURN_IF_ERROR(s->Exec());
        return {};
      };
      CAIRN_RETURN_IF_ERROR(set("description", u.description));
      CAIRN_RETURN_IF_ERROR(set("status", u.status));
      CAIRN_RETURN_IF_ERROR(set("status_message", u.status_message));
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE model_versions SET last_updated_time = ? "
                                               "WHERE model_id = ? AND version = ?"));
      s->BindAll(now, row.id, version);
      CAIRN_RETURN_IF_ERROR(s->Exec());
      return true;
    };
    CAIRN_ASSIGN_OR_RETURN(
        std::optional<ModelVersion> after,
        ChangeVersionAudited(c, name, version, "model_version.update", now, actor.user, change));
    return std::move(*after);
  });
}

Status SqlRegistryStore::DeleteModelVersion(const std::string& name, int64_t version,
                                            const Actor& actor) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    CAIRN_ASSIGN_OR_RETURN(ModelRow row, FindModel(c, name, true));
    CAIRN_ASSIGN_OR_RETURN(ModelVersion before, LoadVersion(c, row.id, name, version));
    // Its aliases go with it (ON DELETE CASCADE): their history says so.
    for (const std::string& alias : before.aliases) {
      CAIRN_RETURN_IF_ERROR(InsertAliasHistory(c, row.id, alias, 0, now, actor.user));
    }
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("DELETE FROM model_versions WHERE model_id = ? AND version = ?"));
      s->BindAll(row.id, version);
      CAIRN_RETURN_IF_ERROR(s->Exec());
    }
    CAIRN_RETURN_IF_ERROR(TouchModel(c, row.id, now));
    const std::string before_json = VersionJson(before);
    const std::string entity = VersionEntityId(name, version);
    return InsertAudit(c, now, actor.user,
                       {"model_version.delete", "model_version", entity, name, before_json, ""});
  });
}

Result<ModelVersionPage> SqlRegistryStore::SearchModelVersions(const RegistryQuery& q) {
  CAIRN_RETURN_IF_ERROR(CheckPaging(q.offset));
  Binds b;
  CAIRN_ASSIGN_OR_RETURN(std::string where, CompileFilter(db_.dialect(), q.filter, true, b));
  CAIRN_ASSIGN_OR_RETURN(std::string order, CompileOrder(q.order_by, true));
  std::string sql = "SELECT " CAIRN_VERSION_COLUMNS CAIRN_VERSION_FROM + where + order;
  AppendLimit(sql, b, q.max_results, q.offset);
  return WithReadTxn(db_, [&](Connection& c) -> Result<ModelVersionPage> {
    ModelVersionPage page;
    std::vector<int64_t> ids;
    {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(sql, /*cached=*/false));
      b.BindTo(*s);
      CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] {
        ids.push_back(s->Int(0));
        page.versions.push_back(ReadVersionRow(*s));
      }));
    }
    page.next_offset = TrimPage(page.versions, q.max_results, q.offset);
    ids.resize(page.versions.size());
    CAIRN_RETURN_IF_ERROR(LoadVersionExtras(c, page.versions, ids));
    return page;
  });
}

Status SqlRegistryStore::SetModelVersionTag(const std::string& name, int64_t version,
                                            const Tag& tag, const Actor& actor) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    auto change = [&](const ModelRow& row) -> Result<bool> {
      CAIRN_RETURN_IF_ERROR(InsertVersionTag(c, row.id, version, tag));
      return true;
    };
    CAIRN_RETURN_IF_ERROR(
        ChangeVersionAudited(c, name, version, "model_version.set_tag", now, actor.user, change));
    return {};
  });
}

Status SqlRegistryStore::DeleteModelVersionTag(const std::string& name, int64_t version,
                                               const std::string& key, const Actor& actor) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    auto change = [&](const ModelRow& row) -> Result<bool> {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM model_version_tags WHERE model_id = ? "
                                               "AND version = ? AND key = ?"));
      s->BindAll(row.id, version, key);
      CAIRN_ASSIGN_OR_RETURN(int64_t changed, s->Exec());
      return changed != 0;  // as MLflow: deleting a missing tag is a no-op
    };
    CAIRN_RETURN_IF_ERROR(ChangeVersionAudited(c, name, version, "model_version.delete_tag", now,
                                               actor.user, change));
    return {};
  });
}

Result<ModelVersion> SqlRegistryStore::TransitionStage(const std::string& name, int64_t version,
                                                       const std::string& stage,
                                                       bool archive_existing, const Actor& actor,
                                                       const Event& event) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Result<ModelVersion> {
    CAIRN_ASSIGN_OR_RETURN(ModelRow row, FindModel(c, name, true));
    CAIRN_ASSIGN_OR_RETURN(ModelVersion before, LoadVersion(c, row.id, name, version));
    auto move = [&](int64_t v, std::string_view to) -> Status {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE model_versions SET current_stage = ?, "
                                               "last_updated_time = ? WHERE model_id = ? AND "
                                               "version = ?"));
      s->BindAll(to, now, row.id, v);
      CAIRN_RETURN_IF_ERROR(s->Exec());
      return {};
    };
    if (archive_existing && stage != kStageArchived) {
      std::vector<int64_t> others;
      {
        CAIRN_ASSIGN_OR_RETURN(
            auto s, c.Prepare("SELECT version FROM model_versions WHERE model_id = ? AND "
                              "current_stage = ? AND version <> ? ORDER BY version"));
        s->BindAll(row.id, stage, version);
        CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { others.push_back(s->Int(0)); }));
      }
      for (int64_t other : others) {
        CAIRN_ASSIGN_OR_RETURN(ModelVersion was, LoadVersion(c, row.id, name, other));
        CAIRN_RETURN_IF_ERROR(move(other, kStageArchived));
        CAIRN_ASSIGN_OR_RETURN(ModelVersion now_is, LoadVersion(c, row.id, name, other));
        const std::string before_json = VersionJson(was), after_json = VersionJson(now_is);
        const std::string entity = VersionEntityId(name, other);
        CAIRN_RETURN_IF_ERROR(InsertAudit(c, now, actor.user,
                                          {"model_version.transition_stage", "model_version",
                                           entity, name, before_json, after_json}));
      }
    }
    CAIRN_RETURN_IF_ERROR(move(version, stage));
    CAIRN_RETURN_IF_ERROR(TouchModel(c, row.id, now));
    CAIRN_ASSIGN_OR_RETURN(ModelVersion after, LoadVersion(c, row.id, name, version));
    const std::string before_json = VersionJson(before), after_json = VersionJson(after);
    const std::string entity = VersionEntityId(name, version);
    CAIRN_RETURN_IF_ERROR(InsertAudit(c, now, actor.user,
                                      {"model_version.transition_stage", "model_version", entity,
                                       name, before_json, after_json}));
    CAIRN_RETURN_IF_ERROR(EnqueueDeliveries(c, row.id, event, now));
    return after;
  });
}

// ---------------------------------------------------------------- aliases

Status SqlRegistryStore::SetAlias(const std::string& name, const std::string& alias,
                                  int64_t version, const Actor& actor, const Event& event) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    CAIRN_ASSIGN_OR_RETURN(ModelRow row, FindModel(c, name, true));
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("SELECT 1 FROM model_versions WHERE model_id = ? AND version = ?"));
      s->BindAll(row.id, version);
      CAIRN_ASSIGN_OR_RETURN(bool exists, s->Next());
      if (!exists) return VersionNotFound(name, version);
    }
    CAIRN_ASSIGN_OR_RETURN(std::optional<int64_t> old, FindAlias(c, row.id, alias));
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s,
          c.Prepare("INSERT INTO model_aliases (model_id, alias, version) VALUES (?, ?, ?) "
                    "ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version"));
      s->BindAll(row.id, alias, version);
      CAIRN_RETURN_IF_ERROR(s->Exec());
    }
    CAIRN_RETURN_IF_ERROR(InsertAliasHistory(c, row.id, alias, version, now, actor.user));
    const std::string before_json = old ? AliasJson(name, alias, *old) : std::string();
    const std::string after_json = AliasJson(name, alias, version);
    const std::string entity = AliasEntityId(name, alias);
    CAIRN_RETURN_IF_ERROR(InsertAudit(
        c, now, actor.user, {"alias.set", "alias", entity, name, before_json, after_json}));
    return EnqueueDeliveries(c, row.id, event, now);
  });
}

Status SqlRegistryStore::DeleteAlias(const std::string& name, const std::string& alias,
                                     const Actor& actor, const Event& event) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    CAIRN_ASSIGN_OR_RETURN(ModelRow row, FindModel(c, name, true));
    CAIRN_ASSIGN_OR_RETURN(std::optional<int64_t> old, FindAlias(c, row.id, alias));
    if (!old) return AliasNotFound(alias);
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("DELETE FROM model_aliases WHERE model_id = ? AND alias = ?"));
      s->BindAll(row.id, alias);
      CAIRN_RETURN_IF_ERROR(s->Exec());
    }
    CAIRN_RETURN_IF_ERROR(InsertAliasHistory(c, row.id, alias, 0, now, actor.user));
    const std::string before_json = AliasJson(name, alias, *old);
    const std::string entity = AliasEntityId(name, alias);
    CAIRN_RETURN_IF_ERROR(
        InsertAudit(c, now, actor.user, {"alias.delete", "alias", entity, name, before_json, ""}));
    return EnqueueDeliveries(c, row.id, event, now);
  });
}

Result<ModelVersion> SqlRegistryStore::GetVersionByAlias(const std::string& name,
                                                         const std::string& alias) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<ModelVersion> {
    CAIRN_ASSIGN_OR_RETURN(ModelRow row, FindModel(c, name, false));
    CAIRN_ASSIGN_OR_RETURN(std::optional<int64_t> version, FindAlias(c, row.id, alias));
    if (!version) return AliasNotFound(alias);
    return LoadVersion(c, row.id, name, *version);
  });
}

Result<std::vector<AliasHistoryEntry>> SqlRegistryStore::GetAliasHistory(const std::string& name,
                                                                         const std::string& alias) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<AliasHistoryEntry>> {
    CAIRN_ASSIGN_OR_RETURN(ModelRow row, FindModel(c, name, false));
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT version, time, actor FROM alias_history "
                                             "WHERE model_id = ? AND alias = ? "
                                             "ORDER BY history_id DESC"));
    s->BindAll(row.id, alias);
    std::vector<AliasHistoryEntry> out;
    CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] {
      out.push_back({s->Int(0), s->Int(1), s->TextCopy(2)});
    }));
    return out;
  });
}

// ------------------------------------------------------------------ audit

Status SqlRegistryStore::AppendAudit(const AuditEntry& e) {
  const int64_t time = e.time != 0 ? e.time : clock_.NowMillis();
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    return InsertAudit(c, time, e.actor,
                       {e.action, e.entity_type, e.entity_id, e.model_name, e.before, e.after});
  });
}

Result<AuditPage> SqlRegistryStore::SearchAudit(const AuditQuery& q) {
  CAIRN_RETURN_IF_ERROR(CheckPaging(q.offset));
  Binds b;
  std::string sql = "SELECT " CAIRN_AUDIT_COLUMNS;
  std::string where;
  auto add = [&](std::string_view cond, const Value& v) {
    where.append(where.empty() ? " WHERE " : " AND ").append(cond);
    b.values.push_back(v);
  };
  if (!q.entity_type.empty()) add("entity_type = ?", Value::Text(q.entity_type));
  if (!q.entity_id.empty()) add("entity_id = ?", Value::Text(q.entity_id));
  if (!q.model_name.empty()) add("model_name = ?", Value::Text(q.model_name));
  if (!q.actor.empty()) add("actor = ?", Value::Text(q.actor));
  if (q.since) add("time >= ?", Value::Int(*q.since));
  if (q.until) add("time < ?", Value::Int(*q.until));
  sql.append(where).append(" ORDER BY audit_id DESC");
  AppendLimit(sql, b, q.max_results, q.offset);
  return WithReadTxn(db_, [&](Connection& c) -> Result<AuditPage> {
    AuditPage page;
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(sql, /*cached=*/false));
    b.BindTo(*s);
    CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { page.entries.push_back(ReadAuditRow(*s)); }));
    page.next_offset = TrimPage(page.entries, q.max_results, q.offset);
    return page;
  });
}

// -------------------------------------------------------------- approvals

Result<ApprovalRequest> SqlRegistryStore::CreateApproval(const ApprovalRequest& r,
                                                         const Actor& actor, const Event& event) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Result<ApprovalRequest> {
    CAIRN_ASSIGN_OR_RETURN(ModelRow row, FindModel(c, r.model_name, true));
    int64_t id = 0;
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("INSERT INTO approval_requests (model_id, kind, target, version, "
                            "archive_existing, status, requested_by, requested_at, comment, "
                            "decided_by, decided_at, decision_comment) "
                            "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, '', 0, '') "
                            "RETURNING approval_id"));
      s->BindAll(row.id, r.kind, r.target, r.version, r.archive_existing ? 1 : 0,
                 r.requested_by.empty() ? actor.user : r.requested_by,
                 r.requested_at != 0 ? r.requested_at : now, r.comment);
      CAIRN_ASSIGN_OR_RETURN(bool got, s->Next());
      if (!got) return Internal("creating an approval request returned no id");
      id = s->Int(0);
    }
    CAIRN_ASSIGN_OR_RETURN(ApprovalRequest after, LoadApproval(c, id));
    const std::string after_json = ApprovalJson(after);
    const std::string entity = std::to_string(id);
    CAIRN_RETURN_IF_ERROR(InsertAudit(
        c, now, actor.user, {"approval.create", "approval", entity, r.model_name, "", after_json}));
    CAIRN_RETURN_IF_ERROR(EnqueueDeliveries(c, row.id, event, now));
    return after;
  });
}

Result<ApprovalRequest> SqlRegistryStore::GetApproval(int64_t id) {
  return WithReadTxn(db_, [&](Connection& c) { return LoadApproval(c, id); });
}

Result<std::vector<ApprovalRequest>> SqlRegistryStore::ListApprovals(const std::string& model_name,
                                                                     const std::string& status) {
  std::string sql = "SELECT " CAIRN_APPROVAL_COLUMNS;
  Binds b;
  std::string where;
  if (!model_name.empty()) {
    where.append(" WHERE m.name = ?");
    b.Text(model_name);
  }
  if (!status.empty()) {
    where.append(where.empty() ? " WHERE " : " AND ").append("a.status = ?");
    b.Text(status);
  }
  sql.append(where).append(" ORDER BY a.approval_id DESC");
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<ApprovalRequest>> {
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(sql));
    b.BindTo(*s);
    std::vector<ApprovalRequest> out;
    CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { out.push_back(ReadApprovalRow(*s)); }));
    return out;
  });
}

Result<ApprovalRequest> SqlRegistryStore::DecideApproval(int64_t id, bool approve,
                                                         const std::string& comment,
                                                         const Actor& actor, const Event& event) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Result<ApprovalRequest> {
    int64_t model_id = 0;
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("SELECT model_id FROM approval_requests WHERE approval_id = ?"));
      s->BindAll(id);
      CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
      if (!row) return ApprovalNotFound(id);
      model_id = s->Int(0);
    }
    // Same lock order as every mutation of the model: its row first.
    CAIRN_RETURN_IF_ERROR(LockModelById(c, model_id));
    CAIRN_ASSIGN_OR_RETURN(ApprovalRequest before, LoadApproval(c, id));
    if (before.status != "pending") {
      return FailedPrecondition("Approval request " + std::to_string(id) +
                                " is not pending; its status is " + before.status);
    }
    const std::string status = approve ? "approved" : "rejected";
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("UPDATE approval_requests SET status = ?, decided_by = ?, "
                            "decided_at = ?, decision_comment = ? WHERE approval_id = ?"));
      s->BindAll(status, actor.user, now, comment, id);
      CAIRN_RETURN_IF_ERROR(s->Exec());
    }
    CAIRN_ASSIGN_OR_RETURN(ApprovalRequest after, LoadApproval(c, id));
    const std::string before_json = ApprovalJson(before), after_json = ApprovalJson(after);
    const std::string entity = std::to_string(id);
    CAIRN_RETURN_IF_ERROR(InsertAudit(c, now, actor.user,
                                      {approve ? "approval.approve" : "approval.reject", "approval",
                                       entity, after.model_name, before_json, after_json}));
    CAIRN_RETURN_IF_ERROR(EnqueueDeliveries(c, model_id, event, now));
    return after;
  });
}

// --------------------------------------------------------------- webhooks

Result<Webhook> SqlRegistryStore::CreateWebhook(const Webhook& w, const Actor& actor) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Result<Webhook> {
    Value model = Value::Null();
    if (!w.model_name.empty()) {
      CAIRN_ASSIGN_OR_RETURN(ModelRow row, FindModel(c, w.model_name, true));
      model = Value::Int(row.id);
    }
    int64_t id = 0;
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("INSERT INTO webhooks (model_id, url, secret, active, creation_time) "
                            "VALUES (?, ?, ?, ?, ?) RETURNING webhook_id"));
      s->BindAll(model, w.url, w.secret, w.active ? 1 : 0,
                 w.creation_time != 0 ? w.creation_time : now);
      CAIRN_ASSIGN_OR_RETURN(bool got, s->Next());
      if (!got) return Internal("creating a webhook returned no id");
      id = s->Int(0);
    }
    std::set<std::string_view> events(w.events.begin(), w.events.end());
    for (std::string_view e : events) {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("INSERT INTO webhook_events (webhook_id, event) VALUES (?, ?)"));
      s->BindAll(id, e);
      CAIRN_RETURN_IF_ERROR(s->Exec());
    }
    CAIRN_ASSIGN_OR_RETURN(Webhook after, LoadWebhook(c, id));
    const std::string after_json = WebhookJson(after);
    const std::string entity = std::to_string(id);
    CAIRN_RETURN_IF_ERROR(InsertAudit(
        c, now, actor.user, {"webhook.create", "webhook", entity, w.model_name, "", after_json}));
    return after;
  });
}

Result<Webhook> SqlRegistryStore::GetWebhook(int64_t id) {
  return WithReadTxn(db_, [&](Connection& c) { return LoadWebhook(c, id); });
}

Result<std::vector<Webhook>> SqlRegistryStore::ListWebhooks(const std::string& model_name) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<Webhook>> {
    std::vector<Webhook> out;
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s,
          c.Prepare(model_name.empty() ? "SELECT " CAIRN_WEBHOOK_COLUMNS " ORDER BY w.webhook_id"
                                       : "SELECT " CAIRN_WEBHOOK_COLUMNS
                                         " WHERE m.name = ? ORDER BY w.webhook_id"));
      if (!model_name.empty()) s->BindAll(model_name);
      CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { out.push_back(ReadWebhookRow(*s)); }));
    }
    CAIRN_RETURN_IF_ERROR(LoadWebhookEvents(c, out));
    return out;
  });
}

Status SqlRegistryStore::DeleteWebhook(int64_t id, const Actor& actor) {
  const int64_t now = TimeOf(actor);
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    CAIRN_ASSIGN_OR_RETURN(Webhook before, LoadWebhook(c, id));
    {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM webhooks WHERE webhook_id = ?"));
      s->BindAll(id);
      CAIRN_RETURN_IF_ERROR(s->Exec());
    }
    const std::string before_json = WebhookJson(before);
    const std::string entity = std::to_string(id);
    return InsertAudit(c, now, actor.user,
                       {"webhook.delete", "webhook", entity, before.model_name, before_json, ""});
  });
}

Result<std::vector<WebhookDelivery>> SqlRegistryStore::DueDeliveries(int64_t now, int limit) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<WebhookDelivery>> {
    CAIRN_ASSIGN_OR_RETURN(
        auto s, c.Prepare("SELECT " CAIRN_DELIVERY_COLUMNS " WHERE status = 'pending' AND "
                          "next_attempt_at <= ? ORDER BY next_attempt_at, delivery_id LIMIT ?"));
    s->BindAll(now, static_cast<int64_t>(std::max(limit, 0)));
    std::vector<WebhookDelivery> out;
    CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { out.push_back(ReadDeliveryRow(*s)); }));
    return out;
  });
}

Status SqlRegistryStore::RecordDeliveryAttempt(const WebhookDelivery& d) {
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    CAIRN_ASSIGN_OR_RETURN(auto s,
                           c.Prepare("UPDATE webhook_deliveries SET status = ?, attempts = ?, "
                                     "next_attempt_at = ?, last_http_status = ?, last_error = ?, "
                                     "delivered_at = ? WHERE delivery_id = ?"));
    s->BindAll(d.status, d.attempts, d.next_attempt_at, d.last_http_status, d.last_error,
               d.delivered_at, d.id);
    CAIRN_ASSIGN_OR_RETURN(int64_t changed, s->Exec());
    if (changed == 0) {
      return NotFound("Webhook delivery with id=" + std::to_string(d.id) + " not found");
    }
    return {};
  });
}

Result<std::vector<WebhookDelivery>> SqlRegistryStore::ListDeliveries(int64_t webhook_id,
                                                                      int64_t max_results) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<WebhookDelivery>> {
    {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT 1 FROM webhooks WHERE webhook_id = ?"));
      s->BindAll(webhook_id);
      CAIRN_ASSIGN_OR_RETURN(bool exists, s->Next());
      if (!exists) return WebhookNotFound(webhook_id);
    }
    CAIRN_ASSIGN_OR_RETURN(auto s,
                           c.Prepare("SELECT " CAIRN_DELIVERY_COLUMNS
                                     " WHERE webhook_id = ? ORDER BY delivery_id DESC LIMIT ?"));
    s->BindAll(webhook_id, max_results > 0 ? max_results : std::numeric_limits<int64_t>::max());
    std::vector<WebhookDelivery> out;
    CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { out.push_back(ReadDeliveryRow(*s)); }));
    return out;
  });
}

// ---------------------------------------------------------------- lineage

Result<std::vector<ModelVersion>> SqlRegistryStore::VersionsFromRun(const std::string& run_id) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<ModelVersion>> {
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT " CAIRN_VERSION_COLUMNS CAIRN_VERSION_FROM
                                             " WHERE v.run_id = ? ORDER BY v.creation_time DESC, "
                                             "m.name ASC, v.version DESC"));
    s->BindAll(run_id);
    return QueryVersions(c, *s);
  });
}

Result<std::vector<ModelVersion>> SqlRegistryStore::VersionsUsingDataset(const std::string& digest,
                                                                         const std::string& name) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<ModelVersion>> {
    CAIRN_ASSIGN_OR_RETURN(
        auto s, c.Prepare("SELECT " CAIRN_VERSION_COLUMNS CAIRN_VERSION_FROM
                          " WHERE v.run_id IN (SELECT i.run_id FROM inputs i JOIN datasets d "
                          "ON d.dataset_id = i.dataset_id WHERE d.digest = ? AND "
                          "(CAST(? AS TEXT) = '' OR d.name = ?)) "
                          "ORDER BY v.creation_time DESC, m.name ASC, v.version DESC"));
    s->BindAll(digest, name, name);
    return QueryVersions(c, *s);
  });
}

#undef CAIRN_MODEL_COLUMNS
#undef CAIRN_VERSION_COLUMNS
#undef CAIRN_VERSION_FROM
#undef CAIRN_APPROVAL_COLUMNS
#undef CAIRN_WEBHOOK_COLUMNS
#undef CAIRN_DELIVERY_COLUMNS
#undef CAIRN_AUDIT_COLUMNS

}  // namespace cairn::store::sql
