// The batched write of primary analyses: Session::record_analyses (one statement for many
// leads) and AnalysisWriter (group commit of the analyses recorded at the same moment). Each
// must answer exactly as record_analysis() would for every analysis of the batch.
#include "engine/store/analysis_writer.h"

#include <atomic>
#include <barrier>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/engine/store/store_fixture.h"

namespace leadscore::store::testing {
namespace {

using domain::ErrorCode;
using domain::LeadStage;
using domain::Recommendation;

std::vector<AnalysisToRecord> batch_of(const std::vector<domain::Lead>& seen,
                                       const std::vector<domain::Analysis>& analyses) {
  std::vector<AnalysisToRecord> batch;
  for (std::size_t i = 0; i < seen.size(); ++i) batch.push_back({&seen[i], &analyses[i]});
  return batch;
}

TEST_F(Store, RecordAnalysesWritesEveryResultOntoItsLeadInOneStatement) {
  std::vector<domain::Lead> leads;
  std::vector<domain::Analysis> analyses;
  const double scores[] = {0.30000000000000004, 0.75, std::nextafter(0.6, 0.0)};
  for (double score : scores) {
    domain::NewLead input = new_lead("partner", "fintech");
    input.profile.bio = "it's \"quoted\"; DROP TABLE leads; -- ünïcödé \\ back";
    leads.push_back(create(input));
    analyses.push_back(analysis_of(leads.back(), score, Recommendation::ContinueQualification));
    analyses.back().result->reason = leads.back().profile.bio.value();
    analyses.back().result->intent = "High";
    analyses.back().latency_ms = score;
  }
  auto outcomes = s().record_analyses(batch_of(leads, analyses));

  ASSERT_EQ(outcomes.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(outcomes[i]) << outcomes[i].error().message;
    EXPECT_EQ(outcomes[i]->id, leads[i].id);
    EXPECT_EQ(outcomes[i]->ai_score, scores[i]);  // to the last bit
    EXPECT_EQ(outcomes[i]->ai_reason, leads[i].profile.bio);
    EXPECT_EQ(outcomes[i]->ai_scorer, "heuristic");
    EXPECT_GT(outcomes[i]->updated_at, leads[i].updated_at);

    auto history = s().lead_history(leads[i].id);
    ASSERT_TRUE(history) << history.error().message;
    ASSERT_EQ(history->analyses.size(), 1u);
    const domain::Analysis& row = history->analyses[0];
    EXPECT_EQ(row.role, "primary");
    EXPECT_EQ(row.actor, "tester");
    EXPECT_EQ(row.latency_ms, scores[i]);
    EXPECT_EQ(row.created_at, *outcomes[i]->ai_analyzed_at);
    EXPECT_EQ(row.features.profile.bio, leads[i].profile.bio);
    ASSERT_TRUE(row.result);
    EXPECT_EQ(row.result->score, scores[i]);
    EXPECT_EQ(row.result->reason, leads[i].profile.bio);
    EXPECT_EQ(row.result->intent, "High");
    ASSERT_EQ(row.result->contributions.size(), 2u);
    EXPECT_EQ(row.result->contributions[1].points, scores[i] / 2);
  }
}

TEST_F(Store, RecordAnalysesAnswersEachAnalysisAsRecordAnalysisWould) {
  const domain::Lead fresh = create();
  const domain::Lead stale = create();
  ASSERT_TRUE(s().add_activity(stale.id, 1));  // moves its updated_at past `stale`
  const domain::Lead lost = move(create(), LeadStage::Lost);
  domain::Lead missing = create();
  ASSERT_TRUE(s().delete_lead(missing.id));
  const std::vector<domain::Lead> seen = {fresh, stale, lost, missing};
  std::vector<domain::Analysis> analyses;
  for (const auto& lead : seen) analyses.push_back(analysis_of(lead, 0.5));

  auto outcomes = s().record_analyses(batch_of(seen, analyses));

  ASSERT_EQ(outcomes.size(), 4u);
  ASSERT_TRUE(outcomes[0]) << outcomes[0].error().message;
  EXPECT_EQ(outcomes[0]->ai_score, 0.5);
  ASSERT_FALSE(outcomes[1]);
  EXPECT_EQ(outcomes[1].error().code, ErrorCode::Conflict);
  ASSERT_FALSE(outcomes[2]);
  EXPECT_EQ(outcomes[2].error().code, ErrorCode::LeadFinal);
  ASSERT_FALSE(outcomes[3]);
  EXPECT_EQ(outcomes[3].error().code, ErrorCode::NotFound);
  // Only the stored one left a row; the others changed nothing.
  EXPECT_EQ(sql("SELECT count(*) FROM analyses"), "1");
  EXPECT_EQ(sql("SELECT count(*) FROM leads WHERE ai_score IS NOT NULL"), "1");
}

TEST_F(Store, AnAnalysisPostgresRefusesFailsAloneInItsBatch) {
  std::vector<domain::Lead> leads = {create(), create(), create()};
  std::vector<domain::Analysis> analyses;
  for (const auto& lead : leads) analyses.push_back(analysis_of(lead, 0.5));
  analyses[1].result->reason = "not UTF-8: \xff\xfe";

  auto outcomes = s().record_analyses(batch_of(leads, analyses));

  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_TRUE(outcomes[0]) << outcomes[0].error().message;
  ASSERT_FALSE(outcomes[1]);
  EXPECT_EQ(outcomes[1].error().code, ErrorCode::Validation);
  EXPECT_TRUE(outcomes[2]) << outcomes[2].error().message;
  EXPECT_EQ(sql("SELECT count(*) FROM analyses"), "2");
  EXPECT_EQ(sql("SELECT count(*) FROM leads WHERE ai_score IS NULL"), "1");
}

TEST_F(Store, TheWriterStoresEveryConcurrentAnalysisOnce) {
  constexpr int kThreads = 12;
  constexpr int kRounds = 15;
  std::vector<domain::Lead> leads;
  for (int i = 0; i < kThreads; ++i) leads.push_back(create());
  AnalysisWriter writer(*db_, /*max_batch=*/8, /*max_in_flight=*/2);
  std::vector<int> stored(kThreads, 0);
  std::barrier start(kThreads);
  std::vector<std::jthread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      domain::Lead seen = leads[t];
      for (int round = 0; round < kRounds; ++round) {
        const double score = (t * kRounds + round) / double(kThreads * kRounds);
        auto outcome = writer.record(seen, analysis_of(seen, score));
        if (!outcome) continue;
        EXPECT_EQ(outcome->id, seen.id);
        EXPECT_EQ(outcome->ai_score, score);
        seen = *outcome;
        ++stored[t];
      }
    });
  }
  threads.clear();

  // Every thread owned its lead, so every write was current: all stored, each once.
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(stored[t], kRounds) << "thread " << t;
  EXPECT_EQ(sql("SELECT count(*) FROM analyses"), std::to_string(kThreads * kRounds));
  EXPECT_EQ(sql("SELECT count(DISTINCT lead_id) FROM analyses"), std::to_string(kThreads));
  for (int t = 0; t < kThreads; ++t) {
    const double last = (t * kRounds + kRounds - 1) / double(kThreads * kRounds);
    auto lead = s().get_lead(leads[t].id);
    ASSERT_TRUE(lead);
    EXPECT_EQ(lead->ai_score, last);
  }
  const BatchStats stats = writer.stats();
  EXPECT_EQ(stats.requests, std::size_t{kThreads * kRounds});
  EXPECT_LE(stats.largest_batch, 8u);
}

TEST_F(Store, TheWriterStoresEveryAnalysisOfTheSameLeadVersion) {
  constexpr int kThreads = 8;
  const domain::Lead lead = create();
  AnalysisWriter writer(*db_);
  std::atomic<int> stored = 0;
  std::barrier start(kThreads);
  std::vector<std::jthread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      auto outcome = writer.record(lead, analysis_of(lead, 0.5));
      EXPECT_TRUE(outcome) << outcome.error().message;
      if (outcome) ++stored;
    });
  }
  threads.clear();

  EXPECT_EQ(stored, kThreads);
  EXPECT_EQ(sql("SELECT count(*) FROM analyses"), std::to_string(kThreads));
  EXPECT_EQ(sql("SELECT count(*) FROM leads l JOIN analyses a ON a.lead_id = l.id"
                " AND a.created_at = l.ai_analyzed_at"),
            "1");
}

TEST_F(Store, RecordAnalysesStoresTwoAnalysesOfOneLeadInOneBatch) {
  const domain::Lead lead = create();
  const std::vector<domain::Lead> seen = {lead, lead};
  const std::vector<domain::Analysis> analyses = {analysis_of(lead, 0.25), analysis_of(lead, 0.75)};

  auto outcomes = s().record_analyses(batch_of(seen, analyses));

  ASSERT_EQ(outcomes.size(), 2u);
  ASSERT_TRUE(outcomes[0]) << outcomes[0].error().message;
  ASSERT_TRUE(outcomes[1]) << outcomes[1].error().message;
  EXPECT_EQ(outcomes[0]->ai_score, 0.25);
  EXPECT_EQ(outcomes[1]->ai_score, 0.75);
  EXPECT_EQ(s().get_lead(lead.id)->ai_score, 0.75);  // the later of the batch
  EXPECT_EQ(sql("SELECT count(*) FROM analyses"), "2");
}

// A server of before migration 005 sends the updated_at it read (a_seen) instead of the input
// revision: its batches are guarded as they were, so that it keeps working during an upgrade.
TEST_F(Store, ABatchOfTheFormerShapeIsGuardedByUpdatedAt) {
  const domain::Lead lead = create();
  auto former_batch = [&](const std::string& seen) {
    const nlohmann::json item = {{"a_n", 0},
                                 {"a_lead", lead.id},
                                 {"a_seen", seen},
                                 {"a_score", 0.5},
                                 {"a_recommendation", "drop_lead"},
                                 {"a_reason", "because"},
                                 {"a_scorer", "heuristic"},
                                 {"a_scorer_version", "1.0.0"},
                                 {"a_role", "primary"},
                                 {"a_actor", "old server"},
                                 {"a_features", nlohmann::json::object()},
                                 {"a_result", nlohmann::json::object()},
                                 {"a_contributions", nlohmann::json::array()},
                                 {"a_latency_ms", 0.25}};
    return "SELECT outcome FROM leadscore_record_analyses('" +
           nlohmann::json::array({item}).dump() + "'::jsonb)";
  };
  EXPECT_EQ(sql(former_batch(lead.updated_at)), "stored");
  EXPECT_EQ(sql(former_batch(lead.updated_at)), "changed");  // the first moved updated_at
  EXPECT_EQ(sql("SELECT count(*) FROM analyses"), "1");
}

TEST_F(Store, ABatchKeepsEachAnalysisesAuditAndABatchWithoutAuditsStillWrites) {
  std::vector<domain::Lead> leads{create(), create()};
  std::vector<domain::Analysis> analyses{analysis_of(leads[0], 0.5), analysis_of(leads[1], 0.5)};
  analyses[0].audit = R"({"model":"m1","tokens_out":7})";
  auto outcomes = s().record_analyses(batch_of(leads, analyses));
  ASSERT_EQ(outcomes.size(), 2u);
  ASSERT_TRUE(outcomes[0] && outcomes[1]);
  EXPECT_EQ(s().lead_history(leads[0].id)->analyses.at(0).audit,
            R"({"model": "m1", "tokens_out": 7})");
  EXPECT_FALSE(s().lead_history(leads[1].id)->analyses.at(0).audit.has_value());
  // Through the writer too.
  const domain::Lead third = create();
  domain::Analysis written = analysis_of(third, 0.5);
  written.audit = R"({"tries":1})";
  AnalysisWriter writer(*db_);
  ASSERT_TRUE(writer.record(third, written));
  EXPECT_EQ(s().lead_history(third.id)->analyses.at(0).audit, R"({"tries": 1})");
}

TEST_F(Store, TheWriterAnswersUnavailableWhenTheDatabaseIsGone) {
  const domain::Lead lead = create();
  session_.reset();
  // Every connection of the pool is cut and new ones are refused: the writer's lease cannot
  // reconnect, and it answers Unavailable instead of hanging.
  const std::string database = sql("SELECT current_database()");
  const std::string admin_url = url_.substr(0, url_.rfind('/')) + "/postgres";
  query(admin_url, "ALTER DATABASE " + database + " ALLOW_CONNECTIONS false");
  query(admin_url,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = '" +
            database + "'");
  AnalysisWriter writer(*db_);
  auto outcome = writer.record(lead, analysis_of(lead, 0.5));
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::Unavailable);
}

}  // namespace
}  // namespace leadscore::store::testing
