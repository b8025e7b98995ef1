// Helpers for the tests of the sandbox (plugins/lua/lua_sandbox.h) and of the units it is made
// of: leads, a sandbox made from one script, a script that misbehaves for one lead, and a bare
// state for the units that work on a state directly.
#pragma once

#include <gtest/gtest.h>

#include <lua.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "plugins/lua/lua_sandbox.h"
#include "plugins/lua/sandbox_limits.h"
#include "plugins/lua/sandbox_state.h"

namespace leadscore::lua::testing {

inline constexpr const char* kGoodResult =
    "return {score = 0.5, recommendation = 'continue_qualification', reason = 'fine', "
    "contributions = {{rule = 'base', points = 0.5}}}";

inline plugin::Features good_lead() {
  plugin::Features f;
  f.source = "partner";
  f.stage = plugin::Stage::Qualified;
  f.activity_count = 5;
  f.business_domain = "acme.io";
  f.set_field("role", "CTO");
  return f;
}

inline plugin::Features bad_lead() {
  plugin::Features f = good_lead();
  f.source = "bad";
  return f;
}

// A sandbox running `script` as "t.lua" (no helper libraries).
inline std::unique_ptr<LuaSandbox> make(const std::string& script, SandboxLimits limits = {},
                                        const nlohmann::json& params = nlohmann::json::object()) {
  auto sandbox = LuaSandbox::create({{}, {"t.lua", script}}, params, limits);
  if (!sandbox) {
    ADD_FAILURE() << sandbox.error().to_text();
    return nullptr;
  }
  return std::move(*sandbox);
}

// A sandbox running `sources` with the given engine for scorecards.
inline std::unique_ptr<LuaSandbox> make(const RuleSources& sources, ScorecardEngine engine,
                                        const nlohmann::json& params = nlohmann::json::object(),
                                        SandboxLimits limits = {}) {
  auto sandbox = LuaSandbox::create(sources, params, limits, engine);
  if (!sandbox) {
    ADD_FAILURE() << sandbox.error().to_text();
    return nullptr;
  }
  return std::move(*sandbox);
}

// A script whose score() runs `bad` for the lead with source "bad", and answers well otherwise.
inline std::string misbehaving(const std::string& bad) {
  return "return {name = 't', version = '1', score = function(lead, ctx)\n"
         "  if lead.source == 'bad' then\n" +
         bad + "\n  end\n  " + kGoodResult + "\nend}\n";
}

// Runs the bad lead (must fail with `expected` in the message, within the memory cap), then a
// good one on the same state (must work).
inline void expect_fails_then_recovers(const std::string& bad, const std::string& expected,
                                       SandboxLimits limits = {}) {
  SCOPED_TRACE(bad);
  auto sandbox = make(misbehaving(bad), limits);
  ASSERT_TRUE(sandbox);
  for (int round = 0; round < 2; ++round) {  // twice: a state left broken would show
    auto failed = sandbox->score(bad_lead());
    ASSERT_FALSE(failed) << "the bad call succeeded";
    EXPECT_NE(failed.error().find(expected), std::string::npos) << failed.error();
    EXPECT_EQ(failed.error().rfind("t.lua", 0), 0u) << "names the script: " << failed.error();
    EXPECT_LE(sandbox->memory_peak(), limits.memory_limit_bytes);
    auto next = sandbox->score(good_lead());
    ASSERT_TRUE(next) << next.error();
    EXPECT_EQ(next->score, 0.5);
  }
}

// A sandbox's state with its lua_State, limits and allocator and nothing else (no library, no
// script): what the units that work on a state are given, set up step by step by a test.
struct BareState {
  explicit BareState(SandboxLimits limits = {}) {
    apply_limits(state, limits);
    state.script_file = "t.lua";
    state.L = lua_newstate(allocate, &state);
    bind_state(state.L, state);
  }

  // Runs `step(L)` protected, as the sandbox runs its set-up; answers the error, or "".
  std::string protect(lua_CFunction step) {
    lua_pushcfunction(state.L, step);
    const int status = lua_pcall(state.L, 0, 0, 0);
    return status == LUA_OK ? "" : failure_message(state, status);
  }

  // Loads `code` as the text of "t.lua" (with `env`, a registry reference, as its _ENV when
  // given) and runs it under the budget; answers its failure message, or "" when it ran.
  std::string run(const std::string& code, int env = LUA_NOREF) {
    lua_State* L = state.L;
    if (luaL_loadbufferx(L, code.data(), code.size(), "@t.lua", "t") != LUA_OK)
      return failure_message(state, LUA_ERRSYNTAX);
    if (env != LUA_NOREF) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, env);
      lua_setupvalue(L, -2, 1);
    }
    const int status = call_with_budget(state, 0, 0);
    return status == LUA_OK ? "" : failure_message(state, status);
  }

  State state;
};

}  // namespace leadscore::lua::testing
