#include "monitor/drift.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/json_writer.h"

namespace cairn::monitor {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int ThreadCount(int requested) {
  if (requested > 0) return requested;
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

bool ParseNumber(std::string_view s, double& out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, out);
  return p == end && ec == std::errc();
}

// Evidently's replacement of empty bins: the smallest non-zero share / 1e6
// when that share is <= 1e-4, else 1e-4.
void FillZeros(std::vector<double>& shares) {
  double min_nonzero = std::numeric_limits<double>::infinity();
  for (double s : shares) {
    if (s != 0 && s < min_nonzero) min_nonzero = s;
  }
  if (!std::isfinite(min_nonzero)) return;
  const double fill = min_nonzero <= 1e-4 ? min_nonzero / 1e6 : 1e-4;
  for (double& s : shares) {
    if (s == 0) s = fill;
  }
}

// The finite values of `in`, sorted ascending (stats::SortedCopy).
std::vector<double> SortedFinite(const std::vector<double>& in) {
  std::vector<double> finite;
  finite.reserve(in.size());
  for (double v : in) {
    if (std::isfinite(v)) finite.push_back(v);
  }
  return stats::SortedCopy(finite);
}

int64_t CountDistinctSorted(std::span<const double> v) {
  int64_t n = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i == 0 || v[i] != v[i - 1]) ++n;
  }
  return n;
}

// Distinct values of two sorted samples with their counts on each side.
struct ValueCounts {
  std::vector<double> values;
  std::vector<double> reference;
  std::vector<double> current;
};

ValueCounts CountSorted(std::span<const double> a, std::span<const double> b) {
  ValueCounts out;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    double v;
    if (j >= b.size() || (i < a.size() && a[i] <= b[j])) {
      v = a[i];
    } else {
      v = b[j];
    }
    double ca = 0, cb = 0;
    while (i < a.size() && a[i] == v) {
      ++i;
      ++ca;
    }
    while (j < b.size() && b[j] == v) {
      ++j;
      ++cb;
    }
    out.values.push_back(v);
    out.reference.push_back(ca);
    out.current.push_back(cb);
  }
  return out;
}

Binned BinNumericSorted(std::span<const double> ref, std::span<const double> cur,
                        bool fill_zeros) {
  Binned out;
  if (ref.empty() || cur.empty()) return out;
  const double nr = static_cast<double>(ref.size());
  const double nc = static_cast<double>(cur.size());
  if (CountDistinctSorted(ref) > 20) {
    std::vector<double> all;
    all.reserve(ref.size() + cur.size());
    all.insert(all.end(), ref.begin(), ref.end());
    all.insert(all.end(), cur.begin(), cur.end());
    const std::vector<double> edges = stats::SturgesBinEdges(all);
    for (int64_t c : stats::Histogram(ref, edges)) out.reference.push_back(c / nr);
    for (int64_t c : stats::Histogram(cur, edges)) out.current.push_back(c / nc);
  } else {
    ValueCounts vc = CountSorted(ref, cur);
    for (double c : vc.reference) out.reference.push_back(c / nr);
    for (double c : vc.current) out.current.push_back(c / nc);
  }
  if (fill_zeros) {
    FillZeros(out.reference);
    FillZeros(out.current);
  }
  return out;
}

// Category counts on both sides, keys sorted.
struct CategoryCounts {
  std::vector<std::string_view> keys;
  std::vector<double> reference;
  std::vector<double> current;
};

template <typename RefRange, typename CurRange>
CategoryCounts CountCategories(const RefRange& ref, const CurRange& cur) {
  std::unordered_map<std::string_view, std::pair<double, double>> counts;
  for (const auto& s : ref) counts[std::string_view(s)].first += 1;
  for (const auto& s : cur) counts[std::string_view(s)].second += 1;
  CategoryCounts out;
  for (const auto& [k, v] : counts) out.keys.push_back(k);
  std::sort(out.keys.begin(), out.keys.end());
  for (std::string_view k : out.keys) {
    const auto& c = counts[k];
    out.reference.push_back(c.first);
    out.current.push_back(c.second);
  }
  return out;
}

Binned BinCounts(const std::vector<double>& ref_counts, const std::vector<double>& cur_counts,
                 double nr, double nc, bool fill_zeros) {
  Binned out;
  for (double c : ref_counts) out.reference.push_back(c / nr);
  for (double c : cur_counts) out.current.push_back(c / nc);
  if (fill_zeros) {
    FillZeros(out.reference);
    FillZeros(out.current);
  }
  return out;
}

// chisquare(observed = current counts, expected = reference counts scaled to
// the current size), as Evidently's chi-squared test.
stats::TestResult ChiSquareOfCounts(const std::vector<double>& ref_counts,
                                    const std::vector<double>& cur_counts, double nr,
                                    double nc) {
  std::vector<double> expected;
  expected.reserve(ref_counts.size());
  const double k = nc / nr;
  for (double c : ref_counts) expected.push_back(c * k);
  return stats::ChiSquare(cur_counts, expected);
}

void Decide(ColumnDrift& d, double score, double statistic) {
  d.score = score;
  d.statistic = statistic;
  if (std::isnan(score)) {
    d.drifted = false;
  } else if (IsPValueTest(d.test)) {
    d.drifted = score < d.threshold;
  } else {
    d.drifted = score >= d.threshold;
  }
}

void Finish(ColumnDrift& d, const DriftOptions& options) {
  auto th = options.thresholds.find(d.column);
  d.threshold = th != options.thresholds.end() ? th->second : DefaultThreshold(d.test);
}

StatTest ChosenTest(const DriftOptions& options, const std::string& column, ColumnKind kind,
                    int64_t n, int64_t u) {
  auto it = options.tests.find(column);
  if (it != options.tests.end() && it->second != StatTest::kAuto) return it->second;
  return DefaultTest(kind, n, u);
}

ColumnDrift NumericDrift(const Column& ref_col, const Column& cur_col,
                         const DriftOptions& options) {
  ColumnDrift d;
  d.column = ref_col.name;
  d.kind = ColumnKind::kNumeric;
  // Missing values (and +-inf, which Evidently treats as missing) dropped.
  auto finite = [](const std::vector<double>& in) { return SortedFinite(in); };
  const std::vector<double> ref = finite(ref_col.numbers);
  const std::vector<double> cur = finite(cur_col.numbers);
  d.reference_count = static_cast<int64_t>(ref.size());
  d.current_count = static_cast<int64_t>(cur.size());
  {
    // Distinct values over both sides (a merge walk of the sorted samples).
    int64_t u = 0;
    size_t i = 0, j = 0;
    bool have = false;
    double last = 0;
    while (i < ref.size() || j < cur.size()) {
      const double v = (j >= cur.size() || (i < ref.size() && ref[i] <= cur[j])) ? ref[i++]
                                                                                  : cur[j++];
      if (!have || v != last) {
        ++u;
        last = v;
        have = true;
      }
    }
    d.distinct_values = u;
  }
  // Evidently reads a reference column of whole numbers without missing
  // values as integers, and takes an integer column with at most 10
  // distinct values as categorical: the default choice follows it.
  const bool few_integers =
      !ref.empty() && ref.size() == ref_col.numbers.size() &&
      std::all_of(ref.begin(), ref.end(), [](double v) { return v == std::floor(v); }) &&
      CountDistinctSorted(ref) <= 10;
  d.test = ChosenTest(options, d.column,
                      few_integers ? ColumnKind::kCategorical : ColumnKind::kNumeric,
                      d.reference_count, d.distinct_values);
  Finish(d, options);
  if (ref.empty() || cur.empty()) return d;
  d.tested = true;
  const double nr = static_cast<double>(ref.size());
  const double nc = static_cast<double>(cur.size());
  switch (d.test) {
    case StatTest::kAuto:
    case StatTest::kKs: {
      d.test = StatTest::kKs;
      const stats::TestResult r = stats::KsTwoSampleSorted(ref, cur);
      Decide(d, r.p_value, r.statistic);
      break;
    }
    case StatTest::kWasserstein: {
      const double norm = std::max(stats::PopulationStd(ref), 0.001);
      const double w = stats::WassersteinDistanceSorted(ref, cur) / norm;
      Decide(d, w, w);
      break;
    }
    case StatTest::kChiSquare: {
      const ValueCounts vc = CountSorted(ref, cur);
      const stats::TestResult r = ChiSquareOfCounts(vc.reference, vc.current, nr, nc);
      Decide(d, r.p_value, r.statistic);
      break;
    }
    case StatTest::kZ: {
      // Evidently: 1 for every value other than the smallest one.
      const double key = std::min(ref.front(), cur.front());
      const auto ref_key = std::upper_bound(ref.begin(), ref.end(), key) - ref.begin();
      const auto cur_key = std::upper_bound(cur.begin(), cur.end(), key) - cur.begin();
      const stats::TestResult r =
          stats::ProportionsZTest(static_cast<int64_t>(ref.size()) - ref_key, d.reference_count,
                                  static_cast<int64_t>(cur.size()) - cur_key, d.current_count);
      Decide(d, r.p_value, r.statistic);
      break;
    }
    case StatTest::kJensenShannon: {
      const Binned b = BinNumericSorted(ref, cur, false);
      const double v = stats::JensenShannon(b.reference, b.current);
      Decide(d, v, v);
      break;
    }
    case StatTest::kPsi: {
      const Binned b = BinNumericSorted(ref, cur, true);
      const double v = stats::Psi(b.reference, b.current);
      Decide(d, v, v);
      break;
    }
  }
  return d;
}

// The present values of a column as text (views into `storage` for numbers).
std::vector<std::string_view> PresentViews(const Column& c, std::vector<std::string>& storage) {
  std::vector<std::string_view> out;
  if (c.kind == ColumnKind::kCategorical) {
    out.reserve(c.strings.size());
    for (size_t r = 0; r < c.strings.size(); ++r) {
      if (!c.missing[r]) out.push_back(c.strings[r]);
    }
  } else {
    storage.clear();
    for (size_t r = 0; r < c.numbers.size(); ++r) {
      if (std::isfinite(c.numbers[r])) storage.push_back(c.Text(static_cast<int64_t>(r)));
    }
    out.reserve(storage.size());
    for (const auto& s : storage) out.push_back(s);
  }
  return out;
}

ColumnDrift CategoricalDrift(const Column& ref_col, const Column& cur_col,
                             const DriftOptions& options) {
  ColumnDrift d;
  d.column = ref_col.name;
  d.kind = ColumnKind::kCategorical;
  std::vector<std::string> ref_storage, cur_storage;
  const std::vector<std::string_view> ref = PresentViews(ref_col, ref_storage);
  const std::vector<std::string_view> cur = PresentViews(cur_col, cur_storage);
  d.reference_count = static_cast<int64_t>(ref.size());
  d.current_count = static_cast<int64_t>(cur.size());
  const CategoryCounts cc = CountCategories(ref, cur);
  d.distinct_values = static_cast<int64_t>(cc.keys.size());
  d.test = ChosenTest(options, d.column, ColumnKind::kCategorical, d.reference_count,
                      d.distinct_values);
  Finish(d, options);
  if (ref.empty() || cur.empty()) return d;
  d.tested = true;
  const double nr = static_cast<double>(ref.size());
  const double nc = static_cast<double>(cur.size());
  switch (d.test) {
    case StatTest::kAuto:
    case StatTest::kChiSquare: {
      d.test = StatTest::kChiSquare;
      const stats::TestResult r = ChiSquareOfCounts(cc.reference, cc.current, nr, nc);
      Decide(d, r.p_value, r.statistic);
      break;
    }
    case StatTest::kZ: {
      // 1 for every category other than the first in sorted order.
      const stats::TestResult r = stats::ProportionsZTest(
          d.reference_count - static_cast<int64_t>(cc.reference[0]), d.reference_count,
          d.current_count - static_cast<int64_t>(cc.current[0]), d.current_count);
      Decide(d, r.p_value, r.statistic);
      break;
    }
    case StatTest::kJensenShannon: {
      const Binned b = BinCounts(cc.reference, cc.current, nr, nc, false);
      const double v = stats::JensenShannon(b.reference, b.current);
      Decide(d, v, v);
      break;
    }
    case StatTest::kPsi: {
      const Binned b = BinCounts(cc.reference, cc.current, nr, nc, true);
      const double v = stats::Psi(b.reference, b.current);
      Decide(d, v, v);
      break;
    }
    case StatTest::kKs:
    case StatTest::kWasserstein: {
      // Tests on numbers: the categories' numeric values when they all are
      // numbers, else not applicable.
      std::vector<double> rn, cn;
      bool numeric = true;
      for (std::string_view s : ref) {
        double v;
        if (!ParseNumber(s, v)) {
          numeric = false;
          break;
        }
        rn.push_back(v);
      }
      for (std::string_view s : cur) {
        if (!numeric) break;
        double v;
        if (!ParseNumber(s, v)) {
          numeric = false;
          break;
        }
        cn.push_back(v);
      }
      if (!numeric) {
        d.tested = false;
        break;
      }
      std::sort(rn.begin(), rn.end());
      std::sort(cn.begin(), cn.end());
      if (d.test == StatTest::kKs) {
        const stats::TestResult r = stats::KsTwoSampleSorted(rn, cn);
        Decide(d, r.p_value, r.statistic);
      } else {
        const double norm = std::max(stats::PopulationStd(rn), 0.001);
        const double w = stats::WassersteinDistanceSorted(rn, cn) / norm;
        Decide(d, w, w);
      }
      break;
    }
  }
  return d;
}

void WriteNumber(JsonWriter& w, double v) {
  if (std::isnan(v)) {
    w.Null();
  } else {
    w.Double(v);
  }
}

}  // namespace

// ---------------------------------------------------------------- names

std::string_view StatTestName(StatTest t) {
  switch (t) {
    case StatTest::kAuto:
      return "auto";
    case StatTest::kKs:
      return "ks";
    case StatTest::kChiSquare:
      return "chisquare";
    case StatTest::kZ:
      return "z";
    case StatTest::kWasserstein:
      return "wasserstein";
    case StatTest::kJensenShannon:
      return "jensenshannon";
    case StatTest::kPsi:
      return "psi";
  }
  return "auto";
}

Result<StatTest> ParseStatTest(std::string_view name) {
  for (StatTest t : {StatTest::kAuto, StatTest::kKs, StatTest::kChiSquare, StatTest::kZ,
                     StatTest::kWasserstein, StatTest::kJensenShannon, StatTest::kPsi}) {
    if (StatTestName(t) == name) return t;
  }
  return InvalidArgument("unknown drift test '" + std::string(name) +
                         "' (accepted: ks, chisquare, z, wasserstein, jensenshannon, psi, auto)");
}

bool IsPValueTest(StatTest t) {
  return t == StatTest::kKs || t == StatTest::kChiSquare || t == StatTest::kZ;
}

double DefaultThreshold(StatTest t) { return IsPValueTest(t) ? 0.05 : 0.1; }

StatTest DefaultTest(ColumnKind kind, int64_t reference_count, int64_t distinct_values) {
  const int64_t u = distinct_values;
  if (reference_count <= 1000) {
    if (kind == ColumnKind::kNumeric && u > 5) return StatTest::kKs;
    return u > 2 ? StatTest::kChiSquare : StatTest::kZ;
  }
  if (kind == ColumnKind::kNumeric && u > 5) return StatTest::kWasserstein;
  return StatTest::kJensenShannon;
}

// -------------------------------------------------------------- binning

Binned BinNumeric(std::span<const double> reference, std::span<const double> current,
                  bool fill_zeros) {
  std::vector<double> r(reference.begin(), reference.end());
  std::vector<double> c(current.begin(), current.end());
  std::sort(r.begin(), r.end());
  std::sort(c.begin(), c.end());
  return BinNumericSorted(r, c, fill_zeros);
}

Binned BinCategorical(std::span<const std::string> reference,
                      std::span<const std::string> current, bool fill_zeros) {
  if (reference.empty() || current.empty()) return {};
  const CategoryCounts cc = CountCategories(reference, current);
  return BinCounts(cc.reference, cc.current, static_cast<double>(reference.size()),
                   static_cast<double>(current.size()), fill_zeros);
}

// ---------------------------------------------------------------- drift

Result<DriftReport> ComputeDrift(const Table& reference, const Table& current,
                                 const DriftOptions& options) {
  DriftReport report;
  report.reference_rows = reference.rows;
  report.current_rows = current.rows;
  report.drift_share_threshold = options.drift_share;
  for (const Column& c : reference.columns) {
    if (current.Find(c.name) == nullptr) report.only_in_reference.push_back(c.name);
  }
  for (const Column& c : current.columns) {
    if (reference.Find(c.name) == nullptr) report.only_in_current.push_back(c.name);
  }
  std::vector<std::pair<const Column*, const Column*>> pairs;
  if (!options.columns.empty()) {
    for (const std::string& name : options.columns) {
      if (reference.Find(name) == nullptr) {
        return InvalidArgument("column '" + name + "' is not in the reference table");
      }
      if (current.Find(name) == nullptr) {
        return InvalidArgument("column '" + name + "' is not in the current table");
      }
    }
    for (const Column& c : reference.columns) {
      if (std::find(options.columns.begin(), options.columns.end(), c.name) !=
          options.columns.end()) {
        pairs.emplace_back(&c, current.Find(c.name));
      }
    }
  } else {
    for (const Column& c : reference.columns) {
      if (const Column* cur = current.Find(c.name)) pairs.emplace_back(&c, cur);
    }
  }

  report.columns.resize(pairs.size());
  auto run = [&](size_t i) {
    const auto [ref, cur] = pairs[i];
    if (ref->kind == ColumnKind::kNumeric && cur->kind == ColumnKind::kNumeric) {
      report.columns[i] = NumericDrift(*ref, *cur, options);
    } else {
      report.columns[i] = CategoricalDrift(*ref, *cur, options);
    }
  };
  const int threads =
      static_cast<int>(std::min<size_t>(static_cast<size_t>(ThreadCount(options.threads)),
                                        pairs.size()));
  if (threads <= 1) {
    for (size_t i = 0; i < pairs.size(); ++i) run(i);
  } else {
    std::atomic<size_t> next{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        for (size_t i = next++; i < pairs.size(); i = next++) run(i);
      });
    }
    for (auto& w : workers) w.join();
  }

  int64_t tested = 0;
  for (const ColumnDrift& d : report.columns) {
    if (d.tested) ++tested;
    if (d.drifted) ++report.drifted_columns;
  }
  report.drift_share =
      tested == 0 ? 0.0 : static_cast<double>(report.drifted_columns) / static_cast<double>(tested);
  report.dataset_drift = tested > 0 && report.drift_share >= options.drift_share;
  return report;
}

// -------------------------------------------------------------- quality

namespace {

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  return h;
}

uint64_t CellHash(const Column& c, size_t r) {
  if (c.kind == ColumnKind::kNumeric) {
    const double v = c.numbers[r];
    if (std::isnan(v)) return 0x7ff8dead;
    const double z = v == 0 ? 0.0 : v;  // -0 == 0
    uint64_t bits;
    std::memcpy(&bits, &z, sizeof bits);
    return bits;
  }
  if (c.missing[r]) return 0x7ff8dead;
  return std::hash<std::string>{}(c.strings[r]);
}

bool CellEqual(const Column& c, size_t a, size_t b) {
  if (c.kind == ColumnKind::kNumeric) {
    const double x = c.numbers[a], y = c.numbers[b];
    if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
    return x == y;
  }
  if (c.missing[a] || c.missing[b]) return c.missing[a] && c.missing[b];
  return c.strings[a] == c.strings[b];
}

}  // namespace

QualityReport ComputeQuality(const Table& reference, const Table& current,
                             const std::vector<std::string>& expected_columns) {
  QualityReport q;
  q.rows = current.rows;
  const std::vector<std::string> expected =
      expected_columns.empty() ? reference.Names() : expected_columns;
  for (const std::string& name : expected) {
    if (current.Find(name) == nullptr) q.missing_columns.push_back(name);
  }
  for (const Column& c : current.columns) {
    ColumnQuality cq;
    cq.column = c.name;
    cq.type_violations = c.type_violations;
    const Column* ref = reference.Find(c.name);
    const auto n = static_cast<size_t>(c.size());
    if (c.kind == ColumnKind::kNumeric) {
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      bool have_range = false;
      if (ref != nullptr && ref->kind == ColumnKind::kNumeric) {
        for (double v : ref->numbers) {
          if (std::isnan(v)) continue;
          lo = std::min(lo, v);
          hi = std::max(hi, v);
          have_range = true;
        }
      }
      if (have_range) {
        cq.reference_min = lo;
        cq.reference_max = hi;
      }
      bool seen = false;
      double first = 0;
      bool constant = true;
      for (size_t r = 0; r < n; ++r) {
        const double v = c.numbers[r];
        if (std::isnan(v)) {
          ++cq.missing;
          continue;
        }
        if (have_range && (v < lo || v > hi)) ++cq.out_of_range;
        if (!seen) {
          seen = true;
          first = v;
        } else if (v != first) {
          constant = false;
        }
      }
      cq.constant = constant;
    } else {
      std::unordered_set<std::string> known;
      if (ref != nullptr) {
        for (int64_t r = 0; r < ref->size(); ++r) {
          if (!ref->IsMissing(r)) known.insert(ref->Text(r));
        }
      }
      std::unordered_set<std::string_view> new_values;
      const std::string* first = nullptr;
      bool constant = true;
      for (size_t r = 0; r < n; ++r) {
        if (c.missing[r]) {
          ++cq.missing;
          continue;
        }
        const std::string& s = c.strings[r];
        if (ref != nullptr && !known.contains(s)) {
          ++cq.new_categories;
          new_values.insert(s);
        }
        if (first == nullptr) {
          first = &s;
        } else if (s != *first) {
          constant = false;
        }
      }
      cq.distinct_new_categories = static_cast<int64_t>(new_values.size());
      cq.constant = constant;
    }
    q.columns.push_back(std::move(cq));
  }
  // Duplicated rows: equal to an earlier row in every column.
  if (!current.columns.empty() && current.rows > 1) {
    const auto rows = static_cast<size_t>(current.rows);
    std::vector<uint64_t> hashes(rows, 0x12345);
    for (const Column& c : current.columns) {
      if (static_cast<size_t>(c.size()) != rows) continue;
      for (size_t r = 0; r < rows; ++r) hashes[r] = Mix(hashes[r], CellHash(c, r));
    }
    // Rows ordered by (hash, row): equal rows are neighbours, and within a
    // run of one hash the earlier rows come first. Cheaper than a hash map
    // of buckets on a million rows.
    std::vector<std::pair<uint64_t, size_t>> order(rows);
    for (size_t r = 0; r < rows; ++r) order[r] = {hashes[r], r};
    std::sort(order.begin(), order.end());
    auto rows_equal = [&](size_t a, size_t b) {
      for (const Column& c : current.columns) {
        if (static_cast<size_t>(c.size()) != rows) continue;
        if (!CellEqual(c, a, b)) return false;
      }
      return true;
    };
    std::vector<size_t> distinct;  // distinct rows of the current hash run
    for (size_t i = 0; i < rows; ++i) {
      if (i == 0 || order[i].first != order[i - 1].first) distinct.clear();
      const size_t r = order[i].second;
      bool dup = false;
      for (size_t other : distinct) {
        if (rows_equal(other, r)) {
          dup = true;
          break;
        }
      }
      if (dup) {
        ++q.duplicated_rows;
      } else {
        distinct.push_back(r);
      }
    }
  }
  return q;
}

// ---------------------------------------------------------- performance

Result<Task> ParseTask(std::string_view name) {
  if (name == "classification") return Task::kClassification;
  if (name == "regression") return Task::kRegression;
  if (name == "auto" || name.empty()) return Task::kAuto;
  return InvalidArgument("unknown task '" + std::string(name) +
                         "' (accepted: classification, regression, auto)");
}

Result<PerformanceReport> ComputePerformance(const std::vector<std::string>& labels,
                                             const std::vector<std::string>& predictions,
                                             const std::vector<double>& scores,
                                             const PerformanceOptions& options) {
  if (labels.size() != predictions.size()) {
    return InvalidArgument("performance: " + std::to_string(labels.size()) + " labels but " +
                           std::to_string(predictions.size()) + " predictions");
  }
  PerformanceReport report;
  report.rows = static_cast<int64_t>(labels.size());
  Task task = options.task;
  if (task == Task::kAuto) {
    task = Task::kRegression;
    std::unordered_set<std::string_view> distinct;
    for (const std::string& l : labels) {
      double v;
      if (!ParseNumber(l, v)) {
        task = Task::kClassification;
        break;
      }
      distinct.insert(l);
    }
    if (task == Task::kRegression && distinct.size() <= 20) task = Task::kClassification;
  }
  report.task = task;
  if (task == Task::kRegression) {
    std::vector<double> y, p;
    y.reserve(labels.size());
    p.reserve(labels.size());
    for (size_t i = 0; i < labels.size(); ++i) {
      double a, b;
      if (!ParseNumber(labels[i], a)) {
        return InvalidArgument("regression: label '" + labels[i] + "' is not a number");
      }
      if (!ParseNumber(predictions[i], b)) {
        return InvalidArgument("regression: prediction '" + predictions[i] +
                               "' is not a number");
      }
      y.push_back(a);
      p.push_back(b);
    }
    report.regression = stats::Regression(y, p);
  } else {
    std::span<const double> s;
    if (scores.size() == labels.size()) s = scores;
    report.classification = stats::Classification(labels, predictions, options.positive_label, s);
  }
  return report;
}

// ------------------------------------------------------------ rendering

std::string DriftReportToJson(const DriftReport& r) {
  JsonWriter w;
  w.BeginObject();
  w.Field("reference_rows", r.reference_rows);
  w.Field("current_rows", r.current_rows);
  w.Field("drifted_columns", r.drifted_columns);
  w.Key("drift_share");
  WriteNumber(w, r.drift_share);
  w.Key("dataset_drift").Bool(r.dataset_drift);
  w.Key("drift_share_threshold");
  WriteNumber(w, r.drift_share_threshold);
  w.Key("columns").BeginArray();
  for (const ColumnDrift& d : r.columns) {
    w.BeginObject();
    w.Field("column", d.column);
    w.Field("kind", ColumnKindName(d.kind));
    w.Field("test", StatTestName(d.test));
    w.Key("tested").Bool(d.tested);
    w.Key("score");
    WriteNumber(w, d.score);
    w.Key("statistic");
    WriteNumber(w, d.statistic);
    w.Key("threshold");
    WriteNumber(w, d.threshold);
    w.Key("drifted").Bool(d.drifted);
    w.Field("reference_count", d.reference_count);
    w.Field("current_count", d.current_count);
    w.Field("distinct_values", d.distinct_values);
    w.EndObject();
  }
  w.EndArray();
  w.Key("only_in_reference").BeginArray();
  for (const auto& s : r.only_in_reference) w.String(s);
  w.EndArray();
  w.Key("only_in_current").BeginArray();
  for (const auto& s : r.only_in_current) w.String(s);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string QualityReportToJson(const QualityReport& r) {
  const double rows = static_cast<double>(r.rows);
  auto rate = [&](int64_t n) { return r.rows > 0 ? static_cast<double>(n) / rows : 0.0; };
  JsonWriter w;
  w.BeginObject();
  w.Field("rows", r.rows);
  w.Field("duplicated_rows", r.duplicated_rows);
  w.Key("duplicate_rate");
  WriteNumber(w, rate(r.duplicated_rows));
  w.Key("missing_columns").BeginArray();
  for (const auto& s : r.missing_columns) w.String(s);
  w.EndArray();
  w.Key("columns").BeginArray();
  for (const ColumnQuality& c : r.columns) {
    w.BeginObject();
    w.Field("column", c.column);
    w.Field("missing", c.missing);
    w.Key("missing_rate");
    WriteNumber(w, rate(c.missing));
    w.Field("type_violations", c.type_violations);
    w.Field("out_of_range", c.out_of_range);
    w.Key("out_of_range_rate");
    WriteNumber(w, rate(c.out_of_range));
    w.Field("new_categories", c.new_categories);
    w.Key("new_category_rate");
    WriteNumber(w, rate(c.new_categories));
    w.Field("distinct_new_categories", c.distinct_new_categories);
    w.Key("constant").Bool(c.constant);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string PerformanceReportToJson(const PerformanceReport& r) {
  JsonWriter w;
  w.BeginObject();
  w.Field("task", r.task == Task::kRegression ? "regression" : "classification");
  w.Field("rows", r.rows);
  if (r.classification) {
    const auto& m = *r.classification;
    w.Key("accuracy");
    WriteNumber(w, m.accuracy);
    w.Key("precision");
    WriteNumber(w, m.precision);
    w.Key("recall");
    WriteNumber(w, m.recall);
    w.Key("f1");
    WriteNumber(w, m.f1);
    w.Key("roc_auc");
    WriteNumber(w, m.roc_auc);
    w.Key("log_loss");
    WriteNumber(w, m.log_loss);
  }
  if (r.regression) {
    const auto& m = *r.regression;
    w.Key("mae");
    WriteNumber(w, m.mae);
    w.Key("rmse");
    WriteNumber(w, m.rmse);
    w.Key("r2");
    WriteNumber(w, m.r2);
  }
  w.EndObject();
  return w.Take();
}

}  // namespace cairn::monitor
