// The sandbox: every way a script can misbehave fails its own run, with a message that says
// what happened, and the next call on the same state works.
#include "plugins/lua/lua_sandbox.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

namespace leadscore::lua {
namespace {

using domain::Features;
using domain::Recommendation;

constexpr const char* kGoodResult =
    "return {score = 0.5, recommendation = 'continue_qualification', reason = 'fine', "
    "contributions = {{rule = 'base', points = 0.5}}}";

Features good_lead() {
  Features f;
  f.source = "partner";
  f.stage = domain::LeadStage::Qualified;
  f.activity_count = 5;
  f.business_domain = "acme.io";
  f.profile.role = "CTO";
  return f;
}

Features bad_lead() {
  Features f = good_lead();
  f.source = "bad";
  return f;
}

std::unique_ptr<LuaSandbox> make(const std::string& script, SandboxLimits limits = {},
                                 const nlohmann::json& params = nlohmann::json::object()) {
  auto sandbox = LuaSandbox::create({{}, {"t.lua", script}}, params, limits);
  if (!sandbox) {
    ADD_FAILURE() << sandbox.error().to_text();
    return nullptr;
  }
  return std::move(*sandbox);
}

// A script whose score() runs `bad` for the lead with source "bad", and answers well otherwise.
std::string misbehaving(const std::string& bad) {
  return "return {name = 't', version = '1', score = function(lead, ctx)\n"
         "  if lead.source == 'bad' then\n" +
         bad + "\n  end\n  " + kGoodResult + "\nend}\n";
}

// Runs the bad lead (must fail with `expected` in the message, within the memory cap), then a
// good one on the same state (must work).
void expect_fails_then_recovers(const std::string& bad, const std::string& expected,
                                SandboxLimits limits = {}) {
  SCOPED_TRACE(bad);
  auto sandbox = make(misbehaving(bad), limits);
  ASSERT_TRUE(sandbox);
  for (int round = 0; round < 2; ++round) {  // twice: a state left broken would show
    auto failed = sandbox->score(bad_lead());
    ASSERT_FALSE(failed) << "the bad call succeeded";
    EXPECT_NE(failed.error().find(expected), std::string::npos) << failed.error();
    EXPECT_EQ(failed.error().rfind("t.lua", 0), 0u) << "names the script: " << failed.error();
    EXPECT_LE(sandbox->memory_peak(), limits.memory_limit_bytes);
    auto next = sandbox->score(good_lead());
    ASSERT_TRUE(next) << next.error();
    EXPECT_EQ(next->score, 0.5);
  }
}

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

TEST(LuaSandbox, StopsAnEndlessLoop) {
  expect_fails_then_recovers("while true do end",
                             "instruction limit of 1000000 exceeded at t.lua:3");
}

TEST(LuaSandbox, StopsUnboundedRecursion) {
  // Lua's own stack limit, given the memory; else the memory cap comes first.
  expect_fails_then_recovers("local function f(n) return 1 + f(n + 1) end\nf(1)", "stack overflow",
                             {100'000'000, 256u << 20});
  expect_fails_then_recovers("local function f(n) return 1 + f(n + 1) end\nf(1)",
                             "memory limit of 4 MB exceeded", {100'000'000, 4u << 20});
}

TEST(LuaSandbox, RefusesAHugeStringBeforeMakingIt) {
  expect_fails_then_recovers("local s = string.rep('x', 1e9)", "exceed the memory limit of 32 MB");
  expect_fails_then_recovers("local s = ('x'):rep(1e9)", "exceed the memory limit of 32 MB");
}

TEST(LuaSandbox, StopsAStringThatDoublesUntilTheMemoryCap) {
  expect_fails_then_recovers("local s = 'x' while true do s = s .. s end",
                             "memory limit of 8 MB exceeded", {1'000'000'000, 8u << 20});
}

TEST(LuaSandbox, StopsAGrowingTableAtTheMemoryCap) {
  expect_fails_then_recovers("local t = {} for i = 1, 1e12 do t[i] = {i} end",
                             "memory limit of 8 MB exceeded", {1'000'000'000, 8u << 20});
}

TEST(LuaSandbox, AGrowingTableWithinTheDefaultsRunsOutOfInstructionsFirst) {
  expect_fails_then_recovers("local t = {} for i = 1, 1e12 do t[i] = i end", "instruction limit");
}

TEST(LuaSandbox, BlocksTheHost) {
  expect_fails_then_recovers("os.execute('touch /tmp/leadscore-pwned')",
                             "os.execute is not available in rules");
  expect_fails_then_recovers("io.open('/etc/passwd')", "io.open is not available in rules");
  expect_fails_then_recovers("io.write('x')", "io.write is not available in rules");
  expect_fails_then_recovers("print('x')", "print is not available in rules");
  expect_fails_then_recovers("os.exit(1)", "os.exit is not available in rules");
  expect_fails_then_recovers("os.getenv('HOME')", "os.getenv is not available in rules");
  expect_fails_then_recovers("collectgarbage()", "collectgarbage is not available in rules");
  expect_fails_then_recovers("package.loadlib('x', 'y')", "package.loadlib is not available");
}

TEST(LuaSandbox, BlocksLoadingCode) {
  expect_fails_then_recovers("require('os')", "require is not available in rules");
  expect_fails_then_recovers("load('return 1')", "load is not available in rules");
  expect_fails_then_recovers("loadfile('/etc/passwd')", "loadfile is not available in rules");
  expect_fails_then_recovers("dofile('/etc/passwd')", "dofile is not available in rules");
  expect_fails_then_recovers("string.dump(function() end)",
                             "string.dump is not available in rules");
}

TEST(LuaSandbox, BlocksTheDebugLibrary) {
  expect_fails_then_recovers("debug.sethook()", "debug.sethook is not available in rules");
  expect_fails_then_recovers("debug.getregistry()", "debug.getregistry is not available");
}

TEST(LuaSandbox, PcallCannotCatchTheInstructionBudget) {
  expect_fails_then_recovers("pcall(function() while true do end end)", "instruction limit");
  expect_fails_then_recovers("while true do pcall(function() while true do end end) end",
                             "instruction limit");
  expect_fails_then_recovers(
      "while true do xpcall(function() while true do end end, function(m) return m end) end",
      "instruction limit");
  expect_fails_then_recovers(
      "local ok = pcall(function() while true do end end)\n"
      "if not ok then return {score = 0.1, recommendation = 'drop_lead', reason = 'caught', "
      "contributions = {{rule = 'x', points = 0.1}}} end",
      "instruction limit");
}

TEST(LuaSandbox, AResultMadeAfterTheBudgetIsSpentDoesNotCount) {
  // A tail call returns pcall's results without running another Lua instruction.
  expect_fails_then_recovers("return pcall(function() while true do end end)", "instruction limit");
}

TEST(LuaSandbox, WorkInsideLibraryFunctionsCountsAgainstTheBudget) {
  expect_fails_then_recovers("table.move({}, 1, 1e15, 1)", "instruction limit");
  expect_fails_then_recovers(
      "local t = {} for i = 1, 100 do t[i] = i end table.concat(t, '', 1, 1e15)",
      "instruction limit");
}

TEST(LuaSandbox, PatternMatchingCountsAgainstTheBudget) {
  // Unmetered, each of these holds its thread for minutes (backtracking on a long text).
  const std::string text = "local s = string.rep('a', 100000)\n";
  expect_fails_then_recovers(text + "s:find('.-.-.-b')", "instruction limit");
  expect_fails_then_recovers(text + "pcall(string.match, s, '(.-)(.-)b')", "instruction limit");
  expect_fails_then_recovers(text + "for _ in s:gmatch('.-.-b') do end", "instruction limit");
  expect_fails_then_recovers(text + "s:gsub('a-a-a-b', '')", "instruction limit");
  // Ordinary patterns on lead fields run as before.
  auto sandbox = make(
      "return {name = 't', version = '1', score = function(lead)\n"
      "  assert(lead.business_domain:match('^[%w-]+%.(%a+)$') == 'io')\n"
      "  assert(select(2, ('a b c'):gsub('%a', string.upper)) == 3)\n  " +
      std::string(kGoodResult) + "\nend}");
  ASSERT_TRUE(sandbox);
  auto result = sandbox->score(good_lead());
  EXPECT_TRUE(result) << result.error();
}

TEST(LuaSandbox, BytesCopiedAndScannedInCCountAgainstTheBudget) {
  // Unmetered, each of these loops runs for minutes: one instruction copies or scans 4 MB.
  const std::string text = "local s = string.rep('a', 4e6)\n";
  expect_fails_then_recovers(text + "for i = 1, 1e9 do local t = s:upper() end",
                             "instruction limit");
  expect_fails_then_recovers(text + "for i = 1, 1e9 do local t = s .. 'x' end",
                             "instruction limit");
  expect_fails_then_recovers(text + "for i = 1, 1e9 do utf8.len(s) end", "instruction limit");
  expect_fails_then_recovers(
      "local t = table.pack(string.byte(string.rep('a', 5e5), 1, -1))\n"
      "for i = 1, 1e9 do table.insert(t, 1, 0) table.remove(t, 1) end",
      "instruction limit");
}

TEST(LuaSandbox, SlowInstructionsMeetTheTimeLimit) {
  // Comparing two equal 4 MB strings is one instruction that reads 8 MB; nothing is allocated.
  SandboxLimits limits;
  limits.time_limit_ms = 100;
  const std::string text = "local a, b = string.rep('a', 4e6), string.rep('a', 4e6 - 1) .. 'a'\n";
  for (const char* loop :
       {"for i = 1, 1e9 do if a == b then end end", "for i = 1, 1e9 do if a < b then end end"}) {
    const auto start = std::chrono::steady_clock::now();
    expect_fails_then_recovers(text + loop, "time limit of 100 ms exceeded at t.lua:", limits);
    // Unbounded, this is minutes; the limit stops both rounds within a fraction of a second
    // each (the bound here is loose on purpose: the host may be slow).
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  }
}

TEST(LuaSandbox, StringRepOfNothingIsImmediate) {
  auto sandbox = make(
      "return {name = 't', version = '1', score = function()\n"
      "  assert(string.rep('', 1e15) == '' and string.rep('x', 0) == '')\n  " +
      std::string(kGoodResult) + "\nend}");
  ASSERT_TRUE(sandbox);
  auto result = sandbox->score(good_lead());
  EXPECT_TRUE(result) << result.error();
}

TEST(LuaSandbox, AnErrorNamesFileAndLine) {
  expect_fails_then_recovers("error('boom')", "t.lua:3: boom");
  expect_fails_then_recovers("local x = nil; return x.field",
                             "t.lua:3: attempt to index a nil value");
  expect_fails_then_recovers("error({})", "error raised with a table value");
}

TEST(LuaSandbox, RefusesMalformedResults) {
  expect_fails_then_recovers("return nil", "got nil");
  expect_fails_then_recovers("return 'hello'", "got 'hello'");
  expect_fails_then_recovers(
      "return {score = 1.5, recommendation = 'drop_lead', reason = 'r', contributions = "
      "{{rule = 'x', points = 1.5}}}",
      "score must be in [0, 1], got 1.5");
  expect_fails_then_recovers(
      "return {score = 0/0, recommendation = 'drop_lead', reason = 'r', contributions = "
      "{{rule = 'x', points = 0}}}",
      "score must be a finite number");
  expect_fails_then_recovers(
      "return {score = 0.5, recommendation = 'call_them', reason = 'r', contributions = "
      "{{rule = 'x', points = 0.5}}}",
      "recommendation must be one of transfer_to_sales, continue_qualification, drop_lead; "
      "got 'call_them'");
  expect_fails_then_recovers(
      "return {score = 0.5, recommendation = 'drop_lead', reason = '', contributions = "
      "{{rule = 'x', points = 0.5}}}",
      "reason must be a non-empty string");
  expect_fails_then_recovers(
      "return {score = 0.5, recommendation = 'drop_lead', reason = 'r', contributions = {}}",
      "contributions must be a non-empty list");
  expect_fails_then_recovers(
      "return {score = 0.5, recommendation = 'drop_lead', reason = 'r', contributions = "
      "{{rule = 'x', points = 0.25}}}",
      "contributions add up to 0.25, not to the score 0.5");
  expect_fails_then_recovers(
      "return {score = 0.5, recommendation = 'drop_lead', reason = 'r', contributions = "
      "{{rule = 7, points = 0.5}}}",
      "contributions[1].rule must be a non-empty string");
  expect_fails_then_recovers(
      "return {score = '0.5', recommendation = 'drop_lead', reason = 'r', contributions = "
      "{{rule = 'x', points = 0.5}}}",
      "score must be a number in [0, 1], got '0.5'");
}

TEST(LuaSandbox, ReadsTheResultsOptionalIntent) {
  const auto with_intent = [](const std::string& intent) {
    return "return {name = 't', version = '1', score = function(lead, ctx)\n"
           "  return {score = 0.5, recommendation = 'continue_qualification', reason = 'r',\n"
           "          contributions = {{rule = 'x', points = 0.5}}, intent = " +
           intent + "}\nend}\n";
  };
  auto high = make(with_intent("'High'"));
  auto none = make(with_intent("nil"));
  ASSERT_TRUE(high && none);
  const auto result = high->score(good_lead());
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->intent, "High");
  const auto without = none->score(good_lead());
  ASSERT_TRUE(without) << without.error();
  EXPECT_EQ(without->intent, std::nullopt);
  const auto traced = high->trace(good_lead());
  ASSERT_TRUE(traced.result) << traced.result.error();
  EXPECT_EQ(traced.result->intent, "High");
}

TEST(LuaSandbox, RefusesAnIntentThatIsNotAString) {
  expect_fails_then_recovers(
      "return {score = 0.5, recommendation = 'drop_lead', reason = 'r', contributions = "
      "{{rule = 'x', points = 0.5}}, intent = 70}",
      "t.lua returned a malformed result: intent must be a string (or nil), got 70");
}

TEST(LuaSandbox, GlobalsLeadAndLibrariesAreReadOnly) {
  expect_fails_then_recovers("counter = 1", "cannot set global 'counter': globals are read-only");
  expect_fails_then_recovers("_G.counter = 1", "cannot set global 'counter'");
  expect_fails_then_recovers("lead.source = 'partner'",
                             "cannot set lead.source: lead is read-only");
  expect_fails_then_recovers("lead.new_field = 1", "cannot set lead.new_field");
  expect_fails_then_recovers("rawset(lead, 'source', 'x')",
                             "rawset cannot change a protected table");
  expect_fails_then_recovers("rawset(_G, 'x', 1)", "rawset cannot change a protected table");
  expect_fails_then_recovers("setmetatable(lead, {})",
                             "setmetatable cannot change a protected table");
  expect_fails_then_recovers("string.upper = nil", "cannot set string.upper: string is read-only");
  expect_fails_then_recovers("math.pi = 3", "cannot set math.pi");
  expect_fails_then_recovers("ctx.params.x = 1", "cannot set ctx.params.x");
  expect_fails_then_recovers("ctx.offer = {}", "cannot set ctx.offer");
  expect_fails_then_recovers("getmetatable('').__index.upper = nil", "attempt to index");
  expect_fails_then_recovers("local _, real = pairs(_G); real.x = 1", "cannot set global 'x'");
}

TEST(LuaSandbox, ReadOnlyTablesStillReadAndIterate) {
  auto sandbox = make(
      "return {name = 't', version = '1', score = function(lead, ctx)\n"
      "  local n = 0 for k, v in pairs(lead) do n = n + 1 end\n"
      "  assert(n == 5, 'lead has ' .. n .. ' fields')\n"
      "  assert(#ctx.params.list == 2 and ctx.params.list[2] == 'b')\n"
      "  local seen = {} for i, v in ipairs(ctx.params.list) do seen[i] = v end\n"
      "  assert(seen[1] == 'a' and lead.email == nil and ('x'):upper() == 'X')\n  " +
          std::string(kGoodResult) + "\nend}",
      {}, {{"list", {"a", "b"}}});
  ASSERT_TRUE(sandbox);
  auto result = sandbox->score(good_lead());
  EXPECT_TRUE(result) << result.error();
}

TEST(LuaSandbox, RefusesFinalizers) {
  expect_fails_then_recovers("setmetatable({}, {__gc = function() while true do end end})",
                             "__gc metamethods are not available in rules");
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

TEST(LuaSandbox, NoClockNoRandomness) {
  expect_fails_then_recovers("math.random()", "math.random is not available in rules");
  expect_fails_then_recovers("math.randomseed(1)", "math.randomseed is not available in rules");
  expect_fails_then_recovers("os.time()", "os.time is not available in rules");
  expect_fails_then_recovers("os.clock()", "os.clock is not available in rules");
  expect_fails_then_recovers("os.date()", "os.date is not available in rules");
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

TEST(LuaSandbox, PassesEveryFeatureAndTheOffer) {
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
  f.profile = {"Ann", "ann@acme.io", "CTO", "Acme", "SaaS", "Berlin", "builds things"};
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

TEST(LuaSandbox, EveryCallSeesItsOwnLeadAndOffer) {
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
  f.profile.role.reset();
  f.stage = domain::LeadStage::Lost;
  EXPECT_EQ(reason(f, &b), "partner|lost|5|nil|nil|B|true");
  EXPECT_FALSE(sandbox->score(bad_lead(), &a));
  EXPECT_EQ(reason(f, &b), "partner|lost|5|nil|nil|B|true");
  EXPECT_EQ(reason(f, nullptr), "partner|lost|5|nil|nil|no offer|true");
  f.activity_count = 6;
  EXPECT_EQ(reason(f, nullptr), "partner|lost|6|nil|nil|no offer|true");
  EXPECT_TRUE(sandbox->evaluate(f));
  EXPECT_EQ(reason(f, nullptr), "partner|lost|6|nil|nil|no offer|true");
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
