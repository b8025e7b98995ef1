// The scorer interface: a scorer turns a lead's features into a score, a recommendation,
// a reason and the contributions that explain the score; a run may also leave an audit (what
// the scorer asked and was told: an LLM's prompt version, model, tokens, raw answer), kept with
// the analysis whether the run answered or failed.
//
// Threading: score() and run() are const and safe to call from any number of threads at once.
#pragma once

#include <cstddef>
#include <expected>
#include <optional>
#include <string>

#include "engine/domain/analysis.h"

namespace leadscore::scoring {

using domain::Features;
using domain::ScoreResult;

// The longest audit kept; a longer one is replaced by {"invalid_audit": "<why>"}.
inline constexpr std::size_t kMaxAuditBytes = 16 * 1024;

// What one run of a scorer gives: the result or why the run failed, and, for either, the
// scorer's audit of the run (a JSON object text of at most kMaxAuditBytes) when it keeps one.
struct ScorerAnswer {
  std::expected<ScoreResult, std::string> result;
  std::optional<std::string> audit;
};

class Scorer {
 public:
  virtual ~Scorer() = default;
  virtual const std::string& name() const = 0;
  virtual const std::string& version() const = 0;
  // The result, or a message saying why this run failed. Never throws.
  virtual std::expected<ScoreResult, std::string> score(const Features& features) const = 0;
  // The run with its audit. A scorer that keeps none need not override it.
  virtual ScorerAnswer run(const Features& features) const { return {score(features), {}}; }
  // True when a run may wait on the network for seconds (an LLM): the server runs it on a
  // bounded pool of its own, never on the threads that serve requests.
  virtual bool slow() const { return false; }
};

}  // namespace leadscore::scoring
