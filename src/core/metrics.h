#pragma once
// Prometheus metrics: a registry of metric families (counters, gauges,
// histograms) with labels, rendered in the text exposition format 0.0.4
// (`Content-Type: text/plain; version=0.0.4`).
//
//   MetricsRegistry reg;
//   Counter& c = reg.AddCounter("cairn_requests_total", "Requests answered",
//                               {"deployment", "version", "code"})
//                    .WithLabels({"fraud", "3", "200"});
//   c.Increment();
//   Histogram& h = reg.AddHistogram("cairn_request_seconds", "Latency",
//                                   {"deployment"}, LatencyBuckets())
//                      .WithLabels({"fraud"});
//   h.Observe(0.0012);
//   std::string text = reg.Render();
//
// Contract
// - Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
//   [a-zA-Z_][a-zA-Z0-9_]* and not start with "__"; AddX with a bad name, or
//   a name already registered with another type/labels/buckets, is a
//   programming error: it throws std::invalid_argument (at start-up, never on
//   the hot path). Registering the same name again with the same definition
//   returns the existing family.
// - WithLabels(values): values.size() must equal the label names' count
//   (else std::invalid_argument). Returns a reference that stays valid for
//   the registry's lifetime (children are never freed; Remove() only hides
//   them from Render). Look the child up once and keep the reference on hot paths.
// - Counter/Gauge/Histogram updates are lock-free atomics (a histogram
//   Observe is one bucket increment + count + sum), safe from any thread.
// - Render() is safe concurrently with updates; each value is read
//   atomically (a histogram's buckets/sum/count may be a few observations
//   apart from each other, as in every Prometheus client). Output: families
//   in registration order, children in creation order; HELP and TYPE lines;
//   label values escaped (\\, \", \n); histograms as _bucket{le=...}
//   cumulative, le="+Inf", _sum, _count; doubles printed shortest-round-trip
//   ("NaN", "+Inf", "-Inf").
// - Callback gauges (AddGaugeCallback) are read at Render time, for values
//   that live elsewhere (queue depth); the callback runs under the registry's
//   render lock and must not call back into the registry.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace cairn {

class Counter {
 public:
  void Increment(double by = 1.0);  // by >= 0 (negative is ignored)
  double Value() const;

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void Set(double v);
  void Add(double by);
  double Value() const;

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);  // sorted, without +Inf
  void Observe(double v);
  const std::vector<double>& upper_bounds() const { return bounds_; }
  // Cumulative counts per bound, then +Inf (size bounds+1); and sum/count.
  std::vector<uint64_t> CumulativeCounts() const;
  double Sum() const;
  uint64_t Count() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // non-cumulative, size bounds+1
  std::atomic<double> sum_{0.0};
  std::atomic<uint64_t> count_{0};
};

// Seconds: 100 µs .. 10 s (0.0001, 0.00025, 0.0005, 0.001, ... 10).
std::vector<double> LatencyBuckets();
// Powers of two 1 .. max (batch sizes).
std::vector<double> PowerOfTwoBuckets(double max);

template <typename T>
class Family;

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> upper_bounds);
  // A gauge whose samples are produced at Render time: the callback returns
  // (label values, value) pairs.
  using GaugeSamples = std::vector<std::pair<std::vector<std::string>, double>>;
  void AddGaugeCallback(const std::string& name, const std::string& help,
                        std::vector<std::string> label_names,
                        std::function<GaugeSamples()> callback);

  std::string Render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  template <typename T>
  friend class Family;
};

// A metric family: one metric name, one set of label names, children per
// label values. Owned by the registry.
template <typename T>
class Family {
 public:
  T& WithLabels(const std::vector<std::string>& values);
  // Hides the child with these label values from Render (its reference stays valid).
  void Remove(const std::vector<std::string>& values);

  struct Child {
    std::vector<std::string> labels;
    std::unique_ptr<T> metric;
    bool hidden = false;
  };
  // Render support (under the family's lock).
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  template <typename F>
  void ForEach(F&& f) const {
    std::lock_guard lock(mu_);
    for (const Child& c : children_) {
      if (!c.hidden) f(c.labels, *c.metric);
    }
  }

  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> upper_bounds = {});

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> upper_bounds_;  // histograms
  mutable std::mutex mu_;
  std::vector<Child> children_;  // unique_ptr: stable addresses
};

}  // namespace cairn
