// Offline comparison of scorers over the same leads (`leadscore compare`, the API's comparison):
// per scorer the score distribution and the recommendations, and, where the leads' outcomes are
// known (converted or not), AUC with a bootstrap 95% interval, Brier score, top-decile lift, the
// KS statistic, a calibration table and the ROC curve; per pair of scorers the recommendation
// agreement and Cohen's kappa, Spearman's rho and Kendall's tau-b, the mean absolute difference,
// the 2x2 table of the handoff decision (who would hand a lead off, who not), and with outcomes
// the paired DeLong test of the AUC difference.
//
// A metric that needs outcomes is insufficient data (nullopt) while either outcome class has
// fewer than ComparisonSettings::min_n leads: never a number drawn from a handful of leads.
//
// Pure functions over numbers, no I/O: safe from any thread. compare_scorers() runs the
// bootstrap on a few threads of its own; its results do not depend on how many.
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

struct Interval {
  double low = 0, high = 0;
};

// A point of the ROC curve: the shares of converted (true positive rate) and of not converted
// leads (false positive rate) scoring at or above some threshold.
struct RocPoint {
  double false_positive_rate = 0, true_positive_rate = 0;
};

// Against known outcomes: only leads with an outcome and a score count. The optional metrics are
// none while either class has fewer than min_n leads (`sufficient` false).
struct OutcomeMetrics {
  std::size_t n = 0;
  std::size_t converted = 0;
  bool sufficient = false;  // converted >= min_n and n - converted >= min_n
  std::optional<double> auc;
  std::optional<Interval> auc_interval;  // bootstrap 95% percentile interval; none when off
  std::optional<double> brier;
  // The conversion rate of the top tenth by score over the overall rate; leads tied at the
  // tenth's edge count in the share of them that fits (the mean over random tie orders).
  std::optional<double> lift_top_decile;
  std::optional<double> ks;  // max |F_converted - F_not| over thresholds
  std::array<CalibrationBin, 10> calibration{};
  std::vector<RocPoint> roc;  // from (0,0) to (1,1), at most ~200 points; empty if insufficient
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

// The handoff decision (score >= threshold) of two scorers over the leads both scored.
struct HandoffFlips {
  double threshold = 0;
  std::size_t both = 0, only_a = 0, only_b = 0, neither = 0;
  std::optional<double> kappa;  // Cohen's kappa of the two decisions; none when chance is 1
  // Of the leads in each cell with a known outcome: how many, and how many converted.
  std::array<std::size_t, 4> with_outcome{};  // both, only_a, only_b, neither
  std::array<std::size_t, 4> converted{};
};

// The paired DeLong test of AUC(a) - AUC(b) over the leads both scored with a known outcome.
struct AucDifference {
  double auc_a = 0, auc_b = 0;
  double difference = 0;  // auc_a - auc_b
  Interval interval;      // 95%, normal
  double p_value = 1;     // two-sided, of "no difference"
};

// A lead both scored, for the A-vs-B scatter: its two scores and outcome (-1 unknown, 0, 1).
struct ScatterPoint {
  double a = 0, b = 0;
  int outcome = -1;
};

struct PairComparison {
  std::string a, b;
  std::size_t n = 0;  // leads both scored
  // Share with the same recommendation; none, as every figure below, when n is 0 (the scorers of
  // two experiment arms, each of its own leads).
  std::optional<double> agreement;
  std::optional<double> recommendation_kappa;  // Cohen's kappa of the recommendations
  std::optional<double> spearman;              // none when either side has no spread
  std::optional<double> kendall_tau_b;         // none when either side has no spread
  std::optional<double> mean_absolute_difference;
  HandoffFlips handoff;
  // Leads both scored with a known outcome, and the DeLong test over them (none when no lead has
  // an outcome or either class has fewer than min_n).
  std::size_t outcome_n = 0, outcome_converted = 0;
  std::optional<AucDifference> auc_difference;
  // At most scatter_points leads both scored, every k-th in lead order.
  std::vector<ScatterPoint> scatter;
};

// How a comparison is made. A metric that needs outcomes is reported as insufficient data (none)
// while either outcome class has fewer than min_n leads.
struct ComparisonSettings {
  std::size_t min_n = 30;             // leads per outcome class (converted, not)
  std::size_t bootstrap = 200;        // resamples for the AUC's 95% interval; 0: none
  std::uint64_t seed = 1;             // of the bootstrap, so that a report repeats
  double handoff_min_score = 0.6;     // the handoff threshold the flip table splits at
  std::size_t scatter_points = 2000;  // most leads in a pair's scatter
  unsigned threads = 2;               // for the bootstrap; the results do not depend on it
};

struct ComparisonReport {
  std::size_t leads = 0;
  std::size_t with_outcome = 0, converted = 0;  // leads with a known outcome, and converted
  ComparisonSettings settings;                  // as made
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
// Kendall's tau-b in O(n log n) (Knight's algorithm); none when either side is constant.
std::optional<double> kendall_tau_b(const std::vector<double>& x, const std::vector<double>& y);
// The probability that a converted lead scores above one that did not (ties count half); none
// unless both kinds occur.
std::optional<double> auc(const std::vector<double>& scores, const std::vector<bool>& converted);
// The mean of (score - outcome)^2.
double brier_score(const std::vector<double>& scores, const std::vector<bool>& converted);
// Top-decile lift (see OutcomeMetrics); none unless both kinds occur.
std::optional<double> top_decile_lift(const std::vector<double>& scores,
                                      const std::vector<bool>& converted);
// The two-sample Kolmogorov–Smirnov statistic of converted against not converted scores; none
// unless both kinds occur.
std::optional<double> ks_statistic(const std::vector<double>& scores,
                                   const std::vector<bool>& converted);
// Cohen's kappa of two raters' labels (small non-negative integers); none when the agreement
// expected by chance is 1 (both always give the same one label).
std::optional<double> cohen_kappa(const std::vector<int>& a, const std::vector<int>& b);
// The paired DeLong test of AUC(a) - AUC(b) on the same leads; none unless both kinds occur.
std::optional<AucDifference> delong_test(const std::vector<double>& a, const std::vector<double>& b,
                                         const std::vector<bool>& converted);
// The bootstrap 95% percentile interval of the AUC: `resamples` resamples of the leads with
// replacement, each from its own random stream of `seed`, so the interval does not depend on
// `threads`. None unless both kinds occur or when resamples is 0.
std::optional<Interval> bootstrap_auc_interval(const std::vector<double>& scores,
                                               const std::vector<bool>& converted,
                                               std::size_t resamples, std::uint64_t seed,
                                               unsigned threads = 1);
// The q-quantile (0..1) of sorted values, interpolated linearly between neighbours.
double quantile(const std::vector<double>& sorted, double q);

}  // namespace leadscore::scoring
