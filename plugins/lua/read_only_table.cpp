#include "plugins/lua/read_only_table.h"

#include <lua.hpp>

#include "plugins/lua/sandbox_state.h"

namespace leadscore::lua {
namespace {

int proxy_len(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(lua_rawlen(L, lua_upvalueindex(1))));
  return 1;
}

int proxy_next(lua_State* L) {
  lua_settop(L, 2);
  if (lua_next(L, lua_upvalueindex(1)) != 0) return 2;
  lua_pushnil(L);
  return 1;
}

// __pairs of a read-only table: iterates the real table without handing it out.
int proxy_pairs(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushcclosure(L, proxy_next, 1);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

}  // namespace

int refuse_write(lua_State* L) {
  const char* name = lua_tostring(L, lua_upvalueindex(1));
  const bool globals = lua_toboolean(L, lua_upvalueindex(2));
  const char* key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : nullptr;
  if (globals)
    return key != nullptr
               ? luaL_error(
                     L, "cannot set global '%s': globals are read-only in rules (use a local)", key)
               : luaL_error(L, "cannot set a global: globals are read-only in rules");
  return key != nullptr ? luaL_error(L, "cannot set %s.%s: %s is read-only", name, key, name)
                        : luaL_error(L, "cannot set a field of %s: %s is read-only", name, name);
}

void create_protected_set(lua_State* L, State& s) {
  lua_createtable(L, 0, 0);  // the protected tables, as weak keys
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  s.protected_set = luaL_ref(L, LUA_REGISTRYINDEX);
}

void push_read_only_proxy(lua_State* L, int real, const char* name, bool globals) {
  lua_createtable(L, 0, 0);  // the proxy
  lua_createtable(L, 0, 5);  // its metatable
  lua_pushvalue(L, real);
  lua_setfield(L, -2, "__index");
  lua_pushstring(L, name);
  lua_pushboolean(L, globals);
  lua_pushcclosure(L, refuse_write, 2);
  lua_setfield(L, -2, "__newindex");
  lua_pushvalue(L, real);
  lua_pushcclosure(L, proxy_len, 1);
  lua_setfield(L, -2, "__len");
  lua_pushvalue(L, real);
  lua_pushcclosure(L, proxy_pairs, 1);
  lua_setfield(L, -2, "__pairs");
  lua_pushliteral(L, "read-only");
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
}

void make_read_only(lua_State* L, const State& s, const char* name, bool globals) {
  const int real = lua_gettop(L);
  push_read_only_proxy(L, real, name, globals);
  lua_rawgeti(L, LUA_REGISTRYINDEX, s.protected_set);
  lua_pushvalue(L, -2);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  lua_replace(L, real);
}

}  // namespace leadscore::lua
