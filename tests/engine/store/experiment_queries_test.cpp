// The assignments of leads to experiment arms: stored once, never moved by a later proposal,
// the same arm for two servers assigning one lead at once, none for a lead that does not exist,
// gone with their lead.
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
