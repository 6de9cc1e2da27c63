#pragma once
// The models `cairn serve` has loaded, the deployments that route to them,
// and the registry following that hot-swaps versions.
//
// ModelSource resolves a model URI to a local folder:
//   - `models:/name/<n>` and `models:/name@alias` through the registry
//     (RegistryClient on the tracking URI): the alias is resolved to a
//     version, the version's files are downloaded once into
//     <cache_dir>/<name>/<version>/ (into a temp folder renamed when
//     complete, so a crash never leaves a half folder that looks whole);
//   - a local folder as it is (version "1", model name = deployment's
//     DefaultDeploymentName of the path), never re-resolved.
//
// LoadedVersion is one model version ready to serve: its manifest, its
// Runtime (chosen by flavor, see docs/serving.md), and its DynamicBatcher of
// ModelInput -> ModelOutput. The batch function groups consecutive
// Compatible inputs, runs ConcatInputs -> Runtime::Predict -> SplitOutput
// per group, so a request that does not fit its neighbours only costs its
// own group. Shared by shared_ptr: a request holds its version until it is
// answered, and a swapped-out version's batcher drains and its runtime shuts
// down when the last reference goes (never under a request).
//
// ModelManager
// - Start(): resolves and loads every target of every deployment, checking
//   each with its input example (below). Any live target that fails makes
//   Start fail (the server does not start half-configured; the message names
//   the deployment and target). A shadow that fails is reported and skipped.
// - Route(): the version a request goes to (by weight, or by the sticky
//   header's value), and the deployment's shadows. With `pinned_version`
//   (OIP /versions/{v}) the target whose loaded version is v (live or
//   shadow), kNotFound "deployment 'fraud' has no version '7' (serving: 3, 4)".
//   Unknown deployment: kNotFound "model 'x' is not served here (serving: fraud, iris)".
// - Poll (a background thread every `poll_interval`, or PollOnce() in tests):
//   for each registry target, resolve its URI again; when the version
//   differs from the loaded one, download and load the new version, check it,
//   and swap the target's pointer atomically. A failure (unreachable
//   registry, corrupt model, failed check) is logged, counted
//   (cairn_model_load_failures_total), stored as the target's last_error,
//   and leaves the old version serving; a version that failed is not retried
//   until the alias moves again (or after `retry_failed_after`).
// - Check: when the model has an input example (MLmodel
//   saved_input_example_info: serving_input_example.json, else
//   input_example.json as a dataframe split / ndarray), it is parsed with the
//   scoring codec, conformed to the signature and predicted through the
//   runtime directly (not the batcher); it must succeed and return as many
//   rows as it sent. A model without an example is checked by loading only.
// - SetTraffic(): replaces a deployment's targets. New URIs are resolved and
//   loaded (and checked) first, synchronously, before anything changes; if
//   any fails, nothing changes and the error names the target. Targets kept
//   (same URI) keep their loaded version.
// - Stop(): stops polling, stops every batcher (draining queued requests),
//   shuts the runtimes down. Idempotent.
//
// Metrics (registered in the MetricsRegistry passed to Start):
//   cairn_inference_batch_size{deployment,model,version}   histogram, rows per batch
//   cairn_inference_queue_depth{deployment,model,version}  gauge (callback)
//   cairn_inference_batch_seconds{deployment,model,version} histogram, time in Predict
//   cairn_model_loads_total{deployment,model,version}
//   cairn_model_load_failures_total{deployment,model}
//   cairn_model_swaps_total{deployment}
//   cairn_deployment_target_weight{deployment,model,version,role}  gauge
//
// Thread safety: every public method from any thread. Route is the hot path:
// a shared lock over the deployment table plus a shared_ptr copy.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/metrics.h"
#include "model/mlmodel.h"
#include "serve/deployment.h"
#include "serving/batcher.h"
#include "serving/oip_json.h"
#include "serving/runtime.h"

namespace cairn::serve {

struct ResolvedModel {
  std::string model_name;  // registered model name, or the folder's base name
  std::string version;     // registry version number, "1" for a folder
  std::string folder;      // local folder holding MLmodel
  bool from_registry = false;
};

class ModelSource {
 public:
  virtual ~ModelSource() = default;
  // kNotFound for an unknown model/version/alias or a missing folder;
  // kUnavailable when the registry cannot be reached.
  virtual Result<ResolvedModel> Resolve(const std::string& model_uri) = 0;
};

struct RegistrySourceOptions {
  std::string tracking_uri;  // http(s)://...
  std::string cache_dir;     // downloads go under <cache_dir>/<name>/<version>
  std::string user;          // X-Cairn-User ("" none)
};
// Local folders always; models:/ URIs need a tracking URI (else
// kFailedPrecondition "models:/ URIs need a tracking server (--tracking-uri)").
Result<std::unique_ptr<ModelSource>> MakeModelSource(const RegistrySourceOptions& options);

struct RuntimeOptions {
  std::string runtime = "auto";  // "auto" | "python"
  std::string python = "python3";
  // XGBoost models: Cairn's own tree walker when the model allows it (false:
  // every predict goes through XGBoost's C API; `--xgboost-native-trees off`).
  bool xgboost_native_trees = true;
  std::chrono::milliseconds python_load_timeout{120000};
  std::chrono::milliseconds python_predict_timeout{30000};
};

class LoadedVersion {
 public:
  using Batcher = serving::DynamicBatcher<serving::ModelInput, serving::ModelOutput>;

  ~LoadedVersion();  // stops the batcher (draining), then shuts the runtime down
  const std::string& deployment() const { return deployment_; }
  const ResolvedModel& model() const { return model_; }
  const model::ModelManifest& manifest() const { return manifest_; }
  serving::Runtime& runtime() { return *runtime_; }
  const serving::ModelMetadata& metadata() const { return metadata_; }  // OIP metadata
  // Queues a conformed input (see DynamicBatcher::Submit for the errors).
  Status Submit(serving::ModelInput input, std::function<void(Result<serving::ModelOutput>)> done);
  serving::BatcherStats Stats() const;

  // Loads `model` with the options, builds the batcher; does not check.
  static Result<std::shared_ptr<LoadedVersion>> Load(const std::string& deployment,
                                                     ResolvedModel model,
                                                     const BatchingSpec& batching,
                                                     const RuntimeOptions& runtime_options,
                                                     MetricsRegistry* metrics);
  // The input-example check described above.
  Status Check();

 private:
  LoadedVersion() = default;
  std::string deployment_;
  ResolvedModel model_;
  model::ModelManifest manifest_;
  std::unique_ptr<serving::Runtime> runtime_;
  serving::ModelMetadata metadata_;
  std::unique_ptr<Batcher> batcher_;
};
using VersionPtr = std::shared_ptr<LoadedVersion>;

struct Routed {
  VersionPtr live;
  std::vector<VersionPtr> shadows;
};

struct TargetStatus {
  TargetSpec spec;
  std::string model_name;
  std::string version;     // loaded version ("" if none loaded)
  std::string state;       // "serving" | "loading" | "failed"
  std::string last_error;  // "" when the last attempt succeeded
  std::string failed_version;  // the version that failed ("" if none)
  int64_t loaded_at_millis = 0;
};

struct DeploymentStatus {
  std::string name;
  std::string sticky_header;
  std::vector<TargetStatus> targets;
};

struct ManagerOptions {
  std::chrono::milliseconds poll_interval{5000};  // 0: no background polling
  std::chrono::milliseconds retry_failed_after{60000};
  RuntimeOptions runtime;
};

class ModelManager {
 public:
  static Result<std::unique_ptr<ModelManager>> Start(std::vector<DeploymentSpec> deployments,
                                                     std::unique_ptr<ModelSource> source,
                                                     ManagerOptions options,
                                                     MetricsRegistry* metrics);
  ~ModelManager();
  ModelManager(const ModelManager&) = delete;
  ModelManager& operator=(const ModelManager&) = delete;

  Result<Routed> Route(const std::string& deployment,
                       const std::optional<std::string>& pinned_version,
                       const std::optional<std::string>& sticky_value) const;
  // The deployment's sticky header name ("" none); kNotFound if unknown.
  Result<std::string> StickyHeader(const std::string& deployment) const;
  std::vector<std::string> DeploymentNames() const;
  // True when every deployment has a loaded version for each live target.
  bool Ready() const;

  cairn::Status SetTraffic(const std::string& deployment, std::vector<TargetSpec> targets);
  std::vector<DeploymentStatus> Status() const;
  Result<DeploymentStatus> Status(const std::string& deployment) const;

  // One round of registry following (what the poll thread does).
  void PollOnce();
  void Stop();

 private:
  ModelManager() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::serve
