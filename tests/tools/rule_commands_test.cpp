// `leadscore rules test` and `leadscore rules trace` through lua.so: the lead of --lead, the
// reports the module gives, and their text.
#include "tools/rule_commands.h"

#include <gtest/gtest.h>

#include <string>

namespace leadscore::tools {
namespace {

const std::string kLuaModule = std::string(LEADSCORE_PLUGIN_DIR) + "/lua.so";
const std::string kRules = std::string(LEADSCORE_SOURCE_DIR) + "/rules";

TEST(RuleCommands, ReadsALeadFromJson) {
  const auto lead = features_from_json(
      nlohmann::json::parse(R"({"source": "partner", "stage": "qualified", "activity_count": 3,
                                "business_domain": "acme.io", "role": "CEO", "bio": null})"));
  ASSERT_TRUE(lead) << lead.error();
  EXPECT_EQ(lead->stage, domain::LeadStage::Qualified);
  EXPECT_EQ(lead->profile.role, "CEO");
  EXPECT_FALSE(lead->profile.bio);
  const auto unknown = features_from_json(nlohmann::json::parse(R"({"id": 3})"));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("unknown lead field 'id'"), std::string::npos);
  EXPECT_NE(unknown.error().find("(known: source, stage, activity_count, business_domain, name, "
                                 "email, role, company, industry, location, bio, phone, website)"),
            std::string::npos)
      << unknown.error();
  EXPECT_FALSE(features_from_json(nlohmann::json::parse(R"({"activity_count": -1})")));
}

TEST(RuleCommands, RunsTheShippedRuleTestsThroughTheModule) {
  const auto run = run_rule_tests(kLuaModule, kRules + "/tests");
  ASSERT_TRUE(run) << run.error();
  EXPECT_TRUE(run->passed) << run->report.dump(2);
  const std::string text = rule_tests_text(run->report);
  EXPECT_NE(text.find("  PASS hot partner lead with a business domain is transferred (line 4)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(" passed, 0 failed\n"), std::string::npos) << text;
}

TEST(RuleCommands, AMissingPathIsAFailedRunWithItsLoadError) {
  const auto run = run_rule_tests(kLuaModule, kRules + "/no_such_tests");
  ASSERT_TRUE(run) << run.error();
  EXPECT_FALSE(run->passed);
  const std::string text = rule_tests_text(run->report);
  EXPECT_NE(text.find("  ERROR "), std::string::npos) << text;
  EXPECT_NE(text.find("no such file or directory"), std::string::npos) << text;
  EXPECT_NE(text.find("0 passed, 0 failed, 1 load errors"), std::string::npos) << text;
}

TEST(RuleCommands, AModuleWithoutSelfTestCannotRunRuleTests) {
  const auto run =
      run_rule_tests(std::string(LEADSCORE_PLUGIN_DIR) + "/heuristic.so", kRules + "/tests");
  ASSERT_FALSE(run);
}

TEST(RuleCommands, TracesALeadThroughTheModule) {
  domain::Features lead;
  lead.source = "partner";
  lead.stage = domain::LeadStage::Qualified;
  lead.activity_count = 8;
  lead.business_domain = "fintech";
  const auto trace = trace_rules(kLuaModule, kRules + "/default.lua", {}, lead);
  ASSERT_TRUE(trace) << trace.error();
  const std::string text = trace_text(*trace);
  EXPECT_NE(text.find("  match    +0.7     source=partner   [saw source=\"partner\"]"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("score 1, transfer_to_sales\n"), std::string::npos) << text;
}

TEST(RuleCommands, AScriptThatDoesNotLoadIsAnError) {
  const auto trace = trace_rules(kLuaModule, kRules + "/no_such.lua", {}, domain::Features{});
  ASSERT_FALSE(trace);
  EXPECT_NE(trace.error().find("no_such.lua"), std::string::npos) << trace.error();
}

}  // namespace
}  // namespace leadscore::tools
