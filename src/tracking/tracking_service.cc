#include "tracking/tracking_service.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/ids.h"
#include "core/log.h"
#include "store/registry_types.h"
#include "tracking/filter_parser.h"
#include "tracking/page_token.h"
#include "tracking/run_names.h"
#include "tracking/validation.h"

namespace cairn::tracking {
namespace {

using store::Experiment;
using store::Metric;
using store::Param;
using store::Run;
using store::Tag;

// Experiment ids are decimal integers (MLflow's SQL stores make them so).
Status CheckExperimentId(const std::string& id, std::string_view path = "experiment_id") {
  if (id.empty()) return std::unexpected(MissingRequired(path));
  bool ok = id.size() <= 19;
  for (char c : id) ok = ok && c >= '0' && c <= '9';
  if (!ok) {
    return InvalidArgument("Invalid experiment ID '" + id +
                           "'. Experiment ID must be a valid integer.");
  }
  return {};
}

const Tag* FindTag(const std::vector<Tag>& tags, std::string_view key) {
  for (const Tag& t : tags) {
    if (t.key == key) return &t;
  }
  return nullptr;
}

bool HasScheme(std::string_view uri) {
  size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i) {
    char c = uri[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-'));
    if (!ok) return false;
  }
  return true;
}

std::function<uint64_t()> DefaultRandom() {
  auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [gen] { return (*gen)(); };
}

}  // namespace

std::string AppendUriPath(std::string_view base, std::string_view segment) {
  while (!segment.empty() && segment.front() == '/') segment.remove_prefix(1);
  std::string_view trimmed = base;
  while (!trimmed.empty() && trimmed.back() == '/') trimmed.remove_suffix(1);
  std::string out;
  if (!trimmed.empty() && trimmed.back() == ':') {
    // "mlflow-artifacts:/" or "file:///": keep the scheme's own slashes.
    out = std::string(base);
    if (out.back() != '/') out.push_back('/');
  } else {
    out = std::string(trimmed);
    out.push_back('/');
  }
  out.append(segment);
  return out;
}

TrackingService::TrackingService(store::MetadataStore& store, const Clock& clock,
                                 std::string default_artifact_root, TrackingOptions options)
    : store_(store),
      clock_(clock),
      default_artifact_root_(std::move(default_artifact_root)),
      random_(options.random ? std::move(options.random) : DefaultRandom()) {}

std::string TrackingService::NewRunName() {
  std::lock_guard<std::mutex> lock(random_mu_);
  return GenerateRunName(random_);
}

std::string TrackingService::ArtifactLocationFor(const Experiment& e) const {
  if (!e.artifact_location.empty()) return e.artifact_location;
  return AppendUriPath(default_artifact_root_, e.experiment_id);
}

Result<int64_t> TrackingService::CheckMaxResults(std::optional<int64_t> max_results) const {
  int64_t n = max_results.value_or(kSearchMaxResultsDefault);
  if (n < 1) {
    return InvalidArgument("Invalid value " + std::to_string(n) +
                           " for parameter 'max_results' supplied. It must be a positive integer");
  }
  if (n > kSearchMaxResultsThreshold) {
    return InvalidArgument("Invalid value " + std::to_string(n) +
                           " for parameter 'max_results' supplied. It must be at most " +
                           std::to_string(kSearchMaxResultsThreshold));
  }
  return n;
}

// ------------------------------------------------------------------- audit

void TrackingService::Audit(const std::string& actor, std::string action, std::string entity_type,
                            std::string entity_id, std::string before, std::string after) {
  store::AuditEntry entry;
  entry.time = clock_.NowMillis();
  entry.actor = actor.empty() ? "anonymous" : actor;
  entry.action = std::move(action);
  entry.entity_type = std::move(entity_type);
  entry.entity_id = std::move(entity_id);
  entry.before = std::move(before);
  entry.after = std::move(after);
  auto s = store_.registry().AppendAudit(entry);
  if (!s) {
    CAIRN_LOG_ERROR("audit append failed action={} entity_id={} actor={} error={}", entry.action,
                    entry.entity_id, entry.actor, s.error().ToString());
  }
}

std::string TrackingService::ExperimentDocument(const std::string& experiment_id) {
  auto e = store_.GetExperiment(experiment_id);
  if (!e) return "";
  nlohmann::json doc = {{"experiment_id", e->experiment_id},
                        {"name", e->name},
                        {"artifact_location", ArtifactLocationFor(*e)},
                        {"lifecycle_stage", e->lifecycle_stage},
                        {"creation_time", e->creation_time},
                        {"last_update_time", e->last_update_time}};
  nlohmann::json tags = nlohmann::json::object();
  for (const Tag& t : e->tags) tags[t.key] = t.value;
  doc["tags"] = std::move(tags);
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string TrackingService::RunDocument(const std::string& run_id) {
  auto r = store_.GetRun(run_id);
  if (!r) return "";
  const store::RunInfo& i = r->info;
  nlohmann::json doc = {{"run_id", i.run_id},
                        {"experiment_id", i.experiment_id},
                        {"run_name", i.run_name},
                        {"user_id", i.user_id},
                        {"status", i.status},
                        {"start_time", i.start_time},
                        {"artifact_uri", i.artifact_uri},
                        {"lifecycle_stage", i.lifecycle_stage}};
  doc["end_time"] = i.end_time ? nlohmann::json(*i.end_time) : nlohmann::json(nullptr);
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// ------------------------------------------------------------- experiments

Result<std::string> TrackingService::CreateExperiment(const CreateExperimentRequest& r,
                                                      const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(ValidateExperimentName(r.name));
  for (const Tag& t : r.tags) CAIRN_RETURN_IF_ERROR(ValidateExperimentTag(t));
  store::NewExperiment e;
  e.name = r.name;
  e.tags = r.tags;
  e.creation_time = clock_.NowMillis();
  if (!r.artifact_location.empty()) {
    if (r.artifact_location.starts_with("runs:")) {
      return InvalidArgument("Artifact location cannot be a runs:/ URI. Given: '" +
                             r.artifact_location + "'");
    }
    e.artifact_location = r.artifact_location;
    if (!HasScheme(e.artifact_location)) {
      // A local path: make it absolute, as MLflow does, so it means the same
      // thing to every later reader.
      std::error_code ec;
      auto abs = std::filesystem::absolute(e.artifact_location, ec);
      if (!ec) e.artifact_location = abs.lexically_normal().string();
    }
  }
  auto existing = store_.GetExperimentByName(r.name);
  if (existing) {
    return AlreadyExists("Experiment(name=" + r.name + ") already exists.");
  }
  if (existing.error().code() != ErrorCode::kNotFound) return std::unexpected(existing.error());
  CAIRN_ASSIGN_OR_RETURN(std::string id, store_.CreateExperiment(e));
  Audit(actor, "experiment.create", "experiment", id, "", ExperimentDocument(id));
  return id;
}

Result<Experiment> TrackingService::GetExperimentChecked(const std::string& experiment_id) {
  CAIRN_RETURN_IF_ERROR(CheckExperimentId(experiment_id));
  CAIRN_ASSIGN_OR_RETURN(Experiment e, store_.GetExperiment(experiment_id));
  e.artifact_location = ArtifactLocationFor(e);
  return e;
}

Result<Experiment> TrackingService::GetExperiment(const std::string& experiment_id) {
  return GetExperimentChecked(experiment_id);
}

Result<Experiment> TrackingService::GetExperimentByName(const std::string& name) {
  if (name.empty()) return std::unexpected(MissingRequired("experiment_name"));
  auto e = store_.GetExperimentByName(name);
  if (!e) {
    if (e.error().code() == ErrorCode::kNotFound) {
      return NotFound("Could not find experiment with name '" + name + "'");
    }
    return std::unexpected(e.error());
  }
  e->artifact_location = ArtifactLocationFor(*e);
  return e;
}

Result<ExperimentsPage> TrackingService::SearchExperiments(const SearchExperimentsRequest& r) {
  store::ExperimentQuery q;
  CAIRN_ASSIGN_OR_RETURN(q.max_results, CheckMaxResults(r.max_results));
  CAIRN_ASSIGN_OR_RETURN(q.filter, ParseExperimentFilter(r.filter));
  for (const std::string& o : r.order_by) {
    CAIRN_ASSIGN_OR_RETURN(store::OrderBy ob, ParseExperimentOrderBy(o));
    q.order_by.push_back(std::move(ob));
  }
  q.view = r.view;
  CAIRN_ASSIGN_OR_RETURN(q.offset, DecodePageToken(r.page_token));
  CAIRN_ASSIGN_OR_RETURN(store::ExperimentPage page, store_.SearchExperiments(q));
  ExperimentsPage out;
  out.experiments = std::move(page.experiments);
  for (Experiment& e : out.experiments) e.artifact_location = ArtifactLocationFor(e);
  if (page.next_offset >= 0) out.next_page_token = EncodePageToken(page.next_offset);
  return out;
}

Status TrackingService::RenameExperiment(const std::string& experiment_id,
                                         const std::string& new_name, const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(CheckExperimentId(experiment_id));
  if (new_name.empty()) return std::unexpected(MissingRequired("new_name"));
  CAIRN_RETURN_IF_ERROR(ValidateExperimentName(new_name));
  CAIRN_ASSIGN_OR_RETURN(Experiment e, store_.GetExperiment(experiment_id));
  if (e.lifecycle_stage != store::kActive) {
    return FailedPrecondition("Cannot rename a non-active experiment.");
  }
  if (e.name == new_name) return {};
  auto clash = store_.GetExperimentByName(new_name);
  if (clash) return AlreadyExists("Experiment(name=" + new_name + ") already exists.");
  std::string before = ExperimentDocument(experiment_id);
  CAIRN_RETURN_IF_ERROR(store_.RenameExperiment(experiment_id, new_name, clock_.NowMillis()));
  Audit(actor, "experiment.rename", "experiment", experiment_id, std::move(before),
        ExperimentDocument(experiment_id));
  return {};
}

Status TrackingService::DeleteExperiment(const std::string& experiment_id,
                                         const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(CheckExperimentId(experiment_id));
  CAIRN_ASSIGN_OR_RETURN(Experiment e, store_.GetExperiment(experiment_id));
  if (e.lifecycle_stage != store::kActive) {
    return NotFound("No active experiment with id=" + experiment_id + " exists");
  }
  std::string before = ExperimentDocument(experiment_id);
  CAIRN_RETURN_IF_ERROR(
      store_.SetExperimentLifecycle(experiment_id, store::kDeleted, clock_.NowMillis()));
  Audit(actor, "experiment.delete", "experiment", experiment_id, std::move(before),
        ExperimentDocument(experiment_id));
  return {};
}

Status TrackingService::RestoreExperiment(const std::string& experiment_id,
                                          const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(CheckExperimentId(experiment_id));
  CAIRN_ASSIGN_OR_RETURN(Experiment e, store_.GetExperiment(experiment_id));
  if (e.lifecycle_stage != store::kDeleted) {
    return NotFound("No deleted experiment with id=" + experiment_id + " exists");
  }
  std::string before = ExperimentDocument(experiment_id);
  CAIRN_RETURN_IF_ERROR(
      store_.SetExperimentLifecycle(experiment_id, store::kActive, clock_.NowMillis()));
  Audit(actor, "experiment.restore", "experiment", experiment_id, std::move(before),
        ExperimentDocument(experiment_id));
  return {};
}

namespace {
Status CheckExperimentActive(const Experiment& e) {
  if (e.lifecycle_stage == store::kActive) return {};
  return InvalidArgument("The experiment " + e.experiment_id +
                         " must be in the 'active' state. Current state is " + e.lifecycle_stage +
                         ".");
}
}  // namespace

Status TrackingService::SetExperimentTag(const std::string& experiment_id, const Tag& tag,
                                         const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(CheckExperimentId(experiment_id));
  if (tag.key.empty()) return std::unexpected(MissingRequired("key"));
  CAIRN_RETURN_IF_ERROR(ValidateExperimentTag(tag));
  CAIRN_ASSIGN_OR_RETURN(Experiment e, store_.GetExperiment(experiment_id));
  CAIRN_RETURN_IF_ERROR(CheckExperimentActive(e));
  std::string before = ExperimentDocument(experiment_id);
  CAIRN_RETURN_IF_ERROR(store_.SetExperimentTag(experiment_id, tag));
  Audit(actor, "experiment.set_tag", "experiment", experiment_id, std::move(before),
        ExperimentDocument(experiment_id));
  return {};
}

Status TrackingService::DeleteExperimentTag(const std::string& experiment_id,
                                            const std::string& key, const std::string& actor) {
  CAIRN_RETURN_IF_ERROR(CheckExperimentId(experiment_id));
  if (key.empty()) return std::unexpected(MissingRequired("key"));
  CAIRN_ASSIGN_OR_RETURN(Experiment e, store_.GetExperiment(experiment_id));
  CAIRN_RETURN_IF_ERROR(CheckExperimentActive(e));
  if (FindTag(e.tags, key) == nullptr) {
    return NotFound("No tag with name: " + key + " in experiment with id " + experiment_id);
  }
  std::string before = ExperimentDocument(experiment_id);
  CAIRN_RETURN_IF_ERROR(store_.DeleteExperimentTag(experiment_id, key));
  Audit(actor, "experiment.delete_tag", "experiment", experiment_id, std::move(before),
        ExperimentDocument(experiment_id));
  return {};
}

// -------------------------------------------------------------------- runs

Result<Run> TrackingService::GetActiveRun(const std::string& run_id) {
  CAIRN_ASSIGN_OR_RETURN(Run run, store_.GetRun(run_id));
  if (run.info.lifecycle_stage != store::kActive) {
    return InvalidArgument("The run " + run_id +
                           " must be in the 'active' state. Current state is " +
                           run.info.lifecycle_stage + ".");
  }
  return run;
}

Result<Run> TrackingService::CreateRun(const CreateRunRequest& r, const std::string& actor) {
  std::string experiment_id =
      r.experiment_id.empty() ? std::string(kDefaultExperimentId) : r.experiment_id;
  for (size_t i = 0; i < r.tags.size(); ++i) {
    CAIRN_RETURN_IF_ERROR(ValidateRunTag(r.tags[i], "tags[" + std::to_string(i) + "]"));
  }
  CAIRN_ASSIGN_OR_RETURN(Experiment e, GetExperimentChecked(experiment_id));
  CAIRN_RETURN_IF_ERROR(CheckExperimentActive(e));

  store::NewRun run;
  run.run_id = NewRunId();
  run.experiment_id = experiment_id;
  run.tags = r.tags;
  const Tag* name_tag = FindTag(run.tags, kRunNameTag);
  if (!r.run_name.empty() && name_tag != nullptr && name_tag->value != r.run_name) {
    return InvalidArgument(
        "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different "
        "values (run_name='" +
        r.run_name + "', mlflow.runName='" + name_tag->value + "').");
  }
  run.run_name = !r.run_name.empty()                                 ? r.run_name
                 : (name_tag != nullptr && !name_tag->value.empty()) ? name_tag->value
                                                                     : NewRunName();
  if (name_tag == nullptr) run.tags.push_back(Tag{std::string(kRunNameTag), run.run_name});
  const Tag* user_tag = FindTag(run.tags, kUserTag);
  run.user_id = !r.user_id.empty() ? r.user_id : (user_tag != nullptr ? user_tag->value : "");
  if (user_tag == nullptr && !run.user_id.empty()) {
    run.tags.push_back(Tag{std::string(kUserTag), run.user_id});
  }
  run.start_time = r.start_time.value_or(clock_.NowMillis());
  run.artifact_uri = AppendUriPath(AppendUriPath(e.artifact_location, run.run_id), "artifacts");
  CAIRN_RETURN_IF_ERROR(store_.CreateRun(run));
  Audit(actor, "run.create", "run", run.run_id, "", RunDocument(run.run_id));
  return store_.GetRun(run.run_id);
}

Result<Run> TrackingService::GetRun(const std::string& run_id) {
  if (run_id.empty()) return std::unexpected(MissingRequired("run_id"));
  return store_.GetRun(run_id);
}

Result<store::RunInfo> TrackingService::UpdateRun(const UpdateRunRequest& r,
                                                  const std::string& actor) {
  if (r.run_id.empty()) return std::unexpected(MissingRequired("run_id"));
  if (r.status && !IsValidRunStatus(*r.status)) {
    return InvalidArgument(
        InvalidValueMessage("status", JsonQuote(*r.status),
                            "must be one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED."));
  }
  if (r.end_time && *r.end_time < 0) {
    return InvalidArgument(InvalidValueMessage("end_time", std::to_string(*r.end_time),
                                               "must be a nonnegative timestamp in milliseconds."));
  }
  CAIRN_RETURN_IF_ERROR(GetActiveRun(r.run_id));
  store::RunUpdate u;
  u.status = r.status;
  u.end_time = r.end_time;
  if (r.run_name && !r.run_name->empty()) u.run_name = r.run_name;
  std::string before = RunDocument(r.run_id);
  CAIRN_ASSIGN_OR_RETURN(store::RunInfo info, store_.UpdateRun(r.run_id, u));
  Audit(actor, "run.update", "run", r.run_id, std::move(before), RunDocument(r.run_id));
  return info;
}

Status TrackingService::DeleteRun(const std::string& run_id, const std::string& actor) {
  if (run_id.empty()) return std::unexpected(MissingRequired("run_id"));
  CAIRN_RETURN_IF_ERROR(store_.GetRun(run_id));
  std::string before = RunDocument(run_id);
  CAIRN_RETURN_IF_ERROR(store_.SetRunLifecycle(run_id, store::kDeleted, clock_.NowMillis()));
  Audit(actor, "run.delete", "run", run_id, std::move(before), RunDocument(run_id));
  return {};
}

Status TrackingService::RestoreRun(const std::string& run_id, const std::string& actor) {
  if (run_id.empty()) return std::unexpected(MissingRequired("run_id"));
  CAIRN_RETURN_IF_ERROR(store_.GetRun(run_id));
  std::string before = RunDocument(run_id);
  CAIRN_RETURN_IF_ERROR(store_.SetRunLifecycle(run_id, store::kActive, clock_.NowMillis()));
  Audit(actor, "run.restore", "run", run_id, std::move(before), RunDocument(run_id));
  return {};
}

Status TrackingService::SetTag(const std::string& run_id, const Tag& tag) {
  CAIRN_RETURN_IF_ERROR(ValidateRunId(run_id));
  if (tag.key.empty()) return std::unexpected(MissingRequired("key"));
  CAIRN_RETURN_IF_ERROR(ValidateRunTag(tag));
  // The store checks the run exists and is active in the same transaction,
  // and keeps the run name and its mlflow.runName tag as one fact.
  return store_.LogBatch(run_id, {}, {}, {tag});
}

Status TrackingService::DeleteTag(const std::string& run_id, const std::string& key) {
  if (run_id.empty()) return std::unexpected(MissingRequired("run_id"));
  if (key.empty()) return std::unexpected(MissingRequired("key"));
  CAIRN_ASSIGN_OR_RETURN(Run run, GetActiveRun(run_id));
  if (FindTag(run.tags, key) == nullptr) {
    return NotFound("No tag with name: " + key + " in run with id " + run_id);
  }
  return store_.DeleteRunTag(run_id, key);
}

Status TrackingService::LogMetric(const std::string& run_id, const Metric& metric) {
  CAIRN_RETURN_IF_ERROR(ValidateRunId(run_id));
  if (metric.key.empty()) return std::unexpected(MissingRequired("key"));
  CAIRN_RETURN_IF_ERROR(ValidateMetric(metric));
  return store_.LogBatch(run_id, {metric}, {}, {});
}

Status TrackingService::LogParam(const std::string& run_id, const Param& param) {
  CAIRN_RETURN_IF_ERROR(ValidateRunId(run_id));
  if (param.key.empty()) return std::unexpected(MissingRequired("key"));
  CAIRN_RETURN_IF_ERROR(ValidateParam(param));
  return store_.LogBatch(run_id, {}, {param}, {});
}

Status TrackingService::LogBatch(const std::string& run_id, const std::vector<Metric>& metrics,
                                 const std::vector<Param>& params, const std::vector<Tag>& tags) {
  // Everything is checked before anything is written: a bad item anywhere
  // leaves the run untouched.
  CAIRN_RETURN_IF_ERROR(ValidateRunId(run_id));
  CAIRN_RETURN_IF_ERROR(ValidateBatchLimits(metrics.size(), params.size(), tags.size()));
  for (size_t i = 0; i < metrics.size(); ++i) {
    CAIRN_RETURN_IF_ERROR(ValidateMetric(metrics[i], "metrics[" + std::to_string(i) + "]"));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    CAIRN_RETURN_IF_ERROR(ValidateParam(params[i], "params[" + std::to_string(i) + "]"));
  }
  for (size_t i = 0; i < tags.size(); ++i) {
    CAIRN_RETURN_IF_ERROR(ValidateRunTag(tags[i], "tags[" + std::to_string(i) + "]"));
  }
  CAIRN_RETURN_IF_ERROR(ValidateParamKeysUnique(params));
  // One store transaction: it checks the run exists and is active, refuses a
  // changed param, and renames the run when the batch sets mlflow.runName.
  // An empty batch still reports an unknown or deleted run.
  return store_.LogBatch(run_id, metrics, params, tags);
}

Status TrackingService::LogInputs(const std::string& run_id,
                                  const std::vector<store::DatasetInput>& inputs) {
  if (run_id.empty()) return std::unexpected(MissingRequired("run_id"));
  for (const store::DatasetInput& in : inputs) CAIRN_RETURN_IF_ERROR(ValidateDatasetInput(in));
  CAIRN_RETURN_IF_ERROR(GetActiveRun(run_id));
  if (inputs.empty()) return {};
  return store_.LogInputs(run_id, inputs);
}

Status TrackingService::LogModel(const std::string& run_id, const std::string& model_json) {
  if (run_id.empty()) return std::unexpected(MissingRequired("run_id"));
  if (model_json.empty()) return std::unexpected(MissingRequired("model_json"));
  nlohmann::json model = nlohmann::json::parse(model_json, nullptr, /*allow_exceptions=*/false);
  if (model.is_discarded() || !model.is_object()) {
    return InvalidArgument("Malformed model info. \n " + model_json + " \n is not a valid JSON.");
  }
  std::vector<std::string> missing;
  for (const char* f : {"artifact_path", "flavors", "run_id", "utc_time_created"}) {
    if (!model.contains(f)) missing.push_back(f);
  }
  if (!missing.empty()) {
    std::string list;
    for (const std::string& m : missing) list += (list.empty() ? "'" : ", '") + m + "'";
    return InvalidArgument("Model json is missing mandatory fields: {" + list + "}");
  }
  // The summary MLflow keeps in the tag: identity fields and flavors, without
  // each flavor's (possibly large) "config".
  nlohmann::json summary = nlohmann::json::object();
  for (const char* f : {"run_id", "artifact_path", "utc_time_created", "model_uuid"}) {
    if (model.contains(f)) summary[f] = model[f];
  }
  nlohmann::json flavors = nlohmann::json::object();
  if (model["flavors"].is_object()) {
    for (auto& [name, conf] : model["flavors"].items()) {
      nlohmann::json c = conf;
      if (c.is_object()) c.erase("config");
      flavors[name] = std::move(c);
    }
  }
  summary["flavors"] = std::move(flavors);

  CAIRN_ASSIGN_OR_RETURN(Run run, GetActiveRun(run_id));
  nlohmann::json history = nlohmann::json::array();
  if (const Tag* t = FindTag(run.tags, kLoggedModelsTag)) {
    nlohmann::json prev = nlohmann::json::parse(t->value, nullptr, false);
    if (!prev.is_discarded() && prev.is_array()) history = std::move(prev);
  }
  history.push_back(std::move(summary));
  Tag tag{std::string(kLoggedModelsTag), history.dump()};
  CAIRN_RETURN_IF_ERROR(ValidateRunTag(tag));
  return store_.LogBatch(run_id, {}, {}, {tag});
}

Result<MetricHistoryPage> TrackingService::GetMetricHistory(const MetricHistoryRequest& r) {
  if (r.run_id.empty()) return std::unexpected(MissingRequired("run_id"));
  if (r.metric_key.empty()) return std::unexpected(MissingRequired("metric_key"));
  if (r.max_results && *r.max_results <= 0) {
    return InvalidArgument("Invalid value " + std::to_string(*r.max_results) +
                           " for parameter 'max_results' supplied. It must be a positive integer.");
  }
  CAIRN_ASSIGN_OR_RETURN(int64_t offset, DecodePageToken(r.page_token));
  MetricHistoryPage page;
  if (!r.max_results) {
    CAIRN_ASSIGN_OR_RETURN(page.metrics,
                           store_.GetMetricHistory(r.run_id, r.metric_key,
                                                   std::numeric_limits<int64_t>::max(), offset));
    return page;
  }
  int64_t limit = *r.max_results;
  // One more than asked tells whether another page follows.
  int64_t probe = limit < std::numeric_limits<int64_t>::max() ? limit + 1 : limit;
  CAIRN_ASSIGN_OR_RETURN(page.metrics,
                         store_.GetMetricHistory(r.run_id, r.metric_key, probe, offset));
  if (static_cast<int64_t>(page.metrics.size()) > limit) {
    page.metrics.resize(static_cast<size_t>(limit));
    page.next_page_token = EncodePageToken(offset + limit);
  }
  return page;
}

Result<std::vector<MetricWithRunId>> TrackingService::GetMetricHistoryBulkInterval(
    const BulkIntervalRequest& r) {
  if (r.run_ids.empty()) return std::unexpected(MissingRequired("run_ids"));
  if (r.run_ids.size() > kMaxRunsPerBulkHistory) {
    return InvalidArgument("GetMetricHistoryBulkInterval request must specify at most " +
                           std::to_string(kMaxRunsPerBulkHistory) + " run_ids. Received " +
                           std::to_string(r.run_ids.size()) + " run_ids.");
  }
  if (r.metric_key.empty()) return std::unexpected(MissingRequired("metric_key"));
  int64_t max_results = r.max_results.value_or(kMaxSamplesPerRun);
  if (max_results < 1 || max_results > kMaxSamplesPerRun) {
    return InvalidArgument("max_results must be between 1 and " +
                           std::to_string(kMaxSamplesPerRun) + ".");
  }
  if (r.start_step.has_value() != r.end_step.has_value()) {
    return InvalidArgument(
        "If either start step or end step are specified, both must be specified.");
  }
  if (r.start_step && *r.start_step > *r.end_step) {
    return InvalidArgument("end_step must be greater than start_step. Found start_step=" +
                           std::to_string(*r.start_step) +
                           " and end_step=" + std::to_string(*r.end_step) + ".");
  }
  std::vector<MetricWithRunId> out;
  for (const std::string& run_id : r.run_ids) {
    CAIRN_ASSIGN_OR_RETURN(
        std::vector<Metric> history,
        store_.GetMetricHistory(run_id, r.metric_key, std::numeric_limits<int64_t>::max(), 0));
    if (r.start_step) {
      std::erase_if(
          history, [&](const Metric& m) { return m.step < *r.start_step || m.step > *r.end_step; });
    }
    size_t n = history.size();
    if (n == 0) continue;
    auto emit = [&](size_t i) { out.push_back(MetricWithRunId{run_id, history[i]}); };
    if (static_cast<int64_t>(n) <= max_results) {
      for (size_t i = 0; i < n; ++i) emit(i);
    } else if (max_results == 1) {
      emit(n - 1);
    } else {
      // Evenly spaced indices from first to last, inclusive.
      size_t k = static_cast<size_t>(max_results);
      size_t last = static_cast<size_t>(-1);
      for (size_t j = 0; j < k; ++j) {
        size_t i = static_cast<size_t>((static_cast<long double>(j) * (n - 1)) / (k - 1) + 0.5L);
        if (i != last) emit(i);
        last = i;
      }
    }
  }
  return out;
}

Result<RunsPage> TrackingService::SearchRuns(const SearchRunsRequest& r) {
  store::RunQuery q;
  CAIRN_ASSIGN_OR_RETURN(q.max_results, CheckMaxResults(r.max_results));
  for (const std::string& id : r.experiment_ids) {
    CAIRN_RETURN_IF_ERROR(CheckExperimentId(id, "experiment_ids"));
  }
  CAIRN_ASSIGN_OR_RETURN(q.filter, ParseRunFilter(r.filter));
  for (const std::string& o : r.order_by) {
    CAIRN_ASSIGN_OR_RETURN(store::OrderBy ob, ParseRunOrderBy(o));
    q.order_by.push_back(std::move(ob));
  }
  q.view = r.view;
  CAIRN_ASSIGN_OR_RETURN(q.offset, DecodePageToken(r.page_token));
  if (r.offset) {
    if (!r.page_token.empty()) {
      return InvalidArgument("give either offset or page_token, not both");
    }
    if (*r.offset < 0) {
      return InvalidArgument("offset must not be negative, got " + std::to_string(*r.offset));
    }
    q.offset = *r.offset;
  }
  q.columns = r.columns;
  RunsPage out;
  if (r.experiment_ids.empty()) return out;  // MLflow: no experiments, no runs
  q.experiment_ids = r.experiment_ids;
  CAIRN_ASSIGN_OR_RETURN(store::RunPage page, store_.SearchRuns(q));
  out.runs = std::move(page.runs);
  if (page.next_offset >= 0) out.next_page_token = EncodePageToken(page.next_offset);
  if (r.count_total) {
    CAIRN_ASSIGN_OR_RETURN(out.total, store_.CountRuns(q));
  }
  return out;
}

Result<store::ExperimentColumns> TrackingService::GetExperimentColumns(
    const std::string& experiment_id) {
  CAIRN_RETURN_IF_ERROR(CheckExperimentId(experiment_id, "experiment_id"));
  return store_.GetExperimentColumns(experiment_id);
}

}  // namespace cairn::tracking

// ------------------------------------------------------------ logged models

namespace cairn::tracking {
namespace {

using store::Comparator;
using store::Comparison;
using store::LoggedModel;

constexpr std::string_view kLoggedModelNameBadChars = "/:.%\"'";

Status ValidateLoggedModelName(const std::string& name) {
  if (name.find_first_of(kLoggedModelNameBadChars) != std::string::npos) {
    return InvalidArgument("Invalid model name ('" + name +
                           "') provided. Model name must be a non-empty string and cannot "
                           "contain the following characters: ('/', ':', '.', '%', '\"', \"'\")");
  }
  return {};
}

// The logged-model attribute an identifier names, in the store's spelling;
// empty when unknown.
std::string_view LoggedModelAttribute(std::string_view key) {
  if (key == "creation_timestamp" || key == "creation_time" || key == "creation_timestamp_ms") {
    return "creation_time";
  }
  if (key == "last_updated_timestamp" || key == "last_updated_time" ||
      key == "last_updated_timestamp_ms") {
    return "last_updated_time";
  }
  for (std::string_view k : {"name", "model_id", "source_run_id", "status", "model_type"}) {
    if (key == k) return k;
  }
  return {};
}

bool IsNumericAttribute(std::string_view key) {
  return key == "creation_time" || key == "last_updated_time";
}

// "READY", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED" -> entity names.
std::string NormalizeLoggedModelStatus(std::string s) {
  if (s.starts_with("LOGGED_MODEL_")) s.erase(0, 13);
  if (s == "UPLOAD_FAILED") s = "FAILED";
  return s;
}

// A small tokenizer + parser for MLflow's logged-model filter: comparisons
// joined by AND (see SearchLoggedModelsRequest). Values become typed
// operands; the store binds them.
class LoggedModelFilterParser {
 public:
  explicit LoggedModelFilterParser(std::string_view text) : text_(text) {}

  Result<std::vector<Comparison>> Parse() {
    std::vector<Comparison> out;
    SkipSpace();
    if (pos_ >= text_.size()) return out;
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(Comparison c, ParseComparison());
      out.push_back(std::move(c));
      SkipSpace();
      if (pos_ >= text_.size()) return out;
      if (!ConsumeKeyword("AND")) {
        return Fail(
            "expected 'AND' between comparisons (e.g. \"name = 'model' AND "
            "metrics.accuracy > 0.9\")");
      }
    }
  }

 private:
  std::unexpected<Error> Fail(const std::string& what) const {
    return InvalidArgument("Invalid filter string '" + std::string(text_) + "': " + what +
                           " at position " + std::to_string(pos_));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  static bool IsWordChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  }

  bool ConsumeKeyword(std::string_view kw) {
    SkipSpace();
    if (text_.size() - pos_ < kw.size()) return false;
    for (size_t i = 0; i < kw.size(); ++i) {
      if (std::toupper(static_cast<unsigned char>(text_[pos_ + i])) != kw[i]) return false;
    }
    size_t end = pos_ + kw.size();
    if (end < text_.size() && IsWordChar(text_[end])) return false;
    pos_ = end;
    return true;
  }

  // A `back ticked` / "double quoted" name, or a word; a word may contain
  // dots only when `dots` (keys such as metrics.a.b).
  Result<std::string> ParseName(bool dots) {
    SkipSpace();
    if (pos_ >= text_.size()) return Fail("expected an identifier");
    char q = text_[pos_];
    if (q == '`' || q == '"') {
      size_t end = text_.find(q, pos_ + 1);
      if (end == std::string_view::npos) return Fail("unterminated quoted identifier");
      std::string name(text_.substr(pos_ + 1, end - pos_ - 1));
      pos_ = end + 1;
      return name;
    }
    size_t start = pos_;
    while (pos_ < text_.size() && (IsWordChar(text_[pos_]) || (dots && text_[pos_] == '.'))) {
      ++pos_;
    }
    if (start == pos_) return Fail("expected an identifier");
    return std::string(text_.substr(start, pos_ - start));
  }

  // [entity '.'] key
  Result<Comparison> ParseIdentifier() {
    CAIRN_ASSIGN_OR_RETURN(std::string first, ParseName(/*dots=*/false));
    Comparison c;
    std::string entity;
    std::string key;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      entity = first;
      ++pos_;
      if (pos_ >= text_.size() || std::isspace(static_cast<unsigned char>(text_[pos_]))) {
        return Fail("empty key after '" + entity + ".'");
      }
      CAIRN_ASSIGN_OR_RETURN(key, ParseName(/*dots=*/true));
    } else {
      key = first;
    }
    if (entity.empty() || entity == "attributes" || entity == "attribute" || entity == "attr") {
      std::string_view attr = LoggedModelAttribute(key);
      if (attr.empty()) return Fail("unknown logged model attribute '" + key + "'");
      c.entity = store::Entity::kAttribute;
      c.key = std::string(attr);
    } else if (entity == "metrics" || entity == "metric") {
      c.entity = store::Entity::kMetric;
      c.key = key;
    } else if (entity == "params" || entity == "param" || entity == "parameters" ||
               entity == "parameter") {
      c.entity = store::Entity::kParam;
      c.key = key;
    } else if (entity == "tags" || entity == "tag") {
      c.entity = store::Entity::kTag;
      c.key = key;
    } else {
      return Fail("invalid entity type '" + entity +
                  "' (expected one of attributes, metrics, params, tags)");
    }
    if (c.key.empty()) return Fail("empty key");
    return c;
  }

  Result<Comparator> ParseOperator() {
    SkipSpace();
    std::string_view rest = text_.substr(pos_);
    struct Op {
      std::string_view text;
      Comparator op;
    };
    static constexpr Op kSymbols[] = {{"==", Comparator::kEq}, {"!=", Comparator::kNe},
                                      {"<>", Comparator::kNe}, {"<=", Comparator::kLe},
                                      {">=", Comparator::kGe}, {"=", Comparator::kEq},
                                      {"<", Comparator::kLt},  {">", Comparator::kGt}};
    for (const Op& o : kSymbols) {
      if (rest.starts_with(o.text)) {
        pos_ += o.text.size();
        return o.op;
      }
    }
    if (ConsumeKeyword("LIKE")) return Comparator::kLike;
    if (ConsumeKeyword("ILIKE")) return Comparator::kILike;
    if (ConsumeKeyword("IN")) return Comparator::kIn;
    if (ConsumeKeyword("NOT")) {
      if (ConsumeKeyword("IN")) return Comparator::kNotIn;
      return Fail("expected 'IN' after 'NOT'");
    }
    return Fail("expected a comparison operator");
  }

  Result<std::string> ParseString() {
    SkipSpace();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      return Fail("expected a quoted string");
    }
    char q = text_[pos_++];
    std::string out;
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == q) {
        if (pos_ < text_.size() && text_[pos_] == q) {  // '' inside '...'
          out.push_back(q);
          ++pos_;
          continue;
        }
        return out;
      }
      out.push_back(c);
    }
    return Fail("unterminated string");
  }

  Result<double> ParseNumber() {
    SkipSpace();
    size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.' ||
            text_[pos_] == '-' || text_[pos_] == '+')) {
      ++pos_;
    }
    std::string token(text_.substr(start, pos_ - start));
    char* end = nullptr;
    double v = token.empty() ? 0 : std::strtod(token.c_str(), &end);
    if (token.empty() || end != token.c_str() + token.size()) {
      pos_ = start;
      return Fail("expected a number");
    }
    return v;
  }

  Result<Comparison> ParseComparison() {
    CAIRN_ASSIGN_OR_RETURN(Comparison c, ParseIdentifier());
    size_t op_pos = pos_;
    CAIRN_ASSIGN_OR_RETURN(c.op, ParseOperator());
    const bool numeric = c.entity == store::Entity::kMetric ||
                         (c.entity == store::Entity::kAttribute && IsNumericAttribute(c.key));
    const bool numeric_op = c.op == Comparator::kEq || c.op == Comparator::kNe ||
                            c.op == Comparator::kLt || c.op == Comparator::kLe ||
                            c.op == Comparator::kGt || c.op == Comparator::kGe;
    const bool string_op = c.op == Comparator::kEq || c.op == Comparator::kNe ||
                           c.op == Comparator::kLike || c.op == Comparator::kILike ||
                           c.op == Comparator::kIn || c.op == Comparator::kNotIn;
    if ((numeric && !numeric_op) || (!numeric && !string_op)) {
      pos_ = op_pos;
      return Fail("invalid comparison operator '" + std::string(store::ComparatorName(c.op)) +
                  "' for " + std::string(store::EntityName(c.entity)) + " '" + c.key + "'");
    }
    const bool is_status = c.entity == store::Entity::kAttribute && c.key == "status";
    if (numeric) {
      CAIRN_ASSIGN_OR_RETURN(double v, ParseNumber());
      if (c.entity == store::Entity::kMetric) {
        c.value = v;
      } else {
        c.value = static_cast<int64_t>(v);
      }
    } else if (c.op == Comparator::kIn || c.op == Comparator::kNotIn) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '(') return Fail("expected '(' after IN");
      ++pos_;
      std::vector<std::string> values;
      for (;;) {
        CAIRN_ASSIGN_OR_RETURN(std::string v, ParseString());
        values.push_back(is_status ? NormalizeLoggedModelStatus(std::move(v)) : std::move(v));
        SkipSpace();
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < text_.size() && text_[pos_] == ')') {
          ++pos_;
          break;
        }
        return Fail("expected ',' or ')' in the list");
      }
      c.value = std::move(values);
    } else {
      CAIRN_ASSIGN_OR_RETURN(std::string v, ParseString());
      c.value = is_status ? NormalizeLoggedModelStatus(std::move(v)) : std::move(v);
    }
    return c;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

Result<store::OrderBy> ParseLoggedModelOrderBy(const LoggedModelOrderBy& ob) {
  if (ob.field_name.empty()) return std::unexpected(MissingRequired("order_by.field_name"));
  if (!ob.dataset_name.empty() || !ob.dataset_digest.empty()) {
    return InvalidArgument(
        "Ordering logged models by a metric of a dataset (order_by.dataset_name, "
        "order_by.dataset_digest) is not supported by this server.");
  }
  store::OrderBy out;
  out.ascending = ob.ascending;
  size_t dot = ob.field_name.find('.');
  if (dot == std::string::npos) {
    std::string_view attr = LoggedModelAttribute(ob.field_name);
    if (attr.empty()) {
      return InvalidArgument("Invalid order by field name: " + ob.field_name);
    }
    out.entity = store::Entity::kAttribute;
    out.key = std::string(attr);
    return out;
  }
  std::string entity = ob.field_name.substr(0, dot);
  std::string key = ob.field_name.substr(dot + 1);
  if (key.size() >= 2 && key.front() == '`' && key.back() == '`')
    key = key.substr(1, key.size() - 2);
  if (entity != "metrics" || key.empty()) {
    return InvalidArgument("Invalid order by field name: " + ob.field_name +
                           ". Only metrics are supported.");
  }
  out.entity = store::Entity::kMetric;
  out.key = std::move(key);
  return out;
}

Status CheckModelId(const std::string& model_id) {
  if (model_id.empty()) return std::unexpected(MissingRequired("model_id"));
  if (!IsValidId(model_id)) return NotFound("Logged model with ID '" + model_id + "' not found.");
  return {};
}

}  // namespace

Result<store::LoggedModel> TrackingService::CreateLoggedModel(const CreateLoggedModelRequest& r) {
  CAIRN_RETURN_IF_ERROR(CheckExperimentId(r.experiment_id));
  CAIRN_RETURN_IF_ERROR(ValidateLoggedModelName(r.name));
  for (size_t i = 0; i < r.tags.size(); ++i) {
    if (r.tags[i].key.empty()) {
      return std::unexpected(MissingRequired("tags[" + std::to_string(i) + "].key"));
    }
  }
  for (size_t i = 0; i < r.params.size(); ++i) {
    CAIRN_RETURN_IF_ERROR(ValidateParam(r.params[i], "params[" + std::to_string(i) + "]"));
  }
  CAIRN_ASSIGN_OR_RETURN(Experiment e, GetExperimentChecked(r.experiment_id));
  CAIRN_RETURN_IF_ERROR(CheckExperimentActive(e));
  if (!r.source_run_id.empty()) CAIRN_RETURN_IF_ERROR(store_.GetRun(r.source_run_id));
  LoggedModel m;
  m.model_id = "m-" + NewRunId();
  m.experiment_id = r.experiment_id;
  m.name = r.name.empty() ? NewRunName() : r.name;
  m.artifact_location = AppendUriPath(
      AppendUriPath(AppendUriPath(e.artifact_location, "models"), m.model_id), "artifacts");
  m.creation_time = clock_.NowMillis();
  m.last_updated_time = m.creation_time;
  m.status = "PENDING";
  m.model_type = r.model_type;
  m.source_run_id = r.source_run_id;
  m.tags = r.tags;
  m.params = r.params;
  CAIRN_RETURN_IF_ERROR(store_.logged_models().CreateLoggedModel(m));
  return store_.logged_models().GetLoggedModel(m.model_id);
}

Result<store::LoggedModel> TrackingService::GetLoggedModel(const std::string& model_id,
                                                           bool allow_deleted) {
  CAIRN_RETURN_IF_ERROR(CheckModelId(model_id));
  CAIRN_ASSIGN_OR_RETURN(LoggedModel m, store_.logged_models().GetLoggedModel(model_id));
  if (!allow_deleted && m.lifecycle_stage == store::kDeleted) {
    return NotFound("Logged model with ID '" + model_id + "' not found.");
  }
  return m;
}

Result<store::LoggedModel> TrackingService::FinalizeLoggedModel(const std::string& model_id,
                                                                const std::string& status) {
  CAIRN_RETURN_IF_ERROR(CheckModelId(model_id));
  if (status.empty()) return std::unexpected(MissingRequired("status"));
  std::string normalized = NormalizeLoggedModelStatus(status);
  if (normalized != "PENDING" && normalized != "READY" && normalized != "FAILED") {
    return InvalidArgument("Invalid logged model status '" + status +
                           "'; expected LOGGED_MODEL_PENDING, LOGGED_MODEL_READY or "
                           "LOGGED_MODEL_UPLOAD_FAILED.");
  }
  return store_.logged_models().FinalizeLoggedModel(model_id, normalized, "", clock_.NowMillis());
}

Status TrackingService::DeleteLoggedModel(const std::string& model_id) {
  CAIRN_RETURN_IF_ERROR(CheckModelId(model_id));
  return store_.logged_models().DeleteLoggedModel(model_id, clock_.NowMillis());
}

Status TrackingService::SetLoggedModelTags(const std::string& model_id,
                                           const std::vector<Tag>& tags) {
  CAIRN_RETURN_IF_ERROR(CheckModelId(model_id));
  for (size_t i = 0; i < tags.size(); ++i) {
    if (tags[i].key.empty()) {
      return std::unexpected(MissingRequired("tags[" + std::to_string(i) + "].key"));
    }
  }
  return store_.logged_models().SetLoggedModelTags(model_id, tags);
}

Status TrackingService::DeleteLoggedModelTag(const std::string& model_id, const std::string& key) {
  CAIRN_RETURN_IF_ERROR(CheckModelId(model_id));
  if (key.empty()) return std::unexpected(MissingRequired("tag_key"));
  return store_.logged_models().DeleteLoggedModelTag(model_id, key);
}

Status TrackingService::LogLoggedModelParams(const std::string& model_id,
                                             const std::vector<Param>& params) {
  CAIRN_RETURN_IF_ERROR(CheckModelId(model_id));
  for (size_t i = 0; i < params.size(); ++i) {
    CAIRN_RETURN_IF_ERROR(ValidateParam(params[i], "params[" + std::to_string(i) + "]"));
  }
  return store_.logged_models().LogLoggedModelParams(model_id, params);
}

Result<LoggedModelsPage> TrackingService::SearchLoggedModels(const SearchLoggedModelsRequest& r) {
  if (r.experiment_ids.empty()) return std::unexpected(MissingRequired("experiment_ids"));
  for (const std::string& id : r.experiment_ids) {
    CAIRN_RETURN_IF_ERROR(CheckExperimentId(id, "experiment_ids"));
  }
  if (!r.datasets.empty()) {
    return InvalidArgument(
        "Filtering logged models by dataset ('datasets') is not supported by this server.");
  }
  store::LoggedModelQuery q;
  q.experiment_ids = r.experiment_ids;
  q.max_results = r.max_results.value_or(kLoggedModelsMaxResultsDefault);
  if (q.max_results < 1 || q.max_results > kSearchMaxResultsThreshold) {
    return InvalidArgument("Invalid value " + std::to_string(q.max_results) +
                           " for parameter 'max_results' supplied. It must be between 1 and " +
                           std::to_string(kSearchMaxResultsThreshold));
  }
  CAIRN_ASSIGN_OR_RETURN(q.filter, LoggedModelFilterParser(r.filter).Parse());
  for (const LoggedModelOrderBy& ob : r.order_by) {
    CAIRN_ASSIGN_OR_RETURN(store::OrderBy o, ParseLoggedModelOrderBy(ob));
    q.order_by.push_back(std::move(o));
  }
  CAIRN_ASSIGN_OR_RETURN(q.offset, DecodePageToken(r.page_token));
  CAIRN_ASSIGN_OR_RETURN(store::LoggedModelPage page, store_.logged_models().SearchLoggedModels(q));
  LoggedModelsPage out;
  out.models = std::move(page.models);
  if (page.next_offset >= 0) out.next_page_token = EncodePageToken(page.next_offset);
  return out;
}

Status TrackingService::LogOutputs(const std::string& run_id,
                                   const std::vector<store::LoggedModelOutput>& outputs) {
  if (run_id.empty()) return std::unexpected(MissingRequired("run_id"));
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].model_id.empty()) {
      return std::unexpected(MissingRequired("models[" + std::to_string(i) + "].model_id"));
    }
  }
  CAIRN_RETURN_IF_ERROR(GetActiveRun(run_id));
  if (outputs.empty()) return {};
  return store_.logged_models().LogRunOutputs(run_id, outputs);
}

Result<std::vector<store::LoggedModelOutput>> TrackingService::GetRunOutputs(
    const std::string& run_id) {
  if (run_id.empty()) return std::unexpected(MissingRequired("run_id"));
  return store_.logged_models().GetRunOutputs(run_id);
}

Status TrackingService::LogBatchWithModelMetrics(
    const std::string& run_id, const std::vector<Metric>& metrics, const std::vector<Param>& params,
    const std::vector<Tag>& tags, const std::vector<store::LoggedModelMetric>& model_metrics) {
  std::set<std::string> models;
  for (const store::LoggedModelMetric& m : model_metrics) {
    if (models.insert(m.model_id).second) {
      CAIRN_RETURN_IF_ERROR(CheckModelId(m.model_id));
      CAIRN_RETURN_IF_ERROR(store_.logged_models().GetLoggedModel(m.model_id));
    }
  }
  CAIRN_RETURN_IF_ERROR(LogBatch(run_id, metrics, params, tags));
  if (model_metrics.empty()) return {};
  std::vector<store::LoggedModelMetric> rows = model_metrics;
  for (store::LoggedModelMetric& m : rows) m.run_id = run_id;
  return store_.logged_models().LogLoggedModelMetrics(rows);
}

}  // namespace cairn::tracking
