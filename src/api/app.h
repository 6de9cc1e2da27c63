#pragma once
// The assembled control plane: opens the metadata store and artifact
// repository named by URIs, migrates the schema, builds the tracking service
// the registry service (whose model copies go to the artifact repository
// under the default artifact root) and the monitor service
// (docs/monitoring.md) and the pipeline-schedule service (docs/pipelines.md),
// mounts every REST route (MLflow /api/2.0/mlflow, /ajax-api/2.0/mlflow,
// including the model registry, artifact proxy /api/2.0/mlflow-artifacts,
// native /api/v1 with monitors, labels, drift, data blobs and pipeline
// schedules, Prometheus /metrics, /health, and the web UI's files at /:
// compiled in, or from AppConfig::ui_dir) on one Router, and runs the HTTP
// server, the webhook dispatcher thread (which also sends monitor alerts),
// the monitor scheduler thread and the pipeline scheduler thread (only with
// a pipeline_root; its children get CAIRN_TRACKING_URI = this server unless
// the server's environment sets one). Threads are started by Start and
// stopped by Stop, each scheduler before anything it uses goes away (the
// pipeline scheduler stops its running children). Used by `cairn server`
// and by tests that need a live server on port 0.
//
// Thread safety: Start/Stop/Wait from one controlling thread (Stop may also
// be called from a signal-watching thread).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "http/server.h"

namespace cairn::ui_bundle {
class Bundle;
}  // namespace cairn::ui_bundle

namespace cairn::api {

struct AppConfig {
  // Metadata store. Default: sqlite:///<cwd>/cairn-data/cairn.db
  std::string backend_store_uri;
  // Where experiments' artifacts live by default. "mlflow-artifacts:/" (the
  // default when serving artifacts) makes clients go through the proxy; a
  // path or file:// URI makes clients write there directly.
  std::string default_artifact_root;
  // Where the artifact proxy stores files. Default: file://<cwd>/cairn-data/artifacts
  std::string artifacts_destination;
  bool serve_artifacts = true;
  http::ServerOptions http;
  // How often the monitor scheduler asks for due windows; 0 = no scheduler
  // thread (tests that drive monitors by hand).
  std::chrono::milliseconds monitor_tick{1000};
  // Pipeline schedules (docs/pipelines.md, "Schedules"). A schedule makes
  // the server run the commands in a repository's cairn.yaml, so they are
  // refused (403) unless this names a folder; repositories must be inside it.
  std::string pipeline_root;
  // How often the pipeline scheduler looks for due ticks and queued runs;
  // 0 = no scheduler thread. No thread either without a pipeline_root.
  std::chrono::milliseconds pipeline_tick{1000};
  // The binary a scheduled run starts as `<binary> repro ...`; "" = this
  // process's own executable. Tests put a script here.
  std::string pipeline_cairn_binary;
  // A scheduled run past this is stopped (SIGTERM, then SIGKILL); 0 = none.
  int64_t pipeline_run_timeout_ms = 0;
  // A folder holding a built web UI to serve at / instead of the one
  // compiled into the binary (docs/ui.md); read per request, for UI
  // development. Empty (the default): the compiled-in UI.
  std::string ui_dir;
  // The compiled-in UI when ui_dir is empty; null = ui_bundle::Embedded().
  // Tests set their own. Not owned; must outlive the App.
  const ui_bundle::Bundle* bundled_ui = nullptr;
  // Local folders monitors may read references and inference logs from
  // (docs/monitoring.md, "Local files"), besides the local artifact folders
  // (MonitorLocalRoots). Relative paths resolve against the current directory.
  std::vector<std::string> monitor_data_roots;
};

// The folders the monitor service reads local files from: the artifacts
// destination (when served and a local folder), the default artifact root
// (when a local folder: runs logged there directly) and each
// monitor_data_roots entry, as absolute paths, without duplicates.
std::vector<std::string> MonitorLocalRoots(const AppConfig& config);

// Fills empty fields of `config` with the defaults above (resolved against
// the current directory).
AppConfig WithDefaults(AppConfig config);

class App {
 public:
  // Opens stores, migrates, builds routes. kUnavailable when PostgreSQL cannot
  // be reached, kInvalidArgument for a bad URI; the message says which.
  static Result<std::unique_ptr<App>> Open(AppConfig config);
  virtual ~App() = default;
  // Binds and serves; returns the bound port.
  virtual Result<int> Start() = 0;
  virtual void Stop() = 0;
  virtual void Wait() = 0;
};

}  // namespace cairn::api
