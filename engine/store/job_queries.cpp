// Session: the queries of scoring jobs — create (with the selection of its leads, split into
// batches), read, list, cancel, resume, and what runners do: claim a batch under a lease,
// extend it, finish it (its leads done or failed, those not started put back as a new batch),
// interrupt the jobs of servers that went away.
//
// Exactly once: a batch is claimed by one runner at a time (FOR UPDATE SKIP LOCKED on its
// job_batches row, then a lease in the row). A claim whose lease ran out is taken again only
// after checking the analyses: the job's actor ("job N (key)") is unique to it, so a stored
// result by that actor means the lead was scored and only the batch's finish was lost (a
// server killed between the two); it is then counted done, taken out of the batch, and not
// scored again.
#include <charconv>
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

// The ids of a PostgreSQL array literal of ids, as id_array() writes them: {1,2,3}.
std::vector<std::int64_t> read_id_array(std::string_view text) {
  std::vector<std::int64_t> ids;
  if (text.size() < 2) return ids;
  const char* at = text.data() + 1;
  const char* end = text.data() + text.size() - 1;
  while (at < end) {
    std::int64_t id = 0;
    const auto read = std::from_chars(at, end, id);
    if (read.ec != std::errc())
      throw std::runtime_error("not an array of ids: " + std::string(text));
    ids.push_back(id);
    at = read.ptr + (read.ptr < end ? 1 : 0);
  }
  return ids;
}

std::string milliseconds(std::chrono::milliseconds lease) { return std::to_string(lease.count()); }

}  // namespace

const Statement kInsertJob{"insert_job",
                           "INSERT INTO jobs (scorer, filter, created_by)"
                           " VALUES ($1, $2::jsonb, $3) RETURNING id"};
// $1 job; the GET /leads filters as in list_leads ($2..$6), $7 unscored, $8 leads per batch.
// Final leads cannot be scored: never selected. The number of leads selected.
const Statement kSelectJobLeads{"select_job_leads",
                                "WITH selected AS ("
                                " SELECT id, (row_number() OVER (ORDER BY id) - 1) / $8::bigint"
                                "  AS part FROM leads"
                                " WHERE stage NOT IN ('transferred', 'lost')"
                                "  AND ($2::text IS NULL OR stage = $2::text)"
                                "  AND ($3::text IS NULL OR source = $3::text)"
                                "  AND ($4::float8 IS NULL OR ai_score >= $4::float8)"
                                "  AND ($5::float8 IS NULL OR ai_score <= $5::float8)"
                                "  AND ($6::text IS NULL OR ai_recommendation = $6::text)"
                                "  AND ($7::boolean IS NULL OR (ai_score IS NULL) = $7::boolean)"
                                "), batches AS ("
                                " INSERT INTO job_batches (job_id, lead_ids)"
                                " SELECT $1::bigint, array_agg(id ORDER BY id) FROM selected"
                                " GROUP BY part ORDER BY part"
                                " RETURNING cardinality(lead_ids) AS n)"
                                " SELECT coalesce(sum(n), 0)::bigint FROM batches"};
// $1 job, $2 leads selected: a job of no lead is done at once.
const Statement kSetJobTotal{"set_job_total",
                             cat({"UPDATE jobs SET total = $2::bigint,"
                                  " status = CASE WHEN $2::bigint = 0 THEN 'done' ELSE status END,"
                                  " started_at = CASE WHEN $2::bigint = 0 THEN now() END,"
                                  " finished_at = CASE WHEN $2::bigint = 0 THEN now() END"
                                  " WHERE id = $1::bigint RETURNING ",
                                  kJobColumns})};

Result<Job> Session::create_job(const JobFilter& filter, const std::optional<std::string>& scorer,
                                const std::string& created_by, int batch_size) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<Job> {
    return in_transaction(c, [&]() -> Result<Job> {
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
      p.integer(std::int64_t{std::max(batch_size, 1)});
      auto selected = c.execute(kSelectJobLeads, p);
      if (!selected) return failure(selected.error());
      auto total = c.execute(kSetJobTotal, Params().integer(id).integer(selected->integer(0, 0)));
      if (!total) return failure(total.error());
      return read_job(*total, 0);
    });
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

// $1 job, $2 runner, $3 lease in ms. One statement: the job's first open batch is locked (SKIP
// LOCKED: one another runner is claiming now is left to it); when its last claim ran out, its
// leads whose analysis by the job is stored are counted done and taken out of it; it is claimed,
// and the job's counts and heartbeat follow (it becomes running, or done when the recovered
// leads were its last). The batch and the leads left to score, ascending.
const Statement kClaimJobBatch{
    "claim_job_batch",
    "WITH live AS ("
    " SELECT id, 'job ' || id || ' (' || created_by || ')' AS actor FROM jobs"
    " WHERE id = $1::bigint AND status IN ('queued', 'running')"
    "), picked AS ("
    " SELECT b.id, b.state, b.lead_ids FROM job_batches b"
    " WHERE b.job_id = $1::bigint AND b.state <> 'done' AND EXISTS (SELECT 1 FROM live)"
    "  AND (b.state = 'pending' OR b.lease_until < now())"
    " ORDER BY b.id LIMIT 1 FOR UPDATE OF b SKIP LOCKED"
    "), scored AS ("
    " SELECT l.id FROM picked p, unnest(p.lead_ids) AS l(id) WHERE p.state = 'claimed'"
    "  AND EXISTS (SELECT 1 FROM analyses a WHERE a.lead_id = l.id"
    "   AND a.actor = (SELECT actor FROM live) AND a.result IS NOT NULL)"
    "), claimed AS ("
    " UPDATE job_batches b SET state = 'claimed', claimed_by = $2,"
    "  lease_until = now() + $3::bigint * interval '1 millisecond',"
    "  lead_ids = CASE WHEN p.state = 'claimed' THEN ARRAY("
    "   SELECT l FROM unnest(b.lead_ids) AS l WHERE l <> ALL (ARRAY(SELECT id FROM scored))"
    "   ORDER BY l) ELSE b.lead_ids END"
    " FROM picked p WHERE b.id = p.id"
    " RETURNING b.id, b.lead_ids"
    "), job AS ("
    " UPDATE jobs SET status = CASE WHEN done + failed + (SELECT count(*) FROM scored) >= total"
    "   THEN 'done' ELSE 'running' END,"
    "  started_at = coalesce(started_at, now()), heartbeat_at = now(),"
    "  finished_at = CASE WHEN done + failed + (SELECT count(*) FROM scored) >= total"
    "   THEN now() END,"
    "  done = done + (SELECT count(*) FROM scored)"
    " WHERE id = $1::bigint AND status IN ('queued', 'running')"
    "  AND (EXISTS (SELECT 1 FROM claimed) OR status = 'queued' OR done + failed >= total"
    "       OR heartbeat_at < now() - interval '1 second')"
    ")"
    " SELECT id, lead_ids::text FROM claimed"};

Result<std::optional<JobClaim>> Session::claim_job_batch(std::int64_t job_id,
                                                         const std::string& runner,
                                                         std::chrono::milliseconds lease) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<std::optional<JobClaim>> {
    auto r =
        c.execute(kClaimJobBatch, Params().integer(job_id).text(runner).text(milliseconds(lease)));
    if (!r) return failure(r.error());
    if (r->rows() == 0) return std::optional<JobClaim>();
    return std::optional<JobClaim>(JobClaim{r->integer(0, 0), read_id_array(r->text(0, 1))});
  });
}

const Statement kExtendJobLeases{
    "extend_job_leases",
    "WITH leases AS ("
    " UPDATE job_batches SET lease_until = now() + $3::bigint * interval '1 millisecond'"
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

// $1 job, $2 runner, $3 batch, $4 failures {lead id: error}, $5 leads done, $6 leads failed,
// $7 leads not started. Only while the batch is still `runner`'s claim: otherwise its lease ran
// out and whoever claimed it again counts what was stored. The job is done when these were its
// last open leads (a cancelled job stays cancelled).
const Statement kFinishJobBatch{
    "finish_job_batch",
    "WITH batch AS ("
    " UPDATE job_batches SET state = 'done', lease_until = NULL, failures = $4::jsonb,"
    "  lead_ids = ARRAY(SELECT l FROM unnest(lead_ids) AS l WHERE l <> ALL ($7::bigint[])"
    "   ORDER BY l)"
    " WHERE id = $3::bigint AND job_id = $1::bigint AND state = 'claimed' AND claimed_by = $2"
    " RETURNING id"
    "), rest AS ("
    " INSERT INTO job_batches (job_id, lead_ids)"
    " SELECT $1::bigint, $7::bigint[]"
    " WHERE cardinality($7::bigint[]) > 0 AND EXISTS (SELECT 1 FROM batch)"
    ")"
    " UPDATE jobs SET done = done + $5::bigint, failed = failed + $6::bigint,"
    "  heartbeat_at = now(),"
    "  status = CASE WHEN status = 'running' AND done + failed + $5::bigint + $6::bigint >= total"
    "   THEN 'done' ELSE status END,"
    "  finished_at = CASE WHEN status = 'running'"
    "   AND done + failed + $5::bigint + $6::bigint >= total THEN now() ELSE finished_at END"
    " WHERE id = $1::bigint AND EXISTS (SELECT 1 FROM batch)"};

Result<void> Session::finish_job_batch(std::int64_t job_id, const std::string& runner,
                                       std::int64_t batch, std::span<const JobLeadOutcome> outcomes,
                                       std::span<const std::int64_t> unstarted) {
  return guarded(impl_.get(), [&](PgConnection& c) -> Result<void> {
    json failures = json::object();
    std::int64_t done = 0;
    for (const JobLeadOutcome& o : outcomes) {
      if (o.error)
        failures[std::to_string(o.lead_id)] = *o.error;
      else
        ++done;
    }
    const auto failed = static_cast<std::int64_t>(failures.size());
    auto r = c.execute(kFinishJobBatch,
                       Params()
                           .integer(job_id)
                           .text(runner)
                           .integer(batch)
                           .text(failures.dump(-1, ' ', false, json::error_handler_t::replace))
                           .integer(done)
                           .integer(failed)
                           .text(id_array(unstarted)));
    if (!r) return failure(r.error());
    return {};
  });
}

}  // namespace leadscore::store
