// Lead routes: create, read, list, import, export, edit, stage, activity, analyze, transfer,
// history, delete; and the liveness and readiness probes.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <random>
#include <thread>

#include "api/handler_support.h"
#include "api/json_mapping.h"
#include "api/lead_csv.h"
#include "engine/domain/stage_machine.h"
#include "engine/scoring/fallback.h"

namespace leadscore::api::routes {
namespace {

using domain::Lead;
using domain::LeadStage;

// An analysis is stored only on the lead as it scored it: when another request changes the
// lead's inputs (stage, fields, activity) between the read and the write, the analysis reads
// the lead again and scores it again, up to this many times in all. Other analyses of the lead
// never count: storing a score changes no input.
constexpr int kAnalyzeAttempts = 16;
constexpr int kExportPageSize = 1000;  // leads read per query of an export

std::expected<double, Error> parse_score_bound(const std::string& text, const std::string& field) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !(value >= 0 && value <= 1))
    return std::unexpected(Error::validation(field, field + " must be a number from 0 to 1"));
  return value;
}

// The query's ?source=, one of the configured sources; nullopt when the query has none.
std::expected<std::optional<std::string>, Error> source_query(const Services& s,
                                                              const ApiRequest& r) {
  const auto* source = r.query_value("source");
  if (!source) return std::nullopt;
  if (std::ranges::find(s.config->sources, *source) == s.config->sources.end())
    return std::unexpected(Error::validation("source", "unknown source " + *source));
  return *source;
}

// The GET /leads filters of the query (stage, source, min_score, max_score, recommendation).
std::expected<store::LeadFilter, Error> lead_filter(const Services& s, const ApiRequest& r) {
  store::LeadFilter filter;
  if (const auto* stage = r.query_value("stage")) {
    filter.stage = domain::parse_lead_stage(*stage);
    if (!filter.stage)
      return std::unexpected(Error::validation(
          "stage", "stage must be one of: new, contacted, qualified, transferred, lost"));
  }
  auto source = source_query(s, r);
  if (!source) return std::unexpected(source.error());
  filter.source = std::move(*source);
  for (auto [name, target] :
       {std::pair{"min_score", &filter.min_score}, std::pair{"max_score", &filter.max_score}}) {
    if (const auto* text = r.query_value(name)) {
      auto value = parse_score_bound(*text, name);
      if (!value) return std::unexpected(value.error());
      *target = *value;
    }
  }
  if (filter.min_score && filter.max_score && *filter.min_score > *filter.max_score)
    return std::unexpected(Error::validation("min_score", "min_score must not exceed max_score"));
  if (const auto* rec = r.query_value("recommendation")) {
    filter.recommendation = domain::parse_recommendation(*rec);
    if (!filter.recommendation)
      return std::unexpected(Error::validation("recommendation",
                                               "recommendation must be one of: transfer_to_sales, "
                                               "continue_qualification, drop_lead"));
  }
  return filter;
}

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

domain::Analysis analysis_of(std::int64_t lead_id, const std::string& role,
                             const std::string& actor, const Lead& lead,
                             std::shared_ptr<const domain::OfferView> offer) {
  domain::Analysis analysis;
  analysis.lead_id = lead_id;
  analysis.role = role;
  analysis.actor = actor;
  analysis.features = domain::features_of(lead, std::move(offer));
  return analysis;
}

// Runs the shadow scorers on the features the primary saw, on the shadow pool: recorded as
// analyses (role "shadow"), never stored on the lead, never delaying the response. Each is
// held to its own checks and budget_ms: a run over budget is kept as failed, with why. When the
// pool is full the shadow runs of this analysis are skipped, and the log says so.
void run_shadows(const Services& s, std::shared_ptr<const scoring::ScorerSet> scorers,
                 const domain::Analysis& primary) {
  if (!s.shadows || scorers->shadows().empty()) return;
  domain::Analysis base = primary;
  base.role = "shadow";
  base.result.reset();
  base.error.reset();
  WorkerPool::Task task = [db = s.db, live = s.scorers, scorers = std::move(scorers),
                           base = std::move(base)]() mutable {
    auto session = db->session();
    if (!session) return spdlog::warn("shadow runs skipped: {}", session.error().message);
    for (const scoring::Scorer* shadow : scorers->shadows()) {
      domain::Analysis analysis = base;
      scoring::ScorerRun run = scoring::run_scorer(*scorers, *shadow, analysis.features);
      analysis.latency_ms = run.latency_ms;
      analysis.scorer = shadow->name();
      analysis.scorer_version = shadow->version();
      if (run.result) {
        analysis.result = std::move(*run.result);
      } else {
        analysis.error = run.result.error();
        live->record_error(shadow->name(), run.result.error());
      }
      if (auto kept = session->append_analysis(analysis); !kept)
        spdlog::warn("shadow run of {} on lead {} not kept: {}", shadow->name(), analysis.lead_id,
                     kept.error().message);
    }
  };
  if (!s.shadows->post(std::move(task)))
    spdlog::warn("shadow runs of lead {} skipped: the shadow queue is full", primary.lead_id);
}

// The pause before attempt `attempt` (0-based) of an analysis: none before the first two,
// then 1, 2, 4 .. 64 ms, of which a random half to all, so that the attempts of several
// analyses spread out instead of meeting the next change together. The sixteen attempts
// span 0.3 to 0.6 s of the lead changing without a break.
std::chrono::microseconds retry_pause(int attempt) {
  if (attempt < 2) return {};
  thread_local std::minstd_rand random{std::random_device{}()};
  const int full_us = 1000 << std::min(attempt - 2, 6);
  return std::chrono::microseconds(
      std::uniform_int_distribution<int>(full_us / 2, full_us)(random));
}

json analysis_reply(const domain::Analysis& a, const Lead& lead) {
  json out = to_json(*a.result);
  out["scorer"] = a.scorer;
  out["scorer_version"] = a.scorer_version;
  out["analyzed_at"] = lead.ai_analyzed_at ? json(*lead.ai_analyzed_at) : json(a.created_at);
  out["lead_id"] = lead.id;
  return out;
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
  auto created = session->create_lead(*lead, r.identity.name);
  if (!created) return fail(created.error(), r);
  return json_reply(201, to_json(*created));
}

Reply get_lead(const Services& s, const ApiRequest& r) {
  return with_path_id(s, r, [&](store::Session& session, std::int64_t id) {
    auto found = session.get_lead(id);
    if (!found) return fail(found.error(), r);
    return Reply{200, lead_json_text(*found), "application/json"};
  });
}

Reply list_leads(const Services& s, const ApiRequest& r) {
  if (auto e = check_query(
          r, {"stage", "source", "min_score", "max_score", "recommendation", "limit", "cursor"}))
    return fail(*e, r);
  auto filter = lead_filter(s, r);
  if (!filter) return fail(filter.error(), r);
  auto page = parse_page(r);
  if (!page) return fail(page.error(), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto leads = session->list_leads(*filter, *page);
  if (!leads) return fail(leads.error(), r);
  return page_reply(*leads);
}

Reply export_leads(const Services& s, const ApiRequest& r) {
  if (auto e = check_query(r, {"stage", "source", "min_score", "max_score", "recommendation"}))
    return fail(*e, r);
  auto filter = lead_filter(s, r);
  if (!filter) return fail(filter.error(), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  // Read a page at a time, so that only the CSV text grows with the number of leads.
  Reply reply{200, "", "text/csv"};
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
  auto ids = session->create_leads(leads, r.identity.name);
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
  auto change = session->change_lead_stage(*id, *stage, r.identity.name, s.config->handoff);
  if (!change) return fail(change.error(), r);
  return json_reply(200, to_json(change->lead));
}

Reply transfer_lead(const Services& s, const ApiRequest& r) {
  auto id = parse_id(r.param("id"), "id");
  if (!id) return fail(id.error(), r);
  if (auto body = object_body(r, {}, /*empty_is_object=*/true); !body) return fail(body.error(), r);
  auto session = s.db->session();
  if (!session) return fail(session.error(), r);
  auto change =
      session->change_lead_stage(*id, LeadStage::Transferred, r.identity.name, s.config->handoff);
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

Reply analyze_lead(const Services& s, const ApiRequest& r) {
  auto id = parse_id(r.param("id"), "id");
  if (!id) return fail(id.error(), r);
  if (auto e = check_query(r, {"scorer"})) return fail(*e, r);
  if (auto body = object_body(r, {}, /*empty_is_object=*/true); !body) return fail(body.error(), r);
  const auto scorers = s.scorers->current();  // this request finishes on the set it started with
  const scoring::Scorer* scorer = &scorers->primary();
  if (const auto* name = r.query_value("scorer")) {
    scorer = scorers->find(*name);
    if (!scorer) return fail(Error::validation("scorer", "unknown scorer " + *name), r);
  }
  const bool primary = scorer == &scorers->primary();
  const std::string role = primary ? "primary" : "adhoc";
  // Every scorer of this analysis (primary, fallbacks, shadows) sees this one offer; taken
  // before any connection is leased, as it may read the offer again.
  const auto offer = s.offers ? s.offers->current() : nullptr;
  // The connection is leased when first needed: a primary run on a cached lead needs none,
  // as its write goes through the analysis writer (which leases its own, per batch).
  std::optional<store::Session> session;
  auto lease = [&]() -> std::expected<store::Session*, Error> {
    if (!session) {
      auto leased = s.db->session();
      if (!leased) return std::unexpected(leased.error());
      session.emplace(std::move(*leased));
    }
    return &*session;
  };
  auto record = [&](const Lead& seen, const domain::Analysis& analysis) -> store::Result<Lead> {
    if (primary && s.analyses) {
      session.reset();  // the writer leases its own: holding one here could starve the pool
      return s.analyses->record(seen, analysis);
    }
    auto c = lease();
    if (!c) return std::unexpected(c.error());
    return (*c)->record_analysis(seen, analysis, primary);
  };
  // A primary run may start from the cached lead: its write is guarded by the input revision.
  std::optional<Lead> seen = primary && s.leads ? s.leads->find(*id) : std::nullopt;
  for (int attempt = 0; attempt < kAnalyzeAttempts; ++attempt) {
    std::this_thread::sleep_for(retry_pause(attempt));
    if (!seen) {
      auto c = lease();
      if (!c) return fail(c.error(), r);
      auto lead = (*c)->get_lead(*id);
      if (!lead) return fail(lead.error(), r);
      seen = std::move(*lead);
    }
    if (domain::is_final(seen->stage)) {
      if (s.leads) s.leads->erase(*id);
      return fail({ErrorCode::LeadFinal,
                   "lead " + std::to_string(*id) + " is " +
                       std::string(domain::to_string(seen->stage)) + " and cannot be analyzed",
                   {},
                   {}},
                  r);
    }
    domain::Analysis analysis = analysis_of(*id, role, r.identity.name, *seen, offer);
    const scoring::FallbackRun run =
        scoring::run_with_fallback(*scorers, *scorer, analysis.features);
    // Every failed run is kept, with its error, before whatever answered instead.
    for (const auto& failure : run.failures) {
      s.scorers->record_error(failure.scorer, failure.error);
      domain::Analysis failed = analysis;
      failed.scorer = failure.scorer;
      failed.scorer_version = failure.version;
      failed.error = failure.error;
      failed.latency_ms = failure.latency_ms;
      auto c = lease();
      if (!c) return fail(c.error(), r);
      if (auto kept = (*c)->append_analysis(failed); !kept) return fail(kept.error(), r);
    }
    if (!run.result) return fail({ErrorCode::ScorerUnavailable, run.failure_summary(), {}, {}}, r);
    analysis.scorer = run.scorer->name();
    analysis.scorer_version = run.scorer->version();
    analysis.latency_ms = run.latency_ms;
    analysis.result = *run.result;
    auto stored = record(*seen, analysis);
    if (!stored && stored.error().code == ErrorCode::Conflict) {
      seen.reset();  // its inputs changed since it was read (or cached): read it again
      continue;
    }
    if (!stored) {
      if (s.leads) s.leads->erase(*id);
      return fail(stored.error(), r);
    }
    if (primary && s.leads) s.leads->put(*stored);
    if (primary) run_shadows(s, scorers, analysis);
    json reply = analysis_reply(analysis, *stored);
    if (run.fell_back())
      reply["fallback_from"] = {{"scorer", run.failures.front().scorer},
                                {"error", run.failures.front().error}};
    return json_reply(200, reply);
  }
  // Every attempt lost to a change of the lead made by others. Not 409 conflict: this request
  // conflicts with nothing (the lead may be analyzed, and will be once the changes pause), so
  // there is nothing for its caller to resolve; the server could not finish for now, which is
  // what 503 says, with when to try again (and many clients retry a 503 on their own).
  spdlog::warn("request {} {} {}: lead {} kept changing during {} attempts to analyze it", r.id,
               r.method, r.path, *id, kAnalyzeAttempts);
  return fail(r,
              {ErrorCode::Unavailable,
               "lead " + std::to_string(*id) + " kept changing while it was analyzed (" +
                   std::to_string(kAnalyzeAttempts) + " attempts); try again in a moment",
               {},
               {}},
              {{"retry_after_seconds", 1}});
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

Reply delete_lead(const Services& s, const ApiRequest& r) {
  return with_path_id(s, r, [&](store::Session& session, std::int64_t id) {
    if (auto deleted = session.delete_lead(id); !deleted) return fail(deleted.error(), r);
    return empty_reply(204);
  });
}

}  // namespace leadscore::api::routes
