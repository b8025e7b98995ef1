#include "engine/scoring/sample_ratio.h"

#include <cmath>
#include <numeric>

namespace leadscore::scoring {
namespace {

// Q(a, x), the regularized upper incomplete gamma function: by its series below a + 1, by
// its continued fraction (modified Lentz) above, each to double precision.
double upper_gamma_q(double a, double x) {
  if (x <= 0) return 1;
  const double log_prefix = -x + a * std::log(x) - std::lgamma(a);
  if (x < a + 1) {
    double term = 1 / a, sum = term;
    for (int n = 1; n < 10000; ++n) {
      term *= x / (a + n);
      sum += term;
      if (std::abs(term) < std::abs(sum) * 1e-16) break;
    }
    return std::max(0.0, 1 - sum * std::exp(log_prefix));
  }
  constexpr double kTiny = 1e-300;
  double b = x + 1 - a, c = 1 / kTiny, d = 1 / b, h = d;
  for (int i = 1; i < 10000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::abs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::abs(delta - 1) < 1e-16) break;
  }
  return std::exp(log_prefix) * h;
}

}  // namespace

double chi_squared_p_value(double x, int degrees_of_freedom) {
  return upper_gamma_q(degrees_of_freedom / 2.0, x / 2);
}

SampleRatioCheck sample_ratio_check(const std::vector<std::int64_t>& observed,
                                    const std::vector<double>& weights) {
  SampleRatioCheck check;
  check.n = std::accumulate(observed.begin(), observed.end(), std::int64_t{0});
  const double total_weight = std::accumulate(weights.begin(), weights.end(), 0.0);
  check.degrees_of_freedom = static_cast<int>(observed.size()) - 1;
  for (std::size_t i = 0; i < observed.size() && i < weights.size(); ++i) {
    const double expected = static_cast<double>(check.n) * weights[i] / total_weight;
    check.expected.push_back(expected);
    if (expected > 0) {
      const double gap = static_cast<double>(observed[i]) - expected;
      check.chi_squared += gap * gap / expected;
    }
  }
  if (check.n == 0 || check.degrees_of_freedom < 1 || observed.size() != weights.size())
    return check;
  check.p_value = chi_squared_p_value(check.chi_squared, check.degrees_of_freedom);
  check.mismatch = *check.p_value < kSampleRatioAlpha;
  return check;
}

}  // namespace leadscore::scoring
