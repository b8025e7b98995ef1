#include "engine/analysis/job_runner.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>

#include "engine/metrics/engine_metrics.h"

namespace leadscore::analysis {
namespace {

// A job's analyses carry "job:<id>" where a request's carry its request id.
std::string job_request_id(const domain::Job& job) { return "job:" + std::to_string(job.id); }

std::string default_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device random;
  return std::string(host) + ":" + std::to_string(getpid()) + ":" +
         std::to_string(random() % 100000);
}

}  // namespace

JobRunnerOptions job_runner_options(const config::JobsConfig& jobs) {
  JobRunnerOptions options;
  options.runners = jobs.runners;
  options.batch_size = jobs.batch_size;
  options.in_flight = jobs.in_flight;
  options.lease = std::chrono::milliseconds(jobs.lease_ms);
  options.idle_poll = std::chrono::milliseconds(jobs.poll_ms);
  return options;
}

JobRunner::JobRunner(store::Database& db, const Analyzer& analyzer, JobRunnerOptions options)
    : db_(db), analyzer_(analyzer), options_(std::move(options)) {
  if (options_.name.empty()) options_.name = default_name();
  options_.runners = std::max(1, options_.runners);
  options_.batch_size = std::max(1, options_.batch_size);
  options_.in_flight = std::max(1, options_.in_flight);
}

JobRunner::~JobRunner() { stop(); }

store::Result<std::vector<std::int64_t>> JobRunner::start() {
  auto session = db_.session();
  if (!session) return std::unexpected(session.error());
  auto interrupted = session->interrupt_stale_jobs(options_.lease);
  if (!interrupted) return interrupted;
  for (int i = 0; i < options_.runners; ++i) threads_.emplace_back([this] { run(); });
  return interrupted;
}

void JobRunner::wake() {
  {
    std::lock_guard lock(mutex_);
    ++wakes_;
  }
  wake_.notify_all();
}

void JobRunner::stop() {
  stopping_ = true;
  wake();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void JobRunner::run() {
  while (!stopping_) {
    std::uint64_t seen = 0;
    {
      std::lock_guard lock(mutex_);
      seen = wakes_;
    }
    if (work_once()) continue;
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, options_.idle_poll, [&] { return stopping_ || wakes_ != seen; });
  }
}

bool JobRunner::work_once() {
  std::optional<store::JobClaim> claim;
  std::optional<domain::Job> chosen;
  {
    auto session = db_.session();
    if (!session) return false;
    auto active = session->active_jobs();
    if (!active) {
      if (options_.warn) options_.warn("job runner: " + active.error().message);
      return false;
    }
    for (const domain::Job& job : *active) {
      if (stopping_) return false;
      auto claimed = session->claim_job_batch(job.id, options_.name, options_.lease);
      if (!claimed) {
        warn(job, claimed.error().message);
        continue;
      }
      if (!*claimed) continue;
      claim = std::move(*claimed);
      chosen = job;
      break;
    }
  }
  if (!chosen) return false;
  process(*chosen, *claim);
  return true;
}

JobRunner::Working::Working(JobRunner& runner, std::int64_t job) : runner_(runner), job_(job) {
  std::lock_guard lock(runner_.mutex_);
  if (runner_.working_[job_]++ == 0 && metrics::enabled()) metrics::jobs_running().add(1);
}

JobRunner::Working::~Working() {
  std::lock_guard lock(runner_.mutex_);
  if (--runner_.working_[job_] > 0) return;
  runner_.working_.erase(job_);
  if (metrics::enabled()) metrics::jobs_running().add(-1);
}

void JobRunner::process(const domain::Job& job, const store::JobClaim& claim) {
  const Working working(*this, job.id);
  if (claim.lead_ids.empty())  // every lead of it was found scored when it was claimed
    finish(job, claim.batch, {}, {});
  else if (analyzer_.batches(job.scorer))
    process_batch(job, claim);
  else
    process_in_flight(job, claim);
}

// A finish that fails is not lost work: the claim's lease runs out, and whoever claims the
// batch again finds the job's analyses stored and counts them done without scoring them again.
void JobRunner::finish(const domain::Job& job, std::int64_t batch,
                       std::span<const store::JobLeadOutcome> finished,
                       std::span<const std::int64_t> unstarted) {
  auto session = db_.session();
  if (!session) return warn(job, session.error().message);
  if (auto marked = session->finish_job_batch(job.id, options_.name, batch, finished, unstarted);
      !marked)
    warn(job, marked.error().message);
}

// The batch's leads read in one statement, scored on this thread, stored by one set write, then
// marked: a few statements per batch rather than a few per lead.
void JobRunner::process_batch(const domain::Job& job, const store::JobClaim& claim) {
  const std::vector<std::int64_t>& leads = claim.lead_ids;
  // A claim not finished is not lost: its lease runs out and it is claimed again.
  auto found = [&]() -> store::Result<std::vector<domain::Lead>> {
    auto session = db_.session();  // given back before the analyzer leases its own
    if (!session) return std::unexpected(session.error());
    return session->get_leads(leads);
  }();
  if (!found) return warn(job, found.error().message);
  const auto outcomes = analyzer_.analyze_batch(
      *found,
      AnalysisRequest{0, job.scorer, domain::job_actor(job), std::nullopt, job_request_id(job)});
  std::vector<store::JobLeadOutcome> finished;
  finished.reserve(leads.size());
  std::size_t next = 0;  // both in id order: the leads found are a subsequence of `leads`
  for (const std::int64_t id : leads) {
    if (next < found->size() && (*found)[next].id == id) {
      const BatchOutcome& outcome = outcomes[next++];
      finished.push_back(
          {id, outcome ? std::nullopt : std::optional(outcome.error().error.message)});
    } else {
      finished.push_back({id, "lead " + std::to_string(id) + " not found"});
    }
  }
  const auto failed = static_cast<std::uint64_t>(std::ranges::count_if(
      finished, [](const store::JobLeadOutcome& o) { return o.error.has_value(); }));
  metrics::count_job_leads(finished.size() - failed, failed);
  finish(job, claim.batch, finished, {});
}

void JobRunner::warn(const domain::Job& job, const std::string& message) const {
  if (options_.warn) options_.warn("job " + std::to_string(job.id) + ": " + message);
}

// The analyses of a batch with a slow scorer, each through Analyzer::analyze, `in_flight` at
// once so that their waits overlap (and the analysis writer stores them in batches).
void JobRunner::process_in_flight(const domain::Job& job, const store::JobClaim& claim) {
  const std::vector<std::int64_t>& leads = claim.lead_ids;
  const std::string actor = domain::job_actor(job);
  if (options_.leads != nullptr && !job.scorer) {
    if (auto session = db_.session())
      if (auto read = session->get_leads(leads))
        for (const domain::Lead& lead : *read) options_.leads->put(lead);
  }
  const std::string request_id = job_request_id(job);
  std::vector<std::optional<store::JobLeadOutcome>> outcomes(leads.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> scorer_gone{false};
  std::mutex gone_mutex;
  std::string gone_reason;

  // The analyses of a batch run on a few threads at once, so that the analysis writer stores
  // them in batches. The first thread also extends the leases while they run.
  auto analyst = [&](bool extends_leases) {
    auto extended = std::chrono::steady_clock::now();
    for (;;) {
      if (stopping_ || scorer_gone) return;
      const std::size_t i = next.fetch_add(1);
      if (i >= leads.size()) return;
      auto outcome =
          analyzer_.analyze(AnalysisRequest{leads[i], job.scorer, actor, std::nullopt, request_id});
      if (!outcome && job.scorer && outcome.error().error.code == domain::ErrorCode::Validation) {
        // The job's scorer is no longer configured (a reload removed it): the job cannot run.
        std::lock_guard lock(gone_mutex);
        gone_reason = outcome.error().error.message;
        scorer_gone = true;
        return;
      }
      outcomes[i] = store::JobLeadOutcome{
          leads[i], outcome ? std::nullopt : std::optional(outcome.error().error.message)};
      const auto now = std::chrono::steady_clock::now();
      if (extends_leases && now - extended > options_.lease / 3) {
        if (auto session = db_.session())
          (void)session->extend_job_leases(job.id, options_.name, options_.lease);
        extended = now;
      }
    }
  };
  {
    const int threads = std::min<int>(options_.in_flight, static_cast<int>(leads.size()));
    std::vector<std::thread> analysts;
    for (int t = 1; t < threads; ++t) analysts.emplace_back(analyst, false);
    analyst(true);
    for (auto& t : analysts) t.join();
  }

  std::vector<store::JobLeadOutcome> finished;
  std::vector<std::int64_t> unstarted;
  std::uint64_t failed = 0;
  for (std::size_t i = 0; i < leads.size(); ++i) {
    if (outcomes[i]) {
      failed += outcomes[i]->error ? 1 : 0;
      finished.push_back(std::move(*outcomes[i]));
    } else {
      unstarted.push_back(leads[i]);
    }
  }
  metrics::count_job_leads(finished.size() - failed, failed);
  finish(job, claim.batch, finished, unstarted);
  if (scorer_gone) {
    if (options_.warn) options_.warn("job " + std::to_string(job.id) + " failed: " + gone_reason);
    if (auto session = db_.session()) (void)session->fail_job(job.id, gone_reason);
  }
}

}  // namespace leadscore::analysis
