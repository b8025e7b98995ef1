#include "plugins/lua/lua_sandbox.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <lua.hpp>
#include <string_view>
#include <utility>

#include "plugins/lua/native_run.h"
#include "plugins/lua/native_scorecard.h"
#include "plugins/lua/read_only_table.h"
#include "plugins/lua/safe_library.h"
#include "plugins/lua/sandbox_limits.h"
#include "plugins/lua/sandbox_state.h"
#include "plugins/lua/score_call.h"
#include "plugins/lua/script_result.h"

namespace leadscore::lua {
namespace {

using plugin::Features;
using plugin::ScoreResult;

constexpr std::array<const char*, kKeyCount> kKeyText = {
    "score",   "recommendation", "reason", "contributions",  "rule",           "points",  "name",
    "version", "matched",        "seen",   "params",         "offer",          "explain", "trace",
    "intent",  "source",         "stage",  "activity_count", "business_domain"};

struct SetupArgs {
  State* state;
  const nlohmann::json* params;
};

// Runs protected: every allocation here may fail with a Lua error.
int setup_sandbox(lua_State* L) {
  const auto& args = *static_cast<const SetupArgs*>(lua_touserdata(L, 1));
  State& s = *args.state;
  lua_settop(L, 0);

  open_rule_libraries(L);
  register_keys(L, s);
  create_protected_set(L, s);
  lua_pushglobaltable(L);
  make_libraries_safe(L, s, lua_gettop(L));
  create_lead_and_ctx(L, s, *args.params);
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

}  // namespace

void register_keys(lua_State* L, State& s) {
  for (int k = 0; k < kKeyCount; ++k) {
    lua_pushstring(L, kKeyText[static_cast<std::size_t>(k)]);
    s.keys[static_cast<std::size_t>(k)] = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  for (plugin::Stage stage : plugin::kAllStages) {
    const std::string_view text = plugin::to_string(stage);
    lua_pushlstring(L, text.data(), text.size());
    s.stage_names[static_cast<std::size_t>(stage)] = luaL_ref(L, LUA_REGISTRYINDEX);
  }
}

LuaSandbox::LuaSandbox(std::unique_ptr<State> state) : state_(std::move(state)) {}
LuaSandbox::~LuaSandbox() = default;

std::expected<std::unique_ptr<LuaSandbox>, LoadError> LuaSandbox::create(
    const RuleSources& sources, const nlohmann::json& params, SandboxLimits limits,
    ScorecardEngine engine) {
  auto state = std::make_unique<State>();
  State& s = *state;
  apply_limits(s, limits);
  s.script_file = sources.script.name;
  s.L = lua_newstate(allocate, &s);
  if (s.L == nullptr)
    return std::unexpected(LoadError{sources.script.name, 0,
                                     "cannot create a Lua state within the memory limit of " +
                                         std::to_string(s.memory_limit >> 20) + " MB"});
  bind_state(s.L, s);
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

std::expected<ScoreResult, std::string> LuaSandbox::score(const Features& features,
                                                          const nlohmann::json* offer) {
  State& s = *state_;
  if (s.scorecard) return score_natively(s, features, offer);
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
  if (s.scorecard) return evaluate_natively(s, features, offer);
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
