#include "engine/domain/experiment.h"

#include <gtest/gtest.h>

#include <array>

namespace leadscore::domain {
namespace {

double growthbook_v2(std::string_view seed, std::string_view value) {
  return static_cast<double>(experiment_hash(seed, value) % 10000) / 10000;
}

// GrowthBook's own test cases of its v2 hash: another tool given the same salt and lead id
// puts the lead in the same bucket.
TEST(ExperimentHash, MatchesGrowthBookVersionTwo) {
  EXPECT_DOUBLE_EQ(growthbook_v2("feature", "123"), 0.5231);
  EXPECT_DOUBLE_EQ(growthbook_v2("experiment", "1"), 0.4413);
  EXPECT_DOUBLE_EQ(growthbook_v2("holdout", "1"), 0.8043);
}

TEST(ExperimentHash, IsFnv1aOfTheDecimalStringOfFnv1a) {
  EXPECT_EQ(fnv1a32(""), 2166136261u);
  EXPECT_EQ(fnv1a32("a"), 0xe40c292cu);
  EXPECT_EQ(experiment_hash("feature", "123"), fnv1a32(std::to_string(fnv1a32("feature123"))));
}

TEST(ExperimentHash, ALeadsBucketIsTheHashOfSaltAndIdModTenThousand) {
  Experiment e{"x", "feature", {{"a", "s", 1}}, 30, true};
  EXPECT_EQ(experiment_bucket(e, 123), 5231);
}

Experiment two_arms(double a, double b) {
  return Experiment{
      "x", "salt", {{"control", "heuristic", a}, {"challenger", "rules", b}}, 30, true};
}

TEST(ExperimentArms, TakeConsecutiveBucketRangesByWeightInConfigOrder) {
  EXPECT_EQ(arm_bounds(two_arms(50, 50)), (std::vector<int>{0, 5000, 10000}));
  EXPECT_EQ(arm_bounds(two_arms(1, 3)), (std::vector<int>{0, 2500, 10000}));
  const Experiment three{"x", "s", {{"a", "s", 1}, {"b", "s", 1}, {"c", "s", 1}}, 30, true};
  EXPECT_EQ(arm_bounds(three), (std::vector<int>{0, 3333, 6666, 10000}));
  EXPECT_EQ(arm_of_bucket(two_arms(1, 3), 0), 0u);
  EXPECT_EQ(arm_of_bucket(two_arms(1, 3), 2499), 0u);
  EXPECT_EQ(arm_of_bucket(two_arms(1, 3), 2500), 1u);
  EXPECT_EQ(arm_of_bucket(two_arms(1, 3), 9999), 1u);
  EXPECT_EQ(arm_of_bucket(Experiment{}, 10), std::nullopt);
}

TEST(ExperimentArms, SplitTheLeadsAboutAsTheWeightsSay) {
  const Experiment e = two_arms(1, 3);
  std::array<int, 2> counts{};
  for (std::int64_t id = 1; id <= 20000; ++id)
    ++counts[*arm_of_bucket(e, experiment_bucket(e, id))];
  EXPECT_NEAR(counts[0], 5000, 250);
  EXPECT_NEAR(counts[1], 15000, 250);
}

TEST(ExperimentArms, TheSplitTextNamesEachArmAndWeight) {
  EXPECT_EQ(split_of(two_arms(50, 50)), "control:50,challenger:50");
  EXPECT_EQ(split_of(two_arms(0.5, 2)), "control:0.5,challenger:2");
}

}  // namespace
}  // namespace leadscore::domain
