#include "engine/domain/analysis.h"

namespace leadscore::domain {

Features features_of(const Lead& lead) {
  return {lead.source, lead.stage, lead.activity_count, lead.business_domain, lead.profile};
}

}  // namespace leadscore::domain
