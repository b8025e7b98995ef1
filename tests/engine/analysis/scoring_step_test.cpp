#include "engine/analysis/scoring_step.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/scoring/composite_scorer.h"
#include "tests/engine/analysis/fake_scorer.h"
#include "tests/support/temp_file.h"

namespace leadscore::analysis {
namespace {

using testing::FakeScorer;
using Mode = FakeScorer::Mode;
using scoring::ScorerEntry;

ScorerEntry entry(std::string name, Mode mode, std::string fallback = "", int budget_ms = 0,
                  double score = 0.5) {
  return testing::fake_entry(std::move(name), mode, std::move(fallback), budget_ms, score);
}

ScorerSet set_of(std::vector<ScorerEntry> entries, std::string primary = "a") {
  return ScorerSet(std::move(entries), std::move(primary));
}

TEST(ScoringStep, AScorerThatAnswersAnswers) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Answer, "b", 0, 0.7));
  entries.push_back(entry("b", Mode::Answer));
  const auto set = set_of(std::move(entries));
  const auto run = score_features(set, set.primary(), Features{});
  ASSERT_TRUE(run.result.has_value());
  EXPECT_EQ(run.result->score, 0.7);
  EXPECT_EQ(run.scorer, &set.primary());
  EXPECT_TRUE(run.failures.empty());
  EXPECT_FALSE(run.fell_back());
}

TEST(ScoringStep, AFailingScorerIsAnsweredByItsFallbackWithTheReason) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Fail, "b"));
  entries.push_back(entry("b", Mode::Answer, "", 0, 0.25));
  const auto set = set_of(std::move(entries));
  const auto run = score_features(set, set.primary(), Features{});
  ASSERT_TRUE(run.result.has_value());
  EXPECT_EQ(run.result->score, 0.25);
  EXPECT_EQ(run.scorer, set.find("b"));
  ASSERT_EQ(run.failures.size(), 1u);
  EXPECT_TRUE(run.fell_back());
  EXPECT_EQ(run.failures[0].scorer, "a");
  EXPECT_EQ(run.failures[0].version, "1");
  EXPECT_EQ(run.failures[0].error, "a is down");
}

TEST(ScoringStep, MalformedResultsOfAnyScorerFailTheRun) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Malformed, "b"));
  entries.push_back(entry("b", Mode::Answer));
  const auto set = set_of(std::move(entries));
  const auto run = score_features(set, set.primary(), Features{});
  ASSERT_TRUE(run.result.has_value());
  EXPECT_EQ(run.scorer, set.find("b"));
  ASSERT_EQ(run.failures.size(), 1u);
  EXPECT_EQ(run.failures[0].error,
            "malformed result: the contributions add up to 0.25, not to the score 0.5");
}

TEST(ScoringStep, ARunOverItsBudgetFails) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Slow, "b", 5));
  entries.push_back(entry("b", Mode::Answer));
  const auto set = set_of(std::move(entries));
  const auto run = score_features(set, set.primary(), Features{});
  ASSERT_TRUE(run.result.has_value());
  EXPECT_EQ(run.scorer, set.find("b"));
  ASSERT_EQ(run.failures.size(), 1u);
  EXPECT_NE(run.failures[0].error.find("over its budget of 5 ms"), std::string::npos)
      << run.failures[0].error;
  EXPECT_GE(run.failures[0].latency_ms, 5);
}

TEST(ScoringStep, FollowsTheChainAndReportsEveryFailure) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Fail, "b"));
  entries.push_back(entry("b", Mode::Fail, "c"));
  entries.push_back(entry("c", Mode::Answer));
  const auto set = set_of(std::move(entries));
  const auto run = score_features(set, set.primary(), Features{});
  ASSERT_TRUE(run.result.has_value());
  EXPECT_EQ(run.scorer, set.find("c"));
  ASSERT_EQ(run.failures.size(), 2u);
  EXPECT_EQ(run.failures[0].scorer, "a");  // fallback_from
  EXPECT_EQ(run.failures[1].scorer, "b");
}

TEST(ScoringStep, WhenEveryScorerFailsThereIsNoResult) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Fail, "b"));
  entries.push_back(entry("b", Mode::Fail));
  const auto set = set_of(std::move(entries));
  const auto run = score_features(set, set.primary(), Features{});
  EXPECT_FALSE(run.result.has_value());
  EXPECT_EQ(run.scorer, nullptr);
  EXPECT_FALSE(run.fell_back());
  EXPECT_EQ(run.failure_summary(), "scorer a failed: a is down; scorer b failed: b is down");
}

TEST(ScoringStep, AScorerWithoutFallbackJustFails) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Answer));
  entries.push_back(entry("b", Mode::Fail));
  const auto set = set_of(std::move(entries));
  const auto run = score_features(set, *set.find("b"), Features{});
  EXPECT_FALSE(run.result.has_value());
  ASSERT_EQ(run.failures.size(), 1u);
}

TEST(ScoringStep, IgnoringFallbacksAFailedRunStaysFailed) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Fail, "b"));
  entries.push_back(entry("b", Mode::Answer));
  const auto set = set_of(std::move(entries));
  const auto run = score_features(set, set.primary(), Features{}, Fallbacks::Ignore);
  EXPECT_FALSE(run.result.has_value());
  EXPECT_EQ(run.scorer, nullptr);
  ASSERT_EQ(run.failures.size(), 1u);
  EXPECT_EQ(run.failures[0].scorer, "a");
  EXPECT_EQ(run.failures[0].error, "a is down");
}

TEST(ScoringStep, IgnoringFallbacksAnAnswerIsTheScorersOwn) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Answer, "b", 0, 0.7));
  entries.push_back(entry("b", Mode::Answer));
  const auto set = set_of(std::move(entries));
  const auto run = score_features(set, set.primary(), Features{}, Fallbacks::Ignore);
  ASSERT_TRUE(run.result.has_value());
  EXPECT_EQ(run.result->score, 0.7);
  EXPECT_EQ(run.scorer, &set.primary());
}

TEST(ScoringStep, AScorerThatThrowsFailsTheRunOnly) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Throw, "b"));
  entries.push_back(entry("b", Mode::Answer));
  const auto set = set_of(std::move(entries));
  const auto run = score_features(set, set.primary(), Features{});
  ASSERT_TRUE(run.result.has_value());
  ASSERT_EQ(run.failures.size(), 1u);
  EXPECT_EQ(run.failures[0].error, "threw: a broke");
}

// End to end: a plugin that fails, configured with the heuristic plugin as its fallback.
// A composite in a set: its parts are other entries of the set, as build_scorers makes them.
ScorerEntry composite_entry(const std::vector<ScorerEntry>& entries, std::string fallback) {
  std::vector<scoring::CompositePart> parts;
  for (const char* name : {"rules", "llm"}) {
    const ScorerEntry* part = nullptr;
    for (const auto& e : entries)
      if (e.scorer->name() == name) part = &e;
    parts.push_back({name, 50, {{part->scorer.get(), part->budget_ms}}});
  }
  ScorerEntry e;
  e.scorer = std::make_unique<scoring::CompositeScorer>(
      "hybrid", std::move(parts),
      scoring::CompositeRules{{{"High", 70}, {"Medium", 40}, {"Low", 0}}, 70, 30});
  e.plugin = "composite";
  e.fallback = std::move(fallback);
  return e;
}

TEST(ScoringStep, ACompositeAnswersAsOneScorer) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("rules", Mode::Answer, "", 0, 0.8));
  entries.push_back(entry("llm", Mode::Answer, "", 0, 0.6));
  entries.push_back(composite_entry(entries, "rules"));
  const auto set = set_of(std::move(entries), "hybrid");
  const auto run = score_features(set, set.primary(), Features{});
  ASSERT_TRUE(run.result.has_value());
  EXPECT_EQ(run.scorer, set.find("hybrid"));
  EXPECT_NEAR(run.result->score, 0.7, 1e-12);
  EXPECT_EQ(run.result->intent, "High");
  EXPECT_TRUE(run.failures.empty());
}

TEST(ScoringStep, ACompositeWhosePartFailsIsAnsweredByTheCompositesFallback) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("rules", Mode::Answer, "", 0, 0.8));
  entries.push_back(entry("llm", Mode::Fail));
  entries.push_back(composite_entry(entries, "rules"));
  const auto set = set_of(std::move(entries), "hybrid");
  const auto run = score_features(set, set.primary(), Features{});
  ASSERT_TRUE(run.result.has_value());
  EXPECT_EQ(run.scorer, set.find("rules"));
  EXPECT_EQ(run.result->score, 0.8);
  ASSERT_EQ(run.failures.size(), 1u);
  EXPECT_EQ(run.failures[0].scorer, "hybrid");
  EXPECT_EQ(run.failures[0].error, "part llm has no answer: llm failed: llm is down");
}

TEST(ScoringStep, ConfiguredPluginFallsBackToTheHeuristic) {
  testing::TempDir dir;
  const std::string path = dir.write("leadscore.yaml", R"(scoring:
  primary: flaky
  scorers:
    flaky:
      plugin: )" + std::string(TEST_PLUGIN_DIR) + R"(/test_good.so
      fallback: steady
    steady:
      plugin: heuristic
)");
  auto config = config::load_app_config(path, {});
  ASSERT_TRUE(config.has_value()) << config::to_text(config.error());
  auto set = scoring::build_scorers(*config);
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  Features f;
  f.source = "error";  // the test plugin fails on it
  auto run = score_features(*set, set->primary(), f);
  ASSERT_TRUE(run.result.has_value());
  EXPECT_EQ(run.scorer->name(), "steady");
  ASSERT_EQ(run.failures.size(), 1u);
  EXPECT_EQ(run.failures[0].scorer, "flaky");
  EXPECT_EQ(run.failures[0].error, "scorer broke on purpose");
  f.source = "nan";
  run = score_features(*set, set->primary(), f);
  ASSERT_EQ(run.failures.size(), 1u);
  EXPECT_EQ(run.failures[0].error,
            "scorer flaky returned a malformed result: score nan is not a finite number in "
            "[0, 1]");
  EXPECT_EQ(run.scorer->name(), "steady");
}

}  // namespace
}  // namespace leadscore::analysis
