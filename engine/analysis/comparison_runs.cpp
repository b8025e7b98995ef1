#include "engine/analysis/comparison_runs.h"

#include "engine/analysis/scoring_step.h"

namespace leadscore::analysis {

std::expected<ComparisonRuns, std::string> ComparisonRuns::of(
    const scoring::ScorerSet& set, const std::vector<std::string>& names) {
  ComparisonRuns runs(set);
  for (const std::string& name : names) {
    const scoring::Scorer* scorer = set.find(name);
    if (scorer == nullptr) return std::unexpected(name);
    runs.scorers_.push_back(scorer);
    runs.runs_.push_back({name, {}, {}});
  }
  return runs;
}

void ComparisonRuns::add(const domain::Features& features,
                         std::optional<Clock::time_point> slow_deadline) {
  for (std::size_t s = 0; s < scorers_.size(); ++s) {
    const scoring::Scorer& scorer = *scorers_[s];
    std::optional<ScoreResult> result;
    if (!(scorer.slow() && slow_deadline && Clock::now() >= *slow_deadline))
      result = score_features(*set_, scorer, features, Fallbacks::Ignore).result;
    runs_[s].scores.push_back(result ? std::optional<double>(result->score) : std::nullopt);
    runs_[s].recommendations.push_back(
        result ? std::optional<domain::Recommendation>(result->recommendation) : std::nullopt);
  }
}

bool ComparisonRuns::any_slow() const { return !first_slow().empty(); }

std::string ComparisonRuns::first_slow() const {
  for (const scoring::Scorer* scorer : scorers_)
    if (scorer->slow()) return scorer->name();
  return "";
}

}  // namespace leadscore::analysis
