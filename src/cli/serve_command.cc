// `cairn serve`: the data plane (docs/serving.md). Builds a ServeConfig from
// the flags (flag > CAIRN_* environment > default), opens the ServeApp
// (which loads every deployment before listening), prints one line when
// listening, and runs until SIGINT/SIGTERM.
//
// Deployments: `--model URI` (repeatable) with --name, --traffic, --shadow,
// --sticky-header and the batching flags make one deployment; or
// --deployment-file declares several (its own batching settings win; the
// two forms are exclusive).
//
// Signals: as `cairn server`: SIGINT and SIGTERM are blocked in every thread
// (the mask is set before any thread starts) and received by one watcher
// thread with sigtimedwait; the first drains (stop accepting, answer what is
// in flight, stop the batchers, flush the inference log), a second exits now.

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "cli/command.h"
#include "cli/signals.h"
#include "core/config.h"
#include "core/cron.h"
#include "core/log.h"
#include "serve/deployment.h"
#include "serve/model_manager.h"
#include "serve/serve_app.h"

namespace cairn::cli {
namespace {

struct ServeFlags {
  std::vector<std::string> models;
  std::string name;
  std::string traffic;
  std::vector<std::string> shadows;
  std::string sticky_header;
  std::string deployment_file;
  std::string host;
  std::string port;
  std::string tracking_uri;
  std::string cache_dir;
  std::string runtime = "auto";
  std::string python;
  int64_t max_batch_size = 32;
  int64_t max_queue_delay_us = 0;
  std::string batch_policy = "greedy";
  std::string xgboost_native_trees = "on";
  std::string io_model = "per-thread";
  int instances = 2;
  int64_t max_queue = 1024;
  int64_t timeout_ms = 30000;
  int64_t poll_interval_ms = 5000;
  std::string inference_log;
  std::string inference_log_uri;
  double log_sample_rate = 1.0;
  int64_t log_buffer = 10000;
  int64_t log_segment_records = 10000;
  std::string log_segment_age = "10s";
  int workers = 0;
  int64_t max_body_mb = 0;
  std::string user;
  bool access_log = false;  // a data plane at 40k req/s: metrics, not log lines
  std::string heartbeat_interval = "5s";
  std::string advertise_url;
};

// --heartbeat-interval: a duration ("500ms", "5s", "1m"), 100 ms .. 1 h; "0" or "off" turns
// heartbeats off.
Result<std::chrono::milliseconds> ParseHeartbeatInterval(const std::string& text) {
  if (text == "0" || text == "off") return std::chrono::milliseconds(0);
  auto ms = ParseDurationMs(text);
  if (!ms) return InvalidArgument("--heartbeat-interval: " + ms.error().message());
  if (*ms < 100 || *ms > 3600 * 1000) {
    return InvalidArgument("--heartbeat-interval '" + text +
                           "' must be between 100ms and 1h (e.g. 5s), or 0 to turn heartbeats off");
  }
  return std::chrono::milliseconds(*ms);
}

Result<int> ParsePort(const std::string& text) {
  int port = -1;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || p != text.data() + text.size() || port < 0 || port > 65535) {
    return InvalidArgument("port '" + text + "' is not a number between 0 and 65535");
  }
  return port;
}

Result<std::vector<int64_t>> ParseTraffic(const std::string& text) {
  std::vector<int64_t> weights;
  if (text.empty()) return weights;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    int64_t w = -1;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), w);
    if (item.empty() || ec != std::errc() || p != item.data() + item.size() || w < 0) {
      return InvalidArgument("--traffic '" + text +
                             "': expected non-negative integer weights separated by commas");
    }
    weights.push_back(w);
  }
  return weights;
}

// --log-segment-age: a duration as core/cron.h reads them ("500ms", "10s",
// "1m30s"), positive and at most a day (a segment open longer than that holds
// records a monitor would have to wait a day for).
Result<std::chrono::milliseconds> ParseSegmentAge(const std::string& text) {
  auto ms = ParseDurationMs(text);
  if (!ms) return InvalidArgument("--log-segment-age: " + ms.error().message());
  constexpr int64_t kMaxMs = 24LL * 3600 * 1000;
  if (*ms <= 0 || *ms > kMaxMs) {
    return InvalidArgument("--log-segment-age '" + text +
                           "' must be more than 0 and at most 24h (e.g. 500ms, 10s, 1m)");
  }
  return std::chrono::milliseconds(*ms);
}

std::string DefaultCacheDir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && *xdg != '\0') return std::string(xdg) + "/cairn/models";
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') return std::string(home) + "/.cache/cairn/models";
  return "/tmp/cairn-models";
}

Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read the deployment file " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Result<serve::ServeConfig> BuildConfig(const ServeFlags& f) {
  serve::ServeConfig cfg;
  cfg.version = CAIRN_VERSION;
  cfg.http.host = ResolveSetting(f.host, {"CAIRN_SERVE_HOST"}, "127.0.0.1");
  CAIRN_ASSIGN_OR_RETURN(cfg.http.port,
                         ParsePort(ResolveSetting(f.port, {"CAIRN_SERVE_PORT"}, "8080")));
  if (f.workers < 0) return InvalidArgument("--workers must be positive");
  // One io thread per core: native models run on them (run_on_caller), and
  // more threads than cores only adds context switches (4 threads on 2
  // cores measured 12 % fewer requests/s than 2).
  cfg.http.threads =
      f.workers > 0 ? f.workers : std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  if (f.max_body_mb < 0) return InvalidArgument("--max-body-mb must be positive");
  if (f.max_body_mb > 0) cfg.http.max_body_bytes = static_cast<uint64_t>(f.max_body_mb) << 20;
  cfg.http.access_log = f.access_log;
  // cairn serve's handlers never block (models run in microseconds on the io
  // thread or on batcher workers), so connections may be pinned to one io
  // thread each (http::ServerOptions::io_context_per_thread).
  cfg.http.io_context_per_thread = f.io_model == "per-thread";

  if (f.runtime != "auto" && f.runtime != "python") {
    return InvalidArgument("--runtime must be auto or python, not '" + f.runtime + "'");
  }
  serve::BatchingSpec batching;
  batching.max_batch_size = f.max_batch_size;
  batching.max_queue_delay_us = f.max_queue_delay_us;
  batching.policy = f.batch_policy;
  batching.instances = f.instances;
  batching.max_queue = f.max_queue;
  batching.timeout_ms = f.timeout_ms;

  if (!f.deployment_file.empty()) {
    if (!f.models.empty() || !f.shadows.empty() || !f.traffic.empty() || !f.name.empty()) {
      return InvalidArgument(
          "--deployment-file declares the deployments: do not combine it with --model, --name, "
          "--traffic or --shadow");
    }
    CAIRN_ASSIGN_OR_RETURN(std::string text, ReadTextFile(f.deployment_file));
    CAIRN_ASSIGN_OR_RETURN(cfg.deployments, serve::ParseDeploymentFile(text, f.deployment_file));
  } else {
    if (f.models.empty()) {
      return InvalidArgument("nothing to serve: give --model URI (or --deployment-file FILE)");
    }
    CAIRN_ASSIGN_OR_RETURN(std::vector<int64_t> weights, ParseTraffic(f.traffic));
    CAIRN_ASSIGN_OR_RETURN(serve::DeploymentSpec spec,
                           serve::DeploymentFromFlags(f.name, f.models, weights, f.shadows,
                                                      f.sticky_header, batching, f.runtime));
    cfg.deployments.push_back(std::move(spec));
  }

  cfg.source.tracking_uri = ResolveTrackingUri(f.tracking_uri.empty()
                                                   ? std::nullopt
                                                   : std::optional<std::string>(f.tracking_uri));
  cfg.source.cache_dir =
      ResolveSetting(f.cache_dir.empty() ? std::nullopt : std::optional(f.cache_dir),
                     {"CAIRN_MODEL_CACHE"}, DefaultCacheDir());
  cfg.source.user = ResolveSetting(f.user.empty() ? std::nullopt : std::optional(f.user),
                                   {"CAIRN_USER"}, "");
  if (f.poll_interval_ms < 0) return InvalidArgument("--poll-interval-ms must not be negative");
  cfg.manager.poll_interval = std::chrono::milliseconds(f.poll_interval_ms);
  cfg.manager.runtime.runtime = f.runtime;
  cfg.manager.runtime.xgboost_native_trees = f.xgboost_native_trees != "off";
  cfg.manager.runtime.python =
      ResolveSetting(f.python.empty() ? std::nullopt : std::optional(f.python), {"CAIRN_PYTHON"},
                     "python3");

  CAIRN_ASSIGN_OR_RETURN(cfg.heartbeat.interval, ParseHeartbeatInterval(f.heartbeat_interval));
  if (!f.advertise_url.empty() && f.advertise_url.rfind("http://", 0) != 0 &&
      f.advertise_url.rfind("https://", 0) != 0) {
    return InvalidArgument("--advertise-url '" + f.advertise_url +
                           "' must start with http:// or https://");
  }
  cfg.heartbeat.advertise_url = f.advertise_url;

  // Checked even when the log is off, so a typo is not silently ignored.
  CAIRN_ASSIGN_OR_RETURN(const std::chrono::milliseconds segment_age,
                         ParseSegmentAge(f.log_segment_age));
  if (!f.inference_log.empty() || !f.inference_log_uri.empty()) {
    if (f.log_sample_rate < 0 || f.log_sample_rate > 1) {
      return InvalidArgument("--log-sample-rate must be between 0 and 1");
    }
    if (f.log_buffer < 1 || f.log_segment_records < 1) {
      return InvalidArgument("--log-buffer and --log-segment-records must be at least 1");
    }
    serving::InferenceLogOptions log;
    log.root = f.inference_log;
    log.sample_rate = f.log_sample_rate;
    log.buffer_records = static_cast<size_t>(f.log_buffer);
    log.segment_records = static_cast<size_t>(f.log_segment_records);
    log.segment_age = segment_age;
    cfg.inference_log = std::move(log);
    cfg.inference_log_uri = f.inference_log_uri;
  }
  return cfg;
}

// "fraud -> models:/fraud@champion v3; iris -> ./iris v1 (50), ./iris2 v1 (50), shadow ./x v1"
std::string DescribeDeployments(const std::vector<serve::DeploymentStatus>& deployments) {
  std::string out;
  for (const serve::DeploymentStatus& d : deployments) {
    if (!out.empty()) out += "; ";
    out += d.name + " -> ";
    size_t live = 0;
    for (const serve::TargetStatus& t : d.targets) live += t.spec.shadow ? 0 : 1;
    bool first = true;
    for (const serve::TargetStatus& t : d.targets) {
      if (!first) out += ", ";
      first = false;
      if (t.spec.shadow) out += "shadow ";
      out += t.spec.model_uri;
      out += t.version.empty() ? " (not loaded)" : " v" + t.version;
      if (!t.spec.shadow && live > 1) out += " (" + std::to_string(t.spec.weight) + ")";
    }
  }
  return out;
}

int RunServe(const ServeFlags& f) {
  auto cfg = BuildConfig(f);
  if (!cfg) return ReportError(cfg.error());
  InitLogging();

  // Before any thread exists, so every thread started later inherits the mask.
  const sigset_t signals = BlockTerminationSignals();

  const std::string host = cfg->http.host;
  auto app = serve::ServeApp::Open(std::move(*cfg));
  if (!app) return ReportError(app.error());
  auto port = (*app)->Start();
  if (!port) return ReportError(port.error());

  std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::cout << "cairn serve: listening on http://" << shown_host << ":" << *port
            << " (deployments: " << DescribeDeployments((*app)->manager().Status()) << ")"
            << std::endl;

  serve::ServeApp* running = app->get();
  RunUntilStopped(signals, "cairn serve", "draining", [running] { running->Stop(); },
                  [running] { running->Wait(); });
  return kExitOk;
}

}  // namespace

void AddServeCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Serve models: OIP v2, MLflow /invocations, /metrics (docs/serving.md)");
  cmd->add_option("-m,--model", f->models,
                  "Model to serve: models:/name@alias, models:/name/N or a local folder "
                  "(repeatable: several live targets of one deployment)");
  cmd->add_option("--name", f->name, "Deployment name (default: the first model's name)");
  cmd->add_option("--traffic", f->traffic,
                  "Weights of the --model targets, comma separated (e.g. 95,5; default equal)");
  cmd->add_option("--shadow", f->shadows,
                  "Shadow model: gets a copy of live requests, its answers are only logged "
                  "(repeatable)");
  cmd->add_option("--sticky-header", f->sticky_header,
                  "Requests with the same value of this header go to the same target");
  cmd->add_option("--deployment-file", f->deployment_file,
                  "YAML file declaring the deployments (instead of --model)");
  cmd->add_option("--host", f->host, "Address to bind ($CAIRN_SERVE_HOST, default 127.0.0.1)");
  cmd->add_option("-p,--port", f->port, "Port; 0 picks a free one ($CAIRN_SERVE_PORT, default 8080)")
      ->type_name("INT");
  cmd->add_option("--tracking-uri", f->tracking_uri,
                  "Registry for models:/ URIs ($CAIRN_TRACKING_URI, $MLFLOW_TRACKING_URI, default "
                  "http://127.0.0.1:5000)");
  cmd->add_option("--cache-dir", f->cache_dir,
                  "Where registry models are downloaded ($CAIRN_MODEL_CACHE, default "
                  "$XDG_CACHE_HOME/cairn/models or ~/.cache/cairn/models)");
  cmd->add_option("--runtime", f->runtime,
                  "auto (native XGBoost when the model has the flavor) or python")
      ->check(CLI::IsMember({"auto", "python"}));
  cmd->add_option("--python", f->python,
                  "Python interpreter for python_function models ($CAIRN_PYTHON, default python3)");
  cmd->add_option("--max-batch-size", f->max_batch_size, "Rows per batch (default 32)");
  cmd->add_option("--batch-policy", f->batch_policy,
                  "greedy (default: a free instance runs what is queued at once; batches form "
                  "while every instance is busy) or wait (a free instance waits up to "
                  "--max-queue-delay-us for a full batch)")
      ->check(CLI::IsMember({"greedy", "wait"}));
  cmd->add_option("--max-queue-delay-us", f->max_queue_delay_us,
                  "With --batch-policy wait: how long a request may wait for a fuller batch, "
                  "in µs (default 0)");
  cmd->add_option("--io-model", f->io_model,
                  "per-thread (default: each connection pinned to one io thread, as nginx's "
                  "workers) or shared (every io thread serves every connection)")
      ->check(CLI::IsMember({"shared", "per-thread"}));
  cmd->add_option("--xgboost-native-trees", f->xgboost_native_trees,
                  "on (default): XGBoost models predict with Cairn's tree walker when they "
                  "allow it; off: always through XGBoost's C API")
      ->check(CLI::IsMember({"on", "off"}));
  cmd->add_option("--instances", f->instances,
                  "Model instances per version: XGBoost threads or Python workers (default 2)");
  cmd->add_option("--max-queue", f->max_queue,
                  "Requests waiting per version before 429 (default 1024)");
  cmd->add_option("--timeout-ms", f->timeout_ms, "Request deadline in ms (default 30000)");
  cmd->add_option("--poll-interval-ms", f->poll_interval_ms,
                  "How often aliases are re-resolved, in ms; 0 never (default 5000)");
  cmd->add_option("--inference-log", f->inference_log,
                  "Folder for the inference log (JSON-lines segments; off by default)");
  cmd->add_option("--inference-log-uri", f->inference_log_uri,
                  "Where closed log segments go: mlflow-artifacts:/PATH uploads them through "
                  "the tracking server (local copies deleted), file://DIR or DIR is the log "
                  "folder (turns the log on; staged under --cache-dir without --inference-log)");
  cmd->add_option("--log-sample-rate", f->log_sample_rate,
                  "Fraction of requests logged, 0..1 (default 1)");
  cmd->add_option("--log-buffer", f->log_buffer,
                  "Records waiting for the log writer before drops (default 10000)");
  cmd->add_option("--log-segment-records", f->log_segment_records,
                  "Records per log segment (default 10000)");
  cmd->add_option("--log-segment-age", f->log_segment_age,
                  "Close a log segment this long after its first record, e.g. 500ms, 10s, 1m "
                  "(default 10s)")
      ->type_name("DURATION");
  cmd->add_option("-w,--workers", f->workers, "HTTP io threads (default: one per core, at least 2)");
  cmd->add_option("--max-body-mb", f->max_body_mb, "Largest request body, in MiB (default 64)");
  cmd->add_option("--heartbeat-interval", f->heartbeat_interval,
                  "How often to tell the --tracking-uri server where this process runs and what "
                  "it serves (e.g. 5s; 0 = never; default 5s)");
  cmd->add_option("--advertise-url", f->advertise_url,
                  "The URL others reach this server at, sent in heartbeats (default "
                  "http://<host>:<port>)");
  cmd->add_option("--user", f->user, "Who is acting, sent to the registry ($CAIRN_USER)");
  cmd->add_flag("--access-log,!--no-access-log", f->access_log,
                "Log one line per HTTP request (default off: /metrics counts them)");
  cmd->callback([f, &action] {
    // What to serve is part of the command line: its absence (or both forms
    // at once) is a usage error (exit 2), as a missing required flag is.
    if (f->models.empty() && f->deployment_file.empty()) {
      throw CLI::ValidationError("nothing to serve: give --model URI (or --deployment-file FILE)");
    }
    if (!f->deployment_file.empty() &&
        (!f->models.empty() || !f->shadows.empty() || !f->traffic.empty() || !f->name.empty())) {
      throw CLI::ValidationError(
          "--deployment-file declares the deployments: do not combine it with --model, --name, "
          "--traffic or --shadow");
    }
    action = [f] { return RunServe(*f); };
  });
}

}  // namespace cairn::cli
