// Session: the store's queries. Each public method is one prepared statement, or one
// transaction around the lead's (or sale's) row lock when the domain rules must see the
// current row before deciding.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <utility>

#include "engine/domain/stage_machine.h"
#include "engine/store/row_mapping.h"
#include "engine/store/session_impl.h"
#include "engine/store/store.h"

namespace leadscore::store {
namespace {

using domain::ErrorCode;
using domain::LeadStage;
using domain::SaleStage;
using domain::TransitionVerdict;

std::string cat(std::initializer_list<std::string_view> parts) {
  std::string text;
  for (std::string_view part : parts) text += part;
  return text;
}

// Every change of a row moves its updated_at strictly forward, even within one microsecond:
// the time of its last change of any kind. (What an analysis is guarded by is a lead's
// input_revision, which the database moves on a change of a scorer's inputs: migration 005.)
constexpr std::string_view kTouch =
    "updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond')";

const Statement kPing{"ping", "SELECT 1"};

// --- leads ---
const Statement kCreateLead{
    "create_lead",
    cat({"WITH lead AS ("
         " INSERT INTO leads (source, business_domain, activity_count, name, email, role,"
         "  company, industry, location, bio)"
         " VALUES ($1, $2, $3::bigint, $4, $5, $6, $7, $8, $9, $10)"
         " RETURNING ",
         kLeadColumns,
         "), event AS ("
         " INSERT INTO stage_events (lead_id, from_stage, to_stage, actor)"
         " SELECT id, NULL, 'new', $11 FROM lead)"
         " SELECT * FROM lead"})};
// create_leads(): every lead of $1 (a JSON array of kCreateLead's fields by name) and its
// creation event by $2, in one statement and so one transaction; ids are taken in array order.
const Statement kCreateLeads{
    "create_leads",
    "WITH input AS ("
    " SELECT n, v FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(v, n)"
    "), lead AS ("
    " INSERT INTO leads (source, business_domain, activity_count, name, email, role,"
    "  company, industry, location, bio)"
    " SELECT v->>'source', v->>'business_domain', (v->>'activity_count')::bigint, v->>'name',"
    "  v->>'email', v->>'role', v->>'company', v->>'industry', v->>'location', v->>'bio'"
    " FROM input ORDER BY n"
    " RETURNING id"
    "), event AS ("
    " INSERT INTO stage_events (lead_id, from_stage, to_stage, actor)"
    " SELECT id, NULL, 'new', $2 FROM lead)"
    " SELECT id FROM lead ORDER BY id"};
const Statement kGetLead{"get_lead",
                         cat({"SELECT ", kLeadColumns, " FROM leads WHERE id = $1::bigint"})};
const Statement kLockLead{
    "lock_lead", cat({"SELECT ", kLeadColumns, " FROM leads WHERE id = $1::bigint FOR UPDATE"})};
const Statement kLockLeadStage{"lock_lead_stage",
                               "SELECT stage FROM leads WHERE id = $1::bigint FOR UPDATE"};
// One plan for every combination of filters: an unset filter is a NULL parameter.
const Statement kListLeads{"list_leads",
                           cat({"SELECT ", kLeadColumns,
                                " FROM leads"
                                " WHERE id > coalesce($1::bigint, 0)"
                                "  AND ($2::text IS NULL OR stage = $2::text)"
                                "  AND ($3::text IS NULL OR source = $3::text)"
                                "  AND ($4::float8 IS NULL OR ai_score >= $4::float8)"
                                "  AND ($5::float8 IS NULL OR ai_score <= $5::float8)"
                                "  AND ($6::text IS NULL OR ai_recommendation = $6::text)"
                                " ORDER BY id LIMIT $7::bigint"})};
const Statement kUpdateLeadFields{
    "update_lead_fields",
    cat({"UPDATE leads SET business_domain = $2, name = $3, email = $4, role = $5, company = $6,"
         " industry = $7, location = $8, bio = $9, ",
         kTouch, " WHERE id = $1::bigint RETURNING ", kLeadColumns})};
const Statement kAddActivity{
    "add_activity", cat({"UPDATE leads SET activity_count = activity_count + $2::bigint, ", kTouch,
                         " WHERE id = $1::bigint RETURNING ", kLeadColumns})};
// $1 lead, $2 new stage, $3 old stage, $4 actor.
const Statement kSetLeadStage{
    "set_lead_stage", cat({"WITH lead AS (UPDATE leads SET stage = $2::text, ", kTouch,
                           " WHERE id = $1::bigint RETURNING ", kLeadColumns,
                           "), event AS ("
                           " INSERT INTO stage_events (lead_id, from_stage, to_stage, actor)"
                           " SELECT id, $3::text, $2::text, $4 FROM lead)"
                           " SELECT * FROM lead"})};
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
const Statement kLeadEvents{"lead_events",
                            "SELECT from_stage, to_stage, actor, leadscore_rfc3339(at)"
                            " FROM stage_events WHERE lead_id = $1::bigint AND sale_id IS NULL"
                            " ORDER BY id"};
const Statement kLeadAnalyses{
    "lead_analyses",
    cat({"SELECT ", kAnalysisColumns, " FROM analyses WHERE lead_id = $1::bigint ORDER BY id"})};
const Statement kLeadExists{"lead_exists", "SELECT 1 FROM leads WHERE id = $1::bigint"};

// --- analyses ---
// The analysis columns from $6 on: scorer, scorer_version, role, actor, features, result,
// contributions, latency_ms, error.
constexpr std::string_view kAnalysisInsert =
    "INSERT INTO analyses (lead_id, scorer, scorer_version, role, actor, features, result,"
    " contributions, latency_ms, error, created_at) ";

// The time of an analysis stored on its lead, as leadscore_record_analyses() (migration 005)
// takes it: once the row lock is held (PostgreSQL evaluates it again after waiting for the
// lock) and strictly after the lead's previous analysis, so that of the analyses stored on a
// lead, the newest is the one it holds.
constexpr std::string_view kAnalysisTime =
    "ai_analyzed_at = greatest(clock_timestamp(), ai_analyzed_at + interval '1 microsecond')";

// One statement, no transaction: the UPDATE takes the row lock and re-checks its WHERE on the
// newest row version, so a concurrent change of the lead's inputs makes it match nothing, and
// a concurrent analysis (which leaves input_revision alone) does not; the analysis row is
// inserted only with the update, with the lead's new ai_analyzed_at as its time. When nothing
// matched, the last branch (which reads the statement's snapshot, before any concurrent
// change) says why: the lead is final, or its inputs changed since it was read (also when a
// concurrent change made it final: the caller re-reads).
// $1 lead, $2 input_revision as read, $3 score, $4 recommendation, $5 reason, $6.. analysis.
const Statement kRecordAnalysisOnLead{
    "record_analysis_on_lead",
    cat({"WITH lead AS ("
         " UPDATE leads SET ai_score = $3::float8, ai_recommendation = $4::text,"
         "  ai_reason = $5::text, ai_scorer = $6::text, ai_scorer_version = $7::text, ",
         kAnalysisTime, ", ", kTouch,
         "  WHERE id = $1::bigint AND input_revision = $2::bigint"
         "   AND stage NOT IN ('transferred', 'lost')"
         " RETURNING *), analysis AS (",
         kAnalysisInsert,
         " SELECT id, $6::text, $7::text, $8::text, $9::text, $10::jsonb, $11::jsonb,"
         "  $12::jsonb, $13::float8, $14::text, ai_analyzed_at FROM lead)"
         " SELECT 'stored' AS outcome, ",
         kLeadColumns,
         " FROM lead UNION ALL"
         " SELECT CASE WHEN stage IN ('transferred', 'lost') THEN 'final' ELSE 'changed' END, ",
         kLeadColumns, " FROM leads WHERE id = $1::bigint AND NOT EXISTS (SELECT 1 FROM lead)"})};
// Appends the analysis and reads the lead, in one statement; no row when the lead is missing.
// $1 lead, $2.. as kAppendAnalysis.
const Statement kRecordAnalysisOnly{
    "record_analysis_only",
    cat({"WITH analysis AS (", kAnalysisInsert,
         " SELECT id, $2::text, $3::text, $4::text, $5::text, $6::jsonb, $7::jsonb, $8::jsonb,"
         "  $9::float8, $10::text, now() FROM leads WHERE id = $1::bigint)"
         " SELECT ",
         kLeadColumns, " FROM leads WHERE id = $1::bigint"})};
// record_analyses(): kRecordAnalysisOnLead for a batch of analyses in one statement and so
// one commit, through leadscore_record_analyses() (migrations 003, 005). $1 is a JSON array of
// {a_n, a_lead, a_revision, a_score, a_recommendation, a_reason, a_scorer, a_scorer_version,
// a_role, a_actor, a_features, a_result, a_contributions, a_latency_ms}; each answer row
// carries its a_n. (The a_ prefix keeps them apart from the leads' columns.)
const Statement kRecordAnalysesOnLeads{
    "record_analyses_on_leads",
    cat({"SELECT outcome, a_n, ", kLeadColumns,
         " FROM leadscore_record_analyses($1::jsonb) AS r, LATERAL (SELECT (r.lead).*) AS l"})};
const Statement kAppendAnalysis{
    "append_analysis",
    cat({kAnalysisInsert,
         "VALUES ($1::bigint, $2::text, $3::text, $4::text, $5::text, $6::jsonb, $7::jsonb,"
         " $8::jsonb, $9::float8, $10::text, now())"})};

// --- sales ---
const Statement kCreateSale{
    "create_sale",
    cat({"WITH sale AS (INSERT INTO sales (lead_id) VALUES ($1::bigint) RETURNING ", kSaleColumns,
         "), event AS ("
         " INSERT INTO stage_events (lead_id, sale_id, from_stage, to_stage, actor)"
         " SELECT lead_id, id, NULL, 'new', $2 FROM sale)"
         " SELECT * FROM sale"})};
const Statement kGetSale{"get_sale",
                         cat({"SELECT ", kSaleColumns, " FROM sales WHERE id = $1::bigint"})};
const Statement kLockSale{
    "lock_sale", cat({"SELECT ", kSaleColumns, " FROM sales WHERE id = $1::bigint FOR UPDATE"})};
const Statement kListSales{"list_sales", cat({"SELECT ", kSaleColumns,
                                              " FROM sales WHERE id > coalesce($1::bigint, 0)"
                                              " ORDER BY id LIMIT $2::bigint"})};
// $1 sale, $2 new stage, $3 old stage, $4 actor.
const Statement kSetSaleStage{
    "set_sale_stage",
    cat({"WITH sale AS (UPDATE sales SET stage = $2::text, ", kTouch,
         " WHERE id = $1::bigint RETURNING ", kSaleColumns,
         "), event AS ("
         " INSERT INTO stage_events (lead_id, sale_id, from_stage, to_stage, actor)"
         " SELECT lead_id, id, $3::text, $2::text, $4 FROM sale)"
         " SELECT * FROM sale"})};

// --- offers ---
// First in every offer write: moves the revision forward and holds its row lock until commit,
// so that offer writes run one at a time.
const Statement kNextOfferRevision{
    "next_offer_revision", "UPDATE offers_revision SET revision = revision + 1 RETURNING revision"};
// Deactivates the active offer unless it is $1 (NULL: whichever it is).
const Statement kDeactivateOffers{"deactivate_offers",
                                  cat({"UPDATE offers SET active = false, ", kTouch,
                                       " WHERE active AND id IS DISTINCT FROM $1::bigint"})};
// $1 name, $2 description, $3 value_props, $4 ideal_use_cases, $5 active.
const Statement kCreateOffer{
    "create_offer",
    cat({"INSERT INTO offers (name, description, value_props, ideal_use_cases, active)"
         " VALUES ($1, $2, $3::jsonb, $4::jsonb, $5::boolean) RETURNING ",
         kOfferColumns})};
// $1 id, $2.. as kCreateOffer.
const Statement kReplaceOffer{
    "replace_offer", cat({"UPDATE offers SET name = $2, description = $3, value_props = $4::jsonb,"
                          " ideal_use_cases = $5::jsonb, active = $6::boolean, ",
                          kTouch, " WHERE id = $1::bigint RETURNING ", kOfferColumns})};
const Statement kDeleteOffer{"delete_offer",
                             "DELETE FROM offers WHERE id = $1::bigint RETURNING id"};
const Statement kGetOffer{"get_offer",
                          cat({"SELECT ", kOfferColumns, " FROM offers WHERE id = $1::bigint"})};
const Statement kListOffers{"list_offers", cat({"SELECT ", kOfferColumns,
                                                " FROM offers WHERE id > coalesce($1::bigint, 0)"
                                                " ORDER BY id LIMIT $2::bigint"})};
// The revision and the active offer (its columns NULL when there is none), in one snapshot.
const Statement kActiveOffer{"active_offer",
                             cat({"SELECT r.revision, o.* FROM offers_revision AS r"
                                  " LEFT JOIN (SELECT ",
                                  kOfferColumns, " FROM offers WHERE active) AS o ON true"})};

// --- API keys ---
constexpr std::string_view kApiKeyColumns =
    "name, role, key_hash, leadscore_rfc3339(created_at) AS created_at_text";
const Statement kCreateApiKey{
    "create_api_key",
    cat({"INSERT INTO api_keys (name, role, key_hash) VALUES ($1, $2, $3) RETURNING ",
         kApiKeyColumns})};
const Statement kListApiKeys{"list_api_keys",
                             cat({"SELECT ", kApiKeyColumns, " FROM api_keys ORDER BY name"})};
const Statement kFindApiKey{"find_api_key",
                            cat({"SELECT ", kApiKeyColumns, " FROM api_keys WHERE key_hash = $1"})};
const Statement kDeleteApiKey{"delete_api_key",
                              "DELETE FROM api_keys WHERE name = $1 RETURNING name"};

// --- errors ---

std::unexpected<Error> failure(const PgFailure& failure) {
  return std::unexpected(to_error(failure));
}

std::unexpected<Error> error(ErrorCode code, std::string message) {
  return std::unexpected(Error{code, std::move(message), {}, {}});
}

std::unexpected<Error> lead_not_found(std::int64_t id) {
  return std::unexpected(Error::not_found("lead " + std::to_string(id) + " not found"));
}

std::unexpected<Error> lead_final(std::int64_t id, LeadStage stage) {
  return error(ErrorCode::LeadFinal, "lead " + std::to_string(id) + " is " +
                                         std::string(domain::to_string(stage)) +
                                         ", a final stage: it cannot change");
}

std::unexpected<Error> handoff_rejected(const std::vector<domain::HandoffCheck>& failed) {
  Error e{ErrorCode::HandoffRejected, "the lead cannot be handed off to sales:", {}, {}};
  for (auto check : failed) {
    e.failed_checks.emplace_back(domain::code(check));
    e.message += (e.failed_checks.size() == 1 ? " " : ", ") + e.failed_checks.back();
  }
  return std::unexpected(std::move(e));
}

// Runs `body` on the session's connection; nothing thrown escapes (a corrupt row, a JSON
// error, bad_alloc become Internal), and a transaction left open is rolled back.
template <typename Body>
auto guarded(Session::Impl* impl, Body&& body) -> decltype(body(impl->connection)) {
  if (impl == nullptr) return std::unexpected(Error::internal("store session used after move"));
  try {
    return body(impl->connection);
  } catch (const std::exception& e) {
    impl->connection.prepare_for_reuse();
    return std::unexpected(Error::internal(std::string("store: ") + e.what()));
  } catch (...) {
    impl->connection.prepare_for_reuse();
    return std::unexpected(Error::internal("store: unknown exception"));
  }
}

// BEGIN; body; COMMIT — or ROLLBACK when the body fails.
template <typename Body>
auto in_transaction(PgConnection& c, Body&& body) -> decltype(body()) {
  if (auto begun = c.execute_script("BEGIN"); !begun) return failure(begun.error());
  auto result = body();
  if (!result) {
    c.prepare_for_reuse();
    return result;
  }
  if (auto committed = c.execute_script("COMMIT"); !committed) return failure(committed.error());
  return result;
}

// The profile columns, in table order: name, email, role, company, industry, location, bio.
Params& profile_fields(Params& p, const domain::Profile& f) {
  return p.text(f.name)
      .text(f.email)
      .text(f.role)
      .text(f.company)
      .text(f.industry)
      .text(f.location)
      .text(f.bio);
}

// The analysis columns scorer .. error, in kAnalysisInsert's order.
Params& analysis_fields(Params& p, const domain::Analysis& a) {
  p.text(a.scorer).text(a.scorer_version).text(a.role).text(a.actor);
  p.text(features_json(a.features));
  if (a.result)
    p.text(result_json(*a.result)).text(contributions_json(*a.result));
  else
    p.null().null();
  return p.real(a.latency_ms).text(a.error);
}

// The outcome of a guarded analysis write, from its answer row: "stored" with the lead from
// column `lead_first` on, or "final" / "changed" with the lead as it is.
Result<domain::Lead> recorded(const PgResult& r, int row, int lead_first, std::int64_t id) {
  const std::string_view outcome = r.text(row, 0);
  if (outcome == "stored") return read_lead(r, row, lead_first);
  if (outcome == "final") {
    auto stage = domain::parse_lead_stage(r.text(row, lead_first + 2));
    return lead_final(id, stage.value_or(LeadStage::Lost));
  }
  return error(ErrorCode::Conflict, "lead " + std::to_string(id) +
                                        " changed since it was read; read it and score again");
}

// A JSON string. Strict: text that is not UTF-8 throws, as PostgreSQL would refuse it.
std::string json_string(std::string_view text) { return nlohmann::json(text).dump(); }

// The input of kRecordAnalysesOnLeads.
std::string analyses_batch_json(std::span<const AnalysisToRecord> batch) {
  std::string out = "[";
  for (std::size_t n = 0; n < batch.size(); ++n) {
    const domain::Lead& seen = *batch[n].seen;
    const domain::Analysis& a = *batch[n].analysis;
    const domain::ScoreResult& result = *a.result;
    if (n > 0) out += ',';
    out += "{\"a_n\":" + std::to_string(n) + ",\"a_lead\":" + std::to_string(seen.id);
    out += ",\"a_revision\":" + std::to_string(seen.input_revision);
    out += ",\"a_score\":" + nlohmann::json(result.score).dump();
    out += ",\"a_recommendation\":" + json_string(domain::to_string(result.recommendation));
    out += ",\"a_reason\":" + json_string(result.reason);
    out += ",\"a_scorer\":" + json_string(a.scorer);
    out += ",\"a_scorer_version\":" + json_string(a.scorer_version);
    out += ",\"a_role\":" + json_string(a.role);
    out += ",\"a_actor\":" + json_string(a.actor);
    out += ",\"a_features\":" + features_json(a.features);
    out += ",\"a_result\":" + result_json(result);
    out += ",\"a_contributions\":" + contributions_json(result);
    out += ",\"a_latency_ms\":" + nlohmann::json(a.latency_ms).dump() + "}";
  }
  return out + "]";
}

std::unexpected<Error> offer_not_found(std::int64_t id) {
  return std::unexpected(Error::not_found("offer " + std::to_string(id) + " not found"));
}

std::unexpected<Error> sale_not_found(std::int64_t id) {
  return std::unexpected(Error::not_found("sale " + std::to_string(id) + " not found"));
}

// The offer fields a caller sets, in kCreateOffer's order.
Params& offer_fields(Params& p, const domain::OfferInput& offer) {
  return p.text(offer.name)
      .text(offer.description)
      .text(text_list_json(offer.value_props))
      .text(text_list_json(offer.ideal_use_cases))
      .text(offer.active ? "true" : "false");
}

Result<ActiveOffer> read_active_offer(PgConnection& c) {
  auto r = c.execute(kActiveOffer, Params());
  if (!r) return failure(r.error());
  if (r->rows() != 1) return std::unexpected(Error::internal("offers_revision has no row"));
  ActiveOffer active{r->integer(0, 0), std::nullopt};
  if (!r->is_null(0, 1)) active.offer = read_offer(*r, 0, 1);
  return active;
}

// One offer write: in a transaction that first takes the offers' revision (and with it the
// lock that makes offer writes run one at a time), deactivates the active offer when `offer`
// is to be active in its place (`id`: the offer written, nullopt for a new one), runs `write`,
// and reads the active offer as the transaction leaves it.
template <typename Write>
Result<OfferChange> write_offer(PgConnection& c, const domain::OfferInput& offer,
                                std::optional<std::int64_t> id, Write&& write) {
  if (auto e = domain::validate(offer)) return std::unexpected(*e);
  return in_transaction(c, [&]() -> Result<OfferChange> {
    if (auto r = c.execute(kNextOfferRevision, Params()); !r) return failure(r.error());
    if (offer.active)
      if (auto r = c.execute(kDeactivateOffers, Params().integer(id)); !r)
        return failure(r.error());
    auto written = write();
    if (!written) return std::unexpected(written.error());
    auto active = read_active_offer(c);
    if (!active) return std::unexpected(active.error());
    return OfferChange{std::move(*written), std::move(*active)};
  });
}

// The row that `statement` finds by `id` ($1), read from column 0 by `read`; `missing(id)`
// when there is none.
template <typename Read, typename Missing>
auto find_by_id(PgConnection& c, const Statement& statement, std::int64_t id, Read read,
                Missing missing) -> Result<decltype(read(std::declval<const PgResult&>(), 0, 0))> {
  auto r = c.execute(statement, Params().integer(id));
  if (!r) return failure(r.error());
  if (r->rows() == 0) return missing(id);
  return read(*r, 0, 0);
}

ApiKey read_api_key(const PgResult& r, int row) {
  auto role = parse_role(r.text(row, 1));
  if (!role)
    throw std::runtime_error("unknown role in the database: " + std::string(r.text(row, 1)));
  return {std::string(r.text(row, 0)), *role, std::string(r.text(row, 2)),
          std::string(r.text(row, 3))};
}

template <typename T, typename Read>
Page<T> read_page(const PgResult& r, int limit, Read read) {
  Page<T> page;
  const int rows = std::min(r.rows(), limit);
  page.items.reserve(static_cast<std::size_t>(rows));
  for (int row = 0; row < rows; ++row) page.items.push_back(read(r, row, 0));
  // One row more than asked for was requested: its presence says another page follows.
  if (r.rows() > limit && !page.items.empty()) page.next_after_id = page.items.back().id;
  return page;
}

std::optional<Error> check_limit(const PageRequest& page) {
  if (page.limit < 1) return Error::validation("limit", "limit must be >= 1");
  return std::nullopt;
}

// One keyset page of what `statement` lists in id order ($1: after this id, $2: how many).
template <typename T, typename Read>
Result<Page<T>> list_page(PgConnection& c, const Statement& statement, const PageRequest& page,
                          Read read) {
  if (auto e = check_limit(page)) return std::unexpected(*e);
  auto r =
      c.execute(statement, Params().integer(page.after_id).integer(std::int64_t{page.limit} + 1));
  if (!r) return failure(r.error());
  return read_page<T>(*r, page.limit, read);
}

}  // namespace

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Result<void> Session::ping() {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    if (auto r = c.execute(kPing, Params()); !r) return failure(r.error());
    return {};
  });
}

Result<domain::Lead> Session::create_lead(const domain::NewLead& lead, const std::string& actor) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<domain::Lead> {
    Params p;
    p.text(lead.source).text(lead.business_domain).integer(lead.activity_count);
    profile_fields(p, lead.profile).text(actor);
    auto r = c.execute(kCreateLead, p);
    if (!r) return failure(r.error());
    return read_lead(*r, 0);
  });
}

Result<std::vector<std::int64_t>> Session::create_leads(std::span<const domain::NewLead> leads,
                                                        const std::string& actor) {
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
    auto r = c.execute(kCreateLeads, Params().text(rows.dump()).text(actor));
    if (!r) return failure(r.error());
    ids.reserve(static_cast<std::size_t>(r->rows()));
    for (int row = 0; row < r->rows(); ++row) ids.push_back(r->integer(row, 0));
    return ids;
  });
}

Result<domain::Lead> Session::get_lead(std::int64_t id) {
  return guarded(impl_.get(), [&](PgConnection& c) {
    return find_by_id(c, kGetLead, id, read_lead, lead_not_found);
  });
}

Result<Page<domain::Lead>> Session::list_leads(const LeadFilter& filter, const PageRequest& page) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<Page<domain::Lead>> {
    if (auto e = check_limit(page)) return std::unexpected(*e);
    Params p;
    p.integer(page.after_id);
    if (filter.stage)
      p.text(domain::to_string(*filter.stage));
    else
      p.null();
    p.text(filter.source).real(filter.min_score).real(filter.max_score);
    if (filter.recommendation)
      p.text(domain::to_string(*filter.recommendation));
    else
      p.null();
    p.integer(std::int64_t{page.limit} + 1);
    auto r = c.execute(kListLeads, p);
    if (!r) return failure(r.error());
    return read_page<domain::Lead>(*r, page.limit, read_lead);
  });
}

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

Result<StageChange> Session::change_lead_stage(std::int64_t id, LeadStage to,
                                               const std::string& actor,
                                               const domain::HandoffPolicy& policy) {
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
      auto moved = c.execute(kSetLeadStage, p);
      if (!moved) return failure(moved.error());
      StageChange change{read_lead(*moved, 0), std::nullopt};
      if (to == LeadStage::Transferred) {
        auto sale = c.execute(kCreateSale, Params().integer(id).text(actor));
        if (!sale) {
          if (sale.error().sqlstate == "23505")
            return error(ErrorCode::LeadFinal,
                         "lead " + std::to_string(id) + " already has a sale");
          return failure(sale.error());
        }
        change.sale = read_sale(*sale, 0);
      }
      return change;
    });
  });
}

Result<void> Session::delete_lead(std::int64_t id) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    return in_transaction(c, [&]() -> Result<void> {
      auto locked = c.execute(kLockLeadForDelete, Params().integer(id));
      if (!locked) return failure(locked.error());
      if (locked->rows() == 0) return lead_not_found(id);
      if (locked->boolean(0, 0))
        return error(ErrorCode::Conflict,
                     "lead " + std::to_string(id) + " has a sale and cannot be deleted");
      // Its stage events and analyses go with it (ON DELETE CASCADE).
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

Result<domain::Lead> Session::record_analysis(const domain::Lead& seen,
                                              const domain::Analysis& analysis,
                                              bool store_on_lead) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<domain::Lead> {
    if (analysis.lead_id != 0 && analysis.lead_id != seen.id)
      return std::unexpected(
          Error::validation("lead_id", "the analysis belongs to another lead than `seen`"));
    Params p;
    p.integer(seen.id);
    if (!(store_on_lead && analysis.result)) {
      auto r = c.execute(kRecordAnalysisOnly, analysis_fields(p, analysis));
      if (!r) {
        if (r.error().sqlstate == "23503") return lead_not_found(seen.id);
        return failure(r.error());
      }
      if (r->rows() == 0) return lead_not_found(seen.id);
      return read_lead(*r, 0);
    }
    const domain::ScoreResult& result = *analysis.result;
    p.integer(seen.input_revision);  // 0, a lead not read from the store, matches no lead
    p.real(result.score).text(domain::to_string(result.recommendation)).text(result.reason);
    auto r = c.execute(kRecordAnalysisOnLead, analysis_fields(p, analysis));
    if (!r) return failure(r.error());
    if (r->rows() == 0) return lead_not_found(seen.id);
    return recorded(*r, 0, 1, seen.id);
  });
}

std::vector<Result<domain::Lead>> Session::record_analyses(
    std::span<const AnalysisToRecord> batch) {
  std::vector<Result<domain::Lead>> outcomes;
  outcomes.reserve(batch.size());
  auto one_by_one = [&] {
    outcomes.clear();
    for (const auto& item : batch)
      outcomes.push_back(record_analysis(*item.seen, *item.analysis, /*store_on_lead=*/true));
    return std::move(outcomes);
  };
  const bool batchable =
      batch.size() > 1 && std::ranges::all_of(batch, [](const AnalysisToRecord& item) {
        return item.analysis->result &&
               (item.analysis->lead_id == 0 || item.analysis->lead_id == item.seen->id);
      });
  if (!batchable) return one_by_one();
  bool refused = false;  // PostgreSQL refused the statement: nothing of the batch was written
  auto written = guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    std::string input;
    try {
      input = analyses_batch_json(batch);
    } catch (const nlohmann::json::exception&) {
      refused = true;  // a text that is not UTF-8: PostgreSQL would refuse it too
      return std::unexpected(Error::validation("reason", "text that is not UTF-8"));
    }
    auto r = c.execute(kRecordAnalysesOnLeads, Params().text(std::move(input)));
    if (!r) {
      auto e = failure(r.error());
      refused = e.error().code != ErrorCode::Unavailable;
      return e;
    }
    // An analysis whose lead does not exist has no answer row.
    for (const auto& item : batch) outcomes.push_back(lead_not_found(item.seen->id));
    for (int row = 0; row < r->rows(); ++row) {
      const auto n = static_cast<std::size_t>(r->integer(row, 1));
      if (n >= batch.size()) throw std::runtime_error("malformed batch answer");
      outcomes[n] = recorded(*r, row, 2, batch[n].seen->id);
    }
    return {};
  });
  if (written) return outcomes;
  // A refusal (a text PostgreSQL will not take, say) is one analysis's doing: write them one
  // by one so that only it fails. Otherwise (the database is away) they all fail alike.
  if (refused) return one_by_one();
  return std::vector<Result<domain::Lead>>(batch.size(), std::unexpected(written.error()));
}

Result<void> Session::append_analysis(const domain::Analysis& analysis) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    Params p;
    p.integer(analysis.lead_id);
    auto r = c.execute(kAppendAnalysis, analysis_fields(p, analysis));
    if (!r) {
      if (r.error().sqlstate == "23503") return lead_not_found(analysis.lead_id);
      return failure(r.error());
    }
    return {};
  });
}

Result<domain::Sale> Session::get_sale(std::int64_t id) {
  return guarded(impl_.get(), [&](PgConnection& c) {
    return find_by_id(c, kGetSale, id, read_sale, sale_not_found);
  });
}

Result<Page<domain::Sale>> Session::list_sales(const PageRequest& page) {
  return guarded(impl_.get(), [&](PgConnection& c) {
    return list_page<domain::Sale>(c, kListSales, page, read_sale);
  });
}

Result<domain::Sale> Session::change_sale_stage(std::int64_t id, SaleStage to,
                                                const std::string& actor) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<domain::Sale> {
    return in_transaction(c, [&]() -> Result<domain::Sale> {
      auto locked = c.execute(kLockSale, Params().integer(id));
      if (!locked) return failure(locked.error());
      if (locked->rows() == 0) return sale_not_found(id);
      const domain::Sale sale = read_sale(*locked, 0);
      const std::string from(domain::to_string(sale.stage));
      switch (domain::check_sale_transition(sale.stage, to)) {
        case TransitionVerdict::FromFinal:
          return error(ErrorCode::InvalidTransition, "sale " + std::to_string(id) + " is " + from +
                                                         ", a final stage: it cannot change");
        case TransitionVerdict::Invalid:
        case TransitionVerdict::NeedsHandoff:
          return error(ErrorCode::InvalidTransition, "cannot move sale from " + from + " to " +
                                                         std::string(domain::to_string(to)));
        case TransitionVerdict::Allowed:
          break;
      }
      auto r = c.execute(kSetSaleStage,
                         Params().integer(id).text(domain::to_string(to)).text(from).text(actor));
      if (!r) return failure(r.error());
      return read_sale(*r, 0);
    });
  });
}

Result<OfferChange> Session::create_offer(const domain::OfferInput& offer) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<OfferChange> {
    return write_offer(c, offer, std::nullopt, [&]() -> Result<domain::Offer> {
      Params p;
      auto r = c.execute(kCreateOffer, offer_fields(p, offer));
      if (!r) return failure(r.error());
      return read_offer(*r, 0);
    });
  });
}

Result<domain::Offer> Session::get_offer(std::int64_t id) {
  return guarded(impl_.get(), [&](PgConnection& c) {
    return find_by_id(c, kGetOffer, id, read_offer, offer_not_found);
  });
}

Result<Page<domain::Offer>> Session::list_offers(const PageRequest& page) {
  return guarded(impl_.get(), [&](PgConnection& c) {
    return list_page<domain::Offer>(c, kListOffers, page, read_offer);
  });
}

Result<OfferChange> Session::replace_offer(std::int64_t id, const domain::OfferInput& offer) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<OfferChange> {
    return write_offer(c, offer, id, [&]() -> Result<domain::Offer> {
      Params p;
      p.integer(id);
      auto r = c.execute(kReplaceOffer, offer_fields(p, offer));
      if (!r) return failure(r.error());
      if (r->rows() == 0) return offer_not_found(id);
      return read_offer(*r, 0);
    });
  });
}

Result<ActiveOffer> Session::delete_offer(std::int64_t id) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<ActiveOffer> {
    return in_transaction(c, [&]() -> Result<ActiveOffer> {
      if (auto r = c.execute(kNextOfferRevision, Params()); !r) return failure(r.error());
      auto r = c.execute(kDeleteOffer, Params().integer(id));
      if (!r) return failure(r.error());
      if (r->rows() == 0) return offer_not_found(id);
      return read_active_offer(c);
    });
  });
}

Result<ActiveOffer> Session::active_offer() {
  return guarded(impl_.get(), [&](PgConnection& c) { return read_active_offer(c); });
}

Result<ApiKey> Session::create_api_key(const std::string& name, Role role,
                                       const std::string& key_hash) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<ApiKey> {
    auto r = c.execute(kCreateApiKey, Params().text(name).text(to_string(role)).text(key_hash));
    if (!r) {
      if (r.error().sqlstate == "23505") {
        if (r.error().constraint == "api_keys_pkey")
          return error(ErrorCode::Conflict, "an API key named " + name + " already exists");
        return error(ErrorCode::Conflict, "an API key with the same key already exists");
      }
      return failure(r.error());
    }
    return read_api_key(*r, 0);
  });
}

Result<std::vector<ApiKey>> Session::list_api_keys() {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<std::vector<ApiKey>> {
    auto r = c.execute(kListApiKeys, Params());
    if (!r) return failure(r.error());
    std::vector<ApiKey> keys;
    keys.reserve(static_cast<std::size_t>(r->rows()));
    for (int row = 0; row < r->rows(); ++row) keys.push_back(read_api_key(*r, row));
    return keys;
  });
}

Result<ApiKey> Session::find_api_key(const std::string& key_hash) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<ApiKey> {
    auto r = c.execute(kFindApiKey, Params().text(key_hash));
    if (!r) return failure(r.error());
    if (r->rows() == 0) return std::unexpected(Error::not_found("no API key has this hash"));
    return read_api_key(*r, 0);
  });
}

Result<void> Session::delete_api_key(const std::string& name) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    auto r = c.execute(kDeleteApiKey, Params().text(name));
    if (!r) return failure(r.error());
    if (r->rows() == 0) return std::unexpected(Error::not_found("no API key is named " + name));
    return {};
  });
}

}  // namespace leadscore::store
