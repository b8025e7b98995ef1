#include "engine/scoring/composite_scorer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/domain/score_result.h"

namespace leadscore::scoring {
namespace {

using domain::Contribution;
using domain::Recommendation;

// A part's scorer: answers a fixed result, fails, or answers slowly.
class PartScorer final : public Scorer {
 public:
  enum class Mode { Answer, Fail, Slow, Malformed };
  PartScorer(std::string name, std::vector<Contribution> contributions, Mode mode = Mode::Answer,
             std::optional<std::string> intent = std::nullopt, std::string version = "1")
      : name_(std::move(name)),
        version_(std::move(version)),
        contributions_(std::move(contributions)),
        mode_(mode),
        intent_(std::move(intent)) {}
  // A part that answers `score` with one contribution "all".
  static std::unique_ptr<PartScorer> answering(std::string name, double score,
                                               std::optional<std::string> intent = std::nullopt) {
    return std::make_unique<PartScorer>(std::move(name), std::vector<Contribution>{{"all", score}},
                                        Mode::Answer, std::move(intent));
  }

  const std::string& name() const override { return name_; }
  const std::string& version() const override { return version_; }
  // An audit of every run, as an LLM part gives one: {"by": name, "tokens_in": 7}.
  ScorerAnswer run(const Features& features) const override {
    return {score(features), R"({"by":")" + name_ + R"(","tokens_in":7})"};
  }
  std::expected<ScoreResult, std::string> score(const Features&) const override {
    if (mode_ == Mode::Fail) return std::unexpected(name_ + " is down");
    if (mode_ == Mode::Slow) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ScoreResult r;
    for (const auto& c : contributions_) r.score += c.points;
    if (mode_ == Mode::Malformed) r.score /= 2;
    r.contributions = contributions_;
    r.reason = name_ + " says so";
    r.intent = intent_;
    return r;
  }

 private:
  std::string name_;
  std::string version_;
  std::vector<Contribution> contributions_;
  Mode mode_;
  std::optional<std::string> intent_;
};

const std::vector<IntentBand> kHybridBands{{"High", 70}, {"Medium", 40}, {"Low", 0}};

CompositeRules hybrid_rules() { return {kHybridBands, 70, 30}; }

CompositePart part(const Scorer& scorer, double points, std::vector<const Scorer*> fallbacks = {},
                   int budget_ms = 0) {
  CompositePart p{scorer.name(), points, {{&scorer, budget_ms}}};
  for (const Scorer* f : fallbacks) p.runners.push_back({f, 0});
  return p;
}

Features lead_with_domain() {
  Features f;
  f.business_domain = "techcorp.com";
  return f;
}

double sum_of(const std::vector<Contribution>& contributions) {
  double sum = 0;
  for (const auto& c : contributions) sum += c.points;
  return sum;
}

TEST(CompositeScorer, ScalesEachPartToItsPointsAndTheTotalToOne) {
  const PartScorer rules("icp_fit", {{"decision maker role", 0.4}, {"exact ICP industry", 0.4}});
  const auto llm = PartScorer::answering("llm", 0.6, "Medium");  // 30 intent points of 50
  const CompositeScorer hybrid("hybrid", {part(rules, 50), part(*llm, 50)}, hybrid_rules());
  EXPECT_EQ(hybrid.max_points(), 100);

  const auto result = hybrid.score(lead_with_domain());
  ASSERT_TRUE(result.has_value()) << result.error();
  EXPECT_NEAR(result->score, 0.7, 1e-12);  // (40 + 30) / 100
  EXPECT_EQ(result->intent, "High");
  EXPECT_EQ(result->recommendation, Recommendation::TransferToSales);
  EXPECT_EQ(result->reason,
            "70 of 100 points (High): icp_fit 40 of 50 (icp_fit says so); llm 30 of 50 (intent "
            "Medium: llm says so)");
  EXPECT_TRUE(domain::check(*result).has_value());
}

TEST(CompositeScorer, ContributionsAreThePartsScaledAndLabelledAndAddUpToTheScore) {
  const PartScorer rules("icp_fit", {{"decision maker role", 0.4}, {"complete profile", 0.2}});
  const auto llm = PartScorer::answering("llm", 1.0, "High");
  const CompositeScorer hybrid("hybrid", {part(rules, 50), part(*llm, 50)}, hybrid_rules());
  const auto result = hybrid.score(lead_with_domain());
  ASSERT_TRUE(result.has_value()) << result.error();
  ASSERT_EQ(result->contributions.size(), 3u);
  EXPECT_EQ(result->contributions[0].rule, "icp_fit: decision maker role");
  EXPECT_DOUBLE_EQ(result->contributions[0].points, 0.2);  // 20 of 100 points
  EXPECT_EQ(result->contributions[1].rule, "icp_fit: complete profile");
  EXPECT_DOUBLE_EQ(result->contributions[1].points, 0.1);
  EXPECT_EQ(result->contributions[2].rule, "llm: all");
  EXPECT_DOUBLE_EQ(result->contributions[2].points, 0.5);
  EXPECT_NEAR(sum_of(result->contributions), result->score, 1e-12);
  EXPECT_NEAR(result->score, 0.8, 1e-12);
}

TEST(CompositeScorer, ExactContributionsAreLeftAsTheyAre) {
  const PartScorer a("a", {{"x", 0.25}, {"y", 0.5}});
  const PartScorer b("b", {{"z", 0.5}});
  const CompositeScorer composite("c", {part(a, 50), part(b, 50)}, hybrid_rules());
  const auto result = composite.score(lead_with_domain());
  ASSERT_TRUE(result.has_value()) << result.error();
  // 0.75 x 0.5 + 0.5 x 0.5: no rounding anywhere, so the last one is its part's, scaled.
  EXPECT_EQ(result->contributions.back().points, 0.5 * 0.5);
  EXPECT_EQ(sum_of(result->contributions), result->score);
}

TEST(CompositeScorer, TheLastContributionAbsorbsRoundingOnlyWhenNeeded) {
  // Parts whose contributions are off their score by 0.8e-9, which the result contract allows
  // (1e-9), both in the same direction: scaled and added, the composite's would be off by about
  // as much, past half the tolerance.
  const double off = 0.8e-9;
  const PartScorer a("a", {{"x", 0.3}, {"y", 0.3}});
  const PartScorer b("b", {{"z", 0.4}});
  class Off final : public Scorer {
   public:
    Off(const Scorer& inner, double off) : inner_(inner), off_(off) {}
    const std::string& name() const override { return inner_.name(); }
    const std::string& version() const override { return inner_.version(); }
    std::expected<ScoreResult, std::string> score(const Features& f) const override {
      auto r = inner_.score(f);
      r->score -= off_;
      return r;
    }

   private:
    const Scorer& inner_;
    double off_;
  };
  const Off off_a(a, off), off_b(b, off);
  const CompositeScorer composite("c", {part(off_a, 50), part(off_b, 50)}, hybrid_rules());
  const auto result = composite.score(lead_with_domain());
  ASSERT_TRUE(result.has_value()) << result.error();
  const double unadjusted = 0.4 * 0.5;
  EXPECT_NE(result->contributions.back().points, unadjusted);
  EXPECT_NEAR(result->contributions.back().points, unadjusted - off, 1e-15);
  EXPECT_LE(std::fabs(sum_of(result->contributions) - result->score), 1e-15);
  EXPECT_TRUE(domain::check(*result).has_value());
}

TEST(CompositeScorer, BandsNameTheIntentOfTheTotalPoints) {
  const auto score_at = [](double rule_share, double llm_share) {
    const auto rules = PartScorer::answering("icp_fit", rule_share);
    const auto llm = PartScorer::answering("llm", llm_share);
    const CompositeScorer hybrid("hybrid", {part(*rules, 50), part(*llm, 50)}, hybrid_rules());
    return hybrid.score(lead_with_domain()).value();
  };
  EXPECT_EQ(score_at(1.0, 0.4).intent, "High");     // 50 + 20 = 70: the band's edge
  EXPECT_EQ(score_at(0.8, 0.6).intent, "High");     // 0.8 x 50 + 0.6 x 50, within rounding of 70
  EXPECT_EQ(score_at(0.78, 0.6).intent, "Medium");  // 69
  EXPECT_EQ(score_at(0.6, 0.2).intent, "Medium");   // 40
  EXPECT_EQ(score_at(0.58, 0.2).intent, "Low");     // 39
  EXPECT_EQ(score_at(0, 0).intent, "Low");
  EXPECT_EQ(score_at(0, 0).score, 0);
}

TEST(CompositeScorer, WithoutBandsThereIsNoIntent) {
  const auto a = PartScorer::answering("a", 0.5);
  const CompositeScorer composite("c", {part(*a, 10)}, {{}, 7, 3});
  const auto result = composite.score(lead_with_domain());
  ASSERT_TRUE(result.has_value()) << result.error();
  EXPECT_FALSE(result->intent.has_value());
  EXPECT_EQ(result->reason, "5 of 10 points: a 5 of 10 (a says so)");
}

TEST(CompositeScorer, WeightsGiveTheWeightedMeanOfThePartsScores) {
  const auto a = PartScorer::answering("a", 1.0);
  const auto b = PartScorer::answering("b", 0.2);
  // weights 3 and 1: points 3 x 1.0 + 1 x 0.2 = 3.2 of 4, score 0.8
  const CompositeScorer composite("c", {part(*a, 3), part(*b, 1)},
                                  {{{"hot", 3}, {"cold", 0}}, 2.8, 1.2});
  const auto result = composite.score(lead_with_domain());
  ASSERT_TRUE(result.has_value()) << result.error();
  EXPECT_NEAR(result->score, 0.8, 1e-12);
  EXPECT_EQ(result->intent, "hot");
  EXPECT_EQ(result->recommendation, Recommendation::TransferToSales);
  EXPECT_DOUBLE_EQ(result->contributions[0].points, 0.75);
  EXPECT_DOUBLE_EQ(result->contributions[1].points, 0.05);
  EXPECT_TRUE(domain::check(*result).has_value());
}

TEST(CompositeScorer, RecommendsByPointsAndTransfersOnlyWithABusinessDomain) {
  const auto recommend = [](double share, bool domain) {
    const auto a = PartScorer::answering("a", share);
    const CompositeScorer composite("c", {part(*a, 100)}, hybrid_rules());
    return composite.score(domain ? lead_with_domain() : Features{}).value();
  };
  EXPECT_EQ(recommend(0.7, true).recommendation, Recommendation::TransferToSales);
  EXPECT_EQ(recommend(0.69, true).recommendation, Recommendation::ContinueQualification);
  EXPECT_EQ(recommend(0.31, true).recommendation, Recommendation::ContinueQualification);
  EXPECT_EQ(recommend(0.3, true).recommendation, Recommendation::DropLead);
  const auto no_domain = recommend(0.9, false);
  EXPECT_EQ(no_domain.recommendation, Recommendation::ContinueQualification);
  EXPECT_NE(no_domain.reason.find("not transferred: no business domain"), std::string::npos)
      << no_domain.reason;
  Features blank = lead_with_domain();
  blank.business_domain = "  ";
  const auto a = PartScorer::answering("a", 0.9);
  const CompositeScorer composite("c", {part(*a, 100)}, hybrid_rules());
  EXPECT_EQ(composite.score(blank)->recommendation, Recommendation::ContinueQualification);
}

TEST(CompositeScorer, AFailedPartWithoutAFallbackFailsTheComposite) {
  const auto rules = PartScorer::answering("icp_fit", 0.8);
  const PartScorer llm("llm", {{"all", 1}}, PartScorer::Mode::Fail);
  const CompositeScorer hybrid("hybrid", {part(*rules, 50), part(llm, 50)}, hybrid_rules());
  const auto result = hybrid.score(lead_with_domain());
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error(), "part llm has no answer: llm failed: llm is down");
}

TEST(CompositeScorer, AFailedPartIsAnsweredByItsOwnFallback) {
  const auto rules = PartScorer::answering("icp_fit", 0.8);
  const PartScorer llm("llm", {{"all", 1}}, PartScorer::Mode::Fail);
  const PartScorer broken("broken", {{"all", 0.5}}, PartScorer::Mode::Malformed);
  const auto safe = PartScorer::answering("safe", 0.2);
  const CompositeScorer hybrid("hybrid", {part(*rules, 50), part(llm, 50, {&broken, safe.get()})},
                               hybrid_rules());
  const auto result = hybrid.score(lead_with_domain());
  ASSERT_TRUE(result.has_value()) << result.error();
  EXPECT_NEAR(result->score, 0.5, 1e-12);  // 40 + 0.2 x 50
  EXPECT_EQ(result->contributions.back().rule, "llm (fallback safe): all");
  EXPECT_NE(result->reason.find("llm 10 of 50 (llm failed: llm is down; broken failed: "
                                "malformed result: the contributions add up to 0.5, not to the "
                                "score 0.25; safe answered for it: safe says so)"),
            std::string::npos)
      << result->reason;
  EXPECT_TRUE(domain::check(*result).has_value());
}

TEST(CompositeScorer, APartWhoseFallbacksAllFailFailsTheComposite) {
  const PartScorer llm("llm", {{"all", 1}}, PartScorer::Mode::Fail);
  const PartScorer other("other", {{"all", 1}}, PartScorer::Mode::Fail);
  const CompositeScorer composite("c", {part(llm, 50, {&other})}, hybrid_rules());
  const auto result = composite.score(lead_with_domain());
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error(),
            "part llm has no answer: llm failed: llm is down; other failed: "
            "other is down");
}

TEST(CompositeScorer, APartOverItsScorersBudgetFails) {
  const PartScorer slow("slow", {{"all", 1}}, PartScorer::Mode::Slow);
  const auto safe = PartScorer::answering("safe", 0.5);
  const CompositeScorer composite("c", {part(slow, 10, {safe.get()}, /*budget_ms=*/5)},
                                  hybrid_rules());
  const auto result = composite.score(lead_with_domain());
  ASSERT_TRUE(result.has_value()) << result.error();
  EXPECT_EQ(result->score, 0.5);
  EXPECT_NE(result->reason.find("over its budget of 5 ms"), std::string::npos) << result->reason;
  // Without a budget the same part answers.
  const CompositeScorer patient("c", {part(slow, 10)}, hybrid_rules());
  EXPECT_EQ(patient.score(lead_with_domain())->score, 1.0);
}

TEST(CompositeScorer, TheVersionCombinesThePartsVersionsAndTheDefinition) {
  const PartScorer rules("icp_fit", {{"all", 1}}, PartScorer::Mode::Answer, std::nullopt, "1.0+aa");
  const PartScorer llm("llm", {{"all", 1}}, PartScorer::Mode::Answer, std::nullopt, "0.1+p1");
  const PartScorer llm2("llm", {{"all", 1}}, PartScorer::Mode::Answer, std::nullopt, "0.1+p2");
  const CompositeScorer one("hybrid", {part(rules, 50), part(llm, 50)}, hybrid_rules());
  const CompositeScorer same("hybrid", {part(rules, 50), part(llm, 50)}, hybrid_rules());
  const CompositeScorer new_prompt("hybrid", {part(rules, 50), part(llm2, 50)}, hybrid_rules());
  const CompositeScorer new_scale("hybrid", {part(rules, 60), part(llm, 40)}, hybrid_rules());
  CompositeRules other_bands = hybrid_rules();
  other_bands.bands[0].min_points = 75;
  const CompositeScorer new_bands("hybrid", {part(rules, 50), part(llm, 50)}, other_bands);

  EXPECT_EQ(one.version(), same.version());
  EXPECT_EQ(one.version().rfind("1.0+", 0), 0u) << one.version();
  EXPECT_NE(one.version().find("(icp_fit=1.0+aa,llm=0.1+p1)"), std::string::npos) << one.version();
  EXPECT_NE(new_prompt.version(), one.version());
  EXPECT_NE(new_prompt.version().find("llm=0.1+p2"), std::string::npos);
  EXPECT_NE(new_scale.version(), one.version());
  EXPECT_NE(new_bands.version(), one.version());
}

TEST(CompositeScorer, RefusesNoPartsAndPartsWorthNothing) {
  const auto a = PartScorer::answering("a", 0.5);
  EXPECT_THROW(CompositeScorer("c", {}, hybrid_rules()), std::invalid_argument);
  EXPECT_THROW(CompositeScorer("c", {part(*a, 0)}, hybrid_rules()), std::invalid_argument);
  EXPECT_THROW(CompositeScorer("c", {CompositePart{"a", 10, {}}}, hybrid_rules()),
               std::invalid_argument);
}

TEST(CompositeScorer, KeepsTheAuditOfEveryPartRunAnsweredOrFailed) {
  PartScorer rules("rules", {{"all", 0.8}});
  PartScorer llm("llm", {}, PartScorer::Mode::Fail);
  PartScorer backup("backup", {{"all", 0.5}});
  const CompositeScorer hybrid("hybrid", {part(rules, 50), part(llm, 50, {&backup})},
                               hybrid_rules());
  const ScorerAnswer answer = hybrid.run(lead_with_domain());
  ASSERT_TRUE(answer.result) << answer.result.error();
  EXPECT_DOUBLE_EQ(answer.result->score, (0.8 * 50 + 0.5 * 50) / 100);
  ASSERT_TRUE(answer.audit);
  EXPECT_EQ(*answer.audit,
            R"({"parts":{"backup":{"by":"backup","tokens_in":7},"llm":{"by":"llm","tokens_in":7},)"
            R"("rules":{"by":"rules","tokens_in":7}}})");
  // score() gives the same result without the audit.
  EXPECT_DOUBLE_EQ(hybrid.score(lead_with_domain())->score, answer.result->score);
}

}  // namespace
}  // namespace leadscore::scoring
