// `cairn models ...` (client mode): the model registry over MLflow's registry
// REST API and Cairn's native /api/v1 (client/registry_client.h).
//
//   list, get, versions, register, set-alias, delete-alias, transition,
//   rollback, audit, lineage, download, protect,
//   approvals list|approve|reject, webhooks create|list|delete|deliveries
//
// Every command takes --tracking-uri, --json and --user (X-Cairn-User, the
// actor the server records; default $CAIRN_USER). Arguments are validated
// before the server is contacted. A set-alias / transition / rollback /
// approve that the server turns into a pending approval request is a success
// (exit 0): the request id is printed, and with --json the outcome document
// {"outcome": "pending", "approval": {...}}.

#include <cctype>
#include <charconv>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "cli/command.h"
#include "cli/table.h"
#include "client/registry_client.h"
#include "core/config.h"

namespace cairn::cli {
namespace {

using nlohmann::json;

struct ModelsFlags {
  ClientFlags client;  // --user among them
  // list / versions
  std::string filter;
  std::vector<std::string> order_by;
  int64_t max_results = 0;  // 0: all
  // single-model commands
  std::string name;
  std::string version;  // positional or --version, validated as a positive integer
  std::string alias;
  std::string stage;
  std::string comment;
  bool archive_existing = false;
  // register
  std::string source;
  std::string run_id;
  std::vector<std::string> tags;
  // audit
  std::string actor;
  std::string since;
  std::string until;
  // download
  std::string dst;
  // protect
  std::vector<std::string> targets;
  bool clear_targets = false;
  // approvals / webhooks
  std::string model;
  std::string status = "pending";
  std::string id;
  std::string url;
  std::vector<std::string> events;
  std::string secret;
};

Result<client::RegistryClient> MakeRegistryClient(const ModelsFlags& f) {
  return client::RegistryClient::Create(ResolveTrackingUri(f.client.tracking_uri),
                                        {.client = MakeClientOptions(f.client)});
}

// A positive integer as typed: model version numbers and approval / webhook ids.
Result<int64_t> ParsePositive(const std::string& text, const std::string& what) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v <= 0) {
    return InvalidArgument("'" + text + "' is not a " + what + " (a positive integer)");
  }
  return v;
}

// A time for --since / --until: milliseconds since the epoch, or
// "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS]" (also with a space) in local time,
// UTC with a trailing 'Z'.
Result<int64_t> ParseTime(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    int64_t ms = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec == std::errc() && p == text.data() + text.size()) return ms;
  }
  std::string s = text;
  bool utc = !s.empty() && (s.back() == 'Z' || s.back() == 'z');
  if (utc) s.pop_back();
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  char sep = 'T';
  // Each form must consume the whole text (%n records how much was read).
  int n = -1;
  int matched = std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &year, &month, &day, &n);
  bool ok = matched == 3 && n >= 0 && static_cast<size_t>(n) == s.size();
  if (!ok) {
    n = -1;
    matched = std::sscanf(s.c_str(), "%4d-%2d-%2d%c%2d:%2d%n", &year, &month, &day, &sep, &hour,
                          &minute, &n);
    ok = matched == 6 && n >= 0 && static_cast<size_t>(n) == s.size();
  }
  if (!ok) {
    n = -1;
    matched = std::sscanf(s.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &year, &month, &day, &sep, &hour,
                          &minute, &second, &n);
    ok = matched == 7 && n >= 0 && static_cast<size_t>(n) == s.size();
  }
  ok = ok && (sep == 'T' || sep == 't' || sep == ' ');
  if (!ok || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 60) {
    return InvalidArgument("'" + text +
                           "' is not a time (ms since the epoch, YYYY-MM-DD or "
                           "YYYY-MM-DDTHH:MM[:SS][Z])");
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  tm.tm_isdst = -1;
  std::time_t secs = utc ? timegm(&tm) : std::mktime(&tm);
  return static_cast<int64_t>(secs) * 1000;
}

std::string Join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string AliasList(const store::RegisteredModel& m) {
  std::vector<std::string> parts;
  for (const auto& a : m.aliases) parts.push_back(a.alias + "=" + std::to_string(a.version));
  return Join(parts);
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// The version filter of `versions NAME`: MLflow's grammar quotes with ' or ".
std::string NameFilter(const std::string& name) {
  if (name.find('\'') == std::string::npos) return "name='" + name + "'";
  return "name=\"" + name + "\"";
}

std::string DescribeApproval(const store::ApprovalRequest& a) {
  if (a.kind == "stage") {
    return "move " + Quote(a.model_name) + " version " + std::to_string(a.version) + " to stage " +
           Quote(a.target) + (a.archive_existing ? " (archiving others)" : "");
  }
  return "set alias " + Quote(a.target) + " of " + Quote(a.model_name) + " to version " +
         std::to_string(a.version);
}

// Prints an approvable change's outcome. Applied: `applied` (a sentence).
// Pending: the request id. Other outcomes (rejected, ...): the server's word.
int PrintOutcome(const ModelsFlags& f, const client::ChangeOutcome& o, const std::string& applied) {
  if (f.client.json) {
    PrintJson(client::ChangeOutcomeJson(o));
    return kExitOk;
  }
  if (o.pending()) {
    std::cout << "Pending approval: request "
              << (o.approval ? std::to_string(o.approval->id) : std::string("?"));
    if (o.approval) std::cout << " to " << DescribeApproval(*o.approval);
    std::cout << " needs approval by another user (cairn models approvals approve "
              << (o.approval ? std::to_string(o.approval->id) : std::string("ID")) << ")\n";
  } else if (o.outcome == "applied") {
    std::cout << applied << "\n";
  } else {
    std::cout << "Request " << (o.approval ? std::to_string(o.approval->id) + " " : std::string())
              << o.outcome << "\n";
  }
  return kExitOk;
}

// ---------------------------------------------------------------- listing

int List(ModelsFlags& f) {
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  client::RegistrySearch q;
  q.filter = f.filter;
  q.order_by = f.order_by;
  auto models = c->SearchAllRegisteredModels(q, f.max_results);
  if (!models) return ReportError(models.error());
  if (f.client.json) {
    json arr = json::array();
    for (const auto& m : *models)
      arr.push_back(client::RegisteredModelJson(m.model, m.latest_versions));
    PrintJson(json{{"registered_models", std::move(arr)}});
    return kExitOk;
  }
  TextTable t({"name", "latest_version", "aliases", "last_updated", "description"});
  for (const auto& m : *models) {
    int64_t latest = 0;
    for (const auto& v : m.latest_versions) latest = std::max(latest, v.version);
    t.AddRow({m.model.name, latest > 0 ? std::to_string(latest) : "", AliasList(m.model),
              FormatMillis(m.model.last_updated_time), m.model.description});
  }
  std::cout << t.Render();
  return kExitOk;
}

void PrintVersionsTable(const std::vector<store::ModelVersion>& versions, bool with_name) {
  std::vector<std::string> headers;
  if (with_name) headers.push_back("name");
  for (const char* h : {"version", "stage", "status", "aliases", "source", "run_id", "created"}) {
    headers.push_back(h);
  }
  TextTable t(headers);
  for (const auto& v : versions) {
    std::vector<std::string> row;
    if (with_name) row.push_back(v.name);
    for (auto cell : {std::to_string(v.version), v.current_stage, v.status, Join(v.aliases),
                      v.source, v.run_id, FormatMillis(v.creation_time)}) {
      row.push_back(std::move(cell));
    }
    t.AddRow(std::move(row));
  }
  std::cout << t.Render();
}

int Versions(ModelsFlags& f) {
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  client::RegistrySearch q;
  q.filter = NameFilter(f.name) + (f.filter.empty() ? "" : " AND " + f.filter);
  q.order_by = f.order_by;
  auto versions = c->SearchAllModelVersions(q, f.max_results);
  if (!versions) return ReportError(versions.error());
  if (versions->empty()) {
    // An unknown model and a model without versions both search as empty;
    // say which (the server's own message for an unknown model).
    auto model = c->GetRegisteredModel(f.name);
    if (!model) return ReportError(model.error());
  }
  if (f.client.json) {
    json arr = json::array();
    for (const auto& v : *versions) arr.push_back(client::ModelVersionJson(v));
    PrintJson(json{{"model_versions", std::move(arr)}});
    return kExitOk;
  }
  PrintVersionsTable(*versions, false);
  return kExitOk;
}

// "x (double), y (long)" from MLflow's column-spec JSON text; the text
// itself when it is not that shape.
std::string DescribeSchema(const json& spec) {
  json cols = spec;
  if (spec.is_string()) {
    try {
      cols = json::parse(spec.get<std::string>());
    } catch (const json::exception&) {
      return spec.get<std::string>();
    }
  }
  if (!cols.is_array()) return cols.dump();
  std::vector<std::string> parts;
  for (const auto& col : cols) {
    if (!col.is_object()) {
      parts.push_back(col.dump());
      continue;
    }
    std::string type = col.contains("type") && col["type"].is_string()
                           ? col["type"].get<std::string>()
                           : col.value("tensor-spec", json::object()).value("dtype", "");
    if (col.contains("name") && col["name"].is_string()) {
      parts.push_back(col["name"].get<std::string>() + (type.empty() ? "" : " (" + type + ")"));
    } else {
      parts.push_back(type.empty() ? col.dump() : type);
    }
  }
  return Join(parts);
}

void PrintVersion(const store::ModelVersion& v) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"name", v.name},
      {"version", std::to_string(v.version)},
      {"stage", v.current_stage},
      {"status", v.status + (v.status_message.empty() ? "" : " (" + v.status_message + ")")},
      {"aliases", Join(v.aliases)},
      {"source", v.source},
      {"storage_location", v.storage_location},
      {"run_id", v.run_id},
  };
  if (!v.model_id.empty()) fields.emplace_back("model_id", v.model_id);
  fields.emplace_back("user_id", v.user_id);
  fields.emplace_back("created", FormatMillis(v.creation_time));
  fields.emplace_back("last_updated", FormatMillis(v.last_updated_time));
  if (!v.description.empty()) fields.emplace_back("description", v.description);
  if (!v.signature_json.empty()) {
    json sig;
    try {
      sig = json::parse(v.signature_json);
    } catch (const json::exception&) {
      sig = v.signature_json;
    }
    if (sig.is_object()) {
      for (const char* part : {"inputs", "outputs", "params"}) {
        if (sig.contains(part) && !sig[part].is_null()) {
          fields.emplace_back(std::string("signature.") + part, DescribeSchema(sig[part]));
        }
      }
    } else {
      fields.emplace_back("signature", v.signature_json);
    }
  }
  std::cout << RenderFields(fields);
  if (!v.tags.empty()) {
    TextTable tags({"tag", "value"});
    for (const auto& t : v.tags) tags.AddRow({t.key, t.value});
    std::cout << "\n" << tags.Render();
  }
}

int Get(ModelsFlags& f) {
  if (!f.version.empty() && !f.alias.empty()) {
    return ReportError(Error(ErrorCode::kInvalidArgument, "give --version or --alias, not both"));
  }
  std::optional<int64_t> version;
  if (!f.version.empty()) {
    auto v = ParsePositive(f.version, "model version");
    if (!v) return ReportError(v.error());
    version = *v;
  }
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  if (version || !f.alias.empty()) {
    auto v =
        version ? c->GetModelVersion(f.name, *version) : c->GetModelVersionByAlias(f.name, f.alias);
    if (!v) return ReportError(v.error());
    if (f.client.json) {
      PrintJson(json{{"model_version", client::ModelVersionJson(*v)}});
    } else {
      PrintVersion(*v);
    }
    return kExitOk;
  }
  auto d = c->GetRegisteredModel(f.name);
  if (!d) return ReportError(d.error());
  if (f.client.json) {
    PrintJson(
        json{{"registered_model", client::RegisteredModelJson(d->model, d->latest_versions)}});
    return kExitOk;
  }
  const store::RegisteredModel& m = d->model;
  std::vector<std::pair<std::string, std::string>> fields = {
      {"name", m.name},
      {"description", m.description},
      {"user_id", m.user_id},
      {"created", FormatMillis(m.creation_time)},
      {"last_updated", FormatMillis(m.last_updated_time)},
      {"protected_targets", Join(m.protected_targets)},
  };
  std::cout << RenderFields(fields);
  if (!m.aliases.empty()) {
    TextTable aliases({"alias", "version"});
    for (const auto& a : m.aliases) aliases.AddRow({a.alias, std::to_string(a.version)});
    std::cout << "\n" << aliases.Render();
  }
  if (!m.tags.empty()) {
    TextTable tags({"tag", "value"});
    for (const auto& t : m.tags) tags.AddRow({t.key, t.value});
    std::cout << "\n" << tags.Render();
  }
  if (!d->latest_versions.empty()) {
    std::cout << "\nlatest versions:\n";
    PrintVersionsTable(d->latest_versions, false);
  }
  return kExitOk;
}

// --------------------------------------------------------------- mutations

int Register(ModelsFlags& f) {
  std::vector<store::Tag> tags;
  for (const auto& kv : f.tags) {
    auto t = ParseKeyValue(kv);
    if (!t) return ReportError(t.error());
    tags.push_back(*t);
  }
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  auto r = c->RegisterModel({.source = f.source, .name = f.name, .run_id = f.run_id, .tags = tags});
  if (!r) return ReportError(r.error());
  if (f.client.json) {
    PrintJson(json{{"model_version", client::ModelVersionJson(r->version)}});
    return kExitOk;
  }
  if (r->created_registered_model) {
    std::cout << "Created registered model " << Quote(f.name) << "\n";
  }
  std::cout << "Registered " << Quote(r->version.name) << " version " << r->version.version
            << " (status " << r->version.status << ")\n";
  if (!r->version.storage_location.empty()) {
    std::cout << "storage_location: " << r->version.storage_location << "\n";
  }
  return kExitOk;
}

int SetAlias(ModelsFlags& f) {
  auto v = ParsePositive(f.version, "model version");
  if (!v) return ReportError(v.error());
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  auto o = c->SetAlias(f.name, f.alias, *v, f.comment);
  if (!o) return ReportError(o.error());
  return PrintOutcome(f, *o,
                      "Alias " + Quote(f.alias) + " of " + Quote(f.name) +
                          " now points at version " + std::to_string(*v));
}

int DeleteAlias(ModelsFlags& f) {
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  auto st = c->DeleteAlias(f.name, f.alias);
  if (!st) return ReportError(st.error());
  if (f.client.json) {
    PrintJson(json{{"name", f.name}, {"alias", f.alias}});
  } else {
    std::cout << "Deleted alias " << Quote(f.alias) << " of " << Quote(f.name) << "\n";
  }
  return kExitOk;
}

int Transition(ModelsFlags& f) {
  auto v = ParsePositive(f.version, "model version");
  if (!v) return ReportError(v.error());
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  auto o = c->TransitionStage(f.name, *v, f.stage, f.archive_existing, f.comment);
  if (!o) return ReportError(o.error());
  std::string stage = o->model_version ? o->model_version->current_stage : f.stage;
  return PrintOutcome(
      f, *o,
      "Moved " + Quote(f.name) + " version " + std::to_string(*v) + " to stage " + Quote(stage));
}

int Rollback(ModelsFlags& f) {
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  auto o = c->RollbackAlias(f.name, f.alias);
  if (!o) return ReportError(o.error());
  std::string to = o->model_version ? std::to_string(o->model_version->version) : "?";
  return PrintOutcome(
      f, *o, "Alias " + Quote(f.alias) + " of " + Quote(f.name) + " rolled back to version " + to);
}

int Protect(ModelsFlags& f) {
  if (f.targets.empty() && !f.clear_targets) {
    return ReportError(Error(ErrorCode::kInvalidArgument,
                             "name at least one target (alias or stage), or --clear"));
  }
  if (!f.targets.empty() && f.clear_targets) {
    return ReportError(Error(ErrorCode::kInvalidArgument, "give targets or --clear, not both"));
  }
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  auto m = c->SetProtectedTargets(f.name, f.targets);
  if (!m) return ReportError(m.error());
  if (f.client.json) {
    PrintJson(json{{"registered_model", client::RegisteredModelJson(*m)}});
  } else {
    std::cout << "Protected targets of " << Quote(f.name) << ": "
              << (m->protected_targets.empty() ? "(none)" : Join(m->protected_targets)) << "\n";
  }
  return kExitOk;
}

// ------------------------------------------------------- audit and lineage

int Audit(ModelsFlags& f) {
  client::AuditSearch q;
  q.model = f.name;
  q.actor = f.actor;
  if (!f.since.empty()) {
    auto t = ParseTime(f.since);
    if (!t) return ReportError(t.error());
    q.since = *t;
  }
  if (!f.until.empty()) {
    auto t = ParseTime(f.until);
    if (!t) return ReportError(t.error());
    q.until = *t;
  }
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  auto entries = c->SearchAllAudit(q, f.max_results);
  if (!entries) return ReportError(entries.error());
  if (f.client.json) {
    json arr = json::array();
    for (const auto& e : *entries) arr.push_back(client::AuditEntryJson(e));
    PrintJson(json{{"entries", std::move(arr)}});
    return kExitOk;
  }
  TextTable t({"id", "time", "actor", "action", "entity", "after"}, 60);
  for (const auto& e : *entries) {
    std::string after = e.after;
    try {  // compact one-line JSON
      if (!after.empty()) after = json::parse(after).dump();
    } catch (const json::exception&) {
    }
    t.AddRow({std::to_string(e.id), FormatMillis(e.time), e.actor, e.action, e.entity_id, after});
  }
  std::cout << t.Render();
  return kExitOk;
}

int Lineage(ModelsFlags& f) {
  auto v = ParsePositive(f.version, "model version");
  if (!v) return ReportError(v.error());
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  auto l = c->GetLineage(f.name, *v);
  if (!l) return ReportError(l.error());
  if (f.client.json) {
    PrintJson(client::LineageJson(*l));
    return kExitOk;
  }
  const store::ModelVersion& mv = l->model_version;
  std::vector<std::pair<std::string, std::string>> fields = {
      {"model_version", mv.name + "/" + std::to_string(mv.version)},
      {"source", mv.source},
      {"storage_location", mv.storage_location},
  };
  if (l->run) {
    const store::RunInfo& r = l->run->info;
    fields.emplace_back("run_id", r.run_id);
    fields.emplace_back("run_name", r.run_name);
    fields.emplace_back("experiment_id", r.experiment_id);
    fields.emplace_back("run_status", r.status);
    fields.emplace_back("run_user", r.user_id);
    fields.emplace_back("run_started", FormatMillis(r.start_time));
  } else {
    fields.emplace_back("run_id", mv.run_id.empty() ? "(none)" : mv.run_id + " (not found)");
  }
  std::vector<std::string> parents;
  for (const auto& p : l->parent_runs) {
    parents.push_back(p.info.run_id +
                      (p.info.run_name.empty() ? "" : " (" + p.info.run_name + ")"));
  }
  if (!parents.empty()) fields.emplace_back("parent_runs", Join(parents, " <- "));
  std::cout << RenderFields(fields);
  if (l->run) {
    const store::Run& run = *l->run;
    if (!run.params.empty() || !run.metrics.empty()) {
      TextTable t({"kind", "key", "value"});
      for (const auto& p : run.params) t.AddRow({"param", p.key, p.value});
      for (const auto& m : run.metrics) t.AddRow({"metric", m.key, FormatDouble(m.value)});
      std::cout << "\n" << t.Render();
    }
    if (!run.inputs.empty()) {
      TextTable t({"dataset", "digest", "source"});
      for (const auto& in : run.inputs) {
        t.AddRow({in.dataset.name, in.dataset.digest, in.dataset.source});
      }
      std::cout << "\n" << t.Render();
    }
  }
  if (!l->siblings.empty()) {
    std::cout << "\nother versions from the same run:\n";
    PrintVersionsTable(l->siblings, true);
  }
  return kExitOk;
}

int Download(ModelsFlags& f) {
  if (f.version.empty() == f.alias.empty()) {
    return ReportError(
        Error(ErrorCode::kInvalidArgument, "give a VERSION or --alias ALIAS (exactly one)"));
  }
  std::optional<int64_t> version;
  if (!f.version.empty()) {
    auto v = ParsePositive(f.version, "model version");
    if (!v) return ReportError(v.error());
    version = *v;
  }
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  if (!version) {
    auto v = c->GetModelVersionByAlias(f.name, f.alias);
    if (!v) return ReportError(v.error());
    version = v->version;
  }
  auto local = c->DownloadModelVersion(f.name, *version, f.dst);
  if (!local) return ReportError(local.error());
  if (f.client.json) {
    PrintJson(
        json{{"name", f.name}, {"version", std::to_string(*version)}, {"local_path", *local}});
  } else {
    std::cout << *local << "\n";
  }
  return kExitOk;
}

// ---------------------------------------------------------------- approvals

int ApprovalsList(ModelsFlags& f) {
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  auto list = c->ListApprovals(f.model, f.status == "all" ? "" : f.status);
  if (!list) return ReportError(list.error());
  if (f.client.json) {
    json arr = json::array();
    for (const auto& a : *list) arr.push_back(client::ApprovalRequestJson(a));
    PrintJson(json{{"approvals", std::move(arr)}});
    return kExitOk;
  }
  TextTable t({"id", "model", "kind", "target", "version", "status", "requested_by", "requested_at",
               "comment"});
  for (const auto& a : *list) {
    t.AddRow({std::to_string(a.id), a.model_name, a.kind, a.target, std::to_string(a.version),
              a.status, a.requested_by, FormatMillis(a.requested_at), a.comment});
  }
  std::cout << t.Render();
  return kExitOk;
}

int Decide(ModelsFlags& f, bool approve) {
  auto id = ParsePositive(f.id, "request id");
  if (!id) return ReportError(id.error());
  if (!approve && f.comment.empty()) {
    return ReportError(Error(ErrorCode::kInvalidArgument, "a rejection needs --comment (why)"));
  }
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  auto o = c->DecideApproval(*id, approve, f.comment);
  if (!o) return ReportError(o.error());
  if (f.client.json) {
    PrintJson(client::ChangeOutcomeJson(*o));
    return kExitOk;
  }
  if (approve) {
    std::cout << "Approved request " << *id;
    if (o->approval) std::cout << ": " << DescribeApproval(*o->approval);
    std::cout << " (" << o->outcome << ")\n";
  } else {
    std::cout << "Rejected request " << *id << "\n";
  }
  return kExitOk;
}

// ----------------------------------------------------------------- webhooks

int WebhooksCreate(ModelsFlags& f) {
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  auto w =
      c->CreateWebhook({.model = f.model, .url = f.url, .events = f.events, .secret = f.secret});
  if (!w) return ReportError(w.error());
  if (f.client.json) {
    PrintJson(json{{"webhook", client::WebhookJson(*w)}});
  } else {
    std::cout << "Created webhook " << w->id << " -> " << w->url << " for "
              << (w->model_name.empty() ? std::string("every model") : Quote(w->model_name))
              << " (events: " << (w->events.empty() ? "all" : Join(w->events)) << ")\n";
  }
  return kExitOk;
}

int WebhooksList(ModelsFlags& f) {
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  auto list = c->ListWebhooks(f.model);
  if (!list) return ReportError(list.error());
  if (f.client.json) {
    json arr = json::array();
    for (const auto& w : *list) arr.push_back(client::WebhookJson(w));
    PrintJson(json{{"webhooks", std::move(arr)}});
    return kExitOk;
  }
  TextTable t({"id", "model", "url", "events", "active", "created"});
  for (const auto& w : *list) {
    t.AddRow({std::to_string(w.id), w.model_name.empty() ? "*" : w.model_name, w.url,
              w.events.empty() ? "all" : Join(w.events), w.active ? "yes" : "no",
              FormatMillis(w.creation_time)});
  }
  std::cout << t.Render();
  return kExitOk;
}

int WebhooksDelete(ModelsFlags& f) {
  auto id = ParsePositive(f.id, "webhook id");
  if (!id) return ReportError(id.error());
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  auto st = c->DeleteWebhook(*id);
  if (!st) return ReportError(st.error());
  if (f.client.json) {
    PrintJson(json{{"id", *id}});
  } else {
    std::cout << "Deleted webhook " << *id << "\n";
  }
  return kExitOk;
}

int WebhooksDeliveries(ModelsFlags& f) {
  auto id = ParsePositive(f.id, "webhook id");
  if (!id) return ReportError(id.error());
  auto c = MakeRegistryClient(f);
  if (!c) return ReportError(c.error());
  auto list = c->ListDeliveries(*id, f.max_results);
  if (!list) return ReportError(list.error());
  if (f.client.json) {
    json arr = json::array();
    for (const auto& d : *list) arr.push_back(client::WebhookDeliveryJson(d));
    PrintJson(json{{"deliveries", std::move(arr)}});
    return kExitOk;
  }
  TextTable t(
      {"id", "event", "status", "attempts", "http_status", "last_error", "created", "delivered"});
  for (const auto& d : *list) {
    t.AddRow({std::to_string(d.id), d.event, d.status, std::to_string(d.attempts),
              d.last_http_status > 0 ? std::to_string(d.last_http_status) : "", d.last_error,
              FormatMillis(d.created_at), FormatMillis(d.delivered_at)});
  }
  std::cout << t.Render();
  return kExitOk;
}

}  // namespace

void AddModelsCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<ModelsFlags>();
  CLI::App* group = app.add_subcommand("models", "Manage the model registry");
  group->require_subcommand(1);
  AddClientFlags(*group, f->client);
  auto leaf = [f, &action](CLI::App* cmd, int (*run)(ModelsFlags&)) {
    cmd->callback([f, run, &action] { action = [f, run] { return run(*f); }; });
  };

  CLI::App* list = group->add_subcommand("list", "List registered models");
  list->add_option("--filter", f->filter, "MLflow filter, e.g. \"name LIKE 'fraud%'\"");
  list->add_option("--order-by", f->order_by, "e.g. \"name ASC\" (repeatable)");
  list->add_option("--max-results", f->max_results, "At most this many (default: all)");
  leaf(list, List);

  CLI::App* get = group->add_subcommand(
      "get", "Show a registered model (aliases, tags, latest versions), or one version");
  get->add_option("NAME", f->name, "Registered model name")->required();
  get->add_option("--version", f->version, "Show this version (signature, source, storage)");
  get->add_option("--alias", f->alias, "Show the version this alias points at");
  leaf(get, Get);

  CLI::App* versions = group->add_subcommand("versions", "List the versions of a model");
  versions->add_option("NAME", f->name, "Registered model name")->required();
  versions->add_option("--filter", f->filter, "Extra MLflow filter, e.g. \"tags.k = 'v'\"");
  versions->add_option("--order-by", f->order_by, "e.g. \"version_number DESC\" (repeatable)");
  versions->add_option("--max-results", f->max_results, "At most this many (default: all)");
  leaf(versions, Versions);

  CLI::App* reg = group->add_subcommand(
      "register", "Register SOURCE as a new version of NAME (creating the model if missing)");
  reg->add_option("SOURCE", f->source, "runs:/<run_id>/<path>, models:/<model_id>, ...")
      ->required();
  reg->add_option("NAME", f->name, "Registered model name")->required();
  reg->add_option("--run-id", f->run_id, "Run that produced it (default: from a runs:/ source)");
  reg->add_option("--tag", f->tags, "key=value on the new version (repeatable)");
  leaf(reg, Register);

  CLI::App* set_alias = group->add_subcommand("set-alias", "Point an alias at a version");
  set_alias->add_option("NAME", f->name, "Registered model name")->required();
  set_alias->add_option("ALIAS", f->alias, "Alias, e.g. champion")->required();
  set_alias->add_option("VERSION", f->version, "Version number")->required();
  set_alias->add_option("--comment", f->comment, "Why (kept with an approval request)");
  leaf(set_alias, SetAlias);

  CLI::App* delete_alias = group->add_subcommand("delete-alias", "Remove an alias");
  delete_alias->add_option("NAME", f->name, "Registered model name")->required();
  delete_alias->add_option("ALIAS", f->alias, "Alias")->required();
  leaf(delete_alias, DeleteAlias);

  CLI::App* transition =
      group->add_subcommand("transition", "Move a version to a stage (MLflow's legacy stages)");
  transition->add_option("NAME", f->name, "Registered model name")->required();
  transition->add_option("VERSION", f->version, "Version number")->required();
  transition->add_option("STAGE", f->stage, "None | Staging | Production | Archived")->required();
  transition->add_flag("--archive-existing", f->archive_existing,
                       "Archive the versions now in that stage");
  transition->add_option("--comment", f->comment, "Why (kept with an approval request)");
  leaf(transition, Transition);

  CLI::App* rollback = group->add_subcommand(
      "rollback", "Point an alias back at the version it held before its current one");
  rollback->add_option("NAME", f->name, "Registered model name")->required();
  rollback->add_option("--alias", f->alias, "Alias to roll back")->required();
  leaf(rollback, Rollback);

  CLI::App* audit =
      group->add_subcommand("audit", "Show who changed what on a model, newest first");
  audit->add_option("NAME", f->name, "Registered model name")->required();
  audit->add_option("--actor", f->actor, "Only this user's changes");
  audit->add_option("--since", f->since,
                    "From this time (ms since epoch or YYYY-MM-DD[THH:MM[:SS]][Z])");
  audit->add_option("--until", f->until, "Before this time (same forms)");
  audit->add_option("--max-results", f->max_results, "At most this many (default: all)");
  leaf(audit, Audit);

  CLI::App* lineage =
      group->add_subcommand("lineage", "Show the run, parent runs, data and siblings of a version");
  lineage->add_option("NAME", f->name, "Registered model name")->required();
  lineage->add_option("VERSION", f->version, "Version number")->required();
  leaf(lineage, Lineage);

  CLI::App* download = group->add_subcommand(
      "download", "Download a version's files (by number or --alias) into --dst");
  download->add_option("NAME", f->name, "Registered model name")->required();
  download->add_option("VERSION", f->version, "Version number (or use --alias)");
  download->add_option("--alias", f->alias, "Download the version this alias points at");
  download->add_option("--dst", f->dst, "Local folder (created if missing)")->required();
  leaf(download, Download);

  CLI::App* protect = group->add_subcommand(
      "protect", "Set the aliases / stages whose changes need another user's approval");
  protect->add_option("NAME", f->name, "Registered model name")->required();
  protect->add_option("TARGET", f->targets, "Aliases or stages, e.g. champion Production");
  protect->add_flag("--clear", f->clear_targets, "Protect nothing");
  leaf(protect, Protect);

  CLI::App* approvals = group->add_subcommand("approvals", "Review pending approval requests");
  approvals->require_subcommand(1);
  CLI::App* alist = approvals->add_subcommand("list", "List approval requests");
  alist->add_option("--model", f->model, "Only this model's");
  alist->add_option("--status", f->status, "pending | approved | rejected | all")
      ->capture_default_str();
  leaf(alist, ApprovalsList);
  CLI::App* approve =
      approvals->add_subcommand("approve", "Approve a request (applies the change)");
  approve->add_option("ID", f->id, "Request id")->required();
  approve->add_option("--comment", f->comment, "Note kept with the decision");
  approve->callback([f, &action] { action = [f] { return Decide(*f, true); }; });
  CLI::App* reject = approvals->add_subcommand("reject", "Reject a request");
  reject->add_option("ID", f->id, "Request id")->required();
  reject->add_option("--comment", f->comment, "Why (required)")->required();
  reject->callback([f, &action] { action = [f] { return Decide(*f, false); }; });

  CLI::App* webhooks = group->add_subcommand("webhooks", "Manage registry webhooks");
  webhooks->require_subcommand(1);
  CLI::App* wcreate = webhooks->add_subcommand("create", "Subscribe a URL to registry events");
  wcreate->add_option("--url", f->url, "http(s):// endpoint receiving JSON POSTs")->required();
  wcreate->add_option("--event", f->events,
                      "model_version.created, alias.set, alias.deleted, "
                      "model_version.stage_transitioned, approval.requested, approval.decided "
                      "(repeatable; default: all)");
  wcreate->add_option("--secret", f->secret, "HMAC-SHA256 key for X-Cairn-Signature")->required();
  wcreate->add_option("--model", f->model, "Only this model's events (default: every model)");
  leaf(wcreate, WebhooksCreate);
  CLI::App* wlist = webhooks->add_subcommand("list", "List webhooks");
  wlist->add_option("--model", f->model, "Only this model's");
  leaf(wlist, WebhooksList);
  CLI::App* wdelete = webhooks->add_subcommand("delete", "Delete a webhook");
  wdelete->add_option("ID", f->id, "Webhook id")->required();
  leaf(wdelete, WebhooksDelete);
  CLI::App* wdeliveries =
      webhooks->add_subcommand("deliveries", "Show a webhook's deliveries and their attempts");
  wdeliveries->add_option("ID", f->id, "Webhook id")->required();
  wdeliveries->add_option("--max-results", f->max_results, "At most this many");
  leaf(wdeliveries, WebhooksDeliveries);
}

}  // namespace cairn::cli
