// The statistics of an offline comparison, against values worked out by hand, by an independent
// implementation (scipy 1.10 and brute-force O(n^2) definitions in Python; the values are quoted
// where used) and by brute-force references in this file.
#include "engine/scoring/comparison.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

namespace leadscore::scoring {
namespace {

using domain::Recommendation;

TEST(Comparison, TiedValuesShareTheMeanOfTheirRanks) {
  EXPECT_EQ(average_ranks({30, 10, 20, 20}), (std::vector<double>{4, 1, 2.5, 2.5}));
  EXPECT_EQ(average_ranks({5, 5, 5}), (std::vector<double>{2, 2, 2}));
}

TEST(Comparison, SpearmanIsPearsonOfTheRanks) {
  EXPECT_DOUBLE_EQ(*spearman({1, 2, 3, 4}, {10, 20, 30, 1000}), 1.0);
  EXPECT_DOUBLE_EQ(*spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  // y's ranks are 1, 2, 3.5, 5, 3.5: r = 8 / sqrt(10 * 9.5).
  EXPECT_NEAR(*spearman({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}), 8 / std::sqrt(95.0), 1e-12);
  EXPECT_FALSE(spearman({1, 2, 3}, {7, 7, 7}));  // no spread: undefined
  EXPECT_FALSE(spearman({1}, {2}));
}

TEST(Comparison, AucCountsTheConvertedLeadsRankedAboveTheOthers) {
  // Pairs (converted, not): 0.9>0.8, 0.9>0.6, 0.7<0.8, 0.7>0.6: 3 of 4.
  EXPECT_DOUBLE_EQ(*auc({0.9, 0.8, 0.7, 0.6}, {true, false, true, false}), 0.75);
  EXPECT_DOUBLE_EQ(*auc({0.5, 0.5}, {true, false}), 0.5);  // a tie counts half
  EXPECT_DOUBLE_EQ(*auc({0.1, 0.9}, {true, false}), 0.0);
  EXPECT_FALSE(auc({0.1, 0.9}, {true, true}));  // one kind only: undefined
}

TEST(Comparison, BrierIsTheMeanSquaredErrorAgainstTheOutcome) {
  EXPECT_DOUBLE_EQ(brier_score({0.9, 0.2}, {true, false}), (0.01 + 0.04) / 2);
  EXPECT_DOUBLE_EQ(brier_score({1, 0}, {false, true}), 1.0);
}

TEST(Comparison, QuantilesInterpolateBetweenNeighbours) {
  const std::vector<double> sorted = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(quantile(sorted, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile(sorted, 0.1), 1.3);
  EXPECT_DOUBLE_EQ(quantile(sorted, 0), 1);
  EXPECT_DOUBLE_EQ(quantile(sorted, 1), 4);
}

TEST(Comparison, ReportsEachScorerAndEachPairOverTheLeadsBothScored) {
  const auto T = Recommendation::TransferToSales, C = Recommendation::ContinueQualification,
             D = Recommendation::DropLead;
  const ScorerRun a{"a", {0.9, 0.5, 0.1, 0.75}, {T, C, D, T}};
  const ScorerRun b{"b", {0.8, 0.6, std::nullopt, 0.2}, {T, C, std::nullopt, D}};
  const std::vector<std::optional<bool>> outcomes = {true, false, std::nullopt, false};
  ComparisonSettings settings;
  settings.min_n = 1;  // three leads with outcomes: enough for this hand-worked example only
  const ComparisonReport report = compare_scorers({a, b}, outcomes, settings);

  EXPECT_EQ(report.leads, 4u);
  ASSERT_EQ(report.scorers.size(), 2u);
  const ScorerSummary& sa = report.scorers[0];
  EXPECT_EQ(sa.n, 4u);
  EXPECT_EQ(sa.failed, 0u);
  EXPECT_DOUBLE_EQ(sa.mean, (0.9 + 0.5 + 0.1 + 0.75) / 4);
  EXPECT_DOUBLE_EQ(sa.min, 0.1);
  EXPECT_DOUBLE_EQ(sa.max, 0.9);
  EXPECT_DOUBLE_EQ(sa.median, (0.5 + 0.75) / 2);
  EXPECT_EQ(sa.histogram[1], 1u);
  EXPECT_EQ(sa.histogram[5], 1u);
  EXPECT_EQ(sa.histogram[7], 1u);
  EXPECT_EQ(sa.histogram[9], 1u);
  EXPECT_EQ(sa.transfer, 2u);
  EXPECT_EQ(sa.continue_qualification, 1u);
  EXPECT_EQ(sa.drop, 1u);
  ASSERT_TRUE(sa.outcomes);
  EXPECT_EQ(sa.outcomes->n, 3u);  // the lead without an outcome does not count
  EXPECT_EQ(sa.outcomes->converted, 1u);
  EXPECT_DOUBLE_EQ(*sa.outcomes->auc, 1.0);  // 0.9 above 0.5 and 0.75
  EXPECT_DOUBLE_EQ(*sa.outcomes->brier, (0.01 + 0.25 + 0.5625) / 3);
  EXPECT_EQ(sa.outcomes->calibration[9].n, 1u);
  EXPECT_DOUBLE_EQ(sa.outcomes->calibration[9].converted, 1.0);
  EXPECT_EQ(sa.outcomes->calibration[7].n, 1u);
  EXPECT_DOUBLE_EQ(sa.outcomes->calibration[7].mean_score, 0.75);
  EXPECT_DOUBLE_EQ(sa.outcomes->calibration[7].converted, 0.0);

  const ScorerSummary& sb = report.scorers[1];
  EXPECT_EQ(sb.n, 3u);
  EXPECT_EQ(sb.failed, 1u);

  ASSERT_EQ(report.pairs.size(), 1u);
  const PairComparison& p = report.pairs[0];
  EXPECT_EQ(p.a, "a");
  EXPECT_EQ(p.b, "b");
  EXPECT_EQ(p.n, 3u);  // lead 3 failed in b
  EXPECT_DOUBLE_EQ(*p.agreement, 2.0 / 3);
  EXPECT_NEAR(*p.mean_absolute_difference, (0.1 + 0.1 + 0.55) / 3, 1e-12);
  // a: 0.9, 0.5, 0.75 (ranks 3, 1, 2); b: 0.8, 0.6, 0.2 (ranks 3, 2, 1): r = 0.5.
  EXPECT_NEAR(*p.spearman, 0.5, 1e-12);
}

TEST(Comparison, WithoutOutcomesThereAreNoOutcomeMetrics) {
  const ScorerRun a{"a", {0.2, 0.4}, {Recommendation::DropLead, Recommendation::DropLead}};
  const ComparisonReport report = compare_scorers({a}, {});
  ASSERT_EQ(report.scorers.size(), 1u);
  EXPECT_FALSE(report.scorers[0].outcomes);
  EXPECT_TRUE(report.pairs.empty());
}

// Twenty leads with ties in both scorers, 8 converted: the worked example of the tests below.
const std::vector<double> kA = {0.9,  0.8, 0.8, 0.7,  0.65, 0.6, 0.6, 0.55, 0.5, 0.5,
                                0.45, 0.4, 0.4, 0.35, 0.3,  0.3, 0.2, 0.15, 0.1, 0.05};
const std::vector<double> kB = {0.7, 0.9,  0.5, 0.7, 0.4,  0.65, 0.3,  0.6, 0.55, 0.2,
                                0.5, 0.45, 0.1, 0.3, 0.35, 0.6,  0.25, 0.2, 0.15, 0.3};
const std::vector<bool> kConverted = {true,  true,  false, true,  true,  false, true,
                                      false, true,  false, false, true,  false, false,
                                      true,  false, false, false, false, false};

TEST(Comparison, KendallTauBMatchesScipy) {
  // scipy.stats.kendalltau(kA, kB) (tau-b): 0.5326165616211991.
  EXPECT_NEAR(*kendall_tau_b(kA, kB), 0.5326165616211991, 1e-12);
  // scipy.stats.spearmanr: 0.6705708877960743.
  EXPECT_NEAR(*spearman(kA, kB), 0.6705708877960743, 1e-12);
  EXPECT_DOUBLE_EQ(*kendall_tau_b({1, 2, 3}, {3, 2, 1}), -1.0);
  EXPECT_FALSE(kendall_tau_b({1, 2, 3}, {7, 7, 7}));  // no spread: undefined
}

// tau-b by its definition, over every pair: the reference for the O(n log n) count.
double kendall_by_pairs(const std::vector<double>& x, const std::vector<double>& y) {
  double concordant = 0, discordant = 0, tied_x_only = 0, tied_y_only = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    for (std::size_t j = i + 1; j < x.size(); ++j) {
      const double dx = x[i] - x[j], dy = y[i] - y[j];
      if (dx == 0 && dy == 0) continue;
      if (dx == 0)
        ++tied_x_only;
      else if (dy == 0)
        ++tied_y_only;
      else if ((dx > 0) == (dy > 0))
        ++concordant;
      else
        ++discordant;
    }
  return (concordant - discordant) / std::sqrt((concordant + discordant + tied_y_only) *
                                               (concordant + discordant + tied_x_only));
}

TEST(Comparison, KendallTauBAgreesWithEveryPairCountedOnManyTies) {
  std::uint64_t state = 7;
  const auto next = [&state](int levels) {  // a small LCG: values on a coarse grid, many ties
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>((state >> 33) % static_cast<std::uint64_t>(levels)) / levels;
  };
  for (int levels : {3, 11, 1000}) {
    std::vector<double> x, y;
    for (int i = 0; i < 1500; ++i) {
      x.push_back(next(levels));
      y.push_back(0.5 * x.back() + 0.5 * next(levels));
    }
    EXPECT_NEAR(*kendall_tau_b(x, y), kendall_by_pairs(x, y), 1e-12) << levels << " levels";
  }
}

TEST(Comparison, KsIsTheLargestGapBetweenTheTwoScoreDistributions) {
  // scipy.stats.ks_2samp(converted, not converted).statistic: 0.4583333333333333 for both.
  EXPECT_NEAR(*ks_statistic(kA, kConverted), 0.4583333333333333, 1e-12);
  EXPECT_NEAR(*ks_statistic(kB, kConverted), 0.4583333333333333, 1e-12);
  EXPECT_DOUBLE_EQ(*ks_statistic({0.1, 0.2, 0.8, 0.9}, {false, false, true, true}), 1.0);
  EXPECT_FALSE(ks_statistic({0.1, 0.2}, {true, true}));
}

TEST(Comparison, TopDecileLiftCountsTiesAtTheEdgeByTheShareThatFits) {
  // 8 of 20 convert (0.4). a's top two: 0.9 (converted) and one of the two 0.8 (one converted):
  // 1.5 expected of 2, 0.75 / 0.4 = 1.875 (a simulation of 200,000 random tie orders: 1.8759).
  EXPECT_DOUBLE_EQ(*top_decile_lift(kA, kConverted), 1.875);
  // b's: 0.9 and one of the two 0.7, all three converted: 1 / 0.4.
  EXPECT_DOUBLE_EQ(*top_decile_lift(kB, kConverted), 2.5);
  EXPECT_FALSE(top_decile_lift({0.1, 0.2}, {false, false}));
}

TEST(Comparison, AucOfTheWorkedExampleMatchesEveryPairCounted) {
  // Brute force over the 8 x 12 pairs, ties half: 0.7864583333333334 and 0.75.
  EXPECT_NEAR(*auc(kA, kConverted), 0.7864583333333334, 1e-12);
  EXPECT_NEAR(*auc(kB, kConverted), 0.75, 1e-12);
}

TEST(Comparison, CohenKappaCorrectsAgreementForChance) {
  // 2x2 by hand: agree 0.75, chance 0.5 * 0.5 + 0.5 * 0.5 = 0.5: kappa 0.5.
  EXPECT_DOUBLE_EQ(*cohen_kappa({1, 1, 0, 0}, {1, 0, 0, 0}), (0.75 - 0.5) / 0.5);
  EXPECT_DOUBLE_EQ(*cohen_kappa({0, 1, 2}, {0, 1, 2}), 1.0);
  EXPECT_FALSE(cohen_kappa({1, 1}, {1, 1}));  // chance agreement is 1: undefined
}

TEST(Comparison, DelongTestMatchesTheDefinitionOverEveryPair) {
  // numpy over psi(x, y) for all converted/not pairs, covariance with n - 1: difference
  // 0.03645833333333337, sd 0.10291797565636172, p 0.7231541532157224.
  const auto d = delong_test(kA, kB, kConverted);
  ASSERT_TRUE(d);
  EXPECT_NEAR(d->auc_a, 0.7864583333333334, 1e-12);
  EXPECT_NEAR(d->auc_b, 0.75, 1e-12);
  EXPECT_NEAR(d->difference, 0.03645833333333337, 1e-12);
  EXPECT_NEAR(d->interval.low, -0.16525719231490563, 1e-12);
  EXPECT_NEAR(d->interval.high, 0.23817385898157237, 1e-12);
  EXPECT_NEAR(d->p_value, 0.7231541532157224, 1e-9);
  // The same scorer against itself: no difference, p = 1.
  const auto same = delong_test(kA, kA, kConverted);
  ASSERT_TRUE(same);
  EXPECT_DOUBLE_EQ(same->difference, 0);
  EXPECT_DOUBLE_EQ(same->p_value, 1);
}

// Scores that separate converted from not converted leads a little: 2,000 leads.
void noisy_leads(std::vector<double>& scores, std::vector<bool>& converted) {
  std::uint64_t state = 42;
  const auto uniform = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  for (int i = 0; i < 2000; ++i) {
    const bool yes = uniform() < 0.3;
    converted.push_back(yes);
    scores.push_back(std::round((0.6 * uniform() + (yes ? 0.3 : 0.1)) * 100) / 100);
  }
}

TEST(Comparison, BootstrapIntervalRepeatsWithItsSeedOnAnyNumberOfThreads) {
  std::vector<double> scores;
  std::vector<bool> converted;
  noisy_leads(scores, converted);
  const double area = *auc(scores, converted);
  const auto one = bootstrap_auc_interval(scores, converted, 400, 1, 1);
  const auto two = bootstrap_auc_interval(scores, converted, 400, 1, 2);
  const auto other_seed = bootstrap_auc_interval(scores, converted, 400, 2, 2);
  ASSERT_TRUE(one && two && other_seed);
  EXPECT_EQ(one->low, two->low);
  EXPECT_EQ(one->high, two->high);
  EXPECT_NE(one->low, other_seed->low);
  EXPECT_LT(one->low, area);
  EXPECT_GT(one->high, area);
  // Its width against DeLong's standard error of the one AUC (against a constant scorer, whose
  // components do not vary, the variance of the difference is that of the AUC alone).
  const auto alone = delong_test(scores, std::vector<double>(scores.size(), 0.5), converted);
  ASSERT_TRUE(alone);
  const double delong_width = alone->interval.high - alone->interval.low;
  EXPECT_NEAR((one->high - one->low) / delong_width, 1.0, 0.2)
      << one->low << ".." << one->high << " against a width of " << delong_width;
  EXPECT_FALSE(bootstrap_auc_interval(scores, converted, 0, 1, 2));  // off
}

TEST(Comparison, OutcomeMetricsBelowMinNAreInsufficientNotNumbers) {
  const auto T = Recommendation::TransferToSales;
  std::vector<std::optional<double>> a(kA.begin(), kA.end()), b(kB.begin(), kB.end());
  const ScorerRun ra{"a", a, std::vector<std::optional<Recommendation>>(a.size(), T)};
  const ScorerRun rb{"b", b, std::vector<std::optional<Recommendation>>(b.size(), T)};
  const std::vector<std::optional<bool>> outcomes(kConverted.begin(), kConverted.end());
  ComparisonSettings settings;  // min_n 30: 8 converted and 12 not are too few
  const ComparisonReport few = compare_scorers({ra, rb}, outcomes, settings);
  const OutcomeMetrics& o = *few.scorers[0].outcomes;
  EXPECT_FALSE(o.sufficient);
  EXPECT_EQ(o.n, 20u);
  EXPECT_EQ(o.converted, 8u);
  EXPECT_FALSE(o.auc || o.auc_interval || o.brier || o.lift_top_decile || o.ks);
  EXPECT_TRUE(o.roc.empty());
  EXPECT_EQ(o.calibration[9].n, 1u);  // the counts themselves are still reported
  EXPECT_FALSE(few.pairs[0].auc_difference);
  EXPECT_EQ(few.pairs[0].outcome_n, 20u);
  EXPECT_TRUE(few.pairs[0].kendall_tau_b);  // needs no outcomes

  settings.min_n = 8;  // exactly enough of each
  const ComparisonReport enough = compare_scorers({ra, rb}, outcomes, settings);
  const OutcomeMetrics& e = *enough.scorers[0].outcomes;
  EXPECT_TRUE(e.sufficient);
  EXPECT_NEAR(*e.auc, 0.7864583333333334, 1e-12);
  EXPECT_NEAR(*e.brier, 0.18625, 1e-12);  // numpy: mean((a - y)^2)
  EXPECT_DOUBLE_EQ(*e.lift_top_decile, 1.875);
  EXPECT_NEAR(*e.ks, 0.4583333333333333, 1e-12);
  ASSERT_TRUE(e.auc_interval);
  ASSERT_GE(e.roc.size(), 2u);
  EXPECT_DOUBLE_EQ(e.roc.front().true_positive_rate, 0);
  EXPECT_DOUBLE_EQ(e.roc.back().false_positive_rate, 1);
  EXPECT_DOUBLE_EQ(e.roc.back().true_positive_rate, 1);
  ASSERT_TRUE(enough.pairs[0].auc_difference);
  EXPECT_NEAR(enough.pairs[0].auc_difference->p_value, 0.7231541532157224, 1e-9);
}

TEST(Comparison, TheFlipTableSplitsTheHandoffDecisionAtTheThreshold) {
  const auto C = Recommendation::ContinueQualification;
  std::vector<std::optional<double>> a(kA.begin(), kA.end()), b(kB.begin(), kB.end());
  const ScorerRun ra{"a", a, std::vector<std::optional<Recommendation>>(a.size(), C)};
  const ScorerRun rb{"b", b, std::vector<std::optional<Recommendation>>(b.size(), C)};
  const std::vector<std::optional<bool>> outcomes(kConverted.begin(), kConverted.end());
  ComparisonSettings settings;
  settings.handoff_min_score = 0.6;  // score >= 0.6 hands off (inclusive)
  const PairComparison p = compare_scorers({ra, rb}, outcomes, settings).pairs[0];
  // numpy: both 4, only a 3, only b 2, neither 11; kappa 0.4318181818181819.
  EXPECT_EQ(p.handoff.both, 4u);
  EXPECT_EQ(p.handoff.only_a, 3u);
  EXPECT_EQ(p.handoff.only_b, 2u);
  EXPECT_EQ(p.handoff.neither, 11u);
  EXPECT_NEAR(*p.handoff.kappa, 0.4318181818181819, 1e-12);
  // Only a hands off leads 3, 5 and 7 (0.8, 0.6, 0.6 in a): two of them converted.
  EXPECT_EQ(p.handoff.with_outcome[1], 3u);
  EXPECT_EQ(p.handoff.converted[1], 2u);
  EXPECT_FALSE(p.recommendation_kappa);  // both always say continue: chance agreement is 1
  EXPECT_EQ(p.scatter.size(), 20u);
  EXPECT_EQ(p.scatter[2].outcome, 0);
}

TEST(Comparison, TheScatterKeepsAtMostItsCapOfLeadsInOrder) {
  const auto D = Recommendation::DropLead;
  std::vector<std::optional<double>> scores;
  for (int i = 0; i < 10001; ++i) scores.push_back(i / 10001.0);
  const ScorerRun a{"a", scores, std::vector<std::optional<Recommendation>>(scores.size(), D)};
  const PairComparison p = compare_scorers({a, a}, {}).pairs[0];
  EXPECT_LE(p.scatter.size(), 2000u);
  EXPECT_GE(p.scatter.size(), 1500u);
  EXPECT_DOUBLE_EQ(p.scatter[0].a, 0);
  EXPECT_EQ(p.scatter[0].outcome, -1);
  EXPECT_LT(p.scatter[0].a, p.scatter[1].a);
}

}  // namespace
}  // namespace leadscore::scoring
