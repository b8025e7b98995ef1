// LuaScorer: params, files and version, one state per thread.
#include "plugins/lua/lua_scorer.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "tests/plugins/lua/lua_test_support.h"
#include "tests/support/temp_file.h"

namespace leadscore::lua {
namespace {

using leadscore::testing::TempDir;
using plugin::Features;

constexpr const char* kScript =
    "return {name = 'double', version = '2.1', score = function(lead, ctx)\n"
    "  local s = helper.half(ctx.params.weight)\n"
    "  return {score = s, recommendation = 'continue_qualification', reason = 'r',\n"
    "          contributions = {{rule = 'weight', points = s}}}\nend}\n";

Features lead() {
  Features f;
  f.source = "manual";
  return f;
}

TEST(LuaScorer, LoadsTheScriptAndItsLibrariesFromTheBaseDirectory) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "rules" / "lib");
  dir.write("rules/lib/helper.lua", "return {half = function(x) return x / 2 end}");
  dir.write("rules/s.lua", kScript);
  auto scorer = LuaScorer::create("mine", {{"script", "rules/s.lua"}, {"weight", 0.8}}, dir.path());
  ASSERT_TRUE(scorer) << to_text(scorer.error());
  EXPECT_EQ((*scorer)->name(), "mine");
  EXPECT_EQ((*scorer)->script_name(), "double");
  EXPECT_EQ((*scorer)->version(), "2.1+" + (*scorer)->rules_hash());
  EXPECT_EQ((*scorer)->rules_hash().size(), 16u);
  ASSERT_EQ((*scorer)->files().size(), 2u);
  auto result = (*scorer)->score(lead());
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->score, 0.4);
}

TEST(LuaScorer, TheVersionChangesWithAnyRuleFile) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "lib");
  dir.write("lib/helper.lua", "return {half = function(x) return x / 2 end}");
  dir.write("s.lua", kScript);
  const nlohmann::json params = {{"script", "s.lua"}, {"weight", 0.8}};
  auto first = LuaScorer::create("a", params, dir.path());
  auto same = LuaScorer::create("b", params, dir.path());
  ASSERT_TRUE(first && same);
  EXPECT_EQ((*first)->version(), (*same)->version());
  dir.write("lib/helper.lua", "return {half = function(x) return x * 0.5 end}");
  auto changed = LuaScorer::create("c", params, dir.path());
  ASSERT_TRUE(changed);
  EXPECT_NE((*changed)->version(), (*first)->version());
}

TEST(LuaScorer, ReportsEveryBadParam) {
  auto scorer = LuaScorer::create(
      "x", {{"instruction_limit", "many"}, {"memory_limit_mb", 0}, {"time_limit_ms", 0}},
      testing::rules_dir());
  ASSERT_FALSE(scorer);
  const std::string text = to_text(scorer.error());
  EXPECT_NE(text.find("missing key 'script'"), std::string::npos) << text;
  EXPECT_NE(text.find("instruction_limit must be an integer in 1000..1000000000"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("memory_limit_mb must be an integer in 1..4096"), std::string::npos) << text;
  EXPECT_NE(text.find("time_limit_ms must be an integer in 1..600000"), std::string::npos) << text;
}

TEST(LuaScorer, NamesAMissingScript) {
  TempDir dir;
  auto scorer = LuaScorer::create("x", {{"script", "nope.lua"}}, dir.path());
  ASSERT_FALSE(scorer);
  ASSERT_EQ(scorer.error().size(), 1u);
  EXPECT_NE(scorer.error()[0].file.find("nope.lua"), std::string::npos);
  EXPECT_EQ(scorer.error()[0].message, "cannot read the file");
}

TEST(LuaScorer, PositionsAnErrorInAHelperLibrary) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "lib");
  dir.write("lib/helper.lua", "local x = 1\nreturn {half = function(x) return x / end}\n");
  dir.write("s.lua", kScript);
  auto scorer = LuaScorer::create("x", {{"script", "s.lua"}}, dir.path());
  ASSERT_FALSE(scorer);
  EXPECT_NE(scorer.error()[0].file.find("lib/helper.lua"), std::string::npos);
  EXPECT_EQ(scorer.error()[0].line, 2);
}

TEST(LuaScorer, EachThreadHasItsOwnStateAndTheSameAnswers) {
  auto scorer = LuaScorer::create("default", {{"script", "default.lua"}}, testing::rules_dir());
  ASSERT_TRUE(scorer) << to_text(scorer.error());
  const LuaScorer& lua = **scorer;
  Features f;
  f.source = "partner";
  f.stage = plugin::Stage::Contacted;
  f.activity_count = 4;
  f.business_domain = "acme.io";
  const auto expected = lua.score(f);
  ASSERT_TRUE(expected);
  constexpr int kThreads = 4;
  std::vector<const LuaSandbox*> sandboxes(kThreads);
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const auto result = lua.score(f);
        if (!result || result->score != expected->score || result->reason != expected->reason)
          ++mismatches[t];
      }
      sandboxes[t] = lua.thread_sandbox();
    });
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0);
  EXPECT_EQ(std::set<const LuaSandbox*>(sandboxes.begin(), sandboxes.end()).size(),
            static_cast<std::size_t>(kThreads));
}

TEST(LuaScorer, AReplacedScorerGetsAFreshState) {
  TempDir dir;
  dir.write("s.lua",
            "local calls = 0\n"
            "return {name = 's', version = '1', score = function(lead, ctx)\n"
            "  calls = calls + 1\n"
            "  local s = calls / 100\n"
            "  return {score = s, recommendation = 'drop_lead', reason = 'r',\n"
            "          contributions = {{rule = 'calls', points = s}}}\nend}\n");
  for (int round = 0; round < 3; ++round) {
    auto scorer = LuaScorer::create("s", {{"script", "s.lua"}}, dir.path());
    ASSERT_TRUE(scorer);
    const auto result = (*scorer)->score(lead());
    ASSERT_TRUE(result) << result.error();
    EXPECT_EQ(result->score, 0.01);
  }
}

}  // namespace
}  // namespace leadscore::lua
