// The Lua rules scorer as a plugin module (lua.so) through the engine's loader and adapter: the
// same results as LuaScorer linked in directly, the rule files' hash as the instance version,
// positioned load errors, script failures as run errors, every profile field of the ABI's
// `fields` in the lead table, the self test of the configured script's rule tests, the trace.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "engine/scoring/plugin_scorer.h"
#include "plugins/lua/lua_scorer.h"
#include "plugins/support/lead_features.h"
#include "tests/plugins/lua/lua_test_support.h"
#include "tests/support/plugin_values.h"
#include "tests/support/temp_file.h"

namespace leadscore::lua {
namespace {

using scoring::PluginModule;
using scoring::PluginScorer;
using scoring::SelfTestResult;

std::shared_ptr<const PluginModule> module() {
  static auto loaded = PluginModule::load(std::string(LEADSCORE_LUA_PLUGIN_DIR) + "/lua.so");
  EXPECT_TRUE(loaded.has_value()) << loaded.error();
  return loaded ? *loaded : nullptr;
}

TEST(LuaPlugin, ScoresLikeTheLinkedInScorer) {
  const std::string rules = testing::rules_dir().string();
  auto plugin = PluginScorer::create(module(), "default", R"({"script": "default.lua"})", rules);
  ASSERT_TRUE(plugin) << plugin.error();
  auto direct = LuaScorer::create("default", {{"script", "default.lua"}}, rules);
  ASSERT_TRUE(direct);
  EXPECT_EQ((*plugin)->version(), (*direct)->version());
  for (const char* source : {"scanner", "partner", "fair"})
    for (auto stage : domain::kAllLeadStages)
      for (int activity : {0, 2, 5, 9}) {
        domain::Features f;
        f.source = source;
        f.stage = stage;
        f.activity_count = activity;
        f.business_domain = activity % 2 ? std::optional<std::string>("acme.io") : std::nullopt;
        const auto a = (*plugin)->score(f);
        const auto b = (*direct)->score(leadscore::testing::to_plugin(f));
        ASSERT_TRUE(a) << a.error();
        ASSERT_TRUE(b) << b.error();
        EXPECT_EQ(a->score, b->score);
        EXPECT_EQ(leadscore::testing::recommendation_text(a->recommendation),
                  leadscore::testing::recommendation_text(b->recommendation));
        EXPECT_EQ(a->reason, b->reason);
        ASSERT_EQ(a->contributions.size(), b->contributions.size());
        for (std::size_t i = 0; i < a->contributions.size(); ++i)
          EXPECT_EQ(a->contributions[i].rule, b->contributions[i].rule);
      }
}

TEST(LuaPlugin, ReportsLoadErrorsWithFileAndLine) {
  leadscore::testing::TempDir dir;
  dir.write("broken.lua", "return {name = 'b',\n  version = }\n");
  auto plugin =
      PluginScorer::create(module(), "broken", R"({"script": "broken.lua"})", dir.path().string());
  ASSERT_FALSE(plugin);
  EXPECT_NE(plugin.error().find("broken.lua:2:"), std::string::npos) << plugin.error();
}

TEST(LuaPlugin, AFailingScriptFailsTheRunAndTheNextWorks) {
  leadscore::testing::TempDir dir;
  dir.write("loop.lua",
            "return {name = 'l', version = '1', score = function(lead)\n"
            "  if lead.source == 'bad' then while true do end end\n"
            "  return {score = 0.5, recommendation = 'drop_lead', reason = 'ok',\n"
            "          contributions = {{rule = 'x', points = 0.5}}}\nend}\n");
  auto plugin = PluginScorer::create(module(), "loop",
                                     R"({"script": "loop.lua", "instruction_limit": 10000})",
                                     dir.path().string());
  ASSERT_TRUE(plugin) << plugin.error();
  domain::Features bad;
  bad.source = "bad";
  domain::Features good;
  good.source = "good";
  std::vector<std::thread> threads;
  std::vector<int> wrong(2, 0);
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const auto failed = (*plugin)->score(bad);
        if (failed ||
            failed.error().find("instruction limit of 10000 exceeded") == std::string::npos)
          ++wrong[t];
        const auto fine = (*plugin)->score(good);
        if (!fine || fine->score != 0.5) ++wrong[t];
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong[0] + wrong[1], 0);
}

// A script that answers with the lead's profile fields it names, for the tests of `fields`.
constexpr const char* kEchoScript =
    "return {name = 'echo', version = '1', score = function(lead)\n"
    "  local text = tostring(lead.industry) .. '|' .. tostring(lead.linkedin) .. '|' ..\n"
    "               tostring(lead.role)\n"
    "  return {score = 0.5, recommendation = 'continue_qualification', reason = text,\n"
    "          contributions = {{rule = 'echo', points = 0.5}}}\nend}\n";

TEST(LuaPlugin, EveryProfileFieldOfFieldsReachesTheLeadTable) {
  leadscore::testing::TempDir dir;
  dir.write("echo.lua", kEchoScript);
  const ls_plugin& table = module()->table();
  char err[256] = {};
  ls_instance* instance =
      table.create(R"({"script": "echo.lua"})", dir.path().string().c_str(), err, sizeof err);
  ASSERT_NE(instance, nullptr) << err;
  // `linkedin` is a field no named member carries: it reaches Lua through `fields` alone.
  plugin::Features lead;
  lead.source = "partner";
  lead.profile = {{"industry", "fintech"}, {"linkedin", "in/ann"}, {"role", std::nullopt}};
  const plugin::CFeatures c(lead);
  ls_features features = c.get();
  features.industry = nullptr;  // the named member left out: the field comes from `fields`
  ls_result out{};
  out.struct_size = sizeof out;
  ASSERT_EQ(table.score(instance, &features, &out, err, sizeof err), LS_OK) << err;
  EXPECT_STREQ(out.reason, "fintech|in/ann|nil");
  // The next lead has no linkedin: the table no longer shows the last one's.
  lead.profile = {{"industry", "retail"}, {"role", "CTO"}};
  const plugin::CFeatures next(lead);
  ASSERT_EQ(table.score(instance, &next.get(), &out, err, sizeof err), LS_OK) << err;
  EXPECT_STREQ(out.reason, "retail|nil|CTO");
  table.destroy(instance);
}

TEST(LuaPlugin, AnEngineWithoutFieldsGivesTheNamedProfileMembers) {
  leadscore::testing::TempDir dir;
  dir.write("echo.lua", kEchoScript);
  const ls_plugin& table = module()->table();
  char err[256] = {};
  ls_instance* instance =
      table.create(R"({"script": "echo.lua"})", dir.path().string().c_str(), err, sizeof err);
  ASSERT_NE(instance, nullptr) << err;
  ls_features old{};
  old.struct_size = offsetof(ls_features, fields);  // built before `fields` existed
  old.source = "manual";
  old.stage = "new";
  old.industry = "saas";
  old.role = "CEO";
  ls_result out{};
  out.struct_size = sizeof out;
  ASSERT_EQ(table.score(instance, &old, &out, err, sizeof err), LS_OK) << err;
  EXPECT_STREQ(out.reason, "saas|nil|CEO");
  table.destroy(instance);
}

TEST(LuaPlugin, TheEngineGivesEveryProfileField) {
  leadscore::testing::TempDir dir;
  dir.write("echo.lua", kEchoScript);
  auto plugin =
      PluginScorer::create(module(), "echo", R"({"script": "echo.lua"})", dir.path().string());
  ASSERT_TRUE(plugin) << plugin.error();
  domain::Features f;
  f.profile.industry = "fintech";
  f.profile.role = "VP Sales";
  const auto result = (*plugin)->score(f);
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->reason, "fintech|nil|VP Sales");
}

// A scorer of rules/default.lua (copied with its library into `dir`) whose params name `tests`.
std::expected<std::unique_ptr<PluginScorer>, std::string> default_rules_with_tests(
    const leadscore::testing::TempDir& dir, const std::string& expected) {
  std::filesystem::copy(testing::rules_dir() / "default.lua", dir.path() / "default.lua");
  std::filesystem::copy(testing::rules_dir() / "lib", dir.path() / "lib");
  dir.write("default.yaml",
            "script: default.lua\n"
            "cases:\n"
            "  - name: cold scanner lead\n"
            "    lead: {source: scanner, stage: new, activity_count: 0}\n"
            "    expect: {recommendation: " +
                expected + "}\n");
  return PluginScorer::create(module(), "rules",
                              R"({"script": "default.lua", "tests": "default.yaml"})",
                              dir.path().string());
}

TEST(LuaPlugin, SelfTestFailsWhenTheConfiguredScriptFailsItsRuleTests) {
  leadscore::testing::TempDir dir;
  auto plugin = default_rules_with_tests(dir, "transfer_to_sales");  // the rules say drop_lead
  ASSERT_TRUE(plugin) << plugin.error();
  ASSERT_TRUE((*plugin)->has_self_test());
  const SelfTestResult tested = (*plugin)->self_test();
  EXPECT_EQ(tested.outcome, SelfTestResult::Outcome::Failed);
  ASSERT_EQ(tested.problems.size(), 1u) << tested.report;
  EXPECT_NE(tested.problems[0].file.find("default.yaml"), std::string::npos);
  EXPECT_EQ(tested.problems[0].line, 3);
  EXPECT_NE(tested.problems[0].message.find("cold scanner lead"), std::string::npos);
  const auto report = nlohmann::json::parse(tested.report);
  EXPECT_EQ(report["passed"], false);
  EXPECT_EQ(report["cases_failed"], 1);
}

TEST(LuaPlugin, SelfTestPassesWhenTheRulesPassTheirTests) {
  leadscore::testing::TempDir dir;
  auto plugin = default_rules_with_tests(dir, "drop_lead");
  ASSERT_TRUE(plugin) << plugin.error();
  const SelfTestResult tested = (*plugin)->self_test();
  EXPECT_EQ(tested.outcome, SelfTestResult::Outcome::Passed) << tested.report;
  EXPECT_EQ(nlohmann::json::parse(tested.report)["cases_passed"], 1);
}

TEST(LuaPlugin, AScorerWithoutTestsHasNothingThatFailed) {
  auto plugin = PluginScorer::create(module(), "rules", R"({"script": "default.lua"})",
                                     testing::rules_dir().string());
  ASSERT_TRUE(plugin) << plugin.error();
  EXPECT_EQ((*plugin)->self_test().outcome, SelfTestResult::Outcome::Passed);
}

TEST(LuaPlugin, TestsThatDoNotExistAreRefusedAtCreate) {
  auto plugin = PluginScorer::create(module(), "rules",
                                     R"({"script": "default.lua", "tests": "tests/nope.yaml"})",
                                     testing::rules_dir().string());
  ASSERT_FALSE(plugin);
  EXPECT_NE(plugin.error().find("nope.yaml: no such file or directory"), std::string::npos)
      << plugin.error();
}

TEST(LuaPlugin, AnInstanceForRuleTestsOnlyRunsEachFileOnItsScriptAndCannotScore) {
  auto plugin =
      PluginScorer::create(module(), "rule-tests", R"({"tests": "tests", "only_tests": true})",
                           testing::rules_dir().string());
  ASSERT_TRUE(plugin) << plugin.error();
  const SelfTestResult tested = (*plugin)->self_test();
  EXPECT_EQ(tested.outcome, SelfTestResult::Outcome::Passed) << tested.report;
  EXPECT_GE(nlohmann::json::parse(tested.report)["files"].size(), 2u);
  const auto scored = (*plugin)->score(domain::Features{});
  ASSERT_FALSE(scored);
  EXPECT_NE(scored.error().find("it only runs rule tests"), std::string::npos);
}

TEST(LuaPlugin, TracesOneLeadRuleByRule) {
  auto plugin = PluginScorer::create(module(), "rules", R"({"script": "default.lua"})",
                                     testing::rules_dir().string());
  ASSERT_TRUE(plugin) << plugin.error();
  domain::Features f;
  f.source = "partner";
  const auto traced = (*plugin)->trace(f);
  ASSERT_TRUE(traced) << traced.error();
  const auto json = nlohmann::json::parse(*traced);
  EXPECT_TRUE(json["per_rule"].get<bool>());
  EXPECT_EQ(json["rules"][0]["rule"], "source=partner");
  EXPECT_TRUE(json["rules"][0]["matched"].get<bool>());
  EXPECT_TRUE(json.contains("result"));
}

}  // namespace
}  // namespace leadscore::lua
