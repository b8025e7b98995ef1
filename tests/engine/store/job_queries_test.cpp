// The queries of scoring jobs (job_queries.cpp): the selection of a job's leads, claims from
// several sessions at once (each lead to one of them), the counts, leases that run out, and
// the statuses a job moves through.
#include <algorithm>
#include <set>
#include <thread>

#include "tests/engine/store/store_fixture.h"

namespace leadscore::store::testing {
namespace {

using namespace std::chrono_literals;
using domain::JobFilter;
using domain::JobStatus;

// A filter with what `set` sets.
template <typename Set>
JobFilter filter(Set set) {
  JobFilter f;
  set(f);
  return f;
}

class JobQueries : public Store {
 protected:
  std::vector<std::int64_t> create_leads(int n) {
    std::vector<domain::NewLead> leads(static_cast<std::size_t>(n), new_lead());
    auto ids = s().create_leads(leads, "tester");
    if (!ids) throw std::runtime_error(ids.error().message);
    return *ids;
  }
  domain::Job job(const JobFilter& selection = {}) {
    auto created = s().create_job(selection, std::nullopt, "manager");
    if (!created) throw std::runtime_error(created.error().message);
    return *created;
  }
  domain::Job reread(std::int64_t id) { return *s().get_job(id); }
};

TEST_F(JobQueries, SelectsTheFilteredLeadsButNeverFinalOnes) {
  create_leads(3);
  create(new_lead("partner"));
  move(create(), domain::LeadStage::Lost);
  qualified_lead(0.9);        // scored
  EXPECT_EQ(job().total, 5);  // 6 leads of which one lost
  EXPECT_EQ(job(filter([](JobFilter& f) { f.unscored = true; })).total, 4);
  EXPECT_EQ(job(filter([](JobFilter& f) { f.unscored = false; })).total, 1);
  EXPECT_EQ(job(filter([](JobFilter& f) { f.source = "partner"; })).total, 2);
  const auto queued = job(filter([](JobFilter& f) {
    f.stage = domain::LeadStage::New;
    f.unscored = true;
  }));
  EXPECT_EQ(queued.total, 4);
  EXPECT_EQ(queued.status, JobStatus::Queued);
  EXPECT_EQ(queued.created_by, "manager");
  EXPECT_EQ(reread(queued.id).filter.stage, domain::LeadStage::New);
  EXPECT_EQ(reread(queued.id).filter.unscored, true);
  EXPECT_EQ(sql("SELECT count(*) FROM job_leads WHERE job_id = " + std::to_string(queued.id)), "4");
}

TEST_F(JobQueries, AJobOfNoLeadIsDoneAtOnce) {
  const auto empty = job(filter([](JobFilter& f) { f.source = "scanner"; }));
  EXPECT_EQ(empty.total, 0);
  EXPECT_EQ(empty.status, JobStatus::Done);
  EXPECT_TRUE(empty.finished_at.has_value());
}

TEST_F(JobQueries, ClaimsFromTwoSessionsAtOnceNeverGiveALeadTwice) {
  const auto leads = create_leads(600);
  const auto j = job();
  std::vector<std::int64_t> claimed[2];
  std::vector<std::thread> runners;
  for (int r = 0; r < 2; ++r)
    runners.emplace_back([&, r] {
      auto session = db_->session();
      ASSERT_TRUE(session);
      const std::string name = "runner-" + std::to_string(r);
      for (;;) {
        auto batch = session->claim_job_leads(j.id, name, 7, 30s);
        ASSERT_TRUE(batch) << batch.error().message;
        if (batch->empty()) break;
        claimed[r].insert(claimed[r].end(), batch->begin(), batch->end());
        std::vector<JobLeadOutcome> outcomes;
        for (auto id : *batch) outcomes.push_back({id, std::nullopt});
        ASSERT_TRUE(session->finish_job_leads(j.id, name, outcomes));
      }
    });
  for (auto& t : runners) t.join();
  std::vector<std::int64_t> all = claimed[0];
  all.insert(all.end(), claimed[1].begin(), claimed[1].end());
  std::ranges::sort(all);
  EXPECT_EQ(all, leads);  // every lead once, none twice
  EXPECT_FALSE(claimed[0].empty());
  EXPECT_FALSE(claimed[1].empty());
  const auto finished = reread(j.id);
  EXPECT_EQ(finished.status, JobStatus::Done);
  EXPECT_EQ(finished.done, 600);
  EXPECT_EQ(finished.failed, 0);
}

TEST_F(JobQueries, FinishingCountsDoneAndFailedAndEndsTheJob) {
  create_leads(5);
  const auto j = job();
  auto claimed = s().claim_job_leads(j.id, "a", 10, 30s);
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 5u);
  EXPECT_EQ(reread(j.id).status, JobStatus::Running);
  EXPECT_TRUE(reread(j.id).started_at.has_value());
  std::vector<JobLeadOutcome> some{{(*claimed)[0], std::nullopt}, {(*claimed)[1], "lead gone"}};
  ASSERT_TRUE(s().finish_job_leads(j.id, "a", some));
  EXPECT_EQ(reread(j.id).done, 1);
  EXPECT_EQ(reread(j.id).failed, 1);
  EXPECT_EQ(reread(j.id).status, JobStatus::Running);
  // Another runner cannot mark what it does not hold.
  std::vector<JobLeadOutcome> rest;
  for (std::size_t i = 2; i < claimed->size(); ++i) rest.push_back({(*claimed)[i], std::nullopt});
  ASSERT_TRUE(s().finish_job_leads(j.id, "b", rest));
  EXPECT_EQ(reread(j.id).done, 1);
  ASSERT_TRUE(s().finish_job_leads(j.id, "a", rest));
  const auto done = reread(j.id);
  EXPECT_EQ(done.done, 4);
  EXPECT_EQ(done.failed, 1);
  EXPECT_EQ(done.status, JobStatus::Done);
  EXPECT_TRUE(done.finished_at.has_value());
  EXPECT_EQ(sql("SELECT error FROM job_leads WHERE lead_id = " + std::to_string((*claimed)[1])),
            "lead gone");
}

TEST_F(JobQueries, AnExpiredClaimIsTakenAgainUnlessTheJobScoredTheLead) {
  create_leads(3);
  const auto j = job();
  auto first = s().claim_job_leads(j.id, "gone", 10, 1000ms);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 3u);
  // Before the lease runs out, nothing is left to claim.
  EXPECT_TRUE(s().claim_job_leads(j.id, "other", 10, 30s)->empty());
  // The runner that went away had stored its analysis of the first lead, not its mark.
  auto lead = *s().get_lead((*first)[0]);
  auto analysis = analysis_of(lead, 0.5);
  analysis.actor = domain::job_actor(j);
  ASSERT_TRUE(s().record_analysis(lead, analysis, true));
  sql("UPDATE job_leads SET lease_until = now() - interval '1 second'");
  auto again = s().claim_job_leads(j.id, "other", 10, 30s);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, (std::vector<std::int64_t>{(*first)[1], (*first)[2]}));
  EXPECT_EQ(reread(j.id).done, 1);
}

TEST_F(JobQueries, ReleasedLeadsAreClaimedAgainFromTheStart) {
  const auto leads = create_leads(6);
  const auto j = job();
  auto first = *s().claim_job_leads(j.id, "a", 3, 30s);
  ASSERT_EQ(first, (std::vector<std::int64_t>{leads[0], leads[1], leads[2]}));
  // A stopping server gives back what it had not started.
  ASSERT_TRUE(s().release_job_leads(j.id, "a", std::vector<std::int64_t>{leads[1], leads[2]}));
  // After the last lead claimed, only the leads beyond it; from the start, the released ones.
  EXPECT_EQ(*s().claim_job_leads(j.id, "b", 10, 30s, leads[2]),
            (std::vector<std::int64_t>{leads[3], leads[4], leads[5]}));
  EXPECT_EQ(*s().claim_job_leads(j.id, "b", 10, 30s, 0),
            (std::vector<std::int64_t>{leads[1], leads[2]}));
  EXPECT_TRUE(s().claim_job_leads(j.id, "c", 10, 30s, 0)->empty());
}

TEST_F(JobQueries, CancelStopsClaimingAndResumeTakesOnlyAnInterruptedJob) {
  create_leads(4);
  const auto j = job();
  ASSERT_EQ(s().claim_job_leads(j.id, "a", 2, 30s)->size(), 2u);
  auto cancelled = s().cancel_job(j.id);
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->status, JobStatus::Cancelled);
  EXPECT_TRUE(s().claim_job_leads(j.id, "a", 10, 30s)->empty());
  EXPECT_EQ(s().cancel_job(j.id).error().code, domain::ErrorCode::Conflict);
  EXPECT_EQ(s().resume_job(j.id).error().code, domain::ErrorCode::Conflict);
  EXPECT_EQ(s().cancel_job(j.id + 100).error().code, domain::ErrorCode::NotFound);
  EXPECT_TRUE(s().active_jobs()->empty());
}

TEST_F(JobQueries, ARunningJobNobodyTouchesIsInterruptedThenResumed) {
  create_leads(4);
  const auto j = job();
  ASSERT_EQ(s().claim_job_leads(j.id, "gone", 2, 1000ms)->size(), 2u);
  EXPECT_TRUE(s().interrupt_stale_jobs(10s)->empty());  // touched just now
  sql("UPDATE jobs SET heartbeat_at = now() - interval '1 minute'");
  sql("UPDATE job_leads SET lease_until = now() - interval '1 minute' WHERE state = 'claimed'");
  EXPECT_EQ(*s().interrupt_stale_jobs(10s), std::vector<std::int64_t>{j.id});
  EXPECT_EQ(reread(j.id).status, JobStatus::Interrupted);
  EXPECT_TRUE(s().claim_job_leads(j.id, "new", 10, 30s)->empty());
  auto resumed = s().resume_job(j.id);
  ASSERT_TRUE(resumed);
  EXPECT_EQ(resumed->status, JobStatus::Running);
  EXPECT_EQ(s().claim_job_leads(j.id, "new", 10, 30s)->size(), 4u);
}

}  // namespace
}  // namespace leadscore::store::testing
