// The standard library as a rule script sees it: base, table, string, math and utf8, and of
// them nothing that reaches the host, loads code, reads a clock or draws random numbers.
//
// Calling a blocked function fails with "<name> is not available in rules": the globals load,
// loadfile, dofile, loadstring, require, collectgarbage, print and warn; string.dump,
// math.random and math.randomseed; and every field of os, io, debug, package and coroutine.
// setmetatable refuses `__gc` metamethods and, like rawset, the protected tables
// (read_only_table.h). Library functions that loop in C charge their work to the instruction
// budget (sandbox_limits.h): table.move, sort, concat, insert and remove their elements,
// utf8.len, utf8.offset and string.unpack the bytes they scan; string.rep refuses a result
// larger than the memory left; find, match, gmatch and gsub are the metered ones
// (lua_pattern.h). The libraries and the globals are read-only.
//
// Threading: both functions set up one state, on the thread that creates it; what they install
// runs on the thread that calls the script.
#pragma once

#include "plugins/lua/lua_sandbox.h"

struct lua_State;

namespace leadscore::lua {

// Opens base, table, string, math and utf8 in L and leaves the stack empty. Runs protected.
void open_rule_libraries(lua_State* L);

// Blocks, wraps and makes read-only what open_rule_libraries opened, in the global table at
// stack index `globals`, and keeps the read-only view of the globals (the _ENV of every source)
// in s.globals_proxy. Needs s.protected_set (create_protected_set). Runs protected.
void make_libraries_safe(lua_State* L, LuaSandbox::State& s, int globals);

}  // namespace leadscore::lua
