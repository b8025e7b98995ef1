// The heuristic plugin module (heuristic.so) against the heuristic linked in directly: same
// scores, recommendations, reasons and contributions, same versions, over every kind of lead.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/scoring/plugin_scorer.h"
#include "plugins/heuristic/heuristic_scorer.h"
#include "tests/support/plugin_values.h"

namespace leadscore::heuristic {
namespace {

using leadscore::testing::to_plugin;
using scoring::PluginModule;
using scoring::PluginScorer;

const std::string kModule = std::string(LEADSCORE_PLUGIN_DIR) + "/heuristic.so";

std::shared_ptr<const PluginModule> module() {
  static auto loaded = PluginModule::load(kModule);
  EXPECT_TRUE(loaded.has_value()) << loaded.error();
  return loaded ? *loaded : nullptr;
}

std::unique_ptr<PluginScorer> plugin(const std::string& params_json = "{}") {
  auto made = PluginScorer::create(module(), "heuristic", params_json, "/tmp");
  EXPECT_TRUE(made.has_value()) << made.error();
  return made ? std::move(*made) : nullptr;
}

std::vector<domain::Features> every_kind_of_lead() {
  std::vector<domain::Features> leads;
  const std::optional<std::string> domains[] = {"example.com", std::nullopt, "  \t",
                                                "a-very-long-business-domain.example.org"};
  for (const char* source : {"scanner", "partner", "manual", "webinar", "a-source-name-past-16"})
    for (auto stage : domain::kAllLeadStages)
      for (std::int64_t activity : {0, 1, 2, 3, 6, 7, 100})
        for (const auto& business_domain : domains) {
          domain::Features f;
          f.source = source;
          f.stage = stage;
          f.activity_count = activity;
          f.business_domain = business_domain;
          leads.push_back(f);
        }
  return leads;
}

// The plugin's result as the engine copied it, against the heuristic's own.
void expect_same(const domain::ScoreResult& got, const ScoreResult& want) {
  EXPECT_EQ(got.score, want.score);  // exactly: the same code computes both
  EXPECT_EQ(leadscore::testing::recommendation_text(got.recommendation),
            leadscore::testing::recommendation_text(want.recommendation));
  EXPECT_EQ(got.reason, want.reason);
  ASSERT_EQ(got.contributions.size(), want.contributions.size());
  for (std::size_t i = 0; i < got.contributions.size(); ++i) {
    EXPECT_EQ(got.contributions[i].rule, want.contributions[i].rule);
    EXPECT_EQ(got.contributions[i].points, want.contributions[i].points);
  }
}

TEST(HeuristicPlugin, GivesExactlyTheResultsOfTheHeuristic) {
  auto scorer = plugin();
  ASSERT_NE(scorer, nullptr);
  const HeuristicScorer direct("heuristic");
  EXPECT_EQ(scorer->version(), direct.version());
  for (const auto& lead : every_kind_of_lead()) {
    auto got = scorer->score(lead);
    auto want = direct.score(to_plugin(lead));
    ASSERT_TRUE(got.has_value()) << got.error();
    ASSERT_TRUE(want.has_value());
    expect_same(*got, *want);
  }
}

TEST(HeuristicPlugin, NewPartnerLeadWithDomainScoresExactlyPointSix) {
  auto scorer = plugin();
  ASSERT_NE(scorer, nullptr);
  domain::Features f;
  f.source = "partner";
  f.activity_count = 0;
  f.business_domain = "example.com";
  auto result = scorer->score(f);
  ASSERT_TRUE(result.has_value()) << result.error();
  EXPECT_EQ(result->score, 0.7 + -0.2 + 0.0 + 0.1);
  EXPECT_EQ(result->recommendation, domain::Recommendation::ContinueQualification);
}

TEST(HeuristicPlugin, ParamsInJsonGiveTheSameWeightsAndVersion) {
  auto scorer = plugin(R"({"source_points": {"webinar": 0.6}, "transfer_min_score": 0.8,
      "activity_points": [{"below": 2, "points": 0}, {"points": 0.3}]})");
  ASSERT_NE(scorer, nullptr);
  HeuristicParams params;
  params.source_points.push_back({"webinar", 0.6});
  params.transfer_min_score = 0.8;
  params.activity_steps = {{2, 0.0}};
  params.activity_final_points = 0.3;
  const HeuristicScorer direct("heuristic", params);
  EXPECT_EQ(scorer->version(), direct.version());
  EXPECT_NE(scorer->version(), HeuristicScorer("heuristic").version());
  for (const auto& lead : every_kind_of_lead()) {
    auto got = scorer->score(lead);
    ASSERT_TRUE(got.has_value()) << got.error();
    expect_same(*got, *direct.score(to_plugin(lead)));
  }
}

TEST(HeuristicPlugin, ParamErrorsArePositionedInTheJsonText) {
  // `high` is a plain word of the config, which the engine writes as a JSON string: it is
  // described as the config wrote it ('high'), not as a quoted string.
  auto made = PluginScorer::create(module(), "h",
                                   "{\n\"bonus\":\n1,\n\"drop_max_score\":\n\"high\"}", "/tmp");
  ASSERT_FALSE(made.has_value());
  EXPECT_EQ(made.error(),
            "2:1: unknown key 'bonus' in params\n"
            "5:1: params.drop_max_score must be a number, got 'high'");
}

TEST(HeuristicPlugin, QuotedNumbersStayStrings) {
  auto made = PluginScorer::create(module(), "h", "{\n\"drop_max_score\":\n\"0.3\"}", "/tmp");
  ASSERT_FALSE(made.has_value());
  EXPECT_NE(made.error().find("3:1: params.drop_max_score must be a number, got a quoted string "
                              "'0.3'"),
            std::string::npos)
      << made.error();
}

TEST(HeuristicPlugin, InvalidJsonIsAnError) {
  auto made = PluginScorer::create(module(), "h", "{\"a\": [}", "/tmp");
  ASSERT_FALSE(made.has_value());
  EXPECT_NE(made.error().find("params are not valid JSON"), std::string::npos) << made.error();
}

TEST(HeuristicPlugin, ResultOfOneInstanceSurvivesScoresOfAnotherOnTheSameThread) {
  const ls_plugin& table = module()->table();
  char err[256] = {};
  ls_instance* a = table.create("{}", "/tmp", err, sizeof err);
  ls_instance* b = table.create("{\"transfer_min_score\": 0.95}", "/tmp", err, sizeof err);
  ASSERT_NE(a, nullptr) << err;
  ASSERT_NE(b, nullptr) << err;
  ls_features lead{};
  lead.struct_size = sizeof lead;
  lead.source = "partner";
  lead.stage = "qualified";
  lead.stage_code = LS_STAGE_QUALIFIED;
  lead.activity_count = 3;
  lead.business_domain = "example.com";
  ls_result first{}, second{};
  ASSERT_EQ(table.score(a, &lead, &first, err, sizeof err), LS_OK) << err;
  const std::string reason = first.reason;
  const std::string rule = first.contributions[0].rule;
  lead.source = "scanner";
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(table.score(b, &lead, &second, err, sizeof err), LS_OK) << err;
  EXPECT_EQ(first.reason, reason);
  EXPECT_EQ(first.contributions[0].rule, rule);
  EXPECT_STREQ(first.recommendation, "transfer_to_sales");
  EXPECT_STREQ(second.recommendation, "continue_qualification");
  table.destroy(a);
  table.destroy(b);
}

TEST(HeuristicPlugin, ScoresFromSeveralThreadsAtOnce) {
  auto scorer = plugin();
  ASSERT_NE(scorer, nullptr);
  const HeuristicScorer direct("heuristic");
  const auto leads = every_kind_of_lead();
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round)
        for (const auto& lead : leads) {
          auto got = scorer->score(lead);
          auto want = direct.score(to_plugin(lead));
          if (!got || got->reason != want->reason || got->score != want->score) ++mismatches[t];
        }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace leadscore::heuristic
