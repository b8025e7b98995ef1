// The scorer interface: a scorer turns a lead's features into a score, a recommendation,
// a reason and the contributions that explain the score.
//
// Threading: score() is const and safe to call from any number of threads at once.
#pragma once

#include <expected>
#include <string>

#include "engine/domain/analysis.h"

namespace leadscore::scoring {

using domain::Features;
using domain::ScoreResult;

class Scorer {
 public:
  virtual ~Scorer() = default;
  virtual const std::string& name() const = 0;
  virtual const std::string& version() const = 0;
  // The result, or a message saying why this run failed. Never throws.
  virtual std::expected<ScoreResult, std::string> score(const Features& features) const = 0;
};

}  // namespace leadscore::scoring
