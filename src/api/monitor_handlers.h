#pragma once
// Cairn's monitoring REST API (docs/monitoring.md, "API") and the server's
// Prometheus /metrics. Each handler parses one request into one
// monitor::MonitorService call and renders its answer as JSON; it holds no
// business rule (validation of specs, rules, references and labels is the
// service's, so the CLI and the API give the same errors).
//
//   POST   /api/v1/monitors                 the spec           -> {"monitor": M}
//   GET    /api/v1/monitors                                    -> {"monitors": [M]}
//   GET    /api/v1/monitors/{name}
//                                           -> {"monitor": M, "last_window": W|null,
//                                               "open_alerts": [A]}
//   DELETE /api/v1/monitors/{name}                             -> {}
//   POST   /api/v1/monitors/{name}/run      {"current_csv": "..."} optional
//                                           -> {"window": W, "alert_changes": [C]}
//   GET    /api/v1/monitors/{name}/windows?from=&to=&limit=     -> {"windows": [W]} newest first
//   GET    /api/v1/monitors/{name}/results?feature=&statistic=&from=&to=
//                                           -> {"results": [R]}
//   GET    /api/v1/monitors/{name}/alerts?status=&limit=        -> {"alerts": [A]} newest first
//   POST   /api/v1/labels/{model}           {"labels": [{"request_id","row","label"}]}
//                                           or CSV text (request_id,label[,row])
//                                           -> {"logged": n, "unknown_request_ids": k}
//   POST   /api/v1/drift                    {"reference_csv","current_csv","columns"?,
//                                            "tests"?,"thresholds"?,"drift_share"?}
//                                           -> {"drift": <DriftReportToJson>,
//                                               "quality": <QualityReportToJson>}
//   GET    /metrics                         Prometheus text format 0.0.4
//
// Shapes: M is the spec (MonitorSpecToJson, without alert_secret) plus the
// store's "id", "webhook_id", "active", "created_at", "updated_at",
// "last_fired_at". W is {"id","start","end","manual","status","rows",
// "error","claimed_at","finished_at","perf_dirty","report"} with "report"
// the window's report JSON object (null while running). R is
// {"window_id","window_start","window_end","feature","statistic","value"} (NaN as
// null). A is {"id","rule","feature","statistic","status","value",
// "fired_at","fired_window_start","resolved_at","resolved_window_start"}.
// C is {"kind": "fire"|"resolve","alert_id","rule","feature","statistic","value"}.
// Times are milliseconds since the epoch; window bounds are [start, end).
//
// Labels: a body is CSV when its Content-Type is text/csv, or when it is not
// a JSON object (the C++ client sends the CSV text as it is); else JSON. A
// label given as a JSON number is kept as its text ("1").
//
// /metrics renders, at scrape time and from the store (so every replica
// answers the same), the gauges cairn_monitor_drift_score and
// cairn_monitor_drifted {monitor, feature}, cairn_monitor_drift_share
// {monitor}, cairn_monitor_performance {monitor, metric},
// cairn_monitor_alerts_firing {monitor}, cairn_monitor_last_window_end_seconds
// {monitor}, each from the monitor's latest done window (alerts: every
// monitor, 0 when none fire).
//
// Errors are {"error_code", "message"} with the status of core/error.h:
// unknown monitor 404 RESOURCE_DOES_NOT_EXIST, a bad spec or query 400
// INVALID_PARAMETER_VALUE naming the field, a duplicate name 400
// RESOURCE_ALREADY_EXISTS, malformed JSON 400 BAD_REQUEST, a path that names
// no endpoint 404 ENDPOINT_NOT_FOUND.
//
// Thread safety: the handlers are stateless; the service is thread-safe and
// must outlive the router.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "http/server.h"
#include "monitor/monitor_service.h"
#include "store/monitor_store.h"

namespace cairn::api {

// Mounts every route above on `router`.
void MountMonitorRoutes(http::Router& router, monitor::MonitorService& service);

// The /metrics body for the latest results of each monitor and the number
// of firing alerts per monitor (every monitor should be listed in
// `firing`, with 0 when none fire). Pure; exposed for tests.
std::string RenderMonitorMetrics(
    const std::vector<std::pair<store::Monitor, std::vector<store::MonitorResult>>>& latest,
    const std::vector<std::pair<std::string, int64_t>>& firing);

}  // namespace cairn::api
