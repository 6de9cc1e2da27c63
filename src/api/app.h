#pragma once
// The assembled control plane: opens the metadata store and artifact
// repository named by URIs, migrates the schema, builds the tracking service
// the registry service (whose model copies go to the artifact repository
// under the default artifact root) and the monitor service
// (docs/monitoring.md), mounts every REST route (MLflow /api/2.0/mlflow,
// /ajax-api/2.0/mlflow, including the model registry, artifact proxy
// /api/2.0/mlflow-artifacts, native /api/v1 with monitors, labels and drift,
// Prometheus /metrics, /health) on one Router, and runs the HTTP server, the
// webhook dispatcher thread (which also sends monitor alerts) and the
// monitor scheduler thread (started by Start, stopped by Stop, the scheduler
// before anything it uses goes away). Used by `cairn server` and by tests
// that need a live server on port 0.
//
// Thread safety: Start/Stop/Wait from one controlling thread (Stop may also
// be called from a signal-watching thread).

#include <chrono>
#include <memory>
#include <string>

#include "core/error.h"
#include "http/server.h"

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
};

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
