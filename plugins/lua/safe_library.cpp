#include "plugins/lua/safe_library.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <lua.hpp>

#include "plugins/lua/lua_pattern.h"
#include "plugins/lua/read_only_table.h"
#include "plugins/lua/sandbox_limits.h"
#include "plugins/lua/sandbox_state.h"

namespace leadscore::lua {
namespace {

// The libraries a rule may use, made read-only; and the modules that exist only to say that
// they are not available.
constexpr const char* kReadOnlyLibraries[] = {"string", "table", "math", "utf8"};
constexpr const char* kBlockedModules[] = {"os", "io", "debug", "package", "coroutine"};
constexpr const char* kBlockedGlobals[] = {"dofile",  "loadfile",       "load",  "loadstring",
                                           "require", "collectgarbage", "print", "warn"};

int blocked_function(lua_State* L) {
  return luaL_error(L, "%s is not available in rules", lua_tostring(L, lua_upvalueindex(1)));
}

void push_blocked(lua_State* L, const char* name) {
  lua_pushstring(L, name);
  lua_pushcclosure(L, blocked_function, 1);
}

// __index of a blocked module (os, io, ...): every field is a function that fails with its name.
int blocked_module_index(lua_State* L) {
  const char* field = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
  lua_pushfstring(L, "%s.%s", lua_tostring(L, lua_upvalueindex(1)), field);
  lua_pushcclosure(L, blocked_function, 1);
  return 1;
}

bool is_protected(lua_State* L, int index) {
  if (lua_type(L, index) != LUA_TTABLE) return false;
  lua_pushvalue(L, index);
  const bool result = lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL;
  lua_pop(L, 1);
  return result;
}

// Runs upvalue 1, the original library function, in this very call (not through lua_call),
// so that its errors still name the script's line that called it.
int call_original(lua_State* L) {
  const lua_CFunction original = lua_tocfunction(L, lua_upvalueindex(1));
  return original(L);
}

// Upvalues: the original setmetatable, the set of protected tables.
int safe_setmetatable(lua_State* L) {
  if (is_protected(L, 1))
    return luaL_error(L,
                      "setmetatable cannot change a protected table (globals, libraries, "
                      "lead, ctx)");
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    const bool has_gc = lua_rawget(L, 2) != LUA_TNIL;
    lua_pop(L, 1);
    if (has_gc) return luaL_error(L, "__gc metamethods are not available in rules");
  }
  return call_original(L);
}

// Upvalues: the original rawset, the set of protected tables.
int safe_rawset(lua_State* L) {
  if (is_protected(L, 1))
    return luaL_error(L, "rawset cannot change a protected table (globals, libraries, lead, ctx)");
  return call_original(L);
}

// string.rep: refuses results past the memory left before copying anything, and returns ""
// itself for an empty piece (the original would loop n times doing nothing).
int safe_string_rep(lua_State* L) {
  std::size_t size = 0, separator = 0;
  luaL_checklstring(L, 1, &size);
  const lua_Integer n = luaL_checkinteger(L, 2);
  luaL_optlstring(L, 3, "", &separator);
  if (n <= 0 || size + separator == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  const double total = static_cast<double>(n) * static_cast<double>(size) +
                       static_cast<double>(n - 1) * static_cast<double>(separator);
  const State& s = state_of(L);
  if (total >= static_cast<double>(s.memory_limit - std::min(s.memory_limit, s.memory_used)))
    return luaL_error(L, "string.rep: a string of %f bytes would exceed the memory limit of %d MB",
                      total, static_cast<int>(s.memory_limit >> 20));
  return call_original(L);
}

// table.move, table.sort and table.concat loop in C: their element count is charged.
int safe_table_move(lua_State* L) {
  const lua_Integer from = luaL_checkinteger(L, 2);
  const lua_Integer to = luaL_checkinteger(L, 3);
  if (to >= from) charge(L, static_cast<double>(to) - static_cast<double>(from) + 1);
  return call_original(L);
}

int safe_table_sort(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const double n = static_cast<double>(lua_rawlen(L, 1));
  if (n > 1) charge(L, n * std::log2(n));
  return call_original(L);
}

int safe_table_concat(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const lua_Integer first = luaL_optinteger(L, 3, 1);
  const lua_Integer last =
      luaL_opt(L, luaL_checkinteger, 4, static_cast<lua_Integer>(lua_rawlen(L, 1)));
  if (last >= first) charge(L, static_cast<double>(last) - static_cast<double>(first) + 1);
  return call_original(L);
}

// table.insert / table.remove at a position shift the elements after it.
int charge_shifted_elements(lua_State* L, int position_arg) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const lua_Integer size = luaL_len(L, 1);
  const lua_Integer position = luaL_optinteger(L, position_arg, size);
  if (size > position) charge(L, static_cast<double>(size) - static_cast<double>(position));
  return call_original(L);
}

int safe_table_insert(lua_State* L) {
  return lua_gettop(L) >= 3 ? charge_shifted_elements(L, 2) : call_original(L);
}

int safe_table_remove(lua_State* L) { return charge_shifted_elements(L, 2); }

// Functions that scan a string argument without allocating: charged by its length.
template <int kStringArg>
int charge_scanned_string(lua_State* L) {
  std::size_t size = 0;
  luaL_checklstring(L, kStringArg, &size);
  charge(L, static_cast<double>(size / kBytesPerInstruction));
  return call_original(L);
}

void wrap_field(lua_State* L, int table, const char* field, lua_CFunction wrapper,
                int protected_set = LUA_NOREF) {
  lua_getfield(L, table, field);
  if (protected_set != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, protected_set);
    lua_pushcclosure(L, wrapper, 2);
  } else {
    lua_pushcclosure(L, wrapper, 1);
  }
  lua_setfield(L, table, field);
}

}  // namespace

void open_rule_libraries(lua_State* L) {
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
  lua_settop(L, 0);
}

void make_libraries_safe(lua_State* L, State& s, int globals) {
  for (const char* name : kBlockedGlobals) {
    push_blocked(L, name);
    lua_setfield(L, globals, name);
  }
  wrap_field(L, globals, "setmetatable", safe_setmetatable, s.protected_set);
  wrap_field(L, globals, "rawset", safe_rawset, s.protected_set);

  lua_getfield(L, globals, "string");
  push_blocked(L, "string.dump");
  lua_setfield(L, -2, "dump");
  wrap_field(L, lua_gettop(L), "rep", safe_string_rep);
  wrap_field(L, lua_gettop(L), "unpack", charge_scanned_string<2>);
  install_metered_patterns(L, lua_gettop(L), pattern_meter());
  lua_pop(L, 1);
  lua_getfield(L, globals, "utf8");
  wrap_field(L, lua_gettop(L), "len", charge_scanned_string<1>);
  wrap_field(L, lua_gettop(L), "offset", charge_scanned_string<1>);
  lua_pop(L, 1);
  lua_getfield(L, globals, "table");
  wrap_field(L, lua_gettop(L), "move", safe_table_move);
  wrap_field(L, lua_gettop(L), "sort", safe_table_sort);
  wrap_field(L, lua_gettop(L), "concat", safe_table_concat);
  wrap_field(L, lua_gettop(L), "insert", safe_table_insert);
  wrap_field(L, lua_gettop(L), "remove", safe_table_remove);
  lua_pop(L, 1);
  lua_getfield(L, globals, "math");
  push_blocked(L, "math.random");
  lua_setfield(L, -2, "random");
  push_blocked(L, "math.randomseed");
  lua_setfield(L, -2, "randomseed");
  lua_pop(L, 1);

  for (const char* name : kBlockedModules) {
    lua_createtable(L, 0, 0);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, name);
    lua_pushcclosure(L, blocked_module_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, name);
    lua_pushboolean(L, 0);
    lua_pushcclosure(L, refuse_write, 2);
    lua_setfield(L, -2, "__newindex");
    lua_pushliteral(L, "read-only");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_setfield(L, globals, name);
  }

  // Strings index the real string table through their metatable: hide that metatable.
  lua_pushliteral(L, "");
  if (lua_getmetatable(L, -1)) {
    lua_pushliteral(L, "read-only");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);

  for (const char* name : kReadOnlyLibraries) {
    lua_getfield(L, globals, name);
    make_read_only(L, s, name);
    lua_setfield(L, globals, name);
  }
  lua_pushvalue(L, globals);
  make_read_only(L, s, "_G", true);
  lua_pushvalue(L, -1);
  lua_setfield(L, globals, "_G");
  s.globals_proxy = luaL_ref(L, LUA_REGISTRYINDEX);
}

}  // namespace leadscore::lua
