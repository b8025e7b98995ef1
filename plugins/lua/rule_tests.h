// Rule tests (rules/tests/*.yaml) and the trace of one lead through a rule script: what the Lua
// plugin's self_test and trace answer (lua_plugin.cpp), which `leadscore rules test [PATH]`,
// `leadscore rules trace SCRIPT --lead JSON` and a reload run through lua.so.
//
// A rule-test file:
//   script: ../default.lua        # required; relative to the test file
//   params: {icp_industries: [fintech]}   # optional: the scorer's params (ctx.params)
//   offer: {ideal_use_cases: [B2B SaaS]}  # optional: ctx.offer for every case
//   cases:
//     - name: hot partner lead
//       lead: {source: partner, stage: qualified, activity_count: 7, business_domain: acme.io}
//                                         # any other key is a profile field (text or null)
//       offer: ...                        # optional: this case's ctx.offer (null: none)
//       expect:                           # every key optional
//         recommendation: transfer_to_sales
//         score: 1.0                      # within 1e-9
//         score_range: [0.9, 1.0]         # inclusive
//         contributions:                  # each must appear among the result's
//           - source=partner              # by rule label
//           - {rule: stage=qualified, points: 0.15}   # with its points (within 1e-9)
//         error: instruction limit        # the run must fail, its message containing this
//
// Threading: the functions are safe from any thread; each call makes its own scorers.
#pragma once

#include <expected>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "plugins/lua/load_error.h"
#include "plugins/lua/lua_sandbox.h"
#include "plugins/lua/lua_scorer.h"
#include "plugins/support/score_answer.h"

namespace leadscore::lua {

struct RuleCaseResult {
  std::string name;
  int line = 0;  // of the case in the test file
  bool passed = false;
  std::vector<std::string> failures;  // "recommendation: expected X, got Y", one per mismatch
  std::optional<plugin::ScoreResult> actual;
  std::optional<std::string> error;  // the run's error, when it failed
};

struct RuleTestFile {
  std::string file;
  std::string script;
  std::vector<LoadError> errors;  // the file or its script could not be loaded: every case fails
  std::vector<RuleCaseResult> cases;
  bool passed() const;
};

struct RuleTestReport {
  std::vector<RuleTestFile> files;
  std::size_t cases_passed = 0;
  std::size_t cases_failed = 0;
  std::size_t load_errors = 0;
  bool passed() const { return cases_failed == 0 && load_errors == 0 && !files.empty(); }
  // Every load error, and every failed case as "rule test 'NAME' failed; <failures>" at the
  // case's line: what a refused reload reports.
  std::vector<LoadError> problems() const;
  // One line per case ("PASS"/"FAIL"), the expected-vs-actual lines under each failure, and a
  // summary line.
  std::string to_text() const;
  // {passed, cases_passed, cases_failed, files: [{file, script, errors, cases}], problems}: the
  // self_test report of the plugin ABI.
  nlohmann::json to_json() const;
};

// Runs one test file, or every *.yaml in a directory (in name order), each on the script it
// names. A path that does not exist or holds no test file is a load error of the report.
RuleTestReport run_rule_tests(const std::filesystem::path& path);

// Runs the rule tests of `scorer`: the cases of every file at `path` (a file, or the *.yaml of a
// directory) whose `script` is the scorer's script, on the scorer's own rules (a file's `params`
// laid over the scorer's). A file named alone that tests another script, or a directory with
// no file for this script, is a load error of the report.
RuleTestReport run_rule_tests(const std::filesystem::path& path, const LuaScorer& scorer);

// Reads a lead as JSON ({"source": ..., "stage": ..., "activity_count": ..., "business_domain":
// ..., "name": ..., ...}); every other key is a profile field, a string or null. Wrong types
// are errors. source defaults to "manual", stage to "new", activity_count to 0.
std::expected<plugin::Features, std::string> lead_from_json(const nlohmann::json& lead);

// Loads `script` (params: the scorer's params; "script" is set from the argument) and traces
// one lead through it.
std::expected<LeadTrace, std::vector<LoadError>> trace_rules(
    const std::filesystem::path& script, const plugin::Features& lead,
    const nlohmann::json* offer = nullptr, const nlohmann::json& params = nlohmann::json::object());

// A trace for people: one line per rule ("✓ rule  +0.70  source=\"partner\""), then the result.
std::string to_text(const LeadTrace& trace);
nlohmann::json to_json(const LeadTrace& trace);

}  // namespace leadscore::lua
