// The analysis pipeline's store over a real PostgreSQL (the binary's throwaway cluster), on a
// pool of one connection, so that a session that leased twice, or held its connection while
// the group commit waits for one, would stall and fail.
#include "engine/analysis/database_analysis_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/support/pg_cluster.h"

namespace leadscore::analysis {
namespace {

using domain::ErrorCode;

class DatabaseAnalysisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::connect(testing::PgCluster::shared().create_database(),
                                       /*pool_size=*/1);
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    ASSERT_TRUE(db_->migrate());
    auto session = db_->session();
    ASSERT_TRUE(session);
    domain::NewLead lead;
    lead.source = "partner";
    auto created = session->create_lead(lead, "tester");
    ASSERT_TRUE(created) << created.error().message;
    lead_id_ = created->id;
  }

  domain::Analysis analysis_of(const domain::Lead& lead, std::string role = "primary") {
    domain::Analysis analysis;
    analysis.lead_id = lead.id;
    analysis.scorer = "heuristic";
    analysis.scorer_version = "1";
    analysis.role = std::move(role);
    analysis.actor = "tester";
    analysis.features = domain::features_of(lead);
    analysis.result = domain::ScoreResult{
        0.6, domain::Recommendation::ContinueQualification, "because", {{"base", 0.6}}, {}};
    return analysis;
  }

  std::size_t history_size() {
    auto session = db_->session();
    EXPECT_TRUE(session);
    auto history = session->lead_history(lead_id_);
    EXPECT_TRUE(history);
    return history ? history->analyses.size() : 0;
  }

  std::unique_ptr<store::Database> db_;
  std::int64_t lead_id_ = 0;
};

TEST_F(DatabaseAnalysisStoreTest, ReadingAndAppendingShareOneConnection) {
  DatabaseAnalysisStore store(*db_);
  auto session = store.session();
  auto lead = session->get_lead(lead_id_);
  ASSERT_TRUE(lead) << lead.error().message;
  domain::Analysis failed = analysis_of(*lead);
  failed.result.reset();
  failed.error = "scorer broke on purpose";
  ASSERT_TRUE(session->append(failed));
  auto recorded = session->record(*lead, analysis_of(*lead, "adhoc"), Storage::HistoryOnly);
  ASSERT_TRUE(recorded) << recorded.error().message;
  EXPECT_FALSE(recorded->ai_score.has_value());  // an ad-hoc run is not stored on the lead
  session.reset();
  EXPECT_EQ(history_size(), 2u);
}

TEST_F(DatabaseAnalysisStoreTest, GivesItsConnectionBackBeforeTheGroupCommit) {
  store::AnalysisWriter writer(*db_);
  DatabaseAnalysisStore store(*db_, &writer);
  auto session = store.session();
  auto lead = session->get_lead(lead_id_);  // leases the pool's one connection
  ASSERT_TRUE(lead);
  auto stored = session->record(*lead, analysis_of(*lead), Storage::OnLead);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->ai_score, 0.6);
  EXPECT_EQ(writer.stats().requests, 1u);
}

TEST_F(DatabaseAnalysisStoreTest, AResultIsStoredOnlyOnTheLeadAsItWasRead) {
  DatabaseAnalysisStore store(*db_);
  domain::Lead seen;
  {
    auto session = store.session();
    auto lead = session->get_lead(lead_id_);
    ASSERT_TRUE(lead);
    seen = *lead;
  }
  {
    auto session = db_->session();
    ASSERT_TRUE(session);
    ASSERT_TRUE(session->add_activity(lead_id_, 1));  // an input changes meanwhile
  }
  auto stored = store.session()->record(seen, analysis_of(seen), Storage::OnLead);
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code, ErrorCode::Conflict);
  EXPECT_EQ(history_size(), 0u);
}

}  // namespace
}  // namespace leadscore::analysis
