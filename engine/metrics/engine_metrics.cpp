#include "engine/metrics/engine_metrics.h"

#include <nlohmann/json.hpp>

namespace leadscore::metrics {
namespace {

struct ScorerSeries {
  CounterFamily& analyses = registry().counters(
      "leadscore_analyses_total",
      "Scorer runs kept as analyses, by scorer, scorer version and outcome (ok: the scorer "
      "asked for answered; fell_back: a fallback answered after the runs before it failed; "
      "failed).",
      {"scorer", "scorer_version", "outcome"});
  HistogramFamily& latency = registry().histograms(
      "leadscore_scorer_run_duration_seconds",
      "How long scorer runs took, answered or failed, by scorer.", {"scorer"});
  CounterFamily& tries =
      registry().counters("leadscore_llm_tries_total",
                          "Calls an LLM scorer made to its upstream, by scorer.", {"scorer"});
  CounterFamily& tokens = registry().counters(
      "leadscore_llm_tokens_total",
      "Tokens an LLM scorer's upstream counted, by scorer and direction (in: the prompt, out: "
      "the answer).",
      {"scorer", "direction"});
  GaugeFamily& breaker = registry().gauges(
      "leadscore_llm_breaker_state",
      "The circuit breaker in front of an LLM scorer's upstream as its last run saw it: 0 "
      "closed, 1 open, 2 half-open.",
      {"scorer"});
};

ScorerSeries& scorer_series() {
  static ScorerSeries* const series = new ScorerSeries;
  return *series;
}

std::uint64_t count_of(const nlohmann::json& audit, const char* name) {
  auto it = audit.find(name);
  if (it == audit.end() || !it->is_number_integer()) return 0;
  const auto value = it->get<std::int64_t>();
  return value > 0 ? static_cast<std::uint64_t>(value) : 0;
}

// An LLM's audit counts under `scorer`; a composite's audit ({"parts": {NAME: audit}}) counts
// each LLM part under the part's own scorer name.
void usage_of(std::string_view scorer, const nlohmann::json& parsed, int depth = 0) {
  if (auto parts = parsed.find("parts"); parts != parsed.end() && parts->is_object() && depth < 4)
    for (const auto& [name, part] : parts->items())
      if (part.is_object()) usage_of(name, part, depth + 1);
  if (!parsed.contains("tries")) return;
  auto& series = scorer_series();
  if (const auto tries = count_of(parsed, "tries")) series.tries.with({scorer}).inc(tries);
  if (const auto in = count_of(parsed, "tokens_in")) series.tokens.with({scorer, "in"}).inc(in);
  if (const auto out = count_of(parsed, "tokens_out")) series.tokens.with({scorer, "out"}).inc(out);
  if (auto breaker = parsed.find("breaker"); breaker != parsed.end() && breaker->is_string()) {
    const auto& state = breaker->get_ref<const std::string&>();
    const int value = state == "open" ? 1 : state == "half_open" ? 2 : 0;
    series.breaker.with({scorer}).set(value);
  }
}

void llm_usage(std::string_view scorer, const std::optional<std::string>& audit) {
  // Only an audit that names tries (an LLM's, or a composite's with an LLM part) is parsed.
  if (!audit || audit->find("\"tries\"") == std::string::npos) return;
  const auto parsed = nlohmann::json::parse(*audit, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) usage_of(scorer, parsed);
}

}  // namespace

std::string_view to_string(RunOutcome outcome) {
  switch (outcome) {
    case RunOutcome::Ok:
      return "ok";
    case RunOutcome::FellBack:
      return "fell_back";
    default:
      return "failed";
  }
}

void count_scorer_run(std::string_view scorer, std::string_view version, RunOutcome outcome,
                      double latency_ms, const std::optional<std::string>& audit) {
  if (!enabled()) return;
  auto& series = scorer_series();
  series.analyses.with({scorer, version, to_string(outcome)}).inc();
  series.latency.with({scorer}).observe(latency_ms / 1000.0);
  llm_usage(scorer, audit);
}

void count_llm_usage(std::string_view scorer, const std::optional<std::string>& audit) {
  if (!enabled()) return;
  llm_usage(scorer, audit);
}

PoolGauges& pool_gauges() {
  static PoolGauges* const gauges = new PoolGauges{
      &registry().gauge("leadscore_db_pool_connections",
                        "Database connections of the process's pools."),
      &registry().gauge("leadscore_db_pool_connections_in_use",
                        "Database connections leased by a thread now."),
      &registry().gauge("leadscore_db_pool_waiters",
                        "Threads waiting for a database connection now."),
  };
  return *gauges;
}

void count_db_error(std::string_view kind) {
  if (!enabled()) return;
  static CounterFamily& errors = registry().counters(
      "leadscore_db_errors_total",
      "Database statements that failed, by kind (unavailable: the database could not be "
      "reached or the statement was cancelled; refused: a constraint or a conflict; internal: "
      "anything else).",
      {"kind"});
  errors.with({kind}).inc();
}

Gauge& jobs_running() {
  static Gauge& running = registry().gauge(
      "leadscore_jobs_running", "Background scoring jobs this process's runners are working on.");
  return running;
}

void count_job_leads(std::uint64_t done, std::uint64_t failed) {
  if (!enabled()) return;
  static CounterFamily& leads = registry().counters(
      "leadscore_job_leads_total", "Leads background jobs finished here, by outcome.", {"outcome"});
  if (done > 0) leads.with({"done"}).inc(done);
  if (failed > 0) leads.with({"failed"}).inc(failed);
}

}  // namespace leadscore::metrics
