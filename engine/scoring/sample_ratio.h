// The sample-ratio mismatch check of an experiment: do the leads assigned to its arms match the
// weights? Pearson's chi-squared goodness of fit of the assigned counts against the counts the
// weights expect; a p-value below 0.001 flags the split as broken (a bug in the assignment, or
// leads lost on one arm's path), whatever the scorers' metrics then say.
//
// Pure functions over numbers: no I/O, safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace leadscore::scoring {

struct SampleRatioCheck {
  std::int64_t n = 0;            // the leads counted
  std::vector<double> expected;  // per arm: n * weight / the sum of the weights
  double chi_squared = 0;
  int degrees_of_freedom = 0;     // arms - 1
  std::optional<double> p_value;  // none without leads or with fewer than two arms
  bool mismatch = false;          // p_value < kSampleRatioAlpha
};

inline constexpr double kSampleRatioAlpha = 0.001;

// `observed` and `weights` per arm, in the same order (weights > 0).
SampleRatioCheck sample_ratio_check(const std::vector<std::int64_t>& observed,
                                    const std::vector<double>& weights);

// P(X >= x) for X chi-squared with `degrees_of_freedom` (>= 1): the regularized upper incomplete
// gamma function Q(k/2, x/2).
double chi_squared_p_value(double x, int degrees_of_freedom);

}  // namespace leadscore::scoring
