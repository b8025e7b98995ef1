// The scoring of a comparison (`leadscore compare`, POST /scorers/compare): every lead scored by
// each named scorer itself, through the scoring step of every analysis (scoring_step.h: held
// to the result contract and its budget_ms; a failed run counts as failed: no fallback answers
// in its place), collected as the runs that scoring::compare_scorers compares. Nothing stored.
//
// Threading: one ComparisonRuns per thread; the scorers it holds are safe from any thread.
#pragma once

#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/scoring/comparison.h"
#include "engine/scoring/registry.h"

namespace leadscore::analysis {

class ComparisonRuns {
 public:
  using Clock = std::chrono::steady_clock;

  // The runs of the scorers of `set` named in `names`, in that order; the error is the first
  // name `set` has no scorer of. `set` must outlive this object.
  static std::expected<ComparisonRuns, std::string> of(const scoring::ScorerSet& set,
                                                       const std::vector<std::string>& names);

  // Scores one lead with each scorer, on the calling thread, and adds its answers (nullopt for
  // a failed run). A slow scorer's run (an LLM) is not started once `slow_deadline` has passed:
  // it counts as failed.
  void add(const domain::Features& features,
           std::optional<Clock::time_point> slow_deadline = std::nullopt);

  // Whether any of the scorers is slow (Scorer::slow()).
  bool any_slow() const;
  // The first slow scorer's name; empty when none is.
  std::string first_slow() const;

  std::size_t leads() const { return runs_.empty() ? 0 : runs_.front().scores.size(); }
  const std::vector<scoring::ScorerRun>& runs() const { return runs_; }
  // The runs, leaving this object without them.
  std::vector<scoring::ScorerRun> take() && { return std::move(runs_); }

 private:
  ComparisonRuns(const scoring::ScorerSet& set) : set_(&set) {}

  const scoring::ScorerSet* set_;
  std::vector<const scoring::Scorer*> scorers_;
  std::vector<scoring::ScorerRun> runs_;
};

}  // namespace leadscore::analysis
