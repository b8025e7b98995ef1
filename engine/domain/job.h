// Background scoring jobs: a job scores every lead selected when it was created, once each,
// through the analysis pipeline. Its status, and the progress figures derived from its counts.
// Pure values; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/domain/lead.h"

namespace leadscore::domain {

// queued: created, no runner has claimed a lead yet; running: runners claim its leads;
// done: every lead is done or failed; failed: the job could not run (its scorer is gone);
// cancelled: stopped by a caller; interrupted: every server running it went away (resumable).
enum class JobStatus { Queued, Running, Done, Failed, Cancelled, Interrupted };

std::string_view to_string(JobStatus status);
std::optional<JobStatus> parse_job_status(std::string_view text);
// done, failed and cancelled end a job; interrupted may be resumed.
bool is_final(JobStatus status);

// The leads a job selects: the filters of GET /leads, and whether the lead has a score.
struct JobFilter {
  std::optional<LeadStage> stage;
  std::optional<std::string> source;
  std::optional<double> min_score;  // inclusive
  std::optional<double> max_score;  // inclusive
  std::optional<Recommendation> recommendation;
  std::optional<bool> unscored;  // true: no ai_score yet; false: scored already
};

struct Job {
  std::int64_t id = 0;
  JobStatus status = JobStatus::Queued;
  std::optional<std::string> scorer;  // nullopt: the primary scorer
  JobFilter filter;
  std::int64_t total = 0;   // leads selected at creation
  std::int64_t done = 0;    // scored
  std::int64_t failed = 0;  // not scored: every scorer failed, the lead became final, ...
  std::string created_by;   // the API key name that created it
  std::string created_at;   // RFC 3339, UTC
  std::optional<std::string> started_at;
  std::optional<std::string> finished_at;
  std::optional<std::string> error;  // why a job failed
  // Seconds from started_at to finished_at, or to now while it has not finished; 0 before.
  double elapsed_seconds = 0;
};

// The actor recorded on every analysis a job runs: "job 12 (key name)". Unique per job, so a
// job's analyses can be told from all others.
std::string job_actor(const Job& job);

// Leads finished (done or failed) per second since the job started; 0 before any time passed.
double job_rate(const Job& job);
// Seconds until the job's remaining leads are finished at job_rate(); nullopt when the job is
// not running or has no rate yet.
std::optional<double> job_eta_seconds(const Job& job);

}  // namespace leadscore::domain
