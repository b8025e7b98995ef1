// The result contract: what every scorer result must be before the engine accepts it, whichever
// scorer produced it (a plugin, a built-in scorer, a fallback, a shadow). One function, so that
// the live analysis, the offline commands and the plugin adapter refuse the same results with
// the same words. Pure; safe from any thread.
#pragma once

#include <cstddef>
#include <expected>
#include <string>

#include "engine/domain/analysis.h"

namespace leadscore::domain {

// Points may differ from the score by rounding, no more.
inline constexpr double kContributionSumTolerance = 1e-9;
// An intent is a short label ("High", "Medium", "Low"), stored and shown as it is.
inline constexpr std::size_t kMaxIntentBytes = 64;

// Whether `result` is a valid scorer result: score finite and in [0, 1]; a known recommendation;
// a reason that is not blank; at least one contribution, each with a rule and finite points,
// the points adding up to the score within kContributionSumTolerance; an intent, when there is
// one, not blank, at most kMaxIntentBytes bytes and printable UTF-8 (no control characters).
// Returns what is wrong (the first rule broken, in that order), if anything.
std::expected<void, std::string> check(const ScoreResult& result);

}  // namespace leadscore::domain
