// The config of the tests of live experiments (experiment_routes_test.cpp,
// report_pages_browser_test.cpp): the shipped scorers as files of this checkout, and experiment
// "trial" (salt trial-1, min_n 2) with the arms given.
#pragma once

#include <string>

namespace leadscore::testing {

// Two arms of equal weight: the heuristic (control) against its Lua rules (challenger), which
// score alike, so that every lead can be handed off; icp_fit runs as a shadow on every analysis.
inline std::string experiment_config(const std::string& weights, const std::string& extra = "") {
  const std::string src = LEADSCORE_SOURCE_DIR;
  return "jobs: {runners: 1, batch_size: 50}\n"
         "scoring:\n"
         "  primary: heuristic\n"
         "  shadow: [icp_fit]\n"
         "  scorers:\n"
         "    heuristic: {plugin: heuristic}\n"
         "    rules: {plugin: lua, params: {script: " +
         src +
         "/rules/default.lua}, fallback: heuristic}\n"
         "    icp_fit: {plugin: lua, params: {script: " +
         src +
         "/rules/icp_fit.lua}, fallback: heuristic}\n"
         "experiments:\n"
         "  - name: trial\n"
         "    salt: trial-1\n"
         "    min_n: 2\n"
         "    arms:\n"
         "      " +
         weights + "\n" + extra;
}
inline const std::string kEvenSplit =
    "[{name: control, scorer: heuristic, weight: 50}, {name: challenger, scorer: rules, weight: "
    "50}]";
// Every bucket but none goes to the challenger: each new lead does.
inline const std::string kChallengerOnly =
    "[{name: control, scorer: heuristic, weight: 1}, {name: challenger, scorer: rules, weight: "
    "1000000}]";

}  // namespace leadscore::testing
