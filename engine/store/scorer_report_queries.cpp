// The store's query of the report of scorers against closed sales (GET /reports/scorers,
// `leadscore report`): for each scorer version that ran in a window, the latest analysis of
// each lead it scored there, and the lead's sale stage; and the sale stages of given leads
// (POST /scorers/compare's outcomes).
#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "engine/store/session_impl.h"
#include "engine/store/store.h"

namespace leadscore::store {

// $1 since, $2 until (either NULL: the default). The window as the database reads it.
const Statement kReportWindow{
    "report_window",
    "SELECT leadscore_rfc3339(coalesce($1::timestamptz,"
    "                                 coalesce($2::timestamptz, now()) - interval '30 days')),"
    "       leadscore_rfc3339(coalesce($2::timestamptz, now()))"};

// $1 since, $2 until (inclusive, exclusive). Set-based, with no sort: an index-only scan of
// analyses_scorer_version_lead (migration 014) aggregated lead by lead (the latest run, the
// runs, the first and the last), then the latest run itself by id (a nested loop on the primary
// key: one row per lead, however many runs it had), and the lead's sale. Rows in no order.
const Statement kScorerRuns{
    "scorer_runs",
    "SELECT l.scorer, l.scorer_version, l.lead_id, r.score, r.recommendation, s.stage, l.runs,"
    "       leadscore_rfc3339(l.first_at), leadscore_rfc3339(l.last_at)"
    " FROM (SELECT scorer, scorer_version, lead_id, max(id) AS id, count(*) AS runs,"
    "              min(created_at) AS first_at, max(created_at) AS last_at"
    "         FROM analyses"
    "        WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz"
    "        GROUP BY scorer, scorer_version, lead_id) l"
    // OFFSET 0 keeps the subquery a subquery: looked up by id for each lead, not joined whole.
    " CROSS JOIN LATERAL (SELECT (a.result->>'score')::float8 AS score,"
    "                            a.result->>'recommendation' AS recommendation"
    "                       FROM analyses a WHERE a.id = l.id OFFSET 0) r"
    " LEFT JOIN sales s ON s.lead_id = l.lead_id"};

Result<ScorerRunsInWindow> Session::scorer_runs(const ReportWindow& window) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<ScorerRunsInWindow> {
    ScorerRunsInWindow out;
    {
      auto w = c.execute(kReportWindow, Params().text(window.since).text(window.until));
      if (!w) return failure(w.error());
      out.since = w->text(0, 0);
      out.until = w->text(0, 1);
    }
    auto r = c.execute(kScorerRuns, Params().text(out.since).text(out.until));
    if (!r) return failure(r.error());
    // By scorer, then version (the times are RFC 3339 of one width: they compare as text).
    std::map<std::pair<std::string, std::string>, ScorerVersionRuns> versions;
    for (int row = 0; row < r->rows(); ++row) {
      std::pair<std::string, std::string> key{r->text(row, 0), r->text(row, 1)};
      auto [it, added] = versions.try_emplace(key);
      ScorerVersionRuns& runs = it->second;
      const std::string_view first = r->text(row, 7), last = r->text(row, 8);
      if (added) {
        runs.scorer = key.first;
        runs.version = key.second;
        runs.first_at = first;
        runs.last_at = last;
      }
      runs.analyses += static_cast<std::size_t>(r->integer(row, 6));
      if (first < runs.first_at) runs.first_at = first;
      if (last > runs.last_at) runs.last_at = last;
      ReportedRun run;
      run.lead_id = r->integer(row, 2);
      run.score = r->optional_real(row, 3);
      if (!r->is_null(row, 4)) run.recommendation = domain::parse_recommendation(r->text(row, 4));
      if (!run.recommendation) run.score.reset();  // a run is a score and a recommendation
      if (!r->is_null(row, 5)) run.sale = domain::parse_sale_stage(r->text(row, 5));
      runs.leads.push_back(run);
    }
    for (auto& [key, runs] : versions) {
      std::ranges::sort(runs.leads, {}, &ReportedRun::lead_id);
      out.versions.push_back(std::move(runs));
    }
    return out;
  });
}

const Statement kSaleStages{
    "sale_stages",
    "SELECT lead_id, stage FROM sales WHERE lead_id = ANY($1::bigint[]) ORDER BY lead_id"};

Result<std::vector<std::pair<std::int64_t, domain::SaleStage>>> Session::sale_stages(
    std::span<const std::int64_t> lead_ids) {
  using Stages = std::vector<std::pair<std::int64_t, domain::SaleStage>>;
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<Stages> {
    Stages stages;
    if (lead_ids.empty()) return stages;
    std::string array = "{";
    for (std::size_t i = 0; i < lead_ids.size(); ++i)
      array.append(i ? "," : "").append(std::to_string(lead_ids[i]));
    array += "}";
    auto r = c.execute(kSaleStages, Params().text(std::move(array)));
    if (!r) return failure(r.error());
    for (int row = 0; row < r->rows(); ++row)
      if (auto stage = domain::parse_sale_stage(r->text(row, 1)))
        stages.emplace_back(r->integer(row, 0), *stage);
    return stages;
  });
}

}  // namespace leadscore::store
