#include "engine/scoring/params_json.h"

#include <gtest/gtest.h>

namespace leadscore::scoring {
namespace {

TEST(ParamsJson, AbsentOrNullParamsAreAnEmptyObject) {
  const auto absent = params_to_json(YAML::Node(), {7, 5});
  EXPECT_EQ(absent.text, "{}");
  EXPECT_EQ(absent.position_of_line(1).line, 7);
  EXPECT_EQ(params_to_json(YAML::Load("~"), {7, 5}).text, "{}");
}

TEST(ParamsJson, PlainScalarsBecomeJsonValuesAndQuotedOnesStrings) {
  const YAML::Node params = YAML::Load(
      "a: 8000\nb: 0.50\nc: true\nd: ~\ne: high\nf: '0.3'\ng: \"say \\\"hi\\\"\\n\"\nh: +1\n"
      "i: 1e3\nj: .inf\nk: 0x10\n");
  const auto json = params_to_json(params, {1, 1});
  EXPECT_EQ(json.text,
            "{\n\"a\":\n8000,\n\"b\":\n0.5,\n\"c\":\ntrue,\n\"d\":\nnull,\n\"e\":\n\"high\",\n"
            "\"f\":\n\"0.3\",\n\"g\":\n\"say \\\"hi\\\"\\n\",\n\"h\":\n1,\n\"i\":\n1000,\n"
            "\"j\":\n\".inf\",\n\"k\":\n\"0x10\"}");
}

TEST(ParamsJson, NestedMappingsAndListsKeepTheirLines) {
  const YAML::Node params = YAML::Load(
      "source_points:\n  webinar: 0.6\nactivity_points:\n  - below: 2\n    points: 0\n"
      "  - points: 0.3\n");
  const auto json = params_to_json(params, {10, 7});
  EXPECT_EQ(json.text,
            "{\n\"source_points\":\n{\n\"webinar\":\n0.6},\n\"activity_points\":\n[\n{\n"
            "\"below\":\n2,\n\"points\":\n0},\n{\n\"points\":\n0.3}]}");
  // JSON line -> config line (1-based): the YAML text above starts at line 1.
  EXPECT_EQ(json.position_of_line(1).line, 10);  // the object: the `params` key
  EXPECT_EQ(json.position_of_line(2).line, 1);   // "source_points":
  EXPECT_EQ(json.position_of_line(4).line, 2);   // "webinar":
  EXPECT_EQ(json.position_of_line(5).line, 2);   // 0.6
  EXPECT_EQ(json.position_of_line(5).column, 12);
  EXPECT_EQ(json.position_of_line(9).line, 4);    // "below":
  EXPECT_EQ(json.position_of_line(10).line, 4);   // 2
  EXPECT_EQ(json.position_of_line(12).line, 5);   // 0
  EXPECT_EQ(json.position_of_line(13).line, 6);   // { of the second step
  EXPECT_EQ(json.position_of_line(15).line, 6);   // 0.3
  EXPECT_EQ(json.position_of_line(99).line, 10);  // unknown: the `params` key
  EXPECT_EQ(json.position_of_line(0).line, 10);
}

TEST(ParamsJson, EnvironmentReferencesTakeTheVariableOrTheirDefault) {
  const Environment environment = [](const std::string& name) -> std::optional<std::string> {
    if (name == "LLM_URL") return "http://10.0.0.5:9000/v1";
    if (name == "LLM_TOKENS") return "512";
    return std::nullopt;
  };
  const YAML::Node params = YAML::Load(
      "a: \"${LLM_URL:-http://127.0.0.1:8080/v1}\"\n"
      "b: ${MISSING:-http://127.0.0.1:8080/v1}\n"
      "c: ${LLM_TOKENS}\n"
      "d: '${LLM_TOKENS}'\n"
      "e: ${MISSING:-}\n"
      "f: price ${LLM_TOKENS}\n"
      "g: ${lower}\n");
  const auto json = params_to_json(params, {1, 1}, environment);
  EXPECT_TRUE(json.problems.empty());
  EXPECT_EQ(json.text,
            "{\n\"a\":\n\"http://10.0.0.5:9000/v1\",\n\"b\":\n\"http://127.0.0.1:8080/v1\",\n"
            "\"c\":\n512,\n\"d\":\n\"512\",\n\"e\":\n\"\",\n\"f\":\n\"price ${LLM_TOKENS}\",\n"
            "\"g\":\n\"${lower}\"}");
}

TEST(ParamsJson, AnUnsetVariableWithoutADefaultIsAProblemAtItsValue) {
  const Environment none = [](const std::string&) -> std::optional<std::string> {
    return std::nullopt;
  };
  const auto json = params_to_json(YAML::Load("model: m\nbase_url: ${LLM_URL}\n"), {1, 1}, none);
  ASSERT_EQ(json.problems.size(), 1u);
  EXPECT_EQ(json.problems[0].at.line, 2);
  EXPECT_EQ(json.problems[0].at.column, 11);
  EXPECT_EQ(json.problems[0].message,
            "the environment variable LLM_URL is not set and ${LLM_URL} gives no default "
            "(${LLM_URL:-default} gives one)");
}

TEST(ParamsJson, SplitsPositionedMessages) {
  const auto messages = split_plugin_messages("3:1: first\nno position\n\n12:4: third\n0:1: x\n");
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[0].line, 3);
  EXPECT_EQ(messages[0].text, "first");
  EXPECT_EQ(messages[1].line, 0);
  EXPECT_EQ(messages[1].text, "no position");
  EXPECT_EQ(messages[2].line, 12);
  EXPECT_EQ(messages[2].text, "third");
  EXPECT_EQ(messages[3].line, 0);  // line 0 is no position
  EXPECT_EQ(messages[3].text, "0:1: x");
}

}  // namespace
}  // namespace leadscore::scoring
