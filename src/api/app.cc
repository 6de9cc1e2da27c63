// The assembled control plane (see app.h).

#include "api/app.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "api/artifact_handlers.h"
#include "api/blob_handlers.h"
#include "api/monitor_handlers.h"
#include "api/routes.h"
#include "api/schedule_handlers.h"
#include "api/serving_instances_handlers.h"
#include "api/ui_handlers.h"
#include "blob/artifact_repository.h"
#include "blob/local/local_blob_store.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/uri.h"
#include "monitor/monitor_service.h"
#include "registry/registry_service.h"
#include "registry/webhook_dispatcher.h"
#include "schedule/pipeline_scheduler.h"
#include "schedule/schedule_service.h"
#include "store/metadata_store.h"
#include "tracking/tracking_service.h"

namespace cairn::api {
namespace {

class AppImpl final : public App {
 public:
  // Members are destroyed in reverse order: the server (which calls into the
  // services) goes first, then the monitor scheduler (whose thread calls the
  // monitor service), the monitor service (store, artifacts), the registry
  // service (which notifies the dispatcher), the dispatcher (which reads the
  // store), the store last.
  std::unique_ptr<store::MetadataStore> store;
  std::unique_ptr<blob::ArtifactRepository> artifacts;
  // Data-versioning objects (`cairn data push` to this server): null when the
  // artifacts destination is not a local folder.
  std::unique_ptr<blob::BlobStore> data_objects;
  std::unique_ptr<tracking::TrackingService> service;
  std::unique_ptr<registry::WebhookDispatcher> dispatcher;
  std::unique_ptr<registry::RegistryService> registry;
  std::unique_ptr<monitor::MonitorService> monitors;
  std::unique_ptr<monitor::MonitorScheduler> scheduler;  // null: monitor_tick 0
  std::unique_ptr<schedule::PipelineScheduleService> schedules;
  // Made by Start (its children are told this server's port); null without a
  // pipeline root or with pipeline_tick 0.
  std::unique_ptr<schedule::PipelineScheduler> pipeline_scheduler;
  std::unique_ptr<http::HttpServer> server;
  AppConfig config;

  Result<int> Start() override {
    dispatcher->Start();
    Result<int> port = server->Start();
    if (!port) {
      dispatcher->Stop();
      return port;
    }
    if (scheduler) scheduler->Start();
    if (schedules->runs_enabled() && config.pipeline_tick.count() > 0) {
      if (!pipeline_scheduler) {
        schedule::PipelineSchedulerOptions o;
        o.cairn_binary = config.pipeline_cairn_binary;
        o.interval = config.pipeline_tick;
        o.run_timeout_ms = config.pipeline_run_timeout_ms;
        if (std::getenv("CAIRN_TRACKING_URI") == nullptr) {
          std::string host = config.http.host;
          if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
          if (host == "::") host = "::1";
          if (host.find(':') != std::string::npos) host = "[" + host + "]";
          o.env["CAIRN_TRACKING_URI"] = "http://" + host + ":" + std::to_string(*port);
        }
        pipeline_scheduler =
            std::make_unique<schedule::PipelineScheduler>(*schedules, SystemClock::Get(), o);
      }
      pipeline_scheduler->Start();
    }
    return port;
  }
  void Stop() override {
    server->Stop();
    if (pipeline_scheduler) pipeline_scheduler->Stop();
    if (scheduler) scheduler->Stop();
    dispatcher->Stop();
  }
  void Wait() override { server->Wait(); }
};

}  // namespace

AppConfig WithDefaults(AppConfig config) {
  std::error_code ec;
  std::filesystem::path cwd = std::filesystem::current_path(ec);
  if (ec) cwd = "/";
  std::filesystem::path data = cwd / "cairn-data";
  if (config.backend_store_uri.empty()) {
    config.backend_store_uri = "sqlite://" + (data / "cairn.db").string();
  }
  if (config.artifacts_destination.empty()) {
    config.artifacts_destination = "file://" + (data / "artifacts").string();
  }
  if (config.default_artifact_root.empty()) {
    config.default_artifact_root =
        config.serve_artifacts ? std::string("mlflow-artifacts:/") : config.artifacts_destination;
  }
  return config;
}

std::vector<std::string> MonitorLocalRoots(const AppConfig& config) {
  std::vector<std::string> roots;
  auto add = [&](const std::string& uri) {
    // mlflow-artifacts:/, s3://... are not local folders (LocalPathFromUri
    // would take a scheme without "//" for a relative path).
    const size_t colon = uri.find(':');
    const bool has_scheme =
        colon != std::string::npos && colon >= 2 &&
        std::all_of(uri.begin(), uri.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
        });
    if (uri.empty() || (has_scheme && !uri.starts_with("file:"))) return;
    auto path = LocalPathFromUri(uri);
    if (!path) return;
    while (path->size() > 1 && path->ends_with('/')) path->pop_back();  // "dir/." -> "dir"
    if (std::find(roots.begin(), roots.end(), *path) == roots.end()) roots.push_back(*path);
  };
  if (config.serve_artifacts) add(config.artifacts_destination);
  add(config.default_artifact_root);
  for (const auto& dir : config.monitor_data_roots) add(dir);
  return roots;
}

Result<std::unique_ptr<App>> App::Open(AppConfig config) {
  config = WithDefaults(std::move(config));
  auto app = std::make_unique<AppImpl>();

  CAIRN_ASSIGN_OR_RETURN(app->store, store::OpenMetadataStore(config.backend_store_uri));
  CAIRN_ASSIGN_OR_RETURN(int version, app->store->Migrate());

  if (config.serve_artifacts) {
    CAIRN_ASSIGN_OR_RETURN(app->artifacts,
                           blob::ArtifactRepository::Open(config.artifacts_destination));
    // Uploads are spooled next to the artifacts so taking them is a rename.
    std::string spool = app->artifacts->SpoolDir();
    if (spool.empty()) {
      if (auto local = LocalPathFromUri(config.artifacts_destination)) {
        spool = (std::filesystem::path(*local) / ".spool").string();
      }
    }
    if (!spool.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(spool, ec);
      if (ec) {
        return Internal("cannot create the upload spool folder " + spool + ": " + ec.message());
      }
      config.http.spool_dir = spool;
    }
  }

  app->service = std::make_unique<tracking::TrackingService>(*app->store, SystemClock::Get(),
                                                             config.default_artifact_root);
  // Webhook deliveries are sent by the dispatcher's thread (started with the
  // server); the registry wakes it after each mutation that enqueued some.
  app->dispatcher =
      std::make_unique<registry::WebhookDispatcher>(app->store->registry(), SystemClock::Get());
  registry::WebhookDispatcher* dispatcher = app->dispatcher.get();
  // The registry keeps version copies in the proxy's repository and must
  // name that repository's root: "mlflow-artifacts:/" by default. A local
  // --default-artifact-root elsewhere is a tree clients write to directly,
  // not the repository; sources there are recorded as they are, as MLflow
  // does, and copies (of proxied sources) are named by the destination.
  std::string registry_root = config.default_artifact_root;
  if (!registry_root.starts_with("mlflow-artifacts:")) {
    auto root = LocalPathFromUri(config.default_artifact_root);
    auto dest = LocalPathFromUri(config.artifacts_destination);
    if (!root || !dest || *root != *dest) registry_root = config.artifacts_destination;
  }
  app->registry = std::make_unique<registry::RegistryService>(
      *app->store, app->artifacts.get(), registry_root, SystemClock::Get(),
      [dispatcher] { dispatcher->Notify(); });
  // Monitoring: the service reads the inference log and references through
  // the artifact repository (null without --serve-artifacts: then only local
  // and file:// URIs under the roots work); the scheduler thread runs due windows. Alert
  // changes wake the dispatcher, so their webhooks go out at once.
  monitor::MonitorServiceOptions monitor_options;
  monitor_options.on_alert_changes = [dispatcher] { dispatcher->Notify(); };
  // A request may name local files as a reference or log folder: only
  // under these folders, never anything else the server's user can read.
  monitor_options.local_roots = MonitorLocalRoots(config);
  app->monitors = std::make_unique<monitor::MonitorService>(
      *app->store, app->store->monitors(), app->artifacts.get(), SystemClock::Get(),
      std::move(monitor_options));
  if (config.monitor_tick.count() > 0) {
    app->scheduler =
        std::make_unique<monitor::MonitorScheduler>(*app->monitors, config.monitor_tick);
  }
  http::Router router;
  MountHealthRoutes(router);
  MountMlflowTrackingRoutes(router, *app->service, app->artifacts.get());
  MountMlflowRegistryRoutes(router, *app->registry);
  MountNativeRoutes(router, *app->service, app->artifacts.get());
  MountNativeRegistryRoutes(router, *app->registry);
  if (app->artifacts) MountArtifactRoutes(router, *app->artifacts);
  if (auto dest = LocalPathFromUri(config.artifacts_destination)) {
    auto objects =
        blob::LocalBlobStore::OpenAt((std::filesystem::path(*dest) / "data-objects").string());
    if (!objects) return std::unexpected(objects.error());
    app->data_objects = std::move(*objects);
    MountDataBlobRoutes(router, *app->data_objects);
  }
  MountMonitorRoutes(router, *app->monitors);
  // Pipeline schedules: refused (403) without a pipeline root.
  CAIRN_ASSIGN_OR_RETURN(app->schedules, schedule::PipelineScheduleService::Open(
                                             app->store->pipeline_schedules(), SystemClock::Get(),
                                             config.pipeline_root));
  MountPipelineScheduleRoutes(router, *app->schedules);
  MountServingInstanceRoutes(router);  // where `cairn serve` runs (heartbeats)
  const ui_bundle::Bundle& ui =
      config.bundled_ui != nullptr ? *config.bundled_ui : ui_bundle::Embedded();
  MountUiRoutes(router, config.ui_dir, ui);
  CAIRN_LOG_INFO("web UI: {}", DescribeUiSource(config.ui_dir, ui));

  CAIRN_LOG_INFO(
      "cairn app ready backend={} schema_version={} default_artifact_root={} "
      "artifacts_destination={} serve_artifacts={}",
      config.backend_store_uri, version, config.default_artifact_root,
      config.serve_artifacts ? config.artifacts_destination : std::string("-"),
      config.serve_artifacts);
  if (app->schedules->runs_enabled()) {
    CAIRN_LOG_INFO("pipeline schedules enabled for repositories under {}",
                   app->schedules->pipeline_root());
  }
  app->config = config;
  app->server = std::make_unique<http::HttpServer>(config.http, std::move(router));
  return std::unique_ptr<App>(std::move(app));
}

}  // namespace cairn::api
