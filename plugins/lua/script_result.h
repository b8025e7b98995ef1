// A script's result as the engine takes it: the table that score(lead, ctx) returned, read and
// checked against the result contract (rules/README.md, "The script contract") into a
// ScoreResult or an Evaluation, or a message that says what is wrong with it; and what a traced
// call recorded (LeadTrace). The checks of the score and the contributions hold for a native
// scorecard's result too (native_run.h).
//
// Threading: everything here acts on one sandbox's state, on the thread that uses it. Reading
// runs outside any protected call, so it uses only Lua API functions that do not allocate and
// never raises a Lua error.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "plugins/lua/lua_sandbox.h"
#include "plugins/support/score_answer.h"

struct lua_State;

namespace leadscore::lua {

// The value at `index` for a message: a string quoted (at most 60 bytes shown), a number, a
// boolean, or "a <type>".
std::string describe_value(lua_State* L, int index);

// The result contract, for a script's result and a native scorecard's alike: the score is a
// finite number in [0, 1]...
std::optional<std::string> check_score(double score);
// ... and the contributions have finite points that add up to the score within 1e-9.
std::optional<std::string> check_contributions(const plugin::ScoreResult& result);

// Checks the score and the recommendation of the result at `index`; fills `out`. Answers what is
// wrong, or nullopt.
std::optional<std::string> read_evaluation(lua_State* L, const LuaSandbox::State& s, int index,
                                           Evaluation& out);
// The full result at `index`: score, recommendation, reason, contributions and intent.
std::optional<std::string> read_result(lua_State* L, const LuaSandbox::State& s, int index,
                                       plugin::ScoreResult& out);

// The lead fields named in the list at `names` (a table of strings), with their values in the
// lead table, as Lua literals.
std::vector<FieldValue> read_fields(lua_State* L, const LuaSandbox::State& s, int names);
// ctx.trace as the helper filled it: {rule, matched, points, seen = {field names}} per rule.
std::vector<TracedRule> read_traced_rules(lua_State* L, const LuaSandbox::State& s);

// The message of a malformed result: "<script file> returned a malformed result: <problem>".
std::string bad_result(const LuaSandbox::State& s, const std::string& problem);

}  // namespace leadscore::lua
