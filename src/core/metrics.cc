#include "core/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <variant>

namespace cairn {

namespace {

bool IsMetricName(const std::string& s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

bool IsLabelName(const std::string& s) {
  if (s.empty() || s.starts_with("__")) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

void ValidateDefinition(const std::string& name, const std::vector<std::string>& label_names,
                        bool histogram) {
  if (!IsMetricName(name)) {
    throw std::invalid_argument("metrics: invalid metric name '" + name + "'");
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& l = label_names[i];
    if (!IsLabelName(l)) {
      throw std::invalid_argument("metrics: invalid label name '" + l + "' for " + name);
    }
    if (histogram && l == "le") {
      throw std::invalid_argument("metrics: label 'le' is reserved in histogram " + name);
    }
    for (size_t j = 0; j < i; ++j) {
      if (label_names[j] == l) {
        throw std::invalid_argument("metrics: duplicate label name '" + l + "' for " + name);
      }
    }
  }
}

void ValidateBounds(const std::vector<double>& bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i]) || std::isinf(bounds[i])) {
      throw std::invalid_argument("metrics: histogram bounds must be finite (+Inf is implicit)");
    }
    if (i > 0 && !(bounds[i - 1] < bounds[i])) {
      throw std::invalid_argument("metrics: histogram bounds must be strictly increasing");
    }
  }
}

// Lock-free add on an atomic double (fetch_add on floating atomics is C++20;
// the CAS loop keeps this portable to standard libraries that lack it).
void AtomicAdd(std::atomic<double>& a, double by) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + by, std::memory_order_relaxed)) {
  }
}

// Prometheus sample values: Go's ParseFloat syntax. Integral values print
// without a fraction or exponent (counters read naturally); everything else
// as the shortest string that round-trips.
void AppendValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[40];
  if (v == std::trunc(v) && std::fabs(v) < 1e15) {
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    out.append(buf, p);
    return;
  }
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}

void AppendUint(std::string& out, uint64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}

void AppendEscapedLabelValue(std::string& out, const std::string& v) {
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
}

void AppendEscapedHelp(std::string& out, const std::string& v) {
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
}

void AppendHeader(std::string& out, const std::string& name, const std::string& help,
                  const char* type) {
  out += "# HELP ";
  out += name;
  out.push_back(' ');
  AppendEscapedHelp(out, help);
  out += "\n# TYPE ";
  out += name;
  out.push_back(' ');
  out += type;
  out.push_back('\n');
}

// `name{l1="v1",l2="v2"[,le="x"]} value\n`
void AppendSample(std::string& out, const std::string& name, const char* suffix,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values, const std::string* le,
                  const std::string& value) {
  out += name;
  out += suffix;
  if (!label_names.empty() || le != nullptr) {
    out.push_back('{');
    bool first = true;
    for (size_t i = 0; i < label_names.size(); ++i) {
      if (!first) out.push_back(',');
      first = false;
      out += label_names[i];
      out += "=\"";
      AppendEscapedLabelValue(out, label_values[i]);
      out.push_back('"');
    }
    if (le != nullptr) {
      if (!first) out.push_back(',');
      out += "le=\"";
      out += *le;
      out.push_back('"');
    }
    out.push_back('}');
  }
  out.push_back(' ');
  out += value;
  out.push_back('\n');
}

std::string ValueString(double v) {
  std::string s;
  AppendValue(s, v);
  return s;
}

std::string UintString(uint64_t v) {
  std::string s;
  AppendUint(s, v);
  return s;
}

}  // namespace

// ---- Counter / Gauge / Histogram -------------------------------------------

void Counter::Increment(double by) {
  if (!(by >= 0)) return;  // also rejects NaN: a counter never goes down
  AtomicAdd(value_, by);
}
double Counter::Value() const { return value_.load(std::memory_order_relaxed); }

void Gauge::Set(double v) { value_.store(v, std::memory_order_relaxed); }
void Gauge::Add(double by) { AtomicAdd(value_, by); }
double Gauge::Value() const { return value_.load(std::memory_order_relaxed); }

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  ValidateBounds(bounds_);
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  // `le` is inclusive: the first bound >= v. NaN compares false with every
  // bound and lands in +Inf (as client_golang does).
  size_t i = bounds_.size();
  if (!std::isnan(v)) {
    i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  }
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    out[i] = acc;
  }
  return out;
}
double Histogram::Sum() const { return sum_.load(std::memory_order_relaxed); }
uint64_t Histogram::Count() const { return count_.load(std::memory_order_relaxed); }

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

std::vector<double> PowerOfTwoBuckets(double max) {
  std::vector<double> out{1};
  for (double b = 2; b <= max; b *= 2) out.push_back(b);
  return out;
}

// ---- Family -----------------------------------------------------------------

template <typename T>
Family<T>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> upper_bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      upper_bounds_(std::move(upper_bounds)) {
  // A family without labels has exactly one child: create it now so the
  // metric renders (as 0) before its first update.
  if (label_names_.empty()) WithLabels({});
}

template <typename T>
T& Family<T>::WithLabels(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument("metrics: " + name_ + " takes " +
                                std::to_string(label_names_.size()) + " label values, got " +
                                std::to_string(values.size()));
  }
  std::lock_guard lock(mu_);
  for (Child& c : children_) {
    if (c.labels == values) {
      c.hidden = false;
      return *c.metric;
    }
  }
  Child child;
  child.labels = values;
  if constexpr (std::is_same_v<T, Histogram>) {
    child.metric = std::make_unique<Histogram>(upper_bounds_);
  } else {
    child.metric = std::make_unique<T>();
  }
  children_.push_back(std::move(child));
  return *children_.back().metric;
}

template <typename T>
void Family<T>::Remove(const std::vector<std::string>& values) {
  std::lock_guard lock(mu_);
  for (Child& c : children_) {
    if (c.labels == values) c.hidden = true;
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- Registry -----------------------------------------------------------------

struct MetricsRegistry::Impl {
  struct CallbackGauge {
    std::string name;
    std::string help;
    std::vector<std::string> label_names;
    std::function<GaugeSamples()> callback;
  };
  using Entry = std::variant<std::unique_ptr<Family<Counter>>, std::unique_ptr<Family<Gauge>>,
                             std::unique_ptr<Family<Histogram>>, std::unique_ptr<CallbackGauge>>;

  mutable std::mutex mu_;  // registration and render
  std::vector<Entry> entries_;

  // The entry registered under `name`, or null.
  Entry* Find(const std::string& name) {
    for (Entry& e : entries_) {
      const std::string& n = std::visit(
          [](const auto& p) -> const std::string& {
            using P = std::decay_t<decltype(*p)>;
            if constexpr (std::is_same_v<P, CallbackGauge>) {
              return p->name;
            } else {
              return p->name();
            }
          },
          e);
      if (n == name) return &e;
    }
    return nullptr;
  }

  template <typename T>
  Family<T>& Add(const std::string& name, const std::string& help,
                 std::vector<std::string> label_names, std::vector<double> bounds) {
    ValidateDefinition(name, label_names, std::is_same_v<T, Histogram>);
    if constexpr (std::is_same_v<T, Histogram>) ValidateBounds(bounds);
    std::lock_guard lock(mu_);
    if (Entry* e = Find(name)) {
      auto* existing = std::get_if<std::unique_ptr<Family<T>>>(e);
      if (existing == nullptr) {
        throw std::invalid_argument("metrics: " + name +
                                    " is already registered with another type");
      }
      Family<T>& f = **existing;
      if (f.label_names() != label_names) {
        throw std::invalid_argument("metrics: " + name +
                                    " is already registered with other label names");
      }
      if constexpr (std::is_same_v<T, Histogram>) {
        if (HistogramBounds(name) != bounds) {
          throw std::invalid_argument("metrics: " + name +
                                      " is already registered with other buckets");
        }
      }
      return f;
    }
    auto family = std::make_unique<Family<T>>(name, help, std::move(label_names), bounds);
    Family<T>& ref = *family;
    entries_.emplace_back(std::move(family));
    if constexpr (std::is_same_v<T, Histogram>) histogram_bounds_.emplace_back(name, bounds);
    return ref;
  }

  // Bounds per histogram name (the family keeps them private).
  std::vector<std::pair<std::string, std::vector<double>>> histogram_bounds_;
  const std::vector<double>& HistogramBounds(const std::string& name) const {
    for (const auto& [n, b] : histogram_bounds_) {
      if (n == name) return b;
    }
    static const std::vector<double> kNone;
    return kNone;
  }
};

MetricsRegistry::MetricsRegistry() : impl_(std::make_unique<Impl>()) {}
MetricsRegistry::~MetricsRegistry() = default;

Family<Counter>& MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                             std::vector<std::string> label_names) {
  return impl_->Add<Counter>(name, help, std::move(label_names), {});
}

Family<Gauge>& MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                         std::vector<std::string> label_names) {
  return impl_->Add<Gauge>(name, help, std::move(label_names), {});
}

Family<Histogram>& MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                                 std::vector<std::string> label_names,
                                                 std::vector<double> upper_bounds) {
  return impl_->Add<Histogram>(name, help, std::move(label_names), std::move(upper_bounds));
}

void MetricsRegistry::AddGaugeCallback(const std::string& name, const std::string& help,
                                       std::vector<std::string> label_names,
                                       std::function<GaugeSamples()> callback) {
  ValidateDefinition(name, label_names, false);
  std::lock_guard lock(impl_->mu_);
  if (Impl::Entry* e = impl_->Find(name)) {
    auto* existing = std::get_if<std::unique_ptr<Impl::CallbackGauge>>(e);
    if (existing == nullptr || (*existing)->label_names != label_names) {
      throw std::invalid_argument("metrics: " + name + " is already registered differently");
    }
    // Same definition: the new callback replaces the old one (a component
    // that is re-created re-registers its source).
    (*existing)->callback = std::move(callback);
    return;
  }
  auto g = std::make_unique<Impl::CallbackGauge>();
  g->name = name;
  g->help = help;
  g->label_names = std::move(label_names);
  g->callback = std::move(callback);
  impl_->entries_.emplace_back(std::move(g));
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard lock(impl_->mu_);
  for (const Impl::Entry& e : impl_->entries_) {
    std::string body;
    const char* type = "gauge";
    const std::string* name = nullptr;
    const std::string* help = nullptr;
    if (const auto* f = std::get_if<std::unique_ptr<Family<Counter>>>(&e)) {
      type = "counter";
      name = &(*f)->name();
      help = &(*f)->help();
      (*f)->ForEach([&](const std::vector<std::string>& labels, const Counter& c) {
        AppendSample(body, *name, "", (*f)->label_names(), labels, nullptr, ValueString(c.Value()));
      });
    } else if (const auto* f = std::get_if<std::unique_ptr<Family<Gauge>>>(&e)) {
      name = &(*f)->name();
      help = &(*f)->help();
      (*f)->ForEach([&](const std::vector<std::string>& labels, const Gauge& g) {
        AppendSample(body, *name, "", (*f)->label_names(), labels, nullptr, ValueString(g.Value()));
      });
    } else if (const auto* f = std::get_if<std::unique_ptr<Family<Histogram>>>(&e)) {
      type = "histogram";
      name = &(*f)->name();
      help = &(*f)->help();
      (*f)->ForEach([&](const std::vector<std::string>& labels, const Histogram& h) {
        // _count is taken from the same snapshot as the buckets so that
        // le="+Inf" == _count even while observations race with the render.
        const std::vector<uint64_t> cumulative = h.CumulativeCounts();
        const double sum = h.Sum();
        const uint64_t count = cumulative.back();
        const auto& bounds = h.upper_bounds();
        for (size_t i = 0; i < bounds.size(); ++i) {
          const std::string le = ValueString(bounds[i]);
          AppendSample(body, *name, "_bucket", (*f)->label_names(), labels, &le,
                       UintString(cumulative[i]));
        }
        static const std::string kInf = "+Inf";
        AppendSample(body, *name, "_bucket", (*f)->label_names(), labels, &kInf, UintString(count));
        AppendSample(body, *name, "_sum", (*f)->label_names(), labels, nullptr, ValueString(sum));
        AppendSample(body, *name, "_count", (*f)->label_names(), labels, nullptr,
                     UintString(count));
      });
    } else if (const auto* g = std::get_if<std::unique_ptr<Impl::CallbackGauge>>(&e)) {
      name = &(*g)->name;
      help = &(*g)->help;
      GaugeSamples samples;
      if ((*g)->callback) samples = (*g)->callback();
      for (const auto& [labels, value] : samples) {
        // A sample with the wrong number of label values cannot be rendered
        // validly; it is skipped rather than breaking the whole scrape.
        if (labels.size() != (*g)->label_names.size()) continue;
        AppendSample(body, *name, "", (*g)->label_names, labels, nullptr, ValueString(value));
      }
    }
    // Families without samples are left out, as the official clients do.
    if (body.empty()) continue;
    AppendHeader(out, *name, *help, type);
    out += body;
  }
  return out;
}

}  // namespace cairn
