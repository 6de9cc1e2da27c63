#pragma once
// TrackingClient: Cairn's C++ SDK over MLflow's REST API (/api/2.0/mlflow and
// the artifact proxy /api/2.0/mlflow-artifacts). It talks to a `cairn server`
// or to a real `mlflow server` alike.
//
//   CAIRN_ASSIGN_OR_RETURN(auto client, TrackingClient::Create("http://127.0.0.1:5000"));
//   CAIRN_ASSIGN_OR_RETURN(std::string exp, client.CreateExperiment("fraud"));
//   CAIRN_ASSIGN_OR_RETURN(store::Run run, client.CreateRun({.experiment_id = exp}));
//   CAIRN_RETURN_IF_ERROR(client.LogMetric(run.info.run_id, "auc", 0.91, {.step = 3}));
//
// Errors: a server error {"error_code", "message"} is returned as a
// cairn::Error with ErrorCodeFromMlflow(error_code) and the server's message
// verbatim (unknown run -> kNotFound "Run with id=... not found"). A server
// that cannot be reached is kUnavailable "cannot reach the tracking server at
// <uri>: ... (is `cairn server` running?)"; a timeout is kDeadlineExceeded.
// A response that is not MLflow's shape is kInternal. Local file problems
// (an upload source that does not exist, a destination that cannot be
// written) are kNotFound / kInternal naming the path.
//
// Actor: with options.user (else $CAIRN_USER) set, every request, artifact
// transfers included, carries "X-Cairn-User: <user>".
//
// Thread safety: a TrackingClient is safe to share between threads: it is
// immutable after Create() and every call borrows its own curl handle from a
// pool (keep-alive connections are reused). Movable, not copyable.
//
// Artifacts: a run's artifact_uri decides the route (see artifact_location.h):
// mlflow-artifacts:/ URIs go through the server's proxy (PUT to upload, GET to
// download, GET ...?path= to list); a local path or file:// URI is read and
// written directly. Uploads and downloads are streamed between disk and the
// socket; no file is held whole in memory. A download lands as
// "<dst>/<path>" (".part" while in flight, renamed when complete).
//
// Not done by the client: retries (a kUnavailable / kResourceExhausted result
// is the caller's to retry), multipart uploads, and artifact URIs on object
// stores (s3://...: use a server with --serve-artifacts).
//
// Request structs give every field a default, so designated initializers
// (`{.experiment_id = id}`) compile warning-free under -Wextra.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/http_transport.h"
#include "client/mlflow_json.h"
#include "core/clock.h"
#include "core/error.h"
#include "store/types.h"

namespace cairn::client {

struct ClientOptions {
  int64_t connect_timeout_ms = 10'000;
  int64_t request_timeout_ms = 120'000;  // buffered (JSON) calls
  // Auth, as MLflow's client sends it: a bearer token, else basic auth.
  // Create() fills empty fields from MLFLOW_TRACKING_TOKEN /
  // MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (CAIRN_TRACKING_* first).
  std::string token{};
  std::string username{};
  std::string password{};
  bool verify_tls = true;
  // Who is acting: sent as "X-Cairn-User: <user>" on every request; the
  // server records it as the actor of experiment, run and registry changes
  // ("anonymous" without the header). Create() fills it from $CAIRN_USER when
  // empty; still empty: no header. Control characters: kInvalidArgument.
  std::string user{};
  // Supplies "now" for timestamps the caller leaves at 0; nullptr: the system
  // clock. Not owned; must outlive the client.
  const Clock* clock = nullptr;
};

// What a client derives from a tracking URI and its options, before any
// request: shared by TrackingClient and RegistryClient.
struct ClientConnection {
  std::string base;            // the tracking URI without query or trailing '/'
  std::string user;            // options.user, else $CAIRN_USER ("" for none)
  TransportOptions transport;  // timeouts, TLS, auth (from the environment), X-Cairn-User
};
// kInvalidArgument for a URI that is not http(s)://host[:port][/prefix] or a
// user with control characters. Does not contact the server.
Result<ClientConnection> ResolveClientConnection(const std::string& tracking_uri,
                                                 const ClientOptions& options);

struct ExperimentSearch {
  std::string filter{};                 // MLflow filter syntax, e.g. "name LIKE 'fraud%'"
  std::vector<std::string> order_by{};  // e.g. "creation_time DESC"
  store::ViewType view = store::ViewType::kActiveOnly;
  int64_t max_results = 1000;
  std::string page_token{};
};

struct ExperimentPage {
  std::vector<store::Experiment> experiments{};
  std::string next_page_token{};  // empty on the last page
};

struct RunSearch {
  std::vector<std::string> experiment_ids{};  // at least one
  std::string filter{};                       // "metrics.acc > 0.9 and params.lr = '0.1'"
  std::vector<std::string> order_by{};        // "metrics.acc DESC"
  store::ViewType view = store::ViewType::kActiveOnly;
  int64_t max_results = 1000;
  std::string page_token{};
};

struct RunPage {
  std::vector<store::Run> runs{};
  std::string next_page_token{};  // empty on the last page
};

struct CreateRunRequest {
  std::string experiment_id = "0";
  std::string run_name{};  // empty: the server picks one
  std::string user_id{};   // empty: $USER
  int64_t start_time = 0;  // 0: now
  std::vector<store::Tag> tags{};
};

struct UpdateRunRequest {
  std::optional<std::string> status{};  // RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
  std::optional<int64_t> end_time{};
  std::optional<std::string> run_name{};
};

struct MetricOptions {
  int64_t step = 0;
  int64_t timestamp = 0;  // ms since epoch; 0: now
};

class TrackingClient {
 public:
  // `tracking_uri` is http(s)://host[:port][/prefix]. kInvalidArgument for any
  // other scheme or a malformed URI. Does not contact the server.
  static Result<TrackingClient> Create(const std::string& tracking_uri, ClientOptions options = {});

  TrackingClient(TrackingClient&&) noexcept;
  TrackingClient& operator=(TrackingClient&&) noexcept;
  ~TrackingClient();

  // The tracking URI without a trailing '/'.
  const std::string& tracking_uri() const;
  // The X-Cairn-User value sent ("" when none).
  const std::string& user() const;

  // ---- Experiments
  // Returns the new experiment's id. kAlreadyExists when the name is taken.
  Result<std::string> CreateExperiment(const std::string& name,
                                       const std::string& artifact_location = "",
                                       const std::vector<store::Tag>& tags = {});
  Result<store::Experiment> GetExperiment(const std::string& experiment_id);
  Result<store::Experiment> GetExperimentByName(const std::string& name);
  // One page. SearchAllExperiments follows page tokens to the end.
  Result<ExperimentPage> SearchExperiments(const ExperimentSearch& query);
  Result<std::vector<store::Experiment>> SearchAllExperiments(ExperimentSearch query);
  Status DeleteExperiment(const std::string& experiment_id);
  Status RestoreExperiment(const std::string& experiment_id);
  Status RenameExperiment(const std::string& experiment_id, const std::string& new_name);
  Status SetExperimentTag(const std::string& experiment_id, const std::string& key,
                          const std::string& value);

  // ---- Runs
  Result<store::Run> CreateRun(const CreateRunRequest& request);
  Result<store::Run> GetRun(const std::string& run_id);
  // One page (max_results of at most the server's limit). SearchAllRuns
  // follows page tokens until `limit` runs (0: no limit) or the end.
  Result<RunPage> SearchRuns(const RunSearch& query);
  Result<std::vector<store::Run>> SearchAllRuns(RunSearch query, int64_t limit = 0);
  Result<store::RunInfo> UpdateRun(const std::string& run_id, const UpdateRunRequest& update);
  Status DeleteRun(const std::string& run_id);
  Status RestoreRun(const std::string& run_id);
  Status LogMetric(const std::string& run_id, const std::string& key, double value,
                   MetricOptions options = {});
  Status LogParam(const std::string& run_id, const std::string& key, const std::string& value);
  Status SetTag(const std::string& run_id, const std::string& key, const std::string& value);
  Status DeleteTag(const std::string& run_id, const std::string& key);
  // Metrics with timestamp 0 are sent with the current time.
  Status LogBatch(const std::string& run_id, const std::vector<store::Metric>& metrics,
                  const std::vector<store::Param>& params, const std::vector<store::Tag>& tags);
  // Records dataset inputs of a run (MLflow's runs/log-inputs): each
  // dataset's name, digest, source_type and source are sent; schema and
  // profile only when not empty; tags (e.g. mlflow.data.context=training) as
  // given. The server keeps one dataset per (experiment, name, digest), so
  // logging the same dataset again adds no second copy. An empty list sends
  // nothing. Read them back with GetRun (Run::inputs).
  Status LogInputs(const std::string& run_id, const std::vector<store::DatasetInput>& datasets);
  // Every logged value of one metric (follows page tokens).
  Result<std::vector<store::Metric>> GetMetricHistory(const std::string& run_id,
                                                      const std::string& key);

  // ---- Artifacts
  // Uploads `local_path` under the run's artifact root. A file lands at
  // "<artifact_path>/<file name>"; a folder's contents (recursively, not the
  // folder itself, as mlflow.log_artifacts does) land under "<artifact_path>/".
  // Returns the number of files uploaded.
  Result<int64_t> LogArtifacts(const std::string& run_id, const std::string& local_path,
                               const std::string& artifact_path = "");
  // The direct children of `path` ("" = the root), sorted by path; paths are
  // relative to the run's artifact root. An unknown folder lists as empty.
  Result<std::vector<FileInfo>> ListArtifacts(const std::string& run_id,
                                              const std::string& path = "");
  // Downloads the file or folder `path` ("" = everything) to "<dst_dir>/<path>",
  // creating folders as needed. Returns the local path of what was downloaded.
  Result<std::string> DownloadArtifacts(const std::string& run_id, const std::string& path,
                                        const std::string& dst_dir);

 private:
  struct Impl;
  explicit TrackingClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::client
