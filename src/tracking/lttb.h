#pragma once
// Largest-Triangle-Three-Buckets downsampling (Steinarsson, "Downsampling
// Time Series for Visual Representation", 2013): picks `max_points` of a
// series so that a line chart of them looks like the chart of all of them.
// The first and last points are always kept; the others are split into
// max_points - 2 buckets of (almost) equal size and from each the point that
// makes the largest triangle with the point kept before it and the average
// of the next bucket is kept, so peaks and dips survive.
//
// Non-finite values (NaN, +-infinity) cannot span a triangle: a bucket that
// holds one keeps it (the first such), so a divergence is never hidden, and
// bucket averages use the finite points only.
//
// Pure functions; thread-safe.

#include <cstddef>
#include <span>
#include <vector>

namespace cairn::tracking {

// The indices (ascending) of the points to keep from the series (x[i],
// y[i]), x non-decreasing. Returns every index when x.size() <= max_points;
// otherwise exactly max_points indices (first and last included). max_points
// 0 keeps nothing, 1 keeps the first point, 2 the first and the last.
// Precondition: x.size() == y.size().
std::vector<size_t> LttbIndices(std::span<const double> x, std::span<const double> y,
                                size_t max_points);

}  // namespace cairn::tracking
