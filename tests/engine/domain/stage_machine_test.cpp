#include "engine/domain/stage_machine.h"

#include <gtest/gtest.h>

namespace leadscore::domain {
namespace {

using enum TransitionVerdict;

// clang-format off
// Every (from, to) pair, written out: rows are `from`, columns are `to`, both in the order
// new, contacted, qualified, transferred, lost.
constexpr TransitionVerdict kLeadVerdicts[5][5] = {
    /* new         */ {Invalid, Allowed, Invalid, NeedsHandoff, Allowed},
    /* contacted   */ {Invalid, Invalid, Allowed, NeedsHandoff, Allowed},
    /* qualified   */ {Invalid, Invalid, Invalid, NeedsHandoff, Allowed},
    /* transferred */ {FromFinal, FromFinal, FromFinal, FromFinal, FromFinal},
    /* lost        */ {FromFinal, FromFinal, FromFinal, FromFinal, FromFinal},
};

// Rows and columns: new, kyc, agreement, paid, lost.
constexpr TransitionVerdict kSaleVerdicts[5][5] = {
    /* new       */ {Invalid, Allowed, Invalid, Invalid, Allowed},
    /* kyc       */ {Invalid, Invalid, Allowed, Invalid, Allowed},
    /* agreement */ {Invalid, Invalid, Invalid, Allowed, Allowed},
    /* paid      */ {FromFinal, FromFinal, FromFinal, FromFinal, FromFinal},
    /* lost      */ {FromFinal, FromFinal, FromFinal, FromFinal, FromFinal},
};
// clang-format on

const char* name(TransitionVerdict verdict) {
  switch (verdict) {
    case Allowed:
      return "Allowed";
    case NeedsHandoff:
      return "NeedsHandoff";
    case FromFinal:
      return "FromFinal";
    case Invalid:
      return "Invalid";
  }
  return "?";
}

TEST(StageMachine, LeadVerdictForEveryPairOfStages) {
  for (int from = 0; from < 5; ++from)
    for (int to = 0; to < 5; ++to) {
      const LeadStage f = kAllLeadStages[from], t = kAllLeadStages[to];
      EXPECT_STREQ(name(check_lead_transition(f, t)), name(kLeadVerdicts[from][to]))
          << to_string(f) << " -> " << to_string(t);
    }
}

TEST(StageMachine, SaleVerdictForEveryPairOfStages) {
  for (int from = 0; from < 5; ++from)
    for (int to = 0; to < 5; ++to) {
      const SaleStage f = kAllSaleStages[from], t = kAllSaleStages[to];
      EXPECT_STREQ(name(check_sale_transition(f, t)), name(kSaleVerdicts[from][to]))
          << to_string(f) << " -> " << to_string(t);
    }
}

TEST(StageMachine, LeadMovesForwardOneStepOnly) {
  EXPECT_EQ(check_lead_transition(LeadStage::New, LeadStage::Contacted), Allowed);
  EXPECT_EQ(check_lead_transition(LeadStage::New, LeadStage::Qualified), Invalid);
  EXPECT_EQ(check_lead_transition(LeadStage::Qualified, LeadStage::Contacted), Invalid);
  EXPECT_EQ(check_lead_transition(LeadStage::Contacted, LeadStage::Contacted), Invalid);
}

TEST(StageMachine, TransferredIsAlwaysDecidedByTheHandoff) {
  for (LeadStage from : {LeadStage::New, LeadStage::Contacted, LeadStage::Qualified})
    EXPECT_EQ(check_lead_transition(from, LeadStage::Transferred), NeedsHandoff) << to_string(from);
}

TEST(StageMachine, LostIsReachableFromEveryNonFinalStage) {
  for (LeadStage from : kAllLeadStages)
    EXPECT_EQ(check_lead_transition(from, LeadStage::Lost), is_final(from) ? FromFinal : Allowed)
        << to_string(from);
  for (SaleStage from : kAllSaleStages)
    EXPECT_EQ(check_sale_transition(from, SaleStage::Lost), is_final(from) ? FromFinal : Allowed)
        << to_string(from);
}

TEST(StageMachine, FinalStagesAreExactlyTransferredLostPaid) {
  EXPECT_FALSE(is_final(LeadStage::New));
  EXPECT_FALSE(is_final(LeadStage::Contacted));
  EXPECT_FALSE(is_final(LeadStage::Qualified));
  EXPECT_TRUE(is_final(LeadStage::Transferred));
  EXPECT_TRUE(is_final(LeadStage::Lost));
  EXPECT_FALSE(is_final(SaleStage::New));
  EXPECT_FALSE(is_final(SaleStage::Kyc));
  EXPECT_FALSE(is_final(SaleStage::Agreement));
  EXPECT_TRUE(is_final(SaleStage::Paid));
  EXPECT_TRUE(is_final(SaleStage::Lost));
}

TEST(StageMachine, StageNamesRoundTrip) {
  for (LeadStage stage : kAllLeadStages) EXPECT_EQ(parse_lead_stage(to_string(stage)), stage);
  for (SaleStage stage : kAllSaleStages) EXPECT_EQ(parse_sale_stage(to_string(stage)), stage);
  EXPECT_EQ(to_string(LeadStage::Qualified), "qualified");
  EXPECT_EQ(to_string(SaleStage::Kyc), "kyc");
  EXPECT_EQ(parse_lead_stage("Qualified"), std::nullopt);
  EXPECT_EQ(parse_lead_stage(""), std::nullopt);
  EXPECT_EQ(parse_sale_stage("closed"), std::nullopt);
}

TEST(StageMachine, RecommendationNamesRoundTrip) {
  for (auto r : {Recommendation::TransferToSales, Recommendation::ContinueQualification,
                 Recommendation::DropLead})
    EXPECT_EQ(parse_recommendation(to_string(r)), r);
  EXPECT_EQ(to_string(Recommendation::TransferToSales), "transfer_to_sales");
  EXPECT_EQ(to_string(Recommendation::ContinueQualification), "continue_qualification");
  EXPECT_EQ(to_string(Recommendation::DropLead), "drop_lead");
}

}  // namespace
}  // namespace leadscore::domain
