// The statistics of an offline comparison, against values worked out by hand.
#include "engine/scoring/comparison.h"

#include <gtest/gtest.h>

#include <cmath>

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
  const ComparisonReport report = compare_scorers({a, b}, outcomes);

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
  EXPECT_DOUBLE_EQ(sa.outcomes->brier, (0.01 + 0.25 + 0.5625) / 3);
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
  EXPECT_DOUBLE_EQ(p.agreement, 2.0 / 3);
  EXPECT_NEAR(p.mean_absolute_difference, (0.1 + 0.1 + 0.55) / 3, 1e-12);
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

}  // namespace
}  // namespace leadscore::scoring
