#pragma once
// Parsers for the two hot request bodies, runs/log-batch and
// runs/log-metric, with simdjson On-Demand (no DOM; a 1000-metric batch
// parses in tens of microseconds). Same rules and messages as
// request_fields.h: unknown fields skipped (On-Demand checks what it skips
// for structure only, not every literal), null = absent, int64 from numbers
// or decimal strings, doubles from numbers, numeric strings or
// "NaN"/"Infinity"/"-Infinity"; wrong types are kInvalidArgument naming the
// field ("metrics[3].value"); missing required fields are MLflow's
// "Missing value for required parameter 'metrics[0].timestamp'. ...";
// malformed JSON is kBadRequest.
//
// Thread-safe: each thread uses its own simdjson parser.

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "store/types.h"

namespace cairn::api {

struct LogBatchBody {
  std::string run_id;  // run_id, or its alias run_uuid
  std::vector<store::Metric> metrics;
  std::vector<store::Param> params;
  std::vector<store::Tag> tags;
};

struct LogMetricBody {
  std::string run_id;  // run_id, or its alias run_uuid
  store::Metric metric;
};

// Required: run_id; each metric's key, value, timestamp; each param's and tag's key.
Result<LogBatchBody> ParseLogBatchBody(std::string_view body);
// Required: run_id, key, value, timestamp. step defaults to 0.
Result<LogMetricBody> ParseLogMetricBody(std::string_view body);

}  // namespace cairn::api
