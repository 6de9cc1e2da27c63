#pragma once
// RegistryClient: Cairn's C++ SDK for the model registry. It speaks MLflow's
// registry REST API (/api/2.0/mlflow/registered-models/*, /model-versions/*)
// for models, versions, tags, aliases and downloads, and Cairn's native
// /api/v1 (docs/registry.md) for what MLflow has no endpoint for: approvals
// (set-alias and stage changes that may become pending requests), rollback,
// protected targets, audit, webhooks and lineage.
//
//   CAIRN_ASSIGN_OR_RETURN(auto reg, RegistryClient::Create("http://127.0.0.1:5000",
//                                                          {.user = "alice"}));
//   CAIRN_ASSIGN_OR_RETURN(auto mv, reg.RegisterModel({.source = "runs:/<run>/model",
//                                                      .name = "fraud"}));
//   CAIRN_ASSIGN_OR_RETURN(ChangeOutcome o, reg.SetAlias("fraud", "champion", mv.version));
//   if (o.pending()) { /* o.approval->id awaits another user's approval */ }
//
// Actor: every request (JSON calls and downloads) carries "X-Cairn-User:
// <user>" when a user is set (options.user, else options.client.user, else
// $CAIRN_USER); the server records it as the actor of a mutation ("anonymous"
// without the header). A user containing control characters is
// kInvalidArgument at Create().
//
// Errors are TrackingClient's: a server error {"error_code", "message"} is a
// cairn::Error with ErrorCodeFromMlflow(error_code) and the server's message
// verbatim (unknown model -> kNotFound "Registered Model with name=x not
// found"); an unreachable server is kUnavailable "cannot reach the tracking
// server at <uri>: ..."; a timeout kDeadlineExceeded; an answer that is not
// the documented shape kInternal "unexpected response from the server: ...".
//
// Downloads: GetModelVersionDownloadUri() names the version's files
// (on Cairn the registry's own copy, "mlflow-artifacts:/_registry/<name>/<v>";
// a stock MLflow server may answer the source, "runs:/<run>/<path>" or
// "models:/<model_id>", which the client resolves through runs/get or
// logged-models/<id>). DownloadModelVersion() fetches that folder through the
// server's artifact proxy (or a local directory for file:// URIs), streamed
// to disk, into `dst_dir` (the folder's contents land directly under dst_dir).
//
// A stock MLflow server has no /api/v1: SetAlias and TransitionStage then
// fall back to MLflow's own endpoints (applied at once: MLflow has no
// approvals); the other native calls are kUnimplemented "... needs a
// `cairn server`".
//
// Thread safety: safe to share between threads (immutable after Create();
// each call borrows a curl handle from the transport's pool). Movable, not
// copyable.
//
// Request structs give every field a default, so designated initializers
// compile warning-free under -Wextra.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/http_transport.h"
#include "client/registry_json.h"
#include "client/tracking_client.h"
#include "core/error.h"
#include "store/registry_types.h"

namespace cairn::client {

struct RegistryClientOptions {
  // Timeouts, TLS, auth (token / basic) and the user, filled from the
  // environment as TrackingClient::Create does.
  ClientOptions client{};
  // Sent as X-Cairn-User; overrides client.user when non-empty.
  std::string user{};
};

// One JSON request as the client sends it (the transport adds Content-Type
// for bodies, auth and X-Cairn-User).
struct RegistryHttpRequest {
  std::string method;
  std::string url;
  std::string body;
};
// The seam under every JSON call: answers a request with the server's
// response, whatever its HTTP status (the client maps >= 400 to an Error);
// an Error only when no response arrived (kUnavailable, kDeadlineExceeded).
// Create() installs HttpTransport::SendRaw.
using RegistrySendFn = std::function<Result<HttpResponse>(const RegistryHttpRequest&)>;

// MLflow's registry search (filter grammar of search_registered_models /
// search_model_versions). max_results 0: the server's default.
struct RegistrySearch {
  std::string filter{};
  std::vector<std::string> order_by{};  // "name ASC", "version_number DESC", ...
  int64_t max_results = 0;
  std::string page_token{};
};

struct RegisteredModelSearchPage {
  std::vector<RegisteredModelDetails> models{};
  std::string next_page_token{};  // empty on the last page
};

struct ModelVersionSearchPage {
  std::vector<store::ModelVersion> versions{};
  std::string next_page_token{};
};

struct CreateModelVersionRequest {
  std::string name{};
  std::string source{};
  std::string run_id{};
  std::string run_link{};
  std::string description{};
  std::string model_id{};
  std::vector<store::Tag> tags{};
};

// What mlflow.register_model does: create the registered model unless it
// exists, then a version from `source`. run_id empty and source
// "runs:/<run_id>/...": the run id is taken from the source.
struct RegisterModelRequest {
  std::string source{};
  std::string name{};
  std::string run_id{};
  std::vector<store::Tag> tags{};  // on the new version
};

struct RegisterModelResult {
  store::ModelVersion version{};
  bool created_registered_model = false;
};

// The native audit search. `model` non-empty: that model's entries
// (/api/v1/models/{model}/audit); else the global log (/api/v1/audit).
struct AuditSearch {
  std::string model{};
  std::string entity_type{};  // global log only
  std::string entity_id{};    // global log only
  std::string actor{};
  std::optional<int64_t> since{};  // ms since the epoch, inclusive
  std::optional<int64_t> until{};  // exclusive
  int64_t max_results = 0;         // 0: the server's default
  std::string page_token{};
};

struct AuditEntriesPage {
  std::vector<store::AuditEntry> entries{};
  std::string next_page_token{};
};

struct CreateWebhookRequest {
  std::string model{};  // empty: every model
  std::string url{};
  std::vector<std::string> events{};  // empty: all events
  std::string secret{};
};

class RegistryClient {
 public:
  // `tracking_uri` is http(s)://host[:port][/prefix]; kInvalidArgument for
  // anything else. Does not contact the server.
  static Result<RegistryClient> Create(const std::string& tracking_uri,
                                       RegistryClientOptions options = {});
  // As Create(), with every JSON call answered by `send` (tests). Artifact
  // listings and downloads still use HTTP.
  static Result<RegistryClient> CreateWithSender(const std::string& tracking_uri,
                                                 RegistryClientOptions options,
                                                 RegistrySendFn send);

  RegistryClient(RegistryClient&&) noexcept;
  RegistryClient& operator=(RegistryClient&&) noexcept;
  ~RegistryClient();

  const std::string& tracking_uri() const;
  // The X-Cairn-User value sent ("" when none).
  const std::string& user() const;

  // ---- registered models (MLflow)
  Result<store::RegisteredModel> CreateRegisteredModel(const std::string& name,
                                                       const std::string& description = "",
                                                       const std::vector<store::Tag>& tags = {});
  Result<RegisteredModelDetails> GetRegisteredModel(const std::string& name);
  Result<RegisteredModelSearchPage> SearchRegisteredModels(const RegistrySearch& query);
  // Follows page tokens until `limit` models (0: no limit) or the end.
  Result<std::vector<RegisteredModelDetails>> SearchAllRegisteredModels(RegistrySearch query,
                                                                        int64_t limit = 0);
  Status DeleteRegisteredModel(const std::string& name);
  Status SetRegisteredModelTag(const std::string& name, const std::string& key,
                               const std::string& value);
  Status DeleteRegisteredModelTag(const std::string& name, const std::string& key);
  // Latest version per stage (all stages when `stages` is empty).
  Result<std::vector<store::ModelVersion>> GetLatestVersions(
      const std::string& name, const std::vector<std::string>& stages = {});

  // ---- model versions (MLflow)
  Result<store::ModelVersion> CreateModelVersion(const CreateModelVersionRequest& request);
  Result<RegisterModelResult> RegisterModel(const RegisterModelRequest& request);
  Result<store::ModelVersion> GetModelVersion(const std::string& name, int64_t version);
  Result<ModelVersionSearchPage> SearchModelVersions(const RegistrySearch& query);
  Result<std::vector<store::ModelVersion>> SearchAllModelVersions(RegistrySearch query,
                                                                  int64_t limit = 0);
  Status DeleteModelVersion(const std::string& name, int64_t version);
  Status SetModelVersionTag(const std::string& name, int64_t version, const std::string& key,
                            const std::string& value);
  Result<std::string> GetModelVersionDownloadUri(const std::string& name, int64_t version);

  // ---- aliases (MLflow): set through SetAlias below to honour approvals.
  Result<store::ModelVersion> GetModelVersionByAlias(const std::string& name,
                                                     const std::string& alias);
  Status DeleteAlias(const std::string& name, const std::string& alias);

  // ---- changes that may need an approval (native)
  Result<ChangeOutcome> SetAlias(const std::string& name, const std::string& alias, int64_t version,
                                 const std::string& comment = "");
  Result<ChangeOutcome> TransitionStage(const std::string& name, int64_t version,
                                        const std::string& stage, bool archive_existing_versions,
                                        const std::string& comment = "");
  // Points the alias back at the version it held before its current one.
  Result<ChangeOutcome> RollbackAlias(const std::string& name, const std::string& alias);
  Result<store::RegisteredModel> SetProtectedTargets(const std::string& name,
                                                     const std::vector<std::string>& targets);

  // ---- approvals (native). `status` "" lists every status.
  Result<std::vector<store::ApprovalRequest>> ListApprovals(const std::string& model = "",
                                                            const std::string& status = "pending");
  Result<ChangeOutcome> DecideApproval(int64_t id, bool approve, const std::string& comment = "");

  // ---- audit, webhooks, lineage (native)
  Result<AuditEntriesPage> SearchAudit(const AuditSearch& query);
  // Follows page tokens until `limit` entries (0: no limit) or the end.
  Result<std::vector<store::AuditEntry>> SearchAllAudit(AuditSearch query, int64_t limit = 0);
  Result<store::Webhook> CreateWebhook(const CreateWebhookRequest& request);
  Result<std::vector<store::Webhook>> ListWebhooks(const std::string& model = "");
  Status DeleteWebhook(int64_t id);
  Result<std::vector<store::WebhookDelivery>> ListDeliveries(int64_t webhook_id,
                                                             int64_t max_results = 0);
  Result<VersionLineage> GetLineage(const std::string& name, int64_t version);
  Result<std::vector<store::ModelVersion>> VersionsUsingDataset(const std::string& digest,
                                                                const std::string& name = "");

  // ---- downloads
  // Downloads the version's files (GetModelVersionDownloadUri) into dst_dir,
  // creating it. Returns dst_dir as an absolute path.
  Result<std::string> DownloadModelVersion(const std::string& name, int64_t version,
                                           const std::string& dst_dir);
  // The folder or file at `artifact_uri` (mlflow-artifacts:/..., a proxy URL,
  // file:// or a local path) into dst_dir: a folder's contents land directly
  // under dst_dir, a file as dst_dir/<file name>.
  Result<std::string> DownloadArtifactUri(const std::string& artifact_uri,
                                          const std::string& dst_dir);

 private:
  struct Impl;
  explicit RegistryClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "runs:/<run_id>/<path>" -> "<run_id>"; "" for any other source.
std::string RunIdFromSource(const std::string& source);

}  // namespace cairn::client
