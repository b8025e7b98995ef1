#include "engine/domain/score_result.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace leadscore::domain {
namespace {

// A result that keeps every rule; each test breaks one.
ScoreResult valid_result() {
  ScoreResult r;
  r.score = 0.5;
  r.recommendation = Recommendation::ContinueQualification;
  r.reason = "two rules matched";
  r.contributions = {{"source=partner", 0.3}, {"stage=contacted", 0.2}};
  return r;
}

std::string refusal(const ScoreResult& r) {
  auto ok = check(r);
  return ok ? std::string("accepted") : ok.error();
}

TEST(ScoreResultCheck, AcceptsAResultThatKeepsEveryRule) {
  EXPECT_TRUE(check(valid_result()).has_value());
}

TEST(ScoreResultCheck, RefusesAScoreOutsideZeroToOneOrNotFinite) {
  ScoreResult r = valid_result();
  for (double score : {-0.1, 1.5, double(NAN), double(INFINITY)}) {
    r.score = score;
    EXPECT_FALSE(check(r).has_value()) << score;
  }
  r.score = 1.5;
  EXPECT_EQ(refusal(r), "score 1.5 is not a finite number in [0, 1]");
  r.score = NAN;
  EXPECT_EQ(refusal(r), "score nan is not a finite number in [0, 1]");
}

TEST(ScoreResultCheck, AcceptsTheBoundsOfTheScore) {
  for (double score : {0.0, 1.0}) {
    ScoreResult r = valid_result();
    r.score = score;
    r.contributions = {{"all", score}};
    EXPECT_TRUE(check(r).has_value()) << score;
  }
}

TEST(ScoreResultCheck, RefusesAnUnknownRecommendation) {
  ScoreResult r = valid_result();
  r.recommendation = static_cast<Recommendation>(7);
  EXPECT_EQ(refusal(r),
            "the recommendation is not one of transfer_to_sales, continue_qualification, "
            "drop_lead");
}

TEST(ScoreResultCheck, RefusesAnEmptyOrBlankReason) {
  ScoreResult r = valid_result();
  for (const char* reason : {"", " \t\r\n"}) {
    r.reason = reason;
    EXPECT_EQ(refusal(r), "the reason is empty") << '"' << reason << '"';
  }
}

TEST(ScoreResultCheck, RefusesAResultWithoutContributions) {
  ScoreResult r = valid_result();
  r.contributions.clear();
  EXPECT_EQ(refusal(r),
            "the result has no contributions (a scorer that cannot explain itself returns one)");
}

TEST(ScoreResultCheck, RefusesAContributionWithoutARule) {
  ScoreResult r = valid_result();
  r.contributions[1].rule.clear();
  EXPECT_EQ(refusal(r), "contribution 1 has no rule");
}

TEST(ScoreResultCheck, RefusesInfinitePoints) {
  ScoreResult r = valid_result();
  r.contributions = {{"a", INFINITY}, {"b", -INFINITY}};
  EXPECT_EQ(refusal(r), "contribution 'a' has points inf");
}

TEST(ScoreResultCheck, RefusesContributionsThatDoNotAddUpToTheScore) {
  ScoreResult r = valid_result();
  r.contributions[1].points = 0.1;
  EXPECT_EQ(refusal(r), "the contributions add up to 0.4, not to the score 0.5");
}

TEST(ScoreResultCheck, AcceptsContributionsWithinRounding) {
  ScoreResult r = valid_result();
  r.score = 0.3;
  r.contributions = {{"a", 0.1}, {"b", 0.2}};  // 0.30000000000000004
  EXPECT_TRUE(check(r).has_value());
  r.contributions.push_back({"c", 2e-9});
  EXPECT_FALSE(check(r).has_value());
}

TEST(ScoreResultCheck, AcceptsAnyPrintableUtf8IntentUpTo64Bytes) {
  ScoreResult r = valid_result();
  for (const std::string& good : {std::string("High"), std::string("Élevé"), std::string("高い"),
                                  std::string("🔥 hot"), std::string(64, 'x')}) {
    r.intent = good;
    EXPECT_TRUE(check(r).has_value()) << good;
  }
}

TEST(ScoreResultCheck, RefusesABlankIntent) {
  ScoreResult r = valid_result();
  for (const char* blank : {"", "  \t"}) {
    r.intent = blank;
    EXPECT_EQ(refusal(r), "the intent is empty (a scorer without one leaves it NULL)");
  }
}

TEST(ScoreResultCheck, RefusesAnIntentLongerThan64Bytes) {
  ScoreResult r = valid_result();
  r.intent = std::string(65, 'x');
  EXPECT_EQ(refusal(r), "the intent is longer than 64 bytes");
}

TEST(ScoreResultCheck, RefusesAnIntentWithControlsOrBrokenSequences) {
  ScoreResult r = valid_result();
  // A tab, a C1 control, a lone continuation byte, an overlong '/', a surrogate, a cut sequence.
  for (const char* bad :
       {"Hi\tgh", "Hi\xc2\x85gh", "\x80", "\xc0\xaf", "\xed\xa0\x80", "\xe9\xab"}) {
    r.intent = bad;
    EXPECT_EQ(refusal(r), "the intent is not printable UTF-8 text") << bad;
  }
}

TEST(ScoreResultCheck, ReportsTheFirstRuleBroken) {
  ScoreResult r = valid_result();
  r.score = 2;
  r.reason.clear();
  r.contributions.clear();
  EXPECT_EQ(refusal(r), "score 2 is not a finite number in [0, 1]");
}

}  // namespace
}  // namespace leadscore::domain
