// The sandbox's limits (plugins/lua/sandbox_limits.h): the allocator keeps the memory cap, the
// count hook the instruction budget, the clock the time limit; a call that passes one fails
// with a message saying which, `pcall` cannot swallow it, and the next call works.
#include "plugins/lua/sandbox_limits.h"

#include <gtest/gtest.h>

#include <chrono>
#include <lua.hpp>
#include <string>

#include "tests/plugins/lua/sandbox_test_support.h"

namespace leadscore::lua {
namespace {

using namespace testing;

// --- The allocator ------------------------------------------------------------------------------

TEST(SandboxLimits, TheAllocatorRefusesToGrowPastTheCap) {
  State s;
  s.memory_limit = 1u << 20;
  void* block = allocate(&s, nullptr, LUA_TSTRING, 512u << 10);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(s.memory_used, 512u << 10);
  EXPECT_EQ(allocate(&s, nullptr, LUA_TTABLE, 600u << 10), nullptr) << "past the cap";
  EXPECT_EQ(allocate(&s, block, 512u << 10, (1u << 20) + 1), nullptr) << "grown past the cap";
  EXPECT_EQ(s.memory_used, 512u << 10) << "a refusal changes nothing";
  void* second = allocate(&s, nullptr, LUA_TTABLE, 512u << 10);  // exactly up to the cap
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(s.memory_used, 1u << 20);
  EXPECT_EQ(allocate(&s, nullptr, LUA_TTABLE, 1), nullptr);
  allocate(&s, second, 512u << 10, 0);
  allocate(&s, block, 512u << 10, 0);
  EXPECT_EQ(s.memory_used, 0u);
  EXPECT_EQ(s.memory_peak, 1u << 20);
}

TEST(SandboxLimits, TheAllocatorNeverRefusesToShrink) {
  State s;
  s.memory_limit = 1u << 20;
  void* block = allocate(&s, nullptr, LUA_TSTRING, 1u << 20);
  ASSERT_NE(block, nullptr);
  s.memory_limit = 1024;  // the block is now far over the cap: shrinking it must still work
  block = allocate(&s, block, 1u << 20, 100);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(s.memory_used, 100u);
  allocate(&s, block, 100, 0);
}

TEST(SandboxLimits, BytesAllocatedAreChargedToTheRunningCall) {
  State s;
  s.memory_limit = 1u << 20;
  s.remaining = 1000;
  void* block = allocate(&s, nullptr, LUA_TSTRING, 100 * kBytesPerInstruction);
  EXPECT_EQ(s.remaining, 900);
  block = allocate(&s, block, 100 * kBytesPerInstruction, 10);  // shrinking costs nothing
  EXPECT_EQ(s.remaining, 900);
  allocate(&s, block, 10, 0);
}

TEST(SandboxLimits, AStateStopsAtItsMemoryCap) {
  BareState bare({1'000'000'000, 8u << 20});
  EXPECT_EQ(bare.run("local t = {} for i = 1, 1e12 do t[i] = {i} end"),
            "memory limit of 8 MB exceeded");
  EXPECT_LE(bare.state.memory_peak, 8u << 20);
  EXPECT_EQ(bare.run("local t = {1, 2, 3}"), "");
}

// --- The instruction budget ----------------------------------------------------------------------

TEST(SandboxLimits, TheCountHookStopsAnEndlessLoopAtTheBudget) {
  BareState bare({10'000});
  EXPECT_EQ(bare.run("local n = 0\nwhile true do n = n + 1 end"),
            "instruction limit of 10000 exceeded at t.lua:2 (a loop or recursion that does not "
            "end?)");
  EXPECT_TRUE(bare.state.exhausted);
  // Spent within one hook period of the budget.
  EXPECT_LE(bare.state.remaining, 0);
  EXPECT_GT(bare.state.remaining, -kHookPeriod);
  EXPECT_EQ(bare.run("local n = 0 for i = 1, 1000 do n = n + i end"), "") << "the next call runs";
}

int open_base_library(lua_State* L) {
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  return 0;
}

TEST(SandboxLimits, PcallInsideTheCallCannotRunPastTheBudget) {
  BareState bare({10'000});
  ASSERT_EQ(bare.protect(open_base_library), "");
  EXPECT_EQ(bare.run("while true do pcall(function() while true do end end) end")
                .rfind("instruction limit of 10000 exceeded", 0),
            0u);
  EXPECT_EQ(bare.run("local ok = pcall(function() while true do end end)\n"
                     "local n = 0 for i = 1, 10 do n = n + 1 end")
                .rfind("instruction limit of 10000 exceeded", 0),
            0u)
      << "the code after the pcall never runs";
}

int charge_a_hundred(lua_State* L) {
  State& s = state_of(L);
  const std::int64_t before = s.remaining;
  charge(L, 100);
  lua_pushinteger(L, before - s.remaining);
  return 1;
}

int charge_too_much(lua_State* L) {
  charge(L, 1e12);
  return 0;
}

TEST(SandboxLimits, WorkInCIsChargedAndFailsPastWhatIsLeft) {
  BareState bare({10'000});
  State& s = bare.state;
  lua_pushcfunction(s.L, charge_a_hundred);
  ASSERT_EQ(call_with_budget(s, 0, 1), LUA_OK);
  EXPECT_EQ(lua_tointeger(s.L, -1), 100);
  lua_settop(s.L, 0);

  lua_pushcfunction(s.L, charge_too_much);
  const int status = call_with_budget(s, 0, 0);
  ASSERT_EQ(status, LUA_ERRRUN);
  EXPECT_EQ(failure_message(s, status).rfind("instruction limit of 10000 exceeded", 0), 0u);
}

TEST(SandboxLimits, PatternFunctionsDrawOnTheBudget) {
  BareState bare({10'000});
  State& s = bare.state;
  arm_budget(s);
  EXPECT_EQ(pattern_meter()->left(s.L), 10'000);
  pattern_meter()->charge(s.L, 250);
  EXPECT_EQ(pattern_meter()->left(s.L), 9'750);
  EXPECT_EQ(s.remaining, 9'750);
  disarm_budget(s);
}

// --- Through a sandbox ------------------------------------------------------------------------

TEST(SandboxLimits, StopsAnEndlessLoop) {
  expect_fails_then_recovers("while true do end",
                             "instruction limit of 1000000 exceeded at t.lua:3");
}

TEST(SandboxLimits, StopsUnboundedRecursion) {
  // Lua's own stack limit, given the memory; else the memory cap comes first.
  expect_fails_then_recovers("local function f(n) return 1 + f(n + 1) end\nf(1)", "stack overflow",
                             {100'000'000, 256u << 20});
  expect_fails_then_recovers("local function f(n) return 1 + f(n + 1) end\nf(1)",
                             "memory limit of 4 MB exceeded", {100'000'000, 4u << 20});
}

TEST(SandboxLimits, StopsAStringThatDoublesUntilTheMemoryCap) {
  expect_fails_then_recovers("local s = 'x' while true do s = s .. s end",
                             "memory limit of 8 MB exceeded", {1'000'000'000, 8u << 20});
}

TEST(SandboxLimits, StopsAGrowingTableAtTheMemoryCap) {
  expect_fails_then_recovers("local t = {} for i = 1, 1e12 do t[i] = {i} end",
                             "memory limit of 8 MB exceeded", {1'000'000'000, 8u << 20});
}

TEST(SandboxLimits, AGrowingTableWithinTheDefaultsRunsOutOfInstructionsFirst) {
  expect_fails_then_recovers("local t = {} for i = 1, 1e12 do t[i] = i end", "instruction limit");
}

TEST(SandboxLimits, PcallCannotCatchTheInstructionBudget) {
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

TEST(SandboxLimits, AResultMadeAfterTheBudgetIsSpentDoesNotCount) {
  // A tail call returns pcall's results without running another Lua instruction.
  expect_fails_then_recovers("return pcall(function() while true do end end)", "instruction limit");
}

TEST(SandboxLimits, SlowInstructionsMeetTheTimeLimit) {
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

}  // namespace
}  // namespace leadscore::lua
