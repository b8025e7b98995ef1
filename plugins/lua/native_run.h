// A compiled scorecard run in its sandbox: score() and evaluate() of a script that returns a
// rules.scorecard, evaluated in C++ by its NativeScorecard (native_scorecard.h). The script's own
// functions (`when`, `points`, `recommend`) are called back in the state as the helper's Lua
// score would call them, with the lead table and ctx (filled before the first of them) and one
// instruction budget for the whole run; a run that calls no Lua touches nothing in the state.
// The result is checked as a script's result is (script_result.h), and a failure reads as the
// script's own would.
//
// Threading: on the thread that uses the state, one run at a time; s.scorecard must be set.
#pragma once

#include <expected>
#include <nlohmann/json.hpp>
#include <string>

#include "plugins/lua/lua_sandbox.h"
#include "plugins/support/score_answer.h"

namespace leadscore::lua {

// The full, checked result (ctx.explain == true).
std::expected<plugin::ScoreResult, std::string> score_natively(LuaSandbox::State& s,
                                                               const plugin::Features& features,
                                                               const nlohmann::json* offer);
// Score and recommendation only (ctx.explain == false), the score checked.
std::expected<Evaluation, std::string> evaluate_natively(LuaSandbox::State& s,
                                                         const plugin::Features& features,
                                                         const nlohmann::json* offer);

}  // namespace leadscore::lua
