// The JSON of a lead written directly (lead_json_text) is the text json_reply writes for
// to_json(lead), byte for byte, whatever the lead holds.
#include "api/json_mapping.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/exchange.h"

namespace leadscore::testing {
namespace {

domain::Lead plain_lead() {
  domain::Lead lead;
  lead.id = 42;
  lead.source = "scanner";
  lead.stage = domain::LeadStage::Contacted;
  lead.activity_count = 3;
  lead.created_at = "2026-12-03T02:25:43.548011Z";
  lead.updated_at = "2026-12-03T02:25:44.000001Z";
  return lead;
}

void expect_same_text(const domain::Lead& lead) {
  EXPECT_EQ(api::lead_json_text(lead), api::json_reply(200, api::to_json(lead)).body);
}

TEST(LeadJsonText, MatchesToJsonForALeadWithNothingOptional) { expect_same_text(plain_lead()); }

TEST(LeadJsonText, MatchesToJsonForALeadWithEveryField) {
  domain::Lead lead = plain_lead();
  lead.business_domain = "example.com";
  domain::for_each_profile_field(lead.profile, [](const char* name, auto& v) { v = name; });
  lead.ai_score = 0.55;
  lead.ai_recommendation = domain::Recommendation::TransferToSales;
  lead.ai_reason = "source scanner +0.2; activity 3 +0.15";
  lead.ai_scorer = "heuristic";
  lead.ai_scorer_version = "1.0+abc";
  lead.ai_analyzed_at = "2026-12-03T02:25:45.000000Z";
  expect_same_text(lead);
  lead.ai_scorer_version.reset();
  expect_same_text(lead);
}

TEST(LeadJsonText, MatchesToJsonForEveryScore) {
  domain::Lead lead = plain_lead();
  for (double score : {0.0, 1.0, 0.1, 0.5, 1.0 / 3, 2.0 / 3, 1e-7, 0.0001, 0.00001, 123456789.0,
                       1e21, 5e-324, -0.0, 0.30000000000000004}) {
    lead.ai_score = score;
    expect_same_text(lead);
  }
}

TEST(LeadJsonText, MatchesToJsonForTextThatMustBeEscapedOrReplaced) {
  domain::Lead lead = plain_lead();
  const std::vector<std::string> texts{
      "",
      "quote \" and backslash \\ and slash /",
      "tab\tnewline\ncarriage\rbell\x07 nul-free control\x1f and delete\x7f",
      "Grüße, 日本語, emoji \xF0\x9F\x98\x80",
      "invalid UTF-8: \xC3\x28 \xFF \xE2\x82",
      std::string(300, 'x'),
  };
  for (const auto& text : texts) {
    lead.business_domain = text;
    lead.profile.name = text;
    lead.ai_reason = text;
    lead.ai_scorer = text;
    lead.ai_scorer_version = text;
    expect_same_text(lead);
  }
}

}  // namespace
}  // namespace leadscore::testing
