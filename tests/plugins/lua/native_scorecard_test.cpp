// The native scorecard (plugins/lua/native_scorecard.h) gives what the rules helper's Lua score
// gives: the same score bits, recommendation, reason, contributions and failures, for the
// shipped rules and for scorecards using every kind of item.
#include "plugins/lua/native_scorecard.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/plugins/lua/lua_test_support.h"
#include "tests/plugins/lua/sandbox_test_support.h"

namespace leadscore::lua {
namespace {

using plugin::Features;

using namespace testing;

std::uint64_t bits(double value) { return std::bit_cast<std::uint64_t>(value); }

// Every source (and an unknown and an empty one) × stage × activity 0..12 × business domain
// (set, missing, blank) × a few profiles.
std::vector<Features> sweep() {
  const char* sources[] = {"scanner", "partner", "manual", "fair", ""};
  const std::optional<std::string> domains[] = {"acme.io", std::nullopt, "", " \t"};
  std::vector<std::vector<plugin::ProfileField>> profiles(5, named_profile({}));
  profiles[1] =
      named_profile({"Ann", "ann@acme.io", "CEO", "Acme", "FinTech", "Berlin", "Builds things"});
  profiles[2] = named_profile({std::nullopt, std::nullopt, "Lead Architect", "  ", " fintech "});
  // the test scorecards fail for the role "bad"
  profiles[3] = named_profile({std::nullopt, std::nullopt, "bad", std::nullopt, "payments"});
  profiles[4] = named_profile({"", "", "Head of Sales", "x", "Retail banking", "\n", "\xc3\xa9"});
  std::vector<Features> leads;
  for (const char* source : sources)
    for (plugin::Stage stage : plugin::kAllStages)
      for (int activity = 0; activity <= 12; ++activity)
        for (const auto& business_domain : domains)
          for (const auto& profile : profiles) {
            Features f;
            f.source = source;
            f.stage = stage;
            f.activity_count = activity;
            f.business_domain = business_domain;
            f.profile = profile;
            leads.push_back(std::move(f));
          }
  return leads;
}

std::string describe(const Features& f) {
  return "source '" + f.source + "', " + std::string(plugin::to_string(f.stage)) + ", activity " +
         std::to_string(f.activity_count) + ", domain '" + f.business_domain.value_or("nil") +
         "', role '" + field_or(f, "role", "nil") + "'";
}

void expect_same(const std::expected<plugin::ScoreResult, std::string>& native,
                 const std::expected<plugin::ScoreResult, std::string>& lua) {
  ASSERT_EQ(native.has_value(), lua.has_value())
      << (native ? "native succeeded, Lua: " + lua.error()
                 : "Lua succeeded, native: " + native.error());
  if (!lua) {
    EXPECT_EQ(native.error(), lua.error());
    return;
  }
  EXPECT_EQ(bits(native->score), bits(lua->score)) << native->score << " vs " << lua->score;
  EXPECT_EQ(native->recommendation, lua->recommendation);
  EXPECT_EQ(native->reason, lua->reason);
  EXPECT_EQ(native->intent, lua->intent);
  ASSERT_EQ(native->contributions.size(), lua->contributions.size());
  for (std::size_t i = 0; i < lua->contributions.size(); ++i) {
    EXPECT_EQ(native->contributions[i].rule, lua->contributions[i].rule);
    EXPECT_EQ(bits(native->contributions[i].points), bits(lua->contributions[i].points))
        << native->contributions[i].rule;
  }
}

void expect_same(const std::expected<Evaluation, std::string>& native,
                 const std::expected<Evaluation, std::string>& lua) {
  ASSERT_EQ(native.has_value(), lua.has_value())
      << (native ? "native succeeded, Lua: " + lua.error()
                 : "Lua succeeded, native: " + native.error());
  if (!lua) {
    EXPECT_EQ(native.error(), lua.error());
    return;
  }
  EXPECT_EQ(bits(native->score), bits(lua->score));
  EXPECT_EQ(native->recommendation, lua->recommendation);
}

// Runs every lead of the sweep through both engines (full result and numeric path), with each
// of `offers` (null: none). Returns how many full runs failed (alike in both).
int expect_same_answers(const RuleSources& sources, bool compiles,
                        const nlohmann::json& params = nlohmann::json::object(),
                        const std::vector<nlohmann::json>& offers = {nullptr}) {
  auto native = make(sources, ScorecardEngine::Native, params);
  auto lua = make(sources, ScorecardEngine::Lua, params);
  if (!native || !lua) return -1;
  EXPECT_EQ(native->native_scorecard() != nullptr, compiles);
  EXPECT_EQ(lua->native_scorecard(), nullptr);
  int failures = 0;
  for (const auto& offer_json : offers) {
    const nlohmann::json* offer = offer_json.is_null() ? nullptr : &offer_json;
    for (const Features& lead : sweep()) {
      SCOPED_TRACE(describe(lead) + ", offer " + offer_json.dump());
      const auto full = lua->score(lead, offer);
      failures += full ? 0 : 1;
      expect_same(native->score(lead, offer), full);
      expect_same(native->evaluate(lead, offer), lua->evaluate(lead, offer));
      if (::testing::Test::HasFailure()) return -1;  // one lead's story is enough
    }
  }
  return failures;
}

TEST(NativeScorecard, DefaultRulesNeedNoLua) {
  auto sandbox = make(shipped_sources("default.lua"), ScorecardEngine::Native);
  ASSERT_TRUE(sandbox);
  ASSERT_NE(sandbox->native_scorecard(), nullptr);
  EXPECT_FALSE(sandbox->native_scorecard()->calls_lua());
}

TEST(NativeScorecard, IcpFitCallsItsWhenFunctions) {
  auto sandbox = make(shipped_sources("icp_fit.lua"), ScorecardEngine::Native);
  ASSERT_TRUE(sandbox);
  ASSERT_NE(sandbox->native_scorecard(), nullptr);
  EXPECT_TRUE(sandbox->native_scorecard()->calls_lua());
}

TEST(NativeScorecard, DefaultRulesGiveWhatTheLuaScorecardGives) {
  EXPECT_EQ(expect_same_answers(shipped_sources("default.lua"), true), 0);
}

TEST(NativeScorecard, IcpFitGivesWhatTheLuaScorecardGives) {
  EXPECT_EQ(expect_same_answers(shipped_sources("icp_fit.lua"), true,
                                {{"icp_industries", {"fintech", "payments"}}},
                                {nullptr,
                                 {{"ideal_use_cases", {"Retail banking"}}},
                                 {{"ideal_use_cases", nlohmann::json::array()}}}),
            0);
}

// Every item kind, with Lua functions (when, points, first options, recommend) and the text
// of an unknown value of every lead field.
constexpr const char* kFunctions = R"(
local R = rules
local function fail_bad(lead) if lead.role == "bad" then error("bad role") end return true end
return R.scorecard{
  name = "functions", version = "1",
  rules = {
    R.rule{"checked", when = fail_bad, points = 0},
    R.rule{"senior", when = function(lead) return R.has_word(lead.role, R.words{"head", "ceo"}) end,
           points = 0.125},
    R.rule{"eighths", points = function(lead) return lead.activity_count / 8 - 0.75 end},
    R.rule{"per activity", when = R.is_set("activity_count"),
           points = function(lead, ctx) return lead.activity_count / 40 + (ctx.explain and 0 or 0.001) end},
    R.first{"industry",
      R.rule{"fintech", when = function(lead) return R.match_in(lead.industry, {"fintech"}) end, points = 0.2},
      R.rule{"any industry", when = R.is_set("industry"), points = 0.05},
      R.rule{"no industry", points = -0.05}},
    R.lookup{"source", field = "source", points = {partner = 0.2, scanner = -0.1}, default = 0},
    R.lookup{"activity as text", field = "activity_count", points = {["3"] = 1}, default = 0},
    R.lookup{"email", field = "email", points = {}, default = 0.01},
    R.lookup{"unknown field", field = "nickname", points = {x = 1}, default = 0},
    R.lookup{"stage", field = "stage", points = {lost = -0.5}},
    R.steps{"role steps", field = "role", {below = 1, points = 5}, {points = 5}},
    R.steps{"activity", field = "activity_count", {below = 2, points = 0}, {below = 2.5, points = 0.01},
            {below = 9, points = 0.02}, {points = 0.03}},
    R.cap{"no domain", when = function(lead) return not R.present(lead.business_domain) end, max = 0.6},
    R.cap{"no company", when = R.is_missing("company"), max = 0.7},
    R.cap{"always", max = 0.9},
  },
  recommend = function(score, lead, ctx)
    if lead.source == "" then return "call_them" end
    if score >= 0.5 then return "transfer_to_sales", "good enough" end
    if score < 0.1 then return "drop_lead" end
    return "continue_qualification", 7
  end,
}
)";

TEST(NativeScorecard, FunctionsGiveWhatTheLuaScorecardGives) {
  // The "bad" role fails in a when function, the empty source in recommend.
  EXPECT_GT(expect_same_answers(sources_with("t.lua", kFunctions), true), 0);
}

// Declarative conditions and lookup texts on every lead field (and one a lead does not have).
constexpr const char* kEveryField = R"(
local R = rules
local items = {}
for _, field in ipairs{"source", "stage", "activity_count", "business_domain", "name", "email",
                       "role", "company", "industry", "location", "bio", "nickname"} do
  items[#items + 1] = R.rule{field .. " is set", when = R.is_set(field), points = 0.01}
  items[#items + 1] = R.rule{field .. " is missing", when = R.is_missing(field), points = -0.01}
  items[#items + 1] = R.lookup{field, field = field, points = {partner = 0.02, qualified = 0.03},
                               default = 0}
end
return R.scorecard{name = "every field", version = "1", rules = items,
                   recommend = R.thresholds{transfer = 0.1, drop = 0.0}}
)";

TEST(NativeScorecard, EveryLeadFieldReadsAsInLua) {
  EXPECT_EQ(expect_same_answers(sources_with("t.lua", kEveryField), true), 0);
}

// Points out of range without the clamp: the result contract fails both runs alike.
constexpr const char* kUnclamped = R"(
local R = rules
return R.scorecard{
  name = "unclamped", version = "1", clamp = false,
  rules = {
    R.steps{"activity", field = "activity_count", {below = 2, points = -0.1}, {below = 10, points = 0.5},
            {points = 1.5}},
    R.rule{"domain", when = R.is_set("business_domain"), points = 0.2},
    R.rule{"huge", when = function(lead) return lead.source == "fair" end, points = 1e308},
    R.rule{"huger", when = function(lead) return lead.source == "fair" end, points = 1e308},
  },
  recommend = R.thresholds{transfer = 0.6, drop = 0.1},
}
)";

TEST(NativeScorecard, UnclampedResultsFailAsInLua) {
  EXPECT_GT(expect_same_answers(sources_with("t.lua", kUnclamped), true), 0);
}

// Integer points and an integer cap keep the total a Lua integer; integer thresholds compare
// exactly; nothing applies for some leads ("no rule applied").
constexpr const char* kIntegers = R"(
local R = rules
return R.scorecard{
  name = "integers", version = "1",
  rules = {
    R.lookup{"source", field = "source", points = {partner = 2, manual = 1, scanner = 0.5}},
    R.cap{"whole", when = R.is_set("business_domain"), max = 1},
    R.steps{"activity", field = "activity_count", {below = 1, points = -1}, {below = 4, points = 0},
            {points = 9007199254740993}},
    R.rule{"tiny", when = R.is_missing("name"), points = 0.25},
    R.cap{"zero", when = function(lead) return lead.stage == "lost" end, max = 0},
  },
  recommend = R.thresholds{transfer = 1, drop = 0, transfer_if = R.is_set("role"),
                           transfer_if_text = "no role"},
}
)";

TEST(NativeScorecard, LuaIntegersGiveWhatTheLuaScorecardGives) {
  EXPECT_GE(expect_same_answers(sources_with("t.lua", kIntegers), true), 0);
}

// A lookup keyed by numbers is not compiled: the script's own score serves it.
constexpr const char* kNumberKeys = R"(
local R = rules
return R.scorecard{
  name = "number keys", version = "1",
  rules = {
    R.lookup{"activity", field = "activity_count", points = {[0] = -0.2, [1] = 0.1}, default = 0.3},
    R.lookup{"source", field = "source", points = {partner = 0.5}, default = 0},
  },
  recommend = R.thresholds{transfer = 0.7, drop = 0.3},
}
)";

TEST(NativeScorecard, WhatItDoesNotKnowRunsInLua) {
  EXPECT_EQ(expect_same_answers(sources_with("t.lua", kNumberKeys), false), 0);
}

// The Lua score runs the items the scorecard was made with; one added to its list afterwards
// is ignored by both.
TEST(NativeScorecard, AnItemAddedAfterTheScorecardIsIgnoredAsInLua) {
  EXPECT_EQ(expect_same_answers(sources_with("t.lua", R"(
local R = rules
local card = R.scorecard{name = "appended", version = "1",
  rules = {R.lookup{"source", field = "source", points = {partner = 0.7}, default = 0.3}},
  recommend = R.thresholds{transfer = 0.7, drop = 0.3}}
card.rules[#card.rules + 1] = R.rule{"late", points = 0.2}
return card
)"),
                                true),
            0);
}

// A script that wraps the scorecard's score is the script's own: not compiled.
TEST(NativeScorecard, AScriptWithItsOwnScoreIsNotCompiled) {
  const auto sources = sources_with("t.lua", R"(
local card = rules.scorecard{name = "c", version = "1",
  rules = {rules.rule{"base", points = 0.5}}, recommend = rules.thresholds{transfer = 0.7, drop = 0.3}}
card.score = function(lead, ctx)
  local result = card.scorecard.score(lead, ctx)
  result.recommendation = "drop_lead"
  return result
end
return card
)");
  auto sandbox = make(sources, ScorecardEngine::Native);
  ASSERT_TRUE(sandbox);
  EXPECT_EQ(sandbox->native_scorecard(), nullptr);
  const auto result = sandbox->score(Features{});
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->recommendation, plugin::Recommendation::DropLead);
}

}  // namespace
}  // namespace leadscore::lua
