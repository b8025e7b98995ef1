#include "engine/scoring/registry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/scoring/heuristic_scorer.h"
#include "tests/config/temp_file.h"

namespace leadscore::scoring {
namespace {

using config::AppConfig;
using config::ConfigError;

const std::string kShippedConfig = std::string(LEADSCORE_SOURCE_DIR) + "/config/leadscore.yaml";

class RegistryTest : public ::testing::Test {
 protected:
  AppConfig load(const std::string& yaml) {
    path_ = dir_.write("leadscore.yaml", yaml);
    auto config = config::load_app_config(path_, {});
    EXPECT_TRUE(config.has_value()) << config::to_text(config.error());
    return config.value_or(AppConfig{});
  }
  std::vector<ConfigError> errors_of(const std::string& yaml) {
    auto set = build_scorers(load(yaml));
    EXPECT_FALSE(set.has_value());
    return set ? std::vector<ConfigError>{} : set.error();
  }

  testing::TempDir dir_;
  std::string path_;
};

TEST_F(RegistryTest, ShippedConfigBuildsTheHeuristicAsPrimary) {
  auto config = config::load_app_config(kShippedConfig, {});
  ASSERT_TRUE(config.has_value()) << config::to_text(config.error());
  auto set = build_scorers(*config);
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  EXPECT_EQ(set->primary().name(), "heuristic");
  ASSERT_EQ(set->entries().size(), 1u);
  EXPECT_EQ(set->entries()[0].plugin, "heuristic");
  EXPECT_EQ(set->entries()[0].role, "primary");
  // The shipped params state the built-in defaults: same weights, same version.
  EXPECT_EQ(set->primary().version(), HeuristicScorer("heuristic").version());
}

TEST_F(RegistryTest, DefaultConfigWithoutScoringSectionBuildsTheHeuristic) {
  auto set = build_scorers(load("server:\n  port: 8000\n"));
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  EXPECT_EQ(set->primary().name(), "heuristic");
}

TEST_F(RegistryTest, FindsScorersByName) {
  auto set = build_scorers(load(R"(scoring:
  primary: strict
  scorers:
    lenient:
      plugin: heuristic
    strict:
      plugin: heuristic
      params:
        transfer_min_score: 0.9
)"));
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  EXPECT_EQ(set->primary().name(), "strict");
  ASSERT_NE(set->find("lenient"), nullptr);
  EXPECT_EQ(set->find("lenient")->name(), "lenient");
  EXPECT_EQ(set->find("missing"), nullptr);
  EXPECT_NE(set->find("lenient")->version(), set->find("strict")->version());
  ASSERT_EQ(set->entries().size(), 2u);
  EXPECT_EQ(set->entries()[0].role, "");
  EXPECT_EQ(set->entries()[1].role, "primary");

  Features f;
  f.source = "partner";
  f.stage = domain::LeadStage::Qualified;
  f.activity_count = 3;
  f.business_domain = "example.com";
  // 0.7 + 0.15 + 0.15 + 0.1 = 1.1 -> 1.0 for both; only the thresholds differ.
  auto lenient = set->find("lenient")->score(f);
  auto strict = set->primary().score(f);
  ASSERT_TRUE(lenient && strict);
  EXPECT_EQ(lenient->recommendation, domain::Recommendation::TransferToSales);
  EXPECT_EQ(strict->recommendation, domain::Recommendation::TransferToSales);
}

TEST_F(RegistryTest, UnknownPluginIsPositioned) {
  auto errors = errors_of(R"(scoring:
  primary: h
  scorers:
    h:
      plugin: heuristik
)");
  ASSERT_EQ(errors.size(), 1u) << config::to_text(errors);
  EXPECT_EQ(errors[0].file, path_);
  EXPECT_EQ(errors[0].line, 5);
  EXPECT_EQ(errors[0].column, 15);
  EXPECT_EQ(errors[0].message,
            "scoring.scorers.h.plugin: unknown plugin 'heuristik' (built-in plugins: heuristic)");
}

TEST_F(RegistryTest, PrimaryThatNamesNoScorerIsPositioned) {
  auto errors = errors_of(R"(scoring:
  primary: champion
  scorers:
    h:
      plugin: heuristic
)");
  ASSERT_EQ(errors.size(), 1u) << config::to_text(errors);
  EXPECT_EQ(errors[0].line, 2);
  EXPECT_EQ(errors[0].message,
            "scoring.primary 'champion' names no configured scorer (configured: h)");
}

TEST_F(RegistryTest, EmptyScorersIsPositioned) {
  auto errors = errors_of("server:\n  port: 8000\nscoring:\n  primary: h\n  scorers: {}\n");
  ASSERT_EQ(errors.size(), 1u) << config::to_text(errors);
  EXPECT_EQ(errors[0].line, 4);
  EXPECT_NE(errors[0].message.find("scoring.scorers is empty"), std::string::npos);
}

TEST_F(RegistryTest, ParamErrorsOfEveryScorerAreReportedTogether) {
  auto errors = errors_of(R"(scoring:
  primary: nope
  scorers:
    a:
      plugin: heuristic
      params:
        bonus: 1
    b:
      plugin: lua
    c:
      plugin: heuristic
      params:
        drop_max_score: high
)");
  ASSERT_EQ(errors.size(), 4u) << config::to_text(errors);
  EXPECT_EQ(errors[0].line, 2);  // in file order
  EXPECT_NE(errors[0].message.find("scoring.primary 'nope'"), std::string::npos);
  EXPECT_EQ(errors[1].line, 7);
  EXPECT_EQ(errors[1].message, "unknown key 'bonus' in scoring.scorers.a.params");
  EXPECT_EQ(errors[2].line, 9);
  EXPECT_NE(errors[2].message.find("unknown plugin 'lua'"), std::string::npos);
  EXPECT_EQ(errors[3].line, 13);
  EXPECT_NE(errors[3].message.find("scoring.scorers.c.params.drop_max_score must be a number"),
            std::string::npos);
  for (const auto& e : errors) EXPECT_EQ(e.file, path_);
}

TEST(ScorerSet, RefusesAPrimaryOutsideTheSet) {
  std::vector<ScorerEntry> entries;
  entries.push_back({std::make_unique<HeuristicScorer>("a"), "heuristic", "primary"});
  EXPECT_THROW(ScorerSet(std::move(entries), "b"), std::invalid_argument);
}

}  // namespace
}  // namespace leadscore::scoring
