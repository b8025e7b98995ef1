// Read-only tables (plugins/lua/read_only_table.h): a proxy reads, counts and iterates the table
// it stands for, never hands it out, and fails every write with the table's name; what the
// sandbox gives a script (globals, libraries, lead, ctx) is read-only in this way.
#include "plugins/lua/read_only_table.h"

#include <gtest/gtest.h>

#include <lua.hpp>
#include <string>

#include "tests/plugins/lua/sandbox_test_support.h"

namespace leadscore::lua {
namespace {

using namespace testing;

// The base library, the protected set, and a global `thing`: a read-only proxy of
// {a = 1, "x", "y"}.
int set_up_thing(lua_State* L) {
  State& s = state_of(L);
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  lua_settop(L, 0);
  create_protected_set(L, s);
  lua_createtable(L, 2, 1);
  lua_pushinteger(L, 1);
  lua_setfield(L, -2, "a");
  lua_pushliteral(L, "x");
  lua_rawseti(L, -2, 1);
  lua_pushliteral(L, "y");
  lua_rawseti(L, -2, 2);
  make_read_only(L, s, "thing");
  lua_setglobal(L, "thing");
  return 0;
}

class ReadOnlyTableTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(bare_.protect(set_up_thing), ""); }
  BareState bare_;
};

TEST_F(ReadOnlyTableTest, ReadsCountsAndIteratesTheRealTable) {
  EXPECT_EQ(bare_.run("assert(thing.a == 1 and thing[2] == 'y' and thing.b == nil)\n"
                      "assert(#thing == 2)\n"
                      "local n = 0 for k, v in pairs(thing) do n = n + 1 end assert(n == 3)\n"
                      "local list = {} for i, v in ipairs(thing) do list[i] = v end\n"
                      "assert(list[1] == 'x' and list[2] == 'y' and #list == 2)"),
            "");
}

TEST_F(ReadOnlyTableTest, EveryWriteFailsWithTheTablesName) {
  EXPECT_EQ(bare_.run("thing.a = 2"), "t.lua:1: cannot set thing.a: thing is read-only");
  EXPECT_EQ(bare_.run("thing.new = 2"), "t.lua:1: cannot set thing.new: thing is read-only");
  EXPECT_EQ(bare_.run("thing[3] = 'z'"),
            "t.lua:1: cannot set a field of thing: thing is read-only");
  EXPECT_EQ(bare_.run("assert(thing.a == 1 and thing.new == nil and #thing == 2)"), "");
}

TEST_F(ReadOnlyTableTest, NeverHandsOutTheRealTable) {
  EXPECT_EQ(bare_.run("assert(getmetatable(thing) == 'read-only')"), "");
  EXPECT_EQ(bare_.run("setmetatable(thing, {})"), "t.lua:1: cannot change a protected metatable");
  EXPECT_EQ(bare_.run("local _, real = pairs(thing) real.a = 2"),
            "t.lua:1: cannot set thing.a: thing is read-only");
}

TEST_F(ReadOnlyTableTest, TheProxyIsInTheProtectedSet) {
  lua_State* L = bare_.state.L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, bare_.state.protected_set);
  lua_getglobal(L, "thing");
  EXPECT_EQ(lua_rawget(L, -2), LUA_TBOOLEAN);
  lua_settop(L, 0);
}

int set_up_globals(lua_State* L) {
  State& s = state_of(L);
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  lua_settop(L, 0);
  create_protected_set(L, s);
  lua_pushglobaltable(L);
  make_read_only(L, s, "_G", true);
  s.globals_proxy = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

TEST(ReadOnlyTable, TheGlobalsSayToUseALocal) {
  BareState bare;
  ASSERT_EQ(bare.protect(set_up_globals), "");
  const int globals = bare.state.globals_proxy;
  EXPECT_EQ(bare.run("counter = 1", globals),
            "t.lua:1: cannot set global 'counter': globals are read-only in rules (use a local)");
  EXPECT_EQ(bare.run("_ENV[1] = 1", globals),
            "t.lua:1: cannot set a global: globals are read-only in rules");
  EXPECT_EQ(bare.run("local counter = 1 assert(type(print) == 'function')", globals), "");
}

// --- Through a sandbox ------------------------------------------------------------------------

TEST(ReadOnlyTable, GlobalsLeadAndLibrariesAreReadOnly) {
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

TEST(ReadOnlyTable, ReadOnlyTablesStillReadAndIterate) {
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

}  // namespace
}  // namespace leadscore::lua
