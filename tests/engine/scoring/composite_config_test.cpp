#include "engine/scoring/composite_config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace leadscore::scoring {
namespace {

using config::ConfigError;
using config::YamlErrors;

const std::string kPath = "scoring.scorers.hybrid.composite";

// The document's `composite` value, read as build_scorers reads it.
class CompositeConfigTest : public ::testing::Test {
 protected:
  std::optional<CompositeConfig> read(const std::string& yaml) {
    errors_ = YamlErrors("leadscore.yaml");
    const YAML::Node root = YAML::Load(yaml);
    return read_composite(root["composite"], kPath, {1, 1}, errors_);
  }
  // The one error of `yaml`.
  ConfigError error_of(const std::string& yaml) {
    EXPECT_FALSE(read(yaml).has_value());
    EXPECT_EQ(errors_.size(), 1u) << config::to_text(errors_.list());
    return errors_.empty() ? ConfigError{} : errors_.list().front();
  }

  YamlErrors errors_{"leadscore.yaml"};
};

TEST_F(CompositeConfigTest, ReadsTheHybrid) {
  const auto composite = read(R"(composite:
  parts:
    - {scorer: icp_fit, max_points: 50}
    - {scorer: llm, max_points: 50}
  bands: [{label: High, min_points: 70}, {label: Medium, min_points: 40}, {label: Low, min_points: 0}]
  recommend: {transfer_min_points: 75, drop_max_points: 20}
)");
  ASSERT_TRUE(composite.has_value()) << config::to_text(errors_.list());
  ASSERT_EQ(composite->parts.size(), 2u);
  EXPECT_EQ(composite->parts[0].scorer, "icp_fit");
  EXPECT_EQ(composite->parts[0].points, 50);
  EXPECT_EQ(composite->parts[0].scorer_position.line, 3);
  EXPECT_EQ(composite->parts[1].scorer, "llm");
  EXPECT_FALSE(composite->weighted);
  ASSERT_EQ(composite->rules.bands.size(), 3u);
  EXPECT_EQ(composite->rules.bands[1].label, "Medium");
  EXPECT_EQ(composite->rules.bands[1].min_points, 40);
  EXPECT_EQ(composite->rules.transfer_min_points, 75);
  EXPECT_EQ(composite->rules.drop_max_points, 20);
}

TEST_F(CompositeConfigTest, ThresholdsDefaultToSharesOfTheMostPointsAndBandsAreOptional) {
  const auto composite = read(R"(composite:
  parts:
    - {scorer: a, weight: 3}
    - {scorer: b, weight: 1}
)");
  ASSERT_TRUE(composite.has_value()) << config::to_text(errors_.list());
  EXPECT_TRUE(composite->weighted);
  EXPECT_TRUE(composite->rules.bands.empty());
  EXPECT_DOUBLE_EQ(composite->rules.transfer_min_points, 0.7 * 4);
  EXPECT_DOUBLE_EQ(composite->rules.drop_max_points, 0.3 * 4);
}

TEST_F(CompositeConfigTest, RefusesEmptyOrMissingParts) {
  auto e = error_of("composite:\n  parts: []\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.message, kPath + ".parts is empty: a composite needs at least one part");
  EXPECT_FALSE(read("composite:\n  bands: []\n").has_value());
  ASSERT_EQ(errors_.size(), 2u);
  EXPECT_EQ(errors_.list()[0].message, "missing key 'parts' in " + kPath);
  EXPECT_EQ(errors_.list()[1].message,
            kPath + ".bands is empty: list at least one band, or leave bands out");
  e = error_of("composite:\n  parts: icp_fit\n");
  EXPECT_EQ(e.message, kPath + ".parts must be a list, got 'icp_fit'");
  e = error_of("composite:\n");
  EXPECT_EQ(e.message, kPath + " must be a mapping with `parts`, got nothing");
}

TEST_F(CompositeConfigTest, APartGivesExactlyOneOfMaxPointsAndWeight) {
  auto e = error_of(R"(composite:
  parts:
    - {scorer: a, max_points: 50, weight: 1}
)");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.message, kPath + ".parts[0] gives both max_points and weight: give one");
  e = error_of(R"(composite:
  parts:
    - {scorer: a, max_points: 50}
    - scorer: b
)");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.column, 7);
  EXPECT_EQ(e.message, kPath + ".parts[1] needs max_points (its points at a score of 1) or weight");
  e = error_of(R"(composite:
  parts:
    - {scorer: a, max_points: 50}
    - {scorer: b, weight: 0.5}
)");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.message, kPath + ".parts[1] gives weight but " + kPath +
                           ".parts[0] gives max_points: the parts of a composite all give "
                           "max_points or all give weight");
}

TEST_F(CompositeConfigTest, RefusesPointsNotAboveZeroAndPartsWithoutAScorerOrTwice) {
  auto e = error_of("composite:\n  parts:\n    - {scorer: a, max_points: 0}\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.column, 31);
  EXPECT_EQ(e.message, kPath + ".parts[0].max_points must be more than 0, got 0");
  e = error_of("composite:\n  parts:\n    - {scorer: a, weight: -1}\n");
  EXPECT_EQ(e.message, kPath + ".parts[0].weight must be more than 0, got -1");
  e = error_of("composite:\n  parts:\n    - {max_points: 5}\n");
  EXPECT_EQ(e.message, "missing key 'scorer' in " + kPath + ".parts[0]");
  e = error_of(
      "composite:\n  parts:\n    - {scorer: a, max_points: 5}\n    - {scorer: a, "
      "max_points: 5}\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.message, kPath + ".parts[1] repeats 'a'");
  e = error_of("composite:\n  parts:\n    - {scorer: a, max_points: 5, fallback: b}\n");
  EXPECT_EQ(e.message, "unknown key 'fallback' in " + kPath + ".parts[0]");
}

TEST_F(CompositeConfigTest, RefusesBadBandsWithTheirPositions) {
  const std::string parts = "composite:\n  parts: [{scorer: a, max_points: 100}]\n  bands:\n";
  auto e = error_of(parts +
                    "    - {label: Medium, min_points: 40}\n"
                    "    - {label: High, min_points: 70}\n"
                    "    - {label: Low, min_points: 0}\n");
  EXPECT_EQ(e.line, 5);
  EXPECT_EQ(e.message, kPath + ".bands[1].min_points 70 is above that of " + kPath +
                           ".bands[0] (40): list the bands from the highest min_points down");
  e = error_of(parts +
               "    - {label: High, min_points: 40}\n"
               "    - {label: Medium, min_points: 40}\n"
               "    - {label: Low, min_points: 0}\n");
  EXPECT_EQ(e.line, 5);
  EXPECT_EQ(e.message, kPath + ".bands[1] repeats min_points 40 of " + kPath + ".bands[0]");
  e = error_of(parts +
               "    - {label: High, min_points: 70}\n"
               "    - {label: High, min_points: 0}\n");
  EXPECT_EQ(e.line, 5);
  EXPECT_EQ(e.message, kPath + ".bands[1] repeats label 'High'");
  e = error_of(parts +
               "    - {label: High, min_points: 70}\n"
               "    - {label: Low, min_points: -5}\n");
  EXPECT_EQ(e.line, 5);
  EXPECT_EQ(e.message, kPath + ".bands[1].min_points must not be negative, got -5");
  e = error_of(parts +
               "    - {label: High, min_points: 70}\n"
               "    - {label: Medium, min_points: 40}\n");
  EXPECT_EQ(e.line, 5);
  EXPECT_EQ(e.message, kPath +
                           ".bands[1] is the last band: its min_points must be 0, so that every "
                           "score has an intent");
  e = error_of(parts +
               "    - {label: Top, min_points: 120}\n"
               "    - {label: Low, min_points: 0}\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.message, kPath +
                           ".bands[0].min_points 120 is above the composite's most points (100): "
                           "no score reaches it");
  e = error_of(parts + "    - {label: \" \", min_points: 0}\n");
  EXPECT_EQ(e.message, kPath + ".bands[0].label must not be blank");
  e = error_of(parts + "    - {label: Low}\n");
  EXPECT_EQ(e.message, "missing key 'min_points' in " + kPath + ".bands[0]");
}

TEST_F(CompositeConfigTest, RefusesThresholdsOutOfRangeOrCrossed) {
  const std::string parts = "composite:\n  parts: [{scorer: a, max_points: 100}]\n";
  auto e = error_of(parts + "  recommend: {transfer_min_points: 40, drop_max_points: 40}\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.message,
            kPath + ".recommend.drop_max_points (40) must be below transfer_min_points (40)");
  e = error_of(parts + "  recommend: {transfer_min_points: 101}\n");
  EXPECT_EQ(e.message, kPath + ".recommend.transfer_min_points must be between 0 and 100, got 101");
  e = error_of(parts + "  recommend: {transfer: 70}\n");
  EXPECT_EQ(e.message, "unknown key 'transfer' in " + kPath + ".recommend");
  // A transfer threshold below the default drop threshold (30) crosses it too.
  e = error_of(parts + "  recommend: {transfer_min_points: 20}\n");
  EXPECT_EQ(e.message,
            kPath + ".recommend.drop_max_points (30) must be below transfer_min_points (20)");
}

TEST_F(CompositeConfigTest, ReportsEveryProblemAtOnce) {
  EXPECT_FALSE(read(R"(composite:
  parts:
    - {scorer: a}
    - {scorer: b, max_points: -1}
  bands:
    - {label: Low, min_points: -1}
  colour: red
)")
                   .has_value());
  EXPECT_EQ(errors_.size(), 4u) << config::to_text(errors_.list());
}

}  // namespace
}  // namespace leadscore::scoring
