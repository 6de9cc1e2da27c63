#pragma once
// A live Cairn server for tests: a fresh temporary folder holding a SQLite
// metadata store (cairn.db) and a local artifact root (artifacts/), and an
// api::App serving them on 127.0.0.1 at a port the kernel picks (port 0).
//
// LiveServer::Start returns the running server or the Error of App::Open /
// App::Start (the temporary folder is removed again on failure). The
// destructor stops the App, waits for its threads and removes the folder.
// Ownership: the LiveServer owns the App and the folder. Thread safety: as
// api::App: start and destroy from one thread; uri()/dir() are const reads.

#include <functional>
#include <memory>
#include <string>

#include "api/app.h"
#include "core/error.h"

namespace cairn::test {

class LiveServer {
 public:
  // `dir_prefix`: the start of the temporary folder's name (under the system
  // temp dir). `configure`, when set, is called with the config (the store
  // and artifacts in the folder, port 0, 2 threads, no access log) before
  // App::Open, to change or add settings.
  static Result<std::unique_ptr<LiveServer>> Start(
      const std::string& dir_prefix = "cairn-test",
      const std::function<void(api::AppConfig&)>& configure = {});
  ~LiveServer();
  LiveServer(const LiveServer&) = delete;
  LiveServer& operator=(const LiveServer&) = delete;

  // "http://127.0.0.1:<port>".
  const std::string& uri() const { return uri_; }
  int port() const { return port_; }
  // The temporary folder (no trailing slash); tests may put files in it.
  const std::string& dir() const { return dir_; }
  api::App& app() { return *app_; }

 private:
  LiveServer() = default;

  std::string dir_;
  std::unique_ptr<api::App> app_;
  int port_ = 0;
  std::string uri_;
};

}  // namespace cairn::test
