// The offline commands `leadscore rules test PATH` and `leadscore rules trace SCRIPT`, run
// through the Lua plugin module (lua.so) like any scorer: the rule tests are the module's
// self_test on an instance whose params name the tests, the trace is its trace. What they print
// is rendered here from the module's JSON reports.
//
// Threading: pure functions over their arguments; safe from any thread.
#pragma once

#include <expected>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/domain/analysis.h"

namespace leadscore::tools {

// A lead as `--lead JSON` gives it ({"source": ..., "stage": ..., "activity_count": ...,
// "business_domain": ..., and the profile fields}): unknown keys and wrong types are errors.
// source defaults to "manual", stage to "new", activity_count to 0.
std::expected<domain::Features, std::string> features_from_json(const nlohmann::json& lead);

struct RuleTestRun {
  bool passed = false;
  nlohmann::json report;  // the module's self_test report (see plugins/lua/rule_tests.h)
};

// Runs the rule tests at `path` (a file, or every *.yaml of a directory; relative to the
// working directory), each on the script it names, through the module `lua_module`. A module
// that cannot be loaded, or that has no self test, is an error.
std::expected<RuleTestRun, std::string> run_rule_tests(const std::string& lua_module,
                                                       const std::string& path);

// One line per case ("  PASS name (line N)" / "  FAIL ..." with the expected-vs-actual lines
// under it) under each file, and the summary line ("N passed, M failed").
std::string rule_tests_text(const nlohmann::json& report);

// Traces one lead through `script` (relative to the working directory) with `params` (a JSON
// object: ctx.params) through the module `lua_module`. The script's load errors are the
// error, one per line.
std::expected<nlohmann::json, std::string> trace_rules(const std::string& lua_module,
                                                       const std::string& script,
                                                       const nlohmann::json& params,
                                                       const domain::Features& lead);

// A trace for people: one line per rule ("  match    +0.7     source=partner   [saw ...]"), the
// fields read, then the result.
std::string trace_text(const nlohmann::json& trace);

}  // namespace leadscore::tools
