#pragma once
// ScheduleClient: Cairn's C++ SDK for pipeline schedules (docs/pipelines.md,
// "Schedules") over the native /api/v1/pipeline-schedules of a `cairn
// server` (shapes in api/schedule_handlers.h).
//
//   CAIRN_ASSIGN_OR_RETURN(auto sc, ScheduleClient::Create("http://127.0.0.1:5000"));
//   CAIRN_ASSIGN_OR_RETURN(nlohmann::json s, sc.Add({.name = "nightly", .cron = "0 3 * * *",
//                                                    .repo = "/srv/pipelines/fraud"}));
//   CAIRN_ASSIGN_OR_RETURN(nlohmann::json run, sc.Trigger("nightly"));
//
// Answers are the server's JSON objects: a schedule S, a run R (see
// api/schedule_handlers.h).
//
// Errors: a server error {"error_code", "message"} is a cairn::Error with
// ErrorCodeFromMlflow(error_code) and the server's message verbatim
// (unknown schedule -> kNotFound "Pipeline schedule 'x' not found"; a
// server without --pipeline-root -> kPermissionDenied); an unreachable
// server kUnavailable; a timeout kDeadlineExceeded; an answer that is not
// the documented shape kInternal "unexpected response from the server: ...".
//
// Thread safety: safe to share between threads (immutable after Create();
// each call borrows a curl handle from the transport's pool). Movable, not
// copyable.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "client/tracking_client.h"
#include "core/error.h"

namespace cairn::client {

struct ScheduleSpec {
  std::string name;
  std::string cron;                    // "0 * * * *", "@hourly", "@every 10m"
  std::string repo;                    // an absolute path on the server
  std::vector<std::string> targets{};  // steps; empty: the whole pipeline
  int jobs = 0;                        // 0: repro's default
  bool enabled = true;
};

// What List() returns.
struct ScheduleList {
  nlohmann::json schedules;   // [S], by name
  bool runs_enabled = false;  // false: the server runs no schedule (no --pipeline-root)
};

class ScheduleClient {
 public:
  // `tracking_uri` is http(s)://host[:port][/prefix]; kInvalidArgument for
  // anything else. Does not contact the server.
  static Result<ScheduleClient> Create(const std::string& tracking_uri, ClientOptions options = {});

  ScheduleClient(ScheduleClient&&) noexcept;
  ScheduleClient& operator=(ScheduleClient&&) noexcept;
  ~ScheduleClient();

  // The stored schedule S.
  Result<nlohmann::json> Add(const ScheduleSpec& spec);
  Result<ScheduleList> List();
  // {"schedule": S, "runs": [R]} with the last `runs` runs (0: the server's default, 10).
  Result<nlohmann::json> Get(const std::string& name, int runs = 0);
  // [R], newest tick first; `limit` 0: the server's default (20).
  Result<nlohmann::json> Runs(const std::string& name, int limit = 0);
  Status Delete(const std::string& name);
  // The schedule S after the change.
  Result<nlohmann::json> SetEnabled(const std::string& name, bool enabled);
  // Replaces the cron (PATCH {"cron": ...}); the schedule S after the change.
  Result<nlohmann::json> UpdateCron(const std::string& name, const std::string& cron);
  // The queued run R (a scheduler of the server starts it within a tick).
  Result<nlohmann::json> Trigger(const std::string& name);

 private:
  struct Impl;
  explicit ScheduleClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::client
