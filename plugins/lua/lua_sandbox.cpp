#include "plugins/lua/lua_sandbox.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <lua.hpp>
#include <string_view>
#include <utility>

#include "plugins/lua/lua_pattern.h"
#include "plugins/lua/native_scorecard.h"

namespace leadscore::lua {
namespace {

using domain::Features;
using domain::Recommendation;
using domain::ScoreResult;

// How often the count hook runs. Each run costs a C call; 1000 keeps the hook at 10–20% of a
// small rule's time (PLATFORM.md) and bounds the overshoot of the budget to 1000 instructions.
constexpr int kHookPeriod = 1000;
// Work in C that grows with the bytes it handles (copying a string, scanning UTF-8) costs an
// instruction per this many bytes: about what one instruction takes here (PLATFORM.md).
constexpr std::size_t kBytesPerInstruction = 64;
// An interval between two checks of the clock longer than this means single instructions are
// slow (long strings compared): the clock is then checked before every instruction.
constexpr std::int64_t kSlowIntervalNs = 2'000'000;
constexpr int kMaxJsonDepth = 32;

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
  kProfileName,
  kEmail,
  kRole,
  kCompany,
  kIndustry,
  kLocation,
  kBio,
  kKeyCount
};
constexpr std::array<const char*, kKeyCount> kKeyText = {
    "score",  "recommendation", "reason",         "contributions",   "rule",
    "points", "name",           "version",        "matched",         "seen",
    "params", "offer",          "explain",        "trace",           "intent",
    "source", "stage",          "activity_count", "business_domain", "name",
    "email",  "role",           "company",        "industry",        "location",
    "bio"};

// The libraries a rule may use, made read-only; and the modules that exist only to say that
// they are not available.
constexpr const char* kReadOnlyLibraries[] = {"string", "table", "math", "utf8"};
constexpr const char* kBlockedModules[] = {"os", "io", "debug", "package", "coroutine"};
constexpr const char* kBlockedGlobals[] = {"dofile",  "loadfile",       "load",  "loadstring",
                                           "require", "collectgarbage", "print", "warn"};

std::string shortest(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, ec == std::errc{} ? end : buffer);
}

}  // namespace

struct LuaSandbox::State {
  // Allocator: live bytes of the state, refused past the limit.
  std::size_t memory_limit = 0;
  std::size_t memory_used = 0;
  std::size_t memory_peak = 0;

  // Instruction budget of the running call.
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
  Features lead;
  int ctx_explain = -1;  // -1: unknown
  bool ctx_trace = true;

  ~State() {
    if (L != nullptr) lua_close(L);
  }
};

namespace {

using State = LuaSandbox::State;

State& state_of(lua_State* L) { return **static_cast<State**>(lua_getextraspace(L)); }

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

void push_key(lua_State* L, const State& s, Key key) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, s.keys[key]);
}

// --- The instruction budget -------------------------------------------------------------------

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

// Work done inside one C function (copying, sorting) counts against the budget too.
void charge(lua_State* L, double instructions) {
  State& s = state_of(L);
  if (instructions >= static_cast<double>(s.remaining)) exhaust(L, s, nullptr);
  s.remaining -= static_cast<std::int64_t>(instructions);
}

// Pattern matching (string.find, match, gmatch, gsub) counts its steps as instructions.
constexpr PatternMeter kPatternMeter = {
    [](lua_State* L) { return state_of(L).remaining; },
    [](lua_State* L, std::int64_t steps) { charge(L, static_cast<double>(steps)); },
};

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

// lua_pcall under the budget. Returns the status.
int call_with_budget(State& s, int nargs, int nresults) {
  arm_budget(s);
  const int status = lua_pcall(s.L, nargs, nresults, 0);
  disarm_budget(s);
  return status;
}

// The message of a failed call (the error value is on top of the stack and is popped).
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

// --- Sandbox functions (C closures) -----------------------------------------------------------

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

// __newindex of a read-only table. Upvalues: its name, and whether it is the globals.
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

// --- Building the sandbox ---------------------------------------------------------------------

// Pushes a new empty table whose metatable makes it a read-only proxy of the table at `real`
// (named `name` in messages): reads, # and pairs go to `real`, writes fail.
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

// Replaces the table on top of the stack with a read-only proxy of it, named `name` in messages.
void make_read_only(lua_State* L, const State& s, const char* name, bool globals = false) {
  const int real = lua_gettop(L);
  push_read_only_proxy(L, real, name, globals);
  lua_rawgeti(L, LUA_REGISTRYINDEX, s.protected_set);
  lua_pushvalue(L, -2);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  lua_replace(L, real);
}

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

struct SetupArgs {
  State* state;
  const nlohmann::json* params;
};

// Runs protected: every allocation here may fail with a Lua error.
int setup_sandbox(lua_State* L) {
  const auto& args = *static_cast<const SetupArgs*>(lua_touserdata(L, 1));
  State& s = *args.state;
  lua_settop(L, 0);

  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
  lua_settop(L, 0);

  for (int k = 0; k < kKeyCount; ++k) {
    lua_pushstring(L, kKeyText[static_cast<std::size_t>(k)]);
    s.keys[static_cast<std::size_t>(k)] = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  for (domain::LeadStage stage : domain::kAllLeadStages) {
    const std::string_view text = domain::to_string(stage);
    lua_pushlstring(L, text.data(), text.size());
    s.stage_names[static_cast<std::size_t>(stage)] = luaL_ref(L, LUA_REGISTRYINDEX);
  }

  lua_createtable(L, 0, 0);  // the protected tables, as weak keys
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  s.protected_set = luaL_ref(L, LUA_REGISTRYINDEX);

  lua_pushglobaltable(L);
  const int G = lua_gettop(L);
  for (const char* name : kBlockedGlobals) {
    push_blocked(L, name);
    lua_setfield(L, G, name);
  }
  wrap_field(L, G, "setmetatable", safe_setmetatable, s.protected_set);
  wrap_field(L, G, "rawset", safe_rawset, s.protected_set);

  lua_getfield(L, G, "string");
  push_blocked(L, "string.dump");
  lua_setfield(L, -2, "dump");
  wrap_field(L, lua_gettop(L), "rep", safe_string_rep);
  wrap_field(L, lua_gettop(L), "unpack", charge_scanned_string<2>);
  install_metered_patterns(L, lua_gettop(L), &kPatternMeter);
  lua_pop(L, 1);
  lua_getfield(L, G, "utf8");
  wrap_field(L, lua_gettop(L), "len", charge_scanned_string<1>);
  wrap_field(L, lua_gettop(L), "offset", charge_scanned_string<1>);
  lua_pop(L, 1);
  lua_getfield(L, G, "table");
  wrap_field(L, lua_gettop(L), "move", safe_table_move);
  wrap_field(L, lua_gettop(L), "sort", safe_table_sort);
  wrap_field(L, lua_gettop(L), "concat", safe_table_concat);
  wrap_field(L, lua_gettop(L), "insert", safe_table_insert);
  wrap_field(L, lua_gettop(L), "remove", safe_table_remove);
  lua_pop(L, 1);
  lua_getfield(L, G, "math");
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
    lua_setfield(L, G, name);
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
    lua_getfield(L, G, name);
    make_read_only(L, s, name);
    lua_setfield(L, G, name);
  }
  lua_pushvalue(L, G);
  make_read_only(L, s, "_G", true);
  lua_pushvalue(L, -1);
  lua_setfield(L, G, "_G");
  s.globals_proxy = luaL_ref(L, LUA_REGISTRYINDEX);

  lua_createtable(L, 0, 16);  // the lead's fields, refilled on every call
  lua_pushvalue(L, -1);
  s.lead_data = luaL_ref(L, LUA_REGISTRYINDEX);
  make_read_only(L, s, "lead");
  s.lead_proxy = luaL_ref(L, LUA_REGISTRYINDEX);

  lua_createtable(L, 0, 4);  // ctx: params (fixed), offer, explain, trace (per call)
  push_key(L, s, kParams);
  push_json(L, s, *args.params, "ctx.params", 0);
  lua_rawset(L, -3);
  lua_pushvalue(L, -1);
  s.ctx_data = luaL_ref(L, LUA_REGISTRYINDEX);
  make_read_only(L, s, "ctx");
  s.ctx_proxy = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

// Loads one source (text only) with the read-only globals as its _ENV and runs it under the
// budget; leaves its first result on the stack.
std::expected<void, LoadError> run_source(State& s, const SourceFile& source) {
  lua_State* L = s.L;
  if (!source.text.empty() && source.text[0] == LUA_SIGNATURE[0])
    return std::unexpected(LoadError{source.name, 0,
                                     "bytecode is refused: rules are loaded as source text "
                                     "only, not precompiled"});
  const std::string chunk_name = "@" + source.name;
  const int loaded =
      luaL_loadbufferx(L, source.text.data(), source.text.size(), chunk_name.c_str(), "t");
  if (loaded != LUA_OK) {
    const std::string message = failure_message(s, loaded);
    return std::unexpected(LoadError::from_lua_message(source.name, message));
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, s.globals_proxy);
  lua_setupvalue(L, -2, 1);
  const int status = call_with_budget(s, 0, 1);
  if (status != LUA_OK) {
    const std::string message = failure_message(s, status);
    lua_gc(L, LUA_GCCOLLECT);
    return std::unexpected(LoadError::from_lua_message(source.name, message));
  }
  return {};
}

std::string library_name(const std::string& file) {
  std::string_view name = file;
  if (const auto slash = name.find_last_of('/'); slash != std::string_view::npos)
    name.remove_prefix(slash + 1);
  if (name.ends_with(".lua")) name.remove_suffix(4);
  return std::string(name);
}

bool is_identifier(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::ranges::all_of(
      name, [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// --- A call -----------------------------------------------------------------------------------

struct CallArgs {
  State* state;
  const Features* features;
  const nlohmann::json* offer;
  bool rebuild_offer;  // ctx.offer = offer
  bool clear_offer;    // ctx.offer = nil
  bool explain;
  bool trace;
  std::uint32_t changed;  // the lead fields to set: bit k for Key kSource + k
};

// Which lead fields differ from what the lead table holds (every one when it holds nothing).
std::uint32_t changed_fields(const State& s, const Features& f) {
  if (!s.lead_set) return ~0u;
  const Features& o = s.lead;
  const auto bit = [](Key key, bool differs) {
    return static_cast<std::uint32_t>(differs) << (key - kSource);
  };
  return bit(kSource, o.source != f.source) | bit(kStage, o.stage != f.stage) |
         bit(kActivityCount, o.activity_count != f.activity_count) |
         bit(kBusinessDomain, o.business_domain != f.business_domain) |
         bit(kProfileName, o.profile.name != f.profile.name) |
         bit(kEmail, o.profile.email != f.profile.email) |
         bit(kRole, o.profile.role != f.profile.role) |
         bit(kCompany, o.profile.company != f.profile.company) |
         bit(kIndustry, o.profile.industry != f.profile.industry) |
         bit(kLocation, o.profile.location != f.profile.location) |
         bit(kBio, o.profile.bio != f.profile.bio);
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
  set_optional(L, args, kProfileName, f.profile.name);
  set_optional(L, args, kEmail, f.profile.email);
  set_optional(L, args, kRole, f.profile.role);
  set_optional(L, args, kCompany, f.profile.company);
  set_optional(L, args, kIndustry, f.profile.industry);
  set_optional(L, args, kLocation, f.profile.location);
  set_optional(L, args, kBio, f.profile.bio);

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

// Before a native scorecard's first call into Lua (protected).
int prepare_call(lua_State* L) {
  fill_lead_and_ctx(L, *static_cast<const CallArgs*>(lua_touserdata(L, 1)));
  return 0;
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

// --- Reading a result (outside any protected call: only non-allocating API functions) ---------

int raw_field(lua_State* L, const State& s, int table, Key key) {
  push_key(L, s, key);
  return lua_rawget(L, table);
}

std::string describe_value(lua_State* L, int index) {
  switch (lua_type(L, index)) {
    case LUA_TSTRING: {
      std::size_t size = 0;
      const char* text = lua_tolstring(L, index, &size);
      std::string out = "'";
      out.append(text, std::min<std::size_t>(size, 60));
      if (size > 60) out += "...";
      return out + "'";
    }
    case LUA_TNUMBER:
      return lua_isinteger(L, index) ? std::to_string(lua_tointeger(L, index))
                                     : shortest(lua_tonumber(L, index));
    case LUA_TBOOLEAN:
      return lua_toboolean(L, index) ? "true" : "false";
    default:
      return std::string("a ") + luaL_typename(L, index);
  }
}

// A field value as a Lua literal, for traces.
std::string lua_literal(lua_State* L, int index) {
  switch (lua_type(L, index)) {
    case LUA_TSTRING: {
      std::size_t size = 0;
      const char* text = lua_tolstring(L, index, &size);
      std::string out = "\"";
      for (std::size_t i = 0; i < size; ++i) {
        const char c = text[i];
        if (c == '"' || c == '\\') {
          out += '\\';
          out += c;
        } else if (c == '\n') {
          out += "\\n";
        } else {
          out += c;
        }
      }
      return out + "\"";
    }
    case LUA_TNIL:
      return "nil";
    default:
      return describe_value(L, index);
  }
}

std::optional<double> read_number(lua_State* L, int index) {
  if (lua_type(L, index) != LUA_TNUMBER) return std::nullopt;
  return static_cast<double>(lua_tonumber(L, index));
}

std::string read_string(lua_State* L, int index) {
  std::size_t size = 0;
  const char* text = lua_tolstring(L, index, &size);
  return std::string(text, size);
}

// The result contract, for a script's result and a native scorecard's alike: the score...
std::optional<std::string> check_score(double score) {
  if (!std::isfinite(score))
    return "score must be a finite number in [0, 1], got " + shortest(score);
  if (score < 0 || score > 1) return "score must be in [0, 1], got " + shortest(score);
  return std::nullopt;
}

// ... and the contributions: finite points that add up to the score.
std::optional<std::string> check_contributions(const ScoreResult& result) {
  double sum = 0;
  for (std::size_t i = 0; i < result.contributions.size(); ++i) {
    const double points = result.contributions[i].points;
    if (!std::isfinite(points))
      return "contributions[" + std::to_string(i + 1) + "].points must be a finite number, got " +
             shortest(points);
    sum += points;
  }
  if (!(std::abs(sum - result.score) <= 1e-9))
    return "contributions add up to " + shortest(sum) + ", not to the score " +
           shortest(result.score) + " (they must, within 1e-9)";
  return std::nullopt;
}

// Checks the score and the recommendation of the result at `index`; fills `out`.
std::optional<std::string> read_evaluation(lua_State* L, const State& s, int index,
                                           Evaluation& out) {
  if (lua_type(L, index) != LUA_TTABLE)
    return "score() must return a table {score, recommendation, reason, contributions}, got " +
           (lua_isnil(L, index) ? std::string("nil") : describe_value(L, index));
  raw_field(L, s, index, kScore);
  const auto score = read_number(L, -1);
  std::optional<std::string> problem;
  if (!score)
    problem = "score must be a number in [0, 1], got " +
              (lua_isnil(L, -1) ? std::string("nil") : describe_value(L, -1));
  else
    problem = check_score(*score);
  lua_pop(L, 1);
  if (problem) return problem;
  out.score = *score;

  raw_field(L, s, index, kRecommendation);
  std::optional<Recommendation> recommendation;
  if (lua_type(L, -1) == LUA_TSTRING) {
    std::size_t size = 0;
    const char* text = lua_tolstring(L, -1, &size);
    recommendation = domain::parse_recommendation(std::string_view(text, size));
  }
  if (!recommendation)
    problem =
        "recommendation must be one of transfer_to_sales, continue_qualification, "
        "drop_lead; got " +
        (lua_isnil(L, -1) ? std::string("nil") : describe_value(L, -1));
  lua_pop(L, 1);
  if (problem) return problem;
  out.recommendation = *recommendation;
  return std::nullopt;
}

// Checks and copies the reason and the contributions.
std::optional<std::string> read_explanation(lua_State* L, const State& s, int index,
                                            ScoreResult& out) {
  raw_field(L, s, index, kReason);
  const bool reason_ok = lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) > 0;
  if (reason_ok) out.reason = read_string(L, -1);
  std::string problem;
  if (!reason_ok)
    problem = "reason must be a non-empty string, got " +
              (lua_isnil(L, -1) ? std::string("nil") : describe_value(L, -1));
  lua_pop(L, 1);
  if (!problem.empty()) return problem;

  raw_field(L, s, index, kContributions);
  const int list = lua_gettop(L);
  const auto count = lua_type(L, list) == LUA_TTABLE ? lua_rawlen(L, list) : 0;
  if (count == 0) {
    problem = "contributions must be a non-empty list of {rule = string, points = number}, got " +
              (lua_isnil(L, list) ? std::string("nil") : describe_value(L, list));
    lua_pop(L, 1);
    return problem;
  }
  out.contributions.clear();
  out.contributions.reserve(count);
  for (lua_Integer i = 1; i <= static_cast<lua_Integer>(count) && problem.empty(); ++i) {
    const std::string at = "contributions[" + std::to_string(i) + "]";
    if (lua_rawgeti(L, list, i) != LUA_TTABLE) {
      problem =
          at + " must be a table {rule = string, points = number}, got " + describe_value(L, -1);
    } else {
      const int item = lua_gettop(L);
      raw_field(L, s, item, kRule);
      raw_field(L, s, item, kPoints);
      const auto points = read_number(L, -1);
      if (lua_type(L, -2) != LUA_TSTRING || lua_rawlen(L, -2) == 0)
        problem = at + ".rule must be a non-empty string, got " + describe_value(L, -2);
      else if (!points)
        problem = at + ".points must be a finite number, got " + describe_value(L, -1);
      else
        out.contributions.push_back({read_string(L, -2), *points});
      lua_pop(L, 2);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (!problem.empty()) return problem;
  return check_contributions(out);
}

// The optional intent: a string, or nil.
std::optional<std::string> read_intent(lua_State* L, const State& s, int index, ScoreResult& out) {
  std::optional<std::string> problem;
  switch (raw_field(L, s, index, kIntent)) {
    case LUA_TNIL:
      out.intent.reset();
      break;
    case LUA_TSTRING:
      out.intent = read_string(L, -1);
      break;
    default:
      problem = "intent must be a string (or nil), got " + describe_value(L, -1);
  }
  lua_pop(L, 1);
  return problem;
}

// The full result at `index`: score, recommendation, reason, contributions and intent.
std::optional<std::string> read_result(lua_State* L, const State& s, int index, ScoreResult& out) {
  Evaluation evaluation;
  auto problem = read_evaluation(L, s, index, evaluation);
  if (problem) return problem;
  out.score = evaluation.score;
  out.recommendation = evaluation.recommendation;
  problem = read_explanation(L, s, index, out);
  if (problem) return problem;
  return read_intent(L, s, index, out);
}

std::vector<FieldValue> read_fields(lua_State* L, const State& s, int names) {
  std::vector<FieldValue> fields;
  if (lua_type(L, names) != LUA_TTABLE) return fields;
  lua_rawgeti(L, LUA_REGISTRYINDEX, s.lead_data);
  const int data = lua_gettop(L);
  const auto n = static_cast<lua_Integer>(lua_rawlen(L, names));
  for (lua_Integer i = 1; i <= n; ++i) {
    if (lua_rawgeti(L, names, i) == LUA_TSTRING) {
      std::string field = read_string(L, -1);
      lua_pushvalue(L, -1);
      lua_rawget(L, data);
      fields.push_back({std::move(field), lua_literal(L, -1)});
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return fields;
}

// ctx.trace as the helper filled it: {rule, matched, points, seen = {field names}} per rule.
std::vector<TracedRule> read_traced_rules(lua_State* L, const State& s) {
  std::vector<TracedRule> rules;
  lua_rawgeti(L, LUA_REGISTRYINDEX, s.ctx_data);
  raw_field(L, s, lua_gettop(L), kTrace);
  const int list = lua_gettop(L);
  const auto n = lua_type(L, list) == LUA_TTABLE ? lua_rawlen(L, list) : 0;
  for (lua_Integer i = 1; i <= static_cast<lua_Integer>(n); ++i) {
    if (lua_rawgeti(L, list, i) == LUA_TTABLE) {
      const int item = lua_gettop(L);
      TracedRule rule;
      if (raw_field(L, s, item, kRule) == LUA_TSTRING) rule.rule = read_string(L, -1);
      lua_pop(L, 1);
      raw_field(L, s, item, kMatched);
      rule.matched = lua_toboolean(L, -1);
      lua_pop(L, 1);
      raw_field(L, s, item, kPoints);
      rule.points = read_number(L, -1).value_or(0);
      lua_pop(L, 1);
      raw_field(L, s, item, kSeen);
      rule.seen = read_fields(L, s, lua_gettop(L));
      lua_pop(L, 1);
      rules.push_back(std::move(rule));
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  return rules;
}

}  // namespace

// --- LuaSandbox -------------------------------------------------------------------------------

LuaSandbox::LuaSandbox(std::unique_ptr<State> state) : state_(std::move(state)) {}
LuaSandbox::~LuaSandbox() = default;

std::expected<std::unique_ptr<LuaSandbox>, LoadError> LuaSandbox::create(
    const RuleSources& sources, const nlohmann::json& params, SandboxLimits limits,
    ScorecardEngine engine) {
  auto state = std::make_unique<State>();
  State& s = *state;
  s.memory_limit = limits.memory_limit_bytes;
  s.instruction_limit = std::max<std::int64_t>(1, limits.instruction_limit);
  s.hook_period = static_cast<int>(std::min<std::int64_t>(kHookPeriod, s.instruction_limit));
  s.time_limit_ns = std::max<std::int64_t>(1, limits.time_limit_ms) * 1'000'000;
  s.script_file = sources.script.name;
  s.L = lua_newstate(allocate, &s);
  if (s.L == nullptr)
    return std::unexpected(LoadError{sources.script.name, 0,
                                     "cannot create a Lua state within the memory limit of " +
                                         std::to_string(s.memory_limit >> 20) + " MB"});
  *static_cast<State**>(lua_getextraspace(s.L)) = &s;
  lua_State* L = s.L;

  if (!params.is_object())
    return std::unexpected(
        LoadError{sources.script.name, 0, "the scorer's params must be an object"});
  SetupArgs setup{&s, &params};
  lua_pushcfunction(L, setup_sandbox);
  lua_pushlightuserdata(L, &setup);
  if (const int status = lua_pcall(L, 1, 0, 0); status != LUA_OK)
    return std::unexpected(LoadError{sources.script.name, 0,
                                     "cannot set up the sandbox: " + failure_message(s, status)});

  for (const SourceFile& lib : sources.libs) {
    const std::string name = library_name(lib.name);
    if (!is_identifier(name))
      return std::unexpected(LoadError{lib.name, 0,
                                       "a helper library's file name must be a Lua name (it "
                                       "becomes the global of that name)"});
    if (auto ran = run_source(s, lib); !ran) return std::unexpected(ran.error());
    if (lua_type(L, -1) == LUA_TTABLE) make_read_only(L, s, name.c_str());
    lua_pushglobaltable(L);
    lua_insert(L, -2);
    lua_setfield(L, -2, name.c_str());
    lua_pop(L, 1);
  }

  if (auto ran = run_source(s, sources.script); !ran) return std::unexpected(ran.error());
  const int module = lua_gettop(L);
  const auto shape_error = [&](std::string message) {
    return std::unexpected(LoadError{sources.script.name, 0, std::move(message)});
  };
  constexpr const char* kContract =
      "the script must return {name = string, version = string, score = function(lead, ctx)}";
  if (lua_type(L, module) != LUA_TTABLE)
    return shape_error(std::string(kContract) + ", got " +
                       (lua_isnil(L, module) ? std::string("nil") : describe_value(L, module)));
  std::string name, version;
  if (raw_field(L, s, module, kName) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
    return shape_error(std::string(kContract) + ": name is " + describe_value(L, -1));
  name = read_string(L, -1);
  if (raw_field(L, s, module, kVersion) != LUA_TSTRING)
    return shape_error(std::string(kContract) + ": version is " + describe_value(L, -1));
  version = read_string(L, -1);
  if (raw_field(L, s, module, kScore) != LUA_TFUNCTION)
    return shape_error(std::string(kContract) + ": score is " + describe_value(L, -1));
  s.score_function = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pop(L, 2);
  if (engine == ScorecardEngine::Native) s.scorecard = NativeScorecard::compile(L, module);
  s.module = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, 0);
  lua_gc(L, LUA_GCCOLLECT);

  auto sandbox = std::unique_ptr<LuaSandbox>(new LuaSandbox(std::move(state)));
  sandbox->script_name_ = std::move(name);
  sandbox->script_version_ = std::move(version);
  return sandbox;
}

namespace {

// The arguments of a call, noting in the state what the lead table and ctx will hold.
CallArgs begin_call(State& s, const Features& features, const nlohmann::json* offer, bool explain,
                    bool trace) {
  CallArgs args{&s, &features, offer, false, false, explain, trace, changed_fields(s, features)};
  if (args.changed != 0) {
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

// After a protected call returned `status`: nullopt when it succeeded within the budget, else
// the failure message (the state is then cleaned up for the next call).
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

// One protected call of score(); leaves the result (and in trace mode the fields read) on the
// stack and returns 0, or returns the failure message.
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

std::string bad_result(const State& s, const std::string& problem) {
  return s.script_file + " returned a malformed result: " + problem;
}

// The script's functions, called from a native scorecard run as its Lua score would call them:
// with the lead table and ctx (filled before the first call) and one instruction budget for
// the whole run. A run that calls no Lua touches nothing here.
class NativeRunCalls final : public ScorecardCalls {
 public:
  NativeRunCalls(State& s, const Features& features, const nlohmann::json* offer, bool explain)
      : s_(s), features_(features), offer_(offer), explain_(explain) {}
  ~NativeRunCalls() {
    if (started_) disarm_budget(s_);
  }
  NativeRunCalls(const NativeRunCalls&) = delete;
  NativeRunCalls& operator=(const NativeRunCalls&) = delete;

  std::expected<bool, std::string> holds(int function) override {
    if (auto failed = start()) return std::unexpected(*failed);
    lua_rawgeti(s_.L, LUA_REGISTRYINDEX, function);
    if (auto failed = call_with_lead(0, 1)) return std::unexpected(*failed);
    const bool holds = lua_toboolean(s_.L, -1);
    lua_settop(s_.L, 0);
    return holds;
  }

  std::expected<LuaNumber, std::string> points(int call_points, int rule) override {
    if (auto failed = start()) return std::unexpected(*failed);
    lua_State* L = s_.L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, call_points);
    lua_rawgeti(L, LUA_REGISTRYINDEX, rule);
    raw_field(L, s_, lua_gettop(L), kPoints);
    if (auto failed = call_with_lead(2, 1)) return std::unexpected(*failed);
    const LuaNumber points = LuaNumber::at(L, -1);  // call_points answers a number or fails
    lua_settop(L, 0);
    return points;
  }

  std::expected<Recommended, std::string> recommend(int function, LuaNumber score) override {
    if (auto failed = start()) return std::unexpected(*failed);
    lua_State* L = s_.L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, function);
    if (score.is_integer)
      lua_pushinteger(L, score.integer);
    else
      lua_pushnumber(L, score.real);
    if (auto failed = call_with_lead(1, 2)) return std::unexpected(*failed);
    // recommend_by_function answers a checked recommendation and the reason's text.
    std::optional<domain::Recommendation> recommendation;
    if (lua_type(L, -2) == LUA_TSTRING) {
      std::size_t size = 0;
      const char* text = lua_tolstring(L, -2, &size);
      recommendation = domain::parse_recommendation(std::string_view(text, size));
    }
    std::optional<std::string> text;
    if (lua_type(L, -1) == LUA_TSTRING) text = read_string(L, -1);
    lua_settop(L, 0);
    if (!recommendation || !text)
      return std::unexpected(s_.script_file + ": the scorecard's recommend gave no recommendation");
    return Recommended{*recommendation, std::move(*text)};
  }

 private:
  // Fills the lead table and ctx and arms the budget, once per run.
  std::optional<std::string> start() {
    if (started_) return std::nullopt;
    started_ = true;
    lua_State* L = s_.L;
    lua_settop(L, 0);
    arm_budget(s_);
    if (!lua_checkstack(L, 16)) return "out of Lua stack";
    CallArgs args = begin_call(s_, features_, offer_, explain_, false);
    lua_pushcfunction(L, prepare_call);
    lua_pushlightuserdata(L, &args);
    return end_call(s_, lua_pcall(L, 1, 0, 0));
  }

  // Calls the function below the `nargs` arguments on the stack with (args..., lead, ctx).
  std::optional<std::string> call_with_lead(int nargs, int nresults) {
    lua_State* L = s_.L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s_.lead_proxy);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s_.ctx_proxy);
    return end_call(s_, lua_pcall(L, nargs + 2, nresults, 0));
  }

  State& s_;
  const Features& features_;
  const nlohmann::json* offer_;
  bool explain_;
  bool started_ = false;
};

// A native run's result, checked as a script's result is.
std::expected<ScoreResult, std::string> checked(const State& s,
                                                std::expected<ScoreResult, std::string> result) {
  if (!result) return result;
  auto problem = check_score(result->score);
  if (!problem) problem = check_contributions(*result);
  if (problem) return std::unexpected(bad_result(s, *problem));
  return result;
}

}  // namespace

std::expected<ScoreResult, std::string> LuaSandbox::score(const Features& features,
                                                          const nlohmann::json* offer) {
  State& s = *state_;
  if (s.scorecard) {
    NativeRunCalls calls(s, features, offer, true);
    return checked(s, s.scorecard->score(features, calls));
  }
  if (auto failed = run_call(s, features, offer, true, false)) return std::unexpected(*failed);
  ScoreResult result;
  const auto problem = read_result(s.L, s, 1, result);
  lua_settop(s.L, 0);
  if (problem) return std::unexpected(bad_result(s, *problem));
  return result;
}

std::expected<Evaluation, std::string> LuaSandbox::evaluate(const Features& features,
                                                            const nlohmann::json* offer) {
  State& s = *state_;
  if (s.scorecard) {
    NativeRunCalls calls(s, features, offer, false);
    auto evaluation = s.scorecard->evaluate(features, calls);
    if (!evaluation) return evaluation;
    if (const auto problem = check_score(evaluation->score))
      return std::unexpected(bad_result(s, *problem));
    return evaluation;
  }
  if (auto failed = run_call(s, features, offer, false, false)) return std::unexpected(*failed);
  Evaluation evaluation;
  const auto problem = read_evaluation(s.L, s, 1, evaluation);
  lua_settop(s.L, 0);
  if (problem) return std::unexpected(bad_result(s, *problem));
  return evaluation;
}

LeadTrace LuaSandbox::trace(const Features& features, const nlohmann::json* offer) {
  State& s = *state_;
  LeadTrace trace;
  if (auto failed = run_call(s, features, offer, true, true)) {
    trace.result = std::unexpected(*failed);
    return trace;
  }
  lua_State* L = s.L;
  trace.fields_read = read_fields(L, s, 2);
  ScoreResult result;
  if (const auto problem = read_result(L, s, 1, result))
    trace.result = std::unexpected(bad_result(s, *problem));
  else
    trace.result = std::move(result);
  trace.rules = read_traced_rules(L, s);
  trace.per_rule = !trace.rules.empty();
  lua_settop(L, 0);
  return trace;
}

const NativeScorecard* LuaSandbox::native_scorecard() const { return state_->scorecard.get(); }

std::size_t LuaSandbox::memory_in_use() const { return state_->memory_used; }
std::size_t LuaSandbox::memory_peak() const { return state_->memory_peak; }
void LuaSandbox::collect_garbage() { lua_gc(state_->L, LUA_GCCOLLECT); }

}  // namespace leadscore::lua
