// The metered pattern functions answer exactly what Lua 5.4's own string.find, match, gmatch and
// gsub answer (results and error messages), for hand-picked cases of every pattern item and for
// thousands of generated ones; and they stop when their step budget runs out.
#include "plugins/lua/lua_pattern.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <lua.hpp>
#include <random>
#include <string>
#include <vector>

namespace leadscore::lua {
namespace {

// Runs a call in a state and describes its outcome as text: "ok|type:value|..." or "err|msg".
constexpr const char* kHarness = R"lua(
local function show(ok, ...)
  local out = {ok and "ok" or "err"}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    out[#out + 1] = math.type(v) or type(v)
    out[#out + 1] = tostring(v)
  end
  return table.concat(out, "|")
end
local function all_matches(s, p, init)
  local out = {}
  for a, b, c in string.gmatch(s, p, init) do
    out[#out + 1] = tostring(a) .. "," .. tostring(b) .. "," .. tostring(c)
    if #out > 50 then break end
  end
  return table.concat(out, ";")
end
local function describe(...)
  local parts = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    parts[#parts + 1] = (math.type(v) or type(v)) .. "=" .. tostring(v)
  end
  return "<" .. table.concat(parts, ",") .. ">"
end
local lookup = setmetatable({}, {__index = function(_, k)
  if k == "a" then return false end
  if k == "b" then return 7 end
  if k == "1" then return "one" end
  return "[" .. tostring(k) .. "]"
end})
return function(fn, s, p, a, b)
  if fn == "find" then return show(pcall(string.find, s, p, a, b)) end
  if fn == "match" then return show(pcall(string.match, s, p, a)) end
  if fn == "gmatch" then return show(pcall(all_matches, s, p, a)) end
  if fn == "gsub" then return show(pcall(string.gsub, s, p, a, b)) end
  if fn == "gsub_function" then return show(pcall(string.gsub, s, p, describe, b)) end
  if fn == "gsub_table" then return show(pcall(string.gsub, s, p, lookup, b)) end
  error("unknown function " .. fn)
end
)lua";

struct Call {
  std::string fn;
  std::string subject;
  std::string pattern;
  // Third and fourth arguments: an integer, a string, a boolean or absent.
  std::string a = "nil";
  std::string b = "nil";
};

class LuaState {
 public:
  explicit LuaState(bool metered_functions) : L_(luaL_newstate()) {
    luaL_openlibs(L_);
    if (metered_functions) {
      lua_getglobal(L_, "string");
      install_metered_patterns(L_, -1, nullptr);
      lua_pop(L_, 1);
    }
    if (luaL_dostring(L_, kHarness) != LUA_OK) ADD_FAILURE() << lua_tostring(L_, -1);
    harness_ = luaL_ref(L_, LUA_REGISTRYINDEX);
  }
  ~LuaState() { lua_close(L_); }
  LuaState(const LuaState&) = delete;
  LuaState& operator=(const LuaState&) = delete;

  std::string run(const Call& call) {
    lua_rawgeti(L_, LUA_REGISTRYINDEX, harness_);
    lua_pushstring(L_, call.fn.c_str());
    lua_pushlstring(L_, call.subject.data(), call.subject.size());
    lua_pushlstring(L_, call.pattern.data(), call.pattern.size());
    push_argument(call.a);
    push_argument(call.b);
    if (lua_pcall(L_, 5, 1, 0) != LUA_OK)
      return std::string("harness failed: ") + lua_tostring(L_, -1);
    std::string out = lua_tostring(L_, -1);
    lua_pop(L_, 1);
    return out;
  }

 private:
  void push_argument(const std::string& value) {
    if (value == "nil") {
      lua_pushnil(L_);
    } else if (value == "true" || value == "false") {
      lua_pushboolean(L_, value == "true");
    } else if (value.find_first_not_of("-0123456789") == std::string::npos && value != "-") {
      lua_pushinteger(L_, std::stoll(value));
    } else {
      lua_pushlstring(L_, value.data(), value.size());
    }
  }

  lua_State* L_;
  int harness_ = LUA_NOREF;
};

class PatternTest : public ::testing::Test {
 protected:
  void expect_same(const Call& call) {
    const std::string expected = lua_.run(call);
    const std::string actual = ours_.run(call);
    EXPECT_EQ(actual, expected) << call.fn << "(\"" << call.subject << "\", \"" << call.pattern
                                << "\", " << call.a << ", " << call.b << ")";
  }

  // Every function on one subject and pattern.
  void expect_same_everywhere(const std::string& subject, const std::string& pattern) {
    for (const char* fn : {"find", "match", "gmatch", "gsub_function", "gsub_table"})
      expect_same({fn, subject, pattern});
    expect_same({"gsub", subject, pattern, "<%0|%1>"});
  }

  LuaState lua_{false};
  LuaState ours_{true};
};

TEST_F(PatternTest, EveryPatternItemAnswersAsLuaDoes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"hello world", "o w"},
      {"hello world", "o"},
      {"hello world", "l+"},
      {"hello world", "l*o"},
      {"hello world", "l-o"},
      {"hello world", "x?h"},
      {"hello world", "^h"},
      {"hello world", "^w"},
      {"hello world", "d$"},
      {"hello world", "o$"},
      {"a$b", "$b"},
      {"a.b", "%."},
      {"key = value", "(%w+)%s*=%s*(%w+)"},
      {"x@acme.io", "@(.+)$"},
      {"John.Doe@acme.io", "^[%w._%-]+@[%w.-]+%.%a+$"},
      {"THE (quick) fox", "%b()"},
      {"THE (quick) fox", "%f[%a]%a+"},
      {"THE (quick) fox", "%f[%l]%a+"},
      {"abcabc", "(a)(b)(c)%1%2%3"},
      {"abab", "(ab)%1"},
      {"hello", "()ll()"},
      {"hello", "()"},
      {"", ""},
      {"", "^$"},
      {"abc", ""},
      {"abc", "[]"},
      {"a]b", "[]]"},
      {"a-b", "[a-]"},
      {"a^b", "[%^b]+"},
      {"a^b", "[^^]+"},
      {"0x1F", "%x+"},
      {"\t \n", "%s+"},
      {"a,b;c", "%p"},
      {"ABC def", "%u+"},
      {"ABC def", "%L+"},
      {"ab12", "%D+"},
      {"ab12", "%W"},
      {"\1\2a", "%c+"},
      {"\xc3\xa9t\xc3\xa9", "%a+"},
      {"caf\xc3\xa9", "[\xc3\xa9]+"},
      {"aaa", "a-b"},
      {"aaa", "a-$"},
      {"a\0b", std::string("%z")},
      {std::string("a\0b", 3), std::string("\0", 1)},
      {std::string("a\0b", 3), std::string("[\0]", 3)},
      // Malformed patterns: the same error messages.
      {"abc", "%"},
      {"abc", "[a"},
      {"abc", "[%"},
      {"abc", "[%]"},
      {"abc", "(a"},
      {"abc", "a)"},
      {"abc", "%1"},
      {"abc", "(a)%2"},
      {"abc", "(a%1)"},
      {"abc", "%b"},
      {"abc", "%ba"},
      {"abc", "%f"},
      {"abc", "%fa"},
      {"abc", "%0"},
      {"abc", std::string(40, '(') + "a" + std::string(40, ')')},
      {std::string(300, 'a'), std::string(300, 'a')},
      {std::string(300, 'a'),
       [] {
         std::string p;
         for (int i = 0; i < 250; ++i) p += "a?";
         return p;
       }()},
      {std::string(300, 'a'), std::string(250, '(') + std::string(250, ')')},
  };
  for (const auto& [subject, pattern] : cases) expect_same_everywhere(subject, pattern);
}

TEST_F(PatternTest, StartPositionsPlainFindAndReplacementLimitsAnswerAsLuaDoes) {
  for (const char* init : {"1", "2", "5", "6", "7", "100", "0", "-1", "-3", "-100"}) {
    expect_same({"find", "hello", "l", init});
    expect_same({"find", "hello", "l+", init});
    expect_same({"find", "hello", "", init});
    expect_same({"find", "hello", "^l", init});
    expect_same({"match", "hello", "(l)(.?)", init});
    expect_same({"gmatch", "hello", "l?", init});
    expect_same({"gmatch", "hello", "", init});
  }
  expect_same({"find", "a.b", ".", "1", "true"});
  expect_same({"find", "a+b", "+", "1"});
  expect_same({"find", "a+b", "a+", "1", "true"});
  expect_same({"find", "aaab", "aab", "1", "true"});
  expect_same({"find", "aaab", "", "10", "true"});
  for (const char* limit : {"0", "1", "2", "-1"}) {
    expect_same({"gsub", "hello world", "o", "0", limit});
    expect_same({"gsub_function", "hello world", "(o)", "nil", limit});
  }
  expect_same({"gsub", "hello world", "", "-"});
  expect_same({"gsub", "hello", "^", ">"});
  expect_same({"gsub", "hello", "^h", ">"});
  expect_same({"gsub", "hello", "()l", "%1"});
  expect_same({"gsub", "hello", "l", "%%"});
  expect_same({"gsub", "hello", "l", "%"});
  expect_same({"gsub", "hello", "l", "%x"});
  expect_same({"gsub", "hello", "l", "%2"});
  expect_same({"gsub", "hello", "(l)", "%2"});
  expect_same({"gsub", "hello", "(l)(l)", "%2%1"});
  expect_same({"gsub", "hello", "l", "12"});
  expect_same({"gsub_table", "a b c 1", "%w"});
  expect_same({"gsub_table", "a b", "()"});
  expect_same({"gsub", "abc", "%w", "true"});  // a boolean replacement is refused
}

// Patterns and subjects built from the pieces that matter, by a generator that starts from the
// same state on every run: every function's result or error must be Lua's own.
TEST_F(PatternTest, GeneratedPatternsAnswerAsLuaDoes) {
  const std::vector<std::string> items = {
      "a",     "b", "c", ".", "%a", "%d", "%s", "%w",   "%A",   "[ab]", "[^a]", "[a-c]",
      "[%d_]", "*", "+", "-", "?",  "(",  ")",  "()",   "%1",   "%2",   "%b()", "%f[%w]",
      "^",     "$", "%", "[", "]",  "%%", " ",  "(a*)", "(.-)", "x"};
  const std::string letters = "aab(c)1 _x%";
  std::mt19937 random(20261122);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(random() % n); };
  for (int i = 0; i < 20000; ++i) {
    std::string pattern, subject;
    for (std::size_t k = pick(7); k > 0; --k) pattern += items[pick(items.size())];
    for (std::size_t k = pick(14); k > 0; --k) subject += letters[pick(letters.size())];
    const char* fns[] = {"find", "match", "gmatch", "gsub_function", "gsub"};
    const std::string fn = fns[pick(5)];
    Call call{fn, subject, pattern};
    if (fn == "gsub")
      call.a = "<%0%1>";
    else if (pick(3) == 0)
      call.a = std::to_string(static_cast<int>(pick(20)) - 10);
    expect_same(call);
    if (HasFailure()) break;  // one generated failure says enough
  }
}

// --- The budget ---------------------------------------------------------------------------------

struct Budget {
  std::int64_t left = 0;
  std::int64_t charged = 0;
  bool ran_out = false;
};

Budget* budget_of(lua_State* L) { return *static_cast<Budget**>(lua_getextraspace(L)); }

constexpr PatternMeter kTestMeter = {
    [](lua_State* L) { return budget_of(L)->left; },
    [](lua_State* L, std::int64_t steps) {
      Budget& b = *budget_of(L);
      b.charged += steps;
      if (steps > b.left) {
        b.ran_out = true;
        luaL_error(L, "budget exhausted");
      }
      b.left -= steps;
    },
};

class MeteredPatternTest : public ::testing::Test {
 protected:
  MeteredPatternTest() : L_(luaL_newstate()) {
    luaL_openlibs(L_);
    *static_cast<Budget**>(lua_getextraspace(L_)) = &budget_;
    lua_getglobal(L_, "string");
    install_metered_patterns(L_, -1, &kTestMeter);
    lua_pop(L_, 1);
  }
  ~MeteredPatternTest() override { lua_close(L_); }

  // Runs `code` with `steps`; answers the error, or "" when it ran to the end.
  std::string run(const std::string& code, std::int64_t steps) {
    budget_ = {steps, 0, false};
    if (luaL_dostring(L_, code.c_str()) == LUA_OK) return "";
    std::string message = lua_tostring(L_, -1);
    lua_pop(L_, 1);
    return message;
  }

  lua_State* L_;
  Budget budget_;
};

TEST_F(MeteredPatternTest, ABacktrackingPatternStopsWhenItsStepsRunOut) {
  // Cubic in the text: billions of steps unmetered (minutes of one thread).
  const std::string code = "local s = string.rep('a', 100000) return s:find('.-.-.-b')";
  EXPECT_NE(run(code, 1'000'000).find("budget exhausted"), std::string::npos);
  EXPECT_TRUE(budget_.ran_out);
  for (const char* other :
       {"return string.rep('a', 100000):match('(.-)(.-)b')",
        "for _ in string.rep('a', 100000):gmatch('.-.-b') do end",
        "return (string.rep('a', 100000):gsub('a-a-a-b', ''))",
        "return string.rep('(', 100000):find('%b()')",
        "return string.rep('ab', 100000):find(string.rep('ab', 50000) .. 'c', 1, true)",
        "return string.rep('a', 100000):find('[' .. string.rep('b', 100000) .. ']')"}) {
    SCOPED_TRACE(other);
    EXPECT_NE(run(other, 1'000'000).find("budget exhausted"), std::string::npos);
  }
}

TEST_F(MeteredPatternTest, ChargesStepsInProportionToTheWorkDone) {
  ASSERT_EQ(run("assert(('user@acme.io'):match('@(.+)$') == 'acme.io')", 1'000'000), "");
  const std::int64_t short_text = budget_.charged;
  EXPECT_GT(short_text, 0);
  EXPECT_LT(short_text, 200);
  ASSERT_EQ(run("assert(string.rep('x', 10000):find('%d') == nil)", 1'000'000), "");
  EXPECT_GE(budget_.charged, 10000);  // a failed attempt at every position
  EXPECT_LT(budget_.charged, 30000);
  ASSERT_EQ(run("assert(string.rep('x', 16000):find('y', 1, true) == nil)", 1'000'000), "");
  EXPECT_GE(budget_.charged, 1000);  // memchr: a step per 16 bytes
  EXPECT_LT(budget_.charged, 1100);
  // Budget read again after each replacement function: its own work is not charged twice.
  ASSERT_EQ(run("assert(select(2, ('abc'):gsub('%w', function(c) return c end)) == 3)", 100), "");
  EXPECT_LT(budget_.charged, 20);
}

TEST_F(MeteredPatternTest, AGmatchIteratorDrawsOnTheBudgetOfEachCall) {
  ASSERT_EQ(run("local n = 0 for w in ('a b c d'):gmatch('%a') do n = n + 1 end assert(n == 4)",
                1'000'000),
            "");
  EXPECT_GT(budget_.charged, 4);
  EXPECT_NE(
      run("for w in string.rep('a ', 50000):gmatch('%a') do end", 1000).find("budget exhausted"),
      std::string::npos);
}

}  // namespace
}  // namespace leadscore::lua
