#include "monitor/stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

namespace cairn::monitor::stats {
namespace {

// Relative comparison for values that span many orders of magnitude.
void ExpectRel(double actual, double expected, double rtol = 1e-12) {
  EXPECT_NEAR(actual, expected, rtol * std::fabs(expected)) << "expected " << expected;
}

// ------------------------------------------------------------ distributions

TEST(NormalSfTest, KnownTableValues) {
  EXPECT_DOUBLE_EQ(NormalSf(0.0), 0.5);
  ExpectRel(NormalSf(1.959963984540054), 0.025, 1e-13);
  ExpectRel(NormalSf(-1.6448536269514722), 0.95, 1e-13);
  // Tail: Mills ratio bound, 1 - Phi(10) = 7.61985302416e-24.
  ExpectRel(NormalSf(10.0), 7.619853024160527e-24, 1e-12);
  EXPECT_EQ(NormalSf(-INFINITY), 1.0);
  EXPECT_EQ(NormalSf(INFINITY), 0.0);
}

TEST(ChiSquaredSfTest, ClosedForms) {
  // dof 2: Q = exp(-x/2); dof 4: exp(-x/2)(1 + x/2); dof 1: erfc(sqrt(x/2)).
  for (double x : {0.01, 0.5, 1.0, 3.0, 10.0, 40.0, 200.0}) {
    ExpectRel(ChiSquaredSf(x, 2), std::exp(-x / 2), 1e-12);
    ExpectRel(ChiSquaredSf(x, 4), std::exp(-x / 2) * (1 + x / 2), 1e-12);
    ExpectRel(ChiSquaredSf(x, 1), std::erfc(std::sqrt(x / 2)), 1e-11);
  }
  // Deep tail keeps relative accuracy (no 1 - P cancellation).
  ExpectRel(ChiSquaredSf(1000.0, 2), std::exp(-500.0), 1e-11);
  // Known table value: the 5% critical value of chi2(10) is 18.307038.
  ExpectRel(ChiSquaredSf(18.307038053275146, 10), 0.05, 1e-9);
}

TEST(ChiSquaredSfTest, Edges) {
  EXPECT_EQ(ChiSquaredSf(0.0, 3), 1.0);
  EXPECT_EQ(ChiSquaredSf(-1.0, 3), 1.0);
  EXPECT_TRUE(std::isnan(ChiSquaredSf(1.0, 0)));
  EXPECT_EQ(ChiSquaredSf(INFINITY, 3), 0.0);
}

TEST(KolmogorovSfTest, ExactSmallCases) {
  // n = 1: D = max(U, 1-U), P(D > d) = 2(1 - d) for d >= 1/2.
  EXPECT_DOUBLE_EQ(KolmogorovSf(0.75, 1), 0.5);
  EXPECT_EQ(KolmogorovSf(0.4, 1), 1.0);  // d <= 1/(2n)
  // Ruben-Gambino: P(D_n < d) = n!/n^n (2nd - 1)^n for 1/(2n) < d <= 1/n.
  ExpectRel(KolmogorovSf(0.25, 3), 1.0 - 6.0 / 27.0 * 0.125, 1e-13);
  // d >= 1 - 1/n: 2 (1-d)^n.
  ExpectRel(KolmogorovSf(0.8, 3), 2 * std::pow(0.2, 3), 1e-13);
  EXPECT_EQ(KolmogorovSf(1.0, 5), 0.0);
  EXPECT_EQ(KolmogorovSf(0.0, 5), 1.0);
  EXPECT_TRUE(std::isnan(KolmogorovSf(0.1, 0)));
}

TEST(KolmogorovSfTest, PublishedCriticalValues) {
  // Two-sided critical values of D_n from Miller (1956) / Massey (1951) tables.
  EXPECT_NEAR(KolmogorovSf(0.40925, 10), 0.05, 2e-4);
  EXPECT_NEAR(KolmogorovSf(0.48893, 10), 0.01, 1e-4);
  EXPECT_NEAR(KolmogorovSf(0.29408, 20), 0.05, 2e-4);
  EXPECT_NEAR(KolmogorovSf(0.18841, 50), 0.05, 2e-4);
}

TEST(KolmogorovSfTest, LargeNApproachesKolmogorovLimit) {
  // P(sqrt(n) D_n > x) -> 2 sum (-1)^(k-1) exp(-2 k^2 x^2), error O(1/sqrt(n)).
  for (double x : {0.6, 0.9, 1.2, 1.36, 1.8}) {
    double limit = 0;
    for (int k = 1; k < 100; ++k) limit += 2 * ((k % 2) ? 1 : -1) * std::exp(-2.0 * k * k * x * x);
    const int64_t n = 1000000;
    const double sf = KolmogorovSf(x / std::sqrt(static_cast<double>(n)), n);
    EXPECT_NEAR(sf, limit, 2e-3 * limit) << x;
  }
}

TEST(KolmogorovSfTest, ContinuousAcrossMethodBoundaries) {
  // n = 140 (matrix method) vs n = 141 (Pelz-Good / Smirnov): neighbours in n
  // give neighbouring values, and each region is monotone in d.
  for (double t : {0.5, 1.0, 2.0, 3.0}) {
    const double a = KolmogorovSf(std::sqrt(t / 140), 140);
    const double b = KolmogorovSf(std::sqrt(t / 141), 141);
    EXPECT_NEAR(a, b, 2e-3 * a) << t;
  }
  double prev = 1.0;
  for (double d = 0.001; d < 1; d += 0.001) {
    const double v = KolmogorovSf(d, 5000);
    EXPECT_LE(v, prev + 1e-12) << d;
    prev = v;
  }
}

// -------------------------------------------------------------------- tests

// P(D >= observed) by enumerating every interleaving of n a's and m b's.
double BruteForceKsPValue(int n, int m, double observed) {
  int64_t total = 0;
  int64_t at_least = 0;
  const int len = n + m;
  for (uint32_t mask = 0; mask < (1u << len); ++mask) {
    if (__builtin_popcount(mask) != n) continue;
    ++total;
    int i = 0;
    int j = 0;
    double d = 0;
    for (int k = 0; k < len; ++k) {
      if (mask & (1u << k)) {
        ++i;
      } else {
        ++j;
      }
      d = std::max(d, std::fabs(static_cast<double>(i) / n - static_cast<double>(j) / m));
    }
    if (d >= observed - 1e-12) ++at_least;
  }
  return static_cast<double>(at_least) / static_cast<double>(total);
}

TEST(KsTwoSampleTest, HandComputedSmallCase) {
  const std::vector<double> a = {1, 2, 3, 4};
  const std::vector<double> b = {2.5, 5, 6};
  const TestResult r = KsTwoSample(a, b);
  EXPECT_DOUBLE_EQ(r.statistic, 2.0 / 3.0);
  // 14 of the C(7,3) = 35 interleavings reach D >= 2/3.
  ExpectRel(r.p_value, 14.0 / 35.0, 1e-13);
  ExpectRel(r.p_value, BruteForceKsPValue(4, 3, 2.0 / 3.0), 1e-13);
}

TEST(KsTwoSampleTest, ExactMatchesEnumeration) {
  // Distinct values: a's are the even ones among the first, shifted b's.
  const std::vector<std::pair<int, int>> sizes = {{5, 5}, {6, 4}, {3, 7}, {8, 6}, {1, 9}, {9, 9}};
  for (auto [n, m] : sizes) {
    std::vector<double> a(n);
    std::vector<double> b(m);
    for (int i = 0; i < n; ++i) a[i] = 2.0 * i;
    for (int j = 0; j < m; ++j) b[j] = 1.3 * j + 0.9;
    const TestResult r = KsTwoSample(a, b);
    ExpectRel(r.p_value, BruteForceKsPValue(n, m, r.statistic), 1e-12);
  }
}

TEST(KsTwoSampleTest, TiesAcrossSamples) {
  // a = {1,1,2}, b = {1,2,2}: after 1: 2/3 vs 1/3 -> D = 1/3.
  const std::vector<double> a = {1, 1, 2};
  const std::vector<double> b = {1, 2, 2};
  const TestResult r = KsTwoSample(a, b);
  EXPECT_DOUBLE_EQ(r.statistic, 1.0 / 3.0);
  // D = 1/3 is the smallest positive value for n = m = 3, and every path
  // reaches it at its first step: p = 1.
  EXPECT_DOUBLE_EQ(r.p_value, 1.0);
}

TEST(KsTwoSampleTest, UnsortedInputEqualsSorted) {
  const std::vector<double> a = {5, 1, 4, 2, 8, 3};
  const std::vector<double> b = {7, 9, 6, 10};
  std::vector<double> sa = a;
  std::vector<double> sb = b;
  std::sort(sa.begin(), sa.end());
  std::sort(sb.begin(), sb.end());
  const TestResult u = KsTwoSample(a, b);
  const TestResult s = KsTwoSampleSorted(sa, sb);
  EXPECT_EQ(u.statistic, s.statistic);
  EXPECT_EQ(u.p_value, s.p_value);
  // 5 of 6 a's are below every b: D = 5/6 (after value 5: F_a = 5/6, F_b = 0).
  EXPECT_DOUBLE_EQ(u.statistic, 5.0 / 6.0);
}

TEST(KsTwoSampleTest, EmptyAndIdentical) {
  const std::vector<double> empty;
  const std::vector<double> one = {1.0};
  const TestResult e = KsTwoSample(empty, one);
  EXPECT_TRUE(std::isnan(e.statistic));
  EXPECT_TRUE(std::isnan(e.p_value));
  const std::vector<double> same = {3, 3, 3};
  const TestResult s = KsTwoSample(same, same);
  EXPECT_EQ(s.statistic, 0.0);
  EXPECT_EQ(s.p_value, 1.0);
}

TEST(KsTwoSampleTest, LargeSamplesUseTheKolmogorovDistribution) {
  // max(n, m) > 10000: p = KolmogorovSf(D, round(n m / (n + m))).
  std::vector<double> a(10001);
  std::vector<double> b(400);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<double>(i) / a.size();
  for (size_t j = 0; j < b.size(); ++j) b[j] = 0.05 + static_cast<double>(j) / b.size();
  const TestResult r = KsTwoSampleSorted(a, b);
  const int64_t en = std::llround(10001.0 * 400.0 / 10401.0);
  EXPECT_EQ(r.p_value, KolmogorovSf(r.statistic, en));
  EXPECT_GT(r.statistic, 0.04);
  EXPECT_LT(r.statistic, 0.06);
}

TEST(KsTwoSampleTest, ExactStaysFiniteForLargeSamples) {
  // 10000 x 10000 with a clear shift: the p-value is tiny but a number.
  std::vector<double> a(10000);
  std::vector<double> b(10000);
  for (int i = 0; i < 10000; ++i) {
    a[i] = i;
    b[i] = i + 500;
  }
  const TestResult r = KsTwoSampleSorted(a, b);
  EXPECT_DOUBLE_EQ(r.statistic, 0.05);
  EXPECT_GT(r.p_value, 0.0);
  EXPECT_LT(r.p_value, 1e-8);
  // Kolmogorov limit with n_eff = 5000: 2 exp(-2 * 5000 * 0.0025) = 2 e^-25.
  EXPECT_NEAR(std::log(r.p_value), std::log(2 * std::exp(-25.0)), 0.5);
}

TEST(ChiSquareTest, HandComputed) {
  const std::vector<double> obs = {10, 20, 30};
  const std::vector<double> exp = {20, 20, 20};
  const TestResult r = ChiSquare(obs, exp);
  EXPECT_DOUBLE_EQ(r.statistic, 10.0);
  ExpectRel(r.p_value, std::exp(-5.0), 1e-12);  // chi2(2) sf = exp(-x/2)
}

TEST(ChiSquareTest, ZeroExpectedWithObservationsIsInfinite) {
  const std::vector<double> obs = {3, 1};
  const std::vector<double> exp = {4, 0};
  const TestResult r = ChiSquare(obs, exp);
  EXPECT_TRUE(std::isinf(r.statistic));
  EXPECT_EQ(r.p_value, 0.0);
}

TEST(ChiSquareTest, PerfectFitAndOneCategory) {
  const std::vector<double> v = {5, 7};
  const TestResult r = ChiSquare(v, v);
  EXPECT_EQ(r.statistic, 0.0);
  EXPECT_EQ(r.p_value, 1.0);
  const std::vector<double> one = {5};
  EXPECT_TRUE(std::isnan(ChiSquare(one, one).p_value));  // dof 0, as SciPy
}

TEST(ProportionsZTest, HandComputed) {
  // 30/100 vs 50/100: pooled 0.4, se = sqrt(0.24 * 0.02).
  const TestResult r = ProportionsZTest(30, 100, 50, 100);
  const double z = -0.2 / std::sqrt(0.24 * 0.02);
  ExpectRel(r.statistic, z, 1e-13);
  ExpectRel(r.p_value, std::erfc(-z / std::sqrt(2.0)), 1e-12);
}

TEST(ProportionsZTest, EqualProportionsAndDegenerateCases) {
  EXPECT_EQ(ProportionsZTest(0, 10, 0, 20).p_value, 1.0);
  EXPECT_EQ(ProportionsZTest(10, 10, 5, 5).statistic, 0.0);
  EXPECT_EQ(ProportionsZTest(5, 10, 10, 20).p_value, 1.0);
  EXPECT_TRUE(std::isnan(ProportionsZTest(0, 0, 1, 2).p_value));
  // All successes on one side, none on the other: a finite, strong signal.
  const TestResult r = ProportionsZTest(10, 10, 0, 10);
  EXPECT_NEAR(r.statistic, std::sqrt(20.0), 1e-12);  // (1 - 0) / sqrt(.25 * .2)
}

// ---------------------------------------------------------------- distances

TEST(WassersteinTest, ShiftAndUnequalSizes) {
  const std::vector<double> a = {0, 1, 3};
  const std::vector<double> b = {5, 6, 8};
  EXPECT_DOUBLE_EQ(WassersteinDistance(a, b), 5.0);
  const std::vector<double> c = {0, 1};
  const std::vector<double> d = {0};
  EXPECT_DOUBLE_EQ(WassersteinDistance(c, d), 0.5);
  // Unsorted input equals sorted input.
  const std::vector<double> u = {3, 0, 1};
  EXPECT_DOUBLE_EQ(WassersteinDistance(u, b), WassersteinDistanceSorted(a, b));
  const std::vector<double> empty;
  EXPECT_TRUE(std::isnan(WassersteinDistance(empty, a)));
  EXPECT_EQ(WassersteinDistance(a, a), 0.0);
}

TEST(WassersteinTest, LargeUnsortedInputMatchesSortedInput) {
  // Above 1024 values the copy is radix-sorted: negatives, -0.0, +0.0,
  // duplicates and wide magnitudes must come out in numeric order.
  std::vector<double> a;
  std::vector<double> b;
  uint64_t state = 12345;
  auto next = [&state]() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;  // [0, 1)
  };
  for (int i = 0; i < 5000; ++i) {
    const double u = next();
    a.push_back((u - 0.5) * std::pow(10.0, static_cast<int>(next() * 12) - 6));
    b.push_back(std::round((next() - 0.3) * 20) / 4);
  }
  a.push_back(-0.0);
  a.push_back(0.0);
  std::vector<double> sa = a;
  std::vector<double> sb = b;
  std::sort(sa.begin(), sa.end());
  std::sort(sb.begin(), sb.end());
  EXPECT_EQ(WassersteinDistance(a, b), WassersteinDistanceSorted(sa, sb));
  const TestResult u = KsTwoSample(a, b);
  const TestResult s = KsTwoSampleSorted(sa, sb);
  EXPECT_EQ(u.statistic, s.statistic);
  EXPECT_EQ(u.p_value, s.p_value);
  EXPECT_GT(u.statistic, 0.1);
}

TEST(JensenShannonTest, KnownValues) {
  const std::vector<double> p = {1, 0};
  const std::vector<double> q = {0, 1};
  ExpectRel(JensenShannon(p, q), std::sqrt(std::log(2.0)), 1e-14);
  // Normalisation first: scaled vectors give the same answer.
  const std::vector<double> p2 = {2, 0};
  const std::vector<double> q2 = {0, 5};
  ExpectRel(JensenShannon(p2, q2), std::sqrt(std::log(2.0)), 1e-14);
  const std::vector<double> r = {1, 2, 3};
  const std::vector<double> r3 = {3, 6, 9};
  EXPECT_NEAR(JensenShannon(r, r3), 0.0, 1e-7);
  // p = (1/2, 1/2), q = (1, 0): m = (3/4, 1/4).
  const std::vector<double> h = {1, 1};
  const std::vector<double> o = {1, 0};
  const double js = 0.5 * (0.5 * std::log(0.5 / 0.75) + 0.5 * std::log(0.5 / 0.25)) +
                    0.5 * (1.0 * std::log(1.0 / 0.75));
  ExpectRel(JensenShannon(h, o), std::sqrt(js), 1e-14);
}

TEST(PsiTest, HandComputed) {
  const std::vector<double> r = {0.5, 0.5};
  const std::vector<double> c = {0.25, 0.75};
  ExpectRel(Psi(r, c), 0.25 * std::log(3.0), 1e-14);
  EXPECT_EQ(Psi(r, r), 0.0);
}

// ---------------------------------------------------------------- binning

TEST(SturgesTest, EdgesForPowersOfTwoAndConstants) {
  std::vector<double> v(8);
  std::iota(v.begin(), v.end(), 1.0);  // 1..8: log2(8) + 1 = 4 bins over [1, 8]
  const std::vector<double> edges = SturgesBinEdges(v);
  const std::vector<double> expected = {1, 2.75, 4.5, 6.25, 8};
  EXPECT_EQ(edges, expected);
  const std::vector<double> one = {3.0};
  EXPECT_EQ(SturgesBinEdges(one), (std::vector<double>{2.5, 3.5}));
  const std::vector<double> same = {2, 2, 2, 2};
  EXPECT_EQ(SturgesBinEdges(same), (std::vector<double>{1.5, 2.5}));
  const std::vector<double> empty;
  EXPECT_EQ(SturgesBinEdges(empty), (std::vector<double>{0, 1}));
  // 1000 values: ceil(log2(1000) + 1) = 11 bins.
  std::vector<double> k(1000);
  std::iota(k.begin(), k.end(), 0.0);
  EXPECT_EQ(SturgesBinEdges(k).size(), 12u);
}

TEST(HistogramTest, RightEdgeInLastBinOutsideIgnored) {
  const std::vector<double> values = {0, 1, 1, 2, 3, 5, -1, 2.999};
  const std::vector<double> edges = {0, 1, 2, 3};
  EXPECT_EQ(Histogram(values, edges), (std::vector<int64_t>{1, 2, 3}));
  const std::vector<double> uneven = {0, 0.1, 10};
  EXPECT_EQ(Histogram(values, uneven), (std::vector<int64_t>{1, 6}));  // 1,1,2,3,5,2.999
  const std::vector<double> no_edges = {1};
  EXPECT_TRUE(Histogram(values, no_edges).empty());
}

TEST(HistogramTest, EqualWidthEdgesKeepExactEdgeSemantics) {
  // 0.1 * 3 = 0.30000000000000004: a value of 0.3 lies below that edge and
  // belongs to bin 2; the edge value itself starts bin 3.
  const std::vector<double> edges = {0.0, 0.1, 0.2, 0.1 * 3, 0.4};
  const std::vector<double> values = {0.3, 0.1 * 3, 0.1, 0.09999999999999999, 0.4, 0.0};
  EXPECT_EQ(Histogram(values, edges), (std::vector<int64_t>{2, 1, 1, 2}));
}

TEST(PopulationStdTest, Values) {
  const std::vector<double> v = {2, 4, 4, 4, 5, 5, 7, 9};
  EXPECT_DOUBLE_EQ(PopulationStd(v), 2.0);
  const std::vector<double> same = {1e9 + 0.1, 1e9 + 0.1, 1e9 + 0.1};
  EXPECT_NEAR(PopulationStd(same), 0.0, 1e-6);
  EXPECT_EQ(PopulationStd(std::vector<double>{}), 0.0);
  EXPECT_EQ(PopulationStd(std::vector<double>{42.0}), 0.0);
}

// -------------------------------------------------------------- performance

TEST(ClassificationTest, BinaryHandComputed) {
  const std::vector<std::string> labels = {"1", "0", "1", "1", "0"};
  const std::vector<std::string> preds = {"1", "1", "0", "1", "0"};
  const std::vector<double> scores = {0.9, 0.8, 0.3, 0.7, 0.2};
  const ClassificationMetrics m = Classification(labels, preds, "1", scores);
  EXPECT_EQ(m.rows, 5);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.6);
  EXPECT_DOUBLE_EQ(m.precision, 2.0 / 3.0);  // tp 2, fp 1
  EXPECT_DOUBLE_EQ(m.recall, 2.0 / 3.0);     // tp 2, fn 1
  EXPECT_DOUBLE_EQ(m.f1, 2.0 / 3.0);
  // Positive scores {.9, .3, .7} against negative {.8, .2}: 4 of 6 pairs ordered.
  EXPECT_DOUBLE_EQ(m.roc_auc, 4.0 / 6.0);
  const double ll = -(std::log(0.9) + std::log(0.2) + std::log(0.3) + std::log(0.7) + std::log(0.8)) / 5;
  ExpectRel(m.log_loss, ll, 1e-14);
}

TEST(ClassificationTest, PositiveLabelChoosesTheClass) {
  const std::vector<std::string> labels = {"yes", "no", "no", "no"};
  const std::vector<std::string> preds = {"yes", "yes", "no", "no"};
  const ClassificationMetrics yes = Classification(labels, preds, "yes");
  EXPECT_DOUBLE_EQ(yes.precision, 0.5);
  EXPECT_DOUBLE_EQ(yes.recall, 1.0);
  const ClassificationMetrics no = Classification(labels, preds, "no");
  EXPECT_DOUBLE_EQ(no.precision, 1.0);
  EXPECT_DOUBLE_EQ(no.recall, 2.0 / 3.0);
  EXPECT_TRUE(std::isnan(yes.roc_auc));  // no scores
  EXPECT_TRUE(std::isnan(yes.log_loss));
}

TEST(ClassificationTest, TiedScoresCountHalf) {
  const std::vector<std::string> labels = {"1", "0", "1", "0"};
  const std::vector<std::string> preds = {"1", "1", "1", "1"};
  const std::vector<double> scores = {0.5, 0.5, 0.9, 0.1};
  // Pairs (pos, neg): (.5,.5) tie = 1/2, (.5,.1) 1, (.9,.5) 1, (.9,.1) 1 -> 3.5/4.
  EXPECT_DOUBLE_EQ(Classification(labels, preds, "1", scores).roc_auc, 3.5 / 4);
}

TEST(ClassificationTest, ZeroDivisionAndClippedLogLoss) {
  const std::vector<std::string> labels = {"1", "1"};
  const std::vector<std::string> preds = {"0", "0"};
  const std::vector<double> scores = {0.0, 1.0};
  const ClassificationMetrics m = Classification(labels, preds, "1", scores);
  EXPECT_EQ(m.precision, 0.0);  // nothing predicted positive: zero_division = 0
  EXPECT_EQ(m.recall, 0.0);
  EXPECT_EQ(m.f1, 0.0);
  EXPECT_TRUE(std::isnan(m.roc_auc));  // one class in the labels
  // p = 0 for a positive is clipped to eps = 2.22e-16: -log(eps) = 36.04.
  const double eps = 2.220446049250313e-16;
  ExpectRel(m.log_loss, (-std::log(eps) - std::log(1 - eps)) / 2, 1e-14);
}

TEST(ClassificationTest, MulticlassMacro) {
  const std::vector<std::string> labels = {"a", "b", "c", "a"};
  const std::vector<std::string> preds = {"a", "c", "c", "b"};
  const ClassificationMetrics m = Classification(labels, preds, "a");
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
  // Per class (p, r, f1): a (1, .5, 2/3), b (0, 0, 0), c (.5, 1, 2/3).
  EXPECT_DOUBLE_EQ(m.precision, 0.5);
  EXPECT_DOUBLE_EQ(m.recall, 0.5);
  EXPECT_DOUBLE_EQ(m.f1, 4.0 / 9.0);
  const std::vector<double> scores = {0.1, 0.2, 0.3, 0.4};
  EXPECT_TRUE(std::isnan(Classification(labels, preds, "a", scores).roc_auc));  // binary only
}

TEST(ClassificationTest, Empty) {
  const std::vector<std::string> none;
  const ClassificationMetrics m = Classification(none, none, "1");
  EXPECT_EQ(m.rows, 0);
  EXPECT_TRUE(std::isnan(m.accuracy));
}

TEST(RegressionTest, HandComputed) {
  const std::vector<double> y = {1, 2, 3};
  const std::vector<double> p = {1, 2, 4};
  const RegressionMetrics m = Regression(y, p);
  EXPECT_EQ(m.rows, 3);
  EXPECT_DOUBLE_EQ(m.mae, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.rmse, std::sqrt(1.0 / 3.0));
  EXPECT_DOUBLE_EQ(m.r2, 0.5);  // 1 - 1 / 2
}

TEST(RegressionTest, ConstantLabelsAndTooFewRows) {
  const std::vector<double> y = {3, 3, 3};
  EXPECT_EQ(Regression(y, y).r2, 1.0);
  const std::vector<double> p = {3, 3, 4};
  EXPECT_EQ(Regression(y, p).r2, 0.0);
  const std::vector<double> one = {1};
  const std::vector<double> two = {2};
  const RegressionMetrics m = Regression(one, two);
  EXPECT_TRUE(std::isnan(m.r2));
  EXPECT_EQ(m.mae, 1.0);
  const std::vector<double> none;
  EXPECT_TRUE(std::isnan(Regression(none, none).mae));
}

}  // namespace
}  // namespace cairn::monitor::stats
