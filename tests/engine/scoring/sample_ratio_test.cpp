#include "engine/scoring/sample_ratio.h"

#include <gtest/gtest.h>

#include <cmath>

namespace leadscore::scoring {
namespace {

// Against values with closed forms: with 1 degree of freedom P = erfc(sqrt(x / 2)), with 2
// P = exp(-x / 2), with 4 P = exp(-x / 2) (1 + x / 2); and the tables' 5% critical values.
TEST(ChiSquared, PValueMatchesKnownValues) {
  EXPECT_NEAR(chi_squared_p_value(3.841458820694124, 1), 0.05, 1e-12);
  EXPECT_NEAR(chi_squared_p_value(7.814727903251178, 3), 0.05, 1e-12);
  EXPECT_NEAR(chi_squared_p_value(10, 2), std::exp(-5.0), 1e-14);
  EXPECT_NEAR(chi_squared_p_value(16, 1), std::erfc(std::sqrt(8.0)), 1e-15);
  EXPECT_NEAR(chi_squared_p_value(0.5, 1), std::erfc(0.5), 1e-14);
  EXPECT_NEAR(chi_squared_p_value(3, 4), std::exp(-1.5) * 2.5, 1e-14);
  EXPECT_NEAR(chi_squared_p_value(60, 4), std::exp(-30.0) * 31, 1e-24);
  EXPECT_DOUBLE_EQ(chi_squared_p_value(0, 3), 1);
}

TEST(SampleRatio, AFairSplitIsNotFlagged) {
  const auto check = sample_ratio_check({5050, 4950}, {50, 50});
  EXPECT_EQ(check.n, 10000);
  EXPECT_EQ(check.degrees_of_freedom, 1);
  EXPECT_DOUBLE_EQ(check.expected[0], 5000);
  EXPECT_NEAR(check.chi_squared, 1.0, 1e-12);
  ASSERT_TRUE(check.p_value.has_value());
  EXPECT_NEAR(*check.p_value, std::erfc(std::sqrt(0.5)), 1e-12);  // 0.3173
  EXPECT_FALSE(check.mismatch);
}

TEST(SampleRatio, ASkewedSplitIsFlaggedBelowOnePerMille) {
  const auto check = sample_ratio_check({5200, 4800}, {1, 1});
  EXPECT_NEAR(check.chi_squared, 16.0, 1e-12);
  EXPECT_NEAR(*check.p_value, 6.334248366623977e-05, 1e-15);
  EXPECT_TRUE(check.mismatch);
}

TEST(SampleRatio, UnequalWeightsSetTheExpectedCounts) {
  const auto check = sample_ratio_check({260, 740}, {1, 3});
  EXPECT_DOUBLE_EQ(check.expected[0], 250);
  EXPECT_DOUBLE_EQ(check.expected[1], 750);
  EXPECT_NEAR(check.chi_squared, 100.0 / 250 + 100.0 / 750, 1e-12);
  EXPECT_FALSE(check.mismatch);
}

TEST(SampleRatio, NoLeadsGiveNoPValue) {
  const auto check = sample_ratio_check({0, 0}, {1, 1});
  EXPECT_FALSE(check.p_value.has_value());
  EXPECT_FALSE(check.mismatch);
}

}  // namespace
}  // namespace leadscore::scoring
