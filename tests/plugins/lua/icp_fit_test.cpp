// rules/icp_fit.lua: the ideal-customer-profile rules, out of 50 and normalised to 0..1.
#include <gtest/gtest.h>

#include "plugins/lua/lua_scorer.h"
#include "tests/plugins/lua/lua_test_support.h"

namespace leadscore::lua {
namespace {

using plugin::Features;
using plugin::Recommendation;

std::unique_ptr<LuaScorer> icp_fit(nlohmann::json params = nlohmann::json::object()) {
  params["script"] = "icp_fit.lua";
  auto scorer = LuaScorer::create("icp_fit", params, testing::rules_dir());
  if (!scorer) {
    ADD_FAILURE() << to_text(scorer.error());
    return nullptr;
  }
  return std::move(*scorer);
}

Features ceo_at_saas() {
  Features f;
  f.source = "scanner";
  f.business_domain = "techcorp.com";
  f.profile = testing::named_profile({"John Doe", std::nullopt, "CEO", "TechCorp", "B2B SaaS",
                                      "New York", "15 years building enterprise SaaS platforms"});
  return f;
}

TEST(IcpFitRules, ACeoAtASaasCompanyWithAFullProfileScoresFiftyOfFifty) {
  const auto scorer = icp_fit();
  ASSERT_TRUE(scorer);
  const nlohmann::json offer = {{"name", "AI Outreach Automation"},
                                {"ideal_use_cases", {"B2B SaaS", "Sales teams"}}};
  const auto result = scorer->score(ceo_at_saas(), &offer);
  ASSERT_TRUE(result) << result.error();
  EXPECT_DOUBLE_EQ(result->score, 1.0);
  EXPECT_EQ(result->recommendation, Recommendation::TransferToSales);
  ASSERT_EQ(result->contributions.size(), 3u);
  EXPECT_EQ(result->contributions[0].rule, "decision maker role");
  EXPECT_DOUBLE_EQ(result->contributions[0].points, 0.4);
  EXPECT_EQ(result->contributions[1].rule, "exact ICP industry");
  EXPECT_EQ(result->contributions[2].rule, "complete profile");
  EXPECT_DOUBLE_EQ(result->contributions[2].points, 0.2);
}

TEST(IcpFitRules, TakesTheIndustriesFromParamsWithoutAnOffer) {
  const auto scorer = icp_fit({{"icp_industries", {"SaaS"}}});
  ASSERT_TRUE(scorer);
  const auto result = scorer->score(ceo_at_saas(), nullptr);
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->contributions[1].rule, "related industry");  // "b2b saas" contains "saas"
  EXPECT_DOUBLE_EQ(result->score, 0.8);
}

TEST(IcpFitRules, AnInfluencerWithNothingElseIsDropped) {
  const auto scorer = icp_fit();
  ASSERT_TRUE(scorer);
  Features f;
  f.source = "manual";
  f.set_field("role", "Senior Engineer");
  const auto result = scorer->score(f, nullptr);
  ASSERT_TRUE(result) << result.error();
  EXPECT_DOUBLE_EQ(result->score, 0.2);
  EXPECT_EQ(result->recommendation, Recommendation::DropLead);
  EXPECT_EQ(result->contributions[0].rule, "influencer role");
}

TEST(IcpFitRules, AHighScoreWithoutBusinessDomainIsNotTransferred) {
  const auto scorer = icp_fit({{"icp_industries", {"b2b saas"}}});
  ASSERT_TRUE(scorer);
  Features f = ceo_at_saas();
  f.business_domain.reset();
  const auto result = scorer->score(f, nullptr);
  ASSERT_TRUE(result) << result.error();
  EXPECT_DOUBLE_EQ(result->score, 1.0);
  EXPECT_EQ(result->recommendation, Recommendation::ContinueQualification);
}

}  // namespace
}  // namespace leadscore::lua
