#include "plugins/lua/score_call.h"

#include <algorithm>
#include <cstddef>
#include <lua.hpp>

#include "plugins/lua/read_only_table.h"
#include "plugins/lua/sandbox_limits.h"
#include "plugins/lua/sandbox_state.h"

namespace leadscore::lua {
namespace {

using plugin::Features;

constexpr int kMaxJsonDepth = 32;

// Pushes a JSON value as Lua (objects and arrays as read-only tables; null as nil).
void push_json(lua_State* L, const State& s, const nlohmann::json& value, const char* name,
               int depth) {
  if (depth > kMaxJsonDepth)
    luaL_error(L, "%s is nested more than %d levels deep", name, kMaxJsonDepth);
  luaL_checkstack(L, 4, "json");
  switch (value.type()) {
    case nlohmann::json::value_t::object:
      lua_createtable(L, 0, static_cast<int>(std::min<std::size_t>(value.size(), 1024)));
      for (auto it = value.begin(); it != value.end(); ++it) {
        const std::string& key = it.key();
        lua_pushlstring(L, key.data(), key.size());
        push_json(L, s, it.value(), name, depth + 1);
        lua_rawset(L, -3);
      }
      make_read_only(L, s, name);
      break;
    case nlohmann::json::value_t::array: {
      lua_createtable(L, static_cast<int>(std::min<std::size_t>(value.size(), 1024)), 0);
      lua_Integer i = 0;
      for (auto it = value.begin(); it != value.end(); ++it) {
        push_json(L, s, *it, name, depth + 1);
        lua_rawseti(L, -2, ++i);
      }
      make_read_only(L, s, name);
      break;
    }
    case nlohmann::json::value_t::string: {
      const auto& text = value.get_ref<const std::string&>();
      lua_pushlstring(L, text.data(), text.size());
      break;
    }
    case nlohmann::json::value_t::boolean:
      lua_pushboolean(L, value.get<bool>());
      break;
    case nlohmann::json::value_t::number_integer:
      lua_pushinteger(L, value.get<std::int64_t>());
      break;
    case nlohmann::json::value_t::number_unsigned: {
      const auto n = value.get<std::uint64_t>();
      if (n <= static_cast<std::uint64_t>(LUA_MAXINTEGER))
        lua_pushinteger(L, static_cast<lua_Integer>(n));
      else
        lua_pushnumber(L, static_cast<lua_Number>(n));
      break;
    }
    case nlohmann::json::value_t::number_float:
      lua_pushnumber(L, value.get<double>());
      break;
    default:
      lua_pushnil(L);
      break;
  }
}

// Trace mode: `lead` records the fields read. Upvalues: the lead data, the list of fields read.
int logging_index(lua_State* L) {
  if (lua_type(L, 2) == LUA_TSTRING) {
    const auto n = static_cast<lua_Integer>(lua_rawlen(L, lua_upvalueindex(2)));
    bool seen = false;
    for (lua_Integer i = 1; i <= n && !seen; ++i) {
      lua_rawgeti(L, lua_upvalueindex(2), i);
      seen = lua_rawequal(L, -1, 2);
      lua_pop(L, 1);
    }
    if (!seen) {
      lua_pushvalue(L, 2);
      lua_rawseti(L, lua_upvalueindex(2), n + 1);
    }
  }
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  return 1;
}

// Which of the fields every lead has differ from what the lead table holds (every one when it
// holds nothing).
std::uint32_t changed_fields(const State& s, const Features& f) {
  if (!s.lead_set) return ~0u;
  const Features& o = s.lead;
  const auto bit = [](Key key, bool differs) {
    return static_cast<std::uint32_t>(differs) << (key - kSource);
  };
  return bit(kSource, o.source != f.source) | bit(kStage, o.stage != f.stage) |
         bit(kActivityCount, o.activity_count != f.activity_count) |
         bit(kBusinessDomain, o.business_domain != f.business_domain);
}

bool same_names(const std::vector<std::string>& names,
                const std::vector<plugin::ProfileField>& fields) {
  if (names.size() != fields.size()) return false;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] != fields[i].name) return false;
  return true;
}

// Notes which profile fields the next call sets and clears: the lead table's profile members
// are the lead's profile fields, whatever their names.
void plan_profile(State& s, const Features& f) {
  s.profile_to_clear.clear();
  if (s.lead_set && same_names(s.profile_names, f.profile)) {
    s.profile_changed = s.lead.profile != f.profile;
    return;
  }
  s.profile_changed = true;
  for (const auto& name : s.profile_names)
    if (f.field(name) == nullptr) s.profile_to_clear.push_back(name);
  s.profile_names.clear();
  for (const auto& field : f.profile) s.profile_names.push_back(field.name);
  // Until a call succeeds, a name being cleared may still be set in the table.
  for (const auto& name : s.profile_to_clear) s.profile_names.push_back(name);
}

bool is_changed(const CallArgs& args, Key key) { return (args.changed >> (key - kSource)) & 1u; }

void set_string(lua_State* L, const State& s, Key key, const std::string& value) {
  push_key(L, s, key);
  lua_pushlstring(L, value.data(), value.size());
  lua_rawset(L, -3);
}

void set_optional(lua_State* L, const CallArgs& args, Key key,
                  const std::optional<std::string>& value) {
  if (!is_changed(args, key)) return;
  push_key(L, *args.state, key);
  if (value)
    lua_pushlstring(L, value->data(), value->size());
  else
    lua_pushnil(L);
  lua_rawset(L, -3);
}

// Sets what changed of the lead table and ctx for a call; leaves the lead table's data on the
// stack. Runs protected, like its callers: no C++ object with a destructor lives in these
// frames, as a Lua error (memory, budget) unwinds them with longjmp.
void fill_lead_and_ctx(lua_State* L, const CallArgs& args) {
  State& s = *args.state;
  const Features& f = *args.features;

  lua_rawgeti(L, LUA_REGISTRYINDEX, s.lead_data);
  if (is_changed(args, kSource)) set_string(L, s, kSource, f.source);
  if (is_changed(args, kStage)) {
    push_key(L, s, kStage);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s.stage_names[static_cast<std::size_t>(f.stage) % 5]);
    lua_rawset(L, -3);
  }
  if (is_changed(args, kActivityCount)) {
    push_key(L, s, kActivityCount);
    lua_pushinteger(L, f.activity_count);
    lua_rawset(L, -3);
  }
  set_optional(L, args, kBusinessDomain, f.business_domain);
  if (s.profile_changed) {
    for (const auto& name : s.profile_to_clear) {
      lua_pushlstring(L, name.data(), name.size());
      lua_pushnil(L);
      lua_rawset(L, -3);
    }
    for (const auto& field : f.profile) {
      lua_pushlstring(L, field.name.data(), field.name.size());
      if (field.value)
        lua_pushlstring(L, field.value->data(), field.value->size());
      else
        lua_pushnil(L);
      lua_rawset(L, -3);
    }
  }

  lua_rawgeti(L, LUA_REGISTRYINDEX, s.ctx_data);
  if (args.clear_offer) {
    push_key(L, s, kOffer);
    lua_pushnil(L);
    lua_rawset(L, -3);
  } else if (args.rebuild_offer) {
    push_key(L, s, kOffer);
    push_json(L, s, *args.offer, "ctx.offer", 0);
    lua_rawset(L, -3);
  }
  if (s.ctx_explain != static_cast<int>(args.explain)) {
    push_key(L, s, kExplain);
    lua_pushboolean(L, args.explain);
    lua_rawset(L, -3);
    s.ctx_explain = args.explain;
  }
  if (args.trace || s.ctx_trace) {
    push_key(L, s, kTrace);
    if (args.trace)
      lua_createtable(L, 16, 0);
    else
      lua_pushnil(L);
    lua_rawset(L, -3);
    s.ctx_trace = args.trace;
  }
  lua_pop(L, 1);
}

// Runs protected.
int call_score(lua_State* L) {
  const auto& args = *static_cast<const CallArgs*>(lua_touserdata(L, 1));
  const State& s = *args.state;
  fill_lead_and_ctx(L, args);
  const int lead_data = lua_gettop(L);

  lua_rawgeti(L, LUA_REGISTRYINDEX, s.score_function);
  if (args.trace) {
    // A lead that records the fields read; the list is left below the result for the caller.
    lua_createtable(L, 16, 0);
    lua_replace(L, 1);  // slot 1 (the light userdata) now holds the list of fields read
    push_read_only_proxy(L, lead_data, "lead", false);
    lua_getmetatable(L, -1);
    lua_pushvalue(L, lead_data);
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, logging_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
  } else {
    lua_rawgeti(L, LUA_REGISTRYINDEX, s.lead_proxy);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, s.ctx_proxy);
  lua_call(L, 2, 1);
  if (args.trace) {
    lua_pushvalue(L, 1);  // result, fields read
    return 2;
  }
  return 1;
}

}  // namespace

void create_lead_and_ctx(lua_State* L, State& s, const nlohmann::json& params) {
  lua_createtable(L, 0, 16);  // the lead's fields, refilled on every call
  lua_pushvalue(L, -1);
  s.lead_data = luaL_ref(L, LUA_REGISTRYINDEX);
  make_read_only(L, s, "lead");
  s.lead_proxy = luaL_ref(L, LUA_REGISTRYINDEX);

  lua_createtable(L, 0, 4);  // ctx: params (fixed), offer, explain, trace (per call)
  push_key(L, s, kParams);
  push_json(L, s, params, "ctx.params", 0);
  lua_rawset(L, -3);
  lua_pushvalue(L, -1);
  s.ctx_data = luaL_ref(L, LUA_REGISTRYINDEX);
  make_read_only(L, s, "ctx");
  s.ctx_proxy = luaL_ref(L, LUA_REGISTRYINDEX);
}

CallArgs begin_call(State& s, const Features& features, const nlohmann::json* offer, bool explain,
                    bool trace) {
  CallArgs args{&s, &features, offer, false, false, explain, trace, changed_fields(s, features)};
  plan_profile(s, features);
  if (args.changed != 0 || s.profile_changed) {
    s.lead = features;
    s.lead_set = true;
  }
  if (offer == nullptr) {
    args.clear_offer = !s.offer_known || s.offer_set;
  } else if (!s.offer_known || !s.offer_set || s.offer != *offer) {
    args.rebuild_offer = true;
    s.offer = *offer;
  }
  s.offer_set = offer != nullptr;
  s.offer_known = true;
  return args;
}

int prepare_call(lua_State* L) {
  fill_lead_and_ctx(L, *static_cast<const CallArgs*>(lua_touserdata(L, 1)));
  return 0;
}

std::optional<std::string> end_call(State& s, int status) {
  lua_State* L = s.L;
  if (status == LUA_OK && !s.exhausted) return std::nullopt;
  if (status == LUA_OK) {  // a result made after the budget was spent does not count
    lua_settop(L, 0);
    lua_pushnil(L);
  }
  std::string message = failure_message(s, status == LUA_OK ? LUA_ERRRUN : status);
  // The lead table and ctx.offer may be half-filled, and ctx.explain/trace unknown.
  s.offer_known = false;
  s.lead_set = false;
  s.ctx_explain = -1;
  s.ctx_trace = true;
  lua_settop(L, 0);
  lua_gc(L, LUA_GCCOLLECT);
  return s.script_file + ": " + message;
}

std::optional<std::string> run_call(State& s, const Features& features, const nlohmann::json* offer,
                                    bool explain, bool trace) {
  lua_State* L = s.L;
  lua_settop(L, 0);
  if (!lua_checkstack(L, 16)) return "out of Lua stack";
  CallArgs args = begin_call(s, features, offer, explain, trace);
  lua_pushcfunction(L, call_score);
  lua_pushlightuserdata(L, &args);
  return end_call(s, call_with_budget(s, 1, trace ? 2 : 1));
}

}  // namespace leadscore::lua
