// Stage changes and the handoff: the domain's rules applied under the lead's row lock.
#include <atomic>
#include <barrier>
#include <thread>

#include "tests/engine/store/store_fixture.h"

namespace leadscore::store::testing {
namespace {

using domain::ErrorCode;
using domain::LeadStage;

TEST_F(Store, StageMovesOneStepForwardAndRecordsTheEvent) {
  const domain::Lead lead = create();
  auto changed = s().change_lead_stage(lead.id, LeadStage::Contacted, "alice", {});
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_EQ(changed->lead.stage, LeadStage::Contacted);
  EXPECT_FALSE(changed->sale);
  EXPECT_GT(changed->lead.updated_at, lead.updated_at);

  auto history = s().lead_history(lead.id);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->stage_events.size(), 2u);
  const StageEvent& event = history->stage_events[1];
  EXPECT_EQ(event.from, LeadStage::New);
  EXPECT_EQ(event.to, LeadStage::Contacted);
  EXPECT_EQ(event.actor, "alice");
  // Fixed-width RFC 3339 UTC, so text order is time order.
  EXPECT_EQ(event.at.size(), std::string("2026-11-22T00:10:00.123456Z").size());
  EXPECT_LE(event.at, changed->lead.updated_at);
  EXPECT_GT(event.at, history->stage_events[0].at);
}

TEST_F(Store, SkipsBackwardMovesAndSameStageAreInvalidTransitions) {
  const domain::Lead lead = move(create(), LeadStage::Contacted);
  struct Case {
    LeadStage to;
    std::string message;
  };
  for (const Case& c : {Case{LeadStage::Contacted, "cannot move lead from contacted to contacted"},
                        Case{LeadStage::New, "cannot move lead from contacted to new"}}) {
    auto changed = s().change_lead_stage(lead.id, c.to, "tester", {});
    ASSERT_FALSE(changed);
    EXPECT_EQ(changed.error().code, ErrorCode::InvalidTransition);
    EXPECT_EQ(changed.error().message, c.message);
  }
  const domain::Lead fresh = create();
  auto skipped = s().change_lead_stage(fresh.id, LeadStage::Qualified, "tester", {});
  ASSERT_FALSE(skipped);
  EXPECT_EQ(skipped.error().code, ErrorCode::InvalidTransition);
  EXPECT_EQ(skipped.error().message, "cannot move lead from new to qualified");

  // Nothing changed, nothing recorded.
  EXPECT_EQ(s().get_lead(lead.id)->stage, LeadStage::Contacted);
  EXPECT_EQ(s().lead_history(lead.id)->stage_events.size(), 2u);
}

TEST_F(Store, LostIsReachableFromEveryNonFinalStage) {
  for (LeadStage from : {LeadStage::New, LeadStage::Contacted, LeadStage::Qualified}) {
    domain::Lead lead = create();
    if (from != LeadStage::New) lead = move(lead, LeadStage::Contacted);
    if (from == LeadStage::Qualified) lead = move(lead, LeadStage::Qualified);
    auto lost = s().change_lead_stage(lead.id, LeadStage::Lost, "tester", {});
    ASSERT_TRUE(lost) << lost.error().message;
    EXPECT_EQ(lost->lead.stage, LeadStage::Lost);
  }
}

TEST_F(Store, FinalLeadRefusesEveryStageChangeWithLeadFinal) {
  const domain::Lead lost = move(create(), LeadStage::Lost);
  const domain::Lead transferred = move(qualified_lead(), LeadStage::Transferred);
  for (const domain::Lead& lead : {lost, transferred})
    for (LeadStage to : domain::kAllLeadStages) {
      auto changed = s().change_lead_stage(lead.id, to, "tester", {});
      ASSERT_FALSE(changed);
      EXPECT_EQ(changed.error().code, ErrorCode::LeadFinal) << domain::to_string(to);
    }
}

TEST_F(Store, HandoffOfNewUnscoredLeadReportsEveryFailedCheck) {
  const domain::Lead lead = create();
  auto changed = s().change_lead_stage(lead.id, LeadStage::Transferred, "tester", {});
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().code, ErrorCode::HandoffRejected);
  EXPECT_EQ(
      changed.error().failed_checks,
      (std::vector<std::string>{"stage_not_qualified", "not_analyzed", "business_domain_missing"}));
  EXPECT_NE(changed.error().message.find("stage_not_qualified, not_analyzed"), std::string::npos)
      << changed.error().message;
  EXPECT_EQ(sql("SELECT count(*) FROM sales"), "0");
  EXPECT_EQ(s().get_lead(lead.id)->stage, LeadStage::New);
}

TEST_F(Store, HandoffBelowThresholdIsRejectedAndTheThresholdIsInclusive) {
  const domain::Lead low = qualified_lead(0.59);
  auto rejected = s().change_lead_stage(low.id, LeadStage::Transferred, "tester", {});
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code, ErrorCode::HandoffRejected);
  EXPECT_EQ(rejected.error().failed_checks, std::vector<std::string>{"score_below_threshold"});

  const domain::Lead exact = qualified_lead(0.6);
  auto accepted = s().change_lead_stage(exact.id, LeadStage::Transferred, "tester", {});
  ASSERT_TRUE(accepted) << accepted.error().message;

  const domain::Lead strict = qualified_lead(0.7);
  auto stricter = s().change_lead_stage(strict.id, LeadStage::Transferred, "tester",
                                        domain::HandoffPolicy{.min_score = 0.75});
  ASSERT_FALSE(stricter);
  EXPECT_EQ(stricter.error().failed_checks, std::vector<std::string>{"score_below_threshold"});
}

TEST_F(Store, BlankBusinessDomainFailsTheHandoff) {
  domain::Lead lead = create(new_lead("manual", "   "));
  lead = move(lead, LeadStage::Contacted);
  lead = move(lead, LeadStage::Qualified);
  ASSERT_TRUE(s().record_analysis(lead, analysis_of(lead, 0.9), true));
  auto changed = s().change_lead_stage(lead.id, LeadStage::Transferred, "tester", {});
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().failed_checks, std::vector<std::string>{"business_domain_missing"});
}

TEST_F(Store, HandoffTransfersTheLeadAndCreatesItsSaleTogether) {
  const domain::Lead lead = qualified_lead();
  auto changed = s().change_lead_stage(lead.id, LeadStage::Transferred, "manager-key", {});
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_EQ(changed->lead.stage, LeadStage::Transferred);
  ASSERT_TRUE(changed->sale);
  EXPECT_EQ(changed->sale->lead_id, lead.id);
  EXPECT_EQ(changed->sale->stage, domain::SaleStage::New);

  auto history = s().lead_history(lead.id);
  ASSERT_TRUE(history);
  const StageEvent& last = history->stage_events.back();
  EXPECT_EQ(last.from, LeadStage::Qualified);
  EXPECT_EQ(last.to, LeadStage::Transferred);
  EXPECT_EQ(last.actor, "manager-key");
  auto sale = s().get_sale(changed->sale->id);
  ASSERT_TRUE(sale);
  EXPECT_EQ(sale->lead_id, lead.id);
}

TEST_F(Store, HandoffOfLeadThatAlreadyHasASaleIsLeadFinalAndChangesNothing) {
  // Only possible behind the store's back; the unique sale per lead still holds.
  const domain::Lead lead = qualified_lead();
  sql("INSERT INTO sales (lead_id) VALUES (" + std::to_string(lead.id) + ")");
  auto changed = s().change_lead_stage(lead.id, LeadStage::Transferred, "tester", {});
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().code, ErrorCode::LeadFinal);
  EXPECT_EQ(s().get_lead(lead.id)->stage, LeadStage::Qualified);
  EXPECT_EQ(sql("SELECT count(*) FROM stage_events WHERE to_stage = 'transferred'"), "0");
}

TEST_F(Store, ConcurrentTransfersCreateExactlyOneSale) {
  constexpr int kThreads = 16;
  auto db = Database::connect(url_, kThreads);
  ASSERT_TRUE(db) << db.error().message;
  const domain::Lead lead = qualified_lead();

  std::vector<Result<StageChange>> results(kThreads, std::unexpected(Error{}));
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      auto session = (*db)->session();
      start.arrive_and_wait();
      if (!session) {
        results[i] = std::unexpected(session.error());
        return;
      }
      results[i] = session->change_lead_stage(lead.id, LeadStage::Transferred,
                                              "worker-" + std::to_string(i), {});
    });
  for (auto& thread : threads) thread.join();

  int succeeded = 0;
  for (const auto& result : results) {
    if (result) {
      ++succeeded;
      EXPECT_TRUE(result->sale);
    } else {
      EXPECT_EQ(result.error().code, ErrorCode::LeadFinal) << result.error().message;
    }
  }
  EXPECT_EQ(succeeded, 1);
  const std::string id = std::to_string(lead.id);
  EXPECT_EQ(sql("SELECT count(*) FROM sales WHERE lead_id = " + id), "1");
  EXPECT_EQ(sql("SELECT count(*) FROM stage_events WHERE lead_id = " + id +
                " AND sale_id IS NULL AND to_stage = 'transferred'"),
            "1");
}

}  // namespace
}  // namespace leadscore::store::testing
