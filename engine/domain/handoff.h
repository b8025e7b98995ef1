// The handoff of a lead to sales: the checks that must all pass before a lead becomes
// `transferred` and a sale is created. Pure functions; safe from any thread.
#pragma once

#include <string_view>
#include <vector>

#include "engine/domain/lead.h"

namespace leadscore::domain {

enum class HandoffCheck {
  StageNotQualified,      // the lead must be in `qualified`
  NotAnalyzed,            // the lead must have a score
  ScoreBelowThreshold,    // ai_score >= min_score (inclusive)
  BusinessDomainMissing,  // business_domain set and not blank
};

std::string_view code(HandoffCheck check);

struct HandoffPolicy {
  double min_score = 0.6;
};

// Every failing check, in the order above; empty when the handoff may happen.
std::vector<HandoffCheck> failed_handoff_checks(const Lead& lead, const HandoffPolicy& policy);

}  // namespace leadscore::domain
