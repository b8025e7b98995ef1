// Between rows and domain values: the select lists the store's statements share, the readers
// of their rows, and the JSON stored for analyses. Private to engine/store.
//
// Readers throw std::runtime_error on a value the domain does not know (a corrupt row); the
// Session turns that into an Internal error.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/domain/analysis.h"
#include "engine/domain/lead.h"
#include "engine/domain/offer.h"
#include "engine/store/pg_connection.h"

namespace leadscore::store {

// Usable as a SELECT list and as a RETURNING list of leads; read with read_lead(). The profile
// columns are those of domain::kProfileFields, in its order.
const std::string& lead_columns();
inline constexpr int kLeadColumnCount = 14 + static_cast<int>(domain::kProfileFieldCount);

// The profile columns alone, "name, email, ...", in the order of domain::kProfileFields.
const std::string& profile_columns();

inline constexpr std::string_view kSaleColumns =
    "id, lead_id, stage, leadscore_rfc3339(created_at) AS created_at_text, "
    "leadscore_rfc3339(updated_at) AS updated_at_text";

inline constexpr std::string_view kOfferColumns =
    "id, name, description, value_props, ideal_use_cases, active, "
    "leadscore_rfc3339(created_at) AS created_at_text, "
    "leadscore_rfc3339(updated_at) AS updated_at_text";

inline constexpr std::string_view kAnalysisColumns =
    "id, lead_id, scorer, scorer_version, role, actor, features, result, contributions, "
    "latency_ms, error, leadscore_rfc3339(created_at) AS created_at_text, audit, request_id, "
    "experiment, arm";

// The columns from `first` on, in the order of lead_columns().
domain::Lead read_lead(const PgResult& result, int row, int first = 0);
domain::Sale read_sale(const PgResult& result, int row, int first = 0);
domain::Offer read_offer(const PgResult& result, int row, int first = 0);
domain::Analysis read_analysis(const PgResult& result, int row);

// jsonb documents of an analysis: features {source, stage, activity_count, business_domain?,
// name?, ..., offer_id?}, result {score, recommendation, reason, intent?}, contributions
// [{rule, points}]. The features keep the active offer's id only: an offer's text would make
// every analysis row larger by the size of the offer.
std::string features_json(const domain::Features& features);
std::string result_json(const domain::ScoreResult& result);
std::string contributions_json(const domain::ScoreResult& result);

// The jsonb of an offer's list (value_props, ideal_use_cases): an array of strings.
std::string text_list_json(const std::vector<std::string>& items);

}  // namespace leadscore::store
