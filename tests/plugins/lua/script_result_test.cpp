// A script's result (plugins/lua/script_result.h): a well-formed table reads into a ScoreResult;
// anything outside the result contract is refused with a message that says what is wrong; a
// trace's fields read back as Lua literals.
#include "plugins/lua/script_result.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <lua.hpp>
#include <string>

#include "tests/plugins/lua/sandbox_test_support.h"

namespace leadscore::lua {
namespace {

using namespace testing;
using plugin::Recommendation;
using plugin::ScoreResult;

TEST(ScriptResult, TheScoreIsAFiniteNumberFromZeroToOne) {
  EXPECT_EQ(check_score(0), std::nullopt);
  EXPECT_EQ(check_score(1), std::nullopt);
  EXPECT_EQ(check_score(0.5), std::nullopt);
  EXPECT_EQ(check_score(1.5), "score must be in [0, 1], got 1.5");
  EXPECT_EQ(check_score(-0.25), "score must be in [0, 1], got -0.25");
  EXPECT_EQ(check_score(std::numeric_limits<double>::infinity()),
            "score must be a finite number in [0, 1], got inf");
  EXPECT_NE(check_score(std::nan("")), std::nullopt);
}

TEST(ScriptResult, TheContributionsAddUpToTheScore) {
  ScoreResult result;
  result.score = 0.5;
  result.contributions = {{"a", 0.25}, {"b", 0.25}};
  EXPECT_EQ(check_contributions(result), std::nullopt);
  result.contributions[1].points = 0.25 + 1e-10;  // within 1e-9
  EXPECT_EQ(check_contributions(result), std::nullopt);
  result.contributions[1].points = 0.125;
  EXPECT_EQ(check_contributions(result),
            "contributions add up to 0.375, not to the score 0.5 (they must, within 1e-9)");
  result.contributions[1].points = std::numeric_limits<double>::infinity();
  EXPECT_EQ(check_contributions(result),
            "contributions[2].points must be a finite number, got inf");
}

int set_up_keys(lua_State* L) {
  register_keys(L, state_of(L));
  return 0;
}

// A bare state with the keys, and the value a chunk returns on its stack.
class ReadResultTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(bare_.protect(set_up_keys), ""); }
  // Leaves what `code` returns at stack index 1.
  void returned(const std::string& code) {
    lua_settop(L(), 0);
    ASSERT_EQ(luaL_loadstring(L(), code.c_str()), LUA_OK);
    ASSERT_EQ(lua_pcall(L(), 0, 1, 0), LUA_OK);
  }
  lua_State* L() { return bare_.state.L; }
  std::optional<std::string> read(const std::string& code, ScoreResult& out) {
    returned(code);
    return read_result(L(), bare_.state, 1, out);
  }

  BareState bare_;
};

TEST_F(ReadResultTest, ReadsAWellFormedResult) {
  ScoreResult result;
  EXPECT_EQ(read("return {score = 0.75, recommendation = 'transfer_to_sales', reason = 'hot',\n"
                 "  contributions = {{rule = 'a', points = 0.5}, {rule = 'b', points = 0.25}},\n"
                 "  intent = 'High'}",
                 result),
            std::nullopt);
  EXPECT_EQ(result.score, 0.75);
  EXPECT_EQ(result.recommendation, Recommendation::TransferToSales);
  EXPECT_EQ(result.reason, "hot");
  ASSERT_EQ(result.contributions.size(), 2u);
  EXPECT_EQ(result.contributions[1].rule, "b");
  EXPECT_EQ(result.contributions[1].points, 0.25);
  EXPECT_EQ(result.intent, "High");
  EXPECT_EQ(lua_gettop(L()), 1) << "reading leaves the stack as it was";
}

TEST_F(ReadResultTest, TheNumericPathReadsOnlyScoreAndRecommendation) {
  returned("return {score = 1, recommendation = 'drop_lead', reason = 7}");
  Evaluation evaluation;
  EXPECT_EQ(read_evaluation(L(), bare_.state, 1, evaluation), std::nullopt);
  EXPECT_EQ(evaluation.score, 1.0);
  EXPECT_EQ(evaluation.recommendation, Recommendation::DropLead);
}

TEST_F(ReadResultTest, SaysWhatIsWrong) {
  ScoreResult result;
  EXPECT_EQ(read("return 42", result),
            "score() must return a table {score, recommendation, reason, contributions}, got 42");
  EXPECT_EQ(read("return {score = true}", result), "score must be a number in [0, 1], got true");
  EXPECT_EQ(read("return {score = 0.5}", result),
            "recommendation must be one of transfer_to_sales, continue_qualification, "
            "drop_lead; got nil");
  EXPECT_EQ(read("return {score = 0.5, recommendation = 'drop_lead', reason = 'r',\n"
                 "  contributions = {{rule = 'a', points = 0.5}, 'b'}}",
                 result),
            "contributions[2] must be a table {rule = string, points = number}, got 'b'");
  EXPECT_EQ(read("return {score = 0.5, recommendation = 'drop_lead', reason = 'r',\n"
                 "  contributions = {{rule = 'a', points = '0.5'}}}",
                 result),
            "contributions[1].points must be a finite number, got '0.5'");
  EXPECT_EQ(read("return {score = 0.5, recommendation = 'drop_lead', reason = 'r',\n"
                 "  contributions = {{rule = 'a', points = 0.5}}, intent = {}}",
                 result),
            "intent must be a string (or nil), got a table");
}

TEST_F(ReadResultTest, DescribesValuesShortly) {
  returned("return '" + std::string(100, 'x') + "'");
  EXPECT_EQ(describe_value(L(), 1), "'" + std::string(60, 'x') + "...'");
  returned("return 7");
  EXPECT_EQ(describe_value(L(), 1), "7");
  returned("return 0.1");
  EXPECT_EQ(describe_value(L(), 1), "0.1");
  returned("return false");
  EXPECT_EQ(describe_value(L(), 1), "false");
  returned("return function() end");
  EXPECT_EQ(describe_value(L(), 1), "a function");
}

TEST_F(ReadResultTest, ReadsTheFieldsATraceSawAsLuaLiterals) {
  State& s = bare_.state;
  returned("return {source = 'say \"hi\"\\n', activity_count = 3}");
  s.lead_data = luaL_ref(L(), LUA_REGISTRYINDEX);
  returned("return {'source', 'activity_count', 'role', 7}");
  const auto fields = read_fields(L(), s, 1);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].field, "source");
  EXPECT_EQ(fields[0].value, "\"say \\\"hi\\\"\\n\"");
  EXPECT_EQ(fields[1].value, "3");
  EXPECT_EQ(fields[2].field, "role");
  EXPECT_EQ(fields[2].value, "nil");
}

// --- Through a sandbox ------------------------------------------------------------------------

TEST(ScriptResult, RefusesMalformedResults) {
  expect_fails_then_recovers("return nil", "got nil");
  expect_fails_then_recovers("return 'hello'", "got 'hello'");
  expect_fails_then_recovers(
      "return {score = 1.5, recommendation = 'drop_lead', reason = 'r', contributions = "
      "{{rule = 'x', points = 1.5}}}",
      "score must be in [0, 1], got 1.5");
  expect_fails_then_recovers(
      "return {score = 0/0, recommendation = 'drop_lead', reason = 'r', contributions = "
      "{{rule = 'x', points = 0}}}",
      "score must be a finite number");
  expect_fails_then_recovers(
      "return {score = 0.5, recommendation = 'call_them', reason = 'r', contributions = "
      "{{rule = 'x', points = 0.5}}}",
      "recommendation must be one of transfer_to_sales, continue_qualification, drop_lead; "
      "got 'call_them'");
  expect_fails_then_recovers(
      "return {score = 0.5, recommendation = 'drop_lead', reason = '', contributions = "
      "{{rule = 'x', points = 0.5}}}",
      "reason must be a non-empty string");
  expect_fails_then_recovers(
      "return {score = 0.5, recommendation = 'drop_lead', reason = 'r', contributions = {}}",
      "contributions must be a non-empty list");
  expect_fails_then_recovers(
      "return {score = 0.5, recommendation = 'drop_lead', reason = 'r', contributions = "
      "{{rule = 'x', points = 0.25}}}",
      "contributions add up to 0.25, not to the score 0.5");
  expect_fails_then_recovers(
      "return {score = 0.5, recommendation = 'drop_lead', reason = 'r', contributions = "
      "{{rule = 7, points = 0.5}}}",
      "contributions[1].rule must be a non-empty string");
  expect_fails_then_recovers(
      "return {score = '0.5', recommendation = 'drop_lead', reason = 'r', contributions = "
      "{{rule = 'x', points = 0.5}}}",
      "score must be a number in [0, 1], got '0.5'");
}

TEST(ScriptResult, ReadsTheResultsOptionalIntent) {
  const auto with_intent = [](const std::string& intent) {
    return "return {name = 't', version = '1', score = function(lead, ctx)\n"
           "  return {score = 0.5, recommendation = 'continue_qualification', reason = 'r',\n"
           "          contributions = {{rule = 'x', points = 0.5}}, intent = " +
           intent + "}\nend}\n";
  };
  auto high = make(with_intent("'High'"));
  auto none = make(with_intent("nil"));
  ASSERT_TRUE(high && none);
  const auto result = high->score(good_lead());
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->intent, "High");
  const auto without = none->score(good_lead());
  ASSERT_TRUE(without) << without.error();
  EXPECT_EQ(without->intent, std::nullopt);
  const auto traced = high->trace(good_lead());
  ASSERT_TRUE(traced.result) << traced.result.error();
  EXPECT_EQ(traced.result->intent, "High");
}

TEST(ScriptResult, RefusesAnIntentThatIsNotAString) {
  expect_fails_then_recovers(
      "return {score = 0.5, recommendation = 'drop_lead', reason = 'r', contributions = "
      "{{rule = 'x', points = 0.5}}, intent = 70}",
      "t.lua returned a malformed result: intent must be a string (or nil), got 70");
}

}  // namespace
}  // namespace leadscore::lua
