// Session: the queries of scoring jobs — create (with the selection of its leads), read, list,
// cancel, resume, and what runners do: claim leads under a lease, extend it, mark leads done
// or failed, give claims back, interrupt the jobs of servers that went away.
//
// Exactly once: a lead is claimed by one runner at a time (FOR UPDATE SKIP LOCKED on its
// job_leads row, then a lease in the row). A claim whose lease ran out is taken again only
// after checking the analyses: the job's actor ("job N (key)") is unique to it, so a stored
// result by that actor means the lead was scored and only its mark was lost (a server killed
// between the two); it is then marked done, not scored again.
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/store/session_impl.h"
#include "engine/store/store.h"

namespace leadscore::store {
namespace {

using domain::ErrorCode;
using domain::Job;
using domain::JobFilter;
using domain::JobStatus;
using nlohmann::json;

// The select list of a job, as read_job() reads it. elapsed: from the start to the end, to
// now while running, to the last runner's heartbeat when interrupted.
constexpr std::string_view kJobColumns =
    "id, status, scorer, filter::text, total, done, failed, created_by, "
    "leadscore_rfc3339(created_at), leadscore_rfc3339(started_at), "
    "leadscore_rfc3339(finished_at), error, "
    "coalesce(extract(epoch FROM CASE WHEN status = 'running' THEN now()"
    " ELSE coalesce(finished_at, heartbeat_at, started_at) END - started_at)::float8, 0)";

json filter_json(const JobFilter& f) {
  json out = json::object();
  if (f.stage) out["stage"] = domain::to_string(*f.stage);
  if (f.source) out["source"] = *f.source;
  if (f.min_score) out["min_score"] = *f.min_score;
  if (f.max_score) out["max_score"] = *f.max_score;
  if (f.recommendation) out["recommendation"] = domain::to_string(*f.recommendation);
  if (f.unscored) out["unscored"] = *f.unscored;
  return out;
}

JobFilter read_filter(std::string_view text) {
  const json in = json::parse(text);
  JobFilter f;
  if (auto it = in.find("stage"); it != in.end())
    f.stage = domain::parse_lead_stage(it->get<std::string>());
  if (auto it = in.find("source"); it != in.end()) f.source = it->get<std::string>();
  if (auto it = in.find("min_score"); it != in.end()) f.min_score = it->get<double>();
  if (auto it = in.find("max_score"); it != in.end()) f.max_score = it->get<double>();
  if (auto it = in.find("recommendation"); it != in.end())
    f.recommendation = domain::parse_recommendation(it->get<std::string>());
  if (auto it = in.find("unscored"); it != in.end()) f.unscored = it->get<bool>();
  return f;
}

Job read_job(const PgResult& r, int row, int = 0) {
  Job job;
  job.id = r.integer(row, 0);
  auto status = domain::parse_job_status(r.text(row, 1));
  if (!status)
    throw std::runtime_error("unknown job status in the database: " + std::string(r.text(row, 1)));
  job.status = *status;
  job.scorer = r.optional_text(row, 2);
  job.filter = read_filter(r.text(row, 3));
  job.total = r.integer(row, 4);
  job.done = r.integer(row, 5);
  job.failed = r.integer(row, 6);
  job.created_by = std::string(r.text(row, 7));
  job.created_at = std::string(r.text(row, 8));
  job.started_at = r.optional_text(row, 9);
  job.finished_at = r.optional_text(row, 10);
  job.error = r.optional_text(row, 11);
  job.elapsed_seconds = r.real(row, 12);
  return job;
}

std::unexpected<Error> job_not_found(std::int64_t id) {
  return std::unexpected(Error::not_found("job " + std::to_string(id) + " not found"));
}

// A PostgreSQL array literal of ids: {1,2,3}.
std::string id_array(std::span<const std::int64_t> ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i)
    out.append(i ? "," : "").append(std::to_string(ids[i]));
  return out + "}";
}

std::string milliseconds(std::chrono::milliseconds lease) { return std::to_string(lease.count()); }

}  // namespace

const Statement kInsertJob{"insert_job",
                           "INSERT INTO jobs (scorer, filter, created_by)"
                           " VALUES ($1, $2::jsonb, $3) RETURNING id"};
// $1 job; the GET /leads filters as in list_leads ($2..$6), $7 unscored. Final leads cannot be
// scored: never selected.
const Statement kSelectJobLeads{"select_job_leads",
                                "WITH selected AS ("
                                " INSERT INTO job_leads (job_id, lead_id)"
                                " SELECT $1::bigint, id FROM leads"
                                " WHERE stage NOT IN ('transferred', 'lost')"
                                "  AND ($2::text IS NULL OR stage = $2::text)"
                                "  AND ($3::text IS NULL OR source = $3::text)"
                                "  AND ($4::float8 IS NULL OR ai_score >= $4::float8)"
                                "  AND ($5::float8 IS NULL OR ai_score <= $5::float8)"
                                "  AND ($6::text IS NULL OR ai_recommendation = $6::text)"
                                "  AND ($7::boolean IS NULL OR (ai_score IS NULL) = $7::boolean)"
                                " RETURNING 1)"
                                " SELECT count(*) FROM selected"};
// $1 job, $2 leads selected: a job of no lead is done at once.
const Statement kSetJobTotal{"set_job_total",
                             cat({"UPDATE jobs SET total = $2::bigint,"
                                  " status = CASE WHEN $2::bigint = 0 THEN 'done' ELSE status END,"
                                  " started_at = CASE WHEN $2::bigint = 0 THEN now() END,"
                                  " finished_at = CASE WHEN $2::bigint = 0 THEN now() END"
                                  " WHERE id = $1::bigint RETURNING ",
                                  kJobColumns})};

// A job of this many leads or more has job_leads analysed when it is created.
constexpr std::int64_t kAnalyzeJobLeadsFrom = 1000;

Result<Job> Session::create_job(const JobFilter& filter, const std::optional<std::string>& scorer,
                                const std::string& created_by) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<Job> {
    auto created = in_transaction(c, [&]() -> Result<Job> {
      auto inserted = c.execute(
          kInsertJob, Params().text(scorer).text(filter_json(filter).dump()).text(created_by));
      if (!inserted) return failure(inserted.error());
      const std::int64_t id = inserted->integer(0, 0);
      Params p;
      p.integer(id);
      bind_lead_filter(p, filter);
      if (filter.unscored)
        p.text(*filter.unscored ? "true" : "false");
      else
        p.null();
      auto selected = c.execute(kSelectJobLeads, p);
      if (!selected) return failure(selected.error());
      auto total = c.execute(kSetJobTotal, Params().integer(id).integer(selected->integer(0, 0)));
      if (!total) return failure(total.error());
      return read_job(*total, 0);
    });
    // The job's leads were all just written: without fresh statistics the planner takes the
    // job for a few rows and marks each batch done by a scan of every one of its leads.
    if (created && created->total >= kAnalyzeJobLeadsFrom)
      (void)c.execute_script("ANALYZE job_leads");
    return created;
  });
}

const Statement kGetJob{"get_job",
                        cat({"SELECT ", kJobColumns, " FROM jobs WHERE id = $1::bigint"})};

Result<Job> Session::get_job(std::int64_t id) {
  return guarded(impl_.get(), [&](PgConnection& c) {
    return find_by_id(c, kGetJob, id, read_job, job_not_found);
  });
}

const Statement kListJobs{"list_jobs", cat({"SELECT ", kJobColumns,
                                            " FROM jobs WHERE id > coalesce($1::bigint, 0)"
                                            " ORDER BY id LIMIT $2::bigint"})};

Result<Page<Job>> Session::list_jobs(const PageRequest& page) {
  return guarded(impl_.get(),
                 [&](PgConnection& c) { return list_page<Job>(c, kListJobs, page, read_job); });
}

const Statement kActiveJobs{
    "active_jobs",
    cat({"SELECT ", kJobColumns, " FROM jobs WHERE status IN ('queued', 'running') ORDER BY id"})};

Result<std::vector<Job>> Session::active_jobs() {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<std::vector<Job>> {
    auto r = c.execute(kActiveJobs, Params());
    if (!r) return failure(r.error());
    std::vector<Job> jobs;
    for (int row = 0; row < r->rows(); ++row) jobs.push_back(read_job(*r, row));
    return jobs;
  });
}

// $1 job. Changes the job only from the statuses the change is allowed from; no row: the job
// is missing or in another status, which the caller then reads to say which.
const Statement kCancelJob{
    "cancel_job", cat({"UPDATE jobs SET status = 'cancelled', finished_at = now()"
                       " WHERE id = $1::bigint AND status IN ('queued', 'running', 'interrupted')"
                       " RETURNING ",
                       kJobColumns})};
const Statement kResumeJob{"resume_job",
                           cat({"UPDATE jobs SET status = 'running', heartbeat_at = now()"
                                " WHERE id = $1::bigint AND status = 'interrupted' RETURNING ",
                                kJobColumns})};

namespace {

// The job changed by `statement`, or why not: NotFound, or Conflict naming its status.
Result<Job> change_job(PgConnection& c, const Statement& statement, std::int64_t id,
                       std::string_view refusal) {
  auto r = c.execute(statement, Params().integer(id));
  if (!r) return failure(r.error());
  if (r->rows() > 0) return read_job(*r, 0);
  auto found = find_by_id(c, kGetJob, id, read_job, job_not_found);
  if (!found) return std::unexpected(found.error());
  return error(ErrorCode::Conflict, "job " + std::to_string(id) + " is " +
                                        std::string(domain::to_string(found->status)) + ": " +
                                        std::string(refusal));
}

}  // namespace

Result<Job> Session::cancel_job(std::int64_t id) {
  return guarded(impl_.get(), [&](PgConnection& c) {
    return change_job(c, kCancelJob, id,
                      "only a queued, running or interrupted job can be cancelled");
  });
}

Result<Job> Session::resume_job(std::int64_t id) {
  return guarded(impl_.get(), [&](PgConnection& c) {
    return change_job(c, kResumeJob, id, "only an interrupted job can be resumed");
  });
}

const Statement kFailJob{"fail_job",
                         "UPDATE jobs SET status = 'failed', error = $2, finished_at = now()"
                         " WHERE id = $1::bigint AND status IN ('queued', 'running')"};

Result<void> Session::fail_job(std::int64_t id, const std::string& reason) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    auto r = c.execute(kFailJob, Params().integer(id).text(reason));
    if (!r) return failure(r.error());
    return {};
  });
}

const Statement kInterruptStaleJobs{"interrupt_stale_jobs",
                                    "UPDATE jobs SET status = 'interrupted'"
                                    " WHERE status = 'running'"
                                    "  AND coalesce(heartbeat_at, started_at, created_at)"
                                    "      < now() - $1::bigint * interval '1 millisecond'"
                                    " RETURNING id"};

Result<std::vector<std::int64_t>> Session::interrupt_stale_jobs(std::chrono::milliseconds lease) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<std::vector<std::int64_t>> {
    auto r = c.execute(kInterruptStaleJobs, Params().text(milliseconds(lease)));
    if (!r) return failure(r.error());
    std::vector<std::int64_t> ids;
    for (int row = 0; row < r->rows(); ++row) ids.push_back(r->integer(row, 0));
    return ids;
  });
}

// $1 job, $2 runner, $3 limit, $4 lease in ms, $5 only leads after this id. One statement: the
// job's open leads are locked (SKIP LOCKED: those another runner is claiming now are left to it),
// the expired claims whose analysis by the job is stored become done, the others are claimed, and
// the job's counts and heartbeat follow (it becomes running, or done when the recovered leads were
// its last).
const Statement kClaimJobLeads{
    "claim_job_leads",
    "WITH live AS ("
    " SELECT id, 'job ' || id || ' (' || created_by || ')' AS actor FROM jobs"
    " WHERE id = $1::bigint AND status IN ('queued', 'running')"
    "), picked AS ("
    " SELECT jl.lead_id, jl.state FROM job_leads jl"
    " WHERE jl.job_id = $1::bigint AND jl.lead_id > $5::bigint AND EXISTS (SELECT 1 FROM live)"
    "  AND (jl.state = 'pending' OR (jl.state = 'claimed' AND jl.lease_until < now()))"
    " ORDER BY jl.lead_id LIMIT $3::bigint FOR UPDATE OF jl SKIP LOCKED"
    "), scored AS ("
    // A scalar subquery, so that it stays a look-up by lead per expired claim rather than a
    // join against every analysis.
    " SELECT p.lead_id FROM picked p WHERE p.state = 'claimed' AND coalesce(("
    "  SELECT true FROM analyses a WHERE a.lead_id = p.lead_id"
    "  AND a.actor = (SELECT actor FROM live) AND a.result IS NOT NULL LIMIT 1), false)"
    "), marked AS ("
    " UPDATE job_leads jl SET"
    "  state = CASE WHEN jl.lead_id IN (SELECT lead_id FROM scored) THEN 'done' ELSE 'claimed' END,"
    "  claimed_by = $2, lease_until = now() + $4::bigint * interval '1 millisecond', error = NULL"
    " WHERE jl.job_id = $1::bigint AND jl.lead_id = ANY (ARRAY(SELECT lead_id FROM picked))"
    " RETURNING jl.lead_id, jl.state"
    "), job AS ("
    " UPDATE jobs SET status = CASE WHEN done + failed + (SELECT count(*) FROM scored) >= total"
    "   THEN 'done' ELSE 'running' END,"
    "  started_at = coalesce(started_at, now()), heartbeat_at = now(),"
    "  finished_at = CASE WHEN done + failed + (SELECT count(*) FROM scored) >= total"
    "   THEN now() END,"
    "  done = done + (SELECT count(*) FROM scored)"
    " WHERE id = $1::bigint AND status IN ('queued', 'running')"
    "  AND (EXISTS (SELECT 1 FROM marked) OR status = 'queued' OR done + failed >= total"
    "       OR heartbeat_at < now() - interval '1 second')"
    ")"
    " SELECT lead_id FROM marked WHERE state = 'claimed' ORDER BY lead_id"};

Result<std::vector<std::int64_t>> Session::claim_job_leads(std::int64_t job_id,
                                                           const std::string& runner, int limit,
                                                           std::chrono::milliseconds lease,
                                                           std::int64_t after_lead_id) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<std::vector<std::int64_t>> {
    auto r = c.execute(kClaimJobLeads, Params()
                                           .integer(job_id)
                                           .text(runner)
                                           .integer(std::int64_t{limit})
                                           .text(milliseconds(lease))
                                           .integer(after_lead_id));
    if (!r) return failure(r.error());
    std::vector<std::int64_t> ids;
    ids.reserve(static_cast<std::size_t>(r->rows()));
    for (int row = 0; row < r->rows(); ++row) ids.push_back(r->integer(row, 0));
    return ids;
  });
}

const Statement kExtendJobLeases{
    "extend_job_leases",
    "WITH leases AS ("
    " UPDATE job_leads SET lease_until = now() + $3::bigint * interval '1 millisecond'"
    " WHERE job_id = $1::bigint AND state = 'claimed' AND claimed_by = $2 RETURNING 1)"
    " UPDATE jobs SET heartbeat_at = now() WHERE id = $1::bigint AND status = 'running'"};

Result<void> Session::extend_job_leases(std::int64_t job_id, const std::string& runner,
                                        std::chrono::milliseconds lease) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    auto r = c.execute(kExtendJobLeases,
                       Params().integer(job_id).text(runner).text(milliseconds(lease)));
    if (!r) return failure(r.error());
    return {};
  });
}

// $1 job, $2 runner, $3 [{id, error}] (error null: done). The job is done when these were its
// last open leads (a cancelled job stays cancelled).
const Statement kFinishJobLeads{
    "finish_job_leads",
    "WITH input AS ("
    " SELECT (v->>'id')::bigint AS lead_id, v->>'error' AS error"
    " FROM jsonb_array_elements($3::jsonb) AS v"
    "), marked AS ("
    " UPDATE job_leads jl SET state = CASE WHEN i.error IS NULL THEN 'done' ELSE 'failed' END,"
    "  error = i.error, lease_until = NULL"
    // ANY (ARRAY(...)): by primary key, not a hash join over every lead of the job.
    " FROM input i WHERE jl.job_id = $1::bigint"
    "  AND jl.lead_id = ANY (ARRAY(SELECT lead_id FROM input)) AND jl.lead_id = i.lead_id"
    "  AND jl.state = 'claimed' AND jl.claimed_by = $2"
    " RETURNING jl.state"
    "), counts AS ("
    " SELECT count(*) FILTER (WHERE state = 'done') AS d,"
    "  count(*) FILTER (WHERE state = 'failed') AS f FROM marked"
    ")"
    " UPDATE jobs SET done = done + counts.d, failed = failed + counts.f, heartbeat_at = now(),"
    "  status = CASE WHEN status = 'running' AND done + failed + counts.d + counts.f >= total"
    "   THEN 'done' ELSE status END,"
    "  finished_at = CASE WHEN status = 'running' AND done + failed + counts.d + counts.f >= total"
    "   THEN now() ELSE finished_at END"
    " FROM counts WHERE id = $1::bigint"};

Result<void> Session::finish_job_leads(std::int64_t job_id, const std::string& runner,
                                       std::span<const JobLeadOutcome> outcomes) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    if (outcomes.empty()) return {};
    json rows = json::array();
    for (const JobLeadOutcome& o : outcomes)
      rows.push_back({{"id", o.lead_id}, {"error", o.error ? json(*o.error) : json(nullptr)}});
    auto r = c.execute(kFinishJobLeads, Params().integer(job_id).text(runner).text(rows.dump(
                                            -1, ' ', false, json::error_handler_t::replace)));
    if (!r) return failure(r.error());
    return {};
  });
}

const Statement kReleaseJobLeads{
    "release_job_leads",
    "UPDATE job_leads SET state = 'pending', claimed_by = NULL, lease_until = NULL"
    " WHERE job_id = $1::bigint AND claimed_by = $2 AND state = 'claimed'"
    "  AND lead_id = ANY($3::bigint[])"};

Result<void> Session::release_job_leads(std::int64_t job_id, const std::string& runner,
                                        std::span<const std::int64_t> lead_ids) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    if (lead_ids.empty()) return {};
    auto r =
        c.execute(kReleaseJobLeads, Params().integer(job_id).text(runner).text(id_array(lead_ids)));
    if (!r) return failure(r.error());
    return {};
  });
}

}  // namespace leadscore::store
