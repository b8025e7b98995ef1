// A composite scorer: one score made of the scores of other configured scorers, its parts
// (rule points 0-50 + an LLM's intent points 0-50 -> 0-100 points, normalised to 0..1).
//
// Points. A part is worth `points` (its `max_points`, or its `weight`): when its scorer answers
// a score s in 0..1, the part adds s x points. The composite's points are the sum over its parts,
// its most points the sum of every part's `points`, and its score points / most points (0..1).
// With weights, the points are on the scale of the sum of the weights (weights 0.6 and 0.4:
// 0..1; weights 3 and 1: 0..4), the score the weighted mean of the parts' scores.
//
// Intent: the label of the first band (highest min_points first) whose min_points the points
// reach. Recommendation: transfer_to_sales at transfer_min_points or more when the lead has a
// business domain (the handoff needs one), else drop_lead at drop_max_points or fewer, else
// continue_qualification. Points reach a threshold within rounding (1e-9 of the most points),
// so 0.7 x 100 reaches 70.
//
// Contributions: every contribution of every part, its points scaled by the part's share of the
// most points (points / most points) and its rule labelled with the part ("icp_fit: decision
// maker role"), so they add up to the composite's score. Should rounding leave their sum more
// than half the result contract's tolerance away from the score, the last contribution takes
// the difference.
//
// Failures. The parts run one after another, in the configured order. A part that fails (an
// error, a malformed result, over its scorer's budget_ms) is answered by its scorer's own
// fallback, then that one's, each held to its own budget; the contributions of a part answered
// so are labelled "llm (fallback icp_fit): ...", and the reason says why. A part that nothing
// answers fails the composite's run (and the composite's own fallback, if any, answers for the
// composite, as for any scorer).
//
// Version: "1.0+<hash of the definition>(part=version,...)": a change of a part's scorer (a rule
// file, a prompt, a weight) or of the composite's own definition changes it.
//
// Threading: score() is safe from any number of threads at once, as the parts' scorers are. The
// scorers the parts run are not owned: they must outlive the composite (the ScorerSet owns them
// all).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/scoring/scorer.h"

namespace leadscore::scoring {

// One scorer that may answer for a part, with its budget (0: none).
struct PartRunner {
  const Scorer* scorer = nullptr;
  int budget_ms = 0;
};

struct CompositePart {
  std::string name;   // the configured scorer of the part: the label of its contributions
  double points = 0;  // what a score of 1 of this part is worth (max_points or weight), > 0
  // Who answers for the part, in order: its own scorer, then its scorer's fallback, then that
  // one's, ...
  std::vector<PartRunner> runners;
};

struct IntentBand {
  std::string label;
  double min_points = 0;
};

struct CompositeRules {
  // Highest min_points first, the last at 0 (composite_config.h checks it); empty: no intent.
  std::vector<IntentBand> bands;
  double transfer_min_points = 0;  // transfer_to_sales at these points or more (with a domain)
  double drop_max_points = 0;      // drop_lead at these points or fewer
};

class CompositeScorer final : public Scorer {
 public:
  // Throws std::invalid_argument when there is no part, a part is worth no points or has no
  // scorer to run.
  CompositeScorer(std::string name, std::vector<CompositePart> parts, CompositeRules rules);

  const std::string& name() const override { return name_; }
  const std::string& version() const override { return version_; }
  std::expected<ScoreResult, std::string> score(const Features& features) const override;
  // score(), with the audits of its parts' runs, answered or failed, as one audit:
  // {"parts": {"<scorer>": <its audit>, ...}} (an LLM part's prompt version, tokens, ...).
  ScorerAnswer run(const Features& features) const override;
  // Slow when a scorer that may answer for one of its parts is (an LLM): the whole composite
  // then runs on the slow pool, its parts in the same thread.
  bool slow() const override;

  const std::vector<CompositePart>& parts() const { return parts_; }
  const CompositeRules& rules() const { return rules_; }
  double max_points() const { return max_points_; }

 private:
  std::string name_;
  std::vector<CompositePart> parts_;
  CompositeRules rules_;
  double max_points_ = 0;
  std::string version_;

  // The composite's result; the audit of each part's run that gave one, as (scorer, audit).
  std::expected<ScoreResult, std::string> compose(
      const Features& features, std::vector<std::pair<std::string, std::string>>& audits) const;
};

}  // namespace leadscore::scoring
