// Running a scorer with its fallbacks: a scorer that errors, exceeds its budget or returns a
// malformed result fails that run only, and its `fallback` (then the fallback's fallback, ...)
// answers instead. The caller stores the result with the scorer that produced it and, when a
// fallback answered, `fallback_from: {scorer, error}` of the first failure.
//
// Threading: safe from any thread (scorers are).
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "engine/scoring/registry.h"

namespace leadscore::scoring {

// One failed run in a chain.
struct ScorerFailure {
  std::string scorer;   // its name
  std::string version;  // its version
  std::string error;    // why the run failed
  double latency_ms = 0;
};

struct FallbackRun {
  // The answer; nullopt when every scorer of the chain failed.
  std::optional<ScoreResult> result;
  // The scorer that produced `result`; nullptr when every one failed.
  const Scorer* scorer = nullptr;
  // The runs that failed, in order: the scorer asked first, then its fallbacks. Empty when the
  // scorer asked answered itself; when a fallback answered, failures.front() is the
  // `fallback_from` of the result.
  std::vector<ScorerFailure> failures;
  double latency_ms = 0;  // of the run that produced `result` (0 when none did)

  bool fell_back() const { return result && !failures.empty(); }
  // "scorer a failed: ...; scorer b failed: ...", for a 503 when every scorer failed.
  std::string failure_summary() const;
};

// One run of one scorer: its result, or why the run failed (the scorer's error, a malformed
// result, or more time than its budget_ms), and how long it took.
struct ScorerRun {
  std::expected<ScoreResult, std::string> result;
  double latency_ms = 0;
};

// Runs `scorer` (one of `set`) once, with the checks and the budget of run_with_fallback().
// Shadow runs use it: they answer nobody, but are held to the same rules.
ScorerRun run_scorer(const ScorerSet& set, const Scorer& scorer, const Features& features);

// Runs `scorer` (one of `set`) on the features; when it fails, runs its fallback, and so on
// until one answers or the chain ends. A run fails when the scorer returns an error, when it
// takes longer than its budget_ms (its result is then discarded), or when its result does not
// keep the result contract (domain::check). Never throws (short of std::bad_alloc).
FallbackRun run_with_fallback(const ScorerSet& set, const Scorer& scorer, const Features& features);

}  // namespace leadscore::scoring
