#include "registry/registry_service.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "blob/artifact_path.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "core/uri.h"
#include "model/mlmodel.h"
#include "model/signature.h"
#include "registry/names.h"
#include "registry/registry_filter.h"
#include "store/logged_model_store.h"
#include "tracking/validation.h"

namespace cairn::registry {
namespace {

constexpr std::string_view kRegistryFolder = "_registry";
constexpr std::string_view kParentRunTag = "mlflow.parentRunId";
constexpr int kMaxParentDepth = 100;

const std::set<std::string, std::less<>>& KnownEvents() {
  static const std::set<std::string, std::less<>> kEvents = {
      "model_version.created", "alias.set",
      "alias.deleted",         "model_version.stage_transitioned",
      "approval.requested",    "approval.decided"};
  return kEvents;
}

// The webhook body of one event. Absent parts are null so every event has
// the same shape.
struct EventInfo {
  std::string event;
  std::string model_name;
  int64_t version = 0;  // 0: none
  std::string alias;
  std::string stage;
  std::string actor;
  int64_t time = 0;
  const store::ApprovalRequest* approval = nullptr;
  std::string source;
  std::string run_id;
  std::string comment;
};

std::string Payload(const EventInfo& e) {
  JsonWriter w;
  w.BeginObject();
  w.Field("event", e.event);
  w.Field("model_name", e.model_name);
  w.Key("version");
  if (e.version > 0) {
    w.String(std::to_string(e.version));
  } else {
    w.Null();
  }
  w.Key("alias");
  if (!e.alias.empty()) {
    w.String(e.alias);
  } else {
    w.Null();
  }
  w.Key("stage");
  if (!e.stage.empty()) {
    w.String(e.stage);
  } else {
    w.Null();
  }
  w.Field("actor", e.actor);
  w.Field("time", e.time);
  if (!e.source.empty()) w.Field("source", e.source);
  if (!e.run_id.empty()) w.Field("run_id", e.run_id);
  if (!e.comment.empty()) w.Field("comment", e.comment);
  if (e.approval != nullptr) {
    const store::ApprovalRequest& a = *e.approval;
    w.Key("approval").BeginObject();
    w.Field("id", a.id);
    w.Field("kind", a.kind);
    w.Field("target", a.target);
    w.Field("version", std::to_string(a.version));
    w.Field("status", a.status);
    w.Field("requested_by", a.requested_by);
    if (!a.decided_by.empty()) w.Field("decided_by", a.decided_by);
    w.EndObject();
  }
  w.EndObject();
  return w.Take();
}

// The fields every event carries; callers add what is specific to theirs.
EventInfo NewEvent(std::string event, std::string model_name, int64_t version,
                   const store::Actor& who) {
  EventInfo info;
  info.event = std::move(event);
  info.model_name = std::move(model_name);
  info.version = version;
  info.actor = who.user;
  info.time = who.time;
  return info;
}

// An approval's event: its target as an alias or a stage, and the request.
EventInfo ApprovalEvent(std::string event, const store::ApprovalRequest& r,
                        const store::ApprovalRequest* shown, const std::string& comment,
                        const store::Actor& who) {
  EventInfo info = NewEvent(std::move(event), r.model_name, r.version, who);
  info.alias = r.kind == "alias" ? r.target : "";
  info.stage = r.kind == "stage" ? r.target : "";
  info.approval = shown;
  info.comment = comment;
  return info;
}

store::Event ToEvent(const EventInfo& info) { return {info.event, Payload(info)}; }

std::string JoinRepoPath(std::string_view a, std::string_view b) {
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  while (!b.empty() && b.back() == '/') b.remove_suffix(1);
  while (!a.empty() && a.back() == '/') a.remove_suffix(1);
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  return std::string(a) + "/" + std::string(b);
}

// "mlflow-artifacts:/" + "x" -> "mlflow-artifacts:/x"; "file:///r" + "x" -> "file:///r/x".
std::string AppendUri(std::string_view base, std::string_view rel) {
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  std::string out(base);
  if (rel.empty()) return out;
  if (out.empty() || out.back() != '/') out.push_back('/');
  return out + std::string(rel);
}

bool HasScheme(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  size_t slash = s.find('/');
  return slash == std::string_view::npos || colon < slash;
}

bool IsLocal(std::string_view uri) { return !HasScheme(uri) || uri.starts_with("file:"); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Result<std::string> ReadSmallFile(const std::string& path, size_t limit, std::string_view display) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return Internal("cannot read " + std::string(display) + ": " + ec.message());
  if (size > limit) {
    return InvalidArgument(std::string(display) + ": file is larger than " + std::to_string(limit) +
                           " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Internal("cannot open " + std::string(display));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

RegistryService::RegistryService(store::MetadataStore& store, blob::ArtifactRepository* artifacts,
                                 std::string artifact_root_uri, const Clock& clock,
                                 std::function<void()> on_events)
    : store_(store),
      registry_(store.registry()),
      artifacts_(artifacts),
      artifact_root_uri_(std::move(artifact_root_uri)),
      clock_(clock),
      on_events_(std::move(on_events)) {}

store::Actor RegistryService::ActorOf(const std::string& user) const {
  return store::Actor{user.empty() ? std::string("anonymous") : user, clock_.NowMillis()};
}

void RegistryService::Notify() const {
  if (on_events_) on_events_();
}

bool RegistryService::IsProtected(const store::RegisteredModel& m,
                                  const std::string& target) const {
  for (const std::string& t : m.protected_targets) {
    if (t == target) return true;
  }
  return false;
}

// ------------------------------------------------------- registered models

Result<store::RegisteredModel> RegistryService::CreateRegisteredModel(
    const std::string& name, const std::string& description, const std::vector<store::Tag>& tags,
    const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  for (const store::Tag& t : tags) CAIRN_RETURN_IF_ERROR(ValidateRegistryTag(t));
  store::RegisteredModel m;
  m.name = name;
  m.description = description;
  m.tags = tags;
  return registry_.CreateRegisteredModel(m, ActorOf(actor));
}

Result<store::RegisteredModel> RegistryService::GetRegisteredModel(const std::string& name) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  return registry_.GetRegisteredModel(name);
}

Result<store::RegisteredModel> RegistryService::RenameRegisteredModel(const std::string& name,
                                                                      const std::string& new_name,
                                                                      const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  CAIRN_RETURN_IF_ERROR(ValidateModelName(new_name, "new_name"));
  // The registry copies stay where they are: each version's
  // storage_location keeps naming its files.
  return registry_.RenameRegisteredModel(name, new_name, ActorOf(actor));
}

Result<store::RegisteredModel> RegistryService::UpdateRegisteredModel(
    const std::string& name, const std::string& description, const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  return registry_.UpdateRegisteredModel(name, description, ActorOf(actor));
}

Status RegistryService::DeleteRegisteredModel(const std::string& name, const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  // Collect the versions' copies first: the rows are gone afterwards.
  std::vector<std::string> locations;
  store::RegistryQuery q;
  q.filter.push_back(
      {store::RegistryComparison::Field::kName, store::RegistryComparison::Op::kEq, "", {name}});
  q.max_results = 1000;
  while (true) {
    CAIRN_ASSIGN_OR_RETURN(store::ModelVersionPage page, registry_.SearchModelVersions(q));
    for (const store::ModelVersion& v : page.versions) locations.push_back(v.storage_location);
    if (page.next_offset < 0) break;
    q.offset = page.next_offset;
  }
  CAIRN_RETURN_IF_ERROR(registry_.DeleteRegisteredModel(name, ActorOf(actor)));
  for (const std::string& l : locations) DeleteRegistryCopy(l);
  return {};
}

namespace {

// MLflow keeps prompts (models and versions tagged mlflow.prompt.is_prompt =
// true) out of registry searches unless the filter names that tag.
void ExcludePromptsUnlessAsked(store::RegistryQuery& q) {
  constexpr std::string_view kPromptTag = "mlflow.prompt.is_prompt";
  for (const store::RegistryComparison& c : q.filter) {
    if (c.field == store::RegistryComparison::Field::kTag && c.key == kPromptTag) return;
  }
  q.filter.push_back({store::RegistryComparison::Field::kTag,
                      store::RegistryComparison::Op::kNe, std::string(kPromptTag), {"true"}});
}

}  // namespace

Result<RegisteredModelsPage> RegistryService::SearchRegisteredModels(const SearchRequest& r) {
  CAIRN_ASSIGN_OR_RETURN(
      store::RegistryQuery q,
      BuildRegisteredModelQuery(r.filter, r.order_by, r.max_results, r.page_token));
  ExcludePromptsUnlessAsked(q);
  CAIRN_ASSIGN_OR_RETURN(store::RegisteredModelPage page, registry_.SearchRegisteredModels(q));
  return RegisteredModelsPage{std::move(page.models), NextPageToken(page.next_offset)};
}

Status RegistryService::SetRegisteredModelTag(const std::string& name, const store::Tag& tag,
                                              const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  CAIRN_RETURN_IF_ERROR(ValidateRegistryTag(tag));
  return registry_.SetRegisteredModelTag(name, tag, ActorOf(actor));
}

Status RegistryService::DeleteRegisteredModelTag(const std::string& name, const std::string& key,
                                                 const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  CAIRN_RETURN_IF_ERROR(tracking::ValidateKeyName(key, "key"));
  return registry_.DeleteRegisteredModelTag(name, key, ActorOf(actor));
}

Status RegistryService::SetProtectedTargets(const std::string& name,
                                            const std::vector<std::string>& targets,
                                            const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  std::set<std::string> canonical;
  for (const std::string& t : targets) {
    // A stage name in any case is the stage; anything else must be a
    // settable alias.
    if (auto stage = CanonicalStage(t)) {
      canonical.insert(*stage);
      continue;
    }
    if (auto s = ValidateAliasForSet(t); !s) {
      return InvalidArgument("Invalid protected target '" + t +
                             "': not a stage, and not an alias: " + s.error().message());
    }
    canonical.insert(t);
  }
  return registry_.SetProtectedTargets(
      name, std::vector<std::string>(canonical.begin(), canonical.end()), ActorOf(actor));
}

Result<std::vector<store::ModelVersion>> RegistryService::GetLatestVersions(
    const std::string& name, const std::vector<std::string>& stages) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  std::vector<std::string> canonical;
  for (const std::string& s : stages) {
    CAIRN_ASSIGN_OR_RETURN(std::string c, CanonicalStage(s));
    canonical.push_back(std::move(c));
  }
  return registry_.GetLatestVersions(name, canonical);
}

Result<std::vector<std::vector<store::ModelVersion>>> RegistryService::GetLatestVersionsOf(
    const std::vector<std::string>& names) {
  return registry_.GetLatestVersionsOf(names);
}

// ------------------------------------------------------- source resolution

Result<std::optional<std::string>> RegistryService::RepoPathOf(const std::string& uri) const {
  if (artifacts_ == nullptr) return std::optional<std::string>();
  std::string rel;
  if (Lower(uri).starts_with("mlflow-artifacts:")) {
    // The artifact proxy serves the repository: its paths are ours.
    CAIRN_ASSIGN_OR_RETURN(Uri u, Uri::Parse(uri));
    rel = u.path;
  } else if (IsLocal(artifact_root_uri_)) {
    if (!IsLocal(uri)) return std::optional<std::string>();
    CAIRN_ASSIGN_OR_RETURN(std::string root, LocalPathFromUri(artifact_root_uri_));
    CAIRN_ASSIGN_OR_RETURN(std::string path, LocalPathFromUri(uri));
    std::string r = std::filesystem::path(root).lexically_normal().string();
    while (r.size() > 1 && r.back() == '/') r.pop_back();
    std::string p = std::filesystem::path(path).lexically_normal().string();
    if (p == r) {
      rel.clear();
    } else if (p.starts_with(r + "/")) {
      rel = p.substr(r.size() + 1);
    } else {
      return std::optional<std::string>();
    }
  } else {
    std::string root = artifact_root_uri_;
    if (root.empty() || Lower(root).starts_with("mlflow-artifacts:")) {
      return std::optional<std::string>();
    }
    if (root.back() != '/') root.push_back('/');
    if (!uri.starts_with(root)) return std::optional<std::string>();
    CAIRN_ASSIGN_OR_RETURN(rel, PercentDecode(std::string_view(uri).substr(root.size())));
  }
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  while (!rel.empty() && rel.back() == '/') rel.pop_back();
  if (rel.empty()) {
    return InvalidArgument("Model version source '" + uri +
                           "' is the artifact root itself; name the model's folder");
  }
  CAIRN_RETURN_IF_ERROR(blob::SplitArtifactPath(rel, /*allow_root=*/false));
  return std::optional<std::string>(rel);
}

std::string RegistryService::UriOfRepoPath(std::string_view repo_path) const {
  return AppendUri(artifact_root_uri_, PercentEncode(repo_path, /*keep_slash=*/true));
}

Result<std::optional<store::LoggedModel>> RegistryService::LoggedModelOfRun(
    const store::Run& run, const std::string& name) {
  store::LoggedModelQuery q;
  q.experiment_ids = {run.info.experiment_id};
  q.filter = {{store::Entity::kAttribute, "source_run_id", store::Comparator::kEq,
               run.info.run_id},
              {store::Entity::kAttribute, "name", store::Comparator::kEq, name}};
  q.max_results = 1000;
  CAIRN_ASSIGN_OR_RETURN(store::LoggedModelPage page, store_.logged_models().SearchLoggedModels(q));
  if (page.models.empty()) return std::optional<store::LoggedModel>();
  if (page.models.size() == 1) return std::optional<store::LoggedModel>(page.models.front());
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::LoggedModelOutput> outputs,
                         store_.logged_models().GetRunOutputs(run.info.run_id));
  auto step_of = [&](const store::LoggedModel& m) {
    int64_t step = -1;
    for (const auto& o : outputs) {
      if (o.model_id == m.model_id) step = std::max(step, o.step);
    }
    return step;
  };
  const store::LoggedModel* best = &page.models.front();
  for (const store::LoggedModel& m : page.models) {
    if (step_of(m) > step_of(*best)) best = &m;
  }
  return std::optional<store::LoggedModel>(*best);
}

Result<RegistryService::ResolvedSource> RegistryService::ResolveSource(const std::string& source,
                                                                       int depth) {
  ResolvedSource out;
  std::string lower = Lower(source);
  auto from_base = [&](const std::string& base, std::string_view sub) -> Status {
    CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> rp, RepoPathOf(base));
    if (rp) {
      std::string joined = JoinRepoPath(*rp, sub);
      CAIRN_RETURN_IF_ERROR(blob::SplitArtifactPath(joined, false));
      out.repo_path = joined;
    } else {
      out.location = AppendUri(base, sub);
    }
    return {};
  };
  if (lower.starts_with("runs:")) {
    CAIRN_ASSIGN_OR_RETURN(RunsUri ru, ParseRunsUri(source));
    CAIRN_ASSIGN_OR_RETURN(store::Run run, store_.GetRun(ru.run_id));
    out.run_id = ru.run_id;
    CAIRN_RETURN_IF_ERROR(from_base(run.info.artifact_uri, ru.path));
    // MLflow 3 logs a model's files under the logged model, not the run:
    // "runs:/<run>/<name>" with nothing at that path means the run's logged
    // model of that name (the newest output step wins), as MLflow's server
    // resolves it.
    if (out.repo_path && !ru.path.empty()) {
      CAIRN_ASSIGN_OR_RETURN(std::vector<blob::ArtifactEntry> here,
                             artifacts_->List(*out.repo_path));
      if (here.empty()) {
        CAIRN_ASSIGN_OR_RETURN(std::optional<store::LoggedModel> lm,
                               LoggedModelOfRun(run, ru.path));
        if (lm) {
          out.model_id = lm->model_id;
          out.repo_path.reset();
          CAIRN_RETURN_IF_ERROR(from_base(lm->artifact_location, ""));
        }
      }
    }
    return out;
  }
  if (lower.starts_with("models:")) {
    std::string_view rest = std::string_view(source).substr(std::string_view("models:").size());
    if (!rest.starts_with("/") || rest.starts_with("//")) {
      return InvalidArgument("Invalid model version source: '" + source +
                             "'. Registered model sources must use the active model registry.");
    }
    rest.remove_prefix(1);
    size_t slash = rest.find('/');
    size_t at = rest.rfind('@');
    if (slash == std::string_view::npos && at == std::string_view::npos) {
      // MLflow 3 logged model: models:/<model_id>
      std::string model_id(rest);
      CAIRN_ASSIGN_OR_RETURN(store::LoggedModel lm,
                             store_.logged_models().GetLoggedModel(model_id));
      out.model_id = model_id;
      out.run_id = lm.source_run_id;
      CAIRN_RETURN_IF_ERROR(from_base(lm.artifact_location, ""));
      return out;
    }
    // Another registered version: models:/<name>/<version> or models:/<name>@<alias>.
    if (depth > 0) return InvalidArgument("Invalid model version source: '" + source + "'");
    store::ModelVersion v;
    if (slash != std::string_view::npos) {
      std::string name(rest.substr(0, slash));
      CAIRN_ASSIGN_OR_RETURN(int64_t number, ParseVersionNumber(rest.substr(slash + 1)));
      CAIRN_ASSIGN_OR_RETURN(v, registry_.GetModelVersion(name, number));
    } else {
      CAIRN_ASSIGN_OR_RETURN(v, registry_.GetVersionByAlias(std::string(rest.substr(0, at)),
                                                            std::string(rest.substr(at + 1))));
    }
    std::string location = v.storage_location.empty() ? v.source : v.storage_location;
    CAIRN_ASSIGN_OR_RETURN(ResolvedSource inner, ResolveSource(location, depth + 1));
    inner.run_id = v.run_id;
    inner.model_id = v.model_id;
    return inner;
  }
  CAIRN_RETURN_IF_ERROR(from_base(source, ""));
  return out;
}

Result<std::string> RegistryService::SignatureOf(const std::string& repo_path) {
  std::string manifest_path = repo_path + "/MLmodel";
  CAIRN_ASSIGN_OR_RETURN(std::vector<blob::ArtifactEntry> entries, artifacts_->List(repo_path));
  bool has_manifest = false;
  for (const blob::ArtifactEntry& e : entries) {
    if (e.path == manifest_path && !e.is_dir) has_manifest = true;
  }
  if (!has_manifest) return std::string();
  CAIRN_ASSIGN_OR_RETURN(blob::ArtifactFile file, artifacts_->Download(manifest_path));
  CAIRN_ASSIGN_OR_RETURN(std::string text,
                         ReadSmallFile(file.local_path, model::kMaxMlModelBytes, manifest_path));
  CAIRN_ASSIGN_OR_RETURN(model::ModelManifest manifest, model::ParseMlModel(text, manifest_path));
  if (!manifest.signature) return std::string();
  return model::SignatureToJson(*manifest.signature);
}

void RegistryService::DeleteRegistryCopy(const std::string& storage_location) {
  if (artifacts_ == nullptr || storage_location.empty()) return;
  auto rp = RepoPathOf(storage_location);
  if (!rp || !*rp) return;
  const std::string& path = **rp;
  std::string prefix = std::string(kRegistryFolder) + "/";
  if (!path.starts_with(prefix)) return;  // not ours: a run's files
  if (auto s = artifacts_->Delete(path); !s) {
    CAIRN_LOG_WARN("registry copy not deleted path={} error={}", path, s.error().ToString());
  }
}

// ---------------------------------------------------------- model versions

Result<store::ModelVersion> RegistryService::CreateModelVersion(const CreateVersionRequest& r,
                                                                const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(r.name));
  if (r.source.empty()) return std::unexpected(tracking::MissingRequired("source"));
  for (const store::Tag& t : r.tags) CAIRN_RETURN_IF_ERROR(ValidateRegistryTag(t));
  // Fail on an unknown model before resolving anything.
  CAIRN_RETURN_IF_ERROR(registry_.GetRegisteredModel(r.name));
  CAIRN_ASSIGN_OR_RETURN(ResolvedSource resolved, ResolveSource(r.source));

  store::NewModelVersion nv;
  nv.name = r.name;
  nv.source = r.source;
  nv.run_id = !r.run_id.empty() ? r.run_id : resolved.run_id;
  nv.run_link = r.run_link;
  nv.description = r.description;
  nv.model_id = !r.model_id.empty() ? r.model_id : resolved.model_id;
  nv.tags = r.tags;

  if (resolved.repo_path) {
    const std::string& from = *resolved.repo_path;
    // The source must exist: a folder with files, or a file.
    CAIRN_ASSIGN_OR_RETURN(std::vector<blob::ArtifactEntry> entries, artifacts_->List(from));
    if (entries.empty() && !artifacts_->Download(from)) {
      return InvalidArgument("Model version source '" + r.source + "' does not exist");
    }
    // Parsed from the source before the transaction; the copy holds the
    // same content.
    CAIRN_ASSIGN_OR_RETURN(nv.signature_json, SignatureOf(from));
  }

  store::Actor who = ActorOf(actor);
  store::Event event{"model_version.created", ""};
  const std::string model_folder =
      JoinRepoPath(kRegistryFolder, PercentEncode(r.name, /*keep_slash=*/false));
  // The version number is known only inside the store's transaction: the
  // copy and the event payload are made there. (The store reads `event`
  // after calling place.)
  nv.place = [&](int64_t version) -> Result<std::string> {
    EventInfo info = NewEvent(event.name, r.name, version, who);
    info.source = r.source;
    info.run_id = nv.run_id;
    event.payload = Payload(info);
    if (!resolved.repo_path) return resolved.location.empty() ? r.source : resolved.location;
    std::string to = JoinRepoPath(model_folder, std::to_string(version));
    auto copied = artifacts_->CopyTree(*resolved.repo_path, to);
    if (!copied && copied.error().code() == ErrorCode::kAlreadyExists) {
      // A folder left by a renamed model of the same name (its versions
      // keep their files): keep both.
      to += "-" + std::to_string(who.time);
      copied = artifacts_->CopyTree(*resolved.repo_path, to);
    }
    if (!copied) {
      if (copied.error().code() == ErrorCode::kNotFound) {
        return InvalidArgument("Model version source '" + r.source + "' does not exist");
      }
      return std::unexpected(copied.error());
    }
    return UriOfRepoPath(to);
  };
  auto created = registry_.CreateModelVersion(nv, who, event);
  if (!created) return created;
  Notify();
  return created;
}

Result<store::ModelVersion> RegistryService::GetModelVersion(const std::string& name,
                                                             int64_t version) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  return registry_.GetModelVersion(name, version);
}

Result<store::ModelVersion> RegistryService::UpdateModelVersion(const std::string& name,
                                                                int64_t version,
                                                                const std::string& description,
                                                                const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  store::ModelVersionUpdate u;
  u.description = description;
  return registry_.UpdateModelVersion(name, version, u, ActorOf(actor));
}

Status RegistryService::DeleteModelVersion(const std::string& name, int64_t version,
                                           const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  CAIRN_ASSIGN_OR_RETURN(store::ModelVersion v, registry_.GetModelVersion(name, version));
  CAIRN_RETURN_IF_ERROR(registry_.DeleteModelVersion(name, version, ActorOf(actor)));
  DeleteRegistryCopy(v.storage_location);
  return {};
}

Result<ModelVersionsPage> RegistryService::SearchModelVersions(const SearchRequest& r) {
  CAIRN_ASSIGN_OR_RETURN(store::RegistryQuery q,
                         BuildModelVersionQuery(r.filter, r.order_by, r.max_results, r.page_token));
  ExcludePromptsUnlessAsked(q);
  CAIRN_ASSIGN_OR_RETURN(store::ModelVersionPage page, registry_.SearchModelVersions(q));
  return ModelVersionsPage{std::move(page.versions), NextPageToken(page.next_offset)};
}

Status RegistryService::SetModelVersionTag(const std::string& name, int64_t version,
                                           const store::Tag& tag, const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  CAIRN_RETURN_IF_ERROR(ValidateRegistryTag(tag));
  return registry_.SetModelVersionTag(name, version, tag, ActorOf(actor));
}

Status RegistryService::DeleteModelVersionTag(const std::string& name, int64_t version,
                                              const std::string& key, const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  CAIRN_RETURN_IF_ERROR(tracking::ValidateKeyName(key, "key"));
  return registry_.DeleteModelVersionTag(name, version, key, ActorOf(actor));
}

Result<MutationOutcome> RegistryService::ApplyStage(const std::string& name, int64_t version,
                                                    const std::string& stage, bool archive_existing,
                                                    const std::string& actor) {
  store::Actor who = ActorOf(actor);
  EventInfo info = NewEvent("model_version.stage_transitioned", name, version, who);
  info.stage = stage;
  store::Event event = ToEvent(info);
  CAIRN_ASSIGN_OR_RETURN(
      store::ModelVersion v,
      registry_.TransitionStage(name, version, stage, archive_existing, who, event));
  Notify();
  MutationOutcome out;
  out.version = std::move(v);
  return out;
}

Result<MutationOutcome> RegistryService::RequestApproval(const store::ApprovalRequest& r,
                                                         const std::string& actor) {
  store::Actor who = ActorOf(actor);
  store::ApprovalRequest req = r;
  req.status = "pending";
  req.requested_by = who.user;
  req.requested_at = who.time;
  store::Event event = ToEvent(ApprovalEvent("approval.requested", r, &req, r.comment, who));
  CAIRN_ASSIGN_OR_RETURN(store::ApprovalRequest created, registry_.CreateApproval(req, who, event));
  Notify();
  MutationOutcome out;
  out.pending = true;
  out.approval = std::move(created);
  return out;
}

Result<MutationOutcome> RegistryService::TransitionStage(const std::string& name, int64_t version,
                                                         const std::string& stage,
                                                         bool archive_existing,
                                                         const std::string& actor,
                                                         const std::string& comment) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  CAIRN_ASSIGN_OR_RETURN(std::string canonical, CanonicalStage(stage));
  if (archive_existing && canonical != store::kStageStaging &&
      canonical != store::kStageProduction) {
    return InvalidArgument("Model version transition cannot archive existing model versions "
                           "because '" + stage +
                           "' is not an Active stage. Valid stages are ['Staging', 'Production']");
  }
  CAIRN_ASSIGN_OR_RETURN(store::RegisteredModel m, registry_.GetRegisteredModel(name));
  CAIRN_RETURN_IF_ERROR(registry_.GetModelVersion(name, version));
  if (IsProtected(m, canonical)) {
    store::ApprovalRequest r;
    r.model_name = name;
    r.kind = "stage";
    r.target = canonical;
    r.version = version;
    r.archive_existing = archive_existing;
    r.comment = comment;
    return RequestApproval(r, actor);
  }
  return ApplyStage(name, version, canonical, archive_existing, actor);
}

Result<std::string> RegistryService::GetDownloadUri(const std::string& name, int64_t version) {
  CAIRN_ASSIGN_OR_RETURN(store::ModelVersion v, GetModelVersion(name, version));
  return v.storage_location.empty() ? v.source : v.storage_location;
}

// ----------------------------------------------------------------- aliases

Result<MutationOutcome> RegistryService::ApplyAlias(const std::string& name,
                                                    const std::string& alias, int64_t version,
                                                    const std::string& actor) {
  store::Actor who = ActorOf(actor);
  EventInfo info = NewEvent("alias.set", name, version, who);
  info.alias = alias;
  store::Event event = ToEvent(info);
  CAIRN_RETURN_IF_ERROR(registry_.SetAlias(name, alias, version, who, event));
  Notify();
  CAIRN_ASSIGN_OR_RETURN(store::ModelVersion v, registry_.GetModelVersion(name, version));
  MutationOutcome out;
  out.version = std::move(v);
  return out;
}

Result<MutationOutcome> RegistryService::SetAlias(const std::string& name, const std::string& alias,
                                                  int64_t version, const std::string& actor,
                                                  const std::string& comment) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  CAIRN_RETURN_IF_ERROR(ValidateAliasForSet(alias));
  CAIRN_ASSIGN_OR_RETURN(store::RegisteredModel m, registry_.GetRegisteredModel(name));
  CAIRN_RETURN_IF_ERROR(registry_.GetModelVersion(name, version));
  if (IsProtected(m, alias)) {
    store::ApprovalRequest r;
    r.model_name = name;
    r.kind = "alias";
    r.target = alias;
    r.version = version;
    r.comment = comment;
    return RequestApproval(r, actor);
  }
  return ApplyAlias(name, alias, version, actor);
}

Status RegistryService::DeleteAlias(const std::string& name, const std::string& alias,
                                    const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  CAIRN_RETURN_IF_ERROR(ValidateAliasSyntax(alias));
  CAIRN_ASSIGN_OR_RETURN(store::RegisteredModel m, registry_.GetRegisteredModel(name));
  // Deleting an alias that is not there succeeds, as MLflow's does.
  bool exists = std::any_of(m.aliases.begin(), m.aliases.end(),
                            [&](const store::ModelAlias& a) { return a.alias == alias; });
  if (!exists) return {};
  if (IsProtected(m, alias)) {
    // An approval moves an alias; it cannot remove one. Deleting a protected
    // alias first needs it taken off the protected targets.
    return FailedPrecondition("Alias '" + alias + "' of registered model '" + name +
                              "' is protected; remove it from the protected targets before "
                              "deleting it");
  }
  store::Actor who = ActorOf(actor);
  int64_t version = 0;
  if (auto current = registry_.GetVersionByAlias(name, alias)) version = current->version;
  EventInfo info = NewEvent("alias.deleted", name, version, who);
  info.alias = alias;
  store::Event event = ToEvent(info);
  CAIRN_RETURN_IF_ERROR(registry_.DeleteAlias(name, alias, who, event));
  Notify();
  return {};
}

Result<store::ModelVersion> RegistryService::GetVersionByAlias(const std::string& name,
                                                               const std::string& alias) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  CAIRN_RETURN_IF_ERROR(ValidateAliasSyntax(alias));
  CAIRN_ASSIGN_OR_RETURN(store::RegisteredModel m, registry_.GetRegisteredModel(name));
  // As MLflow: "latest" is the highest version number; an unknown alias of
  // an existing model is INVALID_PARAMETER_VALUE, not a 404.
  if (Lower(alias) == "latest") {
    CAIRN_ASSIGN_OR_RETURN(std::vector<store::ModelVersion> latest,
                           registry_.GetLatestVersions(name, {}));
    if (latest.empty()) return NotFound("Latest version not found for model " + name + ".");
    return *std::max_element(
        latest.begin(), latest.end(),
        [](const store::ModelVersion& a, const store::ModelVersion& b) {
          return a.version < b.version;
        });
  }
  Result<store::ModelVersion> v = registry_.GetVersionByAlias(name, alias);
  if (!v && v.error().code() == ErrorCode::kNotFound) {
    return InvalidArgument("Registered model alias " + alias + " not found.");
  }
  return v;
}

Result<MutationOutcome> RegistryService::RollbackAlias(const std::string& name,
                                                       const std::string& alias,
                                                       const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
  CAIRN_RETURN_IF_ERROR(ValidateAliasSyntax(alias));
  CAIRN_ASSIGN_OR_RETURN(store::ModelVersion current, registry_.GetVersionByAlias(name, alias));
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::AliasHistoryEntry> history,
                         registry_.GetAliasHistory(name, alias));
  // Newest first; the newest entries are the current value (possibly set
  // more than once). The first different, still existing version is the
  // one it held before.
  for (const store::AliasHistoryEntry& h : history) {
    if (h.version == current.version || h.version <= 0) continue;
    if (!registry_.GetModelVersion(name, h.version)) continue;  // deleted since
    return SetAlias(name, alias, h.version, actor,
                    "rollback from version " + std::to_string(current.version));
  }
  return FailedPrecondition("Alias '" + alias + "' of registered model '" + name +
                            "' has no earlier version to roll back to");
}

// ------------------------------------------------------- audit & approvals

Result<store::AuditPage> RegistryService::SearchAudit(const store::AuditQuery& q) {
  if (q.max_results < 1 || q.max_results > 1000) {
    return InvalidArgument(
        "Invalid value for max_results. It must be between 1 and 1000, but "
        "got " +
        std::to_string(q.max_results));
  }
  if (q.offset < 0) return InvalidArgument("Invalid page token");
  return registry_.SearchAudit(q);
}

Result<std::vector<store::ApprovalRequest>> RegistryService::ListApprovals(
    const std::string& model_name, const std::string& status) {
  if (!status.empty() && status != "pending" && status != "approved" && status != "rejected") {
    return InvalidArgument("Invalid approval status '" + status +
                           "'. Value must be one of pending, approved, rejected.");
  }
  return registry_.ListApprovals(model_name, status);
}

Result<store::ApprovalRequest> RegistryService::GetApproval(int64_t id) {
  return registry_.GetApproval(id);
}

Result<MutationOutcome> RegistryService::DecideApproval(int64_t id, bool approve,
                                                        const std::string& comment,
                                                        const std::string& actor) {
  CAIRN_ASSIGN_OR_RETURN(store::ApprovalRequest r, registry_.GetApproval(id));
  store::Actor who = ActorOf(actor);
  if (r.status != "pending") {
    return FailedPrecondition("Approval request " + std::to_string(id) + " is already " + r.status);
  }
  if (r.requested_by == who.user) {
    return MakeError(ErrorCode::kPermissionDenied, "Approval request " + std::to_string(id) +
                                                       " was made by '" + who.user +
                                                       "'; another user must approve or reject it");
  }
  MutationOutcome out;
  if (approve) {
    // Applied directly: the approval is the permission the protection asks for.
    Result<MutationOutcome> applied =
        r.kind == "alias"
            ? ApplyAlias(r.model_name, r.target, r.version, who.user)
            : ApplyStage(r.model_name, r.version, r.target, r.archive_existing, who.user);
    if (!applied) return applied;
    out.version = std::move(applied->version);
  }
  store::ApprovalRequest decided = r;
  decided.status = approve ? "approved" : "rejected";
  decided.decided_by = who.user;
  decided.decided_at = who.time;
  decided.decision_comment = comment;
  store::Event event = ToEvent(ApprovalEvent("approval.decided", r, &decided, comment, who));
  CAIRN_ASSIGN_OR_RETURN(store::ApprovalRequest stored,
                         registry_.DecideApproval(id, approve, comment, who, event));
  Notify();
  out.approval = std::move(stored);
  return out;
}

// ---------------------------------------------------------------- webhooks

Result<store::Webhook> RegistryService::CreateWebhook(const store::Webhook& w,
                                                      const std::string& actor) {
  auto url = Uri::Parse(w.url);
  if (!url || (url->scheme != "http" && url->scheme != "https") || url->host.empty()) {
    return InvalidArgument("Invalid webhook url '" + w.url +
                           "': it must be an http:// or https:// URL");
  }
  std::set<std::string> events;
  for (const std::string& e : w.events) {
    if (!KnownEvents().contains(e)) {
      std::string known;
      for (const std::string& k : KnownEvents()) known += (known.empty() ? "" : ", ") + k;
      return InvalidArgument("Invalid webhook event '" + e + "'. Known events: " + known);
    }
    events.insert(e);
  }
  if (w.secret.empty()) {
    return std::unexpected(tracking::MissingRequired("secret"));
  }
  if (!w.model_name.empty()) {
    CAIRN_RETURN_IF_ERROR(ValidateModelName(w.model_name));
    CAIRN_RETURN_IF_ERROR(registry_.GetRegisteredModel(w.model_name));
  }
  store::Webhook nw = w;
  nw.events.assign(events.begin(), events.end());
  nw.active = true;
  nw.creation_time = clock_.NowMillis();
  CAIRN_ASSIGN_OR_RETURN(store::Webhook created, registry_.CreateWebhook(nw, ActorOf(actor)));
  created.secret.clear();  // never handed back
  return created;
}

Result<std::vector<store::Webhook>> RegistryService::ListWebhooks(const std::string& model_name) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::Webhook> hooks, registry_.ListWebhooks(model_name));
  for (store::Webhook& h : hooks) h.secret.clear();
  return hooks;
}

Status RegistryService::DeleteWebhook(int64_t id, const std::string& actor) {
  return registry_.DeleteWebhook(id, ActorOf(actor));
}

Result<std::vector<store::WebhookDelivery>> RegistryService::ListDeliveries(int64_t webhook_id,
                                                                            int64_t max_results) {
  if (max_results <= 0) max_results = 100;
  if (max_results > 1000) {
    return InvalidArgument("Invalid value for max_results. It must be at most 1000, but got " +
                           std::to_string(max_results));
  }
  CAIRN_RETURN_IF_ERROR(registry_.GetWebhook(webhook_id));
  return registry_.ListDeliveries(webhook_id, max_results);
}

// ----------------------------------------------------------------- lineage

Result<Lineage> RegistryService::GetLineage(const std::string& name, int64_t version) {
  Lineage out;
  CAIRN_ASSIGN_OR_RETURN(out.version, GetModelVersion(name, version));
  if (out.version.run_id.empty()) return out;
  auto run = store_.GetRun(out.version.run_id);
  if (run) {
    out.run = *run;
    std::set<std::string> seen = {run->info.run_id};
    const store::Run* child = &*out.run;
    for (int depth = 0; depth < kMaxParentDepth; ++depth) {
      std::string parent_id;
      for (const store::Tag& t : child->tags) {
        if (t.key == kParentRunTag) parent_id = t.value;
      }
      if (parent_id.empty() || seen.contains(parent_id)) break;
      auto parent = store_.GetRun(parent_id);
      if (!parent) {
        if (parent.error().code() == ErrorCode::kNotFound) break;
        return std::unexpected(parent.error());
      }
      seen.insert(parent_id);
      out.parent_runs.push_back(std::move(*parent));
      child = &out.parent_runs.back();
    }
  } else if (run.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(run.error());
  }
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::ModelVersion> from_run,
                         registry_.VersionsFromRun(out.version.run_id));
  for (store::ModelVersion& v : from_run) {
    if (v.name == out.version.name && v.version == out.version.version) continue;
    out.siblings.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<store::ModelVersion>> RegistryService::VersionsUsingDataset(
    const std::string& digest, const std::string& name) {
  if (digest.empty()) return std::unexpected(tracking::MissingRequired("digest"));
  return registry_.VersionsUsingDataset(digest, name);
}

}  // namespace cairn::registry
