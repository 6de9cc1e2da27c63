#include "support/live_server.h"

#include <stdlib.h>

#include <filesystem>
#include <system_error>

namespace cairn::test {

Result<std::unique_ptr<LiveServer>> LiveServer::Start(
    const std::string& dir_prefix, const std::function<void(api::AppConfig&)>& configure) {
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / (dir_prefix + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    return Internal("cannot create a temporary folder from " + tmpl);
  }
  std::unique_ptr<LiveServer> server(new LiveServer());
  server->dir_ = tmpl;  // removed by ~LiveServer from here on
  api::AppConfig cfg;
  cfg.backend_store_uri = "sqlite://" + server->dir_ + "/cairn.db";
  cfg.artifacts_destination = "file://" + server->dir_ + "/artifacts";
  cfg.http.host = "127.0.0.1";
  cfg.http.port = 0;
  cfg.http.threads = 2;
  cfg.http.access_log = false;
  if (configure) configure(cfg);
  CAIRN_ASSIGN_OR_RETURN(server->app_, api::App::Open(std::move(cfg)));
  CAIRN_ASSIGN_OR_RETURN(server->port_, server->app_->Start());
  server->uri_ = "http://127.0.0.1:" + std::to_string(server->port_);
  return server;
}

LiveServer::~LiveServer() {
  if (app_ != nullptr && port_ != 0) {
    app_->Stop();
    app_->Wait();
  }
  app_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace cairn::test
