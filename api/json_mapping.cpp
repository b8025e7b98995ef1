#include "api/json_mapping.h"

#include <limits>

#include "api/exchange.h"

namespace leadscore::api {
namespace {

using domain::Error;

json optional_text(const std::optional<std::string>& value) {
  return value ? json(*value) : json(nullptr);
}

json features_json(const domain::Features& f) {
  json out{{"source", f.source},
           {"stage", domain::to_string(f.stage)},
           {"activity_count", f.activity_count},
           {"business_domain", optional_text(f.business_domain)}};
  domain::for_each_profile_field(
      f.profile, [&](const char* name, const auto& v) { out[name] = optional_text(v); });
  return out;
}

// A text member: a string, or null to leave it empty.
std::expected<std::optional<std::string>, Error> text_member(const json& value,
                                                             const std::string& field) {
  if (value.is_null()) return std::optional<std::string>{};
  if (!value.is_string())
    return std::unexpected(Error::validation(field, field + " must be a string or null"));
  return std::optional<std::string>{value.get<std::string>()};
}

const std::vector<std::string_view> kTextFields{"business_domain", "name",     "email",    "role",
                                                "company",         "industry", "location", "bio"};
const std::vector<std::string_view> kServerFields{"id", "stage", "created_at", "updated_at"};

}  // namespace

json to_json(const domain::Lead& lead) {
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

json to_json(const domain::Sale& sale) {
  return {{"id", sale.id},
          {"lead_id", sale.lead_id},
          {"stage", domain::to_string(sale.stage)},
          {"created_at", sale.created_at},
          {"updated_at", sale.updated_at}};
}

json to_json(const store::StageEvent& e) {
  return {{"from", e.from ? json(domain::to_string(*e.from)) : json(nullptr)},
          {"to", domain::to_string(e.to)},
          {"actor", e.actor},
          {"at", e.at}};
}

json to_json(const domain::ScoreResult& r) {
  json contributions = json::array();
  for (const auto& c : r.contributions)
    contributions.push_back({{"rule", c.rule}, {"points", c.points}});
  json out{{"score", r.score},
           {"recommendation", domain::to_string(r.recommendation)},
           {"reason", r.reason},
           {"contributions", std::move(contributions)}};
  if (r.intent) out["intent"] = *r.intent;  // DESIGN.md's `intent?`: absent when none
  return out;
}

json to_json(const domain::Analysis& a) {
  json out{{"id", a.id},
           {"scorer", a.scorer},
           {"scorer_version", a.scorer_version},
           {"role", a.role},
           {"actor", a.actor},
           {"features", features_json(a.features)},
           {"latency_ms", a.latency_ms},
           {"error", optional_text(a.error)},
           {"created_at", a.created_at}};
  if (a.result) {
    json r = to_json(*a.result);
    for (auto& [k, v] : r.items()) out[k] = v;
  }
  return out;
}

json to_json(const store::ApiKey& key) {
  return {{"name", key.name}, {"role", store::to_string(key.role)}, {"created_at", key.created_at}};
}

std::expected<domain::NewLead, Error> parse_new_lead(const json& body) {
  const std::vector<std::string_view> allowed{
      "source", "activity_count", "business_domain", "name",     "email",
      "role",   "company",        "industry",        "location", "bio"};
  if (auto e = check_members(body, allowed, kServerFields)) return std::unexpected(*e);
  domain::NewLead lead;
  auto source = body.find("source");
  if (source == body.end() || source->is_null())
    return std::unexpected(Error::validation("source", "source is required"));
  if (!source->is_string())
    return std::unexpected(Error::validation("source", "source must be a string"));
  lead.source = source->get<std::string>();
  if (auto count = body.find("activity_count"); count != body.end()) {
    if (!count->is_number_integer() ||
        (count->is_number_unsigned() &&
         count->get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max())))
      return std::unexpected(
          Error::validation("activity_count", "activity_count must be an integer >= 0"));
    lead.activity_count = count->get<std::int64_t>();
  }
  if (auto domain_value = body.find("business_domain"); domain_value != body.end()) {
    auto text = text_member(*domain_value, "business_domain");
    if (!text) return std::unexpected(text.error());
    lead.business_domain = *text;
  }
  std::optional<Error> error;
  domain::for_each_profile_field(lead.profile,
                                 [&](const char* name, std::optional<std::string>& target) {
                                   auto it = body.find(name);
                                   if (error || it == body.end()) return;
                                   auto text = text_member(*it, name);
                                   if (!text)
                                     error = text.error();
                                   else
                                     target = *text;
                                 });
  if (error) return std::unexpected(*error);
  return lead;
}

std::expected<domain::LeadPatch, Error> parse_lead_patch(const json& body) {
  if (auto e =
          check_members(body, kTextFields,
                        {"id", "stage", "source", "activity_count", "created_at", "updated_at"}))
    return std::unexpected(*e);
  domain::LeadPatch patch;
  auto read = [&](std::string_view name,
                  std::optional<std::optional<std::string>>& target) -> std::optional<Error> {
    auto it = body.find(std::string(name));
    if (it == body.end()) return std::nullopt;
    auto text = text_member(*it, std::string(name));
    if (!text) return text.error();
    target = *text;
    return std::nullopt;
  };
  std::optional<Error> error = read("business_domain", patch.business_domain);
  domain::for_each_profile_field(patch, [&](std::string_view name, auto& target) {
    if (!error) error = read(name, target);
  });
  if (error) return std::unexpected(*error);
  if (patch.empty())
    return std::unexpected(Error::validation("body",
                                             "nothing to change: give at least one of "
                                             "business_domain, name, email, role, "
                                             "company, industry, location, bio"));
  return patch;
}

}  // namespace leadscore::api
