// One call of a script's score(lead, ctx): the lead table and ctx that the script reads (made
// once per state, and on each call set only where the lead, the offer, ctx.explain or ctx.trace
// changed since the last one), the call itself under the budget, and after a failed call the
// clean-up that leaves the state ready for the next. In trace mode the call's `lead` records
// the fields the script reads.
//
// ctx.params and ctx.offer are JSON objects given to the script as read-only tables (null as
// nil), nested at most 32 levels deep.
//
// Threading: everything here acts on one sandbox's state, on the thread that uses it, one call
// at a time.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "plugins/lua/lua_sandbox.h"
#include "plugins/support/score_answer.h"

struct lua_State;

namespace leadscore::lua {

// What one call sets in the lead table and ctx (begin_call notes it in the state).
struct CallArgs {
  LuaSandbox::State* state;
  const plugin::Features* features;
  const nlohmann::json* offer;
  bool rebuild_offer;  // ctx.offer = offer
  bool clear_offer;    // ctx.offer = nil
  bool explain;
  bool trace;
  std::uint32_t changed;  // the lead fields to set: bit k for Key kSource + k
};

// Makes the state's lead table and ctx, with `params` (a JSON object) as ctx.params. Runs
// protected.
void create_lead_and_ctx(lua_State* L, LuaSandbox::State& s, const nlohmann::json& params);

// The arguments of a call, noting in the state what the lead table and ctx will hold.
CallArgs begin_call(LuaSandbox::State& s, const plugin::Features& features,
                    const nlohmann::json* offer, bool explain, bool trace);

// A lua_CFunction, called protected with the CallArgs as a light userdata: sets what changed of
// the lead table and ctx, before a native scorecard's first call into Lua.
int prepare_call(lua_State* L);

// After a protected call returned `status`: nullopt when it succeeded within the budget, else
// the failure message, naming the script (the state is then cleaned up for the next call).
std::optional<std::string> end_call(LuaSandbox::State& s, int status);

// One protected call of score(); leaves the result (and in trace mode the list of fields read
// above it) on the stack and returns nullopt, or returns the failure message.
std::optional<std::string> run_call(LuaSandbox::State& s, const plugin::Features& features,
                                    const nlohmann::json* offer, bool explain, bool trace);

}  // namespace leadscore::lua
