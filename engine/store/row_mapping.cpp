#include "engine/store/row_mapping.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace leadscore::store {
namespace {

using nlohmann::json;

template <typename Parse>
auto parse_name(std::string_view text, Parse parse, const char* what) {
  auto value = parse(text);
  if (!value)
    throw std::runtime_error(std::string("unknown ") + what +
                             " in the database: " + std::string(text));
  return *value;
}

std::optional<std::string> optional_string(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  return it->get<std::string>();
}

std::string dump(const json& value) {
  // Invalid UTF-8 cannot reach PostgreSQL's text anyway; replace rather than throw.
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

const std::string& profile_columns() {
  static const std::string columns = [] {
    std::string out;
    for (const domain::ProfileFieldSpec& spec : domain::kProfileFields)
      out.append(out.empty() ? "" : ", ").append(spec.name);
    return out;
  }();
  return columns;
}

const std::string& lead_columns() {
  static const std::string columns =
      "id, source, stage, business_domain, activity_count, " + profile_columns() +
      ", ai_score, ai_recommendation, ai_reason, ai_scorer, ai_scorer_version, "
      "leadscore_rfc3339(ai_analyzed_at) AS ai_analyzed_at_text, "
      "leadscore_rfc3339(created_at) AS created_at_text, "
      "leadscore_rfc3339(updated_at) AS updated_at_text, input_revision";
  return columns;
}

domain::Lead read_lead(const PgResult& r, int row, int first) {
  domain::Lead lead;
  int c = first;
  lead.id = r.integer(row, c++);
  lead.source = std::string(r.text(row, c++));
  lead.stage = parse_name(r.text(row, c++), domain::parse_lead_stage, "lead stage");
  lead.business_domain = r.optional_text(row, c++);
  lead.activity_count = r.integer(row, c++);
  domain::for_each_profile_field(lead.profile, [&](const char*, std::optional<std::string>& field) {
    field = r.optional_text(row, c++);
  });
  lead.ai_score = r.optional_real(row, c++);
  if (!r.is_null(row, c))
    lead.ai_recommendation =
        parse_name(r.text(row, c), domain::parse_recommendation, "recommendation");
  ++c;
  lead.ai_reason = r.optional_text(row, c++);
  lead.ai_scorer = r.optional_text(row, c++);
  lead.ai_scorer_version = r.optional_text(row, c++);
  lead.ai_analyzed_at = r.optional_text(row, c++);
  lead.created_at = std::string(r.text(row, c++));
  lead.updated_at = std::string(r.text(row, c++));
  lead.input_revision = r.integer(row, c++);
  return lead;
}

domain::Sale read_sale(const PgResult& r, int row, int first) {
  domain::Sale sale;
  int c = first;
  sale.id = r.integer(row, c++);
  sale.lead_id = r.integer(row, c++);
  sale.stage = parse_name(r.text(row, c++), domain::parse_sale_stage, "sale stage");
  sale.created_at = std::string(r.text(row, c++));
  sale.updated_at = std::string(r.text(row, c++));
  return sale;
}

domain::Offer read_offer(const PgResult& r, int row, int first) {
  domain::Offer offer;
  int c = first;
  offer.id = r.integer(row, c++);
  offer.name = std::string(r.text(row, c++));
  offer.description = r.optional_text(row, c++);
  offer.value_props = json::parse(r.text(row, c++)).get<std::vector<std::string>>();
  offer.ideal_use_cases = json::parse(r.text(row, c++)).get<std::vector<std::string>>();
  offer.active = r.boolean(row, c++);
  offer.created_at = std::string(r.text(row, c++));
  offer.updated_at = std::string(r.text(row, c++));
  return offer;
}

domain::Analysis read_analysis(const PgResult& r, int row) {
  domain::Analysis analysis;
  analysis.id = r.integer(row, 0);
  analysis.lead_id = r.integer(row, 1);
  analysis.scorer = std::string(r.text(row, 2));
  analysis.scorer_version = std::string(r.text(row, 3));
  analysis.role = std::string(r.text(row, 4));
  analysis.actor = std::string(r.text(row, 5));

  const json features = json::parse(r.text(row, 6));
  domain::Features& f = analysis.features;
  f.source = features.value("source", "");
  f.stage = parse_name(features.value("stage", "new"), domain::parse_lead_stage, "lead stage");
  f.activity_count = features.value("activity_count", std::int64_t{0});
  f.business_domain = optional_string(features, "business_domain");
  domain::for_each_profile_field(f.profile,
                                 [&](const char* key, std::optional<std::string>& field) {
                                   field = optional_string(features, key);
                                 });
  if (auto offer = features.find("offer_id"); offer != features.end() && offer->is_number_integer())
    f.offer = std::make_shared<const domain::OfferView>(
        domain::OfferView{offer->get<std::int64_t>(), {}});

  if (!r.is_null(row, 7)) {
    const json result = json::parse(r.text(row, 7));
    domain::ScoreResult score;
    score.score = result.at("score").get<double>();
    score.recommendation = parse_name(result.at("recommendation").get<std::string>(),
                                      domain::parse_recommendation, "recommendation");
    score.reason = result.value("reason", "");
    score.intent = optional_string(result, "intent");
    if (!r.is_null(row, 8))
      for (const json& item : json::parse(r.text(row, 8)))
        score.contributions.push_back(
            {item.at("rule").get<std::string>(), item.at("points").get<double>()});
    analysis.result = std::move(score);
  }
  analysis.latency_ms = r.real(row, 9);
  analysis.error = r.optional_text(row, 10);
  analysis.created_at = std::string(r.text(row, 11));
  analysis.audit = r.optional_text(row, 12);
  analysis.request_id = r.optional_text(row, 13);
  analysis.experiment = r.optional_text(row, 14);
  analysis.arm = r.optional_text(row, 15);
  return analysis;
}

std::string features_json(const domain::Features& f) {
  json features = {{"source", f.source},
                   {"stage", domain::to_string(f.stage)},
                   {"activity_count", f.activity_count}};
  if (f.business_domain) features["business_domain"] = *f.business_domain;
  domain::for_each_profile_field(f.profile,
                                 [&](const char* key, const std::optional<std::string>& field) {
                                   if (field) features[key] = *field;
                                 });
  if (f.offer) features["offer_id"] = f.offer->id;
  return dump(features);
}

std::string result_json(const domain::ScoreResult& result) {
  json out = {{"score", result.score},
              {"recommendation", domain::to_string(result.recommendation)},
              {"reason", result.reason}};
  if (result.intent) out["intent"] = *result.intent;
  return dump(out);
}

std::string contributions_json(const domain::ScoreResult& result) {
  json contributions = json::array();
  for (const auto& c : result.contributions)
    contributions.push_back({{"rule", c.rule}, {"points", c.points}});
  return dump(contributions);
}

std::string text_list_json(const std::vector<std::string>& items) { return dump(json(items)); }

}  // namespace leadscore::store
