#include "plugins/lua/script_result.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <lua.hpp>
#include <string_view>
#include <utility>

#include "plugins/lua/sandbox_state.h"

namespace leadscore::lua {
namespace {

using plugin::Recommendation;
using plugin::ScoreResult;

std::string shortest(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, ec == std::errc{} ? end : buffer);
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

}  // namespace

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

std::optional<std::string> check_score(double score) {
  if (!std::isfinite(score))
    return "score must be a finite number in [0, 1], got " + shortest(score);
  if (score < 0 || score > 1) return "score must be in [0, 1], got " + shortest(score);
  return std::nullopt;
}

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
    recommendation = plugin::parse_recommendation(std::string_view(text, size));
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

std::string bad_result(const State& s, const std::string& problem) {
  return s.script_file + " returned a malformed result: " + problem;
}

}  // namespace leadscore::lua
