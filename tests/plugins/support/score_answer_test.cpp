// A plugin's result answered through the ABI's ls_result from a thread's buffer.
#include "plugins/support/score_answer.h"

#include <gtest/gtest.h>

#include <cstddef>

namespace leadscore::plugin {
namespace {

TEST(ScoreAnswer, FillsTheCResultFromTheBuffer) {
  ResultBuffer buffer;
  buffer.result = {0.75, Recommendation::TransferToSales, "why", {{"a", 0.5}, {"b", 0.25}}, "High"};
  ls_result out{};
  out.struct_size = sizeof out;
  buffer.answer(out);
  EXPECT_EQ(out.score, 0.75);
  EXPECT_STREQ(out.recommendation, "transfer_to_sales");
  EXPECT_STREQ(out.reason, "why");
  ASSERT_EQ(out.contribution_count, 2u);
  EXPECT_STREQ(out.contributions[1].rule, "b");
  EXPECT_EQ(out.contributions[1].points, 0.25);
  EXPECT_STREQ(out.intent, "High");
}

TEST(ScoreAnswer, AnEngineWithoutIntentGetsNone) {
  ResultBuffer buffer;
  buffer.result = {0.1, Recommendation::DropLead, "r", {{"a", 0.1}}, "Low"};
  ls_result out{};
  out.struct_size = offsetof(ls_result, intent);  // built before `intent` existed
  out.intent = "untouched";
  buffer.answer(out);
  EXPECT_STREQ(out.recommendation, "drop_lead");
  EXPECT_STREQ(out.intent, "untouched");
}

TEST(ScoreAnswer, RecommendationsByName) {
  for (auto r : {Recommendation::TransferToSales, Recommendation::ContinueQualification,
                 Recommendation::DropLead})
    EXPECT_EQ(parse_recommendation(to_string(r)), r);
  EXPECT_FALSE(parse_recommendation("hold"));
}

}  // namespace
}  // namespace leadscore::plugin
