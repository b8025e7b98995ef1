// Analyses: the append-only record of scorer runs, and the one-statement write of a result
// onto its lead guarded by the lead's updated_at.
#include <barrier>
#include <thread>

#include "tests/store/store_fixture.h"

namespace leadscore::store::testing {
namespace {

using domain::ErrorCode;
using domain::LeadStage;
using domain::Recommendation;

TEST_F(Store, RecordAnalysisWritesTheResultOntoTheLeadAndAppendsTheRun) {
  domain::NewLead input = new_lead("partner", "fintech");
  input.profile.industry = "banking";
  input.activity_count = 7;
  const domain::Lead lead = create(input);
  domain::Analysis analysis = analysis_of(lead, 0.75, Recommendation::ContinueQualification);
  analysis.latency_ms = 1.5;
  analysis.role = "primary";

  auto stored = s().record_analysis(lead, analysis, true);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->ai_score, 0.75);
  EXPECT_EQ(stored->ai_recommendation, Recommendation::ContinueQualification);
  EXPECT_EQ(stored->ai_reason, "because");
  EXPECT_EQ(stored->ai_scorer, "heuristic");
  EXPECT_EQ(stored->ai_scorer_version, "1.0.0");
  ASSERT_TRUE(stored->ai_analyzed_at);
  EXPECT_GT(stored->updated_at, lead.updated_at);
  EXPECT_EQ(stored->stage, LeadStage::New);
  EXPECT_EQ(stored->profile.industry, "banking");

  auto history = s().lead_history(lead.id);
  ASSERT_TRUE(history) << history.error().message;
  ASSERT_EQ(history->analyses.size(), 1u);
  const domain::Analysis& row = history->analyses[0];
  EXPECT_GT(row.id, 0);
  EXPECT_EQ(row.lead_id, lead.id);
  EXPECT_EQ(row.scorer, "heuristic");
  EXPECT_EQ(row.scorer_version, "1.0.0");
  EXPECT_EQ(row.role, "primary");
  EXPECT_EQ(row.actor, "tester");
  EXPECT_EQ(row.latency_ms, 1.5);
  EXPECT_FALSE(row.error);
  EXPECT_EQ(row.created_at, *stored->ai_analyzed_at);
  EXPECT_EQ(row.features.source, "partner");
  EXPECT_EQ(row.features.stage, LeadStage::New);
  EXPECT_EQ(row.features.activity_count, 7);
  EXPECT_EQ(row.features.business_domain, "fintech");
  EXPECT_EQ(row.features.profile.industry, "banking");
  EXPECT_FALSE(row.features.profile.name);
  ASSERT_TRUE(row.result);
  EXPECT_EQ(row.result->score, 0.75);
  EXPECT_EQ(row.result->recommendation, Recommendation::ContinueQualification);
  EXPECT_EQ(row.result->reason, "because");
  ASSERT_EQ(row.result->contributions.size(), 2u);
  EXPECT_EQ(row.result->contributions[0].rule, "base");
  EXPECT_EQ(row.result->contributions[0].points, 0.375);
  EXPECT_FALSE(row.result->intent);
}

TEST_F(Store, IntentIsKeptWithTheResultOnlyWhenTheScorerGaveOne) {
  const domain::Lead lead = create();
  domain::Analysis with_intent = analysis_of(lead, 0.5);
  with_intent.result->intent = "Élevé";
  ASSERT_TRUE(s().append_analysis(with_intent));
  ASSERT_TRUE(s().append_analysis(analysis_of(lead, 0.5)));

  auto history = s().lead_history(lead.id);
  ASSERT_TRUE(history) << history.error().message;
  ASSERT_EQ(history->analyses.size(), 2u);
  ASSERT_TRUE(history->analyses[0].result && history->analyses[1].result);
  EXPECT_EQ(history->analyses[0].result->intent, "Élevé");
  EXPECT_FALSE(history->analyses[1].result->intent);
}

TEST_F(Store, ScoresRoundTripExactly) {
  const domain::Lead lead = create();
  const double score = 0.1 + 0.2;  // 0.30000000000000004
  auto stored = s().record_analysis(lead, analysis_of(lead, score), true);
  ASSERT_TRUE(stored);
  EXPECT_EQ(*stored->ai_score, score);
  EXPECT_EQ(*s().get_lead(lead.id)->ai_score, score);
  EXPECT_EQ(s().lead_history(lead.id)->analyses[0].result->score, score);
}

TEST_F(Store, RecordAnalysisOfALeadChangedSinceItWasReadIsConflictAndStoresNothing) {
  const domain::Lead seen = create();
  ASSERT_TRUE(s().add_activity(seen.id, 1));  // someone else changes the lead
  auto stored = s().record_analysis(seen, analysis_of(seen, 0.9), true);
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code, ErrorCode::Conflict);
  EXPECT_FALSE(s().get_lead(seen.id)->ai_score);
  EXPECT_EQ(sql("SELECT count(*) FROM analyses"), "0");

  // Re-read, score again: stored.
  auto fresh = s().get_lead(seen.id);
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(s().record_analysis(*fresh, analysis_of(*fresh, 0.9), true));
}

TEST_F(Store, EveryWriteMovesUpdatedAtSoAnOlderReadNeverMatches) {
  domain::Lead lead = create();
  std::vector<std::string> versions{lead.updated_at};
  for (int i = 0; i < 20; ++i) {
    auto added = s().add_activity(lead.id, 1);
    ASSERT_TRUE(added);
    EXPECT_GT(added->updated_at, versions.back());
    versions.push_back(added->updated_at);
  }
  lead = *s().get_lead(lead.id);
  auto stale = lead;
  stale.updated_at = versions[versions.size() - 2];
  EXPECT_EQ(s().record_analysis(stale, analysis_of(stale, 0.5), true).error().code,
            ErrorCode::Conflict);
  EXPECT_TRUE(s().record_analysis(lead, analysis_of(lead, 0.5), true));
}

TEST_F(Store, RecordAnalysisOnAFinalLeadIsLeadFinal) {
  const domain::Lead lost = move(create(), LeadStage::Lost);
  auto stored = s().record_analysis(lost, analysis_of(lost, 0.9), true);
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code, ErrorCode::LeadFinal);

  // Also when it became final after it was read.
  const domain::Lead seen = create();
  move(seen, LeadStage::Lost);
  auto late = s().record_analysis(seen, analysis_of(seen, 0.9), true);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::LeadFinal);
  EXPECT_EQ(sql("SELECT count(*) FROM analyses"), "0");
}

TEST_F(Store, RecordAnalysisOfAnUnknownLeadIsNotFound) {
  domain::Lead ghost = create();
  ghost.id = 999999;
  for (bool store_on_lead : {true, false}) {
    auto stored = s().record_analysis(ghost, analysis_of(ghost, 0.5), store_on_lead);
    ASSERT_FALSE(stored);
    EXPECT_EQ(stored.error().code, ErrorCode::NotFound);
  }
  domain::Analysis orphan = analysis_of(ghost, 0.5);
  EXPECT_EQ(s().append_analysis(orphan).error().code, ErrorCode::NotFound);
}

TEST_F(Store, RecordAnalysisWithoutStoreOnLeadOnlyAppendsTheRun) {
  const domain::Lead lead = create();
  auto stored = s().record_analysis(lead, analysis_of(lead, 0.9), false);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_FALSE(stored->ai_score);
  EXPECT_EQ(stored->updated_at, lead.updated_at);
  EXPECT_EQ(s().lead_history(lead.id)->analyses.size(), 1u);
}

TEST_F(Store, FailedRunIsAppendedWithItsErrorAndLeavesTheLeadAlone) {
  const domain::Lead lead = create();
  domain::Analysis failed = analysis_of(lead, 0);
  failed.result.reset();
  failed.error = "lua: budget exhausted";
  failed.role = "shadow";
  auto stored = s().record_analysis(lead, failed, true);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_FALSE(stored->ai_score);
  EXPECT_EQ(stored->updated_at, lead.updated_at);

  ASSERT_TRUE(s().append_analysis(failed));
  auto history = s().lead_history(lead.id);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->analyses.size(), 2u);
  for (const auto& row : history->analyses) {
    EXPECT_FALSE(row.result);
    EXPECT_EQ(row.error, "lua: budget exhausted");
    EXPECT_EQ(row.role, "shadow");
  }
  EXPECT_LT(history->analyses[0].id, history->analyses[1].id);
}

TEST_F(Store, ConcurrentAnalysesOfOneReadStoreExactlyOne) {
  constexpr int kThreads = 8;
  auto db = Database::connect(url_, kThreads);
  ASSERT_TRUE(db);
  const domain::Lead seen = create();
  std::vector<Result<domain::Lead>> results(kThreads, std::unexpected(Error{}));
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
      results[i] = session->record_analysis(seen, analysis_of(seen, 0.1 * (i + 1)), true);
    });
  for (auto& thread : threads) thread.join();

  int stored = 0;
  for (const auto& result : results) {
    if (result)
      ++stored;
    else
      EXPECT_EQ(result.error().code, ErrorCode::Conflict) << result.error().message;
  }
  EXPECT_EQ(stored, 1);
  EXPECT_EQ(sql("SELECT count(*) FROM analyses"), "1");
}

TEST_F(Store, ScoreOutsideZeroToOneIsValidationErrorAndStoresNothing) {
  const domain::Lead lead = create();
  auto stored = s().record_analysis(lead, analysis_of(lead, 1.5), true);
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code, ErrorCode::Validation);
  EXPECT_EQ(stored.error().field, "ai_score");
  EXPECT_EQ(sql("SELECT count(*) FROM analyses"), "0");
}

}  // namespace
}  // namespace leadscore::store::testing
