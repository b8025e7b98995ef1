// Lua 5.4's own pattern functions against leadscore's metered ones (plugins/lua/lua_pattern.h),
// on what rules do with lead fields: the cost of counting steps.
//   cmake --build build --target lua_pattern_bench && ./build/bench/lua_pattern_bench
#include <benchmark/benchmark.h>

#include <cstdint>
#include <limits>
#include <lua.hpp>

#include "plugins/lua/lua_pattern.h"

namespace {

using leadscore::lua::PatternMeter;

std::int64_t g_charged = 0;

constexpr PatternMeter kMeter = {
    [](lua_State*) { return std::numeric_limits<std::int64_t>::max() / 2; },
    [](lua_State*, std::int64_t steps) { g_charged += steps; },
};

// A Lua function running `body` n times over lead-like texts.
constexpr const char* kLoop = R"lua(
local email, bio = "john.doe@techcorp.example.com", "15 years building enterprise SaaS platforms, CTO"
local domain_pattern, word_pattern = "@([%w.-]+)$", "%a+"
return {
  email_domain = function(n) for _ = 1, n do local d = email:match(domain_pattern) end end,
  plain_find = function(n) for _ = 1, n do local i = bio:find("SaaS", 1, true) end end,
  pattern_find = function(n) for _ = 1, n do local i = bio:find("[Ss]aa[Ss]") end end,
  count_words = function(n) for _ = 1, n do local _, c = bio:gsub(word_pattern, "") end end,
  each_word = function(n) for _ = 1, n do for w in bio:gmatch(word_pattern) do end end end,
}
)lua";

void run(benchmark::State& state, const char* function, bool metered) {
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  if (metered) {
    lua_getglobal(L, "string");
    leadscore::lua::install_metered_patterns(L, -1, &kMeter);
    lua_pop(L, 1);
  }
  luaL_dostring(L, kLoop);
  lua_getfield(L, -1, function);
  constexpr int kCalls = 1000;
  for (auto _ : state) {
    lua_pushvalue(L, -1);
    lua_pushinteger(L, kCalls);
    lua_call(L, 1, 0);
  }
  state.SetItemsProcessed(state.iterations() * kCalls);
  lua_close(L);
}

void BM_PatternsLua(benchmark::State& state, const char* function) { run(state, function, false); }
void BM_PatternsMetered(benchmark::State& state, const char* function) {
  run(state, function, true);
}

}  // namespace

BENCHMARK_CAPTURE(BM_PatternsLua, email_domain, "email_domain");
BENCHMARK_CAPTURE(BM_PatternsMetered, email_domain, "email_domain");
BENCHMARK_CAPTURE(BM_PatternsLua, plain_find, "plain_find");
BENCHMARK_CAPTURE(BM_PatternsMetered, plain_find, "plain_find");
BENCHMARK_CAPTURE(BM_PatternsLua, pattern_find, "pattern_find");
BENCHMARK_CAPTURE(BM_PatternsMetered, pattern_find, "pattern_find");
BENCHMARK_CAPTURE(BM_PatternsLua, count_words, "count_words");
BENCHMARK_CAPTURE(BM_PatternsMetered, count_words, "count_words");
BENCHMARK_CAPTURE(BM_PatternsLua, each_word, "each_word");
BENCHMARK_CAPTURE(BM_PatternsMetered, each_word, "each_word");

BENCHMARK_MAIN();
