// A compiled scorecard run in its sandbox (plugins/lua/native_run.h): a run that needs no Lua
// touches nothing in the state; the script's functions share one budget per run; a failing
// function fails the run as the script's own score would, and the next run works; the result
// is checked as a script's result is.
#include "plugins/lua/native_run.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/plugins/lua/lua_test_support.h"
#include "tests/plugins/lua/sandbox_test_support.h"

namespace leadscore::lua {
namespace {

using namespace testing;
using plugin::Features;

TEST(NativeRun, ARunThatCallsNoLuaTouchesNothingInTheState) {
  auto sandbox = make(shipped_sources("default.lua"), ScorecardEngine::Native);
  ASSERT_TRUE(sandbox);
  ASSERT_NE(sandbox->native_scorecard(), nullptr);
  ASSERT_FALSE(sandbox->native_scorecard()->calls_lua());
  sandbox->collect_garbage();
  const std::size_t in_use = sandbox->memory_in_use(), peak = sandbox->memory_peak();
  Features f = good_lead();
  for (int i = 0; i < 100; ++i) {
    f.activity_count = i % 13;
    ASSERT_TRUE(sandbox->score(f));
    ASSERT_TRUE(sandbox->evaluate(f));
  }
  EXPECT_EQ(sandbox->memory_in_use(), in_use);
  EXPECT_EQ(sandbox->memory_peak(), peak);
}

// Each `when` spends about 12,000 instructions; the third runs for the source "three" only.
constexpr const char* kSpending = R"(
local R = rules
local function spend() for i = 1, 12000 do end return true end
return R.scorecard{name = "spending", version = "1",
  rules = {R.rule{"a", when = spend, points = 0.1}, R.rule{"b", when = spend, points = 0.1},
           R.rule{"c", when = function(lead) return lead.source == "three" and spend() end,
                  points = 0.1}},
  recommend = R.thresholds{transfer = 0.7, drop = 0.1}}
)";

TEST(NativeRun, TheFunctionsOfOneRunShareOneBudget) {
  const SandboxLimits limits{30'000};
  auto native = make(sources_with("t.lua", kSpending), ScorecardEngine::Native,
                     nlohmann::json::object(), limits);
  auto lua = make(sources_with("t.lua", kSpending), ScorecardEngine::Lua, nlohmann::json::object(),
                  limits);
  ASSERT_TRUE(native && lua);
  ASSERT_NE(native->native_scorecard(), nullptr);
  Features two = good_lead(), three = good_lead();
  three.source = "three";
  for (int round = 0; round < 2; ++round) {
    const auto fits = native->score(two);
    ASSERT_TRUE(fits) << fits.error();
    EXPECT_DOUBLE_EQ(fits->score, 0.2);
    const auto spent = native->score(three);
    ASSERT_FALSE(spent);
    EXPECT_EQ(spent.error().rfind("t.lua: instruction limit of 30000 exceeded at t.lua:3", 0), 0u)
        << spent.error();
    EXPECT_FALSE(lua->score(three)) << "the script's own score fails alike";
    EXPECT_FALSE(native->evaluate(three));
  }
}

constexpr const char* kFailingPoints = R"(
local R = rules
return R.scorecard{name = "failing points", version = "1",
  rules = {R.rule{"base", points = 0.25},
           R.rule{"activity", points = function(lead)
             if lead.source == "bad" then error("no points for bad leads") end
             return lead.activity_count / 100
           end}},
  recommend = R.thresholds{transfer = 0.7, drop = 0.3}}
)";

TEST(NativeRun, AFailingFunctionFailsTheRunAsTheScriptWouldAndTheNextRunWorks) {
  auto native = make(sources_with("t.lua", kFailingPoints), ScorecardEngine::Native);
  auto lua = make(sources_with("t.lua", kFailingPoints), ScorecardEngine::Lua);
  ASSERT_TRUE(native && lua);
  for (int round = 0; round < 2; ++round) {
    const auto failed = native->score(bad_lead());
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error(), "t.lua: t.lua:6: no points for bad leads");
    EXPECT_EQ(failed.error(), lua->score(bad_lead()).error());
    const auto next = native->score(good_lead());
    ASSERT_TRUE(next) << next.error();
    EXPECT_EQ(next->score, lua->score(good_lead())->score);
    EXPECT_EQ(next->reason, lua->score(good_lead())->reason);
    // The lead table was left half-filled by the failed run: a traced call (the script's own
    // score) still sees the whole lead.
    const auto traced = native->trace(good_lead());
    ASSERT_TRUE(traced.result) << traced.result.error();
    EXPECT_EQ(traced.result->score, next->score);
  }
}

// Points past 1 without the clamp: the result contract refuses them on both paths.
constexpr const char* kUnclamped = R"(
local R = rules
return R.scorecard{name = "unclamped", version = "1", clamp = false,
  rules = {R.rule{"too much", when = function(lead) return lead.source == "bad" end, points = 1.5},
           R.rule{"base", points = 0.5}},
  recommend = R.thresholds{transfer = 0.7, drop = 0.3}}
)";

TEST(NativeRun, TheResultIsCheckedAsAScriptsResultIs) {
  auto native = make(sources_with("t.lua", kUnclamped), ScorecardEngine::Native);
  ASSERT_TRUE(native);
  ASSERT_NE(native->native_scorecard(), nullptr);
  const std::string malformed = "t.lua returned a malformed result: score must be in [0, 1], got 2";
  const auto full = native->score(bad_lead());
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error(), malformed);
  const auto numeric = native->evaluate(bad_lead());
  ASSERT_FALSE(numeric);
  EXPECT_EQ(numeric.error(), malformed);
  EXPECT_TRUE(native->score(good_lead()));
}

TEST(NativeRun, AnEndlessWhenFunctionSpendsTheBudgetAsInLua) {
  const auto sources = sources_with("t.lua", R"(
local R = rules
return R.scorecard{name = "loop", version = "1",
  rules = {R.rule{"base", points = 0.5},
           R.rule{"loop", when = function(lead) while lead.source == "loop" do end return true end,
                  points = 0.1}},
  recommend = R.thresholds{transfer = 0.7, drop = 0.3}}
)");
  const SandboxLimits limits{20'000, 32u << 20};
  auto native = make(sources, ScorecardEngine::Native, nlohmann::json::object(), limits);
  auto lua = make(sources, ScorecardEngine::Lua, nlohmann::json::object(), limits);
  ASSERT_TRUE(native && lua);
  Features looping;
  looping.source = "loop";
  for (int round = 0; round < 2; ++round) {  // the state works again after a failed run
    const auto failed = native->score(looping);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error(), lua->score(looping).error());
    EXPECT_NE(failed.error().find("instruction limit of 20000 exceeded at t.lua:5"),
              std::string::npos)
        << failed.error();
    const auto fine = native->score(Features{});
    const auto fine_in_lua = lua->score(Features{});
    ASSERT_TRUE(fine && fine_in_lua);
    EXPECT_EQ(fine->score, fine_in_lua->score);
    EXPECT_EQ(fine->recommendation, fine_in_lua->recommendation);
    EXPECT_EQ(fine->reason, fine_in_lua->reason);
  }
}

}  // namespace
}  // namespace leadscore::lua
