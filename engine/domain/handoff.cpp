#include "engine/domain/handoff.h"

namespace leadscore::domain {

std::string_view code(HandoffCheck check) {
  switch (check) {
    case HandoffCheck::StageNotQualified:
      return "stage_not_qualified";
    case HandoffCheck::NotAnalyzed:
      return "not_analyzed";
    case HandoffCheck::ScoreBelowThreshold:
      return "score_below_threshold";
    case HandoffCheck::BusinessDomainMissing:
      return "business_domain_missing";
  }
  return "unknown";
}

std::vector<HandoffCheck> failed_handoff_checks(const Lead& lead, const HandoffPolicy& policy) {
  std::vector<HandoffCheck> failed;
  if (lead.stage != LeadStage::Qualified) failed.push_back(HandoffCheck::StageNotQualified);
  if (!lead.ai_score) {
    failed.push_back(HandoffCheck::NotAnalyzed);
  } else if (!(*lead.ai_score >= policy.min_score)) {
    failed.push_back(HandoffCheck::ScoreBelowThreshold);
  }
  if (!has_business_domain(lead)) failed.push_back(HandoffCheck::BusinessDomainMissing);
  return failed;
}

}  // namespace leadscore::domain
