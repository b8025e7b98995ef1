// One call of a script (plugins/lua/score_call.h): a call sets in the lead table and ctx only
// what changed since the last one, everything after a failed call, and every call sees its own
// lead and offer; ctx.params and ctx.offer arrive as read-only tables; a traced call records
// the fields read.
#include "plugins/lua/score_call.h"

#include <gtest/gtest.h>

#include <lua.hpp>
#include <string>

#include "tests/plugins/lua/lua_test_support.h"
#include "tests/plugins/lua/sandbox_test_support.h"

namespace leadscore::lua {
namespace {

using namespace testing;
using plugin::Features;

std::uint32_t bit(Key key) { return 1u << (key - kSource); }

TEST(ScoreCall, TheFirstCallSetsEveryLeadFieldThenOnlyWhatChanged) {
  State s;
  Features f = good_lead();
  EXPECT_EQ(begin_call(s, f, nullptr, true, false).changed, ~0u);
  EXPECT_TRUE(s.profile_changed);
  EXPECT_EQ(begin_call(s, f, nullptr, true, false).changed, 0u);
  EXPECT_FALSE(s.profile_changed);
  f.set_field("role", "CEO");  // a profile field: the profile is set again, nothing else
  EXPECT_EQ(begin_call(s, f, nullptr, true, false).changed, 0u);
  EXPECT_TRUE(s.profile_changed);
  EXPECT_TRUE(s.profile_to_clear.empty());
  f.set_field("linkedin", "in/ann");  // another field: set, and nothing to clear
  begin_call(s, f, nullptr, true, false);
  EXPECT_TRUE(s.profile_changed);
  EXPECT_TRUE(s.profile_to_clear.empty());
  f.profile = {{"industry", "retail"}};  // the fields it no longer has are cleared
  begin_call(s, f, nullptr, true, false);
  EXPECT_TRUE(s.profile_changed);
  EXPECT_EQ(s.profile_to_clear, (std::vector<std::string>{"role", "linkedin"}));
  f.business_domain.reset();
  f.activity_count = 6;
  f.stage = plugin::Stage::Lost;
  EXPECT_EQ(begin_call(s, f, nullptr, true, false).changed,
            bit(kBusinessDomain) | bit(kActivityCount) | bit(kStage));
  EXPECT_EQ(s.lead.activity_count, 6);
}

TEST(ScoreCall, TheOfferIsSetOnlyWhenItChanges) {
  State s;
  const Features f = good_lead();
  const nlohmann::json a = {{"name", "A"}}, b = {{"name", "B"}}, a_again = a;
  const auto call = [&](const nlohmann::json* offer) {
    const CallArgs args = begin_call(s, f, offer, true, false);
    return std::string(args.rebuild_offer ? "rebuild" : "") + (args.clear_offer ? "clear" : "");
  };
  EXPECT_EQ(call(nullptr), "") << "ctx.offer starts nil";
  EXPECT_EQ(call(&a), "rebuild");
  EXPECT_EQ(call(&a_again), "") << "an equal offer is the same offer";
  EXPECT_EQ(call(&b), "rebuild");
  EXPECT_EQ(call(nullptr), "clear");
  EXPECT_EQ(call(nullptr), "");
}

TEST(ScoreCall, AfterAFailedCallEverythingIsSetAgain) {
  BareState bare;
  State& s = bare.state;
  const Features f = good_lead();
  const nlohmann::json offer = {{"name", "A"}};
  begin_call(s, f, &offer, true, false);
  EXPECT_EQ(end_call(s, LUA_OK), std::nullopt) << "a call that succeeded";
  EXPECT_EQ(begin_call(s, f, &offer, true, false).changed, 0u);

  lua_pushliteral(s.L, "t.lua:2: boom");
  EXPECT_EQ(end_call(s, LUA_ERRRUN), "t.lua: t.lua:2: boom");
  EXPECT_EQ(lua_gettop(s.L), 0);
  const CallArgs args = begin_call(s, f, &offer, true, false);
  EXPECT_EQ(args.changed, ~0u);
  EXPECT_TRUE(args.rebuild_offer);
  EXPECT_EQ(s.ctx_explain, -1) << "ctx.explain is set again";
  EXPECT_TRUE(s.ctx_trace) << "ctx.trace is cleared again";
}

// --- Through a sandbox ------------------------------------------------------------------------

TEST(ScoreCall, PassesEveryFeatureAndTheOffer) {
  auto sandbox = make(
      "return {name = 't', version = '1', score = function(lead, ctx)\n"
      "  local text = table.concat({lead.source, lead.stage, lead.activity_count, "
      "lead.business_domain, lead.name, lead.email, lead.role, lead.company, lead.industry, "
      "lead.location, lead.bio, ctx.offer and ctx.offer.ideal_use_cases[1] or 'no offer', "
      "ctx.params.p}, '|')\n"
      "  return {score = 0, recommendation = 'drop_lead', reason = text, contributions = "
      "{{rule = 'x', points = 0}}}\nend}",
      {}, {{"p", 7}});
  ASSERT_TRUE(sandbox);
  Features f = good_lead();
  f.profile = testing::named_profile(
      {"Ann", "ann@acme.io", "CTO", "Acme", "SaaS", "Berlin", "builds things"});
  const nlohmann::json offer = {{"name", "X"}, {"ideal_use_cases", {"B2B SaaS"}}};
  auto with_offer = sandbox->score(f, &offer);
  ASSERT_TRUE(with_offer) << with_offer.error();
  EXPECT_EQ(with_offer->reason,
            "partner|qualified|5|acme.io|Ann|ann@acme.io|CTO|Acme|SaaS|Berlin|builds things|"
            "B2B SaaS|7");
  auto without = sandbox->score(good_lead());
  ASSERT_FALSE(without);  // profile fields are nil now: table.concat refuses them
  EXPECT_NE(without.error().find("t.lua:2: invalid value (nil) at index 5"), std::string::npos)
      << without.error();
}

TEST(ScoreCall, EveryCallSeesItsOwnLeadAndOffer) {
  // The lead table and ctx are refilled only where they changed: check that nothing stale shows.
  auto sandbox = make(
      "return {name = 't', version = '1', score = function(lead, ctx)\n"
      "  if lead.source == 'bad' then error('bad') end\n"
      "  local text = table.concat({lead.source, lead.stage, lead.activity_count, "
      "tostring(lead.business_domain), tostring(lead.role), "
      "ctx.offer and ctx.offer.name or 'no offer', tostring(ctx.explain)}, '|')\n"
      "  return {score = 0, recommendation = 'drop_lead', reason = text, contributions = "
      "{{rule = 'x', points = 0}}}\nend}");
  ASSERT_TRUE(sandbox);
  const nlohmann::json a = {{"name", "A"}}, b = {{"name", "B"}};
  Features f = good_lead();
  const auto reason = [&](const Features& lead, const nlohmann::json* offer) {
    const auto result = sandbox->score(lead, offer);
    return result ? result->reason : "error: " + result.error();
  };
  EXPECT_EQ(reason(f, &a), "partner|qualified|5|acme.io|CTO|A|true");
  EXPECT_EQ(reason(f, &a), "partner|qualified|5|acme.io|CTO|A|true");
  EXPECT_EQ(reason(f, nullptr), "partner|qualified|5|acme.io|CTO|no offer|true");
  EXPECT_EQ(reason(f, &b), "partner|qualified|5|acme.io|CTO|B|true");
  f.business_domain.reset();
  f.set_field("role", std::nullopt);
  f.stage = plugin::Stage::Lost;
  EXPECT_EQ(reason(f, &b), "partner|lost|5|nil|nil|B|true");
  EXPECT_FALSE(sandbox->score(bad_lead(), &a));
  EXPECT_EQ(reason(f, &b), "partner|lost|5|nil|nil|B|true");
  EXPECT_EQ(reason(f, nullptr), "partner|lost|5|nil|nil|no offer|true");
  f.activity_count = 6;
  EXPECT_EQ(reason(f, nullptr), "partner|lost|6|nil|nil|no offer|true");
  EXPECT_TRUE(sandbox->evaluate(f));
  EXPECT_EQ(reason(f, nullptr), "partner|lost|6|nil|nil|no offer|true");
}

TEST(ScoreCall, ParamsAndOfferArriveAsReadOnlyTablesOfBoundedDepth) {
  nlohmann::json deep = "bottom";
  for (int i = 0; i < 40; ++i) deep = nlohmann::json::array({deep});
  auto too_deep = LuaSandbox::create({{}, {"t.lua", misbehaving("")}}, {{"deep", deep}}, {});
  ASSERT_FALSE(too_deep);
  EXPECT_EQ(too_deep.error().message,
            "cannot set up the sandbox: ctx.params is nested more than 32 levels deep");

  auto sandbox = make(misbehaving("ctx.offer.items[1] = 0"), {}, {{"n", 18446744073709551615u}});
  ASSERT_TRUE(sandbox);
  const nlohmann::json offer = {{"items", {1, 2.5, true, nullptr, "x"}}};
  const auto failed = sandbox->score(bad_lead(), &offer);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error(),
            "t.lua: t.lua:3: cannot set a field of ctx.offer: ctx.offer is read-only");
  const auto deep_offer = nlohmann::json{{"deep", deep}};
  const auto too_deep_offer = sandbox->score(good_lead(), &deep_offer);
  ASSERT_FALSE(too_deep_offer);
  EXPECT_EQ(too_deep_offer.error(), "t.lua: ctx.offer is nested more than 32 levels deep");
  EXPECT_TRUE(sandbox->score(good_lead(), &offer)) << "the next call works";
}

TEST(ScoreCall, ATracedCallRecordsEachFieldReadOnce) {
  auto sandbox = make(
      "return {name = 't', version = '1', score = function(lead, ctx)\n"
      "  local s = tostring(lead.email) .. lead.source .. lead.source .. tostring(lead.role)\n"
      "  return {score = 0.5, recommendation = 'drop_lead', reason = tostring(ctx.trace ~= nil),\n"
      "          contributions = {{rule = 'x', points = 0.5}}}\nend}");
  ASSERT_TRUE(sandbox);
  const LeadTrace trace = sandbox->trace(good_lead());
  ASSERT_TRUE(trace.result) << trace.result.error();
  EXPECT_EQ(trace.result->reason, "true") << "ctx.trace is set";
  EXPECT_FALSE(trace.per_rule);
  ASSERT_EQ(trace.fields_read.size(), 3u);
  EXPECT_EQ(trace.fields_read[0].field, "email");
  EXPECT_EQ(trace.fields_read[0].value, "nil");
  EXPECT_EQ(trace.fields_read[1].field, "source");
  EXPECT_EQ(trace.fields_read[1].value, "\"partner\"");
  EXPECT_EQ(trace.fields_read[2].field, "role");
  EXPECT_EQ(trace.fields_read[2].value, "\"CTO\"");
  const auto untraced = sandbox->score(good_lead());
  ASSERT_TRUE(untraced) << untraced.error();
  EXPECT_EQ(untraced->reason, "false") << "ctx.trace is nil again";
}

}  // namespace
}  // namespace leadscore::lua
