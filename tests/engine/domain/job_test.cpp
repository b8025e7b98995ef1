// Job statuses and the progress figures of GET /jobs/{id} (engine/domain/job.h).
#include "engine/domain/job.h"

#include <gtest/gtest.h>

namespace leadscore::domain {
namespace {

Job running(std::int64_t total, std::int64_t done, std::int64_t failed, double elapsed) {
  Job job;
  job.id = 12;
  job.created_by = "crm";
  job.status = JobStatus::Running;
  job.total = total;
  job.done = done;
  job.failed = failed;
  job.elapsed_seconds = elapsed;
  return job;
}

TEST(Job, StatusNamesGoBothWays) {
  for (auto status : {JobStatus::Queued, JobStatus::Running, JobStatus::Done, JobStatus::Failed,
                      JobStatus::Cancelled, JobStatus::Interrupted})
    EXPECT_EQ(parse_job_status(to_string(status)), status);
  EXPECT_FALSE(parse_job_status("paused").has_value());
  EXPECT_TRUE(is_final(JobStatus::Done));
  EXPECT_TRUE(is_final(JobStatus::Cancelled));
  EXPECT_TRUE(is_final(JobStatus::Failed));
  EXPECT_FALSE(is_final(JobStatus::Interrupted));
  EXPECT_FALSE(is_final(JobStatus::Queued));
}

TEST(Job, TheActorNamesTheJobAndWhoCreatedIt) {
  EXPECT_EQ(job_actor(running(1, 0, 0, 0)), "job 12 (crm)");
}

TEST(Job, RateCountsFailedLeadsAndEtaIsWhatIsLeftAtThatRate) {
  const Job job = running(1000, 180, 20, 2.0);
  EXPECT_DOUBLE_EQ(job_rate(job), 100.0);
  EXPECT_DOUBLE_EQ(*job_eta_seconds(job), 8.0);
}

TEST(Job, NoRateBeforeTimePassesAndNoEtaUnlessRunning) {
  EXPECT_EQ(job_rate(running(10, 0, 0, 0)), 0);
  EXPECT_FALSE(job_eta_seconds(running(10, 0, 0, 0)).has_value());
  Job done = running(10, 10, 0, 1.0);
  done.status = JobStatus::Done;
  EXPECT_DOUBLE_EQ(job_rate(done), 10.0);
  EXPECT_FALSE(job_eta_seconds(done).has_value());
}

}  // namespace
}  // namespace leadscore::domain
