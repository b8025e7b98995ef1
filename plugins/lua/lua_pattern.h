// Lua 5.4's pattern functions (string.find, match, gmatch, gsub), re-implemented so that their
// work counts against the sandbox's instruction budget.
//
// The originals run in C and cannot be interrupted: a backtracking pattern on a long text
// (`("a"):rep(1e5):find(".-.-.-b")`) holds its thread for minutes. These have the semantics of
// the Lua 5.4 manual (§6.4.1), the same results and the same error messages, and count steps:
// one per attempt to match the pattern at a position, one per pattern item tried at a subject
// character, and one per 16 bytes compared by a plain find or a back-reference. Before it runs,
// a function asks the meter how many steps are left; when it would exceed them it stops and the
// meter raises the budget error.
//
// Threading: the functions are per lua_State, like everything in Lua.
#pragma once

#include <cstdint>

struct lua_State;

namespace leadscore::lua {

// The budget that pattern functions draw on.
struct PatternMeter {
  // Steps the running call may still take (> 0), read before each match.
  std::int64_t (*left)(lua_State* L);
  // Charges the steps taken. Called with more than left() when the budget ran out: it must then
  // raise a Lua error (it may longjmp).
  void (*charge)(lua_State* L, std::int64_t steps);
};

// Replaces find, match, gmatch and gsub in the string library table at `string_table` (a stack
// index) with the metered ones. `meter` must outlive the state; nullptr means unmetered.
void install_metered_patterns(lua_State* L, int string_table, const PatternMeter* meter);

}  // namespace leadscore::lua
