// The scoring step that every analysis shares, live or offline: a lead's features → a scorer
// (then its fallback, then the fallback's, ... when asked to follow them) → a result held to the
// result contract (domain::check) and to the scorer's budget_ms. No store, no I/O of its own:
// the Analyzer records what it returns; `leadscore score` and `leadscore compare` write it out.
//
// A run fails when the scorer returns an error, throws, returns a result that breaks the
// contract, or takes longer than its budget_ms (its result is then discarded). The caller keeps
// the result with the scorer that produced it and, when a fallback answered,
// `fallback_from: {scorer, error}` of the first failure.
//
// Slow scorers (Scorer::slow(): an LLM) run, when the caller gives SlowRuns, on a bounded pool
// of their own: the calling thread waits for the run no later than the deadline (and the
// scorer's budget_ms), and a full pool fails the run at once, so that its fallback answers. A
// run given up on goes on in the pool until the plugin returns (a plugin call cannot be
// stopped); its result is then dropped, and SlowRuns::ended_late told (with its audit). A queued
// run whose deadline has passed never starts.
//
// Threading: safe from any thread (scorers are). Allocates nothing of its own when the scorer
// asked answers inline: the offline commands call it once per row.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/scoring/registry.h"

namespace leadscore::analysis {

using domain::Features;
using domain::ScoreResult;
using scoring::Scorer;
using scoring::ScorerSet;

// Whether a failed run is answered by the scorer's fallback. Analyses follow the chain; a shadow
// run and an offline comparison judge the scorer itself, so its failure stays a failure.
enum class Fallbacks { Follow, Ignore };

// One failed run in a chain.
struct ScorerFailure {
  std::string scorer;   // its name
  std::string version;  // its version
  std::string error;    // why the run failed
  double latency_ms = 0;
  std::optional<std::string> audit;  // the scorer's audit of the run, when it kept one
};

// Where the runs of slow scorers go, and how long they are waited for.
struct SlowRuns {
  using Clock = std::chrono::steady_clock;
  // Posts a task to the slow-scorer pool; false when the pool is full (the task is not run).
  std::function<bool(std::move_only_function<void()>&&)> post;
  // No run is waited for past this moment (nor past its scorer's budget_ms).
  Clock::time_point deadline = Clock::time_point::max();
  // Keeps the scorers (their set) alive for a run that is still going when its caller gave up.
  std::shared_ptr<const void> owner;
  // Set when the server stops: runs are no longer waited for (checked every 50 ms); may be null.
  const std::atomic<bool>* stopping = nullptr;
  // Told, on the pool's thread, of a run given up on that ended after all: the features it
  // scored and the run as a failure (what it did, how long it took, its audit), so that its
  // audit is kept. May be empty.
  std::function<void(const Features&, ScorerFailure)> ended_late;
};

struct ScoringRun {
  // The answer; nullopt when every scorer run failed.
  std::optional<ScoreResult> result;
  // The scorer that produced `result`; nullptr when every one failed.
  const Scorer* scorer = nullptr;
  // The runs that failed, in order: the scorer asked first, then its fallbacks. Empty when the
  // scorer asked answered itself; when a fallback answered, failures.front() is the
  // `fallback_from` of the result.
  std::vector<ScorerFailure> failures;
  double latency_ms = 0;             // of the run that produced `result` (0 when none did)
  std::optional<std::string> audit;  // that run's audit, when its scorer kept one

  bool fell_back() const { return result && !failures.empty(); }
  // "scorer a failed: ...; scorer b failed: ...", for a 503 when every scorer failed.
  std::string failure_summary() const;
};

// Runs `scorer` (one of `set`) on the features and, with Fallbacks::Follow, its fallbacks until
// one answers or the chain ends. Slow scorers go to `slow` when it is given (and has a post),
// else run on the calling thread like the others. Never throws (short of std::bad_alloc).
ScoringRun score_features(const ScorerSet& set, const Scorer& scorer, const Features& features,
                          Fallbacks fallbacks = Fallbacks::Follow, const SlowRuns* slow = nullptr);

}  // namespace leadscore::analysis
