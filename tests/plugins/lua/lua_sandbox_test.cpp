// The sandbox's state (plugins/lua/lua_sandbox.h): a script and its helper libraries load
// with positioned errors, a well-formed script runs, every way a script can fail leaves the
// state usable and leaks nothing. What each part of the sandbox does has its own test file
// (sandbox_limits_test, safe_library_test, read_only_table_test, score_call_test,
// script_result_test, native_run_test).
#include "plugins/lua/lua_sandbox.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/plugins/lua/sandbox_test_support.h"

namespace leadscore::lua {
namespace {

using namespace testing;
using plugin::Features;
using plugin::Recommendation;

TEST(LuaSandbox, RunsAWellFormedScript) {
  auto sandbox = make(misbehaving(""));
  ASSERT_TRUE(sandbox);
  EXPECT_EQ(sandbox->script_name(), "t");
  EXPECT_EQ(sandbox->script_version(), "1");
  auto result = sandbox->score(good_lead());
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->recommendation, Recommendation::ContinueQualification);
  EXPECT_EQ(result->reason, "fine");
  ASSERT_EQ(result->contributions.size(), 1u);
  EXPECT_EQ(result->contributions[0].rule, "base");
}

TEST(LuaSandbox, AnErrorNamesFileAndLine) {
  expect_fails_then_recovers("error('boom')", "t.lua:3: boom");
  expect_fails_then_recovers("local x = nil; return x.field",
                             "t.lua:3: attempt to index a nil value");
  expect_fails_then_recovers("error({})", "error raised with a table value");
}

TEST(LuaSandbox, RefusesBytecode) {
  auto sandbox = LuaSandbox::create({{}, {"t.lua", "\x1bLua\x54\x00 not really bytecode"}},
                                    nlohmann::json::object(), {});
  ASSERT_FALSE(sandbox);
  EXPECT_EQ(sandbox.error().file, "t.lua");
  EXPECT_NE(sandbox.error().message.find("bytecode is refused"), std::string::npos);
}

TEST(LuaSandbox, LoadErrorsArePositioned) {
  auto syntax = LuaSandbox::create({{}, {"rules/x.lua", "local a = 1\n\nreturn {name = }\n"}},
                                   nlohmann::json::object(), {});
  ASSERT_FALSE(syntax);
  EXPECT_EQ(syntax.error().file, "rules/x.lua");
  EXPECT_EQ(syntax.error().line, 3);
  EXPECT_NE(syntax.error().message.find("unexpected symbol"), std::string::npos)
      << syntax.error().message;

  auto runtime = LuaSandbox::create({{}, {"rules/x.lua", "local a = 1\nerror('no')\n"}},
                                    nlohmann::json::object(), {});
  ASSERT_FALSE(runtime);
  EXPECT_EQ(runtime.error().to_text(), "rules/x.lua:2: no");

  auto loop =
      LuaSandbox::create({{}, {"rules/x.lua", "while true do end"}}, nlohmann::json::object(), {});
  ASSERT_FALSE(loop);
  EXPECT_NE(loop.error().message.find("instruction limit"), std::string::npos);

  auto shape = LuaSandbox::create({{}, {"rules/x.lua", "return {name = 'x', version = '1'}"}},
                                  nlohmann::json::object(), {});
  ASSERT_FALSE(shape);
  EXPECT_NE(shape.error().message.find("score is a nil"), std::string::npos)
      << shape.error().message;
}

TEST(LuaSandbox, AHelperLibrarysErrorWhileTheScriptLoadsKeepsTheLibrarysPosition) {
  // The script calls the library at load time and the library raises the error: line 3 is the
  // library's, and the script has only two lines.
  const RuleSources sources{
      {{"rules/lib/util.lua",
        "local M = {}\nfunction M.check(x)\n  if not x then error('x is required') end\nend\n"
        "return M\n"}},
      {"rules/score.lua", "util.check(nil)\nreturn {}\n"}};
  auto sandbox = LuaSandbox::create(sources, nlohmann::json::object(), {});
  ASSERT_FALSE(sandbox);
  EXPECT_EQ(sandbox.error().file, "rules/score.lua");
  EXPECT_EQ(sandbox.error().line, 0);
  EXPECT_EQ(sandbox.error().to_text(), "rules/score.lua: rules/lib/util.lua:3: x is required");
}

TEST(LuaSandbox, HelperLibrariesBecomeReadOnlyGlobalsNamedAfterTheirFile) {
  const RuleSources sources{
      {{"rules/lib/points.lua", "return {base = 0.5}"}, {"lib/flag.lua", "return true"}},
      {"t.lua",
       "return {name = 't', version = '1', score = function()\n"
       "  assert(flag == true)\n"
       "  return {score = points.base, recommendation = 'drop_lead', reason = 'r',\n"
       "          contributions = {{rule = 'base', points = points.base}}}\nend}"}};
  auto sandbox = LuaSandbox::create(sources, nlohmann::json::object(), {});
  ASSERT_TRUE(sandbox) << sandbox.error().to_text();
  const auto result = (*sandbox)->score(good_lead());
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->score, 0.5);

  auto changed = LuaSandbox::create({sources.libs, {"t.lua", misbehaving("points.base = 1")}},
                                    nlohmann::json::object(), {});
  ASSERT_TRUE(changed);
  const auto failed = (*changed)->score(bad_lead());
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().find("cannot set points.base: points is read-only"), std::string::npos)
      << failed.error();

  auto badly_named = LuaSandbox::create({{{"lib/2fast.lua", "return {}"}}, sources.script},
                                        nlohmann::json::object(), {});
  ASSERT_FALSE(badly_named);
  EXPECT_EQ(badly_named.error().file, "lib/2fast.lua");
  EXPECT_NE(badly_named.error().message.find("must be a Lua name"), std::string::npos);
}

TEST(LuaSandbox, SameLeadSameAnswer) {
  const std::string script =
      "return {name = 't', version = '1', score = function(lead, ctx)\n"
      "  local s = (#lead.source + lead.activity_count) / 100\n"
      "  return {score = s, recommendation = 'drop_lead', reason = lead.source,\n"
      "          contributions = {{rule = 'x', points = s}}}\nend}";
  auto a = make(script);
  auto b = make(script);
  ASSERT_TRUE(a && b);
  const auto first = a->score(good_lead());
  ASSERT_TRUE(first) << first.error();
  for (int i = 0; i < 100; ++i) {
    const auto again = (i % 2 ? a : b)->score(good_lead());
    ASSERT_TRUE(again);
    EXPECT_EQ(again->score, first->score);
    EXPECT_EQ(again->reason, first->reason);
  }
}

TEST(LuaSandbox, AThousandFailuresLeakNothing) {
  // Each kind of failure in turn, chosen by activity_count; every bad call followed by a good one.
  const std::string script =
      "local bad = {\n"
      "  function() while true do end end,\n"
      "  function() return string.rep('x', 1e9) end,\n"
      "  function() local s = 'x' while true do s = s .. s end end,\n"
      "  function() local t = {} for i = 1, 1e12 do t[i] = {i} end end,\n"
      "  function() return io.open('/etc/passwd') end,\n"
      "  function() pcall(function() while true do end end) end,\n"
      "  function() error('boom') end,\n"
      "  function() lead = nil end,\n"
      "  function() local function f() return f() + 1 end return f() end,\n"
      "  function() return 'not a table' end,\n"
      "}\n"
      "return {name = 't', version = '1', score = function(lead, ctx)\n"
      "  local n = lead.activity_count\n"
      "  if n > 0 then return bad[n]() end\n  " +
      std::string(kGoodResult) + "\nend}";
  auto sandbox = make(script, {20'000, 16u << 20});
  ASSERT_TRUE(sandbox);
  Features good = good_lead();
  good.activity_count = 0;
  const auto run = [&](int i) {
    Features bad = good;
    bad.activity_count = 1 + i % 10;
    const auto failed = sandbox->score(bad);
    ASSERT_FALSE(failed) << "kind " << bad.activity_count;
    const auto fine = sandbox->score(good);
    ASSERT_TRUE(fine) << fine.error();
  };
  for (int i = 0; i < 20; ++i) run(i);
  sandbox->collect_garbage();
  const std::size_t baseline = sandbox->memory_in_use();
  for (int i = 0; i < 1000; ++i) run(i);
  sandbox->collect_garbage();
  // A leak of even 8 bytes per failure shows as 8 KB; the state itself moves by up to ~2 KB
  // between collections (the size its stack is left at), both ways.
  EXPECT_LE(sandbox->memory_in_use(), baseline + 4096);
  EXPECT_LE(sandbox->memory_peak(), 16u << 20);
}

}  // namespace
}  // namespace leadscore::lua
