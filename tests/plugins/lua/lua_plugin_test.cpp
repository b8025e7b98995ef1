// The Lua rules scorer as a plugin module (lua.so) through the engine's loader and adapter: the
// same results as LuaScorer linked in directly, the rule files' hash as the instance version,
// positioned load errors, and script failures as run errors.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "engine/scoring/plugin_scorer.h"
#include "plugins/lua/lua_scorer.h"
#include "tests/plugins/lua/lua_test_support.h"
#include "tests/support/temp_file.h"

namespace leadscore::lua {
namespace {

using scoring::PluginModule;
using scoring::PluginScorer;

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
        const auto b = (*direct)->score(f);
        ASSERT_TRUE(a) << a.error();
        ASSERT_TRUE(b) << b.error();
        EXPECT_EQ(a->score, b->score);
        EXPECT_EQ(a->recommendation, b->recommendation);
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

}  // namespace
}  // namespace leadscore::lua
