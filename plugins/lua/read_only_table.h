// Read-only tables in the sandbox: an empty proxy table whose metatable sends reads, `#` and
// `pairs` to the real table it stands for and fails every write with a message naming the table
// ("cannot set lead.source: lead is read-only"; for the globals, "globals are read-only in rules
// (use a local)"). The globals, the libraries, the helper libraries, `lead`, `ctx` and every
// table of ctx.params and ctx.offer are such proxies, and each is in the state's protected set,
// which `rawset` and `setmetatable` refuse to change (safe_library.h).
//
// Threading: everything here acts on one sandbox's state, on the thread that uses it.
#pragma once

#include "plugins/lua/lua_sandbox.h"

struct lua_State;

namespace leadscore::lua {

// Creates the state's set of protected tables (weak keys) in s.protected_set. Runs protected.
void create_protected_set(lua_State* L, LuaSandbox::State& s);

// Pushes a new empty table whose metatable makes it a read-only proxy of the table at `real`
// (named `name` in messages): reads, # and pairs go to `real`, writes fail. Not protected.
void push_read_only_proxy(lua_State* L, int real, const char* name, bool globals);

// Replaces the table on top of the stack with a read-only proxy of it, named `name` in
// messages, and adds the proxy to the protected set. Runs protected.
void make_read_only(lua_State* L, const LuaSandbox::State& s, const char* name,
                    bool globals = false);

// __newindex of a read-only table: fails with its name. Upvalues: the name, and whether it is
// the globals.
int refuse_write(lua_State* L);

}  // namespace leadscore::lua
