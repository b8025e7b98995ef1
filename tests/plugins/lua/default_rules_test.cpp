// rules/default.lua gives exactly the C++ heuristic's numbers, for every input.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "plugins/heuristic/heuristic_scorer.h"
#include "plugins/lua/lua_scorer.h"
#include "tests/plugins/lua/lua_test_support.h"

namespace leadscore::lua {
namespace {

using plugin::Features;

std::unique_ptr<LuaScorer> default_rules() {
  auto scorer =
      LuaScorer::create("default", nlohmann::json{{"script", "default.lua"}}, testing::rules_dir());
  if (!scorer) {
    ADD_FAILURE() << to_text(scorer.error());
    return nullptr;
  }
  return std::move(*scorer);
}

TEST(DefaultRules, MatchTheHeuristicForEveryInput) {
  const auto lua = default_rules();
  ASSERT_TRUE(lua);
  const heuristic::HeuristicScorer heuristic("heuristic");
  const std::optional<std::string> domains[] = {"acme.io", std::nullopt, "", "  \t", " x "};
  int compared = 0;
  for (const char* source : {"scanner", "partner", "manual", "fair"}) {
    for (plugin::Stage stage : plugin::kAllStages) {
      for (int activity = 0; activity <= 12; ++activity) {
        for (const auto& business_domain : domains) {
          Features f;
          f.source = source;
          f.stage = stage;
          f.activity_count = activity;
          f.business_domain = business_domain;
          SCOPED_TRACE(std::string(source) + " " + std::string(plugin::to_string(stage)) + " " +
                       std::to_string(activity) + " domain '" + business_domain.value_or("nil") +
                       "'");
          const auto expected = heuristic.score(f);
          ASSERT_TRUE(expected);
          const auto actual = lua->score(f);
          ASSERT_TRUE(actual) << actual.error();
          EXPECT_EQ(actual->score, expected->score);  // bit for bit
          EXPECT_EQ(actual->recommendation, expected->recommendation);
          const auto numeric = lua->evaluate(f);
          ASSERT_TRUE(numeric) << numeric.error();
          EXPECT_EQ(numeric->score, expected->score);
          EXPECT_EQ(numeric->recommendation, expected->recommendation);
          ++compared;
        }
      }
    }
  }
  EXPECT_EQ(compared, 4 * 5 * 13 * 5);
}

TEST(DefaultRules, ExplainThemselves) {
  const auto lua = default_rules();
  ASSERT_TRUE(lua);
  Features f;
  f.source = "partner";
  f.stage = plugin::Stage::Qualified;
  f.activity_count = 7;
  f.business_domain = "acme.io";
  const auto result = lua->score(f);
  ASSERT_TRUE(result) << result.error();
  ASSERT_EQ(result->contributions.size(), 5u);
  EXPECT_EQ(result->contributions[0].rule, "source=partner");
  EXPECT_EQ(result->contributions[1].rule, "activity_count >= 7");
  EXPECT_EQ(result->contributions[2].rule, "stage=qualified");
  EXPECT_EQ(result->contributions[3].rule, "business domain set");
  EXPECT_EQ(result->contributions[4].rule, "clamped to 1");
  EXPECT_EQ(result->reason,
            "source=partner (+0.70); activity_count >= 7 (+0.25); stage=qualified (+0.15); "
            "business domain set (+0.10); clamped to 1 (-0.20) -> 1.00: transfer to sales "
            "(score >= 0.70)");
}

TEST(DefaultRules, CapALeadWithoutBusinessDomain) {
  const auto lua = default_rules();
  ASSERT_TRUE(lua);
  Features f;
  f.source = "partner";
  f.stage = plugin::Stage::Qualified;
  f.activity_count = 3;
  const auto result = lua->score(f);
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->score, 0.55);
  EXPECT_EQ(result->recommendation, plugin::Recommendation::ContinueQualification);
  EXPECT_EQ(result->contributions.back().rule, "no business domain: capped at 0.55");
}

}  // namespace
}  // namespace leadscore::lua
