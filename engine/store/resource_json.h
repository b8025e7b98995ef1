// The JSON of a lead and a sale as the API shows them (GET /leads/{id}, GET /sales/{id}), in
// one place: the API's answers and the webhooks' event bodies, which the store writes into the
// outbox with the change, carry the same shape.
//
// Threading: pure functions, safe from any thread.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/domain/lead.h"

namespace leadscore::store {

nlohmann::json lead_json(const domain::Lead& lead);
nlohmann::json sale_json(const domain::Sale& sale);

}  // namespace leadscore::store
