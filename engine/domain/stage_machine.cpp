#include "engine/domain/stage_machine.h"

namespace leadscore::domain {
namespace {

// The forward successor of a non-final stage on the main line.
template <typename Stage>
constexpr int rank(Stage stage) {
  return static_cast<int>(stage);
}

}  // namespace

TransitionVerdict check_lead_transition(LeadStage from, LeadStage to) {
  if (is_final(from)) return TransitionVerdict::FromFinal;
  if (to == LeadStage::Lost) return TransitionVerdict::Allowed;
  if (to == LeadStage::Transferred) return TransitionVerdict::NeedsHandoff;
  if (rank(to) == rank(from) + 1) return TransitionVerdict::Allowed;
  return TransitionVerdict::Invalid;
}

TransitionVerdict check_sale_transition(SaleStage from, SaleStage to) {
  if (is_final(from)) return TransitionVerdict::FromFinal;
  if (to == SaleStage::Lost) return TransitionVerdict::Allowed;
  if (rank(to) == rank(from) + 1) return TransitionVerdict::Allowed;
  return TransitionVerdict::Invalid;
}

}  // namespace leadscore::domain
