// ModelManager, LoadedVersion and the model sources (contract in model_manager.h).
//
// Lifetime of a LoadedVersion (why nothing ever joins its own thread):
//   DynamicBatcher::Stop joins the batcher's workers, and ~LoadedVersion
//   stops the batcher. A request's callback runs on a worker thread and may
//   capture a VersionPtr, so if that callback held the last reference, the
//   destructor would run on a worker of the very batcher it stops. Two
//   measures prevent it:
//   1. The manager never lets go of a version it published while anyone else
//      may: a version leaving service (swapped out by the poll, removed by
//      SetTraffic, or at Stop) moves to the manager's `retired` list. The
//      reaper thread drops a retired version only once use_count() == 1
//      (the list holds the only reference, so no one can copy it again), and
//      the destructor then runs on the reaper thread. Stop() waits for the
//      in-flight requests the same way and destroys on its own thread.
//      Versions that never went into service (a failed check, SetTraffic
//      that fails) are destroyed by the thread that loaded them.
//   2. A safety net for references held elsewhere (a caller that keeps a
//      VersionPtr past Stop): LoadedVersion::Submit wraps the callback so
//      that it runs, and its captures are destroyed, with a thread-local
//      marker naming the version; the destructor, finding the marker, hands
//      the batcher and runtime to a short-lived thread that stops and shuts
//      them down instead of joining itself. The batch function and the
//      observer therefore never touch the LoadedVersion (only the Runtime
//      and metric children, which that thread keeps alive).

#include "serve/model_manager.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <sstream>
#include <system_error>
#include <tuple>
#include <utility>

#include "client/registry_client.h"
#include "core/ids.h"
#include "core/log.h"
#include "serving/mlflow_scoring.h"
#include "serving/model_input.h"
#include "serving/runtimes/python_runtime.h"
#include "serving/runtimes/xgboost_runtime.h"

namespace cairn::serve {
namespace {

namespace fs = std::filesystem;
using serving::ModelInput;
using serving::ModelOutput;

constexpr std::string_view kModelsScheme = "models:/";

// Metric names (model_manager.h).
constexpr const char* kBatchSizeMetric = "cairn_inference_batch_size";
constexpr const char* kQueueDepthMetric = "cairn_inference_queue_depth";
constexpr const char* kBatchSecondsMetric = "cairn_inference_batch_seconds";
constexpr const char* kLoadsMetric = "cairn_model_loads_total";
constexpr const char* kLoadFailuresMetric = "cairn_model_load_failures_total";
constexpr const char* kSwapsMetric = "cairn_model_swaps_total";
constexpr const char* kWeightMetric = "cairn_deployment_target_weight";
// How long Stop() waits for requests in flight to let go of their versions.
constexpr std::chrono::seconds kStopWait{30};
// One bucket layout for every deployment (a family has one): powers of two up
// to 1024 rows; larger batches land in +Inf.
constexpr double kBatchSizeBucketsMax = 1024;

const std::vector<std::string> kVersionLabels = {"deployment", "model", "version"};

Family<Histogram>& BatchSizeFamily(MetricsRegistry& m) {
  return m.AddHistogram(kBatchSizeMetric, "Rows per batch run by a model version", kVersionLabels,
                        PowerOfTwoBuckets(kBatchSizeBucketsMax));
}
Family<Histogram>& BatchSecondsFamily(MetricsRegistry& m) {
  return m.AddHistogram(kBatchSecondsMetric, "Time a model version spent predicting one batch",
                        kVersionLabels, LatencyBuckets());
}
Family<Counter>& LoadsFamily(MetricsRegistry& m) {
  return m.AddCounter(kLoadsMetric, "Model versions loaded and put into service", kVersionLabels);
}
Family<Counter>& LoadFailuresFamily(MetricsRegistry& m) {
  return m.AddCounter(kLoadFailuresMetric,
                      "Model versions that could not be resolved, loaded or checked",
                      {"deployment", "model"});
}
Family<Counter>& SwapsFamily(MetricsRegistry& m) {
  return m.AddCounter(kSwapsMetric, "Versions swapped in by registry following", {"deployment"});
}
Family<Gauge>& WeightFamily(MetricsRegistry& m) {
  return m.AddGauge(kWeightMetric, "Traffic weight of a deployment's target (0 for shadows)",
                    {"deployment", "model", "version", "role"});
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::unexpected<Error> Prefixed(const Error& e, const std::string& prefix) {
  return MakeError(e.code(), prefix + e.message());
}

Result<std::string> ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kInternal, "cannot read " + path.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return MakeError(ErrorCode::kInternal, "cannot read " + path.string());
  return buffer.str();
}

// ------------------------------------------------------------ model sources

// A cache folder name for a registered model name: [A-Za-z0-9._-] kept,
// anything else %XX, so a name can never climb out of the cache ("..").
std::string CacheName(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '_' || c == '-' || (c == '.' && !out.empty())) {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

struct RegistryRef {
  std::string name;
  std::string alias;    // models:/name@alias
  int64_t version = 0;  // models:/name/3
  std::string stage;    // models:/name/Production
};

Result<RegistryRef> ParseModelsUri(const std::string& uri) {
  std::string rest = uri.substr(kModelsScheme.size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  RegistryRef ref;
  const size_t at = rest.rfind('@');
  if (at != std::string::npos && rest.find('/', at) == std::string::npos) {
    ref.name = rest.substr(0, at);
    ref.alias = rest.substr(at + 1);
    if (!ref.name.empty() && !ref.alias.empty()) return ref;
  } else if (size_t slash = rest.rfind('/'); slash != std::string::npos) {
    ref.name = rest.substr(0, slash);
    std::string tail = rest.substr(slash + 1);
    if (!ref.name.empty() && !tail.empty()) {
      if (std::all_of(tail.begin(), tail.end(), [](unsigned char c) { return std::isdigit(c); })) {
        if (tail.size() > 18) return InvalidArgument("model URI '" + uri + "': version too large");
        ref.version = std::stoll(tail);
        if (ref.version >= 1) return ref;
      } else {
        ref.stage = tail;
        return ref;
      }
    }
  }
  return InvalidArgument("model URI '" + uri +
                         "' is not models:/<name>/<version> or models:/<name>@<alias>");
}

class DefaultModelSource : public ModelSource {
 public:
  DefaultModelSource(std::optional<client::RegistryClient> client, std::string cache_dir)
      : client_(std::move(client)), cache_dir_(std::move(cache_dir)) {}

  Result<ResolvedModel> Resolve(const std::string& model_uri) override {
    if (model_uri.starts_with(kModelsScheme)) return ResolveRegistry(model_uri);
    return ResolveFolder(model_uri);
  }

 private:
  static Result<ResolvedModel> ResolveFolder(const std::string& uri) {
    std::error_code ec;
    fs::path folder = fs::absolute(uri, ec);
    if (ec || !fs::is_directory(folder, ec)) {
      return NotFound("model folder '" + uri + "' does not exist");
    }
    if (!fs::is_regular_file(folder / "MLmodel", ec)) {
      return NotFound("model folder '" + uri + "' has no MLmodel file");
    }
    ResolvedModel model;
    model.model_name = DefaultDeploymentName(uri);
    model.version = "1";
    model.folder = folder.lexically_normal().string();
    while (model.folder.size() > 1 && model.folder.back() == '/') model.folder.pop_back();
    model.from_registry = false;
    return model;
  }

  Result<ResolvedModel> ResolveRegistry(const std::string& uri) {
    if (!client_) {
      return FailedPrecondition("models:/ URIs need a tracking server (--tracking-uri)");
    }
    CAIRN_ASSIGN_OR_RETURN(RegistryRef ref, ParseModelsUri(uri));
    int64_t version = ref.version;
    if (!ref.alias.empty()) {
      Result<store::ModelVersion> mv = client_->GetModelVersionByAlias(ref.name, ref.alias);
      if (!mv) {
        // MLflow answers an unknown alias with INVALID_PARAMETER_VALUE
        // ("Registered model alias x not found."); for us it is kNotFound.
        const Error& e = mv.error();
        if (e.code() == ErrorCode::kInvalidArgument &&
            e.message().find("not found") != std::string::npos) {
          return NotFound(e.message());
        }
        return std::unexpected(e);
      }
      version = mv->version;
    } else if (!ref.stage.empty()) {
      CAIRN_ASSIGN_OR_RETURN(std::vector<store::ModelVersion> latest,
                             client_->GetLatestVersions(ref.name, {ref.stage}));
      if (latest.empty()) {
        return NotFound("model '" + ref.name + "' has no version in stage '" + ref.stage + "'");
      }
      version = latest.front().version;
    } else {
      // Confirms the version exists (kNotFound otherwise) before any download.
      CAIRN_ASSIGN_OR_RETURN(store::ModelVersion mv, client_->GetModelVersion(ref.name, version));
      version = mv.version;
    }
    ResolvedModel model;
    model.model_name = ref.name;
    model.version = std::to_string(version);
    model.from_registry = true;
    CAIRN_ASSIGN_OR_RETURN(model.folder, Download(ref.name, version));
    return model;
  }

  // <cache>/<name>/<version>, downloaded into a temporary sibling and renamed
  // when complete; an existing complete folder is reused.
  Result<std::string> Download(const std::string& name, int64_t version) {
    std::error_code ec;
    const fs::path model_dir = fs::path(cache_dir_) / CacheName(name);
    const fs::path final_dir = model_dir / std::to_string(version);
    if (fs::is_regular_file(final_dir / "MLmodel", ec)) return final_dir.string();
    if (fs::exists(final_dir, ec)) {
      // Not a model (someone else's leftovers): replaced by a fresh download.
      CAIRN_LOG_WARN("model cache folder without MLmodel, downloading again folder={}",
                     final_dir.string());
      fs::remove_all(final_dir, ec);
    }
    fs::create_directories(model_dir, ec);
    if (ec) {
      return Internal("cannot create the model cache folder " + model_dir.string() + ": " +
                      ec.message());
    }
    const fs::path tmp = model_dir / (".tmp-" + NewRunId());
    struct Cleanup {
      fs::path path;
      ~Cleanup() {
        std::error_code ignored;
        if (!path.empty()) fs::remove_all(path, ignored);
      }
    } cleanup{tmp};
    CAIRN_LOG_INFO("downloading model version model={} version={} dst={}", name, version,
                   final_dir.string());
    Result<std::string> downloaded = client_->DownloadModelVersion(name, version, tmp.string());
    if (!downloaded) {
      return Prefixed(downloaded.error(),
                      "downloading model '" + name + "' version " + std::to_string(version) + ": ");
    }
    if (!fs::is_regular_file(tmp / "MLmodel", ec)) {
      return InvalidArgument("model '" + name + "' version " + std::to_string(version) +
                             " has no MLmodel file (not an MLflow model)");
    }
    fs::rename(tmp, final_dir, ec);
    if (ec) {
      // Another download of the same version won the race: use its folder.
      std::error_code ec2;
      if (fs::is_regular_file(final_dir / "MLmodel", ec2)) return final_dir.string();
      return Internal("cannot move the download into " + final_dir.string() + ": " + ec.message());
    }
    cleanup.path.clear();
    return final_dir.string();
  }

  std::optional<client::RegistryClient> client_;
  std::string cache_dir_;
};

// ------------------------------------------------------------ loaded versions

// The LoadedVersion whose request callback the current thread is running (an
// identity only, never dereferenced); see the comment at the top.
thread_local const void* tl_running_callback_of = nullptr;

class CallbackMark {
 public:
  explicit CallbackMark(const void* version) : previous_(tl_running_callback_of) {
    tl_running_callback_of = version;
  }
  ~CallbackMark() { tl_running_callback_of = previous_; }
  CallbackMark(const CallbackMark&) = delete;
  CallbackMark& operator=(const CallbackMark&) = delete;

 private:
  const void* previous_;
};

Status CheckOutputRows(const ModelOutput& output, int64_t rows) {
  if (output.tensors.empty()) return Internal("model returned no output");
  for (const serving::Tensor& t : output.tensors) {
    const int64_t got = t.shape().empty() ? -1 : t.shape()[0];
    if (got != rows) {
      return Internal("model returned " + std::to_string(got) + " rows for a batch of " +
                      std::to_string(rows));
    }
  }
  return {};
}

// The batch function of one version: runs each run of consecutive Compatible
// inputs as one Predict. Uses only the runtime (see the top comment).
Result<std::vector<Result<ModelOutput>>> RunBatch(serving::Runtime* runtime,
                                                  std::span<ModelInput> items) {
  std::vector<Result<ModelOutput>> results;
  results.reserve(items.size());
  size_t begin = 0;
  while (begin < items.size()) {
    size_t end = begin + 1;
    while (end < items.size() && serving::Compatible(items[begin], items[end])) ++end;
    if (end == begin + 1) {
      Result<ModelOutput> out = runtime->Predict(items[begin]);
      if (out) {
        if (Status rows = CheckOutputRows(*out, items[begin].rows); !rows) {
          out = std::unexpected(rows.error());
        }
      }
      results.push_back(std::move(out));
    } else {
      std::span<const ModelInput> group(items.data() + begin, end - begin);
      std::vector<int64_t> rows;
      rows.reserve(group.size());
      for (const ModelInput& in : group) rows.push_back(in.rows);
      ModelInput batch = serving::ConcatInputs(group);
      Result<ModelOutput> out = runtime->Predict(batch);
      Result<std::vector<ModelOutput>> pieces =
          out ? serving::SplitOutput(*out, rows)
              : Result<std::vector<ModelOutput>>(std::unexpected(out.error()));
      if (pieces && pieces->size() != group.size()) {
        pieces = Internal("split a batch into " + std::to_string(pieces->size()) + " pieces for " +
                          std::to_string(group.size()) + " requests");
      }
      for (size_t i = 0; i < group.size(); ++i) {
        if (pieces) {
          results.push_back(std::move((*pieces)[i]));
        } else {
          results.push_back(std::unexpected(pieces.error()));
        }
      }
    }
    begin = end;
  }
  return results;
}

// The scoring request of the model's input example, or nullopt when it has
// none we can read (logged).
Result<std::optional<serving::ScoringRequest>> ReadInputExample(const std::string& folder,
                                                                const model::InputExample& ex,
                                                                const std::string& what) {
  std::string body;
  if (!ex.serving_input_path.empty()) {
    CAIRN_ASSIGN_OR_RETURN(body, ReadWholeFile(fs::path(folder) / ex.serving_input_path));
  } else {
    if (ex.artifact_path.empty()) return std::optional<serving::ScoringRequest>();
    CAIRN_ASSIGN_OR_RETURN(std::string content, ReadWholeFile(fs::path(folder) / ex.artifact_path));
    if (ex.type == "dataframe") {
      if (ex.pandas_orient.empty() || ex.pandas_orient == "split") {
        body = "{\"dataframe_split\": " + content + "}";
      } else if (ex.pandas_orient == "records") {
        body = "{\"dataframe_records\": " + content + "}";
      } else {
        CAIRN_LOG_INFO("input example check skipped model={} reason=\"pandas orient '{}'\"", what,
                       ex.pandas_orient);
        return std::optional<serving::ScoringRequest>();
      }
    } else if (ex.type == "ndarray") {
      // MLflow < 2.16 saved {"inputs": ...}; later versions the bare array.
      bool wrapped = false;
      try {
        nlohmann::json parsed = nlohmann::json::parse(content, nullptr, false);
        wrapped = parsed.is_object() && parsed.contains("inputs");
      } catch (const nlohmann::json::exception&) {
        wrapped = false;
      }
      body = wrapped ? content : "{\"inputs\": " + content + "}";
    } else {
      CAIRN_LOG_INFO("input example check skipped model={} reason=\"example type '{}'\"", what,
                     ex.type);
      return std::optional<serving::ScoringRequest>();
    }
  }
  Result<serving::ScoringRequest> request = serving::ParseScoringJson(body);
  if (!request) {
    // The example is MLflow's file, not the model: one we cannot read (e.g.
    // a NaN literal Python's json accepts) must not keep the model out of
    // service; the check then falls back to loading only.
    CAIRN_LOG_WARN("input example check skipped model={} reason=\"cannot parse the example: {}\"",
                   what, request.error().message());
    return std::optional<serving::ScoringRequest>();
  }
  return std::optional<serving::ScoringRequest>(std::move(*request));
}

}  // namespace

Result<std::unique_ptr<ModelSource>> MakeModelSource(const RegistrySourceOptions& options) {
  std::optional<client::RegistryClient> client;
  if (!options.tracking_uri.empty()) {
    client::RegistryClientOptions client_options;
    client_options.user = options.user;
    CAIRN_ASSIGN_OR_RETURN(client::RegistryClient c,
                           client::RegistryClient::Create(options.tracking_uri, client_options));
    client.emplace(std::move(c));
  }
  return std::unique_ptr<ModelSource>(new DefaultModelSource(std::move(client), options.cache_dir));
}

LoadedVersion::~LoadedVersion() {
  if (tl_running_callback_of == this) {
    // The last reference went inside one of our own request callbacks, on a
    // worker of batcher_: stopping it here would join this very thread. A
    // helper thread drains and stops the batcher, then shuts the runtime
    // down (the batch function uses only the runtime, which it keeps alive).
    CAIRN_LOG_WARN(
        "model version released by its own request; stopping it on a helper thread "
        "model={} version={}",
        model_.model_name, model_.version);
    std::thread([batcher = std::move(batcher_), runtime = std::move(runtime_)]() mutable {
      batcher.reset();
      if (runtime) runtime->Shutdown();
      runtime.reset();
    }).detach();
    return;
  }
  batcher_.reset();  // Stop(): refuses new work, drains the queue, joins the workers
  if (runtime_) runtime_->Shutdown();
}

Status LoadedVersion::Submit(ModelInput input, std::function<void(Result<ModelOutput>)> done) {
  const int64_t rows = input.rows;
  const void* self = this;
  return batcher_->Submit(std::move(input), rows,
                          [self, done = std::move(done)](Result<ModelOutput> result) mutable {
                            CallbackMark mark(self);
                            if (done) done(std::move(result));
                            done = nullptr;  // its captures go while marked
                          });
}

serving::BatcherStats LoadedVersion::Stats() const { return batcher_->Stats(); }

Result<std::shared_ptr<LoadedVersion>> LoadedVersion::Load(const std::string& deployment,
                                                           ResolvedModel model,
                                                           const BatchingSpec& batching,
                                                           const RuntimeOptions& runtime_options,
                                                           MetricsRegistry* metrics) {
  std::shared_ptr<LoadedVersion> version(new LoadedVersion());
  version->deployment_ = deployment;
  version->model_ = std::move(model);
  const ResolvedModel& m = version->model_;
  CAIRN_ASSIGN_OR_RETURN(version->manifest_, model::LoadModelPackage(m.folder));
  const model::ModelManifest& manifest = version->manifest_;

  // Runtime choice (docs/serving.md): native XGBoost unless Python is asked
  // for or there is no xgboost flavor; python_function otherwise.
  const bool want_python = runtime_options.runtime == "python";
  if (manifest.xgboost && !want_python) {
    serving::XgboostRuntimeOptions xgb;
    xgb.xgboost.native_trees = runtime_options.xgboost_native_trees;
    CAIRN_ASSIGN_OR_RETURN(version->runtime_, serving::LoadXgboostRuntime(m.folder, xgb));
  } else if (manifest.python_function) {
    serving::PythonRuntimeOptions py;
    py.python = runtime_options.python;
    py.workers = batching.instances;
    py.load_timeout = runtime_options.python_load_timeout;
    py.predict_timeout = runtime_options.python_predict_timeout;
    CAIRN_ASSIGN_OR_RETURN(version->runtime_, serving::LoadPythonRuntime(m.folder, py));
  } else {
    std::vector<std::string> flavors;
    for (const auto& [name, config] : manifest.flavors) flavors.push_back(name);
    return InvalidArgument(
        "model has no flavor cairn can serve (flavors: " + Join(flavors) + ")" +
        (want_python ? "; --runtime python needs a python_function flavor" : ""));
  }

  version->metadata_.name = deployment;
  version->metadata_.versions = {m.version};
  version->metadata_.platform = std::string(version->runtime_->platform());
  version->metadata_.inputs = serving::SignatureInputsMetadata(manifest.signature);
  version->metadata_.outputs = serving::SignatureOutputsMetadata(manifest.signature);

  serving::BatcherOptions options;
  options.name = m.model_name + "/" + m.version;
  options.max_batch_size = batching.max_batch_size;
  options.greedy = batching.policy != "wait";
  options.max_queue_delay = std::chrono::microseconds(batching.max_queue_delay_us);
  options.instance_count = batching.instances;
  options.max_queue_size = static_cast<size_t>(std::max<int64_t>(1, batching.max_queue));
  options.default_timeout = std::chrono::milliseconds(batching.timeout_ms);
  // An XGBoost model answers in microseconds: the HTTP thread that submits
  // runs the batch itself when an instance is free (no thread hop), and
  // requests arriving meanwhile batch behind it (greedy dispatch). The "wait"
  // policy with a delay asks for waiting, which only worker threads do;
  // Python models (milliseconds) always get workers.
  options.run_on_caller = version->runtime_->platform() == "xgboost" &&
                          (options.greedy || batching.max_queue_delay_us == 0);

  Histogram* batch_size = nullptr;
  Histogram* batch_seconds = nullptr;
  if (metrics != nullptr) {
    const std::vector<std::string> labels = {deployment, m.model_name, m.version};
    batch_size = &BatchSizeFamily(*metrics).WithLabels(labels);
    batch_seconds = &BatchSecondsFamily(*metrics).WithLabels(labels);
  }
  serving::BatchObserver observer = nullptr;
  if (batch_size != nullptr) {
    observer = [batch_size, batch_seconds](const serving::BatchEvent& event) {
      if (event.requests == 0) return;
      batch_size->Observe(static_cast<double>(event.rows));
      batch_seconds->Observe(std::chrono::duration<double>(event.run_time).count());
    };
  }
  serving::Runtime* runtime = version->runtime_.get();
  CAIRN_ASSIGN_OR_RETURN(version->batcher_, Batcher::Create(
                                                std::move(options),
                                                [runtime](std::span<ModelInput> items) {
                                                  return RunBatch(runtime, items);
                                                },
                                                std::move(observer)));
  return version;
}

Status LoadedVersion::Check() {
  const std::string what = model_.model_name + "/" + model_.version;
  if (!manifest_.input_example) {
    CAIRN_LOG_INFO("model has no input example; checked by loading only model={}", what);
    return {};
  }
  Result<std::optional<serving::ScoringRequest>> request =
      ReadInputExample(model_.folder, *manifest_.input_example, what);
  if (!request) return Prefixed(request.error(), "input example check failed: ");
  if (!*request) return {};
  Result<ModelInput> input =
      serving::ConformScoringInput(std::move(**request), manifest_.signature);
  if (!input) return Prefixed(input.error(), "input example check failed: ");
  Result<ModelOutput> output = runtime_->Predict(*input);
  if (!output) return Prefixed(output.error(), "input example check failed: ");
  if (Status rows = CheckOutputRows(*output, input->rows); !rows) {
    return Prefixed(rows.error(), "input example check failed: ");
  }
  CAIRN_LOG_INFO("input example check passed model={} rows={}", what, input->rows);
  return {};
}

// ------------------------------------------------------------ ModelManager

namespace {

struct TargetState {
  TargetSpec spec;
  std::string model_name;  // from the URI until a version is loaded
  VersionPtr version;
  bool loading = false;
  std::string last_error;
  std::string failed_version;
  std::chrono::steady_clock::time_point failed_at{};
  int64_t loaded_at_millis = 0;
  bool Registry() const { return spec.model_uri.starts_with(kModelsScheme); }
};

struct DeploymentState {
  DeploymentSpec spec;  // spec.targets mirrors targets[i].spec
  std::vector<TargetState> targets;
  std::vector<size_t> live;  // indexes of live targets, in split order
  TrafficSplit split;
};

Status BuildSplit(DeploymentState& d) {
  d.live.clear();
  std::vector<int64_t> weights;
  for (size_t i = 0; i < d.targets.size(); ++i) {
    if (d.targets[i].spec.shadow) continue;
    d.live.push_back(i);
    weights.push_back(d.targets[i].spec.weight);
  }
  CAIRN_ASSIGN_OR_RETURN(d.split, TrafficSplit::Create(std::move(weights)));
  return {};
}

std::vector<std::string> VersionLabels(const LoadedVersion& v) {
  return {v.deployment(), v.model().model_name, v.model().version};
}

// Queue depths for the callback gauge: the versions currently in the table,
// as raw pointers updated under `mu` before a version leaves the table (so a
// pointer here is always alive: versions are destroyed only after they left).
struct DepthProbe {
  std::mutex mu;
  std::vector<const LoadedVersion*> versions;
};

}  // namespace

struct ModelManager::Impl {
  ManagerOptions options;
  std::unique_ptr<ModelSource> source;
  MetricsRegistry* metrics = nullptr;

  mutable std::shared_mutex table_mu;
  std::map<std::string, DeploymentState> table;  // guarded by table_mu
  bool stopped = false;                          // guarded by table_mu

  // Serializes what loads and changes targets: PollOnce, SetTraffic, Stop.
  std::mutex update_mu;
  std::set<std::vector<std::string>> weight_labels;  // guarded by update_mu

  // Metric children per {deployment, model, version}: how many versions
  // (loaded or loading) use them; removed from /metrics when none does.
  std::mutex labels_mu;
  std::map<std::vector<std::string>, int> label_users;  // guarded by labels_mu

  std::shared_ptr<DepthProbe> probe = std::make_shared<DepthProbe>();

  std::mutex poll_mu;
  std::condition_variable poll_cv;
  bool poll_stop = false;  // guarded by poll_mu
  std::thread poll_thread;

  std::mutex retired_mu;
  std::condition_variable retired_cv;
  std::vector<VersionPtr> retired;  // guarded by retired_mu
  bool reaper_stop = false;         // guarded by retired_mu
  std::thread reaper_thread;

  std::once_flag stop_once;

  // ---- metrics helpers (never called under table_mu)
  void AcquireLabels(const std::vector<std::string>& labels) {
    std::lock_guard lock(labels_mu);
    ++label_users[labels];
  }
  void ReleaseLabels(const std::vector<std::string>& labels) {
    std::lock_guard lock(labels_mu);
    auto it = label_users.find(labels);
    if (it == label_users.end()) return;
    if (--it->second > 0) return;
    label_users.erase(it);
    if (metrics == nullptr) return;
    BatchSizeFamily(*metrics).Remove(labels);
    BatchSecondsFamily(*metrics).Remove(labels);
    LoadsFamily(*metrics).Remove(labels);
  }
  // Destroys a version this thread holds the only reference to.
  void Dispose(VersionPtr version) {
    if (!version) return;
    std::vector<std::string> labels = VersionLabels(*version);
    version.reset();
    ReleaseLabels(labels);
  }
  void Retire(VersionPtr version) {
    if (!version) return;
    {
      std::lock_guard lock(retired_mu);
      retired.push_back(std::move(version));
    }
    retired_cv.notify_all();
  }
  void CountFailure(const std::string& deployment, const std::string& model) {
    if (metrics != nullptr)
      LoadFailuresFamily(*metrics).WithLabels({deployment, model}).Increment();
  }
  void CountLoad(const LoadedVersion& v) {
    if (metrics != nullptr) LoadsFamily(*metrics).WithLabels(VersionLabels(v)).Increment();
  }

  // Publishes the weights gauge and the queue-depth probe for the current
  // table. Requires update_mu (not table_mu).
  void RefreshObservers() {
    std::set<std::vector<std::string>> now;
    std::vector<std::pair<std::vector<std::string>, double>> weights;
    std::vector<const LoadedVersion*> versions;
    {
      std::shared_lock lock(table_mu);
      for (const auto& [name, d] : table) {
        for (const TargetState& t : d.targets) {
          if (!t.version) continue;
          versions.push_back(t.version.get());
          std::vector<std::string> labels = {name, t.version->model().model_name,
                                             t.version->model().version,
                                             t.spec.shadow ? "shadow" : "live"};
          weights.emplace_back(labels, t.spec.shadow ? 0.0 : static_cast<double>(t.spec.weight));
          now.insert(std::move(labels));
        }
      }
      // Under table_mu, so the probe never lags behind a version leaving the
      // table (it is dropped from the probe before it can be destroyed).
      std::lock_guard probe_lock(probe->mu);
      probe->versions = std::move(versions);
    }
    if (metrics == nullptr) return;
    Family<Gauge>& family = WeightFamily(*metrics);
    for (const auto& labels : weight_labels) {
      if (!now.contains(labels)) family.Remove(labels);
    }
    for (const auto& [labels, value] : weights) family.WithLabels(labels).Set(value);
    weight_labels = std::move(now);
  }

  // Resolves, loads and checks one target. Never under table_mu.
  Result<VersionPtr> LoadTarget(const DeploymentSpec& d, const TargetSpec& target) {
    CAIRN_ASSIGN_OR_RETURN(ResolvedModel resolved, source->Resolve(target.model_uri));
    return LoadResolved(d, std::move(resolved));
  }
  Result<VersionPtr> LoadResolved(const DeploymentSpec& d, ResolvedModel resolved) {
    RuntimeOptions runtime = options.runtime;
    if (d.runtime != "auto" && !d.runtime.empty()) runtime.runtime = d.runtime;
    const std::vector<std::string> labels = {d.name, resolved.model_name, resolved.version};
    const std::string what = resolved.model_name + " version " + resolved.version;
    AcquireLabels(labels);
    Result<VersionPtr> version =
        LoadedVersion::Load(d.name, std::move(resolved), d.batching, runtime, metrics);
    if (!version) {
      ReleaseLabels(labels);
      return Prefixed(version.error(), "loading " + what + ": ");
    }
    if (cairn::Status checked = (*version)->Check(); !checked) {
      Dispose(std::move(*version));
      return Prefixed(checked.error(), "checking " + what + ": ");
    }
    CAIRN_LOG_INFO("model version loaded deployment={} model={} folder={}", d.name, what,
                   (*version)->model().folder);
    return version;
  }

  // ---- poll
  void PollLoop() {
    std::unique_lock lock(poll_mu);
    while (!poll_stop) {
      poll_cv.wait_for(lock, options.poll_interval, [this] { return poll_stop; });
      if (poll_stop) break;
      lock.unlock();
      PollOnce();
      lock.lock();
    }
  }
  bool PollStopping() {
    std::lock_guard lock(poll_mu);
    return poll_stop;
  }

  void PollOnce() {
    std::lock_guard update(update_mu);
    struct Job {
      std::string deployment;
      size_t index;
      TargetSpec target;
      DeploymentSpec spec;
      std::string loaded_model, loaded_version, failed_version;
      std::chrono::steady_clock::time_point failed_at;
      bool has_error;
    };
    std::vector<Job> jobs;
    {
      std::shared_lock lock(table_mu);
      if (stopped) return;
      for (const auto& [name, d] : table) {
        for (size_t i = 0; i < d.targets.size(); ++i) {
          const TargetState& t = d.targets[i];
          if (!t.Registry()) continue;
          jobs.push_back(Job{name, i, t.spec, d.spec,
                             t.version ? t.version->model().model_name : "",
                             t.version ? t.version->model().version : "", t.failed_version,
                             t.failed_at, !t.last_error.empty() || !t.failed_version.empty()});
        }
      }
    }
    for (Job& job : jobs) {
      if (PollStopping()) break;
      const std::string& uri = job.target.model_uri;
      // Records the outcome on the target (it cannot have changed: the table
      // changes only under update_mu, which we hold).
      auto update_target = [&](auto&& fn) {
        std::unique_lock lock(table_mu);
        auto it = table.find(job.deployment);
        if (it == table.end() || job.index >= it->second.targets.size()) return;
        fn(it->second.targets[job.index]);
      };
      Result<ResolvedModel> resolved = source->Resolve(uri);
      if (!resolved) {
        std::string message = "resolving " + uri + ": " + resolved.error().message();
        CAIRN_LOG_WARN("model poll failed; keeps serving deployment={} error=\"{}\"",
                       job.deployment, message);
        CountFailure(job.deployment, DefaultDeploymentName(uri));
        update_target([&](TargetState& t) { t.last_error = message; });
        continue;
      }
      if (resolved->model_name == job.loaded_model && resolved->version == job.loaded_version) {
        // Up to date (the alias may have come back): nothing failed now.
        if (job.has_error) {
          update_target([&](TargetState& t) {
            t.last_error.clear();
            t.failed_version.clear();
          });
        }
        continue;
      }
      const auto now = std::chrono::steady_clock::now();
      if (resolved->version == job.failed_version &&
          now - job.failed_at < options.retry_failed_after) {
        continue;  // failed before; not retried until the alias moves or time passes
      }
      const std::string version = resolved->version;
      const std::string model_name = resolved->model_name;
      update_target([&](TargetState& t) { t.loading = true; });
      Result<VersionPtr> loaded = LoadResolved(job.spec, std::move(*resolved));
      if (!loaded) {
        const std::string message =
            "version " + version + " of " + uri + " failed: " + loaded.error().message();
        CAIRN_LOG_ERROR(
            "model version failed; the previous version keeps serving deployment={} "
            "error=\"{}\"",
            job.deployment, message);
        CountFailure(job.deployment, model_name);
        update_target([&](TargetState& t) {
          t.loading = false;
          t.last_error = message;
          t.failed_version = version;
          t.failed_at = std::chrono::steady_clock::now();
        });
        continue;
      }
      VersionPtr old;
      VersionPtr fresh = *loaded;
      update_target([&](TargetState& t) {
        old = std::move(t.version);
        t.version = fresh;
        t.model_name = model_name;
        t.loading = false;
        t.last_error.clear();
        t.failed_version.clear();
        t.loaded_at_millis = NowMillis();
      });
      CountLoad(*fresh);
      if (metrics != nullptr) SwapsFamily(*metrics).WithLabels({job.deployment}).Increment();
      CAIRN_LOG_INFO("model version swapped deployment={} target={} from={} to={}", job.deployment,
                     uri, job.loaded_version.empty() ? "-" : job.loaded_version, version);
      // The probe must drop `old` before it can be destroyed.
      RefreshObservers();
      Retire(std::move(old));
      fresh.reset();
    }
  }

  // ---- reaper
  void ReaperLoop() {
    std::unique_lock lock(retired_mu);
    while (!reaper_stop) {
      retired_cv.wait_for(lock, std::chrono::milliseconds(50));
      std::vector<VersionPtr> done = TakeUnused();
      if (done.empty()) continue;
      lock.unlock();
      for (VersionPtr& v : done) Dispose(std::move(v));
      done.clear();
      lock.lock();
    }
  }
  // Retired versions no one else holds. Requires retired_mu.
  std::vector<VersionPtr> TakeUnused() {
    std::vector<VersionPtr> done;
    for (auto it = retired.begin(); it != retired.end();) {
      if (it->use_count() == 1) {
        done.push_back(std::move(*it));
        it = retired.erase(it);
      } else {
        ++it;
      }
    }
    return done;
  }

  void Stop() {
    {
      std::lock_guard lock(poll_mu);
      poll_stop = true;
    }
    poll_cv.notify_all();
    if (poll_thread.joinable()) poll_thread.join();

    std::lock_guard update(update_mu);
    std::vector<VersionPtr> leaving;
    {
      std::unique_lock lock(table_mu);
      stopped = true;
      for (auto& [name, d] : table) {
        for (TargetState& t : d.targets) {
          if (t.version) leaving.push_back(std::move(t.version));
        }
      }
      std::lock_guard probe_lock(probe->mu);
      probe->versions.clear();
    }
    if (metrics != nullptr) {
      Family<Gauge>& family = WeightFamily(*metrics);
      for (const auto& labels : weight_labels) family.Remove(labels);
    }
    weight_labels.clear();
    {
      std::lock_guard lock(retired_mu);
      reaper_stop = true;
      for (VersionPtr& v : leaving) retired.push_back(std::move(v));
    }
    retired_cv.notify_all();
    if (reaper_thread.joinable()) reaper_thread.join();

    // Requests in flight keep their versions' batchers busy; they finish (the
    // batchers still run) and release their references. Wait for them, then
    // destroy here: drain, join the workers, shut the runtimes down.
    const auto deadline = std::chrono::steady_clock::now() + kStopWait;
    while (true) {
      std::vector<VersionPtr> done;
      bool empty = false;
      {
        std::lock_guard lock(retired_mu);
        done = TakeUnused();
        empty = retired.empty();
      }
      for (VersionPtr& v : done) Dispose(std::move(v));
      if (empty) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        std::lock_guard lock(retired_mu);
        CAIRN_LOG_WARN("model versions still referenced at stop; released count={}",
                       retired.size());
        retired.clear();  // the last holder destroys them (see the top comment)
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
};

Result<std::unique_ptr<ModelManager>> ModelManager::Start(std::vector<DeploymentSpec> deployments,
                                                          std::unique_ptr<ModelSource> source,
                                                          ManagerOptions options,
                                                          MetricsRegistry* metrics) {
  if (!source) return InvalidArgument("a model source is required");
  if (deployments.empty()) return InvalidArgument("no deployment to serve");
  std::unique_ptr<ModelManager> manager(new ModelManager());
  manager->impl_ = std::make_unique<Impl>();
  Impl& impl = *manager->impl_;
  impl.options = std::move(options);
  impl.source = std::move(source);
  impl.metrics = metrics;

  if (metrics != nullptr) {
    try {
      BatchSizeFamily(*metrics);
      BatchSecondsFamily(*metrics);
      LoadsFamily(*metrics);
      LoadFailuresFamily(*metrics);
      SwapsFamily(*metrics);
      WeightFamily(*metrics);
      std::weak_ptr<DepthProbe> weak = impl.probe;
      metrics->AddGaugeCallback(
          kQueueDepthMetric, "Requests waiting in a model version's batcher", kVersionLabels,
          [weak]() {
            MetricsRegistry::GaugeSamples samples;
            std::shared_ptr<DepthProbe> probe = weak.lock();
            if (!probe) return samples;
            std::lock_guard lock(probe->mu);
            for (const LoadedVersion* v : probe->versions) {
              samples.emplace_back(VersionLabels(*v), static_cast<double>(v->Stats().queue_depth));
            }
            return samples;
          });
    } catch (const std::exception& e) {
      return Internal(std::string("cannot register the model metrics: ") + e.what());
    }
  }

  std::map<std::string, DeploymentState> table;
  // Anything loaded goes if Start fails half way (on this thread: unpublished).
  struct Unwind {
    Impl& impl;
    std::map<std::string, DeploymentState>* table;
    ~Unwind() {
      if (table == nullptr) return;
      for (auto& [name, d] : *table) {
        for (TargetState& t : d.targets) impl.Dispose(std::move(t.version));
      }
    }
  } unwind{impl, &table};

  for (DeploymentSpec& spec : deployments) {
    if (cairn::Status valid = ValidateDeployment(spec); !valid) {
      return Prefixed(valid.error(), "deployment '" + spec.name + "': ");
    }
    if (table.contains(spec.name)) {
      return InvalidArgument("deployment '" + spec.name + "' is declared twice");
    }
    DeploymentState& d = table[spec.name];
    d.spec = spec;
    for (const TargetSpec& target : spec.targets) {
      TargetState t;
      t.spec = target;
      t.model_name = DefaultDeploymentName(target.model_uri);
      Result<VersionPtr> loaded = impl.LoadTarget(spec, target);
      if (!loaded) {
        if (!target.shadow) {
          return Prefixed(loaded.error(),
                          "deployment '" + spec.name + "': target '" + target.model_uri + "': ");
        }
        CAIRN_LOG_ERROR(
            "shadow target failed to load; skipped deployment={} target={} error=\"{}\"", spec.name,
            target.model_uri, loaded.error().message());
        impl.CountFailure(spec.name, t.model_name);
        t.last_error = loaded.error().message();
      } else {
        t.version = std::move(*loaded);
        t.model_name = t.version->model().model_name;
        t.loaded_at_millis = NowMillis();
        impl.CountLoad(*t.version);
      }
      d.targets.push_back(std::move(t));
    }
    if (cairn::Status split = BuildSplit(d); !split) {
      return Prefixed(split.error(), "deployment '" + spec.name + "': ");
    }
  }
  unwind.table = nullptr;
  {
    std::unique_lock lock(impl.table_mu);
    impl.table = std::move(table);
  }
  {
    std::lock_guard update(impl.update_mu);
    impl.RefreshObservers();
  }
  impl.reaper_thread = std::thread([&impl] { impl.ReaperLoop(); });
  if (impl.options.poll_interval.count() > 0) {
    impl.poll_thread = std::thread([&impl] { impl.PollLoop(); });
  }
  return manager;
}

ModelManager::~ModelManager() { Stop(); }

void ModelManager::Stop() {
  if (!impl_) return;
  std::call_once(impl_->stop_once, [this] { impl_->Stop(); });
}

void ModelManager::PollOnce() { impl_->PollOnce(); }

namespace {

std::unexpected<Error> UnknownDeployment(const std::map<std::string, DeploymentState>& table,
                                         const std::string& name) {
  std::vector<std::string> names;
  for (const auto& [n, d] : table) names.push_back(n);
  return NotFound("model '" + name + "' is not served here (serving: " + Join(names) + ")");
}

}  // namespace

Result<Routed> ModelManager::Route(const std::string& deployment,
                                   const std::optional<std::string>& pinned_version,
                                   const std::optional<std::string>& sticky_value) const {
  std::shared_lock lock(impl_->table_mu);
  if (impl_->stopped) return Unavailable("the server is shutting down");
  auto it = impl_->table.find(deployment);
  if (it == impl_->table.end()) return UnknownDeployment(impl_->table, deployment);
  const DeploymentState& d = it->second;
  Routed routed;
  if (pinned_version) {
    // A pinned request goes to that version only (live targets first), with no shadows.
    for (bool shadow : {false, true}) {
      for (const TargetState& t : d.targets) {
        if (t.spec.shadow == shadow && t.version && t.version->model().version == *pinned_version) {
          routed.live = t.version;
          return routed;
        }
      }
    }
    std::vector<std::string> serving;
    for (const TargetState& t : d.targets) {
      if (t.version &&
          std::find(serving.begin(), serving.end(), t.version->model().version) == serving.end()) {
        serving.push_back(t.version->model().version);
      }
    }
    return NotFound("deployment '" + deployment + "' has no version '" + *pinned_version +
                    "' (serving: " + Join(serving) + ")");
  }
  const size_t chosen =
      sticky_value ? d.split.Choose(std::string_view(*sticky_value)) : d.split.Choose();
  if (chosen >= d.live.size()) return Internal("traffic split chose no target");
  const TargetState& target = d.targets[d.live[chosen]];
  if (!target.version) {
    return Unavailable("deployment '" + deployment + "': target '" + target.spec.model_uri +
                       "' has no loaded version");
  }
  routed.live = target.version;
  for (const TargetState& t : d.targets) {
    if (t.spec.shadow && t.version) routed.shadows.push_back(t.version);
  }
  return routed;
}

Result<std::string> ModelManager::StickyHeader(const std::string& deployment) const {
  std::shared_lock lock(impl_->table_mu);
  auto it = impl_->table.find(deployment);
  if (it == impl_->table.end()) return UnknownDeployment(impl_->table, deployment);
  return it->second.spec.sticky_header;
}

std::vector<std::string> ModelManager::DeploymentNames() const {
  std::shared_lock lock(impl_->table_mu);
  std::vector<std::string> names;
  for (const auto& [name, d] : impl_->table) names.push_back(name);
  return names;
}

bool ModelManager::Ready() const {
  std::shared_lock lock(impl_->table_mu);
  if (impl_->stopped || impl_->table.empty()) return false;
  for (const auto& [name, d] : impl_->table) {
    for (const TargetState& t : d.targets) {
      if (!t.spec.shadow && !t.version) return false;
    }
  }
  return true;
}

namespace {

DeploymentStatus StatusOf(const DeploymentState& d) {
  DeploymentStatus status;
  status.name = d.spec.name;
  status.sticky_header = d.spec.sticky_header;
  for (const TargetState& t : d.targets) {
    TargetStatus s;
    s.spec = t.spec;
    s.model_name = t.model_name;
    s.version = t.version ? t.version->model().version : "";
    s.state = t.version ? "serving" : (t.loading ? "loading" : "failed");
    s.last_error = t.last_error;
    s.failed_version = t.failed_version;
    s.loaded_at_millis = t.loaded_at_millis;
    status.targets.push_back(std::move(s));
  }
  return status;
}

}  // namespace

std::vector<DeploymentStatus> ModelManager::Status() const {
  std::shared_lock lock(impl_->table_mu);
  std::vector<DeploymentStatus> out;
  for (const auto& [name, d] : impl_->table) out.push_back(StatusOf(d));
  return out;
}

Result<DeploymentStatus> ModelManager::Status(const std::string& deployment) const {
  std::shared_lock lock(impl_->table_mu);
  auto it = impl_->table.find(deployment);
  if (it == impl_->table.end()) return UnknownDeployment(impl_->table, deployment);
  return StatusOf(it->second);
}

cairn::Status ModelManager::SetTraffic(const std::string& deployment,
                                       std::vector<TargetSpec> targets) {
  Impl& impl = *impl_;
  std::lock_guard update(impl.update_mu);
  DeploymentSpec spec;
  std::set<std::string> kept_uris;
  {
    std::shared_lock lock(impl.table_mu);
    if (impl.stopped) return Unavailable("the server is shutting down");
    auto it = impl.table.find(deployment);
    if (it == impl.table.end()) return UnknownDeployment(impl.table, deployment);
    spec = it->second.spec;
    for (const TargetState& t : it->second.targets) kept_uris.insert(t.spec.model_uri);
  }
  spec.targets = targets;
  CAIRN_RETURN_IF_ERROR(ValidateDeployment(spec));

  // Load what is new, before anything changes. On failure the new versions
  // go (on this thread: no one else has seen them).
  std::map<std::string, VersionPtr> fresh;
  struct Unwind {
    Impl& impl;
    std::map<std::string, VersionPtr>* fresh;
    ~Unwind() {
      if (fresh == nullptr) return;
      for (auto& [uri, v] : *fresh) impl.Dispose(std::move(v));
    }
  } unwind{impl, &fresh};
  for (const TargetSpec& target : targets) {
    if (kept_uris.contains(target.model_uri)) continue;
    Result<VersionPtr> loaded = impl.LoadTarget(spec, target);
    if (!loaded) {
      impl.CountFailure(deployment, DefaultDeploymentName(target.model_uri));
      return Prefixed(loaded.error(),
                      "deployment '" + deployment + "': target '" + target.model_uri + "': ");
    }
    fresh[target.model_uri] = std::move(*loaded);
  }

  // The new table entry: kept targets bring their state, new ones their version.
  DeploymentState next;
  next.spec = spec;
  for (const TargetSpec& target : targets) {
    TargetState t;
    t.spec = target;
    next.targets.push_back(std::move(t));
  }
  CAIRN_RETURN_IF_ERROR(BuildSplit(next));

  std::vector<VersionPtr> leaving;
  std::vector<VersionPtr> counted;
  {
    std::unique_lock lock(impl.table_mu);
    DeploymentState& d = impl.table.at(deployment);
    std::map<std::string, TargetState> old;
    for (TargetState& t : d.targets) old[t.spec.model_uri] = std::move(t);
    for (TargetState& t : next.targets) {
      if (auto o = old.find(t.spec.model_uri); o != old.end()) {
        TargetSpec target = t.spec;
        t = std::move(o->second);
        t.spec = std::move(target);
        old.erase(o);
      } else {
        t.version = std::move(fresh.at(t.spec.model_uri));
        t.model_name = t.version->model().model_name;
        t.loaded_at_millis = NowMillis();
        counted.push_back(t.version);
      }
    }
    for (auto& [uri, t] : old) {
      if (t.version) leaving.push_back(std::move(t.version));
    }
    d = std::move(next);
  }
  unwind.fresh = nullptr;
  for (const VersionPtr& v : counted) impl.CountLoad(*v);
  counted.clear();
  impl.RefreshObservers();  // drops the leaving versions from the probe first
  for (VersionPtr& v : leaving) impl.Retire(std::move(v));
  CAIRN_LOG_INFO("deployment traffic changed deployment={} targets={}", deployment,
                 TrafficToJson(targets));
  return {};
}

}  // namespace cairn::serve
