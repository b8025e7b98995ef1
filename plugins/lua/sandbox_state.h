// Internal to the sandbox (lua_sandbox.h): the state that every part of a LuaSandbox works on,
// and the few helpers they all use to reach it and the strings it keeps.
//
// Threading: a State belongs to its LuaSandbox and is used by one thread at a time; nothing in
// it is shared with another state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <lua.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "plugins/lua/lua_sandbox.h"
#include "plugins/lua/native_scorecard.h"
#include "plugins/lua/sandbox_limits.h"
#include "plugins/support/score_answer.h"

namespace leadscore::lua {

// Strings the C side pushes on every call, created once and kept alive in the registry so that
// pushing them never allocates (and so can never fail outside a protected call).
enum Key : int {
  kScore,
  kRecommendation,
  kReason,
  kContributions,
  kRule,
  kPoints,
  kName,
  kVersion,
  kMatched,
  kSeen,
  kParams,
  kOffer,
  kExplain,
  kTrace,
  kIntent,
  kSource,
  kStage,
  kActivityCount,
  kBusinessDomain,
  kKeyCount
};

struct LuaSandbox::State {
  // Allocator: live bytes of the state, refused past the limit (sandbox_limits.h).
  std::size_t memory_limit = 0;
  std::size_t memory_used = 0;
  std::size_t memory_peak = 0;

  // Instruction budget of the running call (sandbox_limits.h).
  std::int64_t instruction_limit = 0;
  int hook_period = kHookPeriod;  // as configured
  int period_now = kHookPeriod;   // this call's: 1 once instructions are found slow
  std::int64_t remaining = 0;
  bool exhausted = false;

  // Wall-clock backstop of the running call, for work the budget cannot see (comparing two
  // long strings is one instruction): CLOCK_MONOTONIC_COARSE nanoseconds.
  std::int64_t time_limit_ns = 0;
  std::int64_t deadline_ns = 0;
  std::int64_t last_check_ns = 0;
  bool timed_out = false;
  char exhausted_at[96] = {};

  lua_State* L = nullptr;
  std::string script_file;

  // Registry references: the strings of Key and the stage names (register_keys), the protected
  // tables and the read-only globals (read_only_table.h, safe_library.h), the lead table and
  // ctx (score_call.h), the script's module and its score function (lua_sandbox.cpp).
  std::array<int, kKeyCount> keys{};
  std::array<int, 5> stage_names{};
  int globals_proxy = LUA_NOREF;
  int protected_set = LUA_NOREF;
  int lead_data = LUA_NOREF;
  int lead_proxy = LUA_NOREF;
  int ctx_data = LUA_NOREF;
  int ctx_proxy = LUA_NOREF;
  int module = LUA_NOREF;
  int score_function = LUA_NOREF;
  std::unique_ptr<NativeScorecard> scorecard;  // serves score() and evaluate() when set

  // ctx.offer as last built: rebuilt only when the offer changes.
  bool offer_known = true;  // ctx.offer is nil (!offer_set) or `offer`
  bool offer_set = false;
  nlohmann::json offer;

  // What the lead table and ctx hold since the last call, so that a call sets only what
  // changed (scripts cannot change them: they are read-only). Invalid after a failed call.
  bool lead_set = false;
  plugin::Features lead;
  // The profile fields that may be set in the lead table (the names of the last lead's, and of
  // any whose clearing a failed call may have left undone), and what the next call clears: the
  // ones its lead has not. Kept here so that filling the table allocates nothing.
  std::vector<std::string> profile_names;
  std::vector<std::string> profile_to_clear;
  bool profile_changed = true;
  int ctx_explain = -1;  // -1: unknown
  bool ctx_trace = true;

  ~State() {
    if (L != nullptr) lua_close(L);
  }
};

using State = LuaSandbox::State;

// Makes `s` the state that L's callbacks (the count hook, the library wrappers) find.
inline void bind_state(lua_State* L, State& s) { *static_cast<State**>(lua_getextraspace(L)) = &s; }

inline State& state_of(lua_State* L) { return **static_cast<State**>(lua_getextraspace(L)); }

// Creates the strings of Key and the stage names in the registry (lua_sandbox.cpp). Runs
// protected.
void register_keys(lua_State* L, State& s);

inline void push_key(lua_State* L, const State& s, Key key) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, s.keys[key]);
}

// Pushes table[key] (raw) and returns its type.
inline int raw_field(lua_State* L, const State& s, int table, Key key) {
  push_key(L, s, key);
  return lua_rawget(L, table);
}

// The string at `index` (which must be a string), copied.
inline std::string read_string(lua_State* L, int index) {
  std::size_t size = 0;
  const char* text = lua_tolstring(L, index, &size);
  return std::string(text, size);
}

}  // namespace leadscore::lua
