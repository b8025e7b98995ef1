// The Lua rules scorer: a rule script (and the helper libraries beside it) run in a sandboxed
// Lua 5.4 state, one state per worker thread, compiled once per thread.
//
// Params (a JSON object; the whole object is also the script's ctx.params):
//   script             required: the rule script, relative to the base directory
//   lib_dir            the helper libraries (every *.lua becomes a read-only global named after
//                      the file); default: "lib" beside the script, when it exists
//   instruction_limit  Lua instructions per call, default 1,000,000 (1000..1,000,000,000)
//   memory_limit_mb    memory cap of each state, default 32 (1..4096)
//   time_limit_ms      wall-clock backstop per call, default 1000 (1..600,000)
//   tests              rule tests (a file, or a directory of *.yaml) that the plugin's
//                      self_test runs on this scorer's own rules (rule_tests.h); only read by
//                      the plugin module (lua_plugin.cpp)
// Other keys are the script's own (e.g. icp_industries for rules/icp_fit.lua).
//
// The script contract and the sandbox: lua_sandbox.h and rules/README.md. A script that returns
// a rules.scorecard is compiled in each thread's state and evaluated in C++, with the same
// answers (native_scorecard.h); trace() always runs the script's Lua.
//
// Threading: a LuaScorer is immutable after construction; score(), evaluate() and trace() are
// safe from any number of threads. Each thread gets its own Lua state for each scorer, made on
// its first call and freed with the scorer.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plugins/lua/load_error.h"
#include "plugins/lua/lua_sandbox.h"
#include "plugins/support/score_answer.h"

namespace leadscore::lua {

struct LuaScorerParams {
  std::filesystem::path script;
  std::filesystem::path lib_dir;  // empty: "lib" beside the script, when it exists
  std::int64_t instruction_limit = 1'000'000;
  std::int64_t memory_limit_mb = 32;
  std::int64_t time_limit_ms = 1000;
  std::filesystem::path tests;                       // empty: none
  nlohmann::json params = nlohmann::json::object();  // all of them, for ctx.params
};

// Reads and checks the params; every problem found, one message each.
std::expected<LuaScorerParams, std::vector<std::string>> read_lua_params(
    const nlohmann::json& params);

class LuaScorer final {
 public:
  // Reads the script and libraries (relative paths against base_dir), compiles them once to
  // check them, and returns the scorer, or every problem positioned (file, line, message).
  static std::expected<std::unique_ptr<LuaScorer>, std::vector<LoadError>> create_with(
      std::string name, const LuaScorerParams& params, const std::filesystem::path& base_dir);
  static std::expected<std::unique_ptr<LuaScorer>, std::vector<LoadError>> create(
      std::string name, const nlohmann::json& params, const std::filesystem::path& base_dir);

  // The same rules (the script and libraries as this scorer read them, not read again) with
  // `params` laid over this scorer's params (its `script` kept): how rule tests with params of
  // their own run on a configured scorer.
  std::expected<std::unique_ptr<LuaScorer>, std::vector<LoadError>> with_params(
      const nlohmann::json& params) const;

  const std::string& name() const { return name_; }
  // "<the script's version>+<hash of the script and every helper library>".
  const std::string& version() const { return version_; }
  std::expected<plugin::ScoreResult, std::string> score(const plugin::Features& features) const;

  // With the active offer (a JSON object: ctx.offer), or null for none.
  std::expected<plugin::ScoreResult, std::string> score(const plugin::Features& features,
                                                        const nlohmann::json* offer) const;
  // Score and recommendation only: the script is called with ctx.explain = false.
  std::expected<Evaluation, std::string> evaluate(const plugin::Features& features,
                                                  const nlohmann::json* offer = nullptr) const;
  LeadTrace trace(const plugin::Features& features, const nlohmann::json* offer = nullptr) const;

  // What the script calls itself, and the files it was made from (script first).
  const std::string& script_name() const { return script_name_; }
  // The script file, absolute and normalised: which rule tests are this scorer's.
  const std::filesystem::path& script_path() const { return script_path_; }
  const std::vector<std::string>& files() const { return files_; }
  // A hash (16 hex digits) of the script and the helper libraries.
  const std::string& rules_hash() const { return rules_hash_; }

  // This thread's sandbox for this scorer (made on first use). Tests and benchmarks use it to
  // look at memory; nullptr with `error` set when the state cannot be made.
  LuaSandbox* thread_sandbox(std::string* error = nullptr) const;

  struct Program;  // what every thread compiles: sources, params, limits

 private:
  LuaScorer() = default;
  // Compiles `sources` once to check them and makes the scorer.
  static std::expected<std::unique_ptr<LuaScorer>, std::vector<LoadError>> from_sources(
      std::string name, RuleSources sources, const LuaScorerParams& params,
      std::filesystem::path script_path);

  std::string name_;
  std::filesystem::path script_path_;
  std::string version_;
  std::string script_name_;
  std::string rules_hash_;
  std::vector<std::string> files_;
  std::shared_ptr<const Program> program_;
};

// How a path is named in messages: relative to the working directory when it is below it,
// else as given.
std::string display_path(const std::filesystem::path& path);

}  // namespace leadscore::lua
