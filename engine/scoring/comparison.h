// Offline comparison of scorers over the same leads (`leadscore compare`): per scorer
// the score distribution and the recommendations, and, where the leads' outcomes are known
// (converted or not), AUC, Brier score and a calibration table; per pair of scorers the
// recommendation agreement, Spearman's rank correlation and the mean absolute difference.
//
// Pure functions over numbers: no I/O, safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/domain/lead.h"

namespace leadscore::scoring {

// One scorer's answers for the leads, in lead order; nullopt where its run failed.
struct ScorerRun {
  std::string scorer;
  std::vector<std::optional<double>> scores;
  std::vector<std::optional<domain::Recommendation>> recommendations;
};

struct CalibrationBin {
  double from = 0, to = 0;  // scores in [from, to) (the last bin includes 1)
  std::size_t n = 0;
  double mean_score = 0;  // of the leads in the bin
  double converted = 0;   // the share of them that converted
};

// Against known outcomes: only leads with an outcome and a score count.
struct OutcomeMetrics {
  std::size_t n = 0;
  std::size_t converted = 0;
  std::optional<double> auc;  // none unless both outcomes occur
  double brier = 0;
  std::array<CalibrationBin, 10> calibration{};
};

struct ScorerSummary {
  std::string scorer;
  std::size_t n = 0;       // leads scored
  std::size_t failed = 0;  // leads whose run failed
  double mean = 0, min = 0, p10 = 0, median = 0, p90 = 0, max = 0;
  std::array<std::size_t, 10> histogram{};  // scores by tenths: [0, 0.1), ..., [0.9, 1]
  std::size_t transfer = 0, continue_qualification = 0, drop = 0;
  std::optional<OutcomeMetrics> outcomes;  // when any lead has an outcome
};

struct PairComparison {
  std::string a, b;
  std::size_t n = 0;               // leads both scored
  double agreement = 0;            // share with the same recommendation
  std::optional<double> spearman;  // none when either side has no spread
  double mean_absolute_difference = 0;
};

// How a comparison is made. A metric that needs outcomes is reported as insufficient data (none)
// while either outcome class has fewer than min_n leads.
struct ComparisonSettings {
  std::size_t min_n = 30;          // leads per outcome class (converted, not)
  std::size_t bootstrap = 200;     // resamples for the AUC's 95% interval; 0: none
  std::uint64_t seed = 1;          // of the bootstrap, so that a report repeats
  double handoff_min_score = 0.6;  // the handoff threshold the flip table splits at
};

struct ComparisonReport {
  std::size_t leads = 0;
  std::vector<ScorerSummary> scorers;
  std::vector<PairComparison> pairs;  // every pair, in the scorers' order
};

// `outcomes` is empty, or one per lead (nullopt: unknown). Every run has one answer per lead.
ComparisonReport compare_scorers(const std::vector<ScorerRun>& runs,
                                 const std::vector<std::optional<bool>>& outcomes,
                                 const ComparisonSettings& settings = {});

// The statistics themselves, for the report and its tests.
// Ranks 1..n, ties given the mean of the ranks they span.
std::vector<double> average_ranks(const std::vector<double>& values);
// Spearman's rho (Pearson's r of the average ranks); none when either side is constant.
std::optional<double> spearman(const std::vector<double>& x, const std::vector<double>& y);
// The probability that a converted lead scores above one that did not (ties count half); none
// unless both kinds occur.
std::optional<double> auc(const std::vector<double>& scores, const std::vector<bool>& converted);
// The mean of (score - outcome)^2.
double brier_score(const std::vector<double>& scores, const std::vector<bool>& converted);
// The q-quantile (0..1) of sorted values, interpolated linearly between neighbours.
double quantile(const std::vector<double>& sorted, double q);

}  // namespace leadscore::scoring
