// Comparing scorers: POST /scorers/compare (named scorers side by side over stored or inline
// leads, nothing stored) and GET /reports/scorers (every scorer version's live metrics against
// closed sales). Both run on the request workers.
#include <algorithm>
#include <cstdint>
#include <set>

#include "api/handler_support.h"
#include "api/json_mapping.h"
#include "engine/analysis/comparison_runs.h"
#include "engine/analysis/scorer_report.h"
#include "engine/scoring/comparison_report.h"

namespace leadscore::api::routes {
namespace {

// The most leads one comparison scores (lead_ids, leads, or what filter selects).
constexpr std::size_t kMaxCompareLeads = 10'000;
// The most leads a comparison with a slow scorer (an LLM) scores: its runs wait on the model.
constexpr std::size_t kMaxSlowCompareLeads = 10;
// The most scorers one comparison names.
constexpr std::size_t kMaxCompareScorers = 10;

// `scorers`: 1 to kMaxCompareScorers distinct names of live scorers.
std::expected<std::vector<std::string>, Error> scorer_names(const scoring::ScorerSet& set,
                                                            const json& body) {
  auto it = body.find("scorers");
  if (it == body.end()) return std::unexpected(Error::validation("scorers", "scorers is required"));
  if (!it->is_array() || it->empty() || it->size() > kMaxCompareScorers)
    return std::unexpected(Error::validation(
        "scorers",
        "scorers must be a list of 1 to " + std::to_string(kMaxCompareScorers) + " scorer names"));
  std::vector<std::string> names;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& name = (*it)[i];
    const std::string field = "scorers[" + std::to_string(i) + "]";
    if (!name.is_string())
      return std::unexpected(Error::validation(field, field + " must be a string"));
    const auto text = name.get<std::string>();
    if (set.find(text) == nullptr)
      return std::unexpected(Error::validation(field, "unknown scorer " + quoted_name(text)));
    if (std::ranges::find(names, text) != names.end())
      return std::unexpected(
          Error::validation(field, "scorer " + quoted_name(text) + " is named twice"));
    names.push_back(text);
  }
  return names;
}

// The leads to compare and what became of them (nullopt: unknown or open).
struct CompareLeads {
  std::vector<domain::Features> features;
  std::vector<std::optional<bool>> outcomes;
};

// Stored leads, with the outcomes of their sales.
std::expected<CompareLeads, Error> stored_leads(
    store::Session& session, const std::vector<domain::Lead>& leads,
    const std::shared_ptr<const domain::OfferView>& offer) {
  std::vector<std::int64_t> ids;
  ids.reserve(leads.size());
  for (const auto& lead : leads) ids.push_back(lead.id);
  auto stages = session.sale_stages(ids);
  if (!stages) return std::unexpected(stages.error());
  CompareLeads out;
  out.features.reserve(leads.size());
  auto sale = stages->begin();
  for (const auto& lead : leads) {  // both in id order
    while (sale != stages->end() && sale->first < lead.id) ++sale;
    const bool has_sale = sale != stages->end() && sale->first == lead.id;
    out.features.push_back(domain::features_of(lead, offer));
    out.outcomes.push_back(has_sale ? domain::sale_outcome(sale->second) : std::nullopt);
  }
  return out;
}

// `lead_ids`: 1 to kMaxCompareLeads ids of stored leads; 404 listing those that are not.
std::expected<std::vector<domain::Lead>, Error> leads_by_id(store::Session& session,
                                                            const json& ids_json) {
  if (!ids_json.is_array() || ids_json.empty() || ids_json.size() > kMaxCompareLeads)
    return std::unexpected(Error::validation(
        "lead_ids",
        "lead_ids must be a list of 1 to " + std::to_string(kMaxCompareLeads) + " lead ids"));
  std::vector<std::int64_t> ids;
  ids.reserve(ids_json.size());
  for (std::size_t i = 0; i < ids_json.size(); ++i) {
    const json& id = ids_json[i];
    const bool valid =
        id.is_number_integer() &&
        (id.is_number_unsigned() ? id.get<std::uint64_t>() <= std::uint64_t(INT64_MAX)
                                 : id.get<std::int64_t>() >= 1) &&
        id.get<std::int64_t>() >= 1;
    if (!valid) {
      const std::string field = "lead_ids[" + std::to_string(i) + "]";
      return std::unexpected(
          Error::validation(field, field + " must be a lead id (an integer >= 1)"));
    }
    ids.push_back(id.get<std::int64_t>());
  }
  std::ranges::sort(ids);
  if (std::ranges::adjacent_find(ids) != ids.end())
    return std::unexpected(Error::validation("lead_ids", "lead_ids names a lead twice"));
  auto leads = session.get_leads(ids);
  if (!leads) return std::unexpected(leads.error());
  if (leads->size() != ids.size()) {
    std::set<std::int64_t> found;
    for (const auto& lead : *leads) found.insert(lead.id);
    std::string missing;
    std::size_t count = 0;
    for (std::int64_t id : ids) {
      if (found.contains(id)) continue;
      if (++count <= 20) missing += (count > 1 ? ", " : "") + std::to_string(id);
    }
    if (count > 20) missing += ", ...";
    Error e = Error::not_found(std::to_string(count) + " of lead_ids " +
                               (count == 1 ? "is" : "are") + " not a lead: " + missing);
    e.field = "lead_ids";
    return std::unexpected(std::move(e));
  }
  return std::move(*leads);
}

// The stored leads `filter` selects (GET /leads' filters), at most kMaxCompareLeads.
std::expected<std::vector<domain::Lead>, Error> leads_by_filter(const Services& s,
                                                                store::Session& session,
                                                                const json& filter_json) {
  auto filter = lead_filter_object(s, filter_json, "filter");
  if (!filter) return std::unexpected(filter.error());
  auto page = session.list_leads(*filter, {std::nullopt, static_cast<int>(kMaxCompareLeads)});
  if (!page) return std::unexpected(page.error());
  if (page->next_after_id)
    return std::unexpected(
        Error::validation("filter", "filter selects more than " + std::to_string(kMaxCompareLeads) +
                                        " leads, the most one comparison scores: narrow it"));
  return std::move(page->items);
}

// `leads`: 1 to kMaxCompareLeads leads as POST /leads takes them, each with an optional
// `stage` (default new) and `outcome` (true converted, false not; absent or null unknown).
std::expected<CompareLeads, Error> inline_leads(
    const Services& s, const json& leads_json,
    const std::shared_ptr<const domain::OfferView>& offer) {
  if (!leads_json.is_array() || leads_json.empty() || leads_json.size() > kMaxCompareLeads)
    return std::unexpected(Error::validation(
        "leads", "leads must be a list of 1 to " + std::to_string(kMaxCompareLeads) + " leads"));
  CompareLeads out;
  for (std::size_t i = 0; i < leads_json.size(); ++i) {
    const std::string at = "leads[" + std::to_string(i) + "]";
    const auto named = [&at](Error e) {
      e.field = e.field.empty() ? at : at + "." + e.field;
      return e;
    };
    json lead_json = leads_json[i];
    if (!lead_json.is_object())
      return std::unexpected(Error::validation(at, at + " must be an object"));
    auto stage = domain::LeadStage::New;
    if (auto it = lead_json.find("stage"); it != lead_json.end()) {
      auto parsed =
          it->is_string() ? domain::parse_lead_stage(it->get<std::string>()) : std::nullopt;
      if (!parsed)
        return std::unexpected(Error::validation(
            at + ".stage", "stage must be one of: new, contacted, qualified, transferred, lost"));
      stage = *parsed;
      lead_json.erase(it);
    }
    std::optional<bool> outcome;
    if (auto it = lead_json.find("outcome"); it != lead_json.end()) {
      if (!it->is_boolean() && !it->is_null())
        return std::unexpected(
            Error::validation(at + ".outcome", "outcome must be true, false or null"));
      if (it->is_boolean()) outcome = it->get<bool>();
      lead_json.erase(it);
    }
    auto lead = parse_new_lead(lead_json);
    if (!lead) return std::unexpected(named(lead.error()));
    if (auto e = domain::validate(*lead, s.config->sources)) return std::unexpected(named(*e));
    domain::Features features;
    features.source = std::move(lead->source);
    features.stage = stage;
    features.activity_count = lead->activity_count;
    features.business_domain = std::move(lead->business_domain);
    features.profile = std::move(lead->profile);
    features.offer = offer;
    out.features.push_back(std::move(features));
    out.outcomes.push_back(outcome);
  }
  return out;
}

}  // namespace

namespace {

constexpr std::string_view kHtml = "text/html; charset=utf-8";

// ?format=json (the default) or html: whether the answer is an HTML page.
std::expected<bool, Error> wants_html(const ApiRequest& r) {
  const auto* format = r.query_value("format");
  if (!format || *format == "json") return false;
  if (*format == "html") return true;
  return std::unexpected(Error::validation("format", "format must be json or html"));
}

}  // namespace

Reply compare_scorers(const Services& s, const ApiRequest& r) {
  if (auto e = check_query(r, {"format"})) return fail(*e, r);
  auto html = wants_html(r);
  if (!html) return fail(html.error(), r);
  auto body = object_body(r, {"scorers", "lead_ids", "leads", "filter"});
  if (!body) return fail(body.error(), r);
  const auto set = s.scorers->current();
  auto names = scorer_names(*set, *body);
  if (!names) return fail(names.error(), r);
  const int given = static_cast<int>(body->contains("lead_ids")) +
                    static_cast<int>(body->contains("leads")) +
                    static_cast<int>(body->contains("filter"));
  if (given != 1)
    return fail(Error::validation("", "give exactly one of lead_ids, leads and filter"), r);
  auto runs = analysis::ComparisonRuns::of(*set, *names);
  if (!runs) return fail(Error::internal("scorer " + runs.error() + " vanished"), r);
  const auto offer = s.offers != nullptr ? s.offers->current() : nullptr;

  std::expected<CompareLeads, Error> leads = std::unexpected(Error::internal("no leads"));
  if (auto it = body->find("leads"); it != body->end()) {
    leads = inline_leads(s, *it, offer);
  } else {
    auto session = s.db->session();
    if (!session) return fail(session.error(), r);
    auto stored = body->contains("lead_ids") ? leads_by_id(*session, body->at("lead_ids"))
                                             : leads_by_filter(s, *session, body->at("filter"));
    if (!stored) return fail(stored.error(), r);
    leads = stored_leads(*session, *stored, offer);
  }  // the connection goes back to the pool before the scoring
  if (!leads) return fail(leads.error(), r);

  const std::string slow = runs->first_slow();
  if (!slow.empty() && leads->features.size() > kMaxSlowCompareLeads)
    return fail(Error::validation("scorers", "scorer " + slow +
                                                 " is slow (it waits on a model): compare it on "
                                                 "at most " +
                                                 std::to_string(kMaxSlowCompareLeads) +
                                                 " leads here, or on a CSV with leadscore compare"),
                r);
  // A slow scorer's runs start only while the answer can still reach the client.
  const auto deadline =
      r.received + std::chrono::milliseconds(config::slow_run_limit_ms(s.config->server));
  for (const auto& features : leads->features) runs->add(features, deadline);
  scoring::ComparisonSettings settings;
  settings.handoff_min_score = s.config->handoff.min_score;
  const auto report = scoring::compare_scorers(runs->runs(), leads->outcomes, settings);
  if (*html)
    return Reply{200, scoring::report_html(report, "Scorer comparison"), std::string(kHtml), {}};
  return json_reply(200, scoring::report_json(report));
}

Reply scorer_report(const Services& s, const ApiRequest& r) {
  if (auto e = check_query(r, {"since", "until", "format"})) return fail(*e, r);
  auto html = wants_html(r);
  if (!html) return fail(html.error(), r);
  store::ReportWindow window;
  for (auto [field, into] :
       {std::pair{"since", &window.since}, std::pair{"until", &window.until}}) {
    const auto* text = r.query_value(field);
    if (text == nullptr) continue;
    auto time = analysis::parse_report_time(*text, field);
    if (!time) return fail(time.error(), r);
    *into = std::move(*time);
  }
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto runs = session->scorer_runs(window);
  if (!runs) return fail(runs.error(), r);
  scoring::ComparisonSettings settings;
  settings.handoff_min_score = s.config->handoff.min_score;
  const auto report = analysis::scorer_report(*runs, settings);
  if (*html) return Reply{200, analysis::scorer_report_html(report), std::string(kHtml), {}};
  return json_reply(200, analysis::scorer_report_json(report));
}

}  // namespace leadscore::api::routes
