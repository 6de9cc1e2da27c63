#include "core/metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace cairn {
namespace {

TEST(MetricsTest, CounterRendersExactly) {
  MetricsRegistry reg;
  auto& fam = reg.AddCounter("cairn_requests_total", "Requests answered",
                             {"deployment", "version", "code"});
  fam.WithLabels({"fraud", "3", "200"}).Increment();
  fam.WithLabels({"fraud", "3", "200"}).Increment(2);
  fam.WithLabels({"fraud", "3", "500"}).Increment(0.5);
  fam.WithLabels({"fraud", "3", "500"}).Increment(-7);  // ignored
  EXPECT_EQ(reg.Render(),
            "# HELP cairn_requests_total Requests answered\n"
            "# TYPE cairn_requests_total counter\n"
            "cairn_requests_total{deployment=\"fraud\",version=\"3\",code=\"200\"} 3\n"
            "cairn_requests_total{deployment=\"fraud\",version=\"3\",code=\"500\"} 0.5\n");
}

TEST(MetricsTest, UnlabeledFamilyRendersZeroBeforeFirstUpdate) {
  MetricsRegistry reg;
  reg.AddCounter("cairn_started_total", "Starts");
  reg.AddGauge("cairn_up", "Up");
  EXPECT_EQ(reg.Render(),
            "# HELP cairn_started_total Starts\n"
            "# TYPE cairn_started_total counter\n"
            "cairn_started_total 0\n"
            "# HELP cairn_up Up\n"
            "# TYPE cairn_up gauge\n"
            "cairn_up 0\n");
}

TEST(MetricsTest, LabeledFamilyWithoutChildrenIsOmitted) {
  MetricsRegistry reg;
  reg.AddCounter("cairn_a_total", "A", {"x"});
  EXPECT_EQ(reg.Render(), "");
}

TEST(MetricsTest, GaugeRendersExactly) {
  MetricsRegistry reg;
  auto& fam = reg.AddGauge("cairn_versions_loaded", "Loaded versions", {"deployment"});
  Gauge& a = fam.WithLabels({"a"});
  a.Set(5);
  a.Add(-1.25);
  Gauge& b = fam.WithLabels({"b"});
  b.Set(-2);
  EXPECT_DOUBLE_EQ(a.Value(), 3.75);
  EXPECT_EQ(reg.Render(),
            "# HELP cairn_versions_loaded Loaded versions\n"
            "# TYPE cairn_versions_loaded gauge\n"
            "cairn_versions_loaded{deployment=\"a\"} 3.75\n"
            "cairn_versions_loaded{deployment=\"b\"} -2\n");
}

TEST(MetricsTest, SpecialAndLargeValues) {
  MetricsRegistry reg;
  auto& fam = reg.AddGauge("g", "G", {"k"});
  fam.WithLabels({"nan"}).Set(std::numeric_limits<double>::quiet_NaN());
  fam.WithLabels({"pinf"}).Set(std::numeric_limits<double>::infinity());
  fam.WithLabels({"ninf"}).Set(-std::numeric_limits<double>::infinity());
  fam.WithLabels({"million"}).Set(1e6);
  fam.WithLabels({"huge"}).Set(1e21);
  fam.WithLabels({"tiny"}).Set(1e-7);
  fam.WithLabels({"third"}).Set(1.0 / 3);
  EXPECT_EQ(reg.Render(),
            "# HELP g G\n"
            "# TYPE g gauge\n"
            "g{k=\"nan\"} NaN\n"
            "g{k=\"pinf\"} +Inf\n"
            "g{k=\"ninf\"} -Inf\n"
            "g{k=\"million\"} 1000000\n"
            "g{k=\"huge\"} 1e+21\n"
            "g{k=\"tiny\"} 1e-07\n"
            "g{k=\"third\"} 0.3333333333333333\n");
}

TEST(MetricsTest, HistogramRendersExactly) {
  MetricsRegistry reg;
  auto& fam = reg.AddHistogram("cairn_request_seconds", "Latency", {"deployment"}, {0.005, 0.1, 1});
  Histogram& h = fam.WithLabels({"fraud"});
  h.Observe(0.001);  // bucket 0.005
  h.Observe(0.005);  // equal to a bound: le is inclusive -> bucket 0.005
  h.Observe(0.05);   // bucket 0.1
  h.Observe(1);      // bucket 1
  h.Observe(3);      // +Inf only
  fam.WithLabels({"other"});
  EXPECT_EQ(h.Count(), 5u);
  EXPECT_DOUBLE_EQ(h.Sum(), 0.001 + 0.005 + 0.05 + 1 + 3);
  EXPECT_EQ(h.CumulativeCounts(), (std::vector<uint64_t>{2, 3, 4, 5}));
  EXPECT_EQ(reg.Render(),
            "# HELP cairn_request_seconds Latency\n"
            "# TYPE cairn_request_seconds histogram\n"
            "cairn_request_seconds_bucket{deployment=\"fraud\",le=\"0.005\"} 2\n"
            "cairn_request_seconds_bucket{deployment=\"fraud\",le=\"0.1\"} 3\n"
            "cairn_request_seconds_bucket{deployment=\"fraud\",le=\"1\"} 4\n"
            "cairn_request_seconds_bucket{deployment=\"fraud\",le=\"+Inf\"} 5\n"
            "cairn_request_seconds_sum{deployment=\"fraud\"} 4.056\n"
            "cairn_request_seconds_count{deployment=\"fraud\"} 5\n"
            "cairn_request_seconds_bucket{deployment=\"other\",le=\"0.005\"} 0\n"
            "cairn_request_seconds_bucket{deployment=\"other\",le=\"0.1\"} 0\n"
            "cairn_request_seconds_bucket{deployment=\"other\",le=\"1\"} 0\n"
            "cairn_request_seconds_bucket{deployment=\"other\",le=\"+Inf\"} 0\n"
            "cairn_request_seconds_sum{deployment=\"other\"} 0\n"
            "cairn_request_seconds_count{deployment=\"other\"} 0\n");
}

TEST(MetricsTest, UnlabeledHistogramAndNaNObservation) {
  MetricsRegistry reg;
  Histogram& h = reg.AddHistogram("b", "Batch", {}, PowerOfTwoBuckets(4)).WithLabels({});
  h.Observe(std::numeric_limits<double>::quiet_NaN());
  h.Observe(2);
  EXPECT_EQ(reg.Render(),
            "# HELP b Batch\n"
            "# TYPE b histogram\n"
            "b_bucket{le=\"1\"} 0\n"
            "b_bucket{le=\"2\"} 1\n"
            "b_bucket{le=\"4\"} 1\n"
            "b_bucket{le=\"+Inf\"} 2\n"
            "b_sum NaN\n"
            "b_count 2\n");
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry reg;
  reg.AddCounter("c_total", "Line one\nback\\slash \"quoted\"", {"path"})
      .WithLabels({"a\\b\"c\nd"})
      .Increment();
  EXPECT_EQ(reg.Render(),
            "# HELP c_total Line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE c_total counter\n"
            "c_total{path=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(MetricsTest, ReRegistrationReturnsTheSameFamily) {
  MetricsRegistry reg;
  auto& a = reg.AddCounter("x_total", "X", {"k"});
  auto& b = reg.AddCounter("x_total", "X again", {"k"});
  EXPECT_EQ(&a, &b);
  auto& h1 = reg.AddHistogram("h", "H", {"k"}, {1, 2});
  auto& h2 = reg.AddHistogram("h", "H", {"k"}, {1, 2});
  EXPECT_EQ(&h1, &h2);
  a.WithLabels({"v"}).Increment();
  EXPECT_EQ(b.WithLabels({"v"}).Value(), 1);
  EXPECT_EQ(&a.WithLabels({"v"}), &b.WithLabels({"v"}));
}

TEST(MetricsTest, ConflictingRegistrationThrows) {
  MetricsRegistry reg;
  reg.AddCounter("x_total", "X", {"k"});
  reg.AddHistogram("h", "H", {"k"}, {1, 2});
  reg.AddGaugeCallback("cb", "CB", {"k"}, [] { return MetricsRegistry::GaugeSamples{}; });
  EXPECT_THROW(reg.AddGauge("x_total", "X", {"k"}), std::invalid_argument);
  EXPECT_THROW(reg.AddCounter("x_total", "X", {"other"}), std::invalid_argument);
  EXPECT_THROW(reg.AddCounter("x_total", "X", {}), std::invalid_argument);
  EXPECT_THROW(reg.AddHistogram("h", "H", {"k"}, {1, 3}), std::invalid_argument);
  EXPECT_THROW(reg.AddHistogram("x_total", "X", {"k"}, {1}), std::invalid_argument);
  EXPECT_THROW(reg.AddCounter("cb", "CB", {"k"}), std::invalid_argument);
  EXPECT_THROW(reg.AddGaugeCallback("h", "H", {"k"}, nullptr), std::invalid_argument);
  EXPECT_THROW(reg.AddGaugeCallback("cb", "CB", {"j"}, nullptr), std::invalid_argument);
}

TEST(MetricsTest, InvalidDefinitionsThrow) {
  MetricsRegistry reg;
  EXPECT_THROW(reg.AddCounter("", "x"), std::invalid_argument);
  EXPECT_THROW(reg.AddCounter("1abc", "x"), std::invalid_argument);
  EXPECT_THROW(reg.AddCounter("a-b", "x"), std::invalid_argument);
  EXPECT_THROW(reg.AddCounter("ok", "x", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(reg.AddCounter("ok", "x", {"a:b"}), std::invalid_argument);
  EXPECT_THROW(reg.AddCounter("ok", "x", {"9a"}), std::invalid_argument);
  EXPECT_THROW(reg.AddCounter("ok", "x", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(reg.AddHistogram("hh", "x", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(reg.AddHistogram("hh", "x", {}, {2, 1}), std::invalid_argument);
  EXPECT_THROW(reg.AddHistogram("hh", "x", {}, {1, 1}), std::invalid_argument);
  EXPECT_THROW(reg.AddHistogram("hh", "x", {}, {1, std::numeric_limits<double>::infinity()}),
               std::invalid_argument);
  // Colons are allowed in metric names, digits after the first character.
  EXPECT_NO_THROW(reg.AddCounter("ns:sub_metric2_total", "x", {"_x", "a1"}));
  // Nothing invalid was registered.
  EXPECT_EQ(reg.Render(), "");
  auto& fam = reg.AddCounter("ok_total", "x", {"a", "b"});
  EXPECT_THROW(fam.WithLabels({"1"}), std::invalid_argument);
  EXPECT_THROW(fam.WithLabels({"1", "2", "3"}), std::invalid_argument);
}

TEST(MetricsTest, ConcurrentUpdatesSumExactly) {
  MetricsRegistry reg;
  auto& counters = reg.AddCounter("c_total", "C", {"k"});
  auto& hists = reg.AddHistogram("h_seconds", "H", {"k"}, {0.5, 1.5});
  Gauge& gauge = reg.AddGauge("g", "G").WithLabels({});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  std::atomic<bool> stop_render{false};
  std::thread renderer([&] {
    while (!stop_render.load()) (void)reg.Render();
  });
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Half the threads look the children up themselves: creation races too.
      Counter& c = counters.WithLabels({t % 2 == 0 ? "even" : "odd"});
      Histogram& h = hists.WithLabels({"all"});
      for (int i = 0; i < kPerThread; ++i) {
        c.Increment();
        h.Observe(i % 2 == 0 ? 1.0 : 2.0);
        gauge.Add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  stop_render = true;
  renderer.join();
  EXPECT_EQ(counters.WithLabels({"even"}).Value(), kThreads / 2 * kPerThread);
  EXPECT_EQ(counters.WithLabels({"odd"}).Value(), kThreads / 2 * kPerThread);
  EXPECT_EQ(gauge.Value(), kThreads * kPerThread);
  Histogram& h = hists.WithLabels({"all"});
  EXPECT_EQ(h.Count(), static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(h.Sum(), kThreads * kPerThread / 2 * 3.0);
  EXPECT_EQ(h.CumulativeCounts(),
            (std::vector<uint64_t>{0, kThreads * kPerThread / 2, kThreads * kPerThread}));
}

TEST(MetricsTest, CallbackGaugesAreReadAtRender) {
  MetricsRegistry reg;
  int depth = 3;
  reg.AddGaugeCallback("cairn_queue_depth", "Queue depth", {"deployment"}, [&] {
    return MetricsRegistry::GaugeSamples{
        {{"a"}, static_cast<double>(depth)}, {{"b"}, 0.5}, {{"wrong", "arity"}, 1}};
  });
  EXPECT_EQ(reg.Render(),
            "# HELP cairn_queue_depth Queue depth\n"
            "# TYPE cairn_queue_depth gauge\n"
            "cairn_queue_depth{deployment=\"a\"} 3\n"
            "cairn_queue_depth{deployment=\"b\"} 0.5\n");
  depth = 9;
  EXPECT_NE(reg.Render().find("cairn_queue_depth{deployment=\"a\"} 9\n"), std::string::npos);
  // Re-registering with the same labels replaces the callback.
  reg.AddGaugeCallback("cairn_queue_depth", "Queue depth", {"deployment"}, [] {
    return MetricsRegistry::GaugeSamples{{{"z"}, 1}};
  });
  EXPECT_EQ(reg.Render(),
            "# HELP cairn_queue_depth Queue depth\n"
            "# TYPE cairn_queue_depth gauge\n"
            "cairn_queue_depth{deployment=\"z\"} 1\n");
  // No samples: the family is left out.
  reg.AddGaugeCallback("cairn_queue_depth", "Queue depth", {"deployment"},
                       [] { return MetricsRegistry::GaugeSamples{}; });
  EXPECT_EQ(reg.Render(), "");
}

TEST(MetricsTest, RemoveHidesAndKeepsReferenceValid) {
  MetricsRegistry reg;
  auto& fam = reg.AddCounter("c_total", "C", {"v"});
  Counter& one = fam.WithLabels({"1"});
  Counter& two = fam.WithLabels({"2"});
  one.Increment(4);
  two.Increment(1);
  fam.Remove({"1"});
  EXPECT_EQ(reg.Render(),
            "# HELP c_total C\n"
            "# TYPE c_total counter\n"
            "c_total{v=\"2\"} 1\n");
  one.Increment();  // still valid after Remove
  EXPECT_EQ(one.Value(), 5);
  fam.Remove({"2"});
  EXPECT_EQ(reg.Render(), "");
  // Asking for it again shows the same child.
  EXPECT_EQ(&fam.WithLabels({"1"}), &one);
  EXPECT_EQ(reg.Render(),
            "# HELP c_total C\n"
            "# TYPE c_total counter\n"
            "c_total{v=\"1\"} 5\n");
}

TEST(MetricsTest, RegistrationOrderIsRenderOrder) {
  MetricsRegistry reg;
  reg.AddGauge("z", "Z");
  reg.AddGauge("a", "A");
  std::string text = reg.Render();
  EXPECT_LT(text.find("# HELP z"), text.find("# HELP a"));
}

TEST(MetricsTest, BucketHelpers) {
  EXPECT_EQ(LatencyBuckets(),
            (std::vector<double>{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1, 0.25, 0.5, 1, 2.5, 5, 10}));
  EXPECT_EQ(PowerOfTwoBuckets(64), (std::vector<double>{1, 2, 4, 8, 16, 32, 64}));
  EXPECT_EQ(PowerOfTwoBuckets(100), (std::vector<double>{1, 2, 4, 8, 16, 32, 64}));
  EXPECT_EQ(PowerOfTwoBuckets(1), (std::vector<double>{1}));
}

// The real Prometheus parser (and linter) accepts the output.
TEST(MetricsTest, PromtoolAcceptsTheOutput) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not installed (Debian package 'prometheus'): skipping validation";
  }
  MetricsRegistry reg;
  reg.AddCounter("cairn_requests_total", "Requests answered by the server",
                 {"deployment", "version", "code"})
      .WithLabels({"fr\"aud\\x\ny", "3", "200"})
      .Increment(7);
  auto& h = reg.AddHistogram("cairn_request_duration_seconds", "Request latency", {"deployment"},
                             LatencyBuckets());
  h.WithLabels({"fraud"}).Observe(0.0012);
  h.WithLabels({"fraud"}).Observe(0.0001);
  h.WithLabels({"other"}).Observe(100);
  reg.AddHistogram("cairn_batch_size", "Rows per batch", {}, PowerOfTwoBuckets(64))
      .WithLabels({})
      .Observe(3);
  reg.AddGauge("cairn_weird_values", "Special\\values\nhere", {"k"})
      .WithLabels({"nan"})
      .Set(std::numeric_limits<double>::quiet_NaN());
  reg.AddGauge("cairn_weird_values", "Special\\values\nhere", {"k"})
      .WithLabels({"inf"})
      .Set(-std::numeric_limits<double>::infinity());
  reg.AddGaugeCallback("cairn_queue_depth", "Queue depth", {"deployment"}, [] {
    return MetricsRegistry::GaugeSamples{{{"fraud"}, 2}};
  });
  const std::string text = reg.Render();
  char path[] = "/tmp/cairn_metrics_test_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream f(path, std::ios::binary);
    f << text;
  }
  const std::string cmd = std::string("promtool check metrics < ") + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  int rc = pclose(p);
  unlink(path);
  EXPECT_EQ(rc, 0) << "promtool said:\n" << output << "\nfor:\n" << text;
}

}  // namespace
}  // namespace cairn
