// Largest-Triangle-Three-Buckets (see lttb.h).

#include "tracking/lttb.h"

#include <algorithm>
#include <cmath>

namespace cairn::tracking {

std::vector<size_t> LttbIndices(std::span<const double> x, std::span<const double> y,
                                size_t max_points) {
  const size_t n = x.size();
  std::vector<size_t> keep;
  if (n <= max_points) {
    keep.resize(n);
    for (size_t i = 0; i < n; ++i) keep[i] = i;
    return keep;
  }
  if (max_points == 0) return keep;
  keep.reserve(max_points);
  keep.push_back(0);
  if (max_points == 1) return keep;
  if (max_points == 2) {
    keep.push_back(n - 1);
    return keep;
  }
  // Points 1 .. n-2 go into max_points - 2 buckets; bucket b is
  // [start(b), start(b + 1)) with start(b) = 1 + floor(b * (n - 2) / buckets),
  // in integers so the last bucket ends exactly at n - 1. n - 2 > buckets,
  // so no bucket is empty.
  const size_t buckets = max_points - 2;
  auto bucket_start = [&](size_t b) { return 1 + b * (n - 2) / buckets; };
  size_t a = 0;  // the point kept last
  for (size_t b = 0; b < buckets; ++b) {
    const size_t lo = bucket_start(b);
    const size_t hi = bucket_start(b + 1);
    // The third vertex: the average of the next bucket (the last point for
    // the last bucket), over its finite points.
    const size_t next_lo = hi;
    const size_t next_hi = b + 1 < buckets ? bucket_start(b + 2) : n;
    double avg_x = 0, avg_y = 0;
    size_t finite = 0;
    for (size_t i = next_lo; i < next_hi; ++i) {
      if (!std::isfinite(y[i])) continue;
      avg_x += x[i];
      avg_y += y[i];
      ++finite;
    }
    if (finite > 0) {
      avg_x /= static_cast<double>(finite);
      avg_y /= static_cast<double>(finite);
    } else {
      avg_x = x[next_lo];
      avg_y = 0;
    }
    const double ax = x[a];
    const double ay = std::isfinite(y[a]) ? y[a] : 0;
    size_t best = lo;
    double best_area = -1;
    for (size_t i = lo; i < hi; ++i) {
      if (!std::isfinite(y[i])) {
        best = i;
        break;
      }
      // Twice the triangle's area; the factor does not change the argmax.
      double area = std::abs((ax - avg_x) * (y[i] - ay) - (ax - x[i]) * (avg_y - ay));
      if (area > best_area) {
        best_area = area;
        best = i;
      }
    }
    keep.push_back(best);
    a = best;
  }
  keep.push_back(n - 1);
  return keep;
}

}  // namespace cairn::tracking
