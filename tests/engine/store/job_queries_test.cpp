// The queries of scoring jobs (job_queries.cpp): the selection of a job's leads, claims from
// several sessions at once (each batch to one of them), the counts, leases that run out,
// leads given back, and the statuses a job moves through.
#include <algorithm>
#include <set>
#include <span>
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
  domain::Job job(const JobFilter& selection = {}, int batch_size = 1000) {
    auto created = s().create_job(selection, std::nullopt, "manager", batch_size);
    if (!created) throw std::runtime_error(created.error().message);
    return *created;
  }
  domain::Job reread(std::int64_t id) { return *s().get_job(id); }
  // The next claim of `job` by `runner`; nullopt when there is nothing to claim.
  std::optional<JobClaim> claim(std::int64_t job, const std::string& runner,
                                std::chrono::milliseconds lease = 30s) {
    auto claimed = s().claim_job_batch(job, runner, lease);
    if (!claimed) throw std::runtime_error(claimed.error().message);
    return *claimed;
  }
  static std::vector<JobLeadOutcome> all_done(std::span<const std::int64_t> leads) {
    std::vector<JobLeadOutcome> outcomes;
    for (auto id : leads) outcomes.push_back({id, std::nullopt});
    return outcomes;
  }
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
  EXPECT_EQ(sql("SELECT sum(cardinality(lead_ids)) FROM job_batches WHERE job_id = " +
                std::to_string(queued.id)),
            "4");
}

TEST_F(JobQueries, TheLeadsAreSplitIntoBatchesOfTheSizeAskedInLeadOrder) {
  const auto leads = create_leads(7);
  const auto j = job({}, 3);
  EXPECT_EQ(j.total, 7);
  std::vector<std::vector<std::int64_t>> batches;
  while (auto c = claim(j.id, "a")) batches.push_back(c->lead_ids);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0], (std::vector<std::int64_t>{leads[0], leads[1], leads[2]}));
  EXPECT_EQ(batches[1], (std::vector<std::int64_t>{leads[3], leads[4], leads[5]}));
  EXPECT_EQ(batches[2], (std::vector<std::int64_t>{leads[6]}));
}

TEST_F(JobQueries, AJobOfNoLeadIsDoneAtOnce) {
  const auto empty = job(filter([](JobFilter& f) { f.source = "scanner"; }));
  EXPECT_EQ(empty.total, 0);
  EXPECT_EQ(empty.status, JobStatus::Done);
  EXPECT_TRUE(empty.finished_at.has_value());
}

TEST_F(JobQueries, ClaimsFromTwoSessionsAtOnceNeverGiveALeadTwice) {
  const auto leads = create_leads(600);
  const auto j = job({}, 7);
  std::vector<std::int64_t> claimed[2];
  std::vector<std::thread> runners;
  for (int r = 0; r < 2; ++r)
    runners.emplace_back([&, r] {
      auto session = db_->session();
      ASSERT_TRUE(session);
      const std::string name = "runner-" + std::to_string(r);
      for (;;) {
        auto batch = session->claim_job_batch(j.id, name, 30s);
        ASSERT_TRUE(batch) << batch.error().message;
        if (!*batch) break;
        const auto& ids = (*batch)->lead_ids;
        claimed[r].insert(claimed[r].end(), ids.begin(), ids.end());
        ASSERT_TRUE(session->finish_job_batch(j.id, name, (*batch)->batch, all_done(ids)));
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
  const auto j = job({}, 3);
  const auto first = claim(j.id, "a");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->lead_ids.size(), 3u);
  EXPECT_EQ(reread(j.id).status, JobStatus::Running);
  EXPECT_TRUE(reread(j.id).started_at.has_value());
  const auto& ids = first->lead_ids;
  std::vector<JobLeadOutcome> outcomes{
      {ids[0], std::nullopt}, {ids[1], "lead gone"}, {ids[2], std::nullopt}};
  // Another runner cannot finish what it does not hold.
  ASSERT_TRUE(s().finish_job_batch(j.id, "b", first->batch, outcomes));
  EXPECT_EQ(reread(j.id).done, 0);
  ASSERT_TRUE(s().finish_job_batch(j.id, "a", first->batch, outcomes));
  EXPECT_EQ(reread(j.id).done, 2);
  EXPECT_EQ(reread(j.id).failed, 1);
  EXPECT_EQ(reread(j.id).status, JobStatus::Running);
  // Finishing twice counts once.
  ASSERT_TRUE(s().finish_job_batch(j.id, "a", first->batch, outcomes));
  EXPECT_EQ(reread(j.id).done, 2);
  EXPECT_EQ(sql("SELECT failures ->> '" + std::to_string(ids[1]) +
                "' FROM job_batches WHERE id = " + std::to_string(first->batch)),
            "lead gone");

  const auto second = claim(j.id, "a");
  ASSERT_TRUE(second);
  ASSERT_TRUE(s().finish_job_batch(j.id, "a", second->batch, all_done(second->lead_ids)));
  const auto done = reread(j.id);
  EXPECT_EQ(done.done, 4);
  EXPECT_EQ(done.failed, 1);
  EXPECT_EQ(done.status, JobStatus::Done);
  EXPECT_TRUE(done.finished_at.has_value());
  EXPECT_FALSE(claim(j.id, "a"));
}

TEST_F(JobQueries, AnExpiredClaimIsTakenAgainUnlessTheJobScoredTheLead) {
  create_leads(3);
  const auto j = job();
  const auto first = claim(j.id, "gone", 1000ms);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->lead_ids.size(), 3u);
  // Before the lease runs out, nothing is left to claim.
  EXPECT_FALSE(claim(j.id, "other"));
  // The runner that went away had stored its analysis of the first lead, not its finish.
  auto lead = *s().get_lead(first->lead_ids[0]);
  auto analysis = analysis_of(lead, 0.5);
  analysis.actor = domain::job_actor(j);
  ASSERT_TRUE(s().record_analysis(lead, analysis, true));
  sql("UPDATE job_batches SET lease_until = now() - interval '1 second'");
  const auto again = claim(j.id, "other");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->batch, first->batch);
  EXPECT_EQ(again->lead_ids, (std::vector<std::int64_t>{first->lead_ids[1], first->lead_ids[2]}));
  EXPECT_EQ(reread(j.id).done, 1);
  // The runner that went away comes back: its claim is no longer its own.
  ASSERT_TRUE(s().finish_job_batch(j.id, "gone", first->batch, all_done(first->lead_ids)));
  EXPECT_EQ(reread(j.id).done, 1);
  // Run out once more: the lead counted done is not counted again.
  sql("UPDATE job_batches SET lease_until = now() - interval '1 second'");
  EXPECT_EQ(claim(j.id, "third")->lead_ids.size(), 2u);
  EXPECT_EQ(reread(j.id).done, 1);
}

TEST_F(JobQueries, AClaimWhoseLeadsWereAllScoredEndsTheJobWhenItWasTheLast) {
  create_leads(2);
  const auto j = job();
  const auto first = claim(j.id, "gone", 1000ms);
  ASSERT_TRUE(first);
  for (const auto id : first->lead_ids) {
    auto lead = *s().get_lead(id);
    auto analysis = analysis_of(lead, 0.5);
    analysis.actor = domain::job_actor(j);
    ASSERT_TRUE(s().record_analysis(lead, analysis, true));
  }
  sql("UPDATE job_batches SET lease_until = now() - interval '1 second'");
  const auto again = claim(j.id, "other");
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->lead_ids.empty());
  EXPECT_EQ(reread(j.id).done, 2);
  EXPECT_EQ(reread(j.id).status, JobStatus::Done);
}

TEST_F(JobQueries, LeadsNotStartedGoBackAsABatchOfTheirOwn) {
  const auto leads = create_leads(6);
  const auto j = job({}, 3);
  const auto first = claim(j.id, "a");
  ASSERT_EQ(first->lead_ids, (std::vector<std::int64_t>{leads[0], leads[1], leads[2]}));
  // A stopping server finishes the lead it did and gives back what it had not started.
  ASSERT_TRUE(s().finish_job_batch(j.id, "a", first->batch, all_done({&leads[0], 1}),
                                   std::vector<std::int64_t>{leads[1], leads[2]}));
  EXPECT_EQ(reread(j.id).done, 1);
  EXPECT_EQ(claim(j.id, "b")->lead_ids, (std::vector<std::int64_t>{leads[3], leads[4], leads[5]}));
  EXPECT_EQ(claim(j.id, "b")->lead_ids, (std::vector<std::int64_t>{leads[1], leads[2]}));
  EXPECT_FALSE(claim(j.id, "c"));
}

TEST_F(JobQueries, CancelStopsClaimingAndResumeTakesOnlyAnInterruptedJob) {
  create_leads(4);
  const auto j = job({}, 2);
  ASSERT_EQ(claim(j.id, "a")->lead_ids.size(), 2u);
  auto cancelled = s().cancel_job(j.id);
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->status, JobStatus::Cancelled);
  EXPECT_FALSE(claim(j.id, "a"));
  EXPECT_EQ(s().cancel_job(j.id).error().code, domain::ErrorCode::Conflict);
  EXPECT_EQ(s().resume_job(j.id).error().code, domain::ErrorCode::Conflict);
  EXPECT_EQ(s().cancel_job(j.id + 100).error().code, domain::ErrorCode::NotFound);
  EXPECT_TRUE(s().active_jobs()->empty());
}

TEST_F(JobQueries, ARunningJobNobodyTouchesIsInterruptedThenResumed) {
  create_leads(4);
  const auto j = job({}, 2);
  ASSERT_EQ(claim(j.id, "gone", 1000ms)->lead_ids.size(), 2u);
  EXPECT_TRUE(s().interrupt_stale_jobs(10s)->empty());  // touched just now
  sql("UPDATE jobs SET heartbeat_at = now() - interval '1 minute'");
  sql("UPDATE job_batches SET lease_until = now() - interval '1 minute' WHERE state = 'claimed'");
  EXPECT_EQ(*s().interrupt_stale_jobs(10s), std::vector<std::int64_t>{j.id});
  EXPECT_EQ(reread(j.id).status, JobStatus::Interrupted);
  EXPECT_FALSE(claim(j.id, "new"));
  auto resumed = s().resume_job(j.id);
  ASSERT_TRUE(resumed);
  EXPECT_EQ(resumed->status, JobStatus::Running);
  std::size_t claimed = 0;
  while (auto c = claim(j.id, "new")) claimed += c->lead_ids.size();
  EXPECT_EQ(claimed, 4u);
}

}  // namespace
}  // namespace leadscore::store::testing
