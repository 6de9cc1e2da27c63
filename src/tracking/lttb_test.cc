#include "tracking/lttb.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace cairn::tracking {
namespace {

struct Series {
  std::vector<double> x, y;
};

Series Line(size_t n, double (*f)(size_t)) {
  Series s;
  for (size_t i = 0; i < n; ++i) {
    s.x.push_back(static_cast<double>(i));
    s.y.push_back(f(i));
  }
  return s;
}

TEST(LttbTest, KeepsEveryPointAtOrBelowMaxPoints) {
  Series s = Line(10, [](size_t i) { return static_cast<double>(i * i); });
  EXPECT_EQ(LttbIndices(s.x, s.y, 10), (std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(LttbIndices(s.x, s.y, 1000).size(), 10u);
  EXPECT_TRUE(LttbIndices({}, {}, 5).empty());
}

TEST(LttbTest, ExactCountFirstAndLastAscending) {
  Series s = Line(100000, [](size_t i) { return std::sin(static_cast<double>(i) / 300.0); });
  for (size_t m : {3u, 4u, 7u, 100u, 1000u, 9999u}) {
    std::vector<size_t> keep = LttbIndices(s.x, s.y, m);
    ASSERT_EQ(keep.size(), m) << m;
    EXPECT_EQ(keep.front(), 0u);
    EXPECT_EQ(keep.back(), 99999u);
    EXPECT_TRUE(std::is_sorted(keep.begin(), keep.end()));
    EXPECT_EQ(std::adjacent_find(keep.begin(), keep.end()), keep.end()) << "duplicates at " << m;
  }
}

TEST(LttbTest, SmallMaxPoints) {
  Series s = Line(50, [](size_t i) { return static_cast<double>(i % 7); });
  EXPECT_TRUE(LttbIndices(s.x, s.y, 0).empty());
  EXPECT_EQ(LttbIndices(s.x, s.y, 1), (std::vector<size_t>{0}));
  EXPECT_EQ(LttbIndices(s.x, s.y, 2), (std::vector<size_t>{0, 49}));
  // One point more than max_points: every bucket holds one or two points.
  EXPECT_EQ(LttbIndices(s.x, s.y, 49).size(), 49u);
}

TEST(LttbTest, KeepsPeaksAndDips) {
  // A flat, slightly noisy loss curve with one spike up and one dip.
  Series s = Line(10000, [](size_t i) { return 1.0 + 0.001 * static_cast<double>(i % 3); });
  s.y[4321] = 50.0;
  s.y[8765] = -20.0;
  std::vector<size_t> keep = LttbIndices(s.x, s.y, 100);
  ASSERT_EQ(keep.size(), 100u);
  EXPECT_NE(std::find(keep.begin(), keep.end(), 4321u), keep.end());
  EXPECT_NE(std::find(keep.begin(), keep.end(), 8765u), keep.end());
}

TEST(LttbTest, PicksTheLargestTriangleInABucket) {
  // 5 points, 3 kept: one bucket {1, 2, 3} between 0 and 4. The middle
  // point of (0,0) (x,y) (4,0) with the largest |y| wins.
  std::vector<double> x{0, 1, 2, 3, 4};
  std::vector<double> y{0, 1, -3, 2, 0};
  EXPECT_EQ(LttbIndices(x, y, 3), (std::vector<size_t>{0, 2, 4}));
}

TEST(LttbTest, NonFiniteValuesAreKeptNotHidden) {
  Series s = Line(1000, [](size_t i) { return static_cast<double>(i); });
  s.y[500] = std::numeric_limits<double>::quiet_NaN();
  s.y[700] = std::numeric_limits<double>::infinity();
  std::vector<size_t> keep = LttbIndices(s.x, s.y, 20);
  ASSERT_EQ(keep.size(), 20u);
  EXPECT_NE(std::find(keep.begin(), keep.end(), 500u), keep.end());
  EXPECT_NE(std::find(keep.begin(), keep.end(), 700u), keep.end());
  EXPECT_EQ(keep.back(), 999u);
}

}  // namespace
}  // namespace cairn::tracking
