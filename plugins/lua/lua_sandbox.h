// One sandboxed Lua 5.4 state that runs one rule script: the state, its limits, and the calls
// that turn a lead's features into a checked ScoreResult.
//
// The sandbox (rules/README.md, "The sandbox"): only base, table, string, math and utf8 are loaded;
// of them, nothing that reaches the host or loads code. Calling a blocked function (load, require,
// dofile, print, collectgarbage, string.dump, math.random, os.*, io.*, debug.*, ...) fails with
// "<name> is not available in rules". Sources are loaded as text only (bytecode is refused).
// Globals, the libraries, `lead`, `ctx` and `ctx.params` are read-only. Every call has an
// instruction budget that `pcall` cannot catch (once spent, every further Lua instruction
// fails until the call has unwound), and the state has a memory cap (a counting allocator).
// A script built with rules.scorecard is, by default, evaluated natively (native_scorecard.h):
// its Lua then runs only for its own functions, under the same budget and cap.
//
// LuaSandbox owns the state: it makes it, loads the libraries and the script, and runs the
// calls. The parts it is made of: the limits (sandbox_limits.h), the standard library as rules
// see it (safe_library.h), read-only tables (read_only_table.h), one call of the script
// (score_call.h), reading its result (script_result.h), and the compiled scorecard's runs
// (native_run.h).
//
// Threading: a LuaSandbox belongs to one thread at a time (one per worker thread; see
// LuaScorer). Nothing in it is shared with another sandbox.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plugins/lua/load_error.h"
#include "plugins/support/score_answer.h"

struct lua_State;

namespace leadscore::lua {

class NativeScorecard;

struct SandboxLimits {
  std::int64_t instruction_limit = 1'000'000;  // Lua VM instructions per call (and per load)
  std::size_t memory_limit_bytes = 32u << 20;  // live bytes of the whole state
  // Wall-clock backstop per call, for C work the instruction budget cannot see (comparing two
  // long strings is one instruction). Far above what the instruction budget allows normally.
  std::int64_t time_limit_ms = 1000;
};

// A source file as the sandbox sees it: `name` is how messages name it ("rules/default.lua").
struct SourceFile {
  std::string name;
  std::string text;
};

// What a sandbox runs: the helper libraries (each file's returned value becomes the read-only
// global named after the file, "rules/lib/rules.lua" → `rules`), then the script.
struct RuleSources {
  std::vector<SourceFile> libs;
  SourceFile script;
};

// Score and recommendation only: what a call gives when the script is asked not to explain
// itself (ctx.explain == false).
struct Evaluation {
  double score = 0;
  plugin::Recommendation recommendation = plugin::Recommendation::ContinueQualification;
};

// A lead field as a rule saw it: the field's name and its value as a Lua literal
// ("\"partner\"", "7", "nil").
struct FieldValue {
  std::string field;
  std::string value;
};

struct TracedRule {
  std::string rule;
  bool matched = false;
  double points = 0;
  std::vector<FieldValue> seen;
};

// One lead through a script: every rule (when the script uses the `rules` helper), whether it
// matched, its points and the values it saw; the lead fields the whole call read; the result.
struct LeadTrace {
  std::expected<plugin::ScoreResult, std::string> result;
  bool per_rule = false;  // false: the script does not use the helper, only fields_read is known
  std::vector<TracedRule> rules;
  std::vector<FieldValue> fields_read;
};

// How score() and evaluate() run a script that returns a rules.scorecard (rules/lib/rules.lua).
enum class ScorecardEngine {
  Native,  // compiled to C++ when it can be (native_scorecard.h), else the script's score
  Lua,     // always the script's own score function (tests compare the two)
};

class LuaSandbox {
 public:
  // Creates the state, loads the libraries and the script, and checks that the script returns
  // {name = string, version = string, score = function}. `params` (a JSON object) becomes
  // ctx.params. Errors are positioned (file, line, message).
  static std::expected<std::unique_ptr<LuaSandbox>, LoadError> create(
      const RuleSources& sources, const nlohmann::json& params, SandboxLimits limits,
      ScorecardEngine engine = ScorecardEngine::Native);
  ~LuaSandbox();
  LuaSandbox(const LuaSandbox&) = delete;
  LuaSandbox& operator=(const LuaSandbox&) = delete;

  // The full, checked result (ctx.explain == true). `offer` (a JSON object, or null) becomes
  // ctx.offer. A failed call (error, budget, memory, malformed result) answers a message that
  // names the script and says what was wrong; the state stays usable. The result's optional
  // `intent` (a string) becomes ScoreResult::intent.
  std::expected<plugin::ScoreResult, std::string> score(const plugin::Features& features,
                                                        const nlohmann::json* offer = nullptr);
  // Score and recommendation only (ctx.explain == false): the numeric path.
  std::expected<Evaluation, std::string> evaluate(const plugin::Features& features,
                                                  const nlohmann::json* offer = nullptr);
  // One call with ctx.trace set and the lead's reads recorded (always the script's own score).
  LeadTrace trace(const plugin::Features& features, const nlohmann::json* offer = nullptr);

  // The compiled scorecard that serves score() and evaluate(); null when the script's own
  // score function does.
  const NativeScorecard* native_scorecard() const;

  // What the script says it is.
  const std::string& script_name() const { return script_name_; }
  const std::string& script_version() const { return script_version_; }

  // The allocator's live bytes and their high-water mark.
  std::size_t memory_in_use() const;
  std::size_t memory_peak() const;
  // A full garbage collection (tests use it to compare live bytes with a baseline).
  void collect_garbage();

  struct State;  // the implementation (sandbox_state.h), shared by the parts named above

 private:
  explicit LuaSandbox(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
  std::string script_name_;
  std::string script_version_;
};

}  // namespace leadscore::lua
