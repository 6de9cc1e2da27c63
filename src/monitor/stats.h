#pragma once
// The statistics behind drift detection and model performance. Pure
// functions over spans of doubles; no allocation beyond what the algorithm
// needs; deterministic. Each one is specified by the SciPy / scikit-learn /
// NumPy function it must agree with (to ~1e-9 relative unless said), and
// checked against it in tests/compat/test_monitor_stats.py. Inputs never
// contain NaN (callers drop missing values first) unless a function says so.
//
// Preconditions that callers cannot always guarantee (an empty sample, a
// zero expected frequency) are not errors: the function returns NaN or the
// documented value, so a report can say "not tested" instead of failing.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace cairn::monitor::stats {

struct TestResult {
  double statistic = 0;
  double p_value = 0;  // NaN when the test has none
};

// ----------------------------------------------------------- distributions

// Standard normal survival function, 1 - Phi(z) (scipy.stats.norm.sf).
double NormalSf(double z);
// Chi-squared survival function with `dof` degrees of freedom
// (scipy.stats.chi2.sf), via the regularized upper incomplete gamma.
double ChiSquaredSf(double x, double dof);
// Survival function of the two-sided one-sample Kolmogorov statistic D_n
// (scipy.stats.kstwo.sf(d, n)): exact for small n, accurate approximations
// for large n (relative error < 1e-6 where the value is > 1e-10).
double KolmogorovSf(double d, int64_t n);

// ------------------------------------------------------------------- tests

// scipy.stats.ks_2samp(a, b) (two-sided, method="auto"): the statistic
// D = max |F_a - F_b|; the p-value exact (the lattice-path distribution of
// the two-sample statistic) when max(n, m) <= 10000, else
// kstwo.sf(D, round(n*m/(n+m))). NaN p-value when a sample is empty.
TestResult KsTwoSample(std::span<const double> a, std::span<const double> b);
// Same, for inputs already sorted ascending (no copy).
TestResult KsTwoSampleSorted(std::span<const double> a, std::span<const double> b);

// scipy.stats.chisquare(observed, expected): sum((o-e)^2/e), dof = k-1.
// An expected frequency of 0 with an observed > 0 gives statistic +inf and
// p-value 0 (SciPy does the same).
TestResult ChiSquare(std::span<const double> observed, std::span<const double> expected);

// Evidently's two-proportion z-test: the share of `successes_a` in n_a
// against `successes_b` in n_b with the pooled proportion; two-sided
// p-value 2*NormalSf(|z|). Equal proportions (including both 0 or 1) give
// z = 0, p = 1.
TestResult ProportionsZTest(int64_t successes_a, int64_t n_a, int64_t successes_b, int64_t n_b);

// ---------------------------------------------------------------- distances

// scipy.stats.wasserstein_distance(a, b) (1-D, unweighted).
double WassersteinDistance(std::span<const double> a, std::span<const double> b);
double WassersteinDistanceSorted(std::span<const double> a, std::span<const double> b);
// scipy.spatial.distance.jensenshannon(p, q) (natural log): p and q are
// normalized to sum 1 first; the square root of the JS divergence.
double JensenShannon(std::span<const double> p, std::span<const double> q);
// Population stability index: sum((r - c) * ln(r / c)) over bins of two
// frequency vectors (callers replace zeros first, see drift.h).
double Psi(std::span<const double> reference, std::span<const double> current);

// numpy.histogram_bin_edges(values, bins="sturges"): ceil(log2(n)) + 1 equal
// bins over [min, max] (a single value v gives [v-0.5, v+0.5]).
std::vector<double> SturgesBinEdges(std::span<const double> values);
// numpy.histogram(values, edges)[0]: the last bin includes its right edge;
// values outside are not counted.
std::vector<int64_t> Histogram(std::span<const double> values, std::span<const double> edges);

// `values` sorted ascending (a copy; no NaN in `values`). Large inputs use a
// radix sort, several times faster than std::sort on a million values.
std::vector<double> SortedCopy(std::span<const double> values);

// numpy.std(values) (ddof = 0). 0 for fewer than one value.
double PopulationStd(std::span<const double> values);

// -------------------------------------------------------------- performance

// scikit-learn's metrics on classes given as strings.
struct ClassificationMetrics {
  double accuracy = 0;
  double precision = 0;  // binary: of `positive`; more classes: macro average
  double recall = 0;
  double f1 = 0;
  double roc_auc = 0;    // NaN without scores or with one class in the labels
  double log_loss = 0;   // NaN without scores
  int64_t rows = 0;
};
// `labels` and `predictions` are the true and predicted classes, one per
// row. Binary when the union of both holds at most two classes; `positive`
// is then the positive class (precision_score(..., pos_label=positive),
// zero_division=0). More classes: average="macro" over the union of
// classes (zero_division=0). `scores` (optional, one per row): the
// predicted probability of `positive` (binary only): roc_auc_score and
// log_loss (probabilities clipped to [eps, 1-eps], eps = 2.22e-16, as
// scikit-learn >= 1.5).
ClassificationMetrics Classification(std::span<const std::string> labels,
                                     std::span<const std::string> predictions,
                                     const std::string& positive,
                                     std::span<const double> scores = {});

struct RegressionMetrics {
  double mae = 0;
  double rmse = 0;
  double r2 = 0;  // r2_score; NaN for fewer than two rows; constant labels: 1 if perfect else 0 (sklearn's force_finite)
  int64_t rows = 0;
};
RegressionMetrics Regression(std::span<const double> labels, std::span<const double> predictions);

}  // namespace cairn::monitor::stats
