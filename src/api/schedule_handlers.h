#pragma once
// Cairn's pipeline-schedule REST API (docs/pipelines.md, "Schedules"). Each
// handler parses one request into one schedule::PipelineScheduleService
// call and renders its answer as JSON; the rules (validation, the pipeline
// root) are the service's.
//
//   POST   /api/v1/pipeline-schedules
//          {"name", "cron", "repo", "targets"?: [..], "jobs"?: n, "enabled"?: bool}
//                                                   -> {"schedule": S}
//   GET    /api/v1/pipeline-schedules               -> {"schedules": [S], "runs_enabled": bool}
//   GET    /api/v1/pipeline-schedules/{name}?runs=N -> {"schedule": S, "runs": [R]} (last N, 10)
//   PATCH  /api/v1/pipeline-schedules/{name}        {"cron": "..."} -> {"schedule": S}
//          (only the cron changes in place; its next tick is the new cron's
//          first time after now; any other key is a 400 saying so)
//   DELETE /api/v1/pipeline-schedules/{name}        -> {}
//   POST   /api/v1/pipeline-schedules/{name}/enable -> {"schedule": S}
//   POST   /api/v1/pipeline-schedules/{name}/disable-> {"schedule": S}
//   POST   /api/v1/pipeline-schedules/{name}/trigger-> {"run": R} (queued; a scheduler runs it)
//   GET    /api/v1/pipeline-schedules/{name}/runs?limit=N -> {"runs": [R]} newest tick first (20)
//
// S is {"id","name","cron","repo","targets","jobs","enabled","created_at",
// "updated_at","next_tick"}. R is {"id","schedule","tick","triggered_by",
// "status","owner","lease_until","created_at","started_at","finished_at",
// "exit_code" (null until the child exited),"log_tail","log_path","message"}.
// Times are milliseconds since the epoch.
//
// Errors are {"error_code", "message"} with the status of core/error.h:
// unknown schedule 404 RESOURCE_DOES_NOT_EXIST; a bad field 400
// INVALID_PARAMETER_VALUE naming it (the cron parser's message for 'cron');
// a taken name 400 RESOURCE_ALREADY_EXISTS; a server started without
// --pipeline-root 403 PERMISSION_DENIED saying how to enable schedules;
// malformed JSON 400 BAD_REQUEST; a path that names no endpoint 404
// ENDPOINT_NOT_FOUND.
//
// Thread safety: the handlers are stateless; the service is thread-safe and
// must outlive the router.

#include "http/server.h"
#include "schedule/schedule_service.h"

namespace cairn::api {

void MountPipelineScheduleRoutes(http::Router& router, schedule::PipelineScheduleService& service);

}  // namespace cairn::api
