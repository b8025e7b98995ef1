#include "plugins/lua/native_run.h"

#include <lua.hpp>
#include <optional>
#include <string_view>
#include <utility>

#include "plugins/lua/native_scorecard.h"
#include "plugins/lua/sandbox_limits.h"
#include "plugins/lua/sandbox_state.h"
#include "plugins/lua/score_call.h"
#include "plugins/lua/script_result.h"

namespace leadscore::lua {
namespace {

using plugin::Features;
using plugin::ScoreResult;

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
    std::optional<plugin::Recommendation> recommendation;
    if (lua_type(L, -2) == LUA_TSTRING) {
      std::size_t size = 0;
      const char* text = lua_tolstring(L, -2, &size);
      recommendation = plugin::parse_recommendation(std::string_view(text, size));
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

std::expected<ScoreResult, std::string> score_natively(State& s, const Features& features,
                                                       const nlohmann::json* offer) {
  NativeRunCalls calls(s, features, offer, true);
  return checked(s, s.scorecard->score(features, calls));
}

std::expected<Evaluation, std::string> evaluate_natively(State& s, const Features& features,
                                                         const nlohmann::json* offer) {
  NativeRunCalls calls(s, features, offer, false);
  auto evaluation = s.scorecard->evaluate(features, calls);
  if (!evaluation) return evaluation;
  if (const auto problem = check_score(evaluation->score))
    return std::unexpected(bad_result(s, *problem));
  return evaluation;
}

}  // namespace leadscore::lua
