#include "engine/store/resource_json.h"

#include <optional>
#include <string>

namespace leadscore::store {
namespace {

using nlohmann::json;

json optional_text(const std::optional<std::string>& text) {
  return text ? json(*text) : json(nullptr);
}

}  // namespace

json lead_json(const domain::Lead& lead) {
  json out{{"id", lead.id},
           {"source", lead.source},
           {"stage", domain::to_string(lead.stage)},
           {"business_domain", optional_text(lead.business_domain)},
           {"activity_count", lead.activity_count}};
  domain::for_each_profile_field(
      lead.profile, [&](const char* name, const auto& v) { out[name] = optional_text(v); });
  out["ai_score"] = lead.ai_score ? json(*lead.ai_score) : json(nullptr);
  out["ai_recommendation"] =
      lead.ai_recommendation ? json(domain::to_string(*lead.ai_recommendation)) : json(nullptr);
  out["ai_reason"] = optional_text(lead.ai_reason);
  out["ai_scorer"] = lead.ai_scorer ? json{{"name", *lead.ai_scorer},
                                           {"version", lead.ai_scorer_version.value_or("")}}
                                    : json(nullptr);
  out["ai_analyzed_at"] = optional_text(lead.ai_analyzed_at);
  out["created_at"] = lead.created_at;
  out["updated_at"] = lead.updated_at;
  return out;
}

json sale_json(const domain::Sale& sale) {
  return {{"id", sale.id},
          {"lead_id", sale.lead_id},
          {"stage", domain::to_string(sale.stage)},
          {"created_at", sale.created_at},
          {"updated_at", sale.updated_at}};
}

}  // namespace leadscore::store
