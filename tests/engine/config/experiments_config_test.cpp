// The `experiments` section of the config: each experiment's arms name configured scorers with
// positive weights, names are unique, at most one experiment is active; every problem names the
// file, the key and its line.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/config/app_config.h"
#include "tests/support/temp_file.h"

namespace leadscore::config {
namespace {

using testing::TempDir;

constexpr std::string_view kScoring = R"(scoring:
  primary: heuristic
  scorers:
    heuristic: {plugin: heuristic}
    rules: {plugin: lua}
)";

class ExperimentsConfigTest : public ::testing::Test {
 protected:
  std::expected<AppConfig, std::vector<ConfigError>> load(const std::string& experiments) {
    path_ = dir_.write("leadscore.yaml", std::string(kScoring) + experiments);
    return load_app_config(path_, {});
  }
  // The one error of `experiments` (the test fails when there is not exactly one).
  ConfigError error_of(const std::string& experiments) {
    auto result = load(experiments);
    EXPECT_FALSE(result.has_value()) << experiments;
    if (result) return {};
    EXPECT_EQ(result.error().size(), 1u) << to_text(result.error());
    return result.error().front();
  }

  TempDir dir_;
  std::string path_;
};

TEST_F(ExperimentsConfigTest, ReadsEveryKeyWithDefaults) {
  auto config = load(R"(experiments:
  - name: rules-v2
    salt: s1
    arms:
      - {name: control, scorer: heuristic, weight: 50}
      - {name: challenger, scorer: rules, weight: 50}
  - name: older
    salt: s0
    min_n: 100
    active: false
    arms:
      - {name: a, scorer: heuristic, weight: 1}
      - {name: b, scorer: rules, weight: 2.5}
)");
  ASSERT_TRUE(config.has_value()) << to_text(config.error());
  ASSERT_EQ(config->experiments.size(), 2u);
  const auto& first = config->experiments[0];
  EXPECT_EQ(first.name, "rules-v2");
  EXPECT_EQ(first.salt, "s1");
  EXPECT_EQ(first.min_n, 30u);
  EXPECT_TRUE(first.active);
  ASSERT_EQ(first.arms.size(), 2u);
  EXPECT_EQ(first.arms[1].name, "challenger");
  EXPECT_EQ(first.arms[1].scorer, "rules");
  EXPECT_EQ(first.arms[1].weight, 50);
  EXPECT_EQ(config->experiments[1].min_n, 100u);
  EXPECT_FALSE(config->experiments[1].active);
  EXPECT_EQ(config->experiments[1].arms[1].weight, 2.5);
}

TEST_F(ExperimentsConfigTest, NoSectionMeansNoExperiment) {
  auto config = load("");
  ASSERT_TRUE(config.has_value());
  EXPECT_TRUE(config->experiments.empty());
}

TEST_F(ExperimentsConfigTest, AnArmMustNameAConfiguredScorer) {
  const auto e = error_of(R"(experiments:
  - name: x
    salt: s
    arms:
      - {name: a, scorer: heuristic, weight: 1}
      - {name: b, scorer: rulez, weight: 1}
)");
  EXPECT_EQ(e.file, path_);
  EXPECT_EQ(e.line, 11);
  EXPECT_NE(e.message.find("experiments[0].arms[1].scorer 'rulez' is not a scorer"),
            std::string::npos)
      << e.message;
}

TEST_F(ExperimentsConfigTest, WeightsMustBePositive) {
  const auto e = error_of(R"(experiments:
  - name: x
    salt: s
    arms:
      - {name: a, scorer: heuristic, weight: 0}
      - {name: b, scorer: rules, weight: 1}
)");
  EXPECT_EQ(e.line, 10);
  EXPECT_NE(e.message.find("experiments[0].arms[0].weight"), std::string::npos) << e.message;
  EXPECT_EQ(error_of(R"(experiments:
  - name: x
    salt: s
    arms:
      - {name: a, scorer: heuristic, weight: -2}
      - {name: b, scorer: rules, weight: 1}
)")
                .line,
            10);
}

TEST_F(ExperimentsConfigTest, NamesAreUnique) {
  const auto arm = error_of(R"(experiments:
  - name: x
    salt: s
    arms:
      - {name: a, scorer: heuristic, weight: 1}
      - {name: a, scorer: rules, weight: 1}
)");
  EXPECT_EQ(arm.line, 11);
  EXPECT_NE(arm.message.find("repeats the arm name 'a'"), std::string::npos) << arm.message;
  const auto experiment = error_of(R"(experiments:
  - name: x
    salt: s
    active: false
    arms: [{name: a, scorer: heuristic, weight: 1}, {name: b, scorer: rules, weight: 1}]
  - name: x
    salt: t
    arms: [{name: a, scorer: heuristic, weight: 1}, {name: b, scorer: rules, weight: 1}]
)");
  EXPECT_EQ(experiment.line, 11);
  EXPECT_NE(experiment.message.find("experiments[1] repeats the experiment name 'x'"),
            std::string::npos)
      << experiment.message;
}

TEST_F(ExperimentsConfigTest, AtMostOneExperimentIsActive) {
  const auto e = error_of(R"(experiments:
  - name: x
    salt: s
    arms: [{name: a, scorer: heuristic, weight: 1}, {name: b, scorer: rules, weight: 1}]
  - name: y
    salt: t
    arms: [{name: a, scorer: heuristic, weight: 1}, {name: b, scorer: rules, weight: 1}]
)");
  EXPECT_EQ(e.line, 10);
  EXPECT_NE(e.message.find("at most one experiment is active"), std::string::npos) << e.message;
}

TEST_F(ExperimentsConfigTest, MissingKeysAndTooFewArmsAreNamed) {
  auto result = load(R"(experiments:
  - name: x
    arms: [{name: a, scorer: heuristic, weight: 1}]
  - salt: s
    arms: [{name: a, scorer: heuristic}, {name: b, scorer: rules, weight: 1, colour: red}]
)");
  ASSERT_FALSE(result.has_value());
  const std::string text = to_text(result.error());
  EXPECT_NE(text.find("missing key 'salt' in experiments[0]"), std::string::npos) << text;
  EXPECT_NE(text.find("experiments[0].arms must be a list of at least two arms"), std::string::npos)
      << text;
  EXPECT_NE(text.find("missing key 'name' in experiments[1]"), std::string::npos) << text;
  EXPECT_NE(text.find("missing key 'weight' in experiments[1].arms[0]"), std::string::npos) << text;
  EXPECT_NE(text.find("unknown key 'colour' in experiments[1].arms[1]"), std::string::npos) << text;
}

}  // namespace
}  // namespace leadscore::config
