// The assignments of leads to experiment arms: stored once, never moved by a later proposal,
// the same arm for two servers assigning one lead at once, none for a lead that does not exist,
// gone with their lead. An analysis that gives its lead an arm stores it in its own write (one
// at a time, and in a batch of the analysis writer): stored only if the lead's arm is the one
// it was scored for; otherwise nothing is written.
#include <chrono>
#include <thread>

#include "tests/engine/store/store_fixture.h"

namespace leadscore::store::testing {
namespace {

using Assigned = std::vector<std::optional<std::string>>;

class ExperimentQueries : public Store {
 protected:
  Assigned assign(Session& session, std::int64_t lead, const std::string& arm,
                  const std::string& split = "control:50,challenger:50") {
    const domain::ArmAssignment proposal{lead, arm, 42};
    auto arms = session.assign_experiment_arms("trial", split, std::span(&proposal, 1));
    EXPECT_TRUE(arms.has_value()) << arms.error().message;
    return arms ? *arms : Assigned{};
  }
  // An analysis of `lead` scored for `arm`, which it gives the lead unless it has an arm.
  domain::Analysis assigning(const domain::Lead& lead, const std::string& arm, double score = 0.5,
                             int bucket = 7) {
    domain::Analysis analysis = analysis_of(lead, score);
    analysis.experiment = "trial";
    analysis.arm = arm;
    analysis.assigning = domain::ArmProposal{bucket, "control:50,challenger:50"};
    return analysis;
  }
  std::string assignments() {
    return sql(
        "SELECT coalesce(string_agg(lead_id || ' ' || arm || ' ' || bucket || ' ' || split, ';'"
        " ORDER BY lead_id), '') FROM experiment_assignments");
  }
  std::string analyses_of(std::int64_t lead) {
    return sql("SELECT count(*) || ' ' || coalesce(max(arm), '-') FROM analyses WHERE lead_id = " +
               std::to_string(lead));
  }
  // The record_analyses() batch of `analyses` of `leads`: through leadscore_record_analyses().
  std::vector<Result<domain::Lead>> record_batch(const std::vector<domain::Lead>& leads,
                                                 const std::vector<domain::Analysis>& analyses) {
    std::vector<AnalysisToRecord> batch;
    for (std::size_t i = 0; i < leads.size(); ++i) batch.push_back({&leads[i], &analyses[i]});
    return s().record_analyses(batch);
  }
};

TEST_F(ExperimentQueries, TheFirstArmStoredIsKeptWhateverIsProposedLater) {
  const auto lead = create().id;
  EXPECT_EQ(assign(s(), lead, "control"), Assigned{"control"});
  EXPECT_EQ(assign(s(), lead, "challenger", "control:1,challenger:3"), Assigned{"control"});
  EXPECT_EQ(query(url_, "SELECT arm || ' ' || bucket || ' ' || split FROM experiment_assignments"),
            "control 42 control:50,challenger:50");
}

TEST_F(ExperimentQueries, ABatchAnswersEachLeadInOrderAndNoArmForAMissingLead) {
  const auto a = create().id, b = create().id, c = create().id;
  assign(s(), b, "challenger");
  const std::vector<domain::ArmAssignment> batch{
      {c, "control", 1}, {999999, "control", 2}, {b, "control", 3}, {a, "challenger", 4}};
  auto arms = s().assign_experiment_arms("trial", "control:50,challenger:50", batch);
  ASSERT_TRUE(arms.has_value()) << arms.error().message;
  EXPECT_EQ(*arms, (Assigned{"control", std::nullopt, "challenger", "challenger"}));
  EXPECT_EQ(query(url_, "SELECT count(*) FROM experiment_assignments"), "3");
}

TEST_F(ExperimentQueries, TwoServersAssigningOneLeadAtOnceAgree) {
  for (int round = 0; round < 20; ++round) {
    const auto lead = create().id;
    auto other = db_->session();
    ASSERT_TRUE(other.has_value());
    Assigned first, second;
    std::thread racer([&] { first = assign(*other, lead, "control"); });
    second = assign(s(), lead, "challenger");
    racer.join();
    ASSERT_EQ(first.size(), 1u);
    ASSERT_TRUE(first[0].has_value()) << "round " << round;
    EXPECT_EQ(first, second) << "round " << round;
  }
}

TEST_F(ExperimentQueries, AnAssignmentGoesWithItsLead) {
  const auto lead = create().id;
  assign(s(), lead, "control");
  ASSERT_TRUE(s().delete_lead(lead).has_value());
  EXPECT_EQ(query(url_, "SELECT count(*) FROM experiment_assignments"), "0");
}

TEST_F(ExperimentQueries, AFirstAnalysisStoresTheArmItGivesItsLeadInItsOwnWrite) {
  const domain::Lead lead = create();
  auto stored = s().record_analysis(lead, assigning(lead, "challenger", 0.5, 4242), true);
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  EXPECT_DOUBLE_EQ(*stored->ai_score, 0.5);
  EXPECT_EQ(assignments(), std::to_string(lead.id) + " challenger 4242 control:50,challenger:50");
  EXPECT_EQ(analyses_of(lead.id), "1 challenger");
  // The next analysis of the same arm (a server that did not know it) is stored beside it.
  ASSERT_TRUE(s().record_analysis(*stored, assigning(*stored, "challenger", 0.6), true));
  EXPECT_EQ(analyses_of(lead.id), "2 challenger");
  EXPECT_EQ(sql("SELECT count(*) FROM experiment_assignments"), "1");
}

TEST_F(ExperimentQueries, AnAnalysisForAnotherArmThanTheLeadsIsAConflictAndWritesNothing) {
  const domain::Lead lead = create();
  assign(s(), lead.id, "control");
  const std::string before = assignments();
  auto stored = s().record_analysis(lead, assigning(lead, "challenger"), true);
  ASSERT_FALSE(stored.has_value());
  EXPECT_EQ(stored.error().code, domain::ErrorCode::Conflict);
  EXPECT_EQ(assignments(), before);
  EXPECT_EQ(analyses_of(lead.id), "0 -");
  EXPECT_EQ(sql("SELECT coalesce(ai_score::text, 'none') FROM leads WHERE id = " +
                std::to_string(lead.id)),
            "none");
  // Scored again for its own arm, it is stored.
  EXPECT_TRUE(s().record_analysis(lead, assigning(lead, "control"), true).has_value());
  EXPECT_EQ(analyses_of(lead.id), "1 control");
}

TEST_F(ExperimentQueries, WithAWebhookForAnalysesTheArmAndTheEventGoWithTheAnalysisOrNeither) {
  WebhookSubscriptions subscriptions;
  subscriptions.of(domain::EventType::AnalysisCompleted) = {"crm"};
  db_->set_webhook_subscriptions(std::move(subscriptions));
  const auto events = [&] { return sql("SELECT count(*) FROM webhook_events"); };
  const domain::Lead lead = create();
  ASSERT_TRUE(s().record_analysis(lead, assigning(lead, "control", 0.5, 9), true).has_value());
  EXPECT_EQ(assignments(), std::to_string(lead.id) + " control 9 control:50,challenger:50");
  EXPECT_EQ(events(), "1");
  // Another arm: no analysis, so no event.
  auto refused = s().record_analysis(lead, assigning(lead, "challenger"), true);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, domain::ErrorCode::Conflict);
  EXPECT_EQ(analyses_of(lead.id), "1 control");
  EXPECT_EQ(events(), "1");
}

TEST_F(ExperimentQueries, ALeadDeletedWhileItsFirstAnalysisIsWrittenIsNotFoundAndLeavesNoArm) {
  const domain::Lead lead = create();
  const std::string id = std::to_string(lead.id);
  // Another client deletes the lead as the store does (locked first), while the write waits.
  PGconn* deleter = PQconnectdb(url_.c_str());
  ASSERT_EQ(PQstatus(deleter), CONNECTION_OK);
  PQclear(PQexec(deleter, ("BEGIN; SELECT 1 FROM leads WHERE id = " + id + " FOR UPDATE").c_str()));
  Result<domain::Lead> written = std::unexpected(domain::Error::internal("not run"));
  std::thread writer(
      [&] { written = s().record_analysis(lead, assigning(lead, "control"), true); });
  // The write is waiting for the lead's lock once its backend says so.
  for (int i = 0; i < 200 && sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type ="
                                 " 'Lock' AND query LIKE '%experiment_assignments%'") != "1";
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  PGresult* deleted = PQexec(deleter, ("DELETE FROM analyses WHERE lead_id = " + id +
                                       "; DELETE FROM leads WHERE id = " + id + "; COMMIT")
                                          .c_str());
  EXPECT_EQ(PQresultStatus(deleted), PGRES_COMMAND_OK) << PQerrorMessage(deleter);
  PQclear(deleted);
  PQfinish(deleter);
  writer.join();
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code, domain::ErrorCode::NotFound) << written.error().message;
  EXPECT_EQ(assignments(), "");
  EXPECT_EQ(analyses_of(lead.id), "0 -");
}

TEST_F(ExperimentQueries, AFinalLeadIsGivenNoArm) {
  domain::Lead lead = move(create(), domain::LeadStage::Lost);
  auto stored = s().record_analysis(lead, assigning(lead, "control"), true);
  ASSERT_FALSE(stored.has_value());
  EXPECT_EQ(stored.error().code, domain::ErrorCode::LeadFinal);
  EXPECT_EQ(assignments(), "");
}

TEST_F(ExperimentQueries, ABatchGivesNewLeadsTheirArmsAndRefusesAnAnalysisForAnotherArm) {
  const std::vector<domain::Lead> leads{create(), create(), create()};
  assign(s(), leads[1].id, "control");
  assign(s(), leads[2].id, "challenger");
  const std::vector<domain::Analysis> analyses{assigning(leads[0], "challenger", 0.5, 11),
                                               assigning(leads[1], "challenger", 0.5, 12),
                                               assigning(leads[2], "challenger", 0.5, 13)};
  auto outcomes = record_batch(leads, analyses);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_TRUE(outcomes[0].has_value()) << outcomes[0].error().message;
  ASSERT_FALSE(outcomes[1].has_value());
  EXPECT_EQ(outcomes[1].error().code, domain::ErrorCode::Conflict);
  EXPECT_TRUE(outcomes[2].has_value()) << outcomes[2].error().message;
  EXPECT_EQ(analyses_of(leads[0].id), "1 challenger");
  EXPECT_EQ(analyses_of(leads[1].id), "0 -");
  EXPECT_EQ(analyses_of(leads[2].id), "1 challenger");
  EXPECT_EQ(assignments(),
            std::to_string(leads[0].id) + " challenger 11 control:50,challenger:50;" +
                std::to_string(leads[1].id) + " control 42 control:50,challenger:50;" +
                std::to_string(leads[2].id) + " challenger 42 control:50,challenger:50");
}

TEST_F(ExperimentQueries, InABatchTheFirstArmOfALeadIsKeptAndAFinalLeadIsGivenNone) {
  const domain::Lead open = create();
  const domain::Lead lost = move(create(), domain::LeadStage::Lost);
  // Two analyses of one lead for different arms (a reload changed the split between them), and
  // a lead that is final.
  const std::vector<domain::Lead> leads{open, open, lost};
  const std::vector<domain::Analysis> analyses{assigning(open, "challenger", 0.5, 21),
                                               assigning(open, "control", 0.6, 22),
                                               assigning(lost, "control", 0.5, 23)};
  auto outcomes = record_batch(leads, analyses);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_TRUE(outcomes[0].has_value()) << outcomes[0].error().message;
  ASSERT_FALSE(outcomes[1].has_value());
  EXPECT_EQ(outcomes[1].error().code, domain::ErrorCode::Conflict);
  ASSERT_FALSE(outcomes[2].has_value());
  EXPECT_EQ(outcomes[2].error().code, domain::ErrorCode::LeadFinal);
  EXPECT_EQ(assignments(), std::to_string(open.id) + " challenger 21 control:50,challenger:50");
  EXPECT_EQ(analyses_of(open.id), "1 challenger");
  EXPECT_EQ(analyses_of(lost.id), "0 -");
}

TEST_F(ExperimentQueries, TwoServersGivingOneLeadDifferentArmsStoreOnlyTheAnalysisOfTheArmKept) {
  for (int round = 0; round < 20; ++round) {
    const domain::Lead lead = create();
    auto other = db_->session();
    ASSERT_TRUE(other.has_value());
    Result<domain::Lead> first = std::unexpected(domain::Error::not_found("not run"));
    std::thread racer(
        [&] { first = other->record_analysis(lead, assigning(lead, "control", 0.25), true); });
    auto second = s().record_analysis(lead, assigning(lead, "challenger", 0.75), true);
    racer.join();
    const std::string arm =
        sql("SELECT arm FROM experiment_assignments WHERE lead_id = " + std::to_string(lead.id));
    ASSERT_FALSE(arm.empty()) << "round " << round;
    // The analysis of the arm that was kept may be stored; the other never is.
    EXPECT_FALSE((arm == "control" ? second : first).has_value()) << "round " << round;
    const std::string rows = analyses_of(lead.id);
    EXPECT_TRUE(rows == "0 -" || rows == "1 " + arm) << rows << ", round " << round;
  }
}

TEST_F(ExperimentQueries, TwoBatchesGivingTheSameLeadsDifferentArmsNeverDeadlockNorMixArms) {
  for (int round = 0; round < 20; ++round) {
    const std::vector<domain::Lead> leads{create(), create(), create()};
    // The second writer's batch takes the leads in reverse order: the write orders them.
    const std::vector<domain::Lead> reversed{leads[2], leads[1], leads[0]};
    std::vector<domain::Analysis> control, challenger;
    for (int i = 0; i < 3; ++i) {
      control.push_back(assigning(leads[i], "control"));
      challenger.push_back(assigning(reversed[i], "challenger"));
    }
    auto other = db_->session();
    ASSERT_TRUE(other.has_value());
    std::vector<Result<domain::Lead>> first;
    std::thread racer([&] {
      std::vector<AnalysisToRecord> batch;
      for (int i = 0; i < 3; ++i) batch.push_back({&reversed[i], &challenger[i]});
      first = other->record_analyses(batch);
    });
    auto second = record_batch(leads, control);
    racer.join();
    for (const auto* outcomes : {&first, &second}) {
      for (const auto& outcome : *outcomes) {
        if (!outcome) {
          EXPECT_EQ(outcome.error().code, domain::ErrorCode::Conflict)
              << outcome.error().message << ", round " << round;
        }
      }
    }
    for (const domain::Lead& lead : leads) {
      const std::string arm =
          sql("SELECT arm FROM experiment_assignments WHERE lead_id = " + std::to_string(lead.id));
      ASSERT_FALSE(arm.empty()) << "round " << round;
      EXPECT_EQ(analyses_of(lead.id), "1 " + arm) << "round " << round;
    }
  }
}

TEST_F(ExperimentQueries, AssignedCountsArePerExperimentAndArm) {
  for (int i = 0; i < 3; ++i) assign(s(), create().id, i == 0 ? "challenger" : "control");
  auto counts = s().experiment_assigned_counts();
  ASSERT_TRUE(counts.has_value());
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ((*counts)[0].first.second, "challenger");
  EXPECT_EQ((*counts)[0].second, 1);
  EXPECT_EQ((*counts)[1].first.second, "control");
  EXPECT_EQ((*counts)[1].second, 2);
}

}  // namespace
}  // namespace leadscore::store::testing
