// JSON <-> engine values for the REST layer. Parsing is strict: unknown members, wrong
// types and fields a caller may not set are Validation errors naming the field.
#pragma once

#include <expected>

#include <nlohmann/json.hpp>

#include "engine/domain/analysis.h"
#include "engine/domain/error.h"
#include "engine/domain/lead.h"
#include "engine/domain/lead_input.h"
#include "engine/store/store.h"

namespace leadscore::api {

using nlohmann::json;

json to_json(const domain::Lead& lead);
json to_json(const domain::Sale& sale);
json to_json(const store::StageEvent& event);
json to_json(const domain::Analysis& analysis);
json to_json(const domain::ScoreResult& result);
json to_json(const store::ApiKey& key);  // never the hash

std::expected<domain::NewLead, domain::Error> parse_new_lead(const json& body);
std::expected<domain::LeadPatch, domain::Error> parse_lead_patch(const json& body);

}  // namespace leadscore::api
