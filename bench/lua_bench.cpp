// The Lua rules scorer: rules/default.lua (the heuristic as rules) through the sandbox, one
// state on one thread, as the engine runs it. The numeric path (score and recommendation,
// ctx.explain = false) and the full result (contributions and reason); the native scorecard
// (plugins/lua/native_scorecard.h) against the helper's Lua scorecard, and rules/icp_fit.lua,
// whose when functions a native run calls back. Results and the command are in
// bench/README.md, "Lua rules".
#include <benchmark/benchmark.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "bench/sample_leads.h"
#include "plugins/lua/lua_scorer.h"
#include "plugins/lua/native_scorecard.h"

namespace {

using leadscore::lua::LuaScorer;
using leadscore::plugin::Features;

using leadscore::bench::sample_leads;

std::unique_ptr<LuaScorer> default_rules(benchmark::State& state) {
  auto scorer = LuaScorer::create("default", nlohmann::json{{"script", "rules/default.lua"}},
                                  LEADSCORE_SOURCE_DIR);
  if (!scorer) {
    state.SkipWithError(leadscore::lua::to_text(scorer.error()).c_str());
    return nullptr;
  }
  return std::move(*scorer);
}

void BM_LuaDefaultRulesEvaluate(benchmark::State& state) {
  const auto scorer = default_rules(state);
  if (!scorer) return;
  const auto leads = sample_leads();
  std::size_t i = 0;
  for (auto _ : state) {
    auto evaluation = scorer->evaluate(leads[i++ & 1023]);
    benchmark::DoNotOptimize(evaluation);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LuaDefaultRulesEvaluate);

void BM_LuaDefaultRulesScoreWithReason(benchmark::State& state) {
  const auto scorer = default_rules(state);
  if (!scorer) return;
  const auto leads = sample_leads();
  std::size_t i = 0;
  for (auto _ : state) {
    auto result = scorer->score(leads[i++ & 1023]);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LuaDefaultRulesScoreWithReason);

// The same script in a sandbox that always runs the helper's Lua scorecard (as before the
// native scorecard): the difference is what compiling the scorecard buys.
std::unique_ptr<leadscore::lua::LuaSandbox> lua_scorecard(benchmark::State& state) {
  const auto read = [](const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const std::filesystem::path rules = std::filesystem::path(LEADSCORE_SOURCE_DIR) / "rules";
  const leadscore::lua::RuleSources sources{
      {{"rules/lib/rules.lua", read(rules / "lib" / "rules.lua")}},
      {"rules/default.lua", read(rules / "default.lua")}};
  auto sandbox = leadscore::lua::LuaSandbox::create(sources, nlohmann::json::object(), {},
                                                    leadscore::lua::ScorecardEngine::Lua);
  if (!sandbox) {
    state.SkipWithError(sandbox.error().to_text().c_str());
    return nullptr;
  }
  return std::move(*sandbox);
}

void BM_LuaDefaultRulesLuaScorecardEvaluate(benchmark::State& state) {
  const auto sandbox = lua_scorecard(state);
  if (!sandbox) return;
  const auto leads = sample_leads();
  std::size_t i = 0;
  for (auto _ : state) {
    auto evaluation = sandbox->evaluate(leads[i++ & 1023]);
    benchmark::DoNotOptimize(evaluation);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LuaDefaultRulesLuaScorecardEvaluate);

void BM_LuaDefaultRulesLuaScorecardScoreWithReason(benchmark::State& state) {
  const auto sandbox = lua_scorecard(state);
  if (!sandbox) return;
  const auto leads = sample_leads();
  std::size_t i = 0;
  for (auto _ : state) {
    auto result = sandbox->score(leads[i++ & 1023]);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LuaDefaultRulesLuaScorecardScoreWithReason);

// rules/icp_fit.lua, full result: the native scorecard calls its role, industry and profile
// functions in Lua (the budget armed once per score), over the sample leads with profiles.
void BM_LuaIcpFitScoreWithReason(benchmark::State& state) {
  auto scorer = LuaScorer::create(
      "icp_fit",
      nlohmann::json{{"script", "rules/icp_fit.lua"}, {"icp_industries", {"fintech", "payments"}}},
      LEADSCORE_SOURCE_DIR);
  if (!scorer) {
    state.SkipWithError(leadscore::lua::to_text(scorer.error()).c_str());
    return;
  }
  using Profile = std::vector<leadscore::plugin::ProfileField>;
  Profile profiles[4];
  profiles[0] = {{"name", "Ann"},     {"email", "ann@acme.io"}, {"role", "VP of Sales"},
                 {"company", "Acme"}, {"industry", "FinTech"},  {"location", "Berlin"},
                 {"bio", "Builds"}};
  profiles[1] = {{"role", "Lead Architect"}, {"industry", "Retail payments"}};
  profiles[3] = {{"role", "Intern"}};
  auto leads = sample_leads();
  for (std::size_t k = 0; k < leads.size(); ++k) leads[k].profile = profiles[k % 4];
  std::size_t i = 0;
  for (auto _ : state) {
    auto result = (*scorer)->score(leads[i++ & 1023]);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LuaIcpFitScoreWithReason);

// A script made from `text` in a temporary file.
std::unique_ptr<LuaScorer> inline_script(benchmark::State& state, const char* name,
                                         const char* text) {
  const auto script = std::filesystem::temp_directory_path() /
                      (std::string("leadscore_lua_bench_") + name + ".lua");
  std::ofstream(script) << text;
  auto scorer = LuaScorer::create(name, nlohmann::json{{"script", script.string()}}, "/");
  if (!scorer) {
    state.SkipWithError(leadscore::lua::to_text(scorer.error()).c_str());
    return nullptr;
  }
  return std::move(*scorer);
}

void evaluate_all(benchmark::State& state, const LuaScorer& scorer) {
  const auto leads = sample_leads();
  std::size_t i = 0;
  for (auto _ : state) {
    auto evaluation = scorer.evaluate(leads[i++ & 1023]);
    benchmark::DoNotOptimize(evaluation);
  }
  state.SetItemsProcessed(state.iterations());
}

// The floor: a script that returns a constant result, so the figure is the sandbox's own cost
// per call (filling the lead, the protected call, the hook, reading and checking the result).
void BM_LuaConstantScriptEvaluate(benchmark::State& state) {
  const auto scorer = inline_script(state, "constant", R"(
    local result = {score = 0.5, recommendation = "continue_qualification", reason = "constant",
                    contributions = {{rule = "constant", points = 0.5}}}
    return {name = "constant", version = "1", score = function(lead, ctx) return result end})");
  if (scorer) evaluate_all(state, *scorer);
}
BENCHMARK(BM_LuaConstantScriptEvaluate);

// The heuristic hand-written in plain Lua (no helper, no explanation on the numeric path): what
// the rules helper's generality costs, by difference with BM_LuaDefaultRulesEvaluate.
void BM_LuaHandWrittenHeuristicEvaluate(benchmark::State& state) {
  const auto scorer = inline_script(state, "hand_written", R"(
    local find = string.find
    local SOURCE = {scanner = 0.5, partner = 0.7, manual = 0.4}
    local STAGE = {new = 0.0, contacted = 0.05, qualified = 0.15, transferred = 0.2, lost = -0.4}
    local result = {}
    return {name = "hand_written", version = "1", score = function(lead, ctx)
      local s = SOURCE[lead.source] or 0.3
      local a = lead.activity_count
      if a < 1 then s = s - 0.2 elseif a < 3 then s = s + 0.05
      elseif a < 7 then s = s + 0.15 else s = s + 0.25 end
      s = s + STAGE[lead.stage]
      local d = lead.business_domain
      local has = d ~= nil and find(d, "%S") ~= nil
      if has then s = s + 0.1 elseif s > 0.55 then s = 0.55 end
      if s < 0 then s = 0.0 elseif s > 1 then s = 1.0 end
      result.score = s
      result.recommendation = (s >= 0.7 and has) and "transfer_to_sales"
          or (s <= 0.3 and "drop_lead" or "continue_qualification")
      return result
    end})");
  if (scorer) evaluate_all(state, *scorer);
}
BENCHMARK(BM_LuaHandWrittenHeuristicEvaluate);

}  // namespace

BENCHMARK_MAIN();
