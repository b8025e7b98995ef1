#include "plugins/heuristic/heuristic_scorer.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "engine/config/yaml_reader.h"
#include "engine/domain/lead.h"
#include "engine/scoring/params_json.h"

namespace leadscore::heuristic {
namespace {

using LeadStage = plugin::Stage;

Features lead(std::string source, LeadStage stage, std::int64_t activity,
              std::optional<std::string> domain) {
  Features f;
  f.source = std::move(source);
  f.stage = stage;
  f.activity_count = activity;
  f.business_domain = std::move(domain);
  return f;
}

const std::optional<std::string> kDomain = "example.com";
const std::optional<std::string> kNoDomain = std::nullopt;

ScoreResult score_of(const Features& features, const HeuristicScorer& scorer) {
  auto result = scorer.score(features);
  EXPECT_TRUE(result.has_value()) << result.error();
  return result.value_or(ScoreResult{});
}

ScoreResult score_of(const Features& features) {
  static const HeuristicScorer scorer("heuristic");
  return score_of(features, scorer);
}

double sum(const std::vector<plugin::Contribution>& contributions) {
  double total = 0;
  for (const auto& c : contributions) total += c.points;
  return total;
}

std::vector<std::string> labels(const ScoreResult& result) {
  std::vector<std::string> out;
  for (const auto& c : result.contributions) out.push_back(c.rule);
  return out;
}

// The heuristic as the spec words it, written plainly: the oracle for the sweep.
struct Expected {
  double score;
  Recommendation recommendation;
};
Expected reference(const std::string& source, LeadStage stage, std::int64_t activity,
                   const std::optional<std::string>& domain) {
  double s = source == "scanner" ? 0.5 : source == "partner" ? 0.7 : source == "manual" ? 0.4 : 0.3;
  s += activity == 0 ? -0.2 : activity < 3 ? 0.05 : activity < 7 ? 0.15 : 0.25;
  switch (stage) {
    case LeadStage::New:
      s += 0.0;
      break;
    case LeadStage::Contacted:
      s += 0.05;
      break;
    case LeadStage::Qualified:
      s += 0.15;
      break;
    case LeadStage::Transferred:
      s += 0.2;
      break;
    case LeadStage::Lost:
      s += -0.4;
      break;
  }
  const bool has_domain = domain && domain->find_first_not_of(" \t\n\r\f\v") != std::string::npos;
  if (has_domain)
    s += 0.1;
  else
    s = std::min(s, 0.55);
  s = std::clamp(s, 0.0, 1.0);
  if (s >= 0.7 && has_domain) return {s, Recommendation::TransferToSales};
  if (s <= 0.3) return {s, Recommendation::DropLead};
  return {s, Recommendation::ContinueQualification};
}

// --- The examples the heuristic must reproduce exactly ---

TEST(HeuristicScorer, NewPartnerLeadWithDomainScoresExactlyPointSix) {
  auto r = score_of(lead("partner", LeadStage::New, 0, kDomain));
  EXPECT_EQ(r.score, 0.7 + -0.2 + 0.0 + 0.1);
  EXPECT_EQ(r.score, 0.6);
  EXPECT_EQ(r.recommendation, Recommendation::ContinueQualification);
}

TEST(HeuristicScorer, QualifiedActivePartnerWithDomainIsTransferred) {
  auto r = score_of(lead("partner", LeadStage::Qualified, 8, kDomain));
  EXPECT_GE(r.score, 0.7);
  EXPECT_EQ(r.score, std::clamp(0.7 + 0.25 + 0.15 + 0.1, 0.0, 1.0));
  EXPECT_EQ(r.score, 1.0);
  EXPECT_EQ(r.recommendation, Recommendation::TransferToSales);
}

TEST(HeuristicScorer, ScoreIsClampedToOne) {
  auto r = score_of(lead("partner", LeadStage::Transferred, 100, kDomain));
  EXPECT_EQ(r.score, std::clamp(0.7 + 0.25 + 0.2 + 0.1, 0.0, 1.0));
  EXPECT_EQ(r.score, 1.0);
  EXPECT_EQ(r.recommendation, Recommendation::TransferToSales);
}

TEST(HeuristicScorer, WithoutDomainScoreIsCappedAndNeverTransferred) {
  auto r = score_of(lead("partner", LeadStage::Qualified, 100, kNoDomain));
  EXPECT_EQ(r.score, std::min(0.7 + 0.25 + 0.15, 0.55));
  EXPECT_EQ(r.score, 0.55);
  EXPECT_EQ(r.recommendation, Recommendation::ContinueQualification);
}

TEST(HeuristicScorer, LostManualLeadIsDropped) {
  auto r = score_of(lead("manual", LeadStage::Lost, 0, kNoDomain));
  EXPECT_EQ(r.score, std::clamp(std::min(0.4 + -0.2 + -0.4, 0.55), 0.0, 1.0));
  EXPECT_EQ(r.score, 0.0);
  EXPECT_EQ(r.recommendation, Recommendation::DropLead);
}

TEST(HeuristicScorer, ScoreExactlyAtDropThresholdIsDropped) {
  auto r = score_of(lead("scanner", LeadStage::New, 0, kNoDomain));
  EXPECT_EQ(r.score, std::min(0.5 + -0.2 + 0.0, 0.55));
  EXPECT_EQ(r.score, 0.3);
  EXPECT_EQ(r.recommendation, Recommendation::DropLead);
}

TEST(HeuristicScorer, ScoreJustAboveDropThresholdContinues) {
  auto r = score_of(lead("manual", LeadStage::New, 0, kDomain));
  EXPECT_EQ(r.score, 0.4 + -0.2 + 0.0 + 0.1);
  EXPECT_EQ(r.score, 0.30000000000000004);
  EXPECT_EQ(r.recommendation, Recommendation::ContinueQualification);
}

TEST(HeuristicScorer, BlankDomainCountsAsMissing) {
  for (const char* blank : {"", "  ", "\t\n"}) {
    auto r = score_of(lead("partner", LeadStage::Qualified, 100, std::string(blank)));
    EXPECT_EQ(r.score, 0.55) << "'" << blank << "'";
    EXPECT_EQ(r.recommendation, Recommendation::ContinueQualification);
  }
}

TEST(HeuristicScorer, UnknownSourceStartsAtPointThree) {
  auto r = score_of(lead("webinar", LeadStage::Contacted, 3, kDomain));
  EXPECT_EQ(r.score, 0.3 + 0.15 + 0.05 + 0.1);
}

TEST(HeuristicScorer, ActivityStepBoundaries) {
  // 0 → -0.2; 1..2 → +0.05; 3..6 → +0.15; 7.. → +0.25 (scanner, contacted, domain).
  const double base = 0.5;
  const std::pair<std::int64_t, double> cases[] = {{0, -0.2}, {1, 0.05}, {2, 0.05},   {3, 0.15},
                                                   {6, 0.15}, {7, 0.25}, {1000, 0.25}};
  for (auto [activity, points] : cases)
    EXPECT_EQ(score_of(lead("scanner", LeadStage::Contacted, activity, kDomain)).score,
              base + points + 0.05 + 0.1)
        << activity;
}

// --- Explanations ---

TEST(HeuristicScorer, ContributionsNameTheValuesSeen) {
  auto r = score_of(lead("partner", LeadStage::Qualified, 8, kDomain));
  EXPECT_EQ(labels(r),
            (std::vector<std::string>{"source=partner", "activity_count=8 (>= 7)",
                                      "stage=qualified", "business_domain set", "clamped to 1"}));
  ASSERT_EQ(r.contributions.size(), 5u);
  EXPECT_EQ(r.contributions[0].points, 0.7);
  EXPECT_EQ(r.contributions[1].points, 0.25);
  EXPECT_EQ(r.contributions[2].points, 0.15);
  EXPECT_EQ(r.contributions[3].points, 0.1);
  EXPECT_EQ(r.contributions[4].points, 1.0 - (0.7 + 0.25 + 0.15 + 0.1));
}

TEST(HeuristicScorer, ContributionsShowTheCapWithoutDomain) {
  auto r = score_of(lead("partner", LeadStage::Qualified, 100, kNoDomain));
  EXPECT_EQ(labels(r), (std::vector<std::string>{"source=partner", "activity_count=100 (>= 7)",
                                                 "stage=qualified", "business_domain missing",
                                                 "no business domain: capped at 0.55"}));
  EXPECT_EQ(r.contributions[3].points, 0.0);
  EXPECT_EQ(r.contributions[4].points, 0.55 - (0.7 + 0.25 + 0.15));
}

TEST(HeuristicScorer, NoCapOrClampContributionWhenTheyChangeNothing) {
  auto r = score_of(lead("scanner", LeadStage::New, 0, kNoDomain));
  EXPECT_EQ(labels(r), (std::vector<std::string>{"source=scanner", "activity_count=0 (< 1)",
                                                 "stage=new", "business_domain missing"}));
  r = score_of(lead("webinar", LeadStage::Contacted, 2, kDomain));
  EXPECT_EQ(labels(r), (std::vector<std::string>{"source=webinar (other)", "activity_count=2 (< 3)",
                                                 "stage=contacted", "business_domain set"}));
}

TEST(HeuristicScorer, ClampAtZeroIsItsOwnContribution) {
  auto r = score_of(lead("manual", LeadStage::Lost, 0, kNoDomain));
  ASSERT_EQ(r.contributions.size(), 5u);
  EXPECT_EQ(r.contributions[4].rule, "clamped to 0");
  EXPECT_EQ(r.contributions[4].points, 0.0 - (0.4 + -0.2 + -0.4));
}

TEST(HeuristicScorer, ReasonNamesTheFactorsAndTheDecision) {
  EXPECT_EQ(score_of(lead("partner", LeadStage::Qualified, 8, kDomain)).reason,
            "partner source (+0.70); 8 activities (+0.25); qualified stage (+0.15); "
            "business domain set (+0.10); clamped to 1.00 (-0.20) → 1.00 ≥ 0.70 with a "
            "business domain: transfer to sales");
  EXPECT_EQ(score_of(lead("scanner", LeadStage::New, 0, kNoDomain)).reason,
            "scanner source (+0.50); no activity (-0.20); new stage (+0.00); no business domain "
            "→ 0.30 ≤ 0.30: drop lead");
  EXPECT_EQ(score_of(lead("partner", LeadStage::Contacted, 1, kNoDomain)).reason,
            "partner source (+0.70); 1 activity (+0.05); contacted stage (+0.05); no business "
            "domain; capped at 0.55 without a business domain (-0.25) → 0.55, between 0.30 and "
            "0.70: continue qualification");
}

TEST(HeuristicScorer, ReasonNeverRoundsAScoreAcrossAThreshold) {
  // 0.30000000000000004 is above the drop threshold: the reason must not print it as 0.30.
  auto r = score_of(lead("manual", LeadStage::New, 0, kDomain));
  EXPECT_NE(r.reason.find("→ 0.30000000000000004, between 0.30 and 0.70"), std::string::npos)
      << r.reason;
}

TEST(HeuristicScorer, ReasonSaysWhenOnlyTheDomainStopsATransfer) {
  HeuristicParams params;
  params.no_business_domain_cap = 0.9;
  const HeuristicScorer scorer("h", params);
  auto r = score_of(lead("partner", LeadStage::Qualified, 8, kNoDomain), scorer);
  EXPECT_EQ(r.recommendation, Recommendation::ContinueQualification);
  EXPECT_NE(r.reason.find("≥ 0.70 but no business domain: continue qualification"),
            std::string::npos)
      << r.reason;
}

// Every source (and an unknown one) × every stage × activity 0..12 × domain, none, blank:
// contributions reconcile with the score, evaluate() agrees with score(), and both agree
// exactly with the plainly written reference.
TEST(HeuristicScorer, ContributionsReconcileWithScoreForEveryKindOfLead) {
  const HeuristicScorer scorer("heuristic");
  const std::optional<std::string> domains[] = {kDomain, kNoDomain, std::string("   ")};
  int checked = 0;
  for (const char* source : {"scanner", "partner", "manual", "webinar", ""})
    for (LeadStage stage : plugin::kAllStages)
      for (std::int64_t activity = 0; activity <= 12; ++activity)
        for (const auto& domain : domains) {
          const Features f = lead(source, stage, activity, domain);
          const auto r = score_of(f, scorer);
          const auto e = scorer.evaluate(f);
          const Expected expected = reference(source, stage, activity, domain);
          const std::string what = std::string(source) + "/" +
                                   std::string(plugin::to_string(stage)) + "/" +
                                   std::to_string(activity) + "/" + domain.value_or("<none>");
          EXPECT_EQ(r.score, expected.score) << what;
          EXPECT_EQ(r.recommendation, expected.recommendation) << what;
          EXPECT_EQ(e.score, r.score) << what;
          EXPECT_EQ(e.recommendation, r.recommendation) << what;
          EXPECT_GE(r.score, 0.0) << what;
          EXPECT_LE(r.score, 1.0) << what;
          EXPECT_NEAR(sum(r.contributions), r.score, 1e-9) << what;
          ASSERT_EQ(r.contributions.size(), e.count) << what;
          for (std::size_t i = 0; i < e.count; ++i)
            EXPECT_EQ(r.contributions[i].points, e.terms[i].points) << what;
          EXPECT_GE(r.contributions.size(), 4u) << what;
          EXPECT_LE(r.contributions.size(), 6u) << what;
          EXPECT_FALSE(r.reason.empty()) << what;
          ++checked;
        }
  EXPECT_EQ(checked, 5 * 5 * 13 * 3);
}

TEST(HeuristicScorer, BusinessDomainRuleMatchesTheDomainRule) {
  for (const char* text : {"", " ", "\t\r\n\f\v", "a", " a ", "example.com", "\xc2\xa0"}) {
    domain::Lead l;
    l.business_domain = text;
    Features f;
    f.business_domain = text;
    EXPECT_EQ(has_business_domain(f), domain::has_business_domain(l)) << "'" << text << "'";
  }
  EXPECT_FALSE(has_business_domain(Features{}));
}

// --- Params ---

// The params as a config file gives them: the YAML below a scorer's `params` key, turned into
// JSON by the engine (scoring::params_to_json), read by the heuristic, and each problem
// reported at the line and column of the YAML it came from, as the engine does.
class HeuristicParamsTest : public ::testing::Test {
 protected:
  HeuristicParams read(const std::string& yaml) {
    node_ = YAML::Load(yaml);
    const scoring::ParamsJson json = scoring::params_to_json(node_, {1, 1});
    auto params = read_heuristic_params(json.text);
    if (params) return *params;
    for (const auto& m : scoring::split_plugin_messages(params.error()))
      errors_.add(m.line > 0 ? json.position_of_line(m.line) : config::Position{1, 1},
                  "scoring.scorers.h: " + m.text);
    return HeuristicParams{};
  }
  std::string messages() const { return config::to_text(errors_.list()); }

  YAML::Node node_;
  config::YamlErrors errors_{"leadscore.yaml"};
};

TEST_F(HeuristicParamsTest, EmptyParamsAreTheDefaults) {
  auto params = read("{}");
  EXPECT_TRUE(errors_.empty()) << messages();
  EXPECT_EQ(HeuristicScorer("h", params).version(), HeuristicScorer("h").version());
  auto null_params = read("~");
  EXPECT_TRUE(errors_.empty()) << messages();
  EXPECT_EQ(HeuristicScorer("h", null_params).version(), HeuristicScorer("h").version());
}

TEST_F(HeuristicParamsTest, DefaultsAreTheSpecifiedNumbers) {
  const HeuristicParams p;
  ASSERT_EQ(p.source_points.size(), 3u);
  EXPECT_EQ(p.source_points[0].source, "scanner");
  EXPECT_EQ(p.source_points[0].points, 0.5);
  EXPECT_EQ(p.source_points[1].source, "partner");
  EXPECT_EQ(p.source_points[1].points, 0.7);
  EXPECT_EQ(p.source_points[2].source, "manual");
  EXPECT_EQ(p.source_points[2].points, 0.4);
  EXPECT_EQ(p.other_source_points, 0.3);
  ASSERT_EQ(p.activity_steps.size(), 3u);
  EXPECT_EQ(p.activity_steps[0].below, 1);
  EXPECT_EQ(p.activity_steps[0].points, -0.2);
  EXPECT_EQ(p.activity_steps[1].below, 3);
  EXPECT_EQ(p.activity_steps[1].points, 0.05);
  EXPECT_EQ(p.activity_steps[2].below, 7);
  EXPECT_EQ(p.activity_steps[2].points, 0.15);
  EXPECT_EQ(p.activity_final_points, 0.25);
  EXPECT_EQ(p.stage_points, (std::array<double, 5>{0.0, 0.05, 0.15, 0.2, -0.4}));
  EXPECT_EQ(p.business_domain_points, 0.1);
  EXPECT_EQ(p.no_business_domain_cap, 0.55);
  EXPECT_EQ(p.transfer_min_score, 0.7);
  EXPECT_EQ(p.drop_max_score, 0.3);
}

TEST_F(HeuristicParamsTest, EveryWeightIsConfigurable) {
  auto params = read(R"(
source_points: {partner: 0.6, webinar: 0.2}
other_source_points: 0.1
activity_points:
  - {below: 2, points: 0.0}
  - {points: 0.3}
stage_points: {qualified: 0.2}
business_domain_points: 0.05
no_business_domain_cap: 0.5
transfer_min_score: 0.8
drop_max_score: 0.2
)");
  ASSERT_TRUE(errors_.empty()) << messages();
  const HeuristicScorer scorer("custom", params);
  EXPECT_EQ(score_of(lead("partner", LeadStage::Qualified, 5, kDomain), scorer).score,
            std::clamp(0.6 + 0.3 + 0.2 + 0.05, 0.0, 1.0));
  EXPECT_EQ(score_of(lead("webinar", LeadStage::New, 1, kDomain), scorer).score,
            0.2 + 0.0 + 0.0 + 0.05);
  EXPECT_EQ(score_of(lead("manual", LeadStage::Contacted, 1, kDomain), scorer).score,
            0.4 + 0.0 + 0.05 + 0.05);  // manual and contacted keep their defaults
  EXPECT_EQ(score_of(lead("fair", LeadStage::New, 0, kNoDomain), scorer).score, 0.1 + 0.0);
  auto capped = score_of(lead("partner", LeadStage::Qualified, 9, kNoDomain), scorer);
  EXPECT_EQ(capped.score, 0.5);
  EXPECT_EQ(capped.contributions.back().rule, "no business domain: capped at 0.50");
  auto r = score_of(lead("partner", LeadStage::New, 0, kDomain), scorer);
  EXPECT_EQ(r.score, 0.6 + 0.0 + 0.0 + 0.05);
  EXPECT_EQ(r.recommendation, Recommendation::ContinueQualification);
  EXPECT_EQ(score_of(lead("fair", LeadStage::New, 0, kDomain), scorer).recommendation,
            Recommendation::DropLead);  // 0.1 + 0.05 <= 0.2
}

TEST_F(HeuristicParamsTest, VersionChangesWithTheWeightsOnly) {
  const std::string base = HeuristicScorer("h").version();
  EXPECT_TRUE(base.starts_with("1.0+")) << base;
  EXPECT_EQ(base.size(), 12u) << base;
  auto changed = read("business_domain_points: 0.11\n");
  EXPECT_NE(HeuristicScorer("h", changed).version(), base);
  auto explicit_defaults =
      read("source_points: {manual: 0.4, scanner: 0.5}\ndrop_max_score: 0.3\n");
  EXPECT_EQ(HeuristicScorer("h", explicit_defaults).version(), base);
  EXPECT_EQ(HeuristicScorer("other name").version(), base);
  EXPECT_TRUE(errors_.empty()) << messages();
}

TEST_F(HeuristicParamsTest, UnknownKeyNamesItsPathAndLine) {
  read("business_domain_points: 0.1\nbonus: 2\nstage_points:\n  qualifed: 0.2\n");
  errors_.sort_by_position();
  ASSERT_EQ(errors_.size(), 2u) << messages();
  EXPECT_EQ(errors_.list()[0].message, "scoring.scorers.h: unknown key 'bonus' in params");
  EXPECT_EQ(errors_.list()[0].line, 2);
  EXPECT_EQ(errors_.list()[1].message,
            "scoring.scorers.h: unknown key 'qualifed' in params.stage_points (did you mean "
            "'qualified'?)");
  EXPECT_EQ(errors_.list()[1].line, 4);
  EXPECT_EQ(errors_.list()[1].file, "leadscore.yaml");
}

TEST_F(HeuristicParamsTest, WrongTypesAndRangesAreAllReported) {
  read(R"(source_points: {partner: high}
other_source_points: 2
no_business_domain_cap: -0.1
transfer_min_score: "0.7"
stage_points: [1, 2]
)");
  const std::string text = messages();
  EXPECT_EQ(errors_.size(), 5u) << text;
  EXPECT_NE(text.find(":1:26: scoring.scorers.h: params.source_points.partner must be a number"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(":2:22: scoring.scorers.h: params.other_source_points must be between -1 "
                      "and 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(":3:25: scoring.scorers.h: params.no_business_domain_cap must be between 0"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(":4:21: scoring.scorers.h: params.transfer_min_score must be a number"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(":5:15: scoring.scorers.h: params.stage_points must be a mapping"),
            std::string::npos)
      << text;
}

TEST_F(HeuristicParamsTest, ActivityStepsMustBeOrderedAndEndWithoutBelow) {
  read(R"(activity_points:
  - {below: 3, points: 0.1}
  - {below: 2, points: 0.2}
  - {points: 0.3, below: 9}
)");
  const std::string text = messages();
  EXPECT_NE(text.find(":3:13: scoring.scorers.h: params.activity_points[1].below must be greater "
                      "than 3"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(":4:26: scoring.scorers.h: params.activity_points[2] is the last step"),
            std::string::npos)
      << text;
  EXPECT_EQ(errors_.size(), 2u) << text;
}

TEST_F(HeuristicParamsTest, ActivityStepsNeedBelowAndPoints) {
  read(R"(activity_points:
  - {points: 0.1}
  - {below: 4}
  - {points: 0.3, weight: 1}
)");
  const std::string text = messages();
  EXPECT_NE(text.find(":2:5: scoring.scorers.h: params.activity_points[0] needs `below`"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(":3:5: scoring.scorers.h: missing key 'points' in params.activity_points[1]"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find(":4:19: scoring.scorers.h: unknown key 'weight' in params.activity_points[2]"),
      std::string::npos)
      << text;
  EXPECT_EQ(errors_.size(), 3u) << text;
  read("activity_points: []\n");
  EXPECT_NE(messages().find("activity_points must be a list"), std::string::npos) << messages();
}

TEST_F(HeuristicParamsTest, DropThresholdMustBeBelowTransferThreshold) {
  read("transfer_min_score: 0.5\ndrop_max_score: 0.5\n");
  ASSERT_EQ(errors_.size(), 1u) << messages();
  EXPECT_EQ(errors_.list()[0].line, 2);
  EXPECT_NE(errors_.list()[0].message.find("must be below transfer_min_score"), std::string::npos);
}

TEST_F(HeuristicParamsTest, TooManySourcesIsAnError) {
  std::string yaml = "source_points:\n";
  for (int i = 0; i < 20; ++i) yaml += "  s" + std::to_string(i) + ": 0.1\n";
  read(yaml);
  EXPECT_NE(messages().find("at most 16 sources"), std::string::npos) << messages();
}

TEST(HeuristicScorerIdentity, NameIsTheConfiguredName) {
  EXPECT_EQ(HeuristicScorer("heuristic_v2").name(), "heuristic_v2");
}

}  // namespace
}  // namespace leadscore::heuristic
