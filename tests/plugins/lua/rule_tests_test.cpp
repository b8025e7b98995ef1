// The rule-test runner (rules/tests/*.yaml) and the trace of one lead.
#include "plugins/lua/rule_tests.h"

#include <gtest/gtest.h>

#include "plugins/lua/lua_scorer.h"
#include "tests/plugins/lua/lua_test_support.h"
#include "tests/support/temp_file.h"

namespace leadscore::lua {
namespace {

using leadscore::testing::TempDir;

// The ctest that runs every shipped rule test: any failure fails the build.
TEST(RuleTests, EveryShippedRuleTestPasses) {
  const RuleTestReport report = run_rule_tests(testing::rules_dir() / "tests");
  EXPECT_TRUE(report.passed()) << report.to_text();
  EXPECT_GE(report.files.size(), 2u);
  EXPECT_GT(report.cases_passed, 10u);
}

TEST(RuleTests, AFailingCaseSaysExpectedAndActual) {
  TempDir dir;
  std::filesystem::copy(testing::rules_dir() / "default.lua", dir.path() / "default.lua");
  std::filesystem::copy(testing::rules_dir() / "lib", dir.path() / "lib");
  const auto file =
      dir.write("t.yaml",
                "script: default.lua\n"
                "cases:\n"
                "  - name: right\n"
                "    lead: {source: partner, stage: qualified, activity_count: 7, "
                "business_domain: acme.io}\n"
                "    expect: {recommendation: transfer_to_sales, score: 1.0}\n"
                "  - name: wrong\n"
                "    lead: {source: partner, stage: qualified, activity_count: 7, "
                "business_domain: acme.io}\n"
                "    expect:\n"
                "      recommendation: drop_lead\n"
                "      score_range: [0, 0.5]\n"
                "      contributions: [source=scanner, {rule: source=partner, points: 0.5}]\n");
  const RuleTestReport report = run_rule_tests(file);
  EXPECT_FALSE(report.passed());
  EXPECT_EQ(report.cases_passed, 1u);
  EXPECT_EQ(report.cases_failed, 1u);
  ASSERT_EQ(report.files.size(), 1u);
  const auto& wrong = report.files[0].cases[1];
  EXPECT_EQ(wrong.name, "wrong");
  EXPECT_EQ(wrong.line, 6);
  ASSERT_EQ(wrong.failures.size(), 4u);
  EXPECT_EQ(wrong.failures[0], "recommendation: expected drop_lead, got transfer_to_sales");
  EXPECT_EQ(wrong.failures[1], "score: expected in [0, 0.5], got 1");
  EXPECT_NE(wrong.failures[2].find("expected 'source=scanner' among them"), std::string::npos);
  EXPECT_EQ(wrong.failures[3], "contributions: expected 'source=partner' with 0.5 points, got 0.7");
  const std::string text = report.to_text();
  EXPECT_NE(text.find("  PASS right (line 3)"), std::string::npos) << text;
  EXPECT_NE(text.find("  FAIL wrong (line 6)"), std::string::npos) << text;
  EXPECT_NE(text.find("1 passed, 1 failed"), std::string::npos) << text;
  EXPECT_EQ(report.to_json()["cases_failed"], 1);
}

TEST(RuleTests, ExpectsAnError) {
  TempDir dir;
  dir.write("loop.lua",
            "return {name = 'l', version = '1', score = function() while true do end end}");
  const auto file = dir.write("t.yaml",
                              "script: loop.lua\n"
                              "params: {instruction_limit: 5000}\n"
                              "cases:\n"
                              "  - lead: {source: manual}\n"
                              "    expect: {error: instruction limit of 5000 exceeded}\n");
  const RuleTestReport report = run_rule_tests(file);
  EXPECT_TRUE(report.passed()) << report.to_text();
}

TEST(RuleTests, AScriptErrorNamesFileAndLine) {
  TempDir dir;
  dir.write(
      "broken.lua",
      "local x = 1\nreturn {name = 'b', version = '1', score = function(l)\n  return l.\nend}\n");
  const auto file =
      dir.write("t.yaml", "script: broken.lua\ncases:\n  - lead: {}\n    expect: {score: 0}\n");
  const RuleTestReport report = run_rule_tests(file);
  EXPECT_FALSE(report.passed());
  ASSERT_EQ(report.files[0].errors.size(), 1u);
  EXPECT_NE(report.files[0].errors[0].file.find("broken.lua"), std::string::npos);
  EXPECT_EQ(report.files[0].errors[0].line, 4);
}

TEST(RuleTests, ABadTestFileIsReportedWithItsLines) {
  TempDir dir;
  const auto file = dir.write("t.yaml",
                              "script: x.lua\n"
                              "case: []\n");
  const RuleTestReport report = run_rule_tests(file);
  EXPECT_FALSE(report.passed());
  const std::string text = report.to_text();
  EXPECT_NE(text.find("t.yaml:2: unknown key 'case'"), std::string::npos) << text;
  EXPECT_NE(text.find("cases must be a non-empty list"), std::string::npos) << text;
}

TEST(RuleTests, ABadLeadFailsItsCase) {
  TempDir dir;
  std::filesystem::copy(testing::rules_dir() / "default.lua", dir.path() / "default.lua");
  std::filesystem::copy(testing::rules_dir() / "lib", dir.path() / "lib");
  const auto file = dir.write("t.yaml",
                              "script: default.lua\ncases:\n"
                              "  - lead: {source: partner, stage: won}\n    expect: {score: 0}\n");
  const RuleTestReport report = run_rule_tests(file);
  ASSERT_EQ(report.cases_failed, 1u);
  EXPECT_NE(report.files[0].cases[0].failures[0].find("stage must be one of"), std::string::npos);
}

TEST(RuleTrace, ShowsEveryRuleWhetherItMatchedAndWhatItSaw) {
  plugin::Features lead;
  lead.source = "partner";
  lead.stage = plugin::Stage::Contacted;
  lead.activity_count = 2;
  const auto trace = trace_rules(testing::rules_dir() / "default.lua", lead);
  ASSERT_TRUE(trace) << to_text(trace.error());
  ASSERT_TRUE(trace->result) << trace->result.error();
  EXPECT_TRUE(trace->per_rule);
  ASSERT_EQ(trace->rules.size(), 5u);
  EXPECT_EQ(trace->rules[0].rule, "source=partner");
  EXPECT_TRUE(trace->rules[0].matched);
  EXPECT_EQ(trace->rules[0].points, 0.7);
  ASSERT_EQ(trace->rules[0].seen.size(), 1u);
  EXPECT_EQ(trace->rules[0].seen[0].field, "source");
  EXPECT_EQ(trace->rules[0].seen[0].value, "\"partner\"");
  EXPECT_EQ(trace->rules[1].rule, "activity_count in [1, 3)");
  EXPECT_EQ(trace->rules[1].seen[0].value, "2");
  EXPECT_EQ(trace->rules[3].rule, "business domain set");
  EXPECT_FALSE(trace->rules[3].matched);
  EXPECT_EQ(trace->rules[3].seen[0].field, "business_domain");
  EXPECT_EQ(trace->rules[3].seen[0].value, "nil");
  EXPECT_EQ(trace->rules[4].rule, "no business domain: capped at 0.55");
  EXPECT_TRUE(trace->rules[4].matched);
  EXPECT_LT(trace->rules[4].points, 0);
  EXPECT_EQ(trace->result->score, 0.55);
  const std::string text = to_text(*trace);
  EXPECT_NE(text.find("no match"), std::string::npos) << text;
  EXPECT_NE(text.find("[saw business_domain=nil]"), std::string::npos) << text;
  EXPECT_EQ(to_json(*trace)["rules"].size(), 5u);
}

TEST(RuleTrace, ListsTheFieldsReadByAScriptWithoutTheHelper) {
  TempDir dir;
  const auto script =
      dir.write("plain.lua",
                "return {name = 'p', version = '1', score = function(lead, ctx)\n"
                "  local s = lead.role == 'CEO' and 1 or 0\n"
                "  return {score = s, recommendation = 'drop_lead', reason = 'r', contributions = "
                "{{rule = 'ceo', points = s}}}\nend}\n");
  plugin::Features lead;
  lead.set_field("role", "CTO");
  const auto trace = trace_rules(script, lead);
  ASSERT_TRUE(trace) << to_text(trace.error());
  EXPECT_FALSE(trace->per_rule);
  ASSERT_EQ(trace->fields_read.size(), 1u);
  EXPECT_EQ(trace->fields_read[0].field, "role");
  EXPECT_EQ(trace->fields_read[0].value, "\"CTO\"");
}

TEST(RuleTests, ReadATestLeadFromJsonWithAnyProfileField) {
  const auto lead = lead_from_json(nlohmann::json::parse(
      R"({"source": "partner", "stage": "qualified", "activity_count": 3,
          "business_domain": "acme.io", "role": "CEO", "bio": null, "linkedin": "in/ann"})"));
  ASSERT_TRUE(lead) << lead.error();
  EXPECT_EQ(lead->stage, plugin::Stage::Qualified);
  EXPECT_EQ(lead->business_domain, "acme.io");
  ASSERT_NE(lead->field("role"), nullptr);
  EXPECT_EQ(*lead->field("role"), "CEO");
  ASSERT_NE(lead->field("bio"), nullptr);
  EXPECT_FALSE(*lead->field("bio"));
  // A field the plugin has no name for is a profile field too: new lead fields need no change.
  ASSERT_NE(lead->field("linkedin"), nullptr);
  EXPECT_EQ(*lead->field("linkedin"), "in/ann");
  const auto number = lead_from_json(nlohmann::json::parse(R"({"id": 3})"));
  ASSERT_FALSE(number);
  EXPECT_NE(number.error().find("id must be a string or null, got 3"), std::string::npos);
  EXPECT_FALSE(lead_from_json(nlohmann::json::parse(R"({"activity_count": -1})")));
  EXPECT_FALSE(lead_from_json(nlohmann::json::parse(R"({"stage": "won"})")));
}

// A scorer's own rule tests: the files for its script, run on the rules it serves.
class ScorerRuleTests : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::copy(testing::rules_dir() / "default.lua", dir_.path() / "default.lua");
    std::filesystem::copy(testing::rules_dir() / "icp_fit.lua", dir_.path() / "icp_fit.lua");
    std::filesystem::copy(testing::rules_dir() / "lib", dir_.path() / "lib");
    std::filesystem::create_directory(dir_.path() / "tests");
    auto made = LuaScorer::create("rules", {{"script", "default.lua"}}, dir_.path());
    ASSERT_TRUE(made) << to_text(made.error());
    scorer_ = std::move(*made);
  }

  // A test file of one case: the cold scanner lead, expected to get `recommendation`.
  std::filesystem::path test_file(const std::string& name, const std::string& script,
                                  const std::string& recommendation,
                                  const std::string& params = "") {
    return dir_.write("tests/" + name,
                      "script: ../" + script + "\n" + params +
                          "cases:\n"
                          "  - name: cold scanner lead\n"
                          "    lead: {source: scanner, stage: new, activity_count: 0}\n"
                          "    expect: {recommendation: " +
                          recommendation + "}\n");
  }

  TempDir dir_;
  std::unique_ptr<LuaScorer> scorer_;
};

TEST_F(ScorerRuleTests, RunOnlyTheFilesOfTheScorersScript) {
  test_file("default.yaml", "default.lua", "drop_lead");
  test_file("icp_fit.yaml", "icp_fit.lua", "transfer_to_sales");  // wrong, and not this scorer's
  const RuleTestReport report = run_rule_tests(dir_.path() / "tests", *scorer_);
  EXPECT_TRUE(report.passed()) << report.to_text();
  ASSERT_EQ(report.files.size(), 1u);
  EXPECT_NE(report.files[0].file.find("default.yaml"), std::string::npos);
  EXPECT_TRUE(report.problems().empty());
}

TEST_F(ScorerRuleTests, AFailingCaseIsAProblemAtItsLine) {
  const auto file = test_file("default.yaml", "default.lua", "transfer_to_sales");
  const RuleTestReport report = run_rule_tests(file, *scorer_);
  EXPECT_FALSE(report.passed());
  const auto problems = report.problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].file.find("default.yaml"), std::string::npos);
  EXPECT_EQ(problems[0].line, 3);
  EXPECT_NE(problems[0].message.find("rule test 'cold scanner lead' failed; recommendation: "
                                     "expected transfer_to_sales, got drop_lead"),
            std::string::npos)
      << problems[0].message;
  EXPECT_EQ(report.to_json()["problems"].size(), 1u);
}

TEST_F(ScorerRuleTests, RunTheRulesTheScorerLoadedNotTheFileAsItIsNow) {
  const auto file = test_file("default.yaml", "default.lua", "drop_lead");
  // The script changes on disk after the scorer read it: the tests judge what would serve.
  dir_.write("default.lua", "return {}\n");
  const RuleTestReport report = run_rule_tests(file, *scorer_);
  EXPECT_TRUE(report.passed()) << report.to_text();
}

TEST_F(ScorerRuleTests, AFileNamedAloneForAnotherScriptIsAnError) {
  const auto file = test_file("icp_fit.yaml", "icp_fit.lua", "drop_lead");
  const RuleTestReport report = run_rule_tests(file, *scorer_);
  EXPECT_FALSE(report.passed());
  ASSERT_EQ(report.load_errors, 1u);
  EXPECT_NE(report.files[0].errors[0].message.find("the script of this scorer"), std::string::npos)
      << report.to_text();
  EXPECT_EQ(report.files[0].errors[0].line, 1);
}

TEST_F(ScorerRuleTests, ADirectoryWithoutTestsOfTheScriptIsAnError) {
  test_file("icp_fit.yaml", "icp_fit.lua", "drop_lead");
  const RuleTestReport report = run_rule_tests(dir_.path() / "tests", *scorer_);
  EXPECT_FALSE(report.passed());
  EXPECT_NE(report.to_text().find("no rule-test file here tests"), std::string::npos)
      << report.to_text();
}

TEST_F(ScorerRuleTests, AFilesParamsAreLaidOverTheScorers) {
  const auto file = dir_.write("tests/loop.yaml",
                               "script: ../default.lua\n"
                               "params: {instruction_limit: 5000000}\n"
                               "cases:\n"
                               "  - lead: {source: manual}\n"
                               "    expect: {recommendation: drop_lead}\n");
  const RuleTestReport report = run_rule_tests(file, *scorer_);
  EXPECT_TRUE(report.passed()) << report.to_text();
  const auto bad = dir_.write("tests/bad.yaml",
                              "script: ../default.lua\n"
                              "params: {instruction_limit: 1000}\n"
                              "cases:\n"
                              "  - lead: {source: manual}\n"
                              "    expect: {recommendation: drop_lead}\n");
  const RuleTestReport refused = run_rule_tests(bad, *scorer_);
  EXPECT_FALSE(refused.passed());
  // The file's budget, not the scorer's, is what the rules ran under.
  EXPECT_NE(refused.to_text().find("instruction limit of 1000 exceeded"), std::string::npos)
      << refused.to_text();
}

}  // namespace
}  // namespace leadscore::lua

namespace leadscore::lua {
namespace {

TEST(RulesHelper, ADefinitionMistakeNamesTheScriptLine) {
  leadscore::testing::TempDir dir;
  std::filesystem::copy(testing::rules_dir() / "lib", dir.path() / "lib");
  dir.write("bad.lua",
            "local R = rules\n"
            "return R.scorecard{name = 'x', version = '1', rules = {\n"
            "  R.rule{'fine', points = 0.1},\n"
            "  R.rule{'partner', points = nil}}}\n");
  auto scorer = LuaScorer::create("bad", {{"script", "bad.lua"}}, dir.path());
  ASSERT_FALSE(scorer);
  EXPECT_EQ(scorer.error()[0].line, 4);
  EXPECT_EQ(scorer.error()[0].message, "rule 'partner': points must be a finite number, got nil");
  dir.write("bad.lua",
            "local R = rules\n"
            "return R.scorecard{name = 'x', version = '1', rules = {\n"
            "  R.steps{'a', field = 'activity_count', {below = 3, points = 0}, {below = 2, points "
            "= 1}}}}\n");
  scorer = LuaScorer::create("bad", {{"script", "bad.lua"}}, dir.path());
  ASSERT_FALSE(scorer);
  EXPECT_EQ(scorer.error()[0].line, 3);
  EXPECT_NE(scorer.error()[0].message.find("`below` must be a number above"), std::string::npos);
}

TEST(RulesHelper, DeclarativeConditionsAreCallableFromLua) {
  leadscore::testing::TempDir dir;
  std::filesystem::copy(testing::rules_dir() / "lib", dir.path() / "lib");
  dir.write("own.lua",
            "local R = rules\n"
            "local has_role, no_domain = R.is_set('role'), R.is_missing('business_domain')\n"
            "return {name = 'own', version = '1', score = function(lead, ctx)\n"
            "  local s = (has_role(lead, ctx) and 0.5 or 0) + (no_domain(lead) and 0.25 or 0)\n"
            "  return {score = s, recommendation = 'continue_qualification', reason = 'r',\n"
            "          contributions = {{rule = 'own', points = s}}}\nend}\n");
  auto scorer = LuaScorer::create("own", {{"script", "own.lua"}}, dir.path());
  ASSERT_TRUE(scorer) << to_text(scorer.error());
  plugin::Features lead;
  lead.set_field("role", "CTO");
  lead.business_domain = " ";
  auto result = (*scorer)->score(lead);
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->score, 0.75);
  lead.set_field("role", "\t");
  lead.business_domain = "acme.io";
  result = (*scorer)->score(lead);
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->score, 0.0);
}

TEST(RulesHelper, AConditionNeedsAFieldNameAndAWhenNeedsACondition) {
  leadscore::testing::TempDir dir;
  std::filesystem::copy(testing::rules_dir() / "lib", dir.path() / "lib");
  dir.write("bad.lua",
            "local R = rules\n"
            "return R.scorecard{name = 'x', version = '1', rules = {\n"
            "  R.rule{'set', when = R.is_set(), points = 0.1}}}\n");
  auto scorer = LuaScorer::create("bad", {{"script", "bad.lua"}}, dir.path());
  ASSERT_FALSE(scorer);
  EXPECT_EQ(scorer.error()[0].line, 3);
  EXPECT_EQ(scorer.error()[0].message,
            "is_set takes a lead field name, e.g. is_set(\"business_domain\")");
  dir.write("bad.lua",
            "local R = rules\n"
            "return R.scorecard{name = 'x', version = '1', rules = {\n"
            "  R.cap{'fake', when = {kind = 'condition', test = 'is_set', field = 'role'},\n"
            "        max = 0.5}}}\n");
  scorer = LuaScorer::create("bad", {{"script", "bad.lua"}}, dir.path());
  ASSERT_FALSE(scorer);
  EXPECT_EQ(scorer.error()[0].line, 3);
  EXPECT_EQ(scorer.error()[0].message,
            "cap 'fake': when must be a function(lead, ctx) or a condition (rules.is_set, "
            "rules.is_missing)");
}

}  // namespace
}  // namespace leadscore::lua
