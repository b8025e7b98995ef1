#include "engine/scoring/fallback.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_file.h"

namespace leadscore::scoring {
namespace {

// A scorer that answers a fixed score, fails, or returns a malformed result, as told.
class FakeScorer final : public Scorer {
 public:
  enum class Mode { Answer, Fail, Malformed, Slow };
  FakeScorer(std::string name, Mode mode, double score = 0.5)
      : name_(std::move(name)), mode_(mode), score_(score) {}
  const std::string& name() const override { return name_; }
  const std::string& version() const override { return version_; }
  std::expected<ScoreResult, std::string> score(const Features&) const override {
    if (mode_ == Mode::Fail) return std::unexpected(name_ + " is down");
    if (mode_ == Mode::Slow) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ScoreResult r;
    r.score = score_;
    r.reason = "fake";
    r.contributions = {{"all", mode_ == Mode::Malformed ? score_ / 2 : score_}};
    return r;
  }

 private:
  std::string name_;
  std::string version_ = "1";
  Mode mode_;
  double score_;
};

using Mode = FakeScorer::Mode;

ScorerEntry entry(std::string name, Mode mode, std::string fallback = "", int budget_ms = 0,
                  double score = 0.5) {
  ScorerEntry e;
  e.scorer = std::make_unique<FakeScorer>(std::move(name), mode, score);
  e.plugin = "fake";
  e.fallback = std::move(fallback);
  e.budget_ms = budget_ms;
  return e;
}

ScorerSet set_of(std::vector<ScorerEntry> entries, std::string primary = "a") {
  return ScorerSet(std::move(entries), std::move(primary));
}

TEST(RunWithFallback, AScorerThatAnswersAnswers) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Answer, "b", 0, 0.7));
  entries.push_back(entry("b", Mode::Answer));
  const auto set = set_of(std::move(entries));
  const auto run = run_with_fallback(set, set.primary(), Features{});
  ASSERT_TRUE(run.result.has_value());
  EXPECT_EQ(run.result->score, 0.7);
  EXPECT_EQ(run.scorer, &set.primary());
  EXPECT_TRUE(run.failures.empty());
  EXPECT_FALSE(run.fell_back());
}

TEST(RunWithFallback, AFailingScorerIsAnsweredByItsFallbackWithTheReason) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Fail, "b"));
  entries.push_back(entry("b", Mode::Answer, "", 0, 0.25));
  const auto set = set_of(std::move(entries));
  const auto run = run_with_fallback(set, set.primary(), Features{});
  ASSERT_TRUE(run.result.has_value());
  EXPECT_EQ(run.result->score, 0.25);
  EXPECT_EQ(run.scorer, set.find("b"));
  ASSERT_EQ(run.failures.size(), 1u);
  EXPECT_TRUE(run.fell_back());
  EXPECT_EQ(run.failures[0].scorer, "a");
  EXPECT_EQ(run.failures[0].version, "1");
  EXPECT_EQ(run.failures[0].error, "a is down");
}

TEST(RunWithFallback, MalformedResultsOfAnyScorerFailTheRun) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Malformed, "b"));
  entries.push_back(entry("b", Mode::Answer));
  const auto set = set_of(std::move(entries));
  const auto run = run_with_fallback(set, set.primary(), Features{});
  ASSERT_TRUE(run.result.has_value());
  EXPECT_EQ(run.scorer, set.find("b"));
  ASSERT_EQ(run.failures.size(), 1u);
  EXPECT_EQ(run.failures[0].error,
            "malformed result: the contributions add up to 0.25, not to the score 0.5");
}

TEST(RunWithFallback, ARunOverItsBudgetFails) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Slow, "b", 5));
  entries.push_back(entry("b", Mode::Answer));
  const auto set = set_of(std::move(entries));
  const auto run = run_with_fallback(set, set.primary(), Features{});
  ASSERT_TRUE(run.result.has_value());
  EXPECT_EQ(run.scorer, set.find("b"));
  ASSERT_EQ(run.failures.size(), 1u);
  EXPECT_NE(run.failures[0].error.find("over its budget of 5 ms"), std::string::npos)
      << run.failures[0].error;
  EXPECT_GE(run.failures[0].latency_ms, 5);
}

TEST(RunWithFallback, FollowsTheChainAndReportsEveryFailure) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Fail, "b"));
  entries.push_back(entry("b", Mode::Fail, "c"));
  entries.push_back(entry("c", Mode::Answer));
  const auto set = set_of(std::move(entries));
  const auto run = run_with_fallback(set, set.primary(), Features{});
  ASSERT_TRUE(run.result.has_value());
  EXPECT_EQ(run.scorer, set.find("c"));
  ASSERT_EQ(run.failures.size(), 2u);
  EXPECT_EQ(run.failures[0].scorer, "a");  // fallback_from
  EXPECT_EQ(run.failures[1].scorer, "b");
}

TEST(RunWithFallback, WhenEveryScorerFailsThereIsNoResult) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Fail, "b"));
  entries.push_back(entry("b", Mode::Fail));
  const auto set = set_of(std::move(entries));
  const auto run = run_with_fallback(set, set.primary(), Features{});
  EXPECT_FALSE(run.result.has_value());
  EXPECT_EQ(run.scorer, nullptr);
  EXPECT_FALSE(run.fell_back());
  EXPECT_EQ(run.failure_summary(), "scorer a failed: a is down; scorer b failed: b is down");
}

TEST(RunWithFallback, AScorerWithoutFallbackJustFails) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Answer));
  entries.push_back(entry("b", Mode::Fail));
  const auto set = set_of(std::move(entries));
  const auto run = run_with_fallback(set, *set.find("b"), Features{});
  EXPECT_FALSE(run.result.has_value());
  ASSERT_EQ(run.failures.size(), 1u);
}

TEST(ScorerSet, RefusesFallbackCyclesAndUnknownFallbacks) {
  {
    std::vector<ScorerEntry> entries;
    entries.push_back(entry("a", Mode::Answer, "b"));
    entries.push_back(entry("b", Mode::Answer, "a"));
    EXPECT_THROW(set_of(std::move(entries)), std::invalid_argument);
  }
  {
    std::vector<ScorerEntry> entries;
    entries.push_back(entry("a", Mode::Answer, "zzz"));
    EXPECT_THROW(set_of(std::move(entries)), std::invalid_argument);
  }
}

TEST(ScorerSet, RolesComeFromPrimaryAndShadows) {
  std::vector<ScorerEntry> entries;
  entries.push_back(entry("a", Mode::Answer, "c"));
  entries.push_back(entry("b", Mode::Answer));
  entries.push_back(entry("c", Mode::Answer));
  const ScorerSet set(std::move(entries), "a", {"b"});
  EXPECT_EQ(set.entries()[0].role, "primary");
  EXPECT_EQ(set.entries()[1].role, "shadow");
  EXPECT_EQ(set.entries()[2].role, "");
  ASSERT_EQ(set.shadows().size(), 1u);
  EXPECT_EQ(set.shadows()[0], set.find("b"));
  EXPECT_EQ(set.fallback_of(set.primary()), set.find("c"));
  EXPECT_EQ(set.fallback_of(*set.find("b")), nullptr);
  EXPECT_EQ(set.entry_of(*set.find("c"))->scorer.get(), set.find("c"));
}

// End to end: a plugin that fails, configured with the heuristic plugin as its fallback.
TEST(RunWithFallback, ConfiguredPluginFallsBackToTheHeuristic) {
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
  auto set = build_scorers(*config);
  ASSERT_TRUE(set.has_value()) << config::to_text(set.error());
  Features f;
  f.source = "error";  // the test plugin fails on it
  auto run = run_with_fallback(*set, set->primary(), f);
  ASSERT_TRUE(run.result.has_value());
  EXPECT_EQ(run.scorer->name(), "steady");
  ASSERT_EQ(run.failures.size(), 1u);
  EXPECT_EQ(run.failures[0].scorer, "flaky");
  EXPECT_EQ(run.failures[0].error, "scorer broke on purpose");
  f.source = "nan";
  run = run_with_fallback(*set, set->primary(), f);
  ASSERT_EQ(run.failures.size(), 1u);
  EXPECT_EQ(run.failures[0].error,
            "scorer flaky returned a malformed result: score nan is not a finite number in "
            "[0, 1]");
  EXPECT_EQ(run.scorer->name(), "steady");
}

}  // namespace
}  // namespace leadscore::scoring
