// The library a rule sees (plugins/lua/safe_library.h): what loads code or reaches the host,
// a clock or randomness fails with its name; what rules use works; library loops in C are
// charged to the budget; the libraries and the globals cannot be changed.
#include "plugins/lua/safe_library.h"

#include <gtest/gtest.h>

#include <lua.hpp>
#include <string>

#include "plugins/lua/read_only_table.h"
#include "tests/plugins/lua/sandbox_test_support.h"

namespace leadscore::lua {
namespace {

using namespace testing;

int set_up_safe_library(lua_State* L) {
  State& s = state_of(L);
  open_rule_libraries(L);
  create_protected_set(L, s);
  lua_pushglobaltable(L);
  make_libraries_safe(L, s, lua_gettop(L));
  lua_settop(L, 0);
  return 0;
}

// A state with the safe library and nothing else; code runs with the read-only globals as _ENV.
class SafeLibraryTest : public ::testing::Test {
 protected:
  explicit SafeLibraryTest(SandboxLimits limits = {}) : bare_(limits) {}
  void SetUp() override { ASSERT_EQ(bare_.protect(set_up_safe_library), ""); }
  std::string run(const std::string& code) { return bare_.run(code, bare_.state.globals_proxy); }

  BareState bare_;
};

TEST_F(SafeLibraryTest, EveryBlockedFunctionFailsWithItsName) {
  for (const char* name : {"load",
                           "loadfile",
                           "dofile",
                           "loadstring",
                           "require",
                           "collectgarbage",
                           "print",
                           "warn",
                           "string.dump",
                           "math.random",
                           "math.randomseed",
                           "os.execute",
                           "os.getenv",
                           "os.time",
                           "os.clock",
                           "io.open",
                           "io.write",
                           "debug.getinfo",
                           "debug.sethook",
                           "package.loadlib",
                           "coroutine.create",
                           "coroutine.wrap"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(run(std::string(name) + "('x')"),
              "t.lua:1: " + std::string(name) + " is not available in rules");
  }
}

TEST_F(SafeLibraryTest, KeepsWhatRulesUse) {
  EXPECT_EQ(run("assert(string.format('%.2f', 0.5) == '0.50')\n"
                "assert(('Head of Sales'):lower():find('head', 1, true) == 1)\n"
                "assert(table.concat({'a', 'b'}, ',') == 'a,b' and select('#', 1, 2) == 2)\n"
                "local t = {3, 1, 2} table.sort(t) assert(t[1] == 1 and #t == 3)\n"
                "assert(math.floor(2.5) == 2 and math.max(1, 3) == 3 and math.type(1) == "
                "'integer')\n"
                "assert(utf8.len('\xc3\xa9') == 1 and utf8.char(233) == '\xc3\xa9')\n"
                "assert(tostring(7) == '7' and tonumber('8') == 8 and type({}) == 'table')\n"
                "assert(pcall(error, 'x') == false)\n"
                "for i, v in ipairs({'a'}) do assert(v == 'a') end\n"
                "assert(setmetatable({}, {__index = {k = 1}}).k == 1)\n"),
            "");
}

TEST_F(SafeLibraryTest, StringRepRefusesAResultLargerThanTheMemoryLeft) {
  EXPECT_EQ(run("local s = string.rep('x', 1e9)"),
            "t.lua:1: string.rep: a string of 1000000000.0 bytes would exceed the memory "
            "limit of 32 MB");
  EXPECT_EQ(run("assert(#string.rep('ab', 3, ',') == 8 and string.rep('', 1e15) == '')"), "");
}

TEST_F(SafeLibraryTest, SetmetatableAndRawsetRefuseProtectedTablesAndFinalizers) {
  EXPECT_EQ(run("setmetatable({}, {__gc = function() end})"),
            "t.lua:1: __gc metamethods are not available in rules");
  EXPECT_EQ(run("setmetatable(_G, {})"),
            "t.lua:1: setmetatable cannot change a protected table (globals, libraries, lead, "
            "ctx)");
  EXPECT_EQ(run("rawset(string, 'upper', nil)"),
            "t.lua:1: rawset cannot change a protected table (globals, libraries, lead, ctx)");
  EXPECT_EQ(run("local t = rawset({}, 'k', 1) assert(t.k == 1)"), "");
}

TEST_F(SafeLibraryTest, LibrariesGlobalsAndModulesAreReadOnly) {
  EXPECT_EQ(run("string.upper = nil"), "t.lua:1: cannot set string.upper: string is read-only");
  EXPECT_EQ(run("table.x = 1"), "t.lua:1: cannot set table.x: table is read-only");
  EXPECT_EQ(run("os.execute = print"), "t.lua:1: cannot set os.execute: os is read-only");
  EXPECT_EQ(run("x = 1"),
            "t.lua:1: cannot set global 'x': globals are read-only in rules (use a local)");
  EXPECT_EQ(run("_G.x = 1"),
            "t.lua:1: cannot set global 'x': globals are read-only in rules (use a local)");
  EXPECT_EQ(run("assert(getmetatable('') == 'read-only')"), "") << "the string metatable hides";
}

class SmallBudgetSafeLibraryTest : public SafeLibraryTest {
 protected:
  SmallBudgetSafeLibraryTest() : SafeLibraryTest({10'000}) {}
};

TEST_F(SmallBudgetSafeLibraryTest, LibraryLoopsInCAreChargedToTheBudget) {
  // Each runs well within 10,000 instructions of Lua: only the charges for the work done in C
  // (elements moved, sorted, shifted; bytes scanned; pattern steps) spend the budget.
  const std::string spent = "instruction limit of 10000 exceeded at t.lua:1";
  for (const char* code : {"table.move({}, 1, 1e6, 1)", "table.concat({'a'}, '', 1, 1e6)",
                           "local t = table.pack(('a'):rep(2000):byte(1, -1)) table.sort(t)",
                           "local t = table.pack(('a'):rep(5000):byte(1, -1)) "
                           "for i = 1, 10 do table.insert(t, 1, 0) end",
                           "local s = ('a'):rep(1e5) for i = 1, 10 do utf8.len(s) end",
                           "local s = ('a'):rep(1e5) for i = 1, 10 do string.unpack('B', s) end",
                           "local s = ('a'):rep(1e5) s:find('.-.-.-b')"}) {
    SCOPED_TRACE(code);
    const std::string failure = run(code);
    EXPECT_EQ(failure.rfind(spent, 0), 0u) << failure;
  }
  EXPECT_EQ(run("local s = ('a'):rep(1e5) utf8.len(s) string.unpack('B', s)\n"
                "table.move({1, 2, 3}, 1, 3, 2)"),
            "");
}

// --- Through a sandbox ------------------------------------------------------------------------

TEST(SafeLibrary, BlocksTheHost) {
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

TEST(SafeLibrary, BlocksLoadingCode) {
  expect_fails_then_recovers("require('os')", "require is not available in rules");
  expect_fails_then_recovers("load('return 1')", "load is not available in rules");
  expect_fails_then_recovers("loadfile('/etc/passwd')", "loadfile is not available in rules");
  expect_fails_then_recovers("dofile('/etc/passwd')", "dofile is not available in rules");
  expect_fails_then_recovers("string.dump(function() end)",
                             "string.dump is not available in rules");
}

TEST(SafeLibrary, BlocksTheDebugLibrary) {
  expect_fails_then_recovers("debug.sethook()", "debug.sethook is not available in rules");
  expect_fails_then_recovers("debug.getregistry()", "debug.getregistry is not available");
}

TEST(SafeLibrary, NoClockNoRandomness) {
  expect_fails_then_recovers("math.random()", "math.random is not available in rules");
  expect_fails_then_recovers("math.randomseed(1)", "math.randomseed is not available in rules");
  expect_fails_then_recovers("os.time()", "os.time is not available in rules");
  expect_fails_then_recovers("os.clock()", "os.clock is not available in rules");
  expect_fails_then_recovers("os.date()", "os.date is not available in rules");
}

TEST(SafeLibrary, RefusesFinalizers) {
  expect_fails_then_recovers("setmetatable({}, {__gc = function() while true do end end})",
                             "__gc metamethods are not available in rules");
}

TEST(SafeLibrary, RefusesAHugeStringBeforeMakingIt) {
  expect_fails_then_recovers("local s = string.rep('x', 1e9)", "exceed the memory limit of 32 MB");
  expect_fails_then_recovers("local s = ('x'):rep(1e9)", "exceed the memory limit of 32 MB");
}

TEST(SafeLibrary, StringRepOfNothingIsImmediate) {
  auto sandbox = make(
      "return {name = 't', version = '1', score = function()\n"
      "  assert(string.rep('', 1e15) == '' and string.rep('x', 0) == '')\n  " +
      std::string(kGoodResult) + "\nend}");
  ASSERT_TRUE(sandbox);
  auto result = sandbox->score(good_lead());
  EXPECT_TRUE(result) << result.error();
}

TEST(SafeLibrary, WorkInsideLibraryFunctionsCountsAgainstTheBudget) {
  expect_fails_then_recovers("table.move({}, 1, 1e15, 1)", "instruction limit");
  expect_fails_then_recovers(
      "local t = {} for i = 1, 100 do t[i] = i end table.concat(t, '', 1, 1e15)",
      "instruction limit");
}

TEST(SafeLibrary, PatternMatchingCountsAgainstTheBudget) {
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

TEST(SafeLibrary, BytesCopiedAndScannedInCCountAgainstTheBudget) {
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

}  // namespace
}  // namespace leadscore::lua
