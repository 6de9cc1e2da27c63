// `cairn server`: the control plane. Flags mirror `mlflow server` so a team
// moving from MLflow keeps its command line; each falls back to a CAIRN_*
// variable, then to the default (flag > environment > default).
//
// Signals: as every long-running command (cli/signals.h): SIGINT/SIGTERM
// blocked in every thread and received by one watcher; the first stops the
// App gracefully (in-flight requests finish), a second exits at once.

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/app.h"
#include "api/ui_handlers.h"
#include "cli/command.h"
#include "cli/signals.h"
#include "core/config.h"
#include "core/cron.h"
#include "core/log.h"

namespace cairn::cli {
namespace {

struct ServerFlags {
  std::string host;
  std::string port;
  std::string backend_store_uri;
  std::string default_artifact_root;
  std::string artifacts_destination;
  bool serve_artifacts = true;
  int workers = 0;
  int64_t max_body_mb = 0;
  std::string pipeline_root;
  std::string pipeline_timeout;
  std::string ui_dir;
  std::vector<std::string> monitor_data_roots;
};

Result<int> ParsePort(const std::string& text) {
  int port = -1;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || p != text.data() + text.size() || port < 0 || port > 65535) {
    return InvalidArgument("port '" + text + "' is not a number between 0 and 65535");
  }
  return port;
}

// The config the flags and environment describe, with the App's defaults filled in.
Result<api::AppConfig> BuildConfig(const ServerFlags& f) {
  api::AppConfig cfg;
  cfg.http.host = ResolveSetting(f.host, {"CAIRN_HOST"}, "127.0.0.1");
  CAIRN_ASSIGN_OR_RETURN(cfg.http.port, ParsePort(ResolveSetting(f.port, {"CAIRN_PORT"}, "5000")));
  cfg.backend_store_uri = ResolveSetting(f.backend_store_uri, {"CAIRN_BACKEND_STORE_URI"}, "");
  cfg.default_artifact_root =
      ResolveSetting(f.default_artifact_root, {"CAIRN_DEFAULT_ARTIFACT_ROOT"}, "");
  cfg.artifacts_destination =
      ResolveSetting(f.artifacts_destination, {"CAIRN_ARTIFACTS_DESTINATION"}, "");
  cfg.serve_artifacts = f.serve_artifacts;
  if (f.workers < 0) return InvalidArgument("--workers must be positive");
  if (f.workers > 0) cfg.http.threads = f.workers;
  if (f.max_body_mb < 0) return InvalidArgument("--max-body-mb must be positive");
  if (f.max_body_mb > 0) cfg.http.max_body_bytes = static_cast<uint64_t>(f.max_body_mb) << 20;
  cfg.pipeline_root = ResolveSetting(f.pipeline_root, {"CAIRN_PIPELINE_ROOT"}, "");
  const std::string timeout = ResolveSetting(f.pipeline_timeout, {"CAIRN_PIPELINE_TIMEOUT"}, "");
  if (!timeout.empty()) {
    auto ms = ParseDurationMs(timeout);
    if (!ms) return InvalidArgument("--pipeline-timeout: " + ms.error().message());
    cfg.pipeline_run_timeout_ms = *ms;
  }
  cfg.ui_dir = ResolveSetting(f.ui_dir, {"CAIRN_UI_DIR"}, "");
  // Repeated flags, else the variable's colon-separated list.
  cfg.monitor_data_roots = f.monitor_data_roots;
  if (cfg.monitor_data_roots.empty()) {
    if (const char* env = std::getenv("CAIRN_MONITOR_DATA_ROOT")) {
      std::string_view rest = env;
      while (!rest.empty()) {
        const size_t colon = rest.find(':');
        std::string_view item = rest.substr(0, colon);
        if (!item.empty()) cfg.monitor_data_roots.emplace_back(item);
        rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
      }
    }
  }
  for (const auto& dir : cfg.monitor_data_roots) {
    if (dir.empty()) return InvalidArgument("--monitor-data-root must not be empty");
  }
  return api::WithDefaults(std::move(cfg));
}

// "under A, B" or "none (--monitor-data-root)".
std::string MonitorRootsText(const std::vector<std::string>& roots) {
  if (roots.empty()) return "none (--monitor-data-root)";
  std::string out = "under ";
  for (size_t i = 0; i < roots.size(); ++i) out += (i == 0 ? "" : ", ") + roots[i];
  return out;
}

int RunServer(const ServerFlags& f) {
  auto cfg = BuildConfig(f);
  if (!cfg) return ReportError(cfg.error());
  InitLogging();

  // Before any thread exists, so every thread started later inherits the mask.
  const sigset_t signals = BlockTerminationSignals();

  auto app = api::App::Open(*cfg);
  if (!app) return ReportError(app.error());
  auto port = (*app)->Start();
  if (!port) return ReportError(port.error());

  const std::string& host = cfg->http.host;
  std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::cout << "cairn server listening on http://" << shown_host << ":" << *port
            << " (backend store: " << RedactUri(cfg->backend_store_uri) << "; artifacts: "
            << (cfg->serve_artifacts ? RedactUri(cfg->artifacts_destination) : "not served")
            << "; default artifact root: " << cfg->default_artifact_root << "; pipeline schedules: "
            << (cfg->pipeline_root.empty() ? std::string("off (--pipeline-root)")
                                           : "repositories under " + cfg->pipeline_root)
            << "; monitor local files: " << MonitorRootsText(api::MonitorLocalRoots(*cfg))
            << "; web UI: " << api::DescribeUiSource(cfg->ui_dir) << ")" << std::endl;

  api::App* running = app->get();
  RunUntilStopped(signals, "cairn server", "shutting down", [running] { running->Stop(); },
                  [running] { running->Wait(); });
  return kExitOk;
}

}  // namespace

void AddServerCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<ServerFlags>();
  CLI::App* cmd = app.add_subcommand("server", "Run the tracking server (web UI, MLflow REST API)");
  cmd->add_option("--host", f->host, "Address to bind ($CAIRN_HOST, default 127.0.0.1)");
  cmd->add_option("-p,--port", f->port, "Port; 0 picks a free one ($CAIRN_PORT, default 5000)")
      ->type_name("INT");
  cmd->add_option("--backend-store-uri", f->backend_store_uri,
                  "sqlite:///abs/path.db or postgresql://user@host:port/db "
                  "($CAIRN_BACKEND_STORE_URI, default ./cairn-data/cairn.db)");
  cmd->add_option("--default-artifact-root", f->default_artifact_root,
                  "Artifact root of new experiments ($CAIRN_DEFAULT_ARTIFACT_ROOT, default "
                  "mlflow-artifacts:/ when serving artifacts)");
  cmd->add_option("--artifacts-destination", f->artifacts_destination,
                  "Where the artifact proxy stores files ($CAIRN_ARTIFACTS_DESTINATION, default "
                  "./cairn-data/artifacts)");
  cmd->add_flag("--serve-artifacts,!--no-serve-artifacts", f->serve_artifacts,
                "Serve the artifact proxy /api/2.0/mlflow-artifacts (default on)");
  cmd->add_option("-w,--workers", f->workers, "HTTP worker threads");
  cmd->add_option("--max-body-mb", f->max_body_mb, "Largest JSON request body, in MiB");
  cmd->add_option("--pipeline-root", f->pipeline_root,
                  "Enable pipeline schedules for git repositories inside DIR "
                  "($CAIRN_PIPELINE_ROOT; default: schedules refused)")
      ->type_name("DIR");
  cmd->add_option("--pipeline-timeout", f->pipeline_timeout,
                  "Stop a scheduled pipeline run after this long, e.g. 2h "
                  "($CAIRN_PIPELINE_TIMEOUT; default: no limit)")
      ->type_name("DURATION");
  cmd->add_option("--monitor-data-root", f->monitor_data_roots,
                  "A local folder monitors may read references and inference logs from, besides "
                  "the local artifact folders; repeatable ($CAIRN_MONITOR_DATA_ROOT, "
                  "colon-separated; default: none)")
      ->type_name("DIR");
  cmd->add_option("--ui-dir", f->ui_dir,
                  "Serve the web UI at / from this built folder, read per request, for UI "
                  "development ($CAIRN_UI_DIR; default: the UI compiled into this binary)")
      ->type_name("DIR");
  cmd->footer(
      "Pipeline schedules (`cairn pipeline schedule add`) make this server run the commands in a "
      "repository's cairn.yaml (as `cairn repro`, with the server's user and environment). They "
      "are refused unless the server is started with --pipeline-root DIR (or "
      "CAIRN_PIPELINE_ROOT=DIR), and then only for repositories whose real path is inside DIR. "
      "Give DIR only to repositories whose cairn.yaml you trust.\n\n"
      "Monitors (`cairn monitors create`) read local files on the server: a --reference given "
      "as a path, file:// or runs:/ of a run whose artifacts are a local folder, and a local "
      "--log-uri. The server reads them only from its local artifact folders and from each "
      "--monitor-data-root DIR (real paths: links and .. resolved); anything else is refused.");
  cmd->callback([f, &action] { action = [f] { return RunServer(*f); }; });
}

}  // namespace cairn::cli
