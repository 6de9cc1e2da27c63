#include "store/sql/metric_chunks.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <tuple>

namespace cairn::store::sql {
namespace {

static_assert(std::endian::native == std::endian::little,
              "metric chunks are stored little-endian; add byte swaps for this host");

void Put(std::string& out, const void* p) { out.append(static_cast<const char*>(p), 8); }

// MLflow's order key: NaN sorts (and compares) as value 0 with is_nan set.
auto OrderKey(const MetricPoint& p) {
  bool nan = std::isnan(p.value);
  return std::make_tuple(p.step, p.timestamp, nan ? 0.0 : p.value, nan);
}

}  // namespace

void BeginMetricChunk(std::string& out) {
  out.clear();
  out.push_back(static_cast<char>(kMetricChunkFormat));
}

void AppendMetricPoint(std::string& out, const MetricPoint& p) {
  Put(out, &p.step);
  Put(out, &p.timestamp);
  Put(out, &p.value);
}

Status DecodeMetricChunk(std::string_view chunk, std::vector<MetricPoint>& out) {
  if (chunk.empty() || static_cast<uint8_t>(chunk[0]) != kMetricChunkFormat ||
      (chunk.size() - 1) % kMetricPointBytes != 0) {
    return Internal("metric history chunk of " + std::to_string(chunk.size()) +
                    " bytes is damaged or of an unknown format");
  }
  const char* p = chunk.data() + 1;
  size_t n = (chunk.size() - 1) / kMetricPointBytes;
  // No reserve(size + n) here: called once per chunk, it would reallocate
  // for every chunk and make a read of many small chunks quadratic.
  for (size_t i = 0; i < n; ++i, p += kMetricPointBytes) {
    MetricPoint m;
    std::memcpy(&m.step, p, 8);
    std::memcpy(&m.timestamp, p + 8, 8);
    std::memcpy(&m.value, p + 16, 8);
    out.push_back(m);
  }
  return {};
}

void MergeHistory(std::vector<MetricPoint>& points) {
  auto less = [](const MetricPoint& a, const MetricPoint& b) { return OrderKey(a) < OrderKey(b); };
  if (!std::is_sorted(points.begin(), points.end(), less)) {
    std::stable_sort(points.begin(), points.end(), less);
  }
  auto same = [](const MetricPoint& a, const MetricPoint& b) { return OrderKey(a) == OrderKey(b); };
  points.erase(std::unique(points.begin(), points.end(), same), points.end());
}

}  // namespace cairn::store::sql
