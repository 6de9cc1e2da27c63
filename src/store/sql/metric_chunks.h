#pragma once
// Metric history as chunks: one row of `metric_chunks` holds the points one
// write logged for one series (run, key), packed into a blob. A log-batch of
// 1000 metrics over 50 keys writes 50 rows instead of 1000 (migration 7;
// docs/architecture.md, "Metric history"; bench/RESULTS.md for the figures).
//
// Blob format, version 1: one byte 0x01, then 24 bytes per point, each
// little-endian: step (int64), timestamp in ms (int64), value (IEEE double;
// NaN and +-inf stored as themselves). The points of a chunk are in the
// order they were logged; reads sort and deduplicate (see MergeHistory).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace cairn::store::sql {

struct MetricPoint {
  int64_t step = 0;
  int64_t timestamp = 0;
  double value = 0;
};

inline constexpr uint8_t kMetricChunkFormat = 1;
inline constexpr size_t kMetricPointBytes = 24;

// Starts a chunk in `out` (cleared first).
void BeginMetricChunk(std::string& out);
void AppendMetricPoint(std::string& out, const MetricPoint& p);

// Appends the points of `chunk` to `out`. kInternal for a chunk that is not
// version 1 or whose size is not a whole number of points (a damaged row).
Status DecodeMetricChunk(std::string_view chunk, std::vector<MetricPoint>& out);

// The history as reads return it: ordered by (step, timestamp, value), NaN
// counting as 0 as MLflow stores it, with identical points (a client's
// retry of the same write) kept once.
void MergeHistory(std::vector<MetricPoint>& points);

}  // namespace cairn::store::sql
