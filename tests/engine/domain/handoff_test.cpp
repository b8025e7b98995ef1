#include "engine/domain/handoff.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

namespace leadscore::domain {
namespace {

using enum HandoffCheck;

// A lead that passes every check; each test breaks what it is about.
Lead ready_lead() {
  Lead lead;
  lead.id = 1;
  lead.source = "partner";
  lead.stage = LeadStage::Qualified;
  lead.business_domain = "example.com";
  lead.ai_score = 0.8;
  return lead;
}

std::vector<std::string> codes(const std::vector<HandoffCheck>& checks) {
  std::vector<std::string> out;
  for (auto check : checks) out.emplace_back(code(check));
  return out;
}

TEST(Handoff, ReadyLeadPassesEveryCheck) {
  EXPECT_TRUE(failed_handoff_checks(ready_lead(), {}).empty());
}

TEST(Handoff, RejectsEveryStageButQualifiedAlone) {
  for (LeadStage stage : kAllLeadStages) {
    Lead lead = ready_lead();
    lead.stage = stage;
    auto expected = stage == LeadStage::Qualified ? std::vector<HandoffCheck>{}
                                                  : std::vector<HandoffCheck>{StageNotQualified};
    EXPECT_EQ(failed_handoff_checks(lead, {}), expected) << to_string(stage);
  }
}

TEST(Handoff, RejectsUnanalyzedLeadAlone) {
  Lead lead = ready_lead();
  lead.ai_score.reset();
  EXPECT_EQ(failed_handoff_checks(lead, {}), std::vector{NotAnalyzed});
}

TEST(Handoff, RejectsScoreBelowThresholdAlone) {
  Lead lead = ready_lead();
  lead.ai_score = 0.59;
  EXPECT_EQ(failed_handoff_checks(lead, {}), std::vector{ScoreBelowThreshold});
}

TEST(Handoff, RejectsMissingBusinessDomainAlone) {
  Lead lead = ready_lead();
  lead.business_domain.reset();
  EXPECT_EQ(failed_handoff_checks(lead, {}), std::vector{BusinessDomainMissing});
}

TEST(Handoff, RejectsBlankBusinessDomain) {
  for (const char* blank : {"", " ", "   ", "\t", " \t\r\n\f\v "}) {
    Lead lead = ready_lead();
    lead.business_domain = blank;
    EXPECT_EQ(failed_handoff_checks(lead, {}), std::vector{BusinessDomainMissing})
        << "'" << blank << "'";
  }
}

TEST(Handoff, ReportsAllFailingChecksTogetherWhenNotAnalyzed) {
  Lead lead = ready_lead();
  lead.stage = LeadStage::New;
  lead.ai_score.reset();
  lead.business_domain = "  ";
  EXPECT_EQ(
      codes(failed_handoff_checks(lead, {})),
      (std::vector<std::string>{"stage_not_qualified", "not_analyzed", "business_domain_missing"}));
}

TEST(Handoff, ReportsAllFailingChecksTogetherWhenScoredLow) {
  Lead lead = ready_lead();
  lead.stage = LeadStage::Contacted;
  lead.ai_score = 0.1;
  lead.business_domain.reset();
  EXPECT_EQ(codes(failed_handoff_checks(lead, {})),
            (std::vector<std::string>{"stage_not_qualified", "score_below_threshold",
                                      "business_domain_missing"}));
}

TEST(Handoff, ScoreExactlyAtMinScorePasses) {
  for (double min_score : {0.6, 0.75, 0.0, 1.0}) {
    Lead lead = ready_lead();
    lead.ai_score = min_score;
    EXPECT_TRUE(failed_handoff_checks(lead, {min_score}).empty()) << min_score;
  }
}

TEST(Handoff, ScoreOneUlpBelowMinScoreFails) {
  for (double min_score : {0.6, 0.75, 1.0}) {
    Lead lead = ready_lead();
    lead.ai_score = std::nextafter(min_score, 0.0);
    EXPECT_EQ(failed_handoff_checks(lead, {min_score}), std::vector{ScoreBelowThreshold})
        << min_score;
  }
}

TEST(Handoff, DefaultMinScoreIsPointSixInclusive) {
  EXPECT_EQ(HandoffPolicy{}.min_score, 0.6);
  Lead lead = ready_lead();
  // The heuristic's score of a new partner lead with a domain and no activity: exactly 0.6.
  lead.ai_score = 0.7 + -0.2 + 0.0 + 0.1;
  EXPECT_TRUE(failed_handoff_checks(lead, {}).empty());
  lead.ai_score = std::nextafter(0.6, 0.0);
  EXPECT_EQ(failed_handoff_checks(lead, {}), std::vector{ScoreBelowThreshold});
}

TEST(Handoff, CheckCodesAreTheApiNames) {
  EXPECT_EQ(code(StageNotQualified), "stage_not_qualified");
  EXPECT_EQ(code(NotAnalyzed), "not_analyzed");
  EXPECT_EQ(code(ScoreBelowThreshold), "score_below_threshold");
  EXPECT_EQ(code(BusinessDomainMissing), "business_domain_missing");
}

TEST(BusinessDomain, BlankOrWhitespaceCountsAsMissing) {
  Lead lead;
  EXPECT_FALSE(has_business_domain(lead));
  for (const char* blank : {"", " ", "\t\t", "\n", " \r\n ", "\f\v"}) {
    lead.business_domain = blank;
    EXPECT_FALSE(has_business_domain(lead)) << "'" << blank << "'";
  }
  for (const char* set : {"example.com", " example.com ", "x", "\tx\n"}) {
    lead.business_domain = set;
    EXPECT_TRUE(has_business_domain(lead)) << "'" << set << "'";
  }
}

}  // namespace
}  // namespace leadscore::domain
