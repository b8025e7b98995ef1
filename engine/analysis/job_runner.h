// The runner of background scoring jobs (POST /jobs/score): a few threads that claim the
// batches of queued and running jobs (a job's leads are split into batches when it is created)
// and analyze them through the one analysis pipeline, with the job's scorer and "job N (key)"
// as the actor — a whole batch at once (Analyzer::analyze_batch: scored on the runner's thread,
// stored by one set write) unless a scorer it may run is slow, then each lead through
// Analyzer::analyze, `in_flight` at a time — then finish the batch: its leads done or failed,
// the job's counts moved. Claims are row locks taken with SKIP LOCKED and held under a lease in
// the database (engine/store job_queries.cpp), so the runners of several servers on one
// database share a job's work and no lead is scored twice by it; a server that goes away leaves
// its claims to the others once their lease runs out.
//
// It lives beside the pipeline but in its own library (leadscore_job_runner): the pipeline
// itself knows no database, and the runner is the loop of claims and marks around it.
//
// Threading: start(), wake() and stop() from any thread; stop() before the Database and the
// Analyzer go. The runner threads are its own.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "engine/analysis/analyzer.h"
#include "engine/analysis/lead_cache.h"
#include "engine/config/app_config.h"
#include "engine/store/store.h"

namespace leadscore::analysis {

struct JobRunnerOptions {
  int runners = 3;        // threads claiming batches (jobs.runners)
  int batch_size = 1000;  // leads per batch of a job created here (jobs.batch_size)
  // Analyses each runner keeps going at once when a scorer of the job is slow (an LLM), so
  // that their waits overlap (jobs.in_flight).
  int in_flight = 64;
  // A claim not extended or finished within this is another runner's to take; a running job
  // not touched for this long has no server left (jobs.lease_ms).
  std::chrono::milliseconds lease{30000};
  // How often an idle runner looks for work besides being woken.
  std::chrono::milliseconds idle_poll{500};
  // The name of this server in claims; empty: host:pid:random.
  std::string name;
  // The Analyzer's lead cache: each claimed batch of a primary job with a slow scorer is read
  // in one statement and put there, so that each analysis starts from it instead of a read of its
  // own (a lead changed meanwhile costs the analysis a Conflict and a fresh read, as any stale
  // entry). nullptr: each analysis reads its lead.
  LeadCache* leads = nullptr;
  // Where the runner's warnings go (a job failed, the database refused); may be empty.
  std::function<void(const std::string&)> warn;
};

// The options the `jobs` section of the config sets; the others keep their defaults.
JobRunnerOptions job_runner_options(const config::JobsConfig& jobs);

class JobRunner {
 public:
  // `db` and `analyzer` must outlive the runner (stop() it first).
  JobRunner(store::Database& db, const Analyzer& analyzer, JobRunnerOptions options);
  ~JobRunner();  // stop()
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Marks `interrupted` the running jobs that no runner has touched for a lease (their
  // servers went away: POST /jobs/{id}/resume continues them), then starts the threads.
  // The ids interrupted, or why the database refused.
  store::Result<std::vector<std::int64_t>> start();
  // Looks for work now (a job was created or resumed) rather than at the next poll.
  void wake();
  // Stops claiming; each runner finishes the analyses it has started, marks them, gives the
  // rest of its batch back to the job, and its thread ends. Idempotent.
  void stop();

  const std::string& name() const { return options_.name; }

 private:
  void run();
  // Claims and analyzes one batch of some active job; false when there was nothing to do.
  bool work_once();
  void process(const domain::Job& job, const store::JobClaim& claim);
  void process_batch(const domain::Job& job, const store::JobClaim& claim);
  void process_in_flight(const domain::Job& job, const store::JobClaim& claim);
  // Finishes the claim of `batch` with `finished`, and gives `unstarted` back.
  void finish(const domain::Job& job, std::int64_t batch,
              std::span<const store::JobLeadOutcome> finished,
              std::span<const std::int64_t> unstarted);
  void warn(const domain::Job& job, const std::string& message) const;

  // While a batch of `job` is processed here: the job counts as running (metrics).
  class Working {
   public:
    Working(JobRunner& runner, std::int64_t job);
    ~Working();
    Working(const Working&) = delete;
    Working& operator=(const Working&) = delete;

   private:
    JobRunner& runner_;
    std::int64_t job_;
  };

  store::Database& db_;
  const Analyzer& analyzer_;
  JobRunnerOptions options_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::uint64_t wakes_ = 0;              // guarded by mutex_
  std::map<std::int64_t, int> working_;  // batches in process by job; guarded by mutex_
  std::vector<std::thread> threads_;
};

}  // namespace leadscore::analysis
