// Session: the queries of analyses — recording one on its lead (guarded by the lead's
// input_revision), recording a batch in one statement, a job's batch by set, appending a row
// only.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/store/row_mapping.h"
#include "engine/store/session_impl.h"
#include "engine/store/store.h"
#include "engine/store/webhook_outbox.h"

namespace leadscore::store {
namespace {

using domain::ErrorCode;
using domain::LeadStage;

// The analysis columns: scorer, scorer_version, role, actor, features, result, contributions,
// latency_ms, error, audit, request_id, experiment, arm.
constexpr std::string_view kAnalysisInsert =
    "INSERT INTO analyses (lead_id, scorer, scorer_version, role, actor, features, result,"
    " contributions, latency_ms, error, audit, request_id, experiment, arm, created_at) ";

// The time of an analysis stored on its lead, as leadscore_record_analyses() (migration 005)
// takes it: once the row lock is held (PostgreSQL evaluates it again after waiting for the
// lock) and strictly after the lead's previous analysis, so that of the analyses stored on a
// lead, the newest is the one it holds.
constexpr std::string_view kAnalysisTime =
    "ai_analyzed_at = greatest(clock_timestamp(), ai_analyzed_at + interval '1 microsecond')";

// The analysis columns scorer .. arm, in kAnalysisInsert's order.
Params& analysis_fields(Params& p, const domain::Analysis& a) {
  p.text(a.scorer).text(a.scorer_version).text(a.role).text(a.actor);
  p.text(features_json(a.features));
  if (a.result)
    p.text(result_json(*a.result)).text(contributions_json(*a.result));
  else
    p.null().null();
  return p.real(a.latency_ms)
      .text(a.error)
      .text(a.audit)
      .text(a.request_id)
      .text(a.experiment)
      .text(a.arm);
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

// The analysis columns scorer .. audit as the members of a JSON object of a batch (a_scorer ..
// a_audit; a_result and a_contributions only with a result, a_error only with an error).
void analysis_members(std::string& out, const domain::Analysis& a) {
  out += ",\"a_scorer\":" + json_string(a.scorer);
  out += ",\"a_scorer_version\":" + json_string(a.scorer_version);
  out += ",\"a_role\":" + json_string(a.role);
  out += ",\"a_actor\":" + json_string(a.actor);
  out += ",\"a_features\":" + features_json(a.features);
  if (a.result) {
    out += ",\"a_result\":" + result_json(*a.result);
    out += ",\"a_contributions\":" + contributions_json(*a.result);
  }
  out += ",\"a_latency_ms\":" + nlohmann::json(a.latency_ms).dump();
  if (a.error) out += ",\"a_error\":" + json_string(*a.error);
  // The audit is a JSON object text already (scoring::checked_audit): written as it is.
  if (a.audit) out += ",\"a_audit\":" + *a.audit;
  if (a.request_id) out += ",\"a_request_id\":" + json_string(*a.request_id);
  if (a.experiment) out += ",\"a_experiment\":" + json_string(*a.experiment);
  if (a.arm) out += ",\"a_arm\":" + json_string(*a.arm);
  if (a.assigning) {
    out += ",\"a_bucket\":" + std::to_string(a.assigning->bucket);
    out += ",\"a_split\":" + json_string(a.assigning->split);
  }
}

// The analyses to store on their leads, as a JSON array of {a_n, a_lead, a_revision, a_score,
// a_recommendation, a_reason, analysis_members}: the input of kRecordAnalysesOnLeads and the
// first of kRecordAnalysisSet.
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
    analysis_members(out, a);
    out += '}';
  }
  return out + "]";
}

// The rows to append, as a JSON array of {a_lead, a_if_stored, analysis_members}: the second
// input of kRecordAnalysisSet.
std::string appended_json(std::span<const AnalysisToAppend> rows) {
  std::string out = "[";
  for (std::size_t n = 0; n < rows.size(); ++n) {
    const domain::Analysis& a = *rows[n].analysis;
    if (n > 0) out += ',';
    out += "{\"a_lead\":" + std::to_string(a.lead_id);
    out += rows[n].only_if_stored ? ",\"a_if_stored\":true" : ",\"a_if_stored\":false";
    analysis_members(out, a);
    out += '}';
  }
  return out + "]";
}

}  // namespace

// One statement, no transaction: the UPDATE takes the row lock and re-checks its WHERE on the
// newest row version, so a concurrent change of the lead's inputs makes it match nothing, and
// a concurrent analysis (which leaves input_revision alone) does not; the analysis row is
// inserted only with the update, with the lead's new ai_analyzed_at as its time. When nothing
// matched, the last branch (which reads the statement's snapshot, before any concurrent
// change) says why: the lead is final, or its inputs changed since it was read (also when a
// concurrent change made it final: the caller re-reads).
// $1 lead, $2 input_revision as read, $3 score, $4 recommendation, $5 reason, $6.. analysis;
// `events`: the WITH items that write the analysis.completed event of the lead as stored (with
// the webhooks in the parameter after the last), or nothing.
//
// `assigning` (Analysis::assigning): the analysis also gives the lead its arm $18 in experiment
// $17, with bucket $19 and split $20, unless it has one; and it is stored only if the lead's arm
// is $18, given now or found. An arm another server gave the lead while this statement ran is
// not in its snapshot: the analysis is then not stored ('changed'), and the caller asks again.
// In the analysis's own write, the assignment costs an index insert instead of a round trip and
// a commit of its own.
std::string record_analysis_on_lead(std::string_view events, bool assigning) {
  constexpr std::string_view kOpen =
      "id = $1::bigint AND input_revision = $2::bigint AND stage NOT IN ('transferred', 'lost')";
  return cat(
      {"WITH ",
       assigning
           ? cat({"assigned AS ("
                  " INSERT INTO experiment_assignments (experiment, lead_id, arm, bucket, split)"
                  " SELECT $17::text, id, $18::text, $19::int, $20::text FROM leads WHERE ",
                  kOpen, " ON CONFLICT (experiment, lead_id) DO NOTHING RETURNING arm), "})
           : std::string(),
       "lead AS ("
       " UPDATE leads SET ai_score = $3::float8, ai_recommendation = $4::text,"
       "  ai_reason = $5::text, ai_scorer = $6::text, ai_scorer_version = $7::text, ",
       kAnalysisTime, ", ", kTouch, "  WHERE ", kOpen,
       assigning ? " AND (EXISTS (SELECT 1 FROM assigned) OR EXISTS (SELECT 1"
                   "  FROM experiment_assignments x WHERE x.experiment = $17::text"
                   "  AND x.lead_id = $1::bigint AND x.arm = $18::text))"
                 : "",
       " RETURNING *), analysis AS (", kAnalysisInsert,
       " SELECT id, $6::text, $7::text, $8::text, $9::text, $10::jsonb, $11::jsonb,"
       "  $12::jsonb, $13::float8, $14::text, $15::jsonb, $16::text, $17::text, $18::text,"
       "  ai_analyzed_at FROM lead)",
       events, " SELECT 'stored' AS outcome, ", lead_columns(),
       " FROM lead UNION ALL"
       " SELECT CASE WHEN stage IN ('transferred', 'lost') THEN 'final' ELSE 'changed' "
       "END, ",
       lead_columns(), " FROM leads WHERE id = $1::bigint AND NOT EXISTS (SELECT 1 FROM lead)"});
}
const Statement kRecordAnalysisOnLead{"record_analysis_on_lead",
                                      record_analysis_on_lead("", false)};
// The same, with the analysis.completed event for the webhooks of $19 (a text[]).
const Statement kRecordAnalysisOnLeadWithEvent{
    "record_analysis_on_lead_with_event",
    record_analysis_on_lead(analysis_event_items("lead", "id", "$19"), false)};
// The same two, giving the lead its arm.
const Statement kRecordAnalysisOnLeadAssigning{"record_analysis_on_lead_assigning",
                                               record_analysis_on_lead("", true)};
const Statement kRecordAnalysisOnLeadAssigningWithEvent{
    "record_analysis_on_lead_assigning_with_event",
    record_analysis_on_lead(analysis_event_items("lead", "id", "$21"), true)};
// Appends the analysis and reads the lead, in one statement; no row when the lead is missing.
// $1 lead, $2.. as kAppendAnalysis.
const Statement kRecordAnalysisOnly{
    "record_analysis_only",
    cat({"WITH analysis AS (", kAnalysisInsert,
         " SELECT id, $2::text, $3::text, $4::text, $5::text, $6::jsonb, $7::jsonb, $8::jsonb,"
         "  $9::float8, $10::text, $11::jsonb, $12::text, $13::text, $14::text, now()"
         " FROM leads WHERE id = $1::bigint)"
         " SELECT ",
         lead_columns(), " FROM leads WHERE id = $1::bigint"})};

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
    analysis_fields(p, analysis);
    const auto& assigning = analysis.assigning;
    if (assigning) {
      if (!analysis.experiment || !analysis.arm)
        return std::unexpected(
            Error::validation("arm", "an analysis assigning an arm names no experiment or arm"));
      p.integer(assigning->bucket).text(assigning->split);
    }
    const auto webhooks = analysis_event_webhooks(*impl_);
    if (webhooks) p.text(*webhooks);
    const Statement& statement =
        assigning
            ? (webhooks ? kRecordAnalysisOnLeadAssigningWithEvent : kRecordAnalysisOnLeadAssigning)
            : (webhooks ? kRecordAnalysisOnLeadWithEvent : kRecordAnalysisOnLead);
    auto r = c.execute(statement, p);
    if (!r) {
      // The arm given to a lead deleted meanwhile: its key is gone, and so is the write.
      if (r.error().sqlstate == "23503") return lead_not_found(seen.id);
      return failure(r.error());
    }
    if (r->rows() == 0) return lead_not_found(seen.id);
    return recorded(*r, 0, 1, seen.id);
  });
}

// kRecordAnalysisOnLead for a batch of analyses in one statement and so one commit, through
// leadscore_record_analyses() (migrations 003, 005, 009, 010, 013, 016). $1 is a JSON array of
// {a_n, a_lead, a_revision, a_score, a_recommendation, a_reason, a_scorer, a_scorer_version,
// a_role, a_actor, a_features, a_result, a_contributions, a_latency_ms, a_audit?,
// a_request_id?, a_experiment?, a_arm?, a_bucket?, a_split?}; each answer row carries its a_n.
// An analysis with a_bucket gives its lead its arm as kRecordAnalysisOnLeadAssigning does.
// (The a_ prefix keeps them apart from the leads' columns.)
const Statement kRecordAnalysesOnLeads{
    "record_analyses_on_leads",
    cat({"SELECT outcome, a_n, ", lead_columns(),
         " FROM leadscore_record_analyses($1::jsonb) AS r, LATERAL (SELECT (r.lead).*) AS l"})};
// The same, with an analysis.completed event of each analysis stored, for the webhooks of $2 (a
// text[]), in the order the analyses were stored.
const Statement kRecordAnalysesOnLeadsWithEvents{
    "record_analyses_on_leads_with_events",
    cat({"WITH r AS (SELECT * FROM leadscore_record_analyses($1::jsonb)),"
         " stored AS (SELECT r.a_n AS stored_n, (r.lead).* FROM r WHERE r.outcome = 'stored')",
         analysis_event_items("stored", "id, stored_n", "$2"), " SELECT outcome, a_n, ",
         lead_columns(), " FROM r, LATERAL (SELECT (r.lead).*) AS l"})};

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
    const auto webhooks = analysis_event_webhooks(*impl_);
    Params p;
    p.text(std::move(input));
    if (webhooks) p.text(*webhooks);
    auto r = c.execute(webhooks ? kRecordAnalysesOnLeadsWithEvents : kRecordAnalysesOnLeads, p);
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

// The set write of a job's batch. Unlike leadscore_record_analyses() (row by row, in a
// PL/pgSQL loop, for analyses that may share a lead), its leads are distinct, so one UPDATE
// joins them all and one INSERT appends every row: about a third of the row-by-row cost. The
// UPDATE takes the row locks and re-checks input_revision on the newest row version, as
// kRecordAnalysisOnLead does; the outcome of what it did not store is read from the statement's
// snapshot (before any concurrent change), the same way. Rows of leads that do not exist are
// not appended (analyses have no foreign key since migration 002). The leads are looked up by
// `id = ANY (ARRAY(...))`: an index scan whatever the planner guesses of the batch's size (a
// join on the input alone was planned as a hash join over every lead).
// $1 analyses_batch_json, $2 appended_json. One answer row per analysis of $1: a_n, outcome.
// Stored analyses write their analysis.completed events too when webhooks want them.
constexpr std::string_view kSetColumns =
    "a_scorer text, a_scorer_version text, a_role text, a_actor text, a_features jsonb,"
    " a_result jsonb, a_contributions jsonb, a_latency_ms float8, a_error text, a_audit jsonb,"
    " a_request_id text, a_experiment text, a_arm text";
// `events`: the WITH items that write analysis.completed (analysis_event_items), or "".
std::string record_analysis_set_sql(std::string_view events) {
  return cat(
      {"WITH input AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(a_n int,"
       "  a_lead bigint, a_revision bigint, a_score float8, a_recommendation text,"
       "  a_reason text, ",
       kSetColumns,
       ")), extra AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS e(a_lead bigint,"
       "  a_if_stored boolean, ",
       kSetColumns,
       ")), stored AS ("
       " UPDATE leads l SET ai_score = i.a_score, ai_recommendation = i.a_recommendation,"
       "  ai_reason = i.a_reason, ai_scorer = i.a_scorer,"
       "  ai_scorer_version = i.a_scorer_version,"
       "  ai_analyzed_at ="
       "   greatest(clock_timestamp(), l.ai_analyzed_at + interval '1 microsecond'),"
       "  updated_at = greatest(clock_timestamp(), l.updated_at + interval '1 microsecond')"
       " FROM input i WHERE l.id = ANY (ARRAY(SELECT a_lead FROM input)) AND l.id = i.a_lead"
       "  AND l.input_revision = i.a_revision AND l.stage NOT IN ('transferred', 'lost')"
       " RETURNING l.id, l.ai_score, l.ai_recommendation, l.ai_reason, l.ai_scorer,"
       "  l.ai_scorer_version, l.ai_analyzed_at"
       "), kept AS (",
       kAnalysisInsert,
       " SELECT i.a_lead, i.a_scorer, i.a_scorer_version, i.a_role, i.a_actor, i.a_features,"
       "  i.a_result, i.a_contributions, i.a_latency_ms, NULL, i.a_audit, i.a_request_id,"
       "  i.a_experiment, i.a_arm, s.ai_analyzed_at"
       " FROM input i JOIN stored s ON s.id = i.a_lead"
       " UNION ALL"
       " SELECT e.a_lead, e.a_scorer, e.a_scorer_version, e.a_role, e.a_actor, e.a_features,"
       "  e.a_result, e.a_contributions, e.a_latency_ms, e.a_error, e.a_audit, e.a_request_id,"
       "  e.a_experiment, e.a_arm, now()"
       " FROM extra e WHERE EXISTS (SELECT 1 FROM leads l WHERE l.id = e.a_lead)"
       "  AND (NOT e.a_if_stored OR e.a_lead IN (SELECT id FROM stored)))",
       events,
       // IN (SELECT ...), hashed, rather than a join with `stored`, which is planned as a
       // loop over it per row (its size is unknown to the planner).
       " SELECT i.a_n, CASE WHEN i.a_lead IN (SELECT id FROM stored) THEN 'stored'"
       "  WHEN l.id IS NULL THEN 'missing'"
       "  WHEN l.stage IN ('transferred', 'lost') THEN 'final' ELSE 'changed' END"
       " FROM input i LEFT JOIN leads l ON l.id = i.a_lead"});
}
const Statement kRecordAnalysisSet{"record_analysis_set", record_analysis_set_sql("")};
// The same, with an analysis.completed event of each analysis stored, for the webhooks of $3 (a
// text[]), in the order of the leads' ids.
const Statement kRecordAnalysisSetWithEvents{
    "record_analysis_set_with_events",
    record_analysis_set_sql(analysis_event_items("stored", "id", "$3"))};

Result<std::vector<SetOutcome>> Session::record_analysis_set(
    std::span<const AnalysisToRecord> on_leads, std::span<const AnalysisToAppend> appended) {
  std::vector<std::int64_t> ids;
  ids.reserve(on_leads.size());
  for (const AnalysisToRecord& item : on_leads) {
    if (!item.analysis->result)
      return std::unexpected(Error::validation("result", "an analysis to store has no result"));
    ids.push_back(item.seen->id);
  }
  std::ranges::sort(ids);
  if (std::ranges::adjacent_find(ids) != ids.end())
    return std::unexpected(
        Error::validation("lead_id", "two analyses of one set are of the same lead"));
  std::string first;
  std::string second;
  try {
    first = analyses_batch_json(on_leads);
    second = appended_json(appended);
  } catch (const nlohmann::json::exception&) {
    return std::unexpected(Error::validation("reason", "text that is not UTF-8"));
  }
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<std::vector<SetOutcome>> {
    const auto webhooks = analysis_event_webhooks(*impl_);
    Params p;
    p.text(std::move(first)).text(std::move(second));
    if (webhooks) p.text(*webhooks);
    auto r = c.execute(webhooks ? kRecordAnalysisSetWithEvents : kRecordAnalysisSet, p);
    if (!r) return failure(r.error());
    std::vector<SetOutcome> outcomes(on_leads.size(), SetOutcome::Missing);
    for (int row = 0; row < r->rows(); ++row) {
      const auto n = static_cast<std::size_t>(r->integer(row, 0));
      if (n >= outcomes.size()) throw std::runtime_error("malformed set answer");
      const std::string_view outcome = r->text(row, 1);
      outcomes[n] = outcome == "stored"    ? SetOutcome::Stored
                    : outcome == "final"   ? SetOutcome::Final
                    : outcome == "changed" ? SetOutcome::Changed
                                           : SetOutcome::Missing;
    }
    return outcomes;
  });
}

// Inserted only beside its lead (analyses have no foreign key since migration 002): a lookup of
// the lead by primary key, without the lock a foreign key would take. No row: no such lead.
const Statement kAppendAnalysis{
    "append_analysis",
    cat({kAnalysisInsert,
         "SELECT id, $2::text, $3::text, $4::text, $5::text, $6::jsonb, $7::jsonb, $8::jsonb,"
         " $9::float8, $10::text, $11::jsonb, $12::text, $13::text, $14::text, now()"
         " FROM leads WHERE id = $1::bigint"
         " RETURNING id"})};

Result<void> Session::append_analysis(const domain::Analysis& analysis) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    Params p;
    p.integer(analysis.lead_id);
    auto r = c.execute(kAppendAnalysis, analysis_fields(p, analysis));
    if (!r) {
      if (r.error().sqlstate == "23503") return lead_not_found(analysis.lead_id);
      return failure(r.error());
    }
    if (r->rows() == 0) return lead_not_found(analysis.lead_id);
    return {};
  });
}

}  // namespace leadscore::store
