#include "engine/metrics/engine_metrics.h"

#include <gtest/gtest.h>

namespace leadscore::metrics {
namespace {

// The value of `series` (name and labels as rendered) in the process's registry; 0 if absent.
double sample(const std::string& series) {
  const std::string text = registry().render();
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(EngineMetrics, AnLlmRunsAuditCountsItsTriesTokensAndBreaker) {
  const std::string audit =
      R"({"prompt_version":"v1","model":"m","tokens_in":120,"tokens_out":30,"tries":2,)"
      R"("breaker":"half_open","raw":"{}"})";
  count_scorer_run("llm_a", "v1", RunOutcome::Ok, 250, audit);
  count_scorer_run("llm_a", "v1", RunOutcome::Failed, 10,
                   std::string(R"({"tokens_in":0,"tokens_out":0,"tries":1,"breaker":"open"})"));
  EXPECT_EQ(sample("leadscore_llm_tries_total{scorer=\"llm_a\"}"), 3);
  EXPECT_EQ(sample("leadscore_llm_tokens_total{scorer=\"llm_a\",direction=\"in\"}"), 120);
  EXPECT_EQ(sample("leadscore_llm_tokens_total{scorer=\"llm_a\",direction=\"out\"}"), 30);
  EXPECT_EQ(sample("leadscore_llm_breaker_state{scorer=\"llm_a\"}"), 1);
  EXPECT_EQ(sample("leadscore_analyses_total{scorer=\"llm_a\",scorer_version=\"v1\",outcome="
                   "\"ok\"}"),
            1);
  EXPECT_EQ(sample("leadscore_scorer_run_duration_seconds_count{scorer=\"llm_a\"}"), 2);
  EXPECT_DOUBLE_EQ(sample("leadscore_scorer_run_duration_seconds_sum{scorer=\"llm_a\"}"), 0.26);
}

TEST(EngineMetrics, ACompositesLlmPartCountsUnderThePartsName) {
  count_scorer_run("hybrid_d", "3", RunOutcome::Ok, 5,
                   std::string(R"({"parts":{"rules_d":{},"llm_d":{"tries":1,"tokens_in":7,)"
                               R"("tokens_out":2,"breaker":"closed"}}})"));
  EXPECT_EQ(sample("leadscore_llm_tries_total{scorer=\"llm_d\"}"), 1);
  EXPECT_EQ(sample("leadscore_llm_tokens_total{scorer=\"llm_d\",direction=\"in\"}"), 7);
  EXPECT_EQ(sample("leadscore_llm_breaker_state{scorer=\"llm_d\"}"), 0);
  EXPECT_EQ(sample("leadscore_llm_tries_total{scorer=\"hybrid_d\"}"), 0);
  EXPECT_EQ(sample("leadscore_analyses_total{scorer=\"hybrid_d\",scorer_version=\"3\",outcome="
                   "\"ok\"}"),
            1);
}

TEST(EngineMetrics, AnAuditWithoutTriesIsNoLlmUsage) {
  count_scorer_run("rules_b", "1", RunOutcome::FellBack, 1, std::string(R"({"tokens_in":5})"));
  count_scorer_run("rules_b", "1", RunOutcome::FellBack, 1, std::string("not json \"tries\""));
  EXPECT_EQ(sample("leadscore_llm_tokens_total{scorer=\"rules_b\",direction=\"in\"}"), 0);
  EXPECT_EQ(sample("leadscore_analyses_total{scorer=\"rules_b\",scorer_version=\"1\",outcome="
                   "\"fell_back\"}"),
            2);
}

TEST(EngineMetrics, NothingCountsWhileTurnedOff) {
  set_enabled(false);
  count_scorer_run("off_c", "1", RunOutcome::Ok, 1, std::nullopt);
  count_db_error("internal");
  set_enabled(true);
  EXPECT_EQ(sample("leadscore_analyses_total{scorer=\"off_c\",scorer_version=\"1\",outcome="
                   "\"ok\"}"),
            0);
}

}  // namespace
}  // namespace leadscore::metrics
