// Session: the queries of leads — create (one or many), read, list, edit, activity, stage
// changes with the handoff (which creates the sale), delete, history. Each method is one
// prepared statement, or one transaction around the lead's row lock when the domain rules must
// see the current row before deciding.
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/domain/stage_machine.h"
#include "engine/store/row_mapping.h"
#include "engine/store/session_impl.h"
#include "engine/store/store.h"
#include "engine/store/webhook_outbox.h"

namespace leadscore::store {
namespace {

using domain::ErrorCode;
using domain::LeadStage;
using domain::TransitionVerdict;

constexpr int kProfileCount = static_cast<int>(domain::kProfileFieldCount);

// The profile fields as parameters, in the order of profile_columns().
Params& profile_fields(Params& p, const domain::Profile& f) {
  domain::for_each_profile_field(f, [&](const char*, const auto& value) { p.text(value); });
  return p;
}

// "$first, $first+1, ..." for the profile columns.
std::string profile_placeholders(int first) {
  std::string out;
  for (int i = 0; i < kProfileCount; ++i)
    out.append(i ? ", $" : "$").append(std::to_string(first + i));
  return out;
}

// "name = $first, email = $first+1, ..."
std::string profile_assignments(int first) {
  std::string out;
  int n = first;
  for (const domain::ProfileFieldSpec& spec : domain::kProfileFields) {
    out.append(n == first ? "" : ", ").append(spec.name).append(" = $").append(std::to_string(n));
    ++n;
  }
  return out;
}

// "v->>'name', v->>'email', ..." : the profile fields of a JSON object v.
std::string profile_members(std::string_view object) {
  std::string out;
  for (const domain::ProfileFieldSpec& spec : domain::kProfileFields)
    out.append(out.empty() ? "" : ", ").append(object).append("->>'").append(spec.name).append("'");
  return out;
}

std::unexpected<Error> handoff_rejected(const std::vector<domain::HandoffCheck>& failed) {
  Error e{ErrorCode::HandoffRejected, "the lead cannot be handed off to sales:", {}, {}};
  for (auto check : failed) {
    e.failed_checks.emplace_back(domain::code(check));
    e.message += (e.failed_checks.size() == 1 ? " " : ", ") + e.failed_checks.back();
  }
  return std::unexpected(std::move(e));
}

}  // namespace

// $1 source, $2 business_domain, $3 activity_count, $4.. profile_fields(), then the actor and
// the request id.
const Statement kCreateLead{
    "create_lead", cat({"WITH lead AS ("
                        " INSERT INTO leads (source, business_domain, activity_count, ",
                        profile_columns(), ") VALUES ($1, $2, $3::bigint, ",
                        profile_placeholders(4), ") RETURNING ", lead_columns(),
                        "), event AS ("
                        " INSERT INTO stage_events (lead_id, from_stage, to_stage, actor,"
                        "  request_id) SELECT id, NULL, 'new', $",
                        std::to_string(4 + kProfileCount), ", $", std::to_string(5 + kProfileCount),
                        "::text FROM lead) SELECT * FROM lead"})};

Result<domain::Lead> Session::create_lead(const domain::NewLead& lead, const std::string& actor,
                                          const std::optional<std::string>& request_id) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<domain::Lead> {
    Params p;
    p.text(lead.source).text(lead.business_domain).integer(lead.activity_count);
    profile_fields(p, lead.profile).text(actor).text(request_id);
    auto r = c.execute(kCreateLead, p);
    if (!r) return failure(r.error());
    return read_lead(*r, 0);
  });
}

// Every lead of $1 (a JSON array of kCreateLead's fields by name) and its creation event by $2
// for request $3, in one statement and so one transaction; ids are taken in array order.
const Statement kCreateLeads{
    "create_leads",
    cat({"WITH input AS ("
         " SELECT n, v FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(v, n)"
         "), lead AS ("
         " INSERT INTO leads (source, business_domain, activity_count, ",
         profile_columns(),
         ") SELECT v->>'source', v->>'business_domain', (v->>'activity_count')::bigint, ",
         profile_members("v"),
         " FROM input ORDER BY n"
         " RETURNING id"
         "), event AS ("
         " INSERT INTO stage_events (lead_id, from_stage, to_stage, actor, request_id)"
         " SELECT id, NULL, 'new', $2, $3::text FROM lead)"
         " SELECT id FROM lead ORDER BY id"})};

Result<std::vector<std::int64_t>> Session::create_leads(
    std::span<const domain::NewLead> leads, const std::string& actor,
    const std::optional<std::string>& request_id) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<std::vector<std::int64_t>> {
    std::vector<std::int64_t> ids;
    if (leads.empty()) return ids;
    nlohmann::json rows = nlohmann::json::array();
    for (const domain::NewLead& lead : leads) {
      nlohmann::json row{{"source", lead.source}, {"activity_count", lead.activity_count}};
      if (lead.business_domain) row["business_domain"] = *lead.business_domain;
      domain::for_each_profile_field(lead.profile, [&](const char* name, const auto& value) {
        if (value) row[name] = *value;
      });
      rows.push_back(std::move(row));
    }
    auto r = c.execute(kCreateLeads, Params().text(rows.dump()).text(actor).text(request_id));
    if (!r) return failure(r.error());
    ids.reserve(static_cast<std::size_t>(r->rows()));
    for (int row = 0; row < r->rows(); ++row) ids.push_back(r->integer(row, 0));
    return ids;
  });
}

const Statement kGetLead{"get_lead",
                         cat({"SELECT ", lead_columns(), " FROM leads WHERE id = $1::bigint"})};

Result<domain::Lead> Session::get_lead(std::int64_t id) {
  return guarded(impl_.get(), [&](PgConnection& c) {
    return find_by_id(c, kGetLead, id, read_lead, lead_not_found);
  });
}

// $1: a PostgreSQL array of ids, {1,2,3}.
const Statement kGetLeads{
    "get_leads",
    cat({"SELECT ", lead_columns(), " FROM leads WHERE id = ANY($1::bigint[]) ORDER BY id"})};

Result<std::vector<domain::Lead>> Session::get_leads(std::span<const std::int64_t> ids) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<std::vector<domain::Lead>> {
    std::vector<domain::Lead> leads;
    if (ids.empty()) return leads;
    std::string array = "{";
    for (std::size_t i = 0; i < ids.size(); ++i)
      array.append(i ? "," : "").append(std::to_string(ids[i]));
    array += "}";
    auto r = c.execute(kGetLeads, Params().text(std::move(array)));
    if (!r) return failure(r.error());
    leads.reserve(static_cast<std::size_t>(r->rows()));
    for (int row = 0; row < r->rows(); ++row) leads.push_back(read_lead(*r, row));
    return leads;
  });
}

// One plan for every combination of filters: an unset filter is a NULL parameter.
const Statement kListLeads{"list_leads",
                           cat({"SELECT ", lead_columns(),
                                " FROM leads"
                                " WHERE id > coalesce($1::bigint, 0)"
                                "  AND ($2::text IS NULL OR stage = $2::text)"
                                "  AND ($3::text IS NULL OR source = $3::text)"
                                "  AND ($4::float8 IS NULL OR ai_score >= $4::float8)"
                                "  AND ($5::float8 IS NULL OR ai_score <= $5::float8)"
                                "  AND ($6::text IS NULL OR ai_recommendation = $6::text)"
                                " ORDER BY id LIMIT $7::bigint"})};

// The same, newest first: $1 is the last id of the previous page, the next are below it.
const Statement kListLeadsNewest{"list_leads_newest",
                                 cat({"SELECT ", lead_columns(),
                                      " FROM leads"
                                      " WHERE ($1::bigint IS NULL OR id < $1::bigint)"
                                      "  AND ($2::text IS NULL OR stage = $2::text)"
                                      "  AND ($3::text IS NULL OR source = $3::text)"
                                      "  AND ($4::float8 IS NULL OR ai_score >= $4::float8)"
                                      "  AND ($5::float8 IS NULL OR ai_score <= $5::float8)"
                                      "  AND ($6::text IS NULL OR ai_recommendation = $6::text)"
                                      " ORDER BY id DESC LIMIT $7::bigint"})};

Result<Page<domain::Lead>> Session::list_leads(const LeadFilter& filter, const PageRequest& page,
                                               LeadOrder order) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<Page<domain::Lead>> {
    if (auto e = check_limit(page)) return std::unexpected(*e);
    Params p;
    p.integer(page.after_id);
    bind_lead_filter(p, filter);
    p.integer(std::int64_t{page.limit} + 1);
    auto r = c.execute(order == LeadOrder::Newest ? kListLeadsNewest : kListLeads, p);
    if (!r) return failure(r.error());
    return read_page<domain::Lead>(*r, page.limit, read_lead);
  });
}

// The lead as it is, its row locked until the transaction ends (update_lead, change_lead_stage).
const Statement kLockLead{
    "lock_lead", cat({"SELECT ", lead_columns(), " FROM leads WHERE id = $1::bigint FOR UPDATE"})};
// $1 lead, $2 business_domain, $3.. profile_fields().
const Statement kUpdateLeadFields{
    "update_lead_fields", cat({"UPDATE leads SET business_domain = $2, ", profile_assignments(3),
                               ", ", kTouch, " WHERE id = $1::bigint RETURNING ", lead_columns()})};

Result<domain::Lead> Session::update_lead(std::int64_t id, const domain::LeadPatch& patch) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<domain::Lead> {
    if (auto e = domain::validate(patch)) return std::unexpected(*e);
    return in_transaction(c, [&]() -> Result<domain::Lead> {
      auto locked = c.execute(kLockLead, Params().integer(id));
      if (!locked) return failure(locked.error());
      if (locked->rows() == 0) return lead_not_found(id);
      domain::Lead lead = read_lead(*locked, 0);
      if (domain::is_final(lead.stage)) return lead_final(id, lead.stage);
      if (patch.empty()) return lead;
      domain::apply(patch, lead);
      Params p;
      p.integer(id).text(lead.business_domain);
      auto r = c.execute(kUpdateLeadFields, profile_fields(p, lead.profile));
      if (!r) return failure(r.error());
      return read_lead(*r, 0);
    });
  });
}

const Statement kLockLeadStage{"lock_lead_stage",
                               "SELECT stage FROM leads WHERE id = $1::bigint FOR UPDATE"};
const Statement kAddActivity{
    "add_activity", cat({"UPDATE leads SET activity_count = activity_count + $2::bigint, ", kTouch,
                         " WHERE id = $1::bigint RETURNING ", lead_columns()})};

Result<domain::Lead> Session::add_activity(std::int64_t id, std::int64_t count) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<domain::Lead> {
    if (count < 1) return std::unexpected(Error::validation("count", "count must be >= 1"));
    return in_transaction(c, [&]() -> Result<domain::Lead> {
      auto locked = c.execute(kLockLeadStage, Params().integer(id));
      if (!locked) return failure(locked.error());
      if (locked->rows() == 0) return lead_not_found(id);
      auto stage = domain::parse_lead_stage(locked->text(0, 0));
      if (!stage) return std::unexpected(Error::internal("unknown lead stage in the database"));
      if (domain::is_final(*stage)) return lead_final(id, *stage);
      auto r = c.execute(kAddActivity, Params().integer(id).integer(count));
      if (!r) {
        Error e = to_error(r.error());
        if (e.code == ErrorCode::Validation)
          return std::unexpected(Error::validation("count", "activity_count would overflow"));
        return std::unexpected(std::move(e));
      }
      return read_lead(*r, 0);
    });
  });
}

const Statement kSetActivity{"set_activity",
                             cat({"UPDATE leads SET activity_count = $2::bigint, ", kTouch,
                                  " WHERE id = $1::bigint RETURNING ", lead_columns()})};

Result<domain::Lead> Session::set_activity(std::int64_t id, std::int64_t count) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<domain::Lead> {
    if (count < 0)
      return std::unexpected(Error::validation("activity_count", "activity_count must be >= 0"));
    return in_transaction(c, [&]() -> Result<domain::Lead> {
      auto locked = c.execute(kLockLeadStage, Params().integer(id));
      if (!locked) return failure(locked.error());
      if (locked->rows() == 0) return lead_not_found(id);
      auto stage = domain::parse_lead_stage(locked->text(0, 0));
      if (!stage) return std::unexpected(Error::internal("unknown lead stage in the database"));
      if (domain::is_final(*stage)) return lead_final(id, *stage);
      auto r = c.execute(kSetActivity, Params().integer(id).integer(count));
      if (!r) return failure(r.error());
      return read_lead(*r, 0);
    });
  });
}

// $1 lead, $2 new stage, $3 old stage, $4 actor, $5 request id.
const Statement kSetLeadStage{
    "set_lead_stage",
    cat({"WITH lead AS (UPDATE leads SET stage = $2::text, ", kTouch,
         " WHERE id = $1::bigint RETURNING ", lead_columns(),
         "), event AS ("
         " INSERT INTO stage_events (lead_id, from_stage, to_stage, actor, request_id)"
         " SELECT id, $3::text, $2::text, $4, $5::text FROM lead)"
         " SELECT * FROM lead"})};
// The handoff's sale, with its creation event: $1 lead, $2 actor, $3 request id. A lead has at
// most one sale (a unique lead_id), so a second handoff fails here.
const Statement kCreateSale{
    "create_sale",
    cat({"WITH sale AS (INSERT INTO sales (lead_id) VALUES ($1::bigint) RETURNING ", kSaleColumns,
         "), event AS ("
         " INSERT INTO stage_events (lead_id, sale_id, from_stage, to_stage, actor, request_id)"
         " SELECT lead_id, id, NULL, 'new', $2, $3::text FROM sale)"
         " SELECT * FROM sale"})};

Result<StageChange> Session::change_lead_stage(std::int64_t id, LeadStage to,
                                               const std::string& actor,
                                               const domain::HandoffPolicy& policy,
                                               const std::optional<std::string>& request_id) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<StageChange> {
    return in_transaction(c, [&]() -> Result<StageChange> {
      // Concurrent changes of this lead queue here and decide on the row as the winner left it.
      auto locked = c.execute(kLockLead, Params().integer(id));
      if (!locked) return failure(locked.error());
      if (locked->rows() == 0) return lead_not_found(id);
      const domain::Lead lead = read_lead(*locked, 0);
      switch (domain::check_lead_transition(lead.stage, to)) {
        case TransitionVerdict::FromFinal:
          return lead_final(id, lead.stage);
        case TransitionVerdict::Invalid:
          return error(ErrorCode::InvalidTransition,
                       "cannot move lead from " + std::string(domain::to_string(lead.stage)) +
                           " to " + std::string(domain::to_string(to)));
        case TransitionVerdict::NeedsHandoff:
          if (auto failed = domain::failed_handoff_checks(lead, policy); !failed.empty())
            return handoff_rejected(failed);
          break;
        case TransitionVerdict::Allowed:
          break;
      }
      Params p;
      p.integer(id).text(domain::to_string(to)).text(domain::to_string(lead.stage)).text(actor);
      p.text(request_id);
      auto moved = c.execute(kSetLeadStage, p);
      if (!moved) return failure(moved.error());
      StageChange change{read_lead(*moved, 0), std::nullopt};
      if (to == LeadStage::Transferred) {
        auto sale = c.execute(kCreateSale, Params().integer(id).text(actor).text(request_id));
        if (!sale) {
          if (sale.error().sqlstate == "23505")
            return error(ErrorCode::LeadFinal,
                         "lead " + std::to_string(id) + " already has a sale");
          return failure(sale.error());
        }
        change.sale = read_sale(*sale, 0);
        if (auto event = write_handoff_event(*impl_, change, actor); !event)
          return std::unexpected(event.error());
      }
      return change;
    });
  });
}

// Whether the lead has a sale (which keeps it), its row locked; no row when it is missing.
const Statement kLockLeadForDelete{
    "lock_lead_for_delete",
    "SELECT EXISTS (SELECT 1 FROM sales WHERE sales.lead_id = leads.id)"
    " FROM leads WHERE id = $1::bigint FOR UPDATE OF leads"};
// Analyses carry no foreign key (migration 002): they go with the lead here. Stage events
// cascade.
const Statement kDeleteLead{
    "delete_lead",
    "WITH analyses_gone AS (DELETE FROM analyses WHERE lead_id = $1::bigint)"
    " DELETE FROM leads WHERE id = $1::bigint"};

Result<void> Session::delete_lead(std::int64_t id) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    return in_transaction(c, [&]() -> Result<void> {
      auto locked = c.execute(kLockLeadForDelete, Params().integer(id));
      if (!locked) return failure(locked.error());
      if (locked->rows() == 0) return lead_not_found(id);
      if (locked->boolean(0, 0))
        return error(ErrorCode::Conflict,
                     "lead " + std::to_string(id) + " has a sale and cannot be deleted");
      // Its stage events go with it (ON DELETE CASCADE), its analyses with kDeleteLead.
      if (auto r = c.execute(kDeleteLead, Params().integer(id)); !r) {
        if (r.error().sqlstate == "23503")
          return error(ErrorCode::Conflict,
                       "lead " + std::to_string(id) + " has a sale and cannot be deleted");
        return failure(r.error());
      }
      return {};
    });
  });
}

// The lead's own stage events (not those of its sale), oldest first.
const Statement kLeadEvents{"lead_events",
                            "SELECT from_stage, to_stage, actor, leadscore_rfc3339(at), request_id"
                            " FROM stage_events WHERE lead_id = $1::bigint AND sale_id IS NULL"
                            " ORDER BY id"};
const Statement kLeadExists{"lead_exists", "SELECT 1 FROM leads WHERE id = $1::bigint"};
const Statement kLeadAnalyses{
    "lead_analyses",
    cat({"SELECT ", kAnalysisColumns, " FROM analyses WHERE lead_id = $1::bigint ORDER BY id"})};

Result<LeadHistory> Session::lead_history(std::int64_t id) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<LeadHistory> {
    LeadHistory history;
    auto events = c.execute(kLeadEvents, Params().integer(id));
    if (!events) return failure(events.error());
    if (events->rows() == 0) {
      // Every lead has its creation event, so this is almost always a missing lead.
      auto exists = c.execute(kLeadExists, Params().integer(id));
      if (!exists) return failure(exists.error());
      if (exists->rows() == 0) return lead_not_found(id);
    }
    for (int row = 0; row < events->rows(); ++row) {
      StageEvent event;
      if (!events->is_null(row, 0)) event.from = domain::parse_lead_stage(events->text(row, 0));
      auto to = domain::parse_lead_stage(events->text(row, 1));
      if (!to) return std::unexpected(Error::internal("unknown lead stage in stage_events"));
      event.to = *to;
      event.actor = std::string(events->text(row, 2));
      event.at = std::string(events->text(row, 3));
      event.request_id = events->optional_text(row, 4);
      history.stage_events.push_back(std::move(event));
    }
    auto analyses = c.execute(kLeadAnalyses, Params().integer(id));
    if (!analyses) return failure(analyses.error());
    history.analyses.reserve(static_cast<std::size_t>(analyses->rows()));
    for (int row = 0; row < analyses->rows(); ++row)
      history.analyses.push_back(read_analysis(*analyses, row));
    return history;
  });
}

}  // namespace leadscore::store
