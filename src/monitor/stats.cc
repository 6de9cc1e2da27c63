#include "monitor/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numbers>
#include <numeric>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace cairn::monitor::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// ------------------------------------------------- regularized incomplete gamma

// log(x^a e^-x / Gamma(a)), the common factor of the series and the fraction.
// For large a the direct form subtracts numbers of size a*log(x); instead
// write lgamma by Stirling, so the large parts cancel analytically:
//   a log(x/a) + a - x = a (log1p(t) - t), t = (x - a) / a,
// leaving an absolute error of about eps * |x - a| rather than eps * a log x.
double LogGammaPrefactor(double a, double x) {
  if (a < 20) return a * std::log(x) - x - std::lgamma(a);
  // Stirling's series for lgamma(a) - [(a - 1/2) log a - a + log(2 pi)/2].
  const double a2 = a * a;
  const double stirling_error =
      (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - (1.0 / 1680 - 1.0 / (1188 * a2)) / a2) / a2) / a2) / a;
  const double t = (x - a) / a;
  return a * (std::log1p(t) - t) + 0.5 * std::log(a) - 0.5 * std::log(2 * std::numbers::pi) -
         stirling_error;
}

// P(a, x) by its power series; converges fast for x < a + 1.
double LowerGammaSeries(double a, double x) {
  double term = 1.0 / a;
  double sum = term;
  for (int k = 1; k < 100000; ++k) {
    term *= x / (a + k);
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * 1e-17) break;
  }
  return sum * std::exp(LogGammaPrefactor(a, x));
}

// Q(a, x) by its continued fraction (modified Lentz); for x >= a + 1.
double UpperGammaFraction(double a, double x) {
  constexpr double kTiny = 1e-300;
  double b = x + 1.0 - a;
  double c = 1.0 / kTiny;
  double d = 1.0 / b;
  double h = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < 1e-16) break;
  }
  return std::exp(LogGammaPrefactor(a, x)) * h;
}

// Regularized upper incomplete gamma Q(a, x) = Gamma(a, x) / Gamma(a).
double UpperGammaQ(double a, double x) {
  if (std::isnan(a) || std::isnan(x) || a <= 0 || x < 0) return kNaN;
  if (x == 0) return 1.0;
  if (std::isinf(x)) return 0.0;
  if (x < a + 1.0) return 1.0 - LowerGammaSeries(a, x);
  return UpperGammaFraction(a, x);
}

// ---------------------------------------------------------- Kolmogorov helpers

// Exact one-sided Smirnov survival P(D+_n >= d) (Birnbaum & Tingey):
//   d * sum_{j=0}^{floor(n(1-d))} C(n,j) (1-d-j/n)^(n-j) (d+j/n)^(j-1).
// Every term is positive, so the sum keeps full relative accuracy in the tail.
double SmirnovSf(int64_t n, double d) {
  if (d <= 0) return 1.0;
  if (d >= 1) return 0.0;
  const double nd = static_cast<double>(n);
  const int64_t last = static_cast<int64_t>(std::floor(nd * (1.0 - d)));
  const double log_n_fact = std::lgamma(nd + 1.0);
  // Terms in log space; summed relative to the largest to avoid underflow.
  double max_log = -kInf;
  auto log_term = [&](int64_t j) {
    const double jd = static_cast<double>(j);
    const double p = 1.0 - d - jd / nd;
    const double q = d + jd / nd;
    double lt = log_n_fact - std::lgamma(jd + 1.0) - std::lgamma(nd - jd + 1.0);
    if (n - j > 0) {
      if (p <= 0) return -kInf;
      lt += (nd - jd) * std::log(p);
    }
    lt += (jd - 1.0) * std::log(q);
    return lt;
  };
  // One pass: the sum is kept relative to the largest term seen so far.
  double sum = 0;
  for (int64_t j = 0; j <= last; ++j) {
    const double lt = log_term(j);
    if (std::isinf(lt)) continue;
    if (lt > max_log) {
      sum = (std::isinf(max_log) ? 0.0 : sum * std::exp(max_log - lt)) + 1.0;
      max_log = lt;
    } else if (lt - max_log > -745) {
      sum += std::exp(lt - max_log);
    }
  }
  if (std::isinf(max_log)) return 0.0;
  return std::clamp(d * sum * std::exp(max_log), 0.0, 1.0);
}

// Exact CDF P(D_n < d) by the matrix method of Durbin as organised by
// Marsaglia, Tsang & Wang (2003): n!/n^n * (H^n)[k-1][k-1], with exponent
// bookkeeping so the power neither overflows nor underflows.
double KolmogorovCdfDurbin(int64_t n, double d) {
  const double nd = static_cast<double>(n);
  const int k = static_cast<int>(nd * d) + 1;
  const int m = 2 * k - 1;
  const double h = k - nd * d;
  std::vector<double> H(static_cast<size_t>(m) * m, 0.0);
  auto at = [m](std::vector<double>& v, int i, int j) -> double& {
    return v[static_cast<size_t>(i) * m + j];
  };
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < m; ++j) {
      if (i - j + 1 >= 0) {
        double f = 1;
        for (int g = 1; g <= i - j + 1; ++g) f /= g;
        at(H, i, j) = f;
      }
    }
  }
  // First column and last row lose the part outside the band.
  for (int i = 0; i < m; ++i) {
    double f = 1;
    for (int g = 1; g <= i + 1; ++g) f *= h / g;  // h^(i+1)/(i+1)!
    at(H, i, 0) -= f;
    double l = 1;
    for (int g = 1; g <= m - i; ++g) l *= h / g;  // h^(m-i)/(m-i)!
    at(H, m - 1, i) -= l;
  }
  if (2 * h - 1 > 0) {
    double f = 1;
    for (int g = 1; g <= m; ++g) f *= (2 * h - 1) / g;
    at(H, m - 1, 0) += f;
  }
  // Repeated squaring; each matrix carries a base-2 exponent.
  constexpr double kBig = 0x1p+500;
  constexpr int kBigExp = 500;
  std::vector<double> result(static_cast<size_t>(m) * m, 0.0);
  for (int i = 0; i < m; ++i) at(result, i, i) = 1.0;
  int64_t result_exp = 0;
  std::vector<double> base = H;
  int64_t base_exp = 0;
  std::vector<double> tmp(static_cast<size_t>(m) * m);
  auto multiply = [&](const std::vector<double>& x, const std::vector<double>& y,
                      std::vector<double>& out) {
    std::fill(out.begin(), out.end(), 0.0);
    for (int i = 0; i < m; ++i) {
      for (int l = 0; l < m; ++l) {
        const double xv = x[static_cast<size_t>(i) * m + l];
        if (xv == 0) continue;
        const double* yr = &y[static_cast<size_t>(l) * m];
        double* outr = &out[static_cast<size_t>(i) * m];
        for (int j = 0; j < m; ++j) outr[j] += xv * yr[j];
      }
    }
  };
  auto renormalize = [&](std::vector<double>& v, int64_t& e) {
    double mx = 0;
    for (double x : v) mx = std::max(mx, std::fabs(x));
    if (mx > kBig) {
      for (double& x : v) x /= kBig;
      e += kBigExp;
    } else if (mx > 0 && mx < 1 / kBig) {
      for (double& x : v) x *= kBig;
      e -= kBigExp;
    }
  };
  int64_t power = n;
  bool first = true;
  while (power > 0) {
    if (power & 1) {
      if (first) {
        result = base;
        result_exp = base_exp;
        first = false;
      } else {
        multiply(result, base, tmp);
        result.swap(tmp);
        result_exp += base_exp;
        renormalize(result, result_exp);
      }
    }
    power >>= 1;
    if (power > 0) {
      multiply(base, base, tmp);
      base.swap(tmp);
      base_exp *= 2;
      renormalize(base, base_exp);
    }
  }
  // Multiply by n!/n^n one factor at a time, keeping the exponent.
  double s = at(result, k - 1, k - 1);
  int64_t e = result_exp;
  for (int64_t i = 1; i <= n; ++i) {
    s = s * static_cast<double>(i) / nd;
    if (s < 1 / kBig) {
      s *= kBig;
      e -= kBigExp;
    }
  }
  return std::clamp(std::ldexp(s, static_cast<int>(std::clamp<int64_t>(e, -100000, 100000))),
                    0.0, 1.0);
}

// Pelz & Good (1976) asymptotic CDF of sqrt(n) D_n, with the terms to
// n^(-3/2), in the theta-function form of Simard & L'Ecuyer (2011).
double KolmogorovCdfPelzGood(int64_t n, double d) {
  const double nd = static_cast<double>(n);
  const double sqrt_n = std::sqrt(nd);
  const double x = d * sqrt_n;
  const double pi2 = std::numbers::pi * std::numbers::pi;
  const double pi4 = pi2 * pi2;
  const double x2 = x * x;
  const double x3 = x2 * x;
  const double x4 = x2 * x2;
  const double x6 = x3 * x3;
  const double x7 = x6 * x;
  const double x8 = x4 * x4;
  const double x10 = x8 * x2;
  const double z = pi2 / (2 * x2);
  // Sums over k of (k+1/2)^(2p) exp(-z (k+1/2)^2) and k^(2p) exp(-z k^2).
  double half[4] = {0};
  double whole[3] = {0};
  for (int k = 0; k < 200; ++k) {
    const double u = k + 0.5;
    const double u2 = u * u;
    const double w = std::exp(-z * u2);
    double up = 1;
    for (int p = 0; p < 4; ++p) {
      half[p] += up * w;
      up *= u2;
    }
    if (w < 1e-300 || (k > 2 && w < 1e-20 * half[0])) break;
  }
  for (int k = 1; k < 200; ++k) {
    const double u2 = static_cast<double>(k) * k;
    const double w = std::exp(-z * u2);
    double up = 1;
    for (int p = 0; p < 3; ++p) {
      whole[p] += up * w;
      up *= u2;
    }
    if (w < 1e-300 || (k > 2 && w < 1e-20 * (whole[0] + 1e-300))) break;
  }
  const double sqrt_half_pi = std::sqrt(std::numbers::pi / 2);
  const double k0 = std::sqrt(2 * std::numbers::pi) / x * half[0];
  const double k1 = sqrt_half_pi / (3 * x4) * (pi2 * half[1] - x2 * half[0]);
  const double k2a = sqrt_half_pi / (36 * x7) *
                     ((6 * x6 + 2 * x4) * half[0] + pi2 * (2 * x4 - 5 * x2) * half[1] +
                      pi4 * (1 - 2 * x2) * half[2]);
  const double k2b = sqrt_half_pi / (18 * x3) * pi2 * whole[1];
  const double k2 = k2a - k2b;
  const double pi6 = pi4 * pi2;
  const double k3a = sqrt_half_pi / (3240 * x10) *
                     ((-30 * x6 - 90 * x8) * half[0] + pi2 * (135 * x4 - 96 * x6) * half[1] +
                      pi4 * (-60 * x2 + 212 * x4) * half[2] + pi6 * (5 - 30 * x2) * half[3]);
  const double k3b = sqrt_half_pi * pi2 / (108 * x6) * (3 * x2 * whole[1] - pi2 * whole[2]);
  const double k3 = k3a + k3b;
  return k0 + k1 / sqrt_n + k2 / nd + k3 / (nd * sqrt_n);
}

// ------------------------------------------------------------ small helpers

// Counts of i*mp - j*np at the largest gap between the two step functions,
// and the scale: D = max_gap / (n * mp).
struct KsGap {
  int64_t max_gap = 0;  // max |i*mp - j*np| over the merged sample
  int64_t np = 0;       // n / gcd
  int64_t mp = 0;       // m / gcd
};

KsGap ComputeKsGap(std::span<const double> a, std::span<const double> b) {
  const int64_t n = static_cast<int64_t>(a.size());
  const int64_t m = static_cast<int64_t>(b.size());
  const int64_t g = std::gcd(n, m);
  KsGap gap{0, n / g, m / g};
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() && j < b.size()) {
    const double v = std::min(a[i], b[j]);
    while (i < a.size() && a[i] == v) ++i;
    while (j < b.size() && b[j] == v) ++j;
    const int64_t diff = static_cast<int64_t>(i) * gap.mp - static_cast<int64_t>(j) * gap.np;
    gap.max_gap = std::max(gap.max_gap, diff < 0 ? -diff : diff);
  }
  return gap;
}

int64_t FloorDiv(int64_t a, int64_t b) {  // b > 0
  int64_t q = a / b;
  if ((a % b != 0) && (a < 0)) --q;
  return q;
}

// P(D >= h / lcm(n, m)) for the two-sample statistic under H0: the share
// of monotone lattice paths (0,0) -> (n,m) that reach |i*mp - j*np| >= h.
// The walk is a random draw without replacement, so each path's weight is
// its probability; the DP runs only over the band of points still inside,
// and the mass that steps out is summed directly (no 1 - x cancellation).
double KsExactPValue(int64_t n, int64_t m, int64_t np, int64_t mp, int64_t h) {
  if (h <= 0) return 1.0;
  // Band of row i: the j with i*mp - h < j*np < i*mp + h. Both ends move
  // right as i grows, so an a-step from (i, j) leaves the band exactly when
  // j < lo(i+1), and a b-step exactly from j == hi(i).
  auto lo = [&](int64_t i) { return std::max<int64_t>(0, FloorDiv(i * mp - h, np) + 1); };
  auto hi = [&](int64_t i) { return std::min<int64_t>(m, -FloorDiv(-(i * mp + h), np) - 1); };
  // A p-value beyond exp(-800) is 0 in double precision (the tail is about
  // 2 exp(-2 n m / (n + m) D^2)); skip the walk.
  const double dd = static_cast<double>(h) / (static_cast<double>(n) * static_cast<double>(mp));
  const double n_eff = static_cast<double>(n) * static_cast<double>(m) / static_cast<double>(n + m);
  if (2.0 * n_eff * dd * dd > 800.0) return 0.0;
  // From (i, j) the next draw is an a with probability (n-i)/(n+m-i-j).
  std::vector<double> inv(static_cast<size_t>(n + m) + 1, 0.0);
  for (int64_t k = 1; k <= n + m; ++k) inv[k] = 1.0 / static_cast<double>(k);
  std::vector<double> row(static_cast<size_t>(m) + 1, 0.0);
  // Each row is computed over [cs, ce] only: points carrying less than
  // kTiny (far from the diagonal when D is large) are dropped, which changes
  // the p-value by less than 1e-290 and keeps extreme drift fast.
  constexpr double kTiny = 1e-300;
  double outside = 0;
  int64_t cs = 0;   // computed range of the previous row
  int64_t ce = -1;
  for (int64_t i = 0; i <= n; ++i) {
    const int64_t jl = lo(i);
    const int64_t jh = hi(i);
    const double rem_a = static_cast<double>(n - i);
    const double rem_a_prev = rem_a + 1.0;
    const int64_t base = n + m - i;  // remaining draws at (i, 0)
    const int64_t prev_ce = ce;
    double left = 0;  // value at (i, j-1)
    int64_t j = std::max(jl, cs);
    int64_t row_cs = j;
    if (i == 0) {
      row[0] = 1.0;
      left = 1.0;
      row_cs = 0;
      j = 1;
    }
    int64_t row_ce = j - 1;
    for (; j <= jh; ++j) {
      double v = left * (static_cast<double>(m - j + 1) * inv[base - j + 1]);
      if (j <= prev_ce) {
        v += row[j] * (rem_a_prev * inv[base - j + 1]);
      } else if (v < kTiny) {
        break;  // only the decaying b-step chain is left
      }
      row[j] = v;
      left = v;
      row_ce = j;
    }
    while (row_cs <= row_ce && row[row_cs] < kTiny) ++row_cs;
    if (row_cs > row_ce) break;  // no mass left inside the band
    // Mass stepping out of the band from row i.
    if (i < n) {
      const int64_t out_end = std::min(lo(i + 1) - 1, row_ce);
      for (int64_t k = row_cs; k <= out_end; ++k) outside += row[k] * (rem_a * inv[base - k]);
    }
    if (row_ce == jh && jh < m) {
      outside += row[jh] * (static_cast<double>(m - jh) * inv[base - jh]);
    }
    cs = row_cs;
    ce = row_ce;
  }
  return std::clamp(outside, 0.0, 1.0);
}

// Sum of a span, Neumaier-compensated so long sums stay accurate.
template <typename F>
double CompensatedSum(size_t count, F term) {
  double sum = 0;
  double c = 0;
  for (size_t i = 0; i < count; ++i) {
    const double t = term(i);
    const double s = sum + t;
    if (std::fabs(sum) >= std::fabs(t)) {
      c += (sum - s) + t;
    } else {
      c += (t - s) + sum;
    }
    sum = s;
  }
  return sum + c;
}

}  // namespace

// Large inputs use an LSD radix sort on
// the order-preserving integer image of the doubles (6 passes of 11 bits,
// passes where every key has the same digit skipped): several times faster
// than std::sort on a million values, which dominates Wasserstein and KS.
std::vector<double> SortedCopy(std::span<const double> values) {
  std::vector<double> out(values.begin(), values.end());
  if (out.size() < 1024) {
    std::sort(out.begin(), out.end());
    return out;
  }
  constexpr int kBits = 11;
  constexpr int kPasses = 6;
  constexpr size_t kBuckets = size_t{1} << kBits;
  const size_t n = out.size();
  std::vector<uint64_t> keys(n);
  std::vector<uint64_t> tmp(n);
  std::vector<size_t> counts(kBuckets * kPasses, 0);
  for (size_t i = 0; i < n; ++i) {
    uint64_t bits;
    std::memcpy(&bits, &out[i], sizeof bits);
    // Negative: flip all bits; positive: flip the sign bit.
    bits = (bits >> 63) ? ~bits : (bits | (uint64_t{1} << 63));
    keys[i] = bits;
    for (int p = 0; p < kPasses; ++p) ++counts[p * kBuckets + ((bits >> (p * kBits)) & (kBuckets - 1))];
  }
  for (int p = 0; p < kPasses; ++p) {
    size_t* c = &counts[p * kBuckets];
    if (c[(keys[0] >> (p * kBits)) & (kBuckets - 1)] == n) continue;  // one digit: no-op pass
    size_t sum = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
      const size_t cnt = c[b];
      c[b] = sum;
      sum += cnt;
    }
    for (size_t i = 0; i < n; ++i) tmp[c[(keys[i] >> (p * kBits)) & (kBuckets - 1)]++] = keys[i];
    keys.swap(tmp);
  }
  for (size_t i = 0; i < n; ++i) {
    uint64_t bits = keys[i];
    bits = (bits >> 63) ? (bits & ~(uint64_t{1} << 63)) : ~bits;
    std::memcpy(&out[i], &bits, sizeof bits);
  }
  return out;
}


// ------------------------------------------------------------ distributions

double NormalSf(double z) { return 0.5 * std::erfc(z / std::numbers::sqrt2); }

double ChiSquaredSf(double x, double dof) {
  if (std::isnan(x) || std::isnan(dof) || dof <= 0) return kNaN;
  if (x <= 0) return 1.0;
  return UpperGammaQ(dof / 2, x / 2);
}

double KolmogorovSf(double d, int64_t n) {
  if (std::isnan(d) || n <= 0) return kNaN;
  if (d >= 1.0) return 0.0;
  if (d <= 0.0) return 1.0;
  const double nd = static_cast<double>(n);
  const double t = nd * d;
  if (t <= 1.0) {
    // Ruben & Gambino: P(D_n < d) = n! / n^n (2t - 1)^n for 1/(2n) <= d <= 1/n.
    if (t <= 0.5) return 1.0;
    const double log_cdf =
        std::lgamma(nd + 1.0) - nd * std::log(nd) + nd * std::log(2 * t - 1);
    return std::clamp(-std::expm1(log_cdf), 0.0, 1.0);
  }
  if (t >= nd - 1) return std::clamp(2 * std::pow(1.0 - d, nd), 0.0, 1.0);
  // From d >= 1/2 on the two one-sided events are disjoint.
  if (d >= 0.5) return std::clamp(2 * SmirnovSf(n, d), 0.0, 1.0);
  // The regions follow Simard & L'Ecuyer (2011), the same split SciPy makes,
  // so the approximations agree where an approximation is used.
  const double nx2 = t * d;
  if (n <= 140) {
    if (nx2 <= 4) return std::clamp(1.0 - KolmogorovCdfDurbin(n, d), 0.0, 1.0);
    return std::clamp(2 * SmirnovSf(n, d), 0.0, 1.0);
  }
  if (nx2 >= 370.0) return 0.0;
  if (nx2 >= 2.2) return std::clamp(2 * SmirnovSf(n, d), 0.0, 1.0);
  double cdf;
  if (n <= 100000 && nd * std::pow(d, 1.5) <= 1.4) {
    cdf = KolmogorovCdfDurbin(n, d);
  } else {
    cdf = KolmogorovCdfPelzGood(n, d);
  }
  return std::clamp(1.0 - cdf, 0.0, 1.0);
}

// -------------------------------------------------------------------- tests

TestResult KsTwoSampleSorted(std::span<const double> a, std::span<const double> b) {
  if (a.empty() || b.empty()) return {kNaN, kNaN};
  const int64_t n = static_cast<int64_t>(a.size());
  const int64_t m = static_cast<int64_t>(b.size());
  const KsGap gap = ComputeKsGap(a, b);
  const double lcm = static_cast<double>(n) * static_cast<double>(gap.mp);
  const double d = static_cast<double>(gap.max_gap) / lcm;
  TestResult r;
  r.statistic = d;
  if (std::max(n, m) <= 10000) {
    r.p_value = KsExactPValue(n, m, gap.np, gap.mp, gap.max_gap);
  } else {
    const double en = static_cast<double>(n) * static_cast<double>(m) /
                      static_cast<double>(n + m);
    r.p_value = KolmogorovSf(d, static_cast<int64_t>(std::nearbyint(en)));
  }
  return r;
}

TestResult KsTwoSample(std::span<const double> a, std::span<const double> b) {
  const std::vector<double> sa = SortedCopy(a);
  const std::vector<double> sb = SortedCopy(b);
  return KsTwoSampleSorted(sa, sb);
}

TestResult ChiSquare(std::span<const double> observed, std::span<const double> expected) {
  if (observed.empty() || observed.size() != expected.size()) return {kNaN, kNaN};
  double stat = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    const double diff = observed[i] - expected[i];
    stat += diff * diff / expected[i];
  }
  TestResult r;
  r.statistic = stat;
  if (std::isinf(stat)) {
    r.p_value = 0.0;
  } else {
    r.p_value = ChiSquaredSf(stat, static_cast<double>(observed.size()) - 1.0);
  }
  return r;
}

TestResult ProportionsZTest(int64_t successes_a, int64_t n_a, int64_t successes_b,
                            int64_t n_b) {
  if (n_a <= 0 || n_b <= 0) return {kNaN, kNaN};
  const double p1 = static_cast<double>(successes_a) / static_cast<double>(n_a);
  const double p2 = static_cast<double>(successes_b) / static_cast<double>(n_b);
  // Equal proportions: no evidence of a difference (also avoids 0/0 when the
  // pooled proportion is 0 or 1).
  if (static_cast<__int128>(successes_a) * n_b == static_cast<__int128>(successes_b) * n_a) {
    return {0.0, 1.0};
  }
  const double pooled = static_cast<double>(successes_a + successes_b) /
                        static_cast<double>(n_a + n_b);
  const double se = std::sqrt(pooled * (1 - pooled) *
                              (1.0 / static_cast<double>(n_a) + 1.0 / static_cast<double>(n_b)));
  const double z = (p1 - p2) / se;
  return {z, 2 * NormalSf(std::fabs(z))};
}

// ---------------------------------------------------------------- distances

double WassersteinDistanceSorted(std::span<const double> a, std::span<const double> b) {
  if (a.empty() || b.empty()) return kNaN;
  const double n = static_cast<double>(a.size());
  const double m = static_cast<double>(b.size());
  // Walk the merged values; between consecutive values x_k < x_{k+1} the two
  // empirical CDFs are constant, so the area is |F_a - F_b| * (x_{k+1} - x_k).
  size_t i = 0;
  size_t j = 0;
  double sum = 0;
  double comp = 0;
  double prev = std::min(a[0], b[0]);
  while (i < a.size() || j < b.size()) {
    double v;
    if (j >= b.size() || (i < a.size() && a[i] <= b[j])) {
      v = a[i];
    } else {
      v = b[j];
    }
    if (v != prev) {
      const double fa = static_cast<double>(i) / n;
      const double fb = static_cast<double>(j) / m;
      const double t = std::fabs(fa - fb) * (v - prev);
      const double s = sum + t;
      comp += (sum >= t) ? (sum - s) + t : (t - s) + sum;
      sum = s;
      prev = v;
    }
    while (i < a.size() && a[i] == v) ++i;
    while (j < b.size() && b[j] == v) ++j;
  }
  return sum + comp;
}

double WassersteinDistance(std::span<const double> a, std::span<const double> b) {
  if (a.empty() || b.empty()) return kNaN;
  const std::vector<double> sa = SortedCopy(a);
  const std::vector<double> sb = SortedCopy(b);
  return WassersteinDistanceSorted(sa, sb);
}

double JensenShannon(std::span<const double> p, std::span<const double> q) {
  if (p.size() != q.size() || p.empty()) return kNaN;
  double sp = 0;
  double sq = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    sp += p[i];
    sq += q[i];
  }
  // rel_entr(x, y): x log(x/y) for x, y > 0; 0 for x == 0, y >= 0; inf else.
  auto rel_entr = [](double x, double y) {
    if (std::isnan(x) || std::isnan(y)) return kNaN;
    if (x > 0 && y > 0) return x * std::log(x / y);
    if (x == 0 && y >= 0) return 0.0;
    return kInf;
  };
  double js = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double pi = p[i] / sp;
    const double qi = q[i] / sq;
    const double mi = (pi + qi) / 2.0;
    js += rel_entr(pi, mi) + rel_entr(qi, mi);
  }
  return std::sqrt(js / 2.0);
}

double Psi(std::span<const double> reference, std::span<const double> current) {
  if (reference.size() != current.size()) return kNaN;
  double psi = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    const double r = reference[i];
    const double c = current[i];
    psi += (r - c) * std::log(r / c);
  }
  return psi;
}

std::vector<double> SturgesBinEdges(std::span<const double> values) {
  double first = 0;
  double last = 1;
  size_t bins = 1;
  if (!values.empty()) {
    const auto [mn, mx] = std::minmax_element(values.begin(), values.end());
    first = *mn;
    last = *mx;
    const double range = last - first;
    if (first == last) {
      first -= 0.5;
      last += 0.5;
    }
    // NumPy: width = ptp / (log2(n) + 1), bins = ceil(range / width); the
    // same floating-point steps so the bin count agrees at powers of two.
    const double width = range / (std::log2(static_cast<double>(values.size())) + 1.0);
    if (width > 0) bins = static_cast<size_t>(std::ceil((last - first) / width));
  }
  std::vector<double> edges(bins + 1);
  const double step = (last - first) / static_cast<double>(bins);
  for (size_t i = 0; i < bins; ++i) edges[i] = static_cast<double>(i) * step + first;
  edges[bins] = last;
  return edges;
}

std::vector<int64_t> Histogram(std::span<const double> values, std::span<const double> edges) {
  if (edges.size() < 2) return {};
  const size_t bins = edges.size() - 1;
  std::vector<int64_t> counts(bins, 0);
  const double lo = edges.front();
  const double hi = edges.back();
  // Equal-width edges (what SturgesBinEdges makes): guess the bin
  // arithmetically and correct it against the real edges, which keeps
  // NumPy's exact edge semantics; otherwise a binary search per value.
  const double step = (hi - lo) / static_cast<double>(bins);
  bool uniform = step > 0 && std::isfinite(step);
  for (size_t i = 0; uniform && i <= bins; ++i) {
    uniform = std::fabs(edges[i] - (lo + static_cast<double>(i) * step)) <= 1e-6 * step;
  }
  const double inv_step = uniform ? 1.0 / step : 0.0;
  for (double v : values) {
    if (!(v >= lo && v <= hi)) continue;
    size_t bin;
    if (v == hi) {
      bin = bins - 1;
    } else if (uniform) {
      const double guess = std::floor((v - lo) * inv_step);
      bin = guess <= 0 ? 0 : std::min(static_cast<size_t>(guess), bins - 1);
      while (bin > 0 && v < edges[bin]) --bin;
      while (bin + 1 < bins && v >= edges[bin + 1]) ++bin;
    } else {
      // First edge greater than v; the bin starts one before it.
      bin = static_cast<size_t>(std::upper_bound(edges.begin(), edges.end(), v) - edges.begin()) - 1;
    }
    ++counts[bin];
  }
  return counts;
}

double PopulationStd(std::span<const double> values) {
  if (values.empty()) return 0.0;
  const double n = static_cast<double>(values.size());
  const double mean = CompensatedSum(values.size(), [&](size_t i) { return values[i]; }) / n;
  const double ss = CompensatedSum(values.size(), [&](size_t i) {
    const double dv = values[i] - mean;
    return dv * dv;
  });
  return std::sqrt(ss / n);
}

// -------------------------------------------------------------- performance

ClassificationMetrics Classification(std::span<const std::string> labels,
                                     std::span<const std::string> predictions,
                                     const std::string& positive,
                                     std::span<const double> scores) {
  ClassificationMetrics out;
  const size_t rows = std::min(labels.size(), predictions.size());
  out.rows = static_cast<int64_t>(rows);
  if (rows == 0) {
    out.accuracy = out.precision = out.recall = out.f1 = out.roc_auc = out.log_loss = kNaN;
    return out;
  }
  // Class index over the union of labels and predictions.
  std::unordered_map<std::string_view, size_t> index;
  std::vector<std::string_view> classes;
  auto class_of = [&](std::string_view s) {
    auto it = index.find(s);
    if (it != index.end()) return it->second;
    index.emplace(s, classes.size());
    classes.push_back(s);
    return classes.size() - 1;
  };
  struct Counts {
    int64_t tp = 0, fp = 0, fn = 0;
  };
  std::vector<Counts> counts;
  int64_t correct = 0;
  for (size_t r = 0; r < rows; ++r) {
    const size_t t = class_of(labels[r]);
    const size_t p = class_of(predictions[r]);
    if (counts.size() < classes.size()) counts.resize(classes.size());
    if (t == p) {
      ++correct;
      ++counts[t].tp;
    } else {
      ++counts[p].fp;
      ++counts[t].fn;
    }
  }
  out.accuracy = static_cast<double>(correct) / static_cast<double>(rows);
  auto ratio = [](int64_t num, int64_t den) {
    return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
  };
  const bool binary = classes.size() <= 2;
  if (binary) {
    Counts c;
    auto it = index.find(positive);
    if (it != index.end()) c = counts[it->second];
    out.precision = ratio(c.tp, c.tp + c.fp);
    out.recall = ratio(c.tp, c.tp + c.fn);
    out.f1 = ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn);
  } else {
    double p = 0, r = 0, f = 0;
    for (const Counts& c : counts) {
      p += ratio(c.tp, c.tp + c.fp);
      r += ratio(c.tp, c.tp + c.fn);
      f += ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn);
    }
    const double k = static_cast<double>(counts.size());
    out.precision = p / k;
    out.recall = r / k;
    out.f1 = f / k;
  }
  out.roc_auc = kNaN;
  out.log_loss = kNaN;
  if (!binary || scores.size() != rows) return out;
  // log_loss with probabilities clipped to [eps, 1 - eps].
  constexpr double kEps = std::numeric_limits<double>::epsilon();
  double loss = 0;
  int64_t n_pos = 0;
  for (size_t r = 0; r < rows; ++r) {
    const bool pos = labels[r] == positive;
    n_pos += pos ? 1 : 0;
    const double p = std::clamp(pos ? scores[r] : 1.0 - scores[r], kEps, 1.0 - kEps);
    loss -= std::log(p);
  }
  out.log_loss = loss / static_cast<double>(rows);
  const int64_t n_neg = static_cast<int64_t>(rows) - n_pos;
  if (n_pos == 0 || n_neg == 0) return out;
  // ROC AUC as the Mann-Whitney statistic with average ranks for ties.
  std::vector<size_t> order(rows);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t x, size_t y) { return scores[x] < scores[y]; });
  double rank_sum = 0;
  for (size_t s = 0; s < rows;) {
    size_t e = s;
    while (e < rows && scores[order[e]] == scores[order[s]]) ++e;
    const double avg_rank = (static_cast<double>(s) + static_cast<double>(e) + 1.0) / 2.0;
    for (size_t k = s; k < e; ++k) {
      if (labels[order[k]] == positive) rank_sum += avg_rank;
    }
    s = e;
  }
  const double np = static_cast<double>(n_pos);
  const double nn = static_cast<double>(n_neg);
  out.roc_auc = (rank_sum - np * (np + 1) / 2) / (np * nn);
  return out;
}

RegressionMetrics Regression(std::span<const double> labels, std::span<const double> predictions) {
  RegressionMetrics out;
  const size_t rows = std::min(labels.size(), predictions.size());
  out.rows = static_cast<int64_t>(rows);
  if (rows == 0) {
    out.mae = out.rmse = out.r2 = kNaN;
    return out;
  }
  const double n = static_cast<double>(rows);
  out.mae = CompensatedSum(rows, [&](size_t i) { return std::fabs(labels[i] - predictions[i]); }) / n;
  const double ss_res = CompensatedSum(rows, [&](size_t i) {
    const double e = labels[i] - predictions[i];
    return e * e;
  });
  out.rmse = std::sqrt(ss_res / n);
  if (rows < 2) {
    out.r2 = kNaN;
    return out;
  }
  const double mean = CompensatedSum(rows, [&](size_t i) { return labels[i]; }) / n;
  const double ss_tot = CompensatedSum(rows, [&](size_t i) {
    const double e = labels[i] - mean;
    return e * e;
  });
  if (ss_tot == 0) {
    out.r2 = ss_res == 0 ? 1.0 : 0.0;
  } else {
    out.r2 = 1.0 - ss_res / ss_tot;
  }
  return out;
}

}  // namespace cairn::monitor::stats
