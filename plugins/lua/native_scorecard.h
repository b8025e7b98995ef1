// A rule script's scorecard (rules.scorecard in rules/lib/rules.lua) evaluated in C++: the data
// items the helper built in the sandbox (lookup, steps, cap, rules with fixed points, the clamp,
// thresholds and their texts, declarative conditions) compiled once per Lua state, so that a
// scorecard of data alone (rules/default.lua) scores without running Lua. The script's Lua
// functions (`when`, `points`, `recommend`) are called back through ScorecardCalls, in the
// sandbox, under the call's instruction budget.
//
// The answer is the one the helper's Lua `score` gives, to the bit: the same score (Lua 5.4
// number semantics: IEEE doubles from 0.0 in item order, or integers where Lua keeps integers),
// recommendation, contributions and reason. A scorecard that holds anything this compiler does
// not know is not compiled; its Lua `score` serves it.
//
// Threading: a NativeScorecard belongs to the Lua state it was compiled from (it holds registry
// references of its functions); evaluate() and score() are const and keep no state.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <string>

#include "plugins/lua/lua_sandbox.h"
#include "plugins/support/score_answer.h"

struct lua_State;

namespace leadscore::lua {

// A Lua 5.4 number: an integer or a float, with the VM's addition, subtraction and (exact, mixed)
// comparisons. Totals stay floats unless a cap with an integer max sets them.
struct LuaNumber {
  bool is_integer = false;
  std::int64_t integer = 0;
  double real = 0;

  static LuaNumber of(std::int64_t value) { return {true, value, 0}; }
  static LuaNumber of(double value) { return {false, 0, value}; }
  // The number at `index` of L's stack (which must hold a number).
  static LuaNumber at(lua_State* L, int index);
  double to_double() const { return is_integer ? static_cast<double>(integer) : real; }
};
LuaNumber operator+(LuaNumber a, LuaNumber b);
LuaNumber operator-(LuaNumber a, LuaNumber b);
bool less(LuaNumber a, LuaNumber b);        // a < b
bool less_equal(LuaNumber a, LuaNumber b);  // a <= b

// The script's Lua, called from a native run: each call answers its value, or the message with
// which the whole run fails (an error, the instruction budget, the memory cap).
class ScorecardCalls {
 public:
  struct Recommended {
    plugin::Recommendation recommendation;
    std::string text;  // the reason's tail, ": ..."
  };
  // function(lead, ctx) is truthy.
  virtual std::expected<bool, std::string> holds(int function) = 0;
  // call_points(rule, rule.points, lead, ctx): a rule's points function, its answer checked.
  virtual std::expected<LuaNumber, std::string> points(int call_points, int rule) = 0;
  // recommend(score, lead, ctx), checked, with the text for the reason.
  virtual std::expected<Recommended, std::string> recommend(int function, LuaNumber score) = 0;

 protected:
  ~ScorecardCalls() = default;
};

class NativeScorecard {
 public:
  // Compiles the scorecard of the module table at `module` on L's stack: nullptr when the
  // module is not the helper's scorecard (its score is not the scorecard's own) or holds
  // anything unknown. Reads tables raw (no Lua runs); may take registry references.
  static std::unique_ptr<NativeScorecard> compile(lua_State* L, int module);

  // Whether a run may call Lua (a `when`, `points` or `recommend` function).
  bool calls_lua() const { return calls_lua_; }

  // Score and recommendation (ctx.explain == false).
  std::expected<Evaluation, std::string> evaluate(const plugin::Features& lead,
                                                  ScorecardCalls& calls) const;
  // The full result: contributions and reason as the helper builds them. Not yet checked
  // against the result contract (the caller checks it as it checks a Lua result).
  std::expected<plugin::ScoreResult, std::string> score(const plugin::Features& lead,
                                                        ScorecardCalls& calls) const;

  struct Card;  // the compiled items (native_scorecard.cpp)
  explicit NativeScorecard(std::unique_ptr<const Card> card);
  ~NativeScorecard();

 private:
  std::unique_ptr<const Card> card_;
  bool calls_lua_ = false;
};

}  // namespace leadscore::lua
