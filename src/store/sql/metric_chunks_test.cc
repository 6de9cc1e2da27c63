#include "store/sql/metric_chunks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace cairn::store::sql {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string Chunk(const std::vector<MetricPoint>& points) {
  std::string c;
  BeginMetricChunk(c);
  for (const MetricPoint& p : points) AppendMetricPoint(c, p);
  return c;
}

TEST(MetricChunksTest, RoundTripsEveryValueIncludingNanAndInfinities) {
  std::vector<MetricPoint> in = {{0, 1000, 0.5},
                                 {-3, -7, kNaN},
                                 {std::numeric_limits<int64_t>::max(), 0, kInf},
                                 {std::numeric_limits<int64_t>::min(), 1, -kInf},
                                 {5, 2, -0.0}};
  std::string c = Chunk(in);
  ASSERT_EQ(c.size(), 1 + 5 * kMetricPointBytes);
  EXPECT_EQ(static_cast<uint8_t>(c[0]), kMetricChunkFormat);
  std::vector<MetricPoint> out = {{9, 9, 9}};  // decoding appends
  ASSERT_TRUE(DecodeMetricChunk(c, out).has_value());
  ASSERT_EQ(out.size(), 6u);
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i + 1].step, in[i].step) << i;
    EXPECT_EQ(out[i + 1].timestamp, in[i].timestamp) << i;
    if (std::isnan(in[i].value)) {
      EXPECT_TRUE(std::isnan(out[i + 1].value)) << i;
    } else {
      EXPECT_EQ(out[i + 1].value, in[i].value) << i;
      EXPECT_EQ(std::signbit(out[i + 1].value), std::signbit(in[i].value)) << i;
    }
  }
}

TEST(MetricChunksTest, LittleEndianLayoutIsTheFormat) {
  std::string c = Chunk({{1, 2, 1.0}});
  // step 1, timestamp 2, then 1.0 = 0x3FF0000000000000 little-endian.
  EXPECT_EQ(c.substr(1, 8), std::string("\x01\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(c.substr(9, 8), std::string("\x02\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(c.substr(17, 8), std::string("\0\0\0\0\0\0\xf0\x3f", 8));
}

TEST(MetricChunksTest, DamagedOrUnknownChunksAreErrorsNotGarbage) {
  std::vector<MetricPoint> out;
  std::string c = Chunk({{1, 2, 3.0}});
  EXPECT_FALSE(DecodeMetricChunk("", out).has_value());
  EXPECT_FALSE(DecodeMetricChunk(c.substr(0, c.size() - 1), out).has_value());
  std::string v2 = c;
  v2[0] = 2;
  auto r = DecodeMetricChunk(v2, out);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("unknown format"), std::string::npos);
  EXPECT_TRUE(out.empty());
  std::string empty = Chunk({});
  EXPECT_TRUE(DecodeMetricChunk(empty, out).has_value());  // a chunk of no points is valid
  EXPECT_TRUE(out.empty());
}

TEST(MetricChunksTest, MergeOrdersByStepTimestampValueAndDropsRetries) {
  std::vector<MetricPoint> p = {{2, 10, 0.5}, {1, 20, 0.7}, {1, 10, 0.9}, {2, 10, 0.5},
                                {1, 10, 0.1}, {2, 10, 0.5}, {1, 10, kNaN}, {1, 10, kNaN},
                                {1, 10, 0.0}, {1, 10, -0.0}};
  MergeHistory(p);
  // NaN orders as 0 (after a real 0 with the same step and time); -0.0 and
  // 0.0 are one value, as the old primary key compared them.
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p[0].value, 0.0);
  EXPECT_TRUE(std::isnan(p[1].value));
  EXPECT_EQ(p[2].value, 0.1);
  EXPECT_EQ(p[3].value, 0.9);
  EXPECT_EQ(p[4].step, 1);
  EXPECT_EQ(p[4].timestamp, 20);
  EXPECT_EQ(p[5].step, 2);
  EXPECT_EQ(p[5].value, 0.5);
}

}  // namespace
}  // namespace cairn::store::sql
