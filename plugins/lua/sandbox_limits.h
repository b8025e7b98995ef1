// The limits a sandbox holds a script to (SandboxLimits, lua_sandbox.h): the memory cap, kept by
// the state's allocator; the instruction budget, counted by a hook every kHookPeriod
// instructions and charged for the work library functions do in C (and for every byte
// allocated); and the wall-clock time limit, checked by the same hook. A call that passes one
// fails, and the message says which (for the budget and the clock, at which line).
//
// Once the budget is spent, every further Lua instruction fails, so a `pcall` in the script can
// catch the error but never run past it: the call unwinds to its end.
//
// Threading: everything here acts on one sandbox's state (sandbox_state.h), on the thread that
// uses it; the hook and the allocator find that state through the lua_State.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "plugins/lua/lua_pattern.h"
#include "plugins/lua/lua_sandbox.h"

struct lua_State;

namespace leadscore::lua {

// How often the count hook runs. Each run costs a C call; 1000 keeps the hook at 10–20% of a
// small rule's time and bounds the overshoot of the budget to 1000 instructions.
constexpr int kHookPeriod = 1000;
// Work in C that grows with the bytes it handles (copying a string, scanning UTF-8) costs an
// instruction per this many bytes: about what one instruction takes.
constexpr std::size_t kBytesPerInstruction = 64;

// Sets the state's limits: at least one instruction per call, and at least one ms.
void apply_limits(LuaSandbox::State& s, const SandboxLimits& limits);

// The state's lua_Alloc (`ud` is the State): refuses to grow the live bytes past the memory
// limit (shrinking never fails), tracks their high-water mark, and charges the running call an
// instruction per kBytesPerInstruction bytes allocated.
void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize);

// Charges work done inside one C function (copying, sorting, scanning) to the running call;
// raises the budget error when it is more than what is left.
void charge(lua_State* L, double instructions);

// The budget that the pattern functions (lua_pattern.h) draw on: this state's.
const PatternMeter* pattern_meter();

// Arms the budget and the clock for one call, and disarms them after it.
void arm_budget(LuaSandbox::State& s);
void disarm_budget(LuaSandbox::State& s);

// lua_pcall under the budget. Returns the status.
int call_with_budget(LuaSandbox::State& s, int nargs, int nresults);

// The message of a failed call: the limit it passed, or its error value (which is on top of the
// stack and is popped).
std::string failure_message(LuaSandbox::State& s, int status);

}  // namespace leadscore::lua
