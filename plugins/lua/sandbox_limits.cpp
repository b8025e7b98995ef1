#include "plugins/lua/sandbox_limits.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <lua.hpp>

#include "plugins/lua/sandbox_state.h"

namespace leadscore::lua {
namespace {

// An interval between two checks of the clock longer than this means single instructions are
// slow (long strings compared): the clock is then checked before every instruction.
constexpr std::int64_t kSlowIntervalNs = 2'000'000;

void count_hook(lua_State* L, lua_Debug* ar);

// Marks the budget spent and fails. From then on the hook runs before every instruction and
// fails again, so a `pcall` in the script can catch the error but never run past it: each
// protected level unwinds at its next instruction, until the call itself has failed.
[[noreturn]] void exhaust(lua_State* L, State& s, lua_Debug* ar) {
  if (!s.exhausted) {
    s.exhausted = true;
    lua_Debug caller;
    lua_Debug* where = ar;
    if (where == nullptr && lua_getstack(L, 1, &caller)) where = &caller;
    if (where != nullptr && lua_getinfo(L, "Sl", where) && where->currentline > 0)
      std::snprintf(s.exhausted_at, sizeof s.exhausted_at, " at %s:%d", where->short_src,
                    where->currentline);
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
  }
  luaL_error(L, "instruction limit exceeded");
  std::abort();  // luaL_error does not return
}

std::int64_t coarse_now_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

void count_hook(lua_State* L, lua_Debug* ar) {
  State& s = state_of(L);
  s.remaining -= s.period_now;
  if (s.remaining > 0 && !s.exhausted) {
    const std::int64_t now = coarse_now_ns();
    if (now < s.deadline_ns) {
      if (now - s.last_check_ns > kSlowIntervalNs && s.period_now != 1) {
        s.period_now = 1;
        lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
      }
      s.last_check_ns = now;
      return;
    }
    s.timed_out = true;
  }
  exhaust(L, s, ar);
}

// Pattern matching (string.find, match, gmatch, gsub) counts its steps as instructions.
constexpr PatternMeter kPatternMeter = {
    [](lua_State* L) { return state_of(L).remaining; },
    [](lua_State* L, std::int64_t steps) { charge(L, static_cast<double>(steps)); },
};

}  // namespace

void apply_limits(State& s, const SandboxLimits& limits) {
  s.memory_limit = limits.memory_limit_bytes;
  s.instruction_limit = std::max<std::int64_t>(1, limits.instruction_limit);
  s.hook_period = static_cast<int>(std::min<std::int64_t>(kHookPeriod, s.instruction_limit));
  s.time_limit_ns = std::max<std::int64_t>(1, limits.time_limit_ms) * 1'000'000;
}

void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  auto& s = *static_cast<State*>(ud);
  const std::size_t old = ptr != nullptr ? osize : 0;  // without ptr, osize is a type tag
  if (nsize == 0) {
    std::free(ptr);
    s.memory_used -= old;
    return nullptr;
  }
  // Lua relies on shrinking never failing: only growth is refused.
  if (nsize > old && nsize - old > s.memory_limit - std::min(s.memory_limit, s.memory_used))
    return nullptr;
  void* block = std::realloc(ptr, nsize);
  if (block == nullptr) return nsize <= old ? ptr : nullptr;
  s.memory_used = s.memory_used - old + nsize;
  // Bytes allocated are bytes written: charged to the running call (the count hook fails it).
  if (nsize > old) s.remaining -= static_cast<std::int64_t>((nsize - old) / kBytesPerInstruction);
  s.memory_peak = std::max(s.memory_peak, s.memory_used);
  return block;
}

void charge(lua_State* L, double instructions) {
  State& s = state_of(L);
  if (instructions >= static_cast<double>(s.remaining)) exhaust(L, s, nullptr);
  s.remaining -= static_cast<std::int64_t>(instructions);
}

const PatternMeter* pattern_meter() { return &kPatternMeter; }

void arm_budget(State& s) {
  s.remaining = s.instruction_limit;
  s.exhausted = false;
  s.exhausted_at[0] = '\0';
  s.timed_out = false;
  s.last_check_ns = coarse_now_ns();
  s.deadline_ns = s.last_check_ns + s.time_limit_ns;
  s.period_now = s.hook_period;
  lua_sethook(s.L, count_hook, LUA_MASKCOUNT, s.hook_period);
}

void disarm_budget(State& s) { lua_sethook(s.L, nullptr, 0, 0); }

int call_with_budget(State& s, int nargs, int nresults) {
  arm_budget(s);
  const int status = lua_pcall(s.L, nargs, nresults, 0);
  disarm_budget(s);
  return status;
}

std::string failure_message(State& s, int status) {
  lua_State* L = s.L;
  std::string message;
  if (s.timed_out) {
    message = "time limit of " + std::to_string(s.time_limit_ns / 1'000'000) + " ms exceeded" +
              s.exhausted_at + " (work on very long strings or tables in a loop?)";
  } else if (s.exhausted) {
    message = "instruction limit of " + std::to_string(s.instruction_limit) + " exceeded" +
              s.exhausted_at + " (a loop or recursion that does not end?)";
  } else if (status == LUA_ERRMEM) {
    message = "memory limit of " + std::to_string(s.memory_limit >> 20) + " MB exceeded";
  } else if (lua_type(L, -1) == LUA_TSTRING) {
    std::size_t size = 0;
    const char* text = lua_tolstring(L, -1, &size);
    message.assign(text, size);
  } else {
    message =
        std::string("error raised with a ") + luaL_typename(L, -1) + " value instead of a message";
  }
  lua_pop(L, 1);
  return message;
}

}  // namespace leadscore::lua
