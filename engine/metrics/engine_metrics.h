// The series the engine counts (registered in metrics::registry(), metrics.h): scorer runs and
// their latency, an LLM's tries, tokens and breaker read from its runs' audits, the database
// connection pools and errors, and background jobs. The api counts requests and queues itself.
//
// Each function returns at once when counting is off (metrics.enabled: false).
//
// Threading: safe from any thread; no lock on the way (see metrics.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/metrics/metrics.h"

namespace leadscore::metrics {

// How one scorer run kept as an analysis ended: answered as the scorer asked for (ok), answered
// as a fallback after the runs before it failed (fell_back), or failed.
enum class RunOutcome { Ok, Failed, FellBack };
std::string_view to_string(RunOutcome outcome);

// One scorer run kept as an analysis (primary, ad hoc, shadow or a job's): counted by scorer,
// version and outcome, its latency observed by scorer, and, when its audit is an LLM's
// (tries, tokens_in, tokens_out, breaker), those counted by scorer (a composite's LLM part,
// {"parts": {NAME: audit}}, under NAME).
void count_scorer_run(std::string_view scorer, std::string_view version, RunOutcome outcome,
                      double latency_ms, const std::optional<std::string>& audit);
// The LLM usage of a run whose analysis is counted already (a slow run that ended after it
// was given up on: its tokens were spent all the same).
void count_llm_usage(std::string_view scorer, const std::optional<std::string>& audit);

// Connection pools (engine/store): the connections of every pool of the process, those leased,
// and the threads waiting for one.
struct PoolGauges {
  Gauge* size;
  Gauge* in_use;
  Gauge* waiters;
};
PoolGauges& pool_gauges();

// A statement that failed, by kind: unavailable (the database could not be reached, a
// cancelled statement), refused (a constraint, a conflict), internal (anything else).
void count_db_error(std::string_view kind);

// Background jobs: the jobs this process's runners are working on now, and the leads they
// finished by outcome (done, failed).
Gauge& jobs_running();
void count_job_leads(std::uint64_t done, std::uint64_t failed);

}  // namespace leadscore::metrics
