// Lead routes: create, read, list, import, export, edit, stage, activity, analyze, transfer,
// history, the lead's sale, delete; and the liveness and readiness probes.
#include <algorithm>
#include <charconv>

#include "api/handler_support.h"
#include "api/json_mapping.h"
#include "api/lead_csv.h"
#include "engine/domain/stage_machine.h"

namespace leadscore::api::routes {
namespace {

using domain::Lead;
using domain::LeadStage;

constexpr int kExportPageSize = 1000;  // leads read per query of an export
// The largest activity_count PATCH /leads/{id}/activity sets.
constexpr std::int64_t kMaxActivityCount = 1'000'000'000;

// ?order=oldest (the default) or newest.
std::expected<store::LeadOrder, Error> lead_order(const ApiRequest& r) {
  const auto* order = r.query_value("order");
  if (!order || *order == "oldest") return store::LeadOrder::Oldest;
  if (*order == "newest") return store::LeadOrder::Newest;
  return std::unexpected(Error::validation("order", "order must be one of: oldest, newest"));
}

std::expected<double, Error> parse_score_bound(const std::string& text, const std::string& field) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !(value >= 0 && value <= 1))
    return std::unexpected(Error::validation(field, field + " must be a number from 0 to 1"));
  return value;
}

// `source`, when it is one of the configured sources.
std::expected<std::string, Error> known_source(const Services& s, const std::string& source) {
  if (std::ranges::find(s.config->sources, source) == s.config->sources.end())
    return std::unexpected(Error::validation("source", "unknown source " + source));
  return source;
}

// The query's ?source=, one of the configured sources; nullopt when the query has none.
std::expected<std::optional<std::string>, Error> source_query(const Services& s,
                                                              const ApiRequest& r) {
  const auto* source = r.query_value("source");
  if (!source) return std::nullopt;
  return known_source(s, *source);
}

const std::string* value_of(const std::vector<std::pair<std::string, std::string>>& values,
                            std::string_view name) {
  for (const auto& [k, v] : values)
    if (k == name) return &v;
  return nullptr;
}

}  // namespace

std::expected<store::LeadFilter, Error> lead_filter(
    const Services& s, const std::vector<std::pair<std::string, std::string>>& values) {
  store::LeadFilter filter;
  if (const auto* stage = value_of(values, "stage")) {
    filter.stage = domain::parse_lead_stage(*stage);
    if (!filter.stage)
      return std::unexpected(Error::validation(
          "stage", "stage must be one of: new, contacted, qualified, transferred, lost"));
  }
  if (const auto* source = value_of(values, "source")) {
    auto known = known_source(s, *source);
    if (!known) return std::unexpected(known.error());
    filter.source = std::move(*known);
  }
  for (auto [name, target] :
       {std::pair{"min_score", &filter.min_score}, std::pair{"max_score", &filter.max_score}}) {
    if (const auto* text = value_of(values, name)) {
      auto value = parse_score_bound(*text, name);
      if (!value) return std::unexpected(value.error());
      *target = *value;
    }
  }
  if (filter.min_score && filter.max_score && *filter.min_score > *filter.max_score)
    return std::unexpected(Error::validation("min_score", "min_score must not exceed max_score"));
  if (const auto* rec = value_of(values, "recommendation")) {
    filter.recommendation = domain::parse_recommendation(*rec);
    if (!filter.recommendation)
      return std::unexpected(Error::validation("recommendation",
                                               "recommendation must be one of: transfer_to_sales, "
                                               "continue_qualification, drop_lead"));
  }
  return filter;
}

std::expected<store::LeadFilter, Error> lead_filter_object(
    const Services& s, const json& filter, const std::string& field,
    const std::vector<std::string_view>& also) {
  const auto named = [&field](Error e) {
    e.field = e.field.empty() ? field : field + "." + e.field;
    return e;
  };
  if (!filter.is_object())
    return std::unexpected(Error::validation(field, field + " must be an object"));
  std::vector<std::string_view> allowed = {"stage", "source", "min_score", "max_score",
                                           "recommendation"};
  allowed.insert(allowed.end(), also.begin(), also.end());
  if (auto e = check_members(filter, allowed)) return std::unexpected(named(*e));
  std::vector<std::pair<std::string, std::string>> values;
  for (const auto& [name, value] : filter.items()) {
    if (std::ranges::find(also, name) != also.end()) continue;
    const bool score = name == "min_score" || name == "max_score";
    if (score && !value.is_number())
      return std::unexpected(
          Error::validation(field + "." + name, name + " must be a number from 0 to 1"));
    if (!score && !value.is_string())
      return std::unexpected(Error::validation(field + "." + name, name + " must be a string"));
    values.emplace_back(name, score ? value.dump() : value.get<std::string>());
  }
  auto leads = lead_filter(s, values);
  if (!leads) return std::unexpected(named(leads.error()));
  return leads;
}

namespace {

std::expected<LeadStage, Error> stage_member(const json& body) {
  auto it = body.find("stage");
  if (it == body.end()) return std::unexpected(Error::validation("stage", "stage is required"));
  if (!it->is_string())
    return std::unexpected(Error::validation("stage", "stage must be a string"));
  auto stage = domain::parse_lead_stage(it->get<std::string>());
  if (!stage)
    return std::unexpected(Error::validation(
        "stage", "stage must be one of: new, contacted, qualified, transferred, lost"));
  return *stage;
}

json analysis_reply(const analysis::AnalysisOutcome& outcome) {
  const domain::Analysis& a = outcome.analysis;
  const Lead& lead = outcome.lead;
  json out = to_json(*a.result);
  out["scorer"] = a.scorer;
  out["scorer_version"] = a.scorer_version;
  out["analyzed_at"] = lead.ai_analyzed_at ? json(*lead.ai_analyzed_at) : json(a.created_at);
  out["lead_id"] = lead.id;
  // The lead's experiment and arm when its arm chose the scorer (null otherwise).
  out["experiment"] = a.experiment ? json(*a.experiment) : json(nullptr);
  out["arm"] = a.arm ? json(*a.arm) : json(nullptr);
  if (outcome.fallback_from)
    out["fallback_from"] = {{"scorer", outcome.fallback_from->scorer},
                            {"error", outcome.fallback_from->error}};
  return out;
}

// The answer to an analysis that did not finish; one that may simply be tried again says when.
Reply failure_reply(const analysis::AnalysisFailure& failure, const ApiRequest& r) {
  if (!failure.retry_after_seconds) return fail(failure.error, r);
  spdlog::warn("request {} {} {}: {}", r.id, r.method, r.path, failure.error.message);
  return fail(r, failure.error, {{"retry_after_seconds", *failure.retry_after_seconds}});
}

}  // namespace

Reply health(const Services&, const ApiRequest&) { return json_reply(200, {{"status", "ok"}}); }

Reply ready(const Services& s, const ApiRequest& r) {
  auto session = s.db->session(std::chrono::seconds(2));
  if (!session) return fail(session.error(), r);
  if (auto ok = session->ping(); !ok) return fail(ok.error(), r);
  return json_reply(200, {{"status", "ready"}});
}

Reply create_lead(const Services& s, const ApiRequest& r) {
  auto body = parse_json_object(r.body, false);
  if (!body) return fail(body.error(), r);
  auto lead = parse_new_lead(*body);
  if (!lead) return fail(lead.error(), r);
  if (auto e = domain::validate(*lead, s.config->sources)) return fail(*e, r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto created = session->create_lead(*lead, r.identity.name, r.id);
  if (!created) return fail(created.error(), r);
  return json_reply(201, to_json(*created));
}

Reply get_lead(const Services& s, const ApiRequest& r) {
  return with_path_id(s, r, [&](store::Session& session, std::int64_t id) {
    auto found = session.get_lead(id);
    if (!found) return fail(found.error(), r);
    return Reply{200, lead_json_text(*found), "application/json", {}};
  });
}

Reply list_leads(const Services& s, const ApiRequest& r) {
  if (auto e = check_query(r, {"stage", "source", "min_score", "max_score", "recommendation",
                               "order", "limit", "cursor"}))
    return fail(*e, r);
  auto filter = lead_filter(s, r.query);
  if (!filter) return fail(filter.error(), r);
  auto order = lead_order(r);
  if (!order) return fail(order.error(), r);
  auto page = parse_page(r);
  if (!page) return fail(page.error(), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto leads = session->list_leads(*filter, *page, *order);
  if (!leads) return fail(leads.error(), r);
  return page_reply(*leads);
}

Reply export_leads(const Services& s, const ApiRequest& r) {
  if (auto e = check_query(r, {"stage", "source", "min_score", "max_score", "recommendation"}))
    return fail(*e, r);
  auto filter = lead_filter(s, r.query);
  if (!filter) return fail(filter.error(), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  // Read a page at a time, so that only the CSV text grows with the number of leads.
  Reply reply{200, "", "text/csv", {}};
  append_lead_csv_header(reply.body);
  store::PageRequest page{std::nullopt, kExportPageSize};
  do {
    auto leads = session->list_leads(*filter, page);
    if (!leads) return fail(leads.error(), r);
    for (const Lead& lead : leads->items) append_lead_csv_row(reply.body, lead);
    page.after_id = leads->next_after_id;
  } while (page.after_id);
  return reply;
}

Reply import_leads(const Services& s, const ApiRequest& r) {
  if (auto e = check_query(r, {"partial", "source"})) return fail(*e, r);
  auto source = source_query(s, r);
  if (!source) return fail(source.error(), r);
  bool partial = false;
  if (const auto* value = r.query_value("partial")) {
    if (*value != "true" && *value != "false")
      return fail(Error::validation("partial", "partial must be true or false"), r);
    partial = *value == "true";
  }
  auto csv = read_lead_csv(r.body, s.config->sources, *source);
  if (!csv) return fail(csv.error(), r);
  json refused = json::array();
  for (const RowProblem& p : csv->problems)
    refused.push_back({{"line", p.line},
                       {"field", p.field.empty() ? json(nullptr) : json(p.field)},
                       {"message", p.message}});
  if (csv->refused > 0 && !partial) {
    const std::size_t all = csv->refused + csv->rows.size();
    return fail(
        r,
        Error::validation(
            "", std::to_string(csv->refused) + " of " + std::to_string(all) +
                    " rows are not acceptable; nothing was imported "
                    "(?partial=true imports the others)" +
                    (csv->refused > csv->problems.size()
                         ? "; the first " + std::to_string(csv->problems.size()) + " are listed"
                         : std::string())),
        {{"rows", std::move(refused)}, {"refused", csv->refused}});
  }
  std::vector<domain::NewLead> leads;
  leads.reserve(csv->rows.size());
  for (ImportRow& row : csv->rows) leads.push_back(std::move(row.lead));
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto ids = session->create_leads(leads, r.identity.name, r.id);
  if (!ids) return fail(ids.error(), r);
  return json_reply(ids->empty() ? 200 : 201, {{"created", ids->size()},
                                               {"ids", *ids},
                                               {"refused", csv->refused},
                                               {"rows", std::move(refused)},
                                               {"ignored_columns", csv->ignored}});
}

Reply update_lead(const Services& s, const ApiRequest& r) {
  auto id = parse_id(r.param("id"), "id");
  if (!id) return fail(id.error(), r);
  auto body = parse_json_object(r.body, false);
  if (!body) return fail(body.error(), r);
  auto patch = parse_lead_patch(*body);
  if (!patch) return fail(patch.error(), r);
  if (auto e = domain::validate(*patch)) return fail(*e, r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto lead = session->update_lead(*id, *patch);
  if (!lead) return fail(lead.error(), r);
  return json_reply(200, to_json(*lead));
}

Reply change_lead_stage(const Services& s, const ApiRequest& r) {
  auto id = parse_id(r.param("id"), "id");
  if (!id) return fail(id.error(), r);
  auto body = object_body(r, {"stage"});
  if (!body) return fail(body.error(), r);
  auto stage = stage_member(*body);
  if (!stage) return fail(stage.error(), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto change = session->change_lead_stage(*id, *stage, r.identity.name, s.config->handoff, r.id);
  if (!change) return fail(change.error(), r);
  return json_reply(200, to_json(change->lead));
}

Reply transfer_lead(const Services& s, const ApiRequest& r) {
  auto id = parse_id(r.param("id"), "id");
  if (!id) return fail(id.error(), r);
  if (auto body = object_body(r, {}, /*empty_is_object=*/true); !body) return fail(body.error(), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto change = session->change_lead_stage(*id, LeadStage::Transferred, r.identity.name,
                                           s.config->handoff, r.id);
  if (!change) return fail(change.error(), r);
  return json_reply(201, {{"lead", to_json(change->lead)},
                          {"sale", change->sale ? to_json(*change->sale) : json(nullptr)}});
}

Reply add_activity(const Services& s, const ApiRequest& r) {
  auto id = parse_id(r.param("id"), "id");
  if (!id) return fail(id.error(), r);
  auto body = object_body(r, {"count"}, /*empty_is_object=*/true);
  if (!body) return fail(body.error(), r);
  std::int64_t count = 1;
  if (auto it = body->find("count"); it != body->end()) {
    if (!it->is_number_integer() ||
        (it->is_number_unsigned() && it->get<std::uint64_t>() > 1000000) ||
        it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > 1000000)
      return fail(Error::validation("count", "count must be an integer from 1 to 1000000"), r);
    count = it->get<std::int64_t>();
  }
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto lead = session->add_activity(*id, count);
  if (!lead) return fail(lead.error(), r);
  return json_reply(200, to_json(*lead));
}

Reply set_activity(const Services& s, const ApiRequest& r) {
  auto id = parse_id(r.param("id"), "id");
  if (!id) return fail(id.error(), r);
  auto body = object_body(r, {"activity_count"});
  if (!body) return fail(body.error(), r);
  auto it = body->find("activity_count");
  if (it == body->end())
    return fail(Error::validation("activity_count", "activity_count is required"), r);
  if (!it->is_number_integer() ||
      (it->is_number_unsigned() && it->get<std::uint64_t>() > std::uint64_t(kMaxActivityCount)) ||
      it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > kMaxActivityCount)
    return fail(Error::validation("activity_count", "activity_count must be an integer from 0 to " +
                                                        std::to_string(kMaxActivityCount)),
                r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto lead = session->set_activity(*id, it->get<std::int64_t>());
  if (!lead) return fail(lead.error(), r);
  return json_reply(200, to_json(*lead));
}

Reply analyze_lead(const Services& s, const ApiRequest& r) {
  auto id = parse_id(r.param("id"), "id");
  if (!id) return fail(id.error(), r);
  if (auto e = check_query(r, {"scorer"})) return fail(*e, r);
  if (auto body = object_body(r, {}, /*empty_is_object=*/true); !body) return fail(body.error(), r);
  analysis::AnalysisRequest request{*id, std::nullopt, r.identity.name, std::nullopt, r.id};
  if (const auto* name = r.query_value("scorer")) request.scorer = *name;
  // A slow scorer's run is waited for only while the answer can still reach the client.
  request.deadline =
      r.received + std::chrono::milliseconds(config::slow_run_limit_ms(s.config->server));
  auto outcome = s.analyzer->analyze(request);
  if (!outcome) return failure_reply(outcome.error(), r);
  return json_reply(200, analysis_reply(*outcome));
}

Reply lead_history(const Services& s, const ApiRequest& r) {
  auto id = parse_id(r.param("id"), "id");
  if (!id) return fail(id.error(), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto history = session->lead_history(*id);
  if (!history) return fail(history.error(), r);
  json events = json::array(), analyses = json::array();
  for (const auto& e : history->stage_events) events.push_back(to_json(e));
  for (const auto& a : history->analyses) analyses.push_back(to_json(a));
  return json_reply(200, {{"stage_events", std::move(events)}, {"analyses", std::move(analyses)}});
}

Reply lead_sale(const Services& s, const ApiRequest& r) {
  return get_by_id(
      s, r, [](store::Session& session, std::int64_t id) { return session.get_lead_sale(id); });
}

Reply delete_lead(const Services& s, const ApiRequest& r) {
  return with_path_id(s, r, [&](store::Session& session, std::int64_t id) {
    if (auto deleted = session.delete_lead(id); !deleted) return fail(deleted.error(), r);
    return empty_reply(204);
  });
}

}  // namespace leadscore::api::routes
