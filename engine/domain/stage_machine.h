// The fixed stage rules for leads and sales. Pure functions; safe from any thread.
//
// Leads: new -> contacted -> qualified -> transferred, and lost from any non-final stage.
// A move goes forward exactly one step; reaching `transferred` is the handoff, whose own
// checks (handoff.h) decide. Sales: new -> kyc -> agreement -> paid, and lost likewise.
#pragma once

#include "engine/domain/lead.h"

namespace leadscore::domain {

enum class TransitionVerdict {
  Allowed,       // the move may happen as asked
  NeedsHandoff,  // the target is `transferred`: the handoff checks decide
  FromFinal,     // the current stage is final: nothing may change
  Invalid,       // same stage, a skip, or a move backwards
};

TransitionVerdict check_lead_transition(LeadStage from, LeadStage to);
TransitionVerdict check_sale_transition(SaleStage from, SaleStage to);

}  // namespace leadscore::domain
