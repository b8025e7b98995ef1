// JSON <-> engine values for the REST layer. Parsing is strict: unknown members, wrong
// types and fields a caller may not set are Validation errors naming the field.
#pragma once

#include <expected>
#include <memory>
#include <nlohmann/json.hpp>

#include "engine/domain/analysis.h"
#include "engine/domain/error.h"
#include "engine/domain/job.h"
#include "engine/domain/lead.h"
#include "engine/domain/lead_input.h"
#include "engine/domain/offer.h"
#include "engine/store/store.h"

namespace leadscore::api {

using nlohmann::json;

json to_json(const domain::Lead& lead);
// The text json_reply writes for to_json(lead), byte for byte, without building the json value
// (its tree of allocations): a GET of a lead writes one per request.
std::string lead_json_text(const domain::Lead& lead);
json to_json(const domain::Sale& sale);
json to_json(const store::StageEvent& event);
json to_json(const domain::Analysis& analysis);
json to_json(const domain::ScoreResult& result);
json to_json(const store::ApiKey& key);  // never the hash
json to_json(const domain::Offer& offer);
// A job with its progress: rate (leads/s) and eta_seconds (null unless running).
json to_json(const domain::Job& job);

std::expected<domain::NewLead, domain::Error> parse_new_lead(const json& body);
std::expected<domain::LeadPatch, domain::Error> parse_lead_patch(const json& body);

// The body of POST /offers and PUT /offers/{id}: name (required), description, value_props,
// ideal_use_cases (arrays of strings), active (a boolean); an absent member takes its default
// (null, [], false). Only the JSON shape is checked here; domain::validate checks the values.
std::expected<domain::OfferInput, domain::Error> parse_offer(const json& body);
// An offer file of `leadscore score --offer`: a body as POST /offers takes it, or an offer as
// GET /offers/{id} answers it (its id is passed on to scorers; created_at, updated_at and
// active are ignored: the file's offer is the one used). Checked with domain::validate.
std::expected<domain::Offer, domain::Error> parse_offer_file(const json& body);

// The offer as scorers see it: {id, name, description?, value_props, ideal_use_cases} (no id
// when it has none, as an offer file may).
std::shared_ptr<const domain::OfferView> offer_view(const domain::Offer& offer);

}  // namespace leadscore::api
