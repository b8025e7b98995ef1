#include "engine/scoring/plugin_scorer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace leadscore::scoring {
namespace {

std::shared_ptr<const PluginModule> load(const std::string& path) {
  auto module = PluginModule::load(path);
  EXPECT_TRUE(module.has_value()) << module.error();
  return module ? *module : nullptr;
}

std::unique_ptr<PluginScorer> make(const std::string& path, const std::string& params = "{}") {
  auto module = load(path);
  if (!module) return nullptr;
  auto scorer = PluginScorer::create(module, "under_test", params, "/tmp");
  EXPECT_TRUE(scorer.has_value()) << scorer.error();
  return scorer ? std::move(*scorer) : nullptr;
}

const std::string kTestPlugin = std::string(TEST_PLUGIN_DIR) + "/test_good.so";
const std::string kExamplePlugin = std::string(LEADSCORE_PLUGIN_DIR) + "/example.so";

Features lead_from(std::string source) {
  Features f;
  f.source = std::move(source);
  return f;
}

class TestPluginScorer : public ::testing::Test {
 protected:
  std::string error_for(const std::string& source) {
    auto result = scorer_->score(lead_from(source));
    EXPECT_FALSE(result.has_value()) << source;
    return result ? std::string() : result.error();
  }
  std::unique_ptr<PluginScorer> scorer_ = make(kTestPlugin);
};

TEST_F(TestPluginScorer, CopiesAValidResult) {
  ASSERT_NE(scorer_, nullptr);
  auto result = scorer_->score(lead_from("ok"));
  ASSERT_TRUE(result.has_value()) << result.error();
  EXPECT_EQ(result->score, 0.5);
  EXPECT_EQ(result->recommendation, domain::Recommendation::ContinueQualification);
  EXPECT_EQ(result->reason, "half");
  ASSERT_EQ(result->contributions.size(), 2u);
  EXPECT_EQ(result->contributions[0].rule, "base");
  EXPECT_EQ(result->contributions[1].points, 0.25);
  EXPECT_FALSE(result->intent);  // the plugin returned NULL
}

TEST_F(TestPluginScorer, CopiesTheIntent) {
  ASSERT_NE(scorer_, nullptr);
  auto result = scorer_->score(lead_from("intent"));
  ASSERT_TRUE(result.has_value()) << result.error();
  EXPECT_EQ(result->intent, "High");
}

TEST_F(TestPluginScorer, MalformedIntentFailsTheRun) {
  const std::string prefix = "scorer under_test returned a malformed result: ";
  EXPECT_EQ(error_for("blankintent"),
            prefix + "the intent is empty (a scorer without one leaves it NULL)");
  EXPECT_EQ(error_for("longintent"), prefix + "the intent is longer than 64 bytes");
  EXPECT_EQ(error_for("binaryintent"), prefix + "the intent is not printable UTF-8 text");
}

TEST_F(TestPluginScorer, NameIsTheConfiguredOneAndVersionThePluginsWithoutAnInstanceVersion) {
  EXPECT_EQ(scorer_->name(), "under_test");
  EXPECT_EQ(scorer_->version(), "0.1");
}

TEST_F(TestPluginScorer, PluginErrorsFailTheRun) {
  EXPECT_EQ(error_for("error"), "scorer broke on purpose");
  EXPECT_EQ(error_for("silent_error"), "scorer under_test failed without a message");
  EXPECT_EQ(error_for("status"), "scorer under_test returned status 7");
}

TEST_F(TestPluginScorer, MalformedResultsFailTheRunSayingWhatWasWrong) {
  const std::string prefix = "scorer under_test returned a malformed result: ";
  EXPECT_EQ(error_for("nan"), prefix + "score nan is not a finite number in [0, 1]");
  EXPECT_EQ(error_for("above"), prefix + "score 1.5 is not a finite number in [0, 1]");
  EXPECT_EQ(error_for("badrec"), prefix +
                                     "recommendation 'maybe' is not one of transfer_to_sales, "
                                     "continue_qualification, drop_lead");
  EXPECT_EQ(error_for("norec"), prefix + "the result has no recommendation");
  EXPECT_EQ(error_for("noreason"), prefix + "the reason is empty");
  EXPECT_EQ(error_for("nocontrib"),
            prefix +
                "the result has no contributions (a scorer that cannot explain itself "
                "returns one)");
  EXPECT_EQ(error_for("badsum"), prefix + "the contributions add up to 0.5, not to the score 0.6");
  EXPECT_EQ(error_for("norule"), prefix + "contribution 0 has no rule");
}

TEST_F(TestPluginScorer, PassesEveryFeature) {
  Features f = lead_from("echo");
  f.stage = domain::LeadStage::Qualified;
  f.activity_count = 42;
  f.business_domain = "example.com";
  f.profile.name = "Ada";
  auto result = scorer_->score(f);
  ASSERT_TRUE(result.has_value()) << result.error();
  EXPECT_EQ(result->reason, "qualified|example.com|Ada|2|42|no offer");
  f.business_domain.reset();
  f.profile.name.reset();
  f.stage = domain::LeadStage::Lost;
  result = scorer_->score(f);
  ASSERT_TRUE(result.has_value()) << result.error();
  EXPECT_EQ(result->reason, "lost|(null)|(null)|4|42|no offer");
}

TEST_F(TestPluginScorer, PassesEveryProfileFieldInFieldsInTheEnginesOrder) {
  Features f = lead_from("fields");
  f.profile.name = "Ada";
  f.profile.industry = "fintech";
  auto result = scorer_->score(f);
  ASSERT_TRUE(result.has_value()) << result.error();
  // The one list of profile fields, domain::for_each_profile_field, in its order.
  std::string expected;
  domain::for_each_profile_field(f.profile, [&](const char* name, const auto& value) {
    expected += (expected.empty() ? "" : ",") + std::string(name) + "=" + value.value_or("-");
  });
  EXPECT_EQ(result->reason, expected);
  EXPECT_EQ(
      result->reason,
      "name=Ada,email=-,role=-,company=-,industry=fintech,location=-,bio=-,phone=-,website=-");
}

TEST(PluginSelfTest, APluginWithoutSelfTestIsNotAvailableNotPassed) {
  auto example = make(kExamplePlugin);  // its table leaves self_test NULL
  ASSERT_NE(example, nullptr);
  EXPECT_FALSE(example->has_self_test());
  const SelfTestResult tested = example->self_test();
  EXPECT_EQ(tested.outcome, SelfTestResult::Outcome::NotAvailable);
  EXPECT_NE(tested.outcome, SelfTestResult::Outcome::Passed);
  EXPECT_TRUE(tested.report.empty());
  EXPECT_FALSE(example->trace(lead_from("ok")).has_value());
}

TEST(PluginSelfTest, ATableTooSmallForSelfTestIsNeverAskedForOne) {
  auto old = make(std::string(TEST_PLUGIN_DIR) + "/test_old_table.so");
  ASSERT_NE(old, nullptr);
  EXPECT_FALSE(old->has_self_test());
  EXPECT_EQ(old->self_test().outcome, SelfTestResult::Outcome::NotAvailable);
  EXPECT_TRUE(old->score(lead_from("ok")).has_value());
}

TEST(PluginSelfTest, PassedAndFailedWithTheirProblems) {
  auto passing = make(kTestPlugin);
  ASSERT_NE(passing, nullptr);
  ASSERT_TRUE(passing->has_self_test());
  EXPECT_EQ(passing->self_test().outcome, SelfTestResult::Outcome::Passed);

  auto failing = make(kTestPlugin, R"({"mode": "self_test_fails"})");
  ASSERT_NE(failing, nullptr);
  const SelfTestResult failed = failing->self_test();
  EXPECT_EQ(failed.outcome, SelfTestResult::Outcome::Failed);
  ASSERT_EQ(failed.problems.size(), 1u);
  EXPECT_EQ(failed.problems[0].file, "t.yaml");
  EXPECT_EQ(failed.problems[0].line, 4);
  EXPECT_EQ(failed.problems[0].message, "case x failed");

  auto broken = make(kTestPlugin, R"({"mode": "self_test_breaks"})");
  ASSERT_NE(broken, nullptr);
  const SelfTestResult unreported = broken->self_test();
  EXPECT_EQ(unreported.outcome, SelfTestResult::Outcome::Failed);
  ASSERT_EQ(unreported.problems.size(), 1u);
  EXPECT_EQ(unreported.problems[0].file, "");
  EXPECT_EQ(unreported.problems[0].message, "the tests could not run");
}

TEST(PluginScorer, CreateErrorsComeBackAsTheirText) {
  auto module = load(kTestPlugin);
  ASSERT_NE(module, nullptr);
  auto scorer = PluginScorer::create(module, "x", "{\n\"refuse\":\ntrue}", "/tmp");
  ASSERT_FALSE(scorer.has_value());
  EXPECT_EQ(scorer.error(), "3:1: refused as asked\nand a second problem without a position");
}

TEST(PluginScorer, ExamplePluginScoresByActivityBands) {
  auto scorer = make(kExamplePlugin, "{\n\"min_activity\":\n5}");
  ASSERT_NE(scorer, nullptr);
  EXPECT_EQ(scorer->version(), "1.0+min5");
  Features f = lead_from("manual");
  f.business_domain = "acme.io";
  auto none = scorer->score(f);
  f.activity_count = 4;
  auto some = scorer->score(f);
  f.activity_count = 5;
  auto active = scorer->score(f);
  ASSERT_TRUE(none && some && active);
  EXPECT_EQ(none->recommendation, domain::Recommendation::DropLead);
  EXPECT_EQ(some->recommendation, domain::Recommendation::ContinueQualification);
  EXPECT_EQ(active->recommendation, domain::Recommendation::TransferToSales);
  EXPECT_EQ(active->score, 0.8);
  ASSERT_EQ(active->contributions.size(), 1u);
  EXPECT_EQ(active->contributions[0].points, 0.8);
}

TEST(PluginScorer, ExamplePluginRefusesBadParams) {
  auto module = load(kExamplePlugin);
  ASSERT_NE(module, nullptr);
  auto scorer = PluginScorer::create(module, "x", "{\n\"min_activity\":\n0}", "/tmp");
  ASSERT_FALSE(scorer.has_value());
  EXPECT_EQ(scorer.error(), "3:1: min_activity must be an integer in 1..1000");
}

TEST_F(TestPluginScorer, KeepsTheAuditOfAnAnsweredRunWrittenCompactly) {
  ASSERT_NE(scorer_, nullptr);
  const ScorerAnswer answer = scorer_->run(lead_from("audit"));
  ASSERT_TRUE(answer.result.has_value()) << answer.result.error();
  EXPECT_EQ(answer.audit, R"({"model":"m1","tokens_in":12})");
  EXPECT_FALSE(scorer_->run(lead_from("ok")).audit.has_value());  // the plugin gave none
}

TEST_F(TestPluginScorer, KeepsTheAuditOfAFailedRun) {
  ASSERT_NE(scorer_, nullptr);
  const ScorerAnswer answer = scorer_->run(lead_from("audit_error"));
  ASSERT_FALSE(answer.result.has_value());
  EXPECT_EQ(answer.result.error(), "the upstream failed");
  EXPECT_EQ(answer.audit, R"({"raw":"HTTP 500","tries":3})");
}

TEST_F(TestPluginScorer, AnAuditTooLongOrNotAJsonObjectIsReplacedSayingWhy) {
  ASSERT_NE(scorer_, nullptr);
  EXPECT_EQ(scorer_->run(lead_from("longaudit")).audit,
            R"({"invalid_audit":"longer than 16384 bytes"})");
  EXPECT_EQ(scorer_->run(lead_from("listaudit")).audit, R"({"invalid_audit":"not a JSON object"})");
  EXPECT_EQ(scorer_->run(lead_from("brokenaudit")).audit,
            R"j({"invalid_audit":"not JSON (or not UTF-8)"})j");
  // The run itself stands: an audit is a record, not a part of the result.
  EXPECT_TRUE(scorer_->run(lead_from("listaudit")).result.has_value());
}

TEST(PluginAudit, CheckedAuditRefusesWhatPostgresqlWouldNotStore) {
  EXPECT_EQ(checked_audit(R"({"a": "\u0000"})"), R"({"invalid_audit":"holds a NUL character"})");
  EXPECT_EQ(checked_audit("{\"a\": \"\xff\"}"), R"j({"invalid_audit":"not JSON (or not UTF-8)"})j");
  EXPECT_EQ(checked_audit(R"({"a": [1, {"b": null}]})"), R"({"a":[1,{"b":null}]})");
}

TEST(PluginAudit, ATableBuiltBeforeTheAuditIsNeverReadForOneNorSlow) {
  auto old = make(std::string(TEST_PLUGIN_DIR) + "/test_old_table.so");
  ASSERT_NE(old, nullptr);
  EXPECT_FALSE(old->slow());
  const ScorerAnswer answer = old->run(lead_from("audit"));  // its score() sets audit_json
  EXPECT_TRUE(answer.result.has_value());
  EXPECT_FALSE(answer.audit.has_value());
}

TEST(PluginAudit, ASlowPluginIsSlowAndAuditsEveryRun) {
  auto fast = make(kTestPlugin);
  ASSERT_NE(fast, nullptr);
  EXPECT_FALSE(fast->slow());
  auto slow = make(std::string(TEST_PLUGIN_DIR) + "/test_slow.so", R"({"sleep_ms": 5})");
  ASSERT_NE(slow, nullptr);
  EXPECT_TRUE(slow->slow());
  const ScorerAnswer answered = slow->run(lead_from("ok"));
  ASSERT_TRUE(answered.result.has_value());
  EXPECT_EQ(answered.audit, R"({"prompt_version":"t1","slept_ms":5})");
  auto down = make(std::string(TEST_PLUGIN_DIR) + "/test_slow.so", R"({"mode": "upstream_down"})");
  ASSERT_NE(down, nullptr);
  const ScorerAnswer failed = down->run(lead_from("ok"));
  ASSERT_FALSE(failed.result.has_value());
  EXPECT_EQ(failed.result.error(), "the upstream is down on purpose");
  EXPECT_EQ(failed.audit, R"({"prompt_version":"t1","slept_ms":0})");
}

}  // namespace
}  // namespace leadscore::scoring
