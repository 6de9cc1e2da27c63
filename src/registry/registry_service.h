#pragma once
// RegistryService: every business rule of the model registry, over the
// RegistryStore (and the tracking store, for runs and lineage) and the
// artifact repository (the registry's immutable copies). The MLflow REST
// handlers, the native /api/v1 handlers and the CLI all call it.
//
// Rules kept here:
//  - names: non-empty registered model names; version numbers are positive
//    integers (the REST layer parses "3");
//  - aliases: MLflow's syntax ([\w\-]+, at most 255 chars); "latest" and
//    version-like names ("v1", "V12") are reserved;
//  - stages: None, Staging, Production, Archived (case-insensitive in
//    requests, canonical spelling stored);
//  - sources: "runs:/<run>/<path>", "models:/<model_id>" (MLflow 3 logged
//    model), "mlflow-artifacts:/<path>", or a URI/path inside the artifact
//    root are resolved to a folder of the artifact repository, which must
//    exist (kInvalidArgument "Model version source ... does not exist"), and
//    copied to "_registry/<model>/<version>/" by digest (hard links, no
//    bytes copied). storage_location is that copy's URI under the default
//    artifact root. Other sources (s3://, hdfs://, a foreign path) are kept
//    as they are and storage_location = source. The copy's MLmodel, when
//    present, is parsed (model/mlmodel.h); a malformed one is
//    kInvalidArgument naming the file and field; its signature is stored.
//    Also accepted: "models:/<name>/<version>" and "models:/<name>@<alias>"
//    (a copy of another registered version). A runs:/ source fills run_id,
//    and a models:/<model_id> source model_id and run_id, when the request
//    leaves them empty. The MLmodel is read from the source before the
//    store's transaction; the copy is made inside it (NewModelVersion::place)
//    and the version's webhook payload is completed there too, once the
//    number is known (this relies on the store reading `event` after calling
//    place, as SqlRegistryStore does). A percent-encoded name ("my%20model")
//    is encoded once more in storage_location
//    ("mlflow-artifacts:/_registry/my%2520model/1") so the URI decodes to the
//    folder. Renaming a model leaves its copies where they are (each
//    version's storage_location still names them); if a later model of the
//    old name clashes with such a folder, its copy goes to
//    "_registry/<model>/<version>-<time ms>". Deleting a version or a model
//    deletes its copies (never a run's files).
//  - approvals: when a model lists a target (alias or stage) as protected,
//    SetAlias / TransitionStage to it create a pending ApprovalRequest
//    instead of changing anything (the MutationOutcome says "pending" and
//    carries the request). The MLflow REST handlers report a pending
//    change as an INVALID_STATE error naming the request id, so stock clients
//    see an error rather than a silent no-op.
//    A request is approved or rejected by a different user than the
//    requester (kPermissionDenied otherwise); approval applies the change.
//    Protected targets are stage names (any case, stored canonical) or
//    settable aliases. A protected alias cannot be deleted
//    (kFailedPrecondition): take it off the protected targets first.
//  - rollback: RollbackAlias points the alias at the version it held
//    before its current one (from the alias history); kFailedPrecondition
//    when there is none.
//  - search: MLflow's registry filter grammar (name/tags/run_id/source_path/
//    version_number with =, !=, LIKE, ILIKE, IN), order_by "name",
//    "version_number", "creation_timestamp", "last_updated_timestamp" with
//    ASC/DESC; max_results limits as MLflow (registered models: default 100,
//    at most 1000; versions: default 10000, at most 200000); page tokens.
//  - webhooks: events are enqueued by the store in the mutation's
//    transaction; a WebhookDispatcher thread (registry/webhook_dispatcher.h)
//    delivers them off the request path. Payload (JSON object):
//    {"event", "model_name", "version" (string or null), "alias" (or null),
//    "stage" (or null), "actor", "time" (ms)} plus "source"/"run_id" for
//    model_version.created, "comment" when given, and "approval" {"id",
//    "kind", "target", "version", "status", "requested_by", "decided_by"}
//    for approval events. Webhooks are returned without their secret.
//
// Errors: kInvalidArgument (400 INVALID_PARAMETER_VALUE), kNotFound (404
// RESOURCE_DOES_NOT_EXIST), kAlreadyExists (RESOURCE_ALREADY_EXISTS),
// kFailedPrecondition (INVALID_STATE), kPermissionDenied (approving one's
// own request); store errors pass through.
//
// Thread safety: safe for concurrent use.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "blob/artifact_repository.h"
#include "core/clock.h"
#include "core/error.h"
#include "store/metadata_store.h"
#include "store/registry_store.h"

namespace cairn::registry {

struct CreateVersionRequest {
  std::string name;
  std::string source;
  std::string run_id;
  std::string run_link;
  std::string description;
  std::string model_id;
  std::vector<store::Tag> tags;
};

struct SearchRequest {
  std::string filter;
  std::vector<std::string> order_by;
  std::optional<int64_t> max_results;
  std::string page_token;
};

struct RegisteredModelsPage {
  std::vector<store::RegisteredModel> models;
  std::string next_page_token;
};

struct ModelVersionsPage {
  std::vector<store::ModelVersion> versions;
  std::string next_page_token;
};

// The result of a change that may need approval: applied (version holds the
// new state) or pending (approval holds the request).
struct MutationOutcome {
  bool pending = false;
  std::optional<store::ModelVersion> version;
  std::optional<store::ApprovalRequest> approval;
};

struct Lineage {
  store::ModelVersion version;
  std::optional<store::Run> run;              // absent when the version has no run or it is gone
  std::vector<store::Run> parent_runs;        // nearest first (mlflow.parentRunId chain)
  std::vector<store::ModelVersion> siblings;  // other versions from the same run
};

class RegistryService {
 public:
  // `artifacts` is the artifact repository behind the default artifact root
  // (null when the server does not serve artifacts: no copies are made).
  // `artifact_root_uri` is that root as clients see it ("mlflow-artifacts:/").
  // `on_events` (optional) is called after every mutation that enqueued
  // webhook deliveries, e.g. [&] { dispatcher.Notify(); }, so they go out at
  // once rather than at the dispatcher's next poll. It must not block.
  RegistryService(store::MetadataStore& store, blob::ArtifactRepository* artifacts,
                  std::string artifact_root_uri, const Clock& clock,
                  std::function<void()> on_events = {});

  // -------------------------------------------------------- registered models
  Result<store::RegisteredModel> CreateRegisteredModel(const std::string& name,
                                                       const std::string& description,
                                                       const std::vector<store::Tag>& tags,
                                                       const std::string& actor);
  Result<store::RegisteredModel> GetRegisteredModel(const std::string& name);
  Result<store::RegisteredModel> RenameRegisteredModel(const std::string& name,
                                                       const std::string& new_name,
                                                       const std::string& actor);
  Result<store::RegisteredModel> UpdateRegisteredModel(const std::string& name,
                                                       const std::string& description,
                                                       const std::string& actor);
  Status DeleteRegisteredModel(const std::string& name, const std::string& actor);
  Result<RegisteredModelsPage> SearchRegisteredModels(const SearchRequest& r);
  Status SetRegisteredModelTag(const std::string& name, const store::Tag& tag,
                               const std::string& actor);
  Status DeleteRegisteredModelTag(const std::string& name, const std::string& key,
                                  const std::string& actor);
  Status SetProtectedTargets(const std::string& name, const std::vector<std::string>& targets,
                             const std::string& actor);
  Result<std::vector<store::ModelVersion>> GetLatestVersions(
      const std::string& name, const std::vector<std::string>& stages);
  // GetLatestVersions(name, {}) of each of `names` (a page of search
  // results) in one store query per 200 names; out[i] is names[i]'s.
  Result<std::vector<std::vector<store::ModelVersion>>> GetLatestVersionsOf(
      const std::vector<std::string>& names);

  // ---------------------------------------------------------- model versions
  Result<store::ModelVersion> CreateModelVersion(const CreateVersionRequest& r,
                                                 const std::string& actor);
  Result<store::ModelVersion> GetModelVersion(const std::string& name, int64_t version);
  Result<store::ModelVersion> UpdateModelVersion(const std::string& name, int64_t version,
                                                 const std::string& description,
                                                 const std::string& actor);
  Status DeleteModelVersion(const std::string& name, int64_t version, const std::string& actor);
  Result<ModelVersionsPage> SearchModelVersions(const SearchRequest& r);
  Status SetModelVersionTag(const std::string& name, int64_t version, const store::Tag& tag,
                            const std::string& actor);
  Status DeleteModelVersionTag(const std::string& name, int64_t version, const std::string& key,
                               const std::string& actor);
  Result<MutationOutcome> TransitionStage(const std::string& name, int64_t version,
                                          const std::string& stage, bool archive_existing,
                                          const std::string& actor,
                                          const std::string& comment = "");
  // The URI the client downloads the version's files from.
  Result<std::string> GetDownloadUri(const std::string& name, int64_t version);

  // ----------------------------------------------------------------- aliases
  Result<MutationOutcome> SetAlias(const std::string& name, const std::string& alias,
                                   int64_t version, const std::string& actor,
                                   const std::string& comment = "");
  Status DeleteAlias(const std::string& name, const std::string& alias, const std::string& actor);
  Result<store::ModelVersion> GetVersionByAlias(const std::string& name, const std::string& alias);
  Result<MutationOutcome> RollbackAlias(const std::string& name, const std::string& alias,
                                        const std::string& actor);

  // ------------------------------------------------------- audit & approvals
  Result<store::AuditPage> SearchAudit(const store::AuditQuery& q);
  Result<std::vector<store::ApprovalRequest>> ListApprovals(const std::string& model_name,
                                                            const std::string& status);
  Result<store::ApprovalRequest> GetApproval(int64_t id);
  // Approve: applies the change, then marks the request approved (one
  // outcome returned with the applied version). Reject: marks it rejected.
  Result<MutationOutcome> DecideApproval(int64_t id, bool approve, const std::string& comment,
                                         const std::string& actor);

  // ---------------------------------------------------------------- webhooks
  // url must be http:// or https://; events must be known names.
  Result<store::Webhook> CreateWebhook(const store::Webhook& w, const std::string& actor);
  Result<std::vector<store::Webhook>> ListWebhooks(const std::string& model_name);
  Status DeleteWebhook(int64_t id, const std::string& actor);
  Result<std::vector<store::WebhookDelivery>> ListDeliveries(int64_t webhook_id,
                                                             int64_t max_results);

  // ----------------------------------------------------------------- lineage
  Result<Lineage> GetLineage(const std::string& name, int64_t version);
  Result<std::vector<store::ModelVersion>> VersionsUsingDataset(const std::string& digest,
                                                                const std::string& name);

 private:
  // Where a version's source lives, once resolved.
  struct ResolvedSource {
    std::optional<std::string> repo_path;  // a folder/file of `artifacts_`, to copy
    std::string location;                  // otherwise: the storage location to keep
    std::string run_id;                    // filled from a logged model, when known
    std::string model_id;                  // from a models:/<model_id> source
  };
  // The run's logged model named `name` (MLflow 3), if any.
  Result<std::optional<store::LoggedModel>> LoggedModelOfRun(const store::Run& run,
                                                             const std::string& name);
  Result<ResolvedSource> ResolveSource(const std::string& source, int depth = 0);
  // The repository path of `uri` when it names something inside the
  // artifact repository; nullopt for foreign URIs.
  Result<std::optional<std::string>> RepoPathOf(const std::string& uri) const;
  std::string UriOfRepoPath(std::string_view repo_path) const;
  Result<std::string> SignatureOf(const std::string& repo_path);
  // Deletes the registry copy behind `storage_location`, if it is one.
  void DeleteRegistryCopy(const std::string& storage_location);
  store::Actor ActorOf(const std::string& user) const;
  bool IsProtected(const store::RegisteredModel& m, const std::string& target) const;
  Result<MutationOutcome> ApplyAlias(const std::string& name, const std::string& alias,
                                     int64_t version, const std::string& actor);
  Result<MutationOutcome> ApplyStage(const std::string& name, int64_t version,
                                     const std::string& stage, bool archive_existing,
                                     const std::string& actor);
  Result<MutationOutcome> RequestApproval(const store::ApprovalRequest& r,
                                          const std::string& actor);
  void Notify() const;

  store::MetadataStore& store_;
  store::RegistryStore& registry_;
  blob::ArtifactRepository* artifacts_;
  std::string artifact_root_uri_;
  const Clock& clock_;
  std::function<void()> on_events_;
};

}  // namespace cairn::registry
