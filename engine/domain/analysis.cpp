#include "engine/domain/analysis.h"

namespace leadscore::domain {

Features features_of(const Lead& lead, std::shared_ptr<const OfferView> offer) {
  return {lead.source,          lead.stage,   lead.activity_count,
          lead.business_domain, lead.profile, std::move(offer)};
}

}  // namespace leadscore::domain
