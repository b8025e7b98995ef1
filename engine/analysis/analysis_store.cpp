#include "engine/analysis/analysis_store.h"

#include <unordered_set>

namespace leadscore::analysis {

Result<std::vector<SetOutcome>> AnalysisStore::Session::record_set(
    std::span<const ToRecord> on_leads, std::span<const ToAppend> appended) {
  std::vector<SetOutcome> outcomes;
  outcomes.reserve(on_leads.size());
  for (const ToAppend& row : appended) {
    if (row.only_if_stored) continue;
    if (auto kept = append(*row.analysis);
        !kept && kept.error().code != domain::ErrorCode::NotFound)
      return std::unexpected(kept.error());
  }
  for (const ToRecord& item : on_leads) {
    auto stored = record(*item.seen, *item.analysis, Storage::OnLead);
    if (stored) {
      outcomes.push_back(SetOutcome::Stored);
      continue;
    }
    switch (stored.error().code) {
      case domain::ErrorCode::LeadFinal:
        outcomes.push_back(SetOutcome::Final);
        break;
      case domain::ErrorCode::Conflict:
        outcomes.push_back(SetOutcome::Changed);
        break;
      case domain::ErrorCode::NotFound:
        outcomes.push_back(SetOutcome::Missing);
        break;
      default:
        return std::unexpected(stored.error());
    }
  }
  std::unordered_set<std::int64_t> stored;
  for (std::size_t n = 0; n < on_leads.size(); ++n)
    if (outcomes[n] == SetOutcome::Stored) stored.insert(on_leads[n].seen->id);
  for (const ToAppend& row : appended) {
    if (!row.only_if_stored || !stored.contains(row.analysis->lead_id)) continue;
    if (auto kept = append(*row.analysis);
        !kept && kept.error().code != domain::ErrorCode::NotFound)
      return std::unexpected(kept.error());
  }
  return outcomes;
}

}  // namespace leadscore::analysis
